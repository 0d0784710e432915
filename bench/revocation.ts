/**
 * `npm run bench -- --revocations`: session revocation at 0 / 100,000 / 1,000,000 unexpired records stored in
 * PostgreSQL (bulk-inserted, the shapes `signOut` and `signOutEverywhere` write, half each). For each size, the
 * auth-on server of bench/server.ts in its own process, behind a proxy that counts the rows PostgreSQL hands it:
 *   start        spawn to listening (the revocations' first load included), and the process CPU of it
 *   heap         heap used after a full collection, and its growth per record over the empty list
 *   reload       rows received and the server's CPU per reload with nothing new, and after one new record stored
 *                without its notification (a lost one: the reload is what finds it); averaged over 20 each
 *   prune        the CPU of forgetting expired records in memory (once per clean-up, every 60 s), in this process
 *   me           `{ me { sub } }`: requests/s and server CPU per request, the sizes interleaved in rounds of one run
 *                (wall-clock: a ratio within one run, on a shared machine); with --instructions, instructions per
 *                request under callgrind instead (minutes per size)
 *   --quick      sizes 0 / 10,000 / 100,000, one round: proves the bench works
 * Needs TEST_DATABASE_URL (or BENCH_POSTGRES_URL): scratch databases are made and dropped there.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpus } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { sql } from "kysely";
import { RevocationList } from "../src/auth/index.js";
import { openDatabase, type OpenDatabase } from "../src/data/database.js";
import { createTestDatabase, type ScratchDatabase } from "../test/helpers/database.js";
import { startJwksServer } from "../test/helpers/jwks-server.js";
import { generateRsaKey, jwksOf, signToken } from "../test/helpers/keys.js";
import { startPgCounter, type PgCounter } from "../test/helpers/pg-counter.js";
import { BENCH_CLIENT_ID, BENCH_POOL_ID, USERS } from "./fixture.js";
import { CELL_V8_FLAGS } from "./instruction-cells.js";
import { askServer, countInstructions, hasCallgrind, httpRequests } from "./instructions.js";
import { writeResults } from "./results-file.js";

const quick = process.argv.includes("--quick");
const withInstructions = process.argv.includes("--instructions");
const SIZES = quick ? [0, 10_000, 100_000] : [0, 100_000, 1_000_000];
const RELOADS = quick ? 5 : 20;
const ROUNDS = quick ? 1 : 5;
const SECONDS = quick ? 1 : 3;

const postgres = process.env.TEST_DATABASE_URL ?? process.env.BENCH_POSTGRES_URL;
if (!postgres) throw new Error("--revocations needs PostgreSQL: set TEST_DATABASE_URL (scratch databases are made and dropped there)");
if (withInstructions && !hasCallgrind()) throw new Error("--instructions needs valgrind and callgrind_control on PATH");

const key = generateRsaKey();
const jwks = await startJwksServer(jwksOf(key));
const issuer = `https://cognito-idp.us-east-1.amazonaws.com/${BENCH_POOL_ID}`;
const tokenOf = (sub: string) => {
  const now = Math.floor(Date.now() / 1000);
  return signToken(key, {
    sub,
    iss: issuer,
    client_id: BENCH_CLIENT_ID,
    token_use: "access",
    scope: "openid",
    username: sub,
    auth_time: now - 60,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
  });
};
const adminToken = tokenOf(USERS.admin.sub);
const ME = JSON.stringify({ query: "{ me { sub } }" });

interface Size {
  readonly records: number;
  readonly scratch: ScratchDatabase;
  readonly direct: OpenDatabase;
  readonly counter: PgCounter;
  child: ChildProcess;
  url: string;
  readonly figures: Record<string, number>;
}

/** Bulk-inserts records `from`..`from + count - 1`: odd n one session, even n a whole subject, kept 31 days. */
const bulkInsert = (db: OpenDatabase["db"], from: number, count: number) =>
  sql`
  insert into revocations (sub, session_id, revoked_before, expires_at, revoked_by, cognito_signed_out)
  select 'bulk-' || n, case when n % 2 = 1 then 'session-' || n end, case when n % 2 = 0 then now() end, now() + interval '31 days', 'bench', false
  from generate_series(${from}::int, ${from + count - 1}::int) as n`.execute(db);

function serverArgs(): string[] {
  return ["--import", "tsx", join(import.meta.dirname, "server.ts"), "auth-on"];
}

function serverEnv(size: Size): NodeJS.ProcessEnv {
  const url = new URL(size.scratch.url);
  url.port = String(size.counter.port);
  // No stored revocation added by server.ts, and no reload but the ones asked for.
  return {
    ...process.env,
    BENCH_JWKS_URL: jwks.url,
    BENCH_DATABASE_URL: url.toString(),
    NODE_ENV: "production",
    BENCH_REVOCATIONS: "0",
    BENCH_REVOCATION_RELOAD_SECONDS: "3600",
  };
}

async function prepare(records: number): Promise<Size> {
  const scratch = await createTestDatabase(postgres!);
  const direct = await openDatabase({ url: scratch.url, pgliteDir: null });
  if (records > 0) await bulkInsert(direct.db, 1, records);
  await sql`vacuum analyze revocations`.execute(direct.db);
  const target = new URL(scratch.url);
  const counter = await startPgCounter({ host: target.hostname, port: Number(target.port || 5432) });
  return { records, scratch, direct, counter, child: undefined as unknown as ChildProcess, url: "", figures: {} };
}

async function start(size: Size): Promise<void> {
  const started = performance.now();
  const child = spawn(process.execPath, ["--expose-gc", ...serverArgs()], {
    env: serverEnv(size),
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`server with ${size.records} records exited with ${code}`)));
  });
  size.figures.startMs = performance.now() - started;
  size.figures.startCpuMs = (await askServer<{ cpuMicros: number }>(child, "stats")).cpuMicros / 1000;
  size.child = child;
  size.url = `http://127.0.0.1:${port}/graphql`;
  const memory = await askServer<{ heapUsed: number; rss: number }>(child, "memory");
  size.figures.heapUsedMiB = memory.heapUsed / 2 ** 20;
  size.figures.rssMiB = memory.rss / 2 ** 20;
  // The load happened: the subject of the last record is refused, the bench's admin is not.
  if (
    size.records > 0 &&
    (await post(size.url, tokenOf(`bulk-${size.records}`))).errors?.[0]?.extensions?.auth?.reason !== "TOKEN_REVOKED"
  ) {
    throw new Error(`the server with ${size.records} records does not refuse the last one`);
  }
  if (!(await post(size.url, adminToken)).data) throw new Error("me failed");
}

/** Rows received and server CPU (µs) of one reload, after `before` ran (an insert, or nothing). */
async function reloadOnce(size: Size, before?: () => Promise<unknown>): Promise<{ rows: number; cpuMicros: number }> {
  await before?.();
  const rows = size.counter.rows();
  const answer = await askServer<{ ok: boolean; cpuMicros: number }>(size.child, "reload");
  if (!answer.ok) throw new Error("reload failed");
  return { rows: size.counter.rows() - rows, cpuMicros: answer.cpuMicros };
}

async function measureReloads(size: Size): Promise<void> {
  // The first reload after the start also runs the clean-up (prune in memory, delete expired rows): on its own.
  const first = await reloadOnce(size);
  Object.assign(size.figures, { firstReloadRows: first.rows, firstReloadCpuMs: first.cpuMicros / 1000 });
  const average = async (before?: () => Promise<unknown>) => {
    let rows = 0;
    let cpu = 0;
    for (let i = 0; i < RELOADS; i++) {
      const one = await reloadOnce(size, before);
      rows += one.rows;
      cpu += one.cpuMicros;
    }
    return { rows: rows / RELOADS, cpuMs: cpu / RELOADS / 1000 };
  };
  const nothing = await average();
  let next = size.records + 1;
  // Stored without NOTIFY: as if its notification was lost, so the reload is what finds it.
  const one = await average(() => bulkInsert(size.direct.db, next++, 1));
  Object.assign(size.figures, {
    reloadNothingNewRows: nothing.rows,
    reloadNothingNewCpuMs: nothing.cpuMs,
    reloadOneNewRows: one.rows,
    reloadOneNewCpuMs: one.cpuMs,
  });
}

/** The CPU (ms) of `RevocationList.prune` over `records` records of which none expired, in this process. */
function pruneCpuMs(records: number): number {
  const list = new RevocationList();
  const expiresAt = new Date(Date.now() + 86_400_000);
  const before = new Date();
  for (let n = 1; n <= records; n++) {
    const sub = `bulk-${n}`;
    list.add(n % 2 ? { kind: "session", sub, sessionId: `session-${n}`, expiresAt } : { kind: "subject", sub, before, expiresAt });
  }
  const cpu = process.cpuUsage();
  list.prune(Date.now());
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
}

async function post(url: string, token: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: ME,
  });
  return (await response.json()) as { data?: unknown; errors?: { extensions?: { auth?: { reason?: string } } }[] };
}

/** `me` for `seconds` at 10 connections: requests/s and the server's CPU per request (µs). */
async function measureMe(size: Size): Promise<{ rps: number; cpuUs: number }> {
  const before = await askServer<{ cpuMicros: number }>(size.child, "stats");
  const started = performance.now();
  const result = await autocannon({
    url: size.url,
    method: "POST",
    connections: 10,
    duration: SECONDS,
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    body: ME,
  });
  const elapsed = (performance.now() - started) / 1000;
  const after = await askServer<{ cpuMicros: number }>(size.child, "stats");
  if (result.errors + result.non2xx > 0) throw new Error(`me: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return { rps: result.requests.total / elapsed, cpuUs: (after.cpuMicros - before.cpuMicros) / result.requests.total };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const sizes: Size[] = [];
try {
  for (const records of SIZES) {
    const size = await prepare(records);
    sizes.push(size);
    await start(size);
    await measureReloads(size);
    size.figures.pruneCpuMs = pruneCpuMs(records);
    process.stderr.write(`${records} records: started, reloads measured\n`);
  }
  const samples = new Map<Size, { rps: number; cpuUs: number }[]>(sizes.map((size) => [size, []]));
  // Warm-up, then rounds in which every size is measured in turn, so machine noise falls on all alike.
  for (const size of sizes) await measureMe(size);
  for (let round = 0; round < ROUNDS; round++) for (const size of sizes) samples.get(size)!.push(await measureMe(size));
  for (const size of sizes) {
    size.figures.meRps = median(samples.get(size)!.map((s) => s.rps));
    size.figures.meCpuUsPerRequest = median(samples.get(size)!.map((s) => s.cpuUs));
  }
  if (withInstructions) {
    for (const size of [...sizes]) {
      size.child.kill("SIGKILL");
      // A database of its own, as the bench's data is seeded once per database.
      const fresh = await prepare(size.records);
      sizes.push(fresh);
      // As instruction-cells.ts counts `me` (15,000 warm-up requests: V8 optimizes for that long; 2,000 counted).
      const cell = await countInstructions(
        [...CELL_V8_FLAGS, ...serverArgs()],
        serverEnv(fresh),
        httpRequests(() => ({ token: adminToken, body: ME })),
        quick ? 20 : 15_000,
        quick ? 20 : 2000,
      );
      size.figures.meInstructions = cell.instructionsPerRequest;
      size.figures.meInstructionsWithoutCompiler = cell.instructionsPerRequest - cell.compilerPerRequest;
      process.stderr.write(`${size.records} records: instructions counted\n`);
    }
  }
  report();
} finally {
  for (const size of sizes) {
    size.child?.kill("SIGKILL");
    await size.counter.close();
    await size.direct.close();
    await size.scratch.drop();
  }
  await jwks.close();
}

function report(): void {
  const base = sizes[0]!.figures;
  const f = (value: number | undefined, digits = 1) =>
    value === undefined ? "-" : value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  console.log(
    `\nNode ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}); revocation records stored in PostgreSQL, auth-on server`,
  );
  console.log(
    "| records | start ms (CPU ms) | heap MiB | heap bytes/record | first reload rows, CPU ms | reload, nothing new: rows, CPU ms | reload, 1 new: rows, CPU ms | prune CPU ms | me req/s (x of 0) | me CPU µs/req (x of 0) |" +
      (withInstructions ? " me instructions/req (x of 0) |" : ""),
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|" + (withInstructions ? "---|" : ""));
  for (const { records, figures: x } of sizes.slice(0, SIZES.length)) {
    const perRecord = records > 0 ? ((x.heapUsedMiB! - base.heapUsedMiB!) * 2 ** 20) / records : undefined;
    const cells = [
      records.toLocaleString("en-US"),
      `${f(x.startMs, 0)} (${f(x.startCpuMs, 0)})`,
      f(x.heapUsedMiB),
      f(perRecord, 0),
      `${f(x.firstReloadRows, 0)}, ${f(x.firstReloadCpuMs, 2)}`,
      `${f(x.reloadNothingNewRows, 1)}, ${f(x.reloadNothingNewCpuMs, 2)}`,
      `${f(x.reloadOneNewRows, 1)}, ${f(x.reloadOneNewCpuMs, 2)}`,
      f(x.pruneCpuMs, 1),
      `${f(x.meRps, 0)} (${f(x.meRps! / base.meRps!, 3)})`,
      `${f(x.meCpuUsPerRequest, 0)} (${f(x.meCpuUsPerRequest! / base.meCpuUsPerRequest!, 3)})`,
      ...(withInstructions ? [`${f(x.meInstructions, 0)} (${f(x.meInstructions! / base.meInstructions!, 3)})`] : []),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  const file = writeResults("revocations", quick, {
    rounds: ROUNDS,
    seconds: SECONDS,
    reloads: RELOADS,
    sizes: sizes.slice(0, SIZES.length).map((s) => ({ records: s.records, ...s.figures })),
  });
  console.log(`raw results: ${file}`);
}
