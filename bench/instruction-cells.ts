/**
 * `npm run bench -- --instructions`: instructions per request of every scenario and variant, each cell counted in a
 * fresh server process under callgrind (bench/instructions.ts) on a fresh PostgreSQL database; also the revocation
 * reload's cell and the `verify-floor` cell (a bare RSA verify), the ratios and a never-seen token's cost in bare
 * verifies.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "../test/helpers/database.js";
import {
  countInstructions,
  hasCallgrind,
  httpRequests,
  ipcQuestions,
  rewarmOf,
  type InstructionCell,
  type WorkOf,
} from "./instructions.js";
import type { BenchRun, Scenario } from "./scenarios.js";

/** The `--instructions` cell that counts one revocation reload (auth-on's periodic work) instead of a request. */
const RELOAD_CELL = "revocation-reload";
/**
 * The `--instructions` cell that counts one bare `crypto.verify` of a `me-distinct` token (bench/verify-floor.ts):
 * the floor that a never-seen token's extra cost (`me-distinct` minus `me`) is held against.
 */
const VERIFY_FLOOR_CELL = "verify-floor";
/** Verifications per unit of work of the `verify-floor` cell (one IPC message each). */
const VERIFY_BATCH = 100;
/** The target: a never-seen token costs at most this many bare verifies on top of a cached request. */
const NEVER_SEEN_TARGET = 1.2;

/** `--warmup N` and `--requests N`: the uncounted and counted units of every cell, instead of the defaults. */
export interface InstructionOptions {
  readonly warmup: number | undefined;
  readonly requests: number | undefined;
}

/** `--instructions`: every scenario and variant in a fresh server process under callgrind, one after another. */
export async function runInstructionCounts(run: BenchRun, options: InstructionOptions): Promise<void> {
  const { quick, only, onlyVariants } = run;
  if (!hasCallgrind()) throw new Error("--instructions needs valgrind and callgrind_control on PATH (Debian package valgrind)");
  const postgres = process.env.TEST_DATABASE_URL ?? process.env.BENCH_POSTGRES_URL;
  if (!postgres) throw new Error("--instructions needs PostgreSQL: set TEST_DATABASE_URL (a scratch database is made and dropped there)");
  // Warm-up: V8 keeps optimizing for a long time, and a count that catches its late burst of optimizations is far
  // higher (docs/performance.md#measurements-behind-code-choices). So small requests get 15,000 warm-up requests; a
  // 1,000-item list runs its per-item code 1,000 times a request and gets 1,000. The compiler work left in the count
  // is reported apart (InstructionCell.compilerPerRequest). Counted: 2,000 small requests, so that the young
  // generation's collections (one per ~64 MiB allocated) fall alike across variants; 200 lists.
  const warmupOf = (scenario: Scenario) => options.warmup ?? (quick ? 20 : scenario.large ? 1000 : 15_000);
  const countOf = (scenario: Scenario) => options.requests ?? (quick ? 20 : scenario.large ? 200 : 2000);
  const cells = new Map<string, InstructionCell & { readonly warmup: number }>();
  console.log(
    `\nNode ${process.version}, instructions per request under callgrind, one connection; "compiler" is V8's optimizing compilers within them`,
  );
  console.log(`"collector" is V8's garbage collector within them, "code" what is left without either (docs/performance.md#method)`);
  console.log(
    "scenario       variant      warm-up   counted   instructions/request    compiler   without compiler   collector        code",
  );
  const cellsToCount: { name: string; variant: string; work: WorkOf; warmup: number; count: number; perUnit?: number }[] =
    run.scenarios.flatMap((scenario) =>
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
      })),
    );
  // The revocation reload is paid per second, not per request (every REVOCATION_RELOAD_SECONDS, one index lookup,
  // max(seq), when nothing changed): counted on its own, and kept out of the request cells (their servers reload
  // every hour), since under callgrind a 10 s timer would land on ~50 times fewer requests than in real use, and
  // on more or fewer of them as the machine runs faster or slower.
  if ((!only || only.includes(RELOAD_CELL)) && (!onlyVariants || onlyVariants.includes("auth-on"))) {
    cellsToCount.push({
      name: RELOAD_CELL,
      variant: "auth-on",
      work: ipcQuestions("reload"),
      warmup: quick ? 5 : 20,
      count: quick ? 5 : 50,
    });
  }
  // Not a server variant, so --variants does not drop it; batches of VERIFY_BATCH verifications, the same number
  // of verifications as a request cell has requests.
  if (!only || only.includes(VERIFY_FLOOR_CELL)) {
    cellsToCount.push({
      name: VERIFY_FLOOR_CELL,
      variant: "node-crypto",
      work: ipcQuestions("verify"),
      warmup: Math.ceil((options.warmup ?? (quick ? 20 : 15_000)) / VERIFY_BATCH),
      count: Math.ceil((options.requests ?? (quick ? 20 : 2000)) / VERIFY_BATCH),
      perUnit: VERIFY_BATCH,
    });
  }
  for (const { name, variant, work, warmup, count, perUnit = 1 } of cellsToCount) {
    if (run.scenarios.find((scenario) => scenario.name === name)?.distinct)
      run.distinctTokens = run.mintDistinct(warmup + rewarmOf(warmup) + count);
    // A fresh database per cell: every cell starts from the same rows, so its counts repeat.
    const database = await createTestDatabase(postgres);
    const floorInput = name === VERIFY_FLOOR_CELL ? verifyFloorInput(run) : null;
    const target = floorInput
      ? [join(import.meta.dirname, "verify-floor.ts"), floorInput.file, String(VERIFY_BATCH)]
      : [join(import.meta.dirname, "server.ts"), variant];
    let counted: InstructionCell;
    try {
      counted = await countInstructions(
        // --predictable: V8 runs its compilers and GC on the main thread and seeds its hashes alike every time, so
        // the same requests execute the same instructions run after run.
        // --no-memory-reducer: no collection started by a timer (valgrind slows time down unevenly).
        // A fixed 64 MiB young generation: with V8's default (1 MiB growing to 16 MiB) the same cell's count varied
        // from run to run, almost all in scavenges (how many objects survive each one); docs/performance.md has the
        // figures (#measurements-behind-code-choices).
        [
          "--predictable",
          "--no-memory-reducer",
          "--expose-gc",
          "--min-semi-space-size=64",
          "--max-semi-space-size=64",
          "--import",
          "tsx",
          ...target,
        ],
        {
          ...process.env,
          BENCH_JWKS_URL: run.jwks.url,
          BENCH_DATABASE_URL: database.url,
          NODE_ENV: "production",
          BENCH_REVOCATION_RELOAD_SECONDS: "3600",
        },
        work,
        warmup,
        count,
      );
    } finally {
      floorInput?.remove();
      await database.drop();
    }
    // Per verification for verify-floor (a unit is a batch), per request otherwise.
    const cell = {
      instructionsPerRequest: counted.instructionsPerRequest / perUnit,
      compilerPerRequest: counted.compilerPerRequest / perUnit,
      collectorPerRequest: counted.collectorPerRequest / perUnit,
      requests: counted.requests * perUnit,
    };
    cells.set(`${name}|${variant}`, { ...cell, warmup: warmup * perUnit });
    const figure = (value: number, width: number) => Math.round(value).toLocaleString("en-US").padStart(width);
    console.log(
      `${name.padEnd(14)} ${variant.padEnd(10)} ${String(warmup * perUnit).padStart(9)} ${String(cell.requests).padStart(9)} ${figure(cell.instructionsPerRequest, 22)} ${figure(cell.compilerPerRequest, 11)} ${figure(cell.instructionsPerRequest - cell.compilerPerRequest, 18)} ${figure(cell.collectorPerRequest, 11)} ${figure(cell.instructionsPerRequest - cell.compilerPerRequest - cell.collectorPerRequest, 11)}`,
    );
  }
  // As throughput ratios: above 1 means auth-on executes fewer instructions per request than the other. Three sets:
  // without the compiler's work (the steady state, what the targets are read from), in total, and the code's own work
  // (without the collector either: it repeats run to run, where the collector's share of a window does not).
  const ratiosOf = (per: (id: string) => number | undefined) => {
    const ratio = (numerator: string, denominator: string) => {
      const [a, b] = [per(numerator), per(denominator)];
      return a === undefined || b === undefined ? undefined : a / b;
    };
    return {
      "me on/floor": ratio("me|floor", "me|auth-on"),
      "me on/off": ratio("me|auth-off", "me|auth-on"),
      "me on/peer": ratio("me|yoga", "me|auth-on"),
      "me-distinct on/peer": ratio("me-distinct|yoga", "me-distinct|auth-on"),
      "list-allowed on/off": ratio("list-allowed|auth-off", "list-allowed|auth-on"),
      "list-allowed on/peer": ratio("list-allowed|yoga", "list-allowed|auth-on"),
      "list-denied/allowed instructions": ratio("list-denied|auth-on", "list-allowed|auth-on"),
      "orders-page on/off": ratio("orders-page|auth-off", "orders-page|auth-on"),
      "mutation on/off": ratio("mutation|auth-off", "mutation|auth-on"),
    } as Record<string, number | undefined>;
  };
  const steady = (id: string) => {
    const cell = cells.get(id);
    return cell && cell.instructionsPerRequest - cell.compilerPerRequest;
  };
  const ratios = ratiosOf(steady);
  const totalRatios = ratiosOf((id) => cells.get(id)?.instructionsPerRequest);
  const codeRatios = ratiosOf((id) => {
    const cell = cells.get(id);
    return cell && cell.instructionsPerRequest - cell.compilerPerRequest - cell.collectorPerRequest;
  });
  const reload = steady(`${RELOAD_CELL}|auth-on`);
  const me = steady("me|auth-on");
  if (reload !== undefined) {
    // What the reload costs a replica per second at the default interval, in `me` requests' worth.
    console.log(
      `revocation reload (nothing new): ${Math.round(reload).toLocaleString("en-US")} instructions, every 10 s by default${me ? `: ${(reload / 10 / me).toFixed(2)} me requests' worth per second` : ""}`,
    );
  }
  const neverSeen = neverSeenCost((id) => cells.get(id)?.instructionsPerRequest, steady);
  if (neverSeen) console.log(neverSeen.line);
  const file = run.writeResults("instructions", {
    cells: Object.fromEntries(cells),
    ratios,
    totalRatios,
    codeRatios,
    ...(neverSeen ? { neverSeenOverBareVerify: neverSeen.ratios, neverSeenTarget: NEVER_SEEN_TARGET } : {}),
  });
  console.log(`raw results: ${file}`);
  const line = (set: Record<string, number | undefined>) =>
    Object.entries(set)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${v!.toFixed(3)}x`)
      .join(" | ");
  console.log(`ratios with the compiler's work: ${line(totalRatios)}`);
  console.log(`ratios: ${line(ratios)}`);
  console.log(`ratios of the code's own work: ${line(codeRatios)}`);
}

/**
 * A never-seen token's extra cost (`me-distinct` minus `me`, auth-on) in bare verifies (`verify-floor`), without and
 * with the compiler's work, against the target; `undefined` unless all three cells were counted. A cost ratio: lower
 * is better, unlike the throughput ratios.
 */
function neverSeenCost(
  total: (id: string) => number | undefined,
  steady: (id: string) => number | undefined,
): { ratios: { steady: number; total: number }; line: string } | undefined {
  const of = (per: (id: string) => number | undefined) => {
    const [distinct, cached, floor] = ["me-distinct|auth-on", "me|auth-on", `${VERIFY_FLOOR_CELL}|node-crypto`].map(per);
    return distinct === undefined || cached === undefined || floor === undefined ? undefined : { extra: distinct - cached, floor };
  };
  const [withoutCompiler, withCompiler] = [of(steady), of(total)];
  if (!withoutCompiler || !withCompiler) return undefined;
  const ratios = { steady: withoutCompiler.extra / withoutCompiler.floor, total: withCompiler.extra / withCompiler.floor };
  const figure = (value: number) => Math.round(value).toLocaleString("en-US");
  const line =
    `never-seen token: (me-distinct - me) = ${figure(withoutCompiler.extra)} instructions = ${ratios.steady.toFixed(3)}x a bare ` +
    `crypto.verify (${figure(withoutCompiler.floor)}); with the compiler's work ${ratios.total.toFixed(3)}x; target <= ${NEVER_SEEN_TARGET}x: ` +
    (ratios.steady <= NEVER_SEEN_TARGET ? "met" : "not met");
  return { ratios, line };
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
