/**
 * `npm run bench`: the server with auth on, the same server with auth off (baseline) and the peer (GraphQL
 * Yoga + @graphql-yoga/plugin-jwt), each in its own process, driven by autocannon from this process. Variants
 * are interleaved within every round so machine noise hits them alike; the table shows medians over rounds,
 * the spread, p99 latency and server CPU per request. The last line gives the ratios the targets speak of.
 * `--quick` is a smoke run (well under a minute) that proves the bench works; its numbers mean little.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { startJwksServer } from "../test/helpers/jwks-server.js";
import { generateRsaKey, jwksOf, signToken } from "../test/helpers/keys.js";
import { BENCH_CLIENT_ID, BENCH_ITEMS, BENCH_POOL_ID, USERS } from "./fixture.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 1 : 5;
const SECONDS = quick ? 1 : 5;
/** Unmeasured load per cell before the first round, so every variant is measured after JIT warm-up. */
const WARMUP_SECONDS = quick ? 0 : 2;
const CONNECTIONS = 10;
const VARIANTS = ["auth-off", "auth-on", "yoga"] as const;
type Variant = (typeof VARIANTS)[number];

// Server on core 0, load generator on core 1, when the machine has two cores and taskset.
const pinning = cpus().length >= 2 && hasTaskset();
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
const tokenOf = (user: (typeof USERS)[keyof typeof USERS]) =>
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
  readonly token: string;
  readonly body: (n: number) => string;
}

const ORDERS_PAGE = "{ orders(first: 50) { edges { node { id status totalCents items { quantity product { name priceCents } } } } } }";
const SCENARIOS: Scenario[] = [
  { name: "me", variants: VARIANTS, token: adminToken, body: () => JSON.stringify({ query: "{ me { sub username groups } }" }) },
  {
    name: "list-allowed",
    variants: VARIANTS,
    token: adminToken,
    body: () => JSON.stringify({ query: "{ benchItems { id name secret } }" }),
  },
  {
    name: "list-denied",
    variants: ["auth-on", "yoga"],
    token: customerToken,
    body: () => JSON.stringify({ query: "{ benchItems { id name secret } }" }),
  },
  { name: "orders-page", variants: VARIANTS, token: adminToken, body: () => JSON.stringify({ query: ORDERS_PAGE }) },
  {
    name: "mutation",
    variants: VARIANTS,
    token: adminToken,
    body: (n) =>
      JSON.stringify({
        query: "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id totalCents } }",
        variables: { input: { idempotencyKey: `bench-${randomUUID()}-${n}`, items: [{ productId: "prd-cable", quantity: 1 }] } },
      }),
  },
];

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

const servers = new Map<Variant, Server>();
try {
  for (const variant of VARIANTS) servers.set(variant, await startServer(variant));
  const statements = await statementsPerPage(servers.get("auth-on")!);
  if (WARMUP_SECONDS > 0) {
    for (const scenario of SCENARIOS) for (const variant of scenario.variants) await measure(servers.get(variant)!, scenario, WARMUP_SECONDS);
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

async function startServer(variant: Variant): Promise<Server> {
  const node = [process.execPath, "--import", "tsx", join(import.meta.dirname, "server.ts"), variant];
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
  return new Promise((resolve) => {
    const onMessage = (m: { type: string; cpuMicros: number; queries: number }) => {
      if (m.type !== "stats") return;
      server.child.off("message", onMessage);
      resolve(m);
    };
    server.child.on("message", onMessage);
    server.child.send({ type: "stats" });
  });
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
  const answer = await post(server, scenario.token, scenario.body(0));
  const expectErrors = scenario.name === "list-denied";
  if (!answer.data || (answer.errors !== undefined) !== expectErrors || (expectErrors && answer.errors!.length !== 1)) {
    throw new Error(`${scenario.name} on ${server.url}: unexpected answer ${JSON.stringify(answer).slice(0, 300)}`);
  }
  const before = await stats(server);
  let n = 0;
  const result = await autocannon({
    url: server.url,
    method: "POST",
    connections: CONNECTIONS,
    duration: seconds,
    headers: { "content-type": "application/json", authorization: `Bearer ${scenario.token}` },
    requests: [{ setupRequest: (request) => ({ ...request, body: scenario.body(++n) }) }],
  });
  const after = await stats(server);
  const requests = result.requests.total;
  return {
    requestsPerSecond: requests / seconds,
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
  console.log(`\nNode ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), ${ROUNDS} round(s) of ${SECONDS}s per cell, ${CONNECTIONS} connections, pinned: ${pinning}`);
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
  console.log(`SQL statements per orders page: ${Object.entries(statements).map(([k, v]) => `${k} -> ${v}`).join(", ")}`);
  const rps = (id: string) => summary[id]!.rps;
  const ratios = {
    "me on/off": rps("me|auth-on") / rps("me|auth-off"),
    "me on/peer": rps("me|auth-on") / rps("me|yoga"),
    "list-allowed on/off": rps("list-allowed|auth-on") / rps("list-allowed|auth-off"),
    "list-allowed on/peer": rps("list-allowed|auth-on") / rps("list-allowed|yoga"),
    "list-denied/allowed CPU": summary["list-denied|auth-on"]!.cpuUs / summary["list-allowed|auth-on"]!.cpuUs,
    "orders-page on/off": rps("orders-page|auth-on") / rps("orders-page|auth-off"),
    "mutation on/off": rps("mutation|auth-on") / rps("mutation|auth-off"),
  };
  const resultsDir = join(import.meta.dirname, "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
  writeFileSync(file, JSON.stringify({ quick, rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, listItems: BENCH_ITEMS, node: process.version, cpus: cpus().length, pinning, samples: Object.fromEntries(samples), summary, statements, ratios }, null, 2));
  console.log(`raw results: ${file}`);
  console.log(`ratios: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}x`).join(" | ")}`);
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
