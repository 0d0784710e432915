/**
 * `npm run bench -- --subscriptions`: subscription cells against the auth-on server (bench/server.ts, production
 * mode, its own process; PostgreSQL when TEST_DATABASE_URL is set, else in-memory PGlite):
 *   - heap per idle connection: IDLE sockets, each authenticated (its own staff `sub`) with one open `orderEvents`
 *     subscription, heap used after a full collection with them open minus before;
 *   - per event at S = 0 (the mutation alone), 100 and 1,000 staff subscribers: SQL statements and server CPU from
 *     the mutation's request until every subscriber has the event, CPU per extra subscriber, and the delivery time
 *     (from sending the mutation to each subscriber's receipt) p50 / p99 over all deliveries and of the last one.
 * Bounded: every wait has a deadline; the sockets and the server are closed at the end. Not a test: figures only.
 *   --quick   S = 10 and 100, 200 idle sockets, 3 events per cell
 *   --heap-snapshots   also a heap snapshot of the server before and after the idle sockets, and where the bytes
 *                      went per connection (bench/heap-diff.ts); the snapshots are left in a temporary directory
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { messageText } from "../src/ws/socket.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../test/helpers/database.js";
import { startJwksServer } from "../test/helpers/jwks-server.js";
import { generateRsaKey, jwksOf, signToken } from "../test/helpers/keys.js";
import { BENCH_CLIENT_ID, BENCH_POOL_ID, USERS } from "./fixture.js";
import { heapSnapshotDiff } from "./heap-diff.js";
import { askServer } from "./instructions.js";
import { writeResults } from "./results-file.js";

const quick = process.argv.includes("--quick");
const snapshots = process.argv.includes("--heap-snapshots") ? mkdtempSync(join(tmpdir(), "bench-heap-")) : null;
const SIZES = quick ? [0, 10, 100] : [0, 100, 1000];
const IDLE = quick ? 200 : 2000;
const EVENTS = quick ? 3 : 20;
const QUERY = "subscription { orderEvents { cursor kind occurredAt order { id status totalCents } } }";

const key = generateRsaKey();
const issuer = `https://cognito-idp.us-east-1.amazonaws.com/${BENCH_POOL_ID}`;
const tokenOf = (sub: string, groups: readonly string[]) => {
  const now = Math.floor(Date.now() / 1000);
  return signToken(key, {
    sub,
    iss: issuer,
    client_id: BENCH_CLIENT_ID,
    token_use: "access",
    scope: "openid",
    username: sub,
    "cognito:groups": groups,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
  });
};

interface Subscriber {
  readonly socket: WebSocket;
  /** Resolves with the receipt time of the next event whose order id matches. */
  nextEvent(orderId: string): Promise<number>;
}

async function subscriber(wsUrl: string, token: string): Promise<Subscriber> {
  const socket = new WebSocket(wsUrl, "graphql-transport-ws");
  const waiting = new Map<string, (at: number) => void>();
  const early = new Map<string, number>();
  let acked!: () => void;
  const ack = new Promise<void>((resolve) => (acked = resolve));
  socket.on("message", (data) => {
    const message = JSON.parse(messageText(data));
    if (message.type === "connection_ack") return acked();
    if (message.type !== "next") return;
    const at = performance.now();
    const id = message.payload.data.orderEvents.order.id as string;
    const resolve = waiting.get(id);
    if (resolve) {
      waiting.delete(id);
      resolve(at);
    } else early.set(id, at);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
  await within(ack, 30_000, "connection_ack");
  socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: QUERY } }));
  return {
    socket,
    nextEvent: (orderId) => {
      const seen = early.get(orderId);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiting.set(orderId, resolve));
    },
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

async function startBenchServer(jwksUrl: string, databaseUrl: string | undefined): Promise<{ child: ChildProcess; url: string }> {
  const heap = snapshots ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshots}`] : [];
  const child = spawn(process.execPath, ["--expose-gc", ...heap, "--import", "tsx", join(import.meta.dirname, "server.ts"), "auth-on"], {
    env: {
      ...process.env,
      BENCH_JWKS_URL: jwksUrl,
      NODE_ENV: "production",
      BENCH_REVOCATION_RELOAD_SECONDS: "3600",
      ...(databaseUrl ? { BENCH_DATABASE_URL: databaseUrl } : {}),
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { type: string; port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`auth-on server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}

/** Has the server write a heap snapshot (SIGUSR2) and returns its file once written (its size stable for a second). */
async function heapSnapshot(child: ChildProcess, dir: string): Promise<string> {
  const known = new Set(readdirSync(dir));
  child.kill("SIGUSR2");
  const deadline = Date.now() + 300_000;
  for (let last = -1; Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !known.has(f));
    if (!file || !existsSync(join(dir, file))) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) return join(dir, file);
    last = size;
  }
  throw new Error("timed out waiting for the heap snapshot");
}

type Stats = { cpuMicros: number; systemMicros: number; queries: number };

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

export async function runSubscriptionBench(): Promise<void> {
  const jwks = await startJwksServer(jwksOf(key));
  const database = TEST_DATABASE_URL ? await createTestDatabase(TEST_DATABASE_URL) : null;
  const server = await startBenchServer(jwks.url, database?.url);
  const wsUrl = server.url.replace(/^http/, "ws");
  const customer = tokenOf(USERS.customer.sub, []);
  const sockets: Subscriber[] = [];
  const closeAll = () => {
    for (const s of sockets.splice(0)) s.socket.terminate();
  };
  try {
    // Heap per idle connection.
    const memory = () => askServer<{ heapUsed: number; rss: number }>(server.child, "memory");
    const idleTokens = Array.from({ length: IDLE }, (_, i) => tokenOf(`bench-idle-${i}`, ["staff"]));
    // Warm-up: the connection path's compiled code (V8's JIT) is a fixed cost, not a connection's; it is made here,
    // before the baseline. A snapshot diff without it showed ~7 KB of "(code)" per socket at 200 sockets.
    for (let i = 0; i < Math.min(200, IDLE); i++) sockets.push(await subscriber(wsUrl, tokenOf(`bench-warm-${i}`, ["staff"])));
    closeAll();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const base = await memory();
    const before = snapshots ? await heapSnapshot(server.child, snapshots) : null;
    for (const token of idleTokens) sockets.push(await subscriber(wsUrl, token));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const loaded = await memory();
    if (snapshots && before) {
      const after = await heapSnapshot(server.child, snapshots);
      console.log(`\nheap snapshots in ${snapshots}; new objects per idle connection, by kind <- first retainer:`);
      for (const line of heapSnapshotDiff(before, after, IDLE)) console.log(line);
    }
    const heapPerConnection = (loaded.heapUsed - base.heapUsed) / IDLE;
    const rssPerConnection = (loaded.rss - base.rss) / IDLE;
    closeAll();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    console.log(`\nNode ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), database: ${database ? "PostgreSQL" : "PGlite"}`);
    console.log(
      `idle authenticated subscriber (${IDLE} sockets, one orderEvents each): ${Math.round(heapPerConnection).toLocaleString("en-US")} B heap, ${Math.round(rssPerConnection).toLocaleString("en-US")} B RSS per connection; ${Math.round(2 ** 30 / heapPerConnection).toLocaleString("en-US")} connections per GiB of heap`,
    );

    const cells = [];
    const place = async () => {
      const response = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${customer}` },
        body: JSON.stringify({
          query: `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
        }),
      });
      const body = (await response.json()) as { data?: { placeOrder: { id: string } }; errors?: unknown };
      if (!body.data) throw new Error(`placeOrder failed: ${JSON.stringify(body.errors)}`);
      return body.data.placeOrder.id;
    };
    console.log(
      "\nS (staff subscribers)  statements/event  CPU ms/event  CPU µs/extra subscriber (system)  delivery p50 / p99 ms  last delivery p50 / max ms",
    );
    let alone: { statements: number; cpuMs: number; systemMs: number } | undefined;
    for (const size of SIZES) {
      while (sockets.length < size) sockets.push(await subscriber(wsUrl, tokenOf(`bench-staff-${sockets.length}`, ["staff"])));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await place(); // warm-up
      await new Promise((resolve) => setTimeout(resolve, 300));
      const statements: number[] = [];
      const cpu: number[] = [];
      const system: number[] = [];
      const deliveries: number[] = [];
      const lasts: number[] = [];
      for (let n = 0; n < EVENTS; n++) {
        const before = await askServer<Stats>(server.child, "stats");
        const sent = performance.now();
        const id = await place();
        const times = await within(Promise.all(sockets.map((s) => s.nextEvent(id))), 60_000, `event ${n} at S=${size}`);
        if (size === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        const after = await askServer<Stats>(server.child, "stats");
        statements.push(after.queries - before.queries);
        cpu.push((after.cpuMicros - before.cpuMicros) / 1000);
        system.push((after.systemMicros - before.systemMicros) / 1000);
        for (const t of times) deliveries.push(t - sent);
        if (times.length > 0) lasts.push(Math.max(...times) - sent);
      }
      const cell = {
        subscribers: size,
        statementsPerEvent: percentile(statements, 50),
        cpuMsPerEvent: percentile(cpu, 50),
        systemCpuMsPerEvent: percentile(system, 50),
        deliveryP50Ms: deliveries.length ? percentile(deliveries, 50) : null,
        deliveryP99Ms: deliveries.length ? percentile(deliveries, 99) : null,
        lastDeliveryP50Ms: lasts.length ? percentile(lasts, 50) : null,
        lastDeliveryMaxMs: lasts.length ? Math.max(...lasts) : null,
        cpuMicrosPerExtraSubscriber: null as number | null,
        systemCpuMicrosPerExtraSubscriber: null as number | null,
      };
      if (size === 0) alone = { statements: cell.statementsPerEvent, cpuMs: cell.cpuMsPerEvent, systemMs: cell.systemCpuMsPerEvent };
      else if (alone) {
        cell.cpuMicrosPerExtraSubscriber = ((cell.cpuMsPerEvent - alone.cpuMs) * 1000) / size;
        cell.systemCpuMicrosPerExtraSubscriber = ((cell.systemCpuMsPerEvent - alone.systemMs) * 1000) / size;
      }
      cells.push(cell);
      const f = (v: number | null, digits = 1) => (v === null ? "-" : v.toFixed(digits));
      console.log(
        `${String(size).padStart(21)}  ${String(cell.statementsPerEvent).padStart(16)}  ${f(cell.cpuMsPerEvent).padStart(12)}  ${`${f(cell.cpuMicrosPerExtraSubscriber, 0)} (${f(cell.systemCpuMicrosPerExtraSubscriber, 0)})`.padStart(32)}  ${`${f(cell.deliveryP50Ms)} / ${f(cell.deliveryP99Ms)}`.padStart(21)}  ${`${f(cell.lastDeliveryP50Ms)} / ${f(cell.lastDeliveryMaxMs)}`.padStart(26)}`,
      );
    }
    const file = writeResults("subscriptions", quick, {
      database: database ? "postgres" : "pglite",
      events: EVENTS,
      idle: { sockets: IDLE, heapPerConnection, rssPerConnection },
      cells,
    });
    console.log(`raw results: ${file}`);
  } finally {
    closeAll();
    server.child.kill("SIGINT");
    await new Promise((resolve) => server.child.once("exit", resolve));
    await jwks.close();
    await database?.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runSubscriptionBench();
