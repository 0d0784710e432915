/**
 * The default mode of `npm run bench`: requests per second, p99 latency and server CPU per request of every
 * scenario and variant, each variant a server process of its own, driven by autocannon from this process. Variants
 * are interleaved within every round so machine noise hits them alike; the table shows medians over rounds.
 */
import { cpus } from "node:os";
import autocannon from "autocannon";
import { ORDERS_PAGE, VARIANTS, type BenchRun, type Scenario, type Variant } from "./scenarios.js";
import { post, startServer, stats, type Server } from "./servers.js";

const CONNECTIONS = 10;

/** Rounds, durations and amounts of a run, smaller with --quick. */
interface Timing {
  readonly rounds: number;
  readonly seconds: number;
  /** Unmeasured load per cell before the first round, so every variant is measured after JIT warm-up. */
  readonly warmupSeconds: number;
  /** Requests per wall-clock cell of a distinct-token scenario (a count, not a duration, so the tokens suffice). */
  readonly distinctAmount: number;
}

interface Sample {
  readonly requestsPerSecond: number;
  readonly p99: number;
  readonly cpuMicrosPerRequest: number;
  readonly errors: number;
}

/** Starts every variant, measures the run's scenarios in rounds, prints the table and the ratios, writes the results. */
export async function runWallClock(run: BenchRun): Promise<void> {
  const timing: Timing = {
    rounds: run.quick ? 1 : 5,
    seconds: run.quick ? 1 : 5,
    warmupSeconds: run.quick ? 0 : 2,
    distinctAmount: run.quick ? 300 : 3000,
  };
  const servers = new Map<Variant, Server>();
  try {
    for (const variant of VARIANTS) servers.set(variant, await startServer(run, variant));
    const statements = await statementsPerPage(run, servers.get("auth-on")!);
    if (timing.warmupSeconds > 0) {
      for (const scenario of run.scenarios)
        for (const variant of scenario.variants) await measure(run, timing, servers.get(variant)!, scenario, timing.warmupSeconds);
    }
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < timing.rounds; round++) {
      for (const scenario of run.scenarios) {
        const order = shuffle([...scenario.variants]);
        for (const variant of order) {
          const sample = await measure(run, timing, servers.get(variant)!, scenario);
          const id = `${scenario.name}|${variant}`;
          samples.set(id, [...(samples.get(id) ?? []), sample]);
        }
      }
      process.stderr.write(`round ${round + 1}/${timing.rounds} done\n`);
    }
    report(run, timing, samples, statements);
  } finally {
    for (const server of servers.values()) server.child.kill("SIGKILL");
  }
}

/** SQL statements for one page of orders at two page sizes: batching keeps them equal. */
async function statementsPerPage(run: BenchRun, server: Server): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const first of [10, 50]) {
    const before = (await stats(server)).queries;
    const answer = await post(server, run.adminToken, JSON.stringify({ query: ORDERS_PAGE.replace("first: 50", `first: ${first}`) }));
    if (answer.errors) throw new Error(`orders page failed: ${JSON.stringify(answer.errors)}`);
    result[`first: ${first}`] = (await stats(server)).queries - before;
  }
  return result;
}

async function measure(run: BenchRun, timing: Timing, server: Server, scenario: Scenario, seconds = timing.seconds): Promise<Sample> {
  // Check the answer first: a benchmark of errors would measure nothing.
  if (scenario.distinct) run.distinctTokens = run.mintDistinct(timing.distinctAmount + 1);
  const answer = await post(server, scenario.token(timing.distinctAmount), scenario.body(0));
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
    ...(scenario.distinct ? { amount: timing.distinctAmount } : { duration: seconds }),
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

function report(run: BenchRun, timing: Timing, samples: Map<string, Sample[]>, statements: Record<string, number>): void {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const summary: Record<string, { rps: number; min: number; max: number; p99: number; cpuUs: number; errors: number }> = {};
  console.log(
    `\nNode ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), ${timing.rounds} round(s) of ${timing.seconds}s per cell, ${CONNECTIONS} connections, pinned: ${run.pinning}`,
  );
  console.log("scenario       variant    req/s (median)   spread (min-max)    p99 ms   server CPU us/req   errors");
  for (const scenario of run.scenarios) {
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
  const file = run.writeResults("wall-clock", {
    rounds: timing.rounds,
    seconds: timing.seconds,
    connections: CONNECTIONS,
    pinning: run.pinning,
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
