/**
 * `npm run bench -- --instructions`, the counting: the cells (every scenario's variants, the revocation reload, and
 * `verify-floor`, a bare RSA verify), each counted `--repeat` times in a fresh process under callgrind
 * (bench/instructions.ts) on a fresh PostgreSQL database, a table row per count and the medians of a cell's counts.
 * What the counts say (ratios, a never-seen token's cost, the results file) is bench/instruction-ratios.ts's job.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "../test/helpers/database.js";
import { countInstructions, hasCallgrind, httpRequests, ipcQuestions, unitsOf, type InstructionCell, type WorkOf } from "./instructions.js";
import type { BenchRun, Scenario } from "./scenarios.js";

/** The `--instructions` cell that counts one revocation reload (auth-on's periodic work) instead of a request. */
export const RELOAD_CELL = "revocation-reload";
/**
 * The `--instructions` cell that counts one bare `crypto.verify` of a `me-distinct` token (bench/verify-floor.ts):
 * the floor that a never-seen token's extra cost (`me-distinct` minus `me`) is held against.
 */
export const VERIFY_FLOOR_CELL = "verify-floor";
/** Verifications per unit of work of the `verify-floor` cell (one IPC message each). */
const VERIFY_BATCH = 100;

/** `--warmup N`, `--requests N` and `--repeat N`. */
export interface InstructionOptions {
  /** Uncounted units of every cell instead of the defaults. */
  readonly warmup: number | undefined;
  /** Counted units of every cell instead of the defaults. */
  readonly requests: number | undefined;
  /** Counts of every cell, each in a fresh process on a fresh database; the cell's figures are their medians. */
  readonly repeat: number;
}

/** One cell to count: what a unit of work is, how many units, and how many requests or verifications one is. */
export interface PlannedCell {
  readonly name: string;
  readonly variant: string;
  readonly work: WorkOf;
  readonly warmup: number;
  readonly count: number;
  readonly perUnit: number;
}

/** Figures per request (per verification for verify-floor), as the table's columns show them. */
export interface Columns {
  readonly instructions: number;
  readonly compiler: number;
  readonly withoutCompiler: number;
  readonly collector: number;
  readonly code: number;
}

/** A counted cell: `figures` as the results file has them (the medians, and every count's), `medians` by column. */
export interface CountedCell {
  readonly figures: InstructionCell & { readonly warmup: number; readonly runs: readonly InstructionCell[] };
  readonly medians: Columns;
}

/**
 * Counts every cell `options.repeat` times, one count after another, and prints a row per count, then (when there
 * are several) one of their medians, each column's median taken on its own (so that row's columns need not add up).
 * Returns the counted cells by `name|variant`.
 */
export async function countCells(run: BenchRun, options: InstructionOptions): Promise<Map<string, CountedCell>> {
  if (!hasCallgrind()) throw new Error("--instructions needs valgrind and callgrind_control on PATH (Debian package valgrind)");
  const postgres = cellsPostgres("--instructions");
  const cells = new Map<string, CountedCell>();
  console.log(
    `\nNode ${process.version}, instructions per request under callgrind, one connection; "compiler" is V8's optimizing compilers within them`,
  );
  console.log(`"collector" is V8's garbage collector within them, "code" what is left without either (docs/performance.md#method)`);
  console.log(
    "scenario       variant      warm-up   counted   instructions/request    compiler   without compiler   collector        code",
  );
  for (const planned of plannedCells(run, options)) {
    const { name, variant, warmup, perUnit } = planned;
    const row = (cell: Columns, requests: number, label = "") => {
      const figure = (value: number, width: number) => Math.round(value).toLocaleString("en-US").padStart(width);
      console.log(
        `${name.padEnd(14)} ${variant.padEnd(10)} ${String(warmup * perUnit).padStart(9)} ${String(requests).padStart(9)} ${figure(cell.instructions, 22)} ${figure(cell.compiler, 11)} ${figure(cell.withoutCompiler, 18)} ${figure(cell.collector, 11)} ${figure(cell.code, 11)}${label}`,
      );
    };
    const runs: InstructionCell[] = [];
    for (let i = 0; i < options.repeat; i++) {
      const counted = await countCell(run, postgres, planned);
      runs.push(counted);
      row(columnsOf(counted), counted.requests);
    }
    const median = (column: keyof Columns) => medianOf(runs.map((counted) => columnsOf(counted)[column]));
    const medians: Columns = {
      instructions: median("instructions"),
      compiler: median("compiler"),
      withoutCompiler: median("withoutCompiler"),
      collector: median("collector"),
      code: median("code"),
    };
    const requests = runs[0]!.requests;
    if (options.repeat > 1) row(medians, requests, `   median of ${options.repeat}`);
    cells.set(`${name}|${variant}`, {
      figures: {
        instructionsPerRequest: medians.instructions,
        compilerPerRequest: medians.compiler,
        collectorPerRequest: medians.collector,
        requests,
        warmup: warmup * perUnit,
        runs,
      },
      medians,
    });
  }
  return cells;
}

/** The cells to count, in order: the scenarios' variants, then the revocation reload's and verify-floor's cells. */
export function plannedCells(run: BenchRun, options: InstructionOptions): PlannedCell[] {
  const { quick, only, onlyVariants } = run;
  // Warm-up: V8 keeps optimizing for a long time, and a count that catches its late burst of optimizations is far
  // higher (docs/performance.md#measurements-behind-code-choices). So small requests get 15,000 warm-up requests; a
  // 1,000-item list runs its per-item code 1,000 times a request and gets 1,000. The compiler work left in the count
  // is reported apart (InstructionCell.compilerPerRequest). Counted: 2,000 small requests, so that the young
  // generation's collections (one per ~64 MiB allocated) fall alike across variants; 200 lists.
  const warmupOf = (scenario: Scenario) => options.warmup ?? (quick ? 20 : scenario.large ? 1000 : 15_000);
  const countOf = (scenario: Scenario) => options.requests ?? (quick ? 20 : scenario.large ? 200 : 2000);
  const cells: PlannedCell[] = run.scenarios.flatMap((scenario) =>
    scenario.variants.map((variant) => ({
      name: scenario.name,
      variant,
      work: httpRequests((n) => {
        const token = scenario.token(n);
        // Past its minted tokens a distinct-token cell would count anonymous requests: fail instead.
        if (scenario.distinct && !token) throw new Error(`${scenario.name}: no token minted for request ${n}`);
        return { token, body: scenario.body(n) };
      }),
      warmup: warmupOf(scenario),
      count: countOf(scenario),
      perUnit: 1,
    })),
  );
  // The revocation reload is paid per second, not per request (every REVOCATION_RELOAD_SECONDS, one index lookup,
  // max(seq), when nothing changed): counted on its own, and kept out of the request cells (their servers reload
  // every hour), since under callgrind a 10 s timer would land on ~50 times fewer requests than in real use, and
  // on more or fewer of them as the machine runs faster or slower.
  if ((!only || only.includes(RELOAD_CELL)) && (!onlyVariants || onlyVariants.includes("auth-on"))) {
    cells.push({
      name: RELOAD_CELL,
      variant: "auth-on",
      work: ipcQuestions("reload"),
      warmup: quick ? 5 : 20,
      count: quick ? 5 : 50,
      perUnit: 1,
    });
  }
  // Not a server variant, so --variants does not drop it; batches of VERIFY_BATCH verifications, the same number
  // of verifications as a request cell has requests.
  if (!only || only.includes(VERIFY_FLOOR_CELL)) {
    cells.push({
      name: VERIFY_FLOOR_CELL,
      variant: "node-crypto",
      work: ipcQuestions("verify"),
      warmup: Math.ceil((options.warmup ?? (quick ? 20 : 15_000)) / VERIFY_BATCH),
      count: Math.ceil((options.requests ?? (quick ? 20 : 2000)) / VERIFY_BATCH),
      perUnit: VERIFY_BATCH,
    });
  }
  return cells;
}

/**
 * The PostgreSQL server that cells' scratch databases are made and dropped on: TEST_DATABASE_URL, else
 * BENCH_POSTGRES_URL. Throws, naming the variable and `mode` (the flag asked for), when neither is set.
 */
export function cellsPostgres(mode: string): string {
  const postgres = process.env.TEST_DATABASE_URL ?? process.env.BENCH_POSTGRES_URL;
  if (!postgres) throw new Error(`${mode} needs PostgreSQL: set TEST_DATABASE_URL (a scratch database is made and dropped there)`);
  return postgres;
}

/** For a distinct-token cell, sets `run.distinctTokens`: a never-seen token for every unit of the cell's sequence. */
export function mintCellTokens(run: BenchRun, cell: PlannedCell): void {
  if (run.scenarios.find((scenario) => scenario.name === cell.name)?.distinct)
    run.distinctTokens = run.mintDistinct(unitsOf(cell.warmup, cell.count));
}

/**
 * The V8 flags of every counted server.
 * --predictable: V8 runs its compilers and GC on the main thread and seeds its hashes alike every time, so the same
 * requests execute the same instructions run after run.
 * --no-memory-reducer: no collection started by a timer (valgrind slows time down unevenly).
 * A fixed 64 MiB young generation: with V8's default (1 MiB growing to 16 MiB) the same cell's count varied from run
 * to run, almost all in scavenges (how many objects survive each one); docs/performance.md has the figures
 * (#measurements-behind-code-choices).
 */
export const CELL_V8_FLAGS = [
  "--predictable",
  "--no-memory-reducer",
  "--expose-gc",
  "--min-semi-space-size=64",
  "--max-semi-space-size=64",
] as const;

/** The environment of a counted server (bench/server.ts) on the database at `databaseUrl`. */
export function cellEnv(run: BenchRun, databaseUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BENCH_JWKS_URL: run.jwks.url,
    BENCH_DATABASE_URL: databaseUrl,
    NODE_ENV: "production",
    BENCH_REVOCATION_RELOAD_SECONDS: "3600",
  };
}

/**
 * Counts one cell once, in a fresh process under callgrind on a fresh database (with fresh tokens for a
 * distinct-token cell), and returns its figures per request (per verification for verify-floor).
 */
async function countCell(run: BenchRun, postgres: string, cell: PlannedCell): Promise<InstructionCell> {
  const { name, variant, work, warmup, count, perUnit } = cell;
  mintCellTokens(run, cell);
  // A fresh database per cell: every cell starts from the same rows, so its counts repeat.
  const database = await createTestDatabase(postgres);
  const floorInput = name === VERIFY_FLOOR_CELL ? verifyFloorInput(run) : null;
  const target = floorInput
    ? [join(import.meta.dirname, "verify-floor.ts"), floorInput.file, String(VERIFY_BATCH)]
    : [join(import.meta.dirname, "server.ts"), variant];
  let counted: InstructionCell;
  try {
    counted = await countInstructions([...CELL_V8_FLAGS, "--import", "tsx", ...target], cellEnv(run, database.url), work, warmup, count);
  } finally {
    floorInput?.remove();
    await database.drop();
  }
  // Per verification for verify-floor (a unit is a batch), per request otherwise.
  return {
    instructionsPerRequest: counted.instructionsPerRequest / perUnit,
    compilerPerRequest: counted.compilerPerRequest / perUnit,
    collectorPerRequest: counted.collectorPerRequest / perUnit,
    requests: counted.requests * perUnit,
  };
}

function columnsOf(cell: InstructionCell): Columns {
  const withoutCompiler = cell.instructionsPerRequest - cell.compilerPerRequest;
  return {
    instructions: cell.instructionsPerRequest,
    compiler: cell.compilerPerRequest,
    withoutCompiler,
    collector: cell.collectorPerRequest,
    code: withoutCompiler - cell.collectorPerRequest,
  };
}

/** The middle value (the mean of the middle two for an even count). */
function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The input of the `verify-floor` cell: a JSON file (in a temporary directory) with the bench key's public JWK and
 * 100 `me-distinct` tokens, which the cell verifies in turn; `remove` deletes it.
 */
function verifyFloorInput(run: BenchRun): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "bench-verify-floor-"));
  const file = join(dir, "input.json");
  writeFileSync(file, JSON.stringify({ jwk: run.key.publicJwk, tokens: run.mintDistinct(100) }));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
