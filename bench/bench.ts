/**
 * `npm run bench`: the server with auth on, the same server with auth off (baseline), the peer (GraphQL
 * Yoga + @graphql-yoga/plugin-jwt) and the floor (stock Apollo Server standalone), each in its own process,
 * driven by autocannon from this process (bench/wall-clock.ts). Variants are interleaved within every round so
 * machine noise hits them alike; the table shows medians over rounds, the spread, p99 latency and server CPU per
 * request. The last line gives the ratios the targets speak of. This file reads the flags, pins the load generator
 * and hands over to the mode asked for; what the modes share (key, tokens, scenarios) is in bench/scenarios.ts.
 *   --quick          a smoke run (well under a minute) that proves the bench works; its numbers mean little
 *   --instructions   instructions per request under callgrind instead of wall-clock time (bench/instruction-cells.ts
 *                    counts, bench/instruction-ratios.ts reads the counts): a fixed number of requests per cell,
 *                    unmoved by other load on the machine
 *   --requests N     counted requests per cell with --instructions (default 2000, 200 for the large requests;
 *                    20 with --quick)
 *   --warmup N       uncounted requests before them with --instructions (default 15000, 1000 for the large
 *                    requests; 20 with --quick)
 *   --repeat N       count every --instructions cell N times in fresh processes and read the medians (default 1): a
 *                    cell's count moves between runs with V8's JIT and the collector (docs/performance.md#method).
 *                    Each count prints its row, then a row `median of N` of each column's median, taken column by
 *                    column (so its columns need not add up); the results file has the medians and every count
 *   --revocations    session revocation at 0 / 100,000 / 1,000,000 stored records: start, heap, reload rows and
 *                    CPU, `me` per request (bench/revocation.ts; needs TEST_DATABASE_URL)
 *   --memory         resident memory and heap of auth-on before, at and past the verified-token cache's bound
 *                    (five batches of 10,000 distinct tokens), and the heap bytes per cached token (bench/memory.ts)
 *   --subscriptions  subscription cells instead (bench/subscriptions.ts): heap per idle connection, statements,
 *                    CPU and delivery p50/p99 per event at 100 and 1,000 subscribers (`--heap-snapshots`: also
 *                    where an idle connection's heap goes)
 *   --tiering        what V8 compiles, deoptimizes and collects through each --instructions cell's sequence,
 *                    outside callgrind (bench/tiering.ts): whether a count window falls after V8 has settled
 *   --syscalls       system calls per `me` request, auth-on against the floor, under strace -c (bench/syscalls.ts):
 *                    what a request costs the kernel, which instruction counts do not see
 *   --only a,b       only these scenarios (with --instructions also the cells `revocation-reload` and
 *                    `verify-floor`: a bare node:crypto RSA verify, the floor of a never-seen token)
 *   --variants a,b   only these variants (not applied to `verify-floor`, which has none)
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { countCells } from "./instruction-cells.js";
import { reportCounts } from "./instruction-ratios.js";
import { runMemory } from "./memory.js";
import { openBenchRun } from "./scenarios.js";
import { runWallClock } from "./wall-clock.js";

const quick = process.argv.includes("--quick");
// `--revocations`: session revocation at 0 / 100,000 / 1,000,000 records, a bench of its own (bench/revocation.ts).
if (process.argv.includes("--revocations")) {
  await import("./revocation.js");
  process.exit(0);
}
const instructions = process.argv.includes("--instructions");
const tiering = process.argv.includes("--tiering");
const flag = (name: string) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const numberFlag = (name: string) => {
  const value = flag(name);
  return value === undefined ? undefined : Number(value);
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
const REPEAT = numberFlag("--repeat") ?? 1;
if (!Number.isInteger(REPEAT) || REPEAT < 1) throw new Error(`--repeat needs a whole number of 1 or more, not ${flag("--repeat")}`);
if (REPEAT !== 1 && !instructions) throw new Error("--repeat counts --instructions cells again: add --instructions");

// Server on core 0, load generator on core 1, when the machine has two cores and taskset (wall-clock mode only:
// instruction counts and --tiering do not depend on where the process runs).
const pinning = !instructions && !tiering && cpus().length >= 2 && hasTaskset();
if (pinning && !process.env.BENCH_PINNED) {
  execFileSync("taskset", ["-c", "1", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_PINNED: "1" },
  });
  process.exit(0);
}

const run = await openBenchRun({ quick, only: ONLY, onlyVariants: ONLY_VARIANTS, pinning });

if (process.argv.includes("--memory")) {
  try {
    await runMemory(run);
  } finally {
    await run.jwks.close();
  }
  process.exit(0);
}

if (tiering) {
  const { runTiering } = await import("./tiering.js");
  try {
    await runTiering(run, { warmup: numberFlag("--warmup"), requests: numberFlag("--requests"), repeat: 1 });
  } finally {
    await run.jwks.close();
  }
  process.exit(0);
}

if (instructions) {
  try {
    const cells = await countCells(run, { warmup: numberFlag("--warmup"), requests: numberFlag("--requests"), repeat: REPEAT });
    reportCounts(run, cells);
  } finally {
    await run.jwks.close();
  }
  process.exit(0);
}

try {
  await runWallClock(run);
} finally {
  await run.jwks.close();
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-c", "0", "true"]);
    return true;
  } catch {
    return false;
  }
}
