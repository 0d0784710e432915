import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type Dialect, type LogEvent } from "kysely";
import { migrateToLatest } from "./migrations.js";
import {
  pgliteNotifications,
  postgresNotifications,
  type NotificationHub,
  type PGliteListener,
  type PostgresNotificationOptions,
} from "./notifications.js";
import type { Database } from "./tables.js";

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** `postgres://...`: PostgreSQL through a `pg` pool. `null`: embedded PGlite. */
  readonly url: string | null;
  /** Where embedded PGlite keeps its files; `null` keeps it in memory (tests). */
  readonly pgliteDir: string | null;
  /** Largest `pg` pool. Default 10. */
  readonly poolSize?: number;
  /** Called for every SQL statement (tests count them). */
  readonly onQuery?: (event: LogEvent) => void;
  /**
   * Told when PostgreSQL drops a connection (server restart, failover, a terminated backend, a cut network).
   * The process keeps running either way: an idle connection is removed from the pool and replaced on demand;
   * a busy one fails its statement, which the request answers as `SERVICE_UNAVAILABLE`.
   */
  readonly onConnectionError?: (error: Error, state: "idle" | "busy") => void;
  /**
   * Give up waiting for a pooled connection after this many milliseconds, a new connection's connect included (a
   * blackholed network, an exhausted pool): pg's `connectionTimeoutMillis`, which bounds both. Default 5000.
   */
  readonly connectTimeoutMs?: number;
  /** PostgreSQL's `statement_timeout` on every pooled connection, in ms; 0 or absent: none. */
  readonly statementTimeoutMs?: number;
  /** PostgreSQL's `idle_in_transaction_session_timeout` on every pooled connection, in ms; 0 or absent: none. */
  readonly idleInTransactionTimeoutMs?: number;
  /** How the PostgreSQL notification hub reports a lost or regained listening connection. */
  readonly notifications?: Pick<PostgresNotificationOptions, "onConnectionError" | "onReconnected" | "retryDelayMs">;
}

export interface OpenDatabase {
  readonly db: Db;
  readonly kind: "postgres" | "pglite";
  /**
   * `LISTEN`/`NOTIFY` between the replicas of this database: made on first use (PostgreSQL: one connection of its
   * own, outside the pool; PGlite: in-process), closed by `close()`.
   */
  notifications(): NotificationHub;
  /** Whether the database answers a trivial query within a second (readiness). */
  ping(): Promise<boolean>;
  /** The `pg` pool's connections; `null` for PGlite. */
  poolStats(): PoolStats | null;
  /**
   * Shutdown's deadline has come: cancels the statements of every checked-out connection (a transaction blocked
   * on a lock fails with `query_canceled` and is rolled back; its request answers 503), and drops the connections
   * still checked out after that. Takes at most about 2 s whatever PostgreSQL does. No-op for PGlite.
   */
  abortActive(): Promise<void>;
  /**
   * Ends the pool, waiting at most `deadlineMs` (default 2000) for connections to be returned; after that every
   * remaining socket is destroyed. Never throws.
   */
  close(deadlineMs?: number): Promise<void>;
}

export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/** Opens the database and migrates it to the latest version. One code path for PGlite and PostgreSQL. */
export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  const kind: OpenDatabase["kind"] = options.url ? "postgres" : "pglite";
  let pool: PgPool | undefined;
  let dialect: Dialect;
  let pglite: PGliteListener | undefined;
  // Connections lent out right now (a request's statement or transaction), for shutdown's abortActive().
  const busy = new Set<PgClient>();
  if (options.url) {
    const { default: pg } = await import("pg");
    pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      // Sent in the startup message, so every connection has them from its first statement. PGlite has neither
      // (one in-process connection, no pool to wait for, no other session to block on).
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
      ...(options.idleInTransactionTimeoutMs ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs } : {}),
      // Notices a peer that vanished without a FIN (failover behind a load balancer) on idle connections too.
      keepAlive: true,
    });
    watchPool(pool, busy, options.onConnectionError);
    dialect = new PostgresDialect({ pool });
  } else {
    ({ dialect, pglite } = await pgliteDialect(options.pgliteDir));
  }
  const db = new Kysely<Database>({ dialect, plugins: [new CamelCasePlugin()], log: options.onQuery });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await closeWithin(db, pool, 2000);
    throw error;
  }
  let hub: NotificationHub | undefined;
  const notifications = () =>
    (hub ??= options.url
      ? postgresNotifications(options.url, { connectTimeoutMs: options.connectTimeoutMs, ...options.notifications })
      : pgliteNotifications(pglite!));
  return {
    db,
    kind,
    notifications,
    ping: async () => {
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 1000).unref());
      const answer = sql`select 1`.execute(db).then(
        () => true,
        () => false,
      );
      return Promise.race([answer, timeout]);
    },
    poolStats: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null),
    abortActive: () => (pool && options.url ? abortActive(options.url, busy) : Promise.resolve()),
    close: async (deadlineMs = 2000) => {
      await hub?.close();
      await closeWithin(db, pool, deadlineMs);
    },
  };
}

type PgPool = import("pg").Pool;
type PgClient = import("pg").PoolClient;

/**
 * Without these listeners a dropped connection kills the process: `pg` emits `error` on the pool for an idle
 * client and on the client itself for one that is checked out between statements, and an `error` event
 * without a listener is thrown. The pool already removes a broken client (idle at once, busy when released,
 * since it is no longer queryable), and the next checkout opens a new connection.
 */
function watchPool(pool: PgPool, busy: Set<PgClient>, onConnectionError: DatabaseOptions["onConnectionError"]): void {
  pool.on("error", (error) => onConnectionError?.(error, "idle"));
  pool.on("connect", (client) => {
    client.on("error", (error) => {
      // An idle client's error also reaches the pool's listener above; report each loss once.
      if (busy.has(client as PgClient)) onConnectionError?.(error, "busy");
    });
  });
  pool.on("acquire", (client) => busy.add(client));
  pool.on("release", (_error, client) => busy.delete(client as PgClient));
  pool.on("remove", (client) => busy.delete(client as PgClient));
}

async function abortActive(url: string, busy: Set<PgClient>): Promise<void> {
  if (busy.size === 0) return;
  const pids = [...busy].map((client) => (client as unknown as { processID: number | null }).processID).filter((pid) => pid !== null);
  if (pids.length > 0) {
    // A cancel goes over a connection of its own; the busy ones are waiting for their statements' answers.
    const { default: pg } = await import("pg");
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000, query_timeout: 1000 });
    admin.on("error", () => undefined);
    const cancel = admin
      .connect()
      .then(() => admin.query("select pg_cancel_backend(pid) from unnest($1::int[]) as pid", [pids]))
      .catch(() => undefined)
      // The catch above leaves nothing to reject: end the connection after either outcome.
      .then(() => admin.end().catch(() => undefined));
    await withDeadline(cancel, 1500);
  }
  // Canceled transactions roll back and return their connections; whatever is still out is cut off.
  const settled = Date.now() + 500;
  while (busy.size > 0 && Date.now() < settled) await sleep(20);
  for (const client of busy) destroySocket(client);
}

/** `db.destroy()` ends the pool, which waits for every checked-out connection: bounded here. */
async function closeWithin(db: Db, pool: PgPool | undefined, deadlineMs: number): Promise<void> {
  const destroyed = db.destroy().then(
    () => true,
    () => true,
  );
  if (await withDeadline(destroyed, deadlineMs)) return;
  // pg keeps its clients in a private list; destroying the sockets lets end() finish and the process exit.
  for (const client of (pool as unknown as { _clients?: PgClient[] } | undefined)?._clients ?? []) destroySocket(client);
  await withDeadline(destroyed, 500);
}

function destroySocket(client: PgClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Resolves with the promise's value, or `undefined` after `ms`; never rejects on the timeout. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms).unref()));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Errors of a connection that failed or died, from `pg`, Node or PostgreSQL, none of which carries a code of its
// own for these. PGlite runs in the process and has none of them.
const UNREACHABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const UNAVAILABLE_SQLSTATES = new Set([
  "57P01", // admin_shutdown: the backend was terminated (pg_terminate_backend, a restart)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: starting up or shutting down
  "57014", // query_canceled: statement_timeout, or shutdown's abortActive()
  "55P03", // lock_not_available: lock_timeout
  "25P03", // idle_in_transaction_session_timeout: PostgreSQL ended a transaction left idle too long
  "53300", // too_many_connections
  "3D000", // invalid_catalog_name: the database was dropped (or never created) under a running server
]);
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end on the pool)$/;

/**
 * Whether `error` (or an error it wraps, through `originalError` or `cause`) says the database could not be
 * reached or dropped the connection, as opposed to a bug or refused input. Such a request did nothing that
 * committed (a transaction whose connection dies is rolled back by PostgreSQL) and may be retried: it is answered
 * 503 `SERVICE_UNAVAILABLE`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    // Class 08: connection exception; class 28: the login was refused (a rotated password).
    if (
      typeof code === "string" &&
      (UNREACHABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^(08|28)[0-9A-Z]{3}$/.test(code))
    )
      return true;
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.test(message)) return true;
    const inner = (e as { errors?: unknown }).errors;
    e =
      (e as { originalError?: unknown }).originalError ??
      (e as { cause?: unknown }).cause ??
      // Node's AggregateError of a connection tried on several addresses (localhost: ::1 and 127.0.0.1).
      (Array.isArray(inner) ? inner[0] : undefined);
  }
  return false;
}

/** A wait bound a failed statement ran into, when that is why it failed. */
export type DatabaseBound = "statement_timeout" | "lock_timeout" | "idle_in_transaction_timeout" | "pool_timeout";

/**
 * Which configured bound `error` (or an error it wraps) ran into: `statement_timeout` (SQLSTATE 57014 with its
 * message; a cancel by shutdown has another), `lock_timeout` (55P03), `idle_in_transaction_timeout` (25P03) or
 * `pool_timeout` (pg's "timeout exceeded when trying to connect": no pooled connection within the wait bound).
 * `null` for any other error. Every one of them is also `isDatabaseUnavailable`.
 */
export function exceededBound(error: unknown): DatabaseBound | null {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === "57014" && typeof message === "string" && message.includes("statement timeout")) return "statement_timeout";
    if (code === "55P03") return "lock_timeout";
    if (code === "25P03") return "idle_in_transaction_timeout";
    if (message === "timeout exceeded when trying to connect") return "pool_timeout";
    e = (e as { originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return null;
}

// PGlite is loaded only when used: its WebAssembly build is large, and a Lambda cold start on PostgreSQL
// should not pay for it.
async function pgliteDialect(dir: string | null): Promise<{ dialect: Dialect; pglite: PGliteListener }> {
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import("@electric-sql/pglite"), import("kysely-pglite-dialect")]);
  if (dir) mkdirSync(dir, { recursive: true });
  const pglite = new PGlite(dir ?? undefined);
  return { dialect: new PGliteDialect(pglite), pglite };
}

export const pgliteDirOf = (dataDir: string) => join(dataDir, "pglite");
