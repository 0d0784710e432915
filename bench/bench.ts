/**
 * `npm run bench`: the server with auth on, the same server with auth off (baseline), the peer (GraphQL
 * Yoga + @graphql-yoga/plugin-jwt) and the floor (stock Apollo Server standalone), each in its own process,
 * driven by autocannon from this process. Variants are interleaved within every round so machine noise hits them
 * alike; the table shows medians over rounds, the spread, p99 latency and server CPU per request. The last line
 * gives the ratios the targets speak of.
 *   --quick          a smoke run (well under a minute) that proves the bench works; its numbers mean little
 *   --instructions   instructions per request under callgrind instead of wall-clock time (bench/instructions.ts):
 *                    a fixed number of requests per cell, unmoved by other load on the machine
 *   --requests N     counted requests per cell with --instructions (default 2000, 200 for the large requests;
 *                    20 with --quick)
 *   --warmup N       uncounted requests before them with --instructions (default 15000, 1000 for the large
 *                    requests; 20 with --quick)
 *   --revocations    session revocation at 0 / 100,000 / 1,000,000 stored records: start, heap, reload rows and
 *                    CPU, `me` per request (bench/revocation.ts; needs TEST_DATABASE_URL)
 *   --memory         resident memory and heap of auth-on before, at and past the verified-token cache's bound
 *                    (five batches of 10,000 distinct tokens), and the heap bytes per cached token
 *   --subscriptions  subscription cells instead (bench/subscriptions.ts): heap per idle connection, statements,
 *                    CPU and delivery p50/p99 per event at 100 and 1,000 subscribers (`--heap-snapshots`: also
 *                    where an idle connection's heap goes)
 *   --syscalls       system calls per `me` request, auth-on against the floor, under strace -c (bench/syscalls.ts):
 *                    what a request costs the kernel, which instruction counts do not see
 *   --only a,b       only these scenarios (with --instructions also the cells `revocation-reload` and
 *                    `verify-floor`: a bare node:crypto RSA verify, the floor of a never-seen token)
 *   --variants a,b   only these variants (not applied to `verify-floor`, which has none)
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { createTestDatabase } from "../test/helpers/database.js";
import { startJwksServer } from "../test/helpers/jwks-server.js";
import { generateRsaKey, jwksOf, signToken } from "../test/helpers/keys.js";
import { BENCH_CLIENT_ID, BENCH_ITEMS, BENCH_POOL_ID, USERS } from "./fixture.js";
import {
  askServer,
  countInstructions,
  hasCallgrind,
  httpRequests,
  ipcQuestions,
  rewarmOf,
  type InstructionCell,
  type WorkOf,
} from "./instructions.js";
import { writeResults as writeResultsFile } from "./results-file.js";

const quick = process.argv.includes("--quick");
// `--revocations`: session revocation at 0 / 100,000 / 1,000,000 records, a bench of its own (bench/revocation.ts).
if (process.argv.includes("--revocations")) {
  await import("./revocation.js");
  process.exit(0);
}
const instructions = process.argv.includes("--instructions");
const flag = (name: string) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const ONLY = flag("--only")?.split(",");
if (process.argv.includes("--subscriptions")) {
  const { runSubscriptionBench } = await import("./subscriptions.js");
  await runSubscriptionBench();
  process.exit(0);
}
if (process.argv.includes("--syscalls")) {
  const { runSyscallBench } = await import("./syscalls.js");
  await runSyscallBench();
  process.exit(0);
}
const ONLY_VARIANTS = flag("--variants")?.split(",");
const ROUNDS = quick ? 1 : 5;
const SECONDS = quick ? 1 : 5;
/** Unmeasured load per cell before the first round, so every variant is measured after JIT warm-up. */
const WARMUP_SECONDS = quick ? 0 : 2;
const CONNECTIONS = 10;
const VARIANTS = ["auth-off", "auth-on", "yoga", "floor"] as const;
type Variant = (typeof VARIANTS)[number];

// Server on core 0, load generator on core 1, when the machine has two cores and taskset (wall-clock mode only:
// instruction counts do not depend on where the process runs).
const pinning = !instructions && cpus().length >= 2 && hasTaskset();
if (pinning && !process.env.BENCH_PINNED) {
  execFileSync("taskset", ["-c", "1", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_PINNED: "1" },
  });
  process.exit(0);
}

const key = generateRsaKey();
const jwks = await startJwksServer(jwksOf(key));
const issuer = `https://cognito-idp.us-east-1.amazonaws.com/${BENCH_POOL_ID}`;
const now = Math.floor(Date.now() / 1000);
const tokenOf = (user: { sub: string; username: string; groups: readonly string[] }) =>
  signToken(key, {
    sub: user.sub,
    iss: issuer,
    client_id: BENCH_CLIENT_ID,
    token_use: "access",
    scope: "openid",
    username: user.username,
    "cognito:groups": user.groups,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
  });
const adminToken = tokenOf(USERS.admin);
const customerToken = tokenOf(USERS.customer);

interface Scenario {
  readonly name: string;
  readonly variants: readonly Variant[];
  /** The token of request n. */
  readonly token: (n: number) => string;
  readonly body: (n: number) => string;
  /** Every request carries a token never sent before (minted ahead, outside the measurement). */
  readonly distinct?: true;
  /** A request of ~15M instructions (a 1,000-item list): fewer warm-up and counted requests under --instructions. */
  readonly large?: true;
}

/**
 * Tokens of users the server has never seen, each signed once: a distinct `sub`, the same groups as a customer.
 * Minted ahead of a measurement, since signing (RSA private key) costs the client far more than verifying costs
 * the server.
 */
function mintDistinct(count: number): string[] {
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, i) => tokenOf({ sub: `bench-distinct-${run}-${i}`, username: `distinct-${i}`, groups: [] }));
}
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
/** Requests per wall-clock cell of a distinct-token scenario (a count, not a duration, so the tokens suffice). */
const DISTINCT_AMOUNT = quick ? 300 : 3000;
let distinctTokens: string[] = [];

const ORDERS_PAGE = "{ orders(first: 50) { edges { node { id status totalCents items { quantity product { name priceCents } } } } } }";
const ALL_SCENARIOS: Scenario[] = [
  { name: "me", variants: VARIANTS, token: () => adminToken, body: () => JSON.stringify({ query: "{ me { sub username groups } }" }) },
  {
    name: "me-distinct",
    variants: ["auth-on", "yoga"],
    token: (n) => distinctTokens[n]!,
    body: () => JSON.stringify({ query: "{ me { sub username groups } }" }),
    distinct: true,
  },
  {
    name: "list-allowed",
    variants: VARIANTS,
    large: true,
    token: () => adminToken,
    body: () => JSON.stringify({ query: "{ benchItems { id name secret } }" }),
  },
  {
    name: "list-denied",
    variants: ["auth-on", "yoga"],
    large: true,
    token: () => customerToken,
    body: () => JSON.stringify({ query: "{ benchItems { id name secret } }" }),
  },
  { name: "orders-page", variants: VARIANTS, token: () => adminToken, body: () => JSON.stringify({ query: ORDERS_PAGE }), large: true },
  {
    name: "mutation",
    variants: ["auth-off", "auth-on", "yoga"],
    token: () => adminToken,
    body: (n) =>
      JSON.stringify({
        query: "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id totalCents } }",
        variables: { input: { idempotencyKey: `bench-${randomUUID()}-${n}`, items: [{ productId: "prd-cable", quantity: 1 }] } },
      }),
  },
];
const SCENARIOS = ALL_SCENARIOS.filter((scenario) => !ONLY || ONLY.includes(scenario.name)).map((scenario) => ({
  ...scenario,
  variants: scenario.variants.filter((variant) => !ONLY_VARIANTS || ONLY_VARIANTS.includes(variant)),
}));

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

interface Sample {
  readonly requestsPerSecond: number;
  readonly p99: number;
  readonly cpuMicrosPerRequest: number;
  readonly errors: number;
}

if (process.argv.includes("--memory")) {
  try {
    await runMemory();
  } finally {
    await jwks.close();
  }
  process.exit(0);
}

if (instructions) {
  try {
    await runInstructionCounts();
  } finally {
    await jwks.close();
  }
  process.exit(0);
}

const servers = new Map<Variant, Server>();
try {
  for (const variant of VARIANTS) servers.set(variant, await startServer(variant));
  const statements = await statementsPerPage(servers.get("auth-on")!);
  if (WARMUP_SECONDS > 0) {
    for (const scenario of SCENARIOS)
      for (const variant of scenario.variants) await measure(servers.get(variant)!, scenario, WARMUP_SECONDS);
  }
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of SCENARIOS) {
      const order = shuffle([...scenario.variants]);
      for (const variant of order) {
        const sample = await measure(servers.get(variant)!, scenario);
        const id = `${scenario.name}|${variant}`;
        samples.set(id, [...(samples.get(id) ?? []), sample]);
      }
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }
  report(samples, statements);
} finally {
  for (const server of servers.values()) server.child.kill("SIGKILL");
  await jwks.close();
}

/** `--instructions`: every scenario and variant in a fresh server process under callgrind, one after another. */
async function runInstructionCounts(): Promise<void> {
  if (!hasCallgrind()) throw new Error("--instructions needs valgrind and callgrind_control on PATH (Debian package valgrind)");
  const postgres = process.env.TEST_DATABASE_URL ?? process.env.BENCH_POSTGRES_URL;
  if (!postgres) throw new Error("--instructions needs PostgreSQL: set TEST_DATABASE_URL (a scratch database is made and dropped there)");
  // Warm-up: V8 keeps optimizing for a long time, and a count that catches its late burst of optimizations is far
  // higher (docs/performance.md#measurements-behind-code-choices). So small requests get 15,000 warm-up requests; a
  // 1,000-item list runs its per-item code 1,000 times a request and gets 1,000. The compiler work left in the count
  // is reported apart (InstructionCell.compilerPerRequest). Counted: 2,000 small requests, so that the young
  // generation's collections (one per ~64 MiB allocated) fall alike across variants; 200 lists.
  const warmupOf = (scenario: Scenario) => Number(flag("--warmup") ?? (quick ? 20 : scenario.large ? 1000 : 15_000));
  const countOf = (scenario: Scenario) => Number(flag("--requests") ?? (quick ? 20 : scenario.large ? 200 : 2000));
  const cells = new Map<string, InstructionCell & { readonly warmup: number }>();
  console.log(
    `\nNode ${process.version}, instructions per request under callgrind, one connection; "compiler" is V8's optimizing compilers within them`,
  );
  console.log(`"collector" is V8's garbage collector within them, "code" what is left without either (docs/performance.md#method)`);
  console.log(
    "scenario       variant      warm-up   counted   instructions/request    compiler   without compiler   collector        code",
  );
  const cellsToCount: { name: string; variant: string; work: WorkOf; warmup: number; count: number; perUnit?: number }[] =
    SCENARIOS.flatMap((scenario) =>
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
  if ((!ONLY || ONLY.includes(RELOAD_CELL)) && (!ONLY_VARIANTS || ONLY_VARIANTS.includes("auth-on"))) {
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
  if (!ONLY || ONLY.includes(VERIFY_FLOOR_CELL)) {
    cellsToCount.push({
      name: VERIFY_FLOOR_CELL,
      variant: "node-crypto",
      work: ipcQuestions("verify"),
      warmup: Math.ceil(Number(flag("--warmup") ?? (quick ? 20 : 15_000)) / VERIFY_BATCH),
      count: Math.ceil(Number(flag("--requests") ?? (quick ? 20 : 2000)) / VERIFY_BATCH),
      perUnit: VERIFY_BATCH,
    });
  }
  for (const { name, variant, work, warmup, count, perUnit = 1 } of cellsToCount) {
    if (SCENARIOS.find((scenario) => scenario.name === name)?.distinct) distinctTokens = mintDistinct(warmup + rewarmOf(warmup) + count);
    // A fresh database per cell: every cell starts from the same rows, so its counts repeat.
    const database = await createTestDatabase(postgres);
    const floorInput = name === VERIFY_FLOOR_CELL ? verifyFloorInput() : null;
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
          BENCH_JWKS_URL: jwks.url,
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
  const file = writeResults("instructions", {
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
function verifyFloorInput(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "bench-verify-floor-"));
  const file = join(dir, "input.json");
  writeFileSync(file, JSON.stringify({ jwk: key.publicJwk, tokens: mintDistinct(100) }));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `--memory`: the verified-token cache holds at most 10,000 tokens, so memory must stop growing there. Sends five
 * batches of 10,000 never-seen tokens and reads the server's memory after a full collection before and after each:
 * the heap must stop growing at the first, and the resident size must level off.
 */
async function runMemory(): Promise<void> {
  const perPhase = quick ? 1000 : 10_000;
  const server = await startServer("auth-on", ["--expose-gc"]);
  try {
    const me = JSON.stringify({ query: "{ me { sub } }" });
    // Minted before any request: minting blocks this process for seconds, and a kept-alive socket left idle
    // meanwhile is closed by the server (5 s), which a blocked client notices only when it sends on it.
    const batches = Array.from({ length: 5 }, () => mintDistinct(perPhase));
    const sendDistinct = async (tokens: string[]) => {
      let next = 0;
      // Ten requests in flight at a time, as ten clients would.
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < tokens.length) {
            const answer = await post(server, tokens[next++]!, me);
            if (!answer.data) throw new Error(`unexpected answer ${JSON.stringify(answer).slice(0, 200)}`);
          }
        }),
      );
    };
    const phases = [{ tokens: 0, ...(await memoryOf(server)) }];
    for (const [n, batch] of batches.entries()) {
      await sendDistinct(batch);
      phases.push({ tokens: (n + 1) * perPhase, ...(await memoryOf(server)) });
    }
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    console.log(`\nNode ${process.version}, auth-on, memory after a full collection (verified-token cache bound: 10,000)`);
    console.log("distinct tokens sent          rss          heap used   heap committed");
    for (const phase of phases)
      console.log(
        `${String(phase.tokens).padEnd(28)} ${mib(phase.rss).padStart(10)} ${mib(phase.heapUsed).padStart(14)} ${mib(phase.heapTotal).padStart(16)}`,
      );
    const [start, atBound, last] = [phases[0]!, phases[1]!, phases.at(-1)!];
    const perToken = (atBound.heapUsed - start.heapUsed) / perPhase;
    console.log(
      `heap per cached token: ${perToken.toFixed(0)} bytes; past the bound (${perPhase} to ${last.tokens} tokens): heap ${mib(last.heapUsed - atBound.heapUsed)}, rss ${mib(last.rss - atBound.rss)}`,
    );
    const file = writeResults("memory", { perPhase, phases, heapBytesPerCachedToken: perToken });
    console.log(`raw results: ${file}`);
  } finally {
    server.child.kill("SIGKILL");
  }
}

function ask<T>(server: Server, type: "stats" | "memory"): Promise<T> {
  return askServer<T>(server.child, type);
}

function memoryOf(server: Server): Promise<{ rss: number; heapUsed: number; heapTotal: number }> {
  return ask(server, "memory");
}

/** Writes one run's raw figures under bench/results/ (not committed) and returns the file's path. */
function writeResults(kind: string, results: object): string {
  return writeResultsFile(kind, quick, { listItems: BENCH_ITEMS, ...results });
}

async function startServer(variant: Variant, nodeFlags: readonly string[] = []): Promise<Server> {
  const node = [process.execPath, ...nodeFlags, "--import", "tsx", join(import.meta.dirname, "server.ts"), variant];
  // taskset execs node in place, so the IPC channel that spawn sets up reaches the server.
  const [command, ...args] = pinning ? ["taskset", "-c", "0", ...node] : node;
  const child = spawn(command!, args, {
    env: { ...process.env, BENCH_JWKS_URL: jwks.url, NODE_ENV: "production" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { type: string; port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`${variant} server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}

function stats(server: Server): Promise<{ cpuMicros: number; queries: number }> {
  return ask(server, "stats");
}

async function post(server: Server, token: string, body: string) {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body,
  });
  return (await response.json()) as { data?: unknown; errors?: unknown[] };
}

/** SQL statements for one page of orders at two page sizes: batching keeps them equal. */
async function statementsPerPage(server: Server): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const first of [10, 50]) {
    const before = (await stats(server)).queries;
    const answer = await post(server, adminToken, JSON.stringify({ query: ORDERS_PAGE.replace("first: 50", `first: ${first}`) }));
    if (answer.errors) throw new Error(`orders page failed: ${JSON.stringify(answer.errors)}`);
    result[`first: ${first}`] = (await stats(server)).queries - before;
  }
  return result;
}

async function measure(server: Server, scenario: Scenario, seconds = SECONDS): Promise<Sample> {
  // Check the answer first: a benchmark of errors would measure nothing.
  if (scenario.distinct) distinctTokens = mintDistinct(DISTINCT_AMOUNT + 1);
  const answer = await post(server, scenario.token(DISTINCT_AMOUNT), scenario.body(0));
  const expectErrors = scenario.name === "list-denied";
  if (!answer.data || (answer.errors !== undefined) !== expectErrors || (expectErrors && answer.errors!.length !== 1)) {
    throw new Error(`${scenario.name} on ${server.url}: unexpected answer ${JSON.stringify(answer).slice(0, 300)}`);
  }
  const before = await stats(server);
  let n = 0;
  const started = performance.now();
  const result = await autocannon({
    url: server.url,
    method: "POST",
    connections: CONNECTIONS,
    ...(scenario.distinct ? { amount: DISTINCT_AMOUNT } : { duration: seconds }),
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (request) => {
          const i = n++;
          return { ...request, headers: { ...request.headers, authorization: `Bearer ${scenario.token(i)}` }, body: scenario.body(i + 1) };
        },
      },
    ],
  });
  const elapsedSeconds = (performance.now() - started) / 1000;
  const after = await stats(server);
  const requests = result.requests.total;
  return {
    requestsPerSecond: requests / elapsedSeconds,
    p99: result.latency.p99,
    cpuMicrosPerRequest: (after.cpuMicros - before.cpuMicros) / Math.max(requests, 1),
    errors: result.errors + result.non2xx,
  };
}

function report(samples: Map<string, Sample[]>, statements: Record<string, number>): void {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const summary: Record<string, { rps: number; min: number; max: number; p99: number; cpuUs: number; errors: number }> = {};
  console.log(
    `\nNode ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), ${ROUNDS} round(s) of ${SECONDS}s per cell, ${CONNECTIONS} connections, pinned: ${pinning}`,
  );
  console.log("scenario       variant    req/s (median)   spread (min-max)    p99 ms   server CPU us/req   errors");
  for (const scenario of SCENARIOS) {
    for (const variant of scenario.variants) {
      const list = samples.get(`${scenario.name}|${variant}`)!;
      const cell = {
        rps: median(list.map((s) => s.requestsPerSecond)),
        min: Math.min(...list.map((s) => s.requestsPerSecond)),
        max: Math.max(...list.map((s) => s.requestsPerSecond)),
        p99: median(list.map((s) => s.p99)),
        cpuUs: median(list.map((s) => s.cpuMicrosPerRequest)),
        errors: list.reduce((sum, s) => sum + s.errors, 0),
      };
      summary[`${scenario.name}|${variant}`] = cell;
      console.log(
        `${scenario.name.padEnd(14)} ${variant.padEnd(10)} ${cell.rps.toFixed(0).padStart(14)}   ${`${cell.min.toFixed(0)}-${cell.max.toFixed(0)}`.padStart(16)}   ${cell.p99.toFixed(1).padStart(7)}   ${cell.cpuUs.toFixed(0).padStart(17)}   ${String(cell.errors).padStart(6)}`,
      );
    }
  }
  console.log(
    `SQL statements per orders page: ${Object.entries(statements)
      .map(([k, v]) => `${k} -> ${v}`)
      .join(", ")}`,
  );
  const rps = (id: string) => summary[id]?.rps ?? Number.NaN;
  const cpu = (id: string) => summary[id]?.cpuUs ?? Number.NaN;
  const ratios = {
    "me on/floor": rps("me|auth-on") / rps("me|floor"),
    "me on/off": rps("me|auth-on") / rps("me|auth-off"),
    "me on/peer": rps("me|auth-on") / rps("me|yoga"),
    "me-distinct on/peer": rps("me-distinct|auth-on") / rps("me-distinct|yoga"),
    "list-allowed on/off": rps("list-allowed|auth-on") / rps("list-allowed|auth-off"),
    "list-allowed on/peer": rps("list-allowed|auth-on") / rps("list-allowed|yoga"),
    "list-denied/allowed CPU":
      (summary["list-denied|auth-on"]?.cpuUs ?? Number.NaN) / (summary["list-allowed|auth-on"]?.cpuUs ?? Number.NaN),
    "orders-page on/off": rps("orders-page|auth-on") / rps("orders-page|auth-off"),
    "mutation on/off": rps("mutation|auth-on") / rps("mutation|auth-off"),
    // Server CPU per request (user + system, so the kernel's share too: log writes, socket calls), as throughput
    // ratios like the rest: above 1 means auth-on spends less CPU per request than the other. A target is met only
    // when these and the instruction counts agree.
    "me CPU on/floor": cpu("me|floor") / cpu("me|auth-on"),
    "me CPU on/off": cpu("me|auth-off") / cpu("me|auth-on"),
    "list-allowed CPU on/off": cpu("list-allowed|auth-off") / cpu("list-allowed|auth-on"),
  };
  const file = writeResults("wall-clock", {
    rounds: ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    pinning,
    samples: Object.fromEntries(samples),
    summary,
    statements,
    ratios,
  });
  console.log(`raw results: ${file}`);
  console.log(
    `ratios: ${Object.entries(ratios)
      .filter(([, v]) => !Number.isNaN(v))
      .map(([k, v]) => `${k} ${v.toFixed(2)}x`)
      .join(" | ")}`,
  );
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-c", "0", "true"]);
    return true;
  } catch {
    return false;
  }
}
