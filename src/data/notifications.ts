import { sql } from "kysely";
import type { Db } from "./database.js";

/**
 * PostgreSQL's `LISTEN`/`NOTIFY` for the replicas of one database (and PGlite's, in-process, for the embedded
 * case). Session revocations and subscription events travel this way.
 *
 * Delivery is at most once: a notification sent while a replica's listening connection is down is lost to it.
 * Every user of the hub therefore keeps a way to catch up (`onResync` fires after each reconnection) or a
 * periodic reload.
 */
export interface NotificationHub {
  /**
   * Calls `handler` with the payload of every notification on `channel` from now on (in the order PostgreSQL
   * delivers them). Resolves when the channel is listened to, or at once when the connection is down (the channel
   * is listened to on reconnection). Returns the function that stops it. Throws on a channel name that is not a
   * lower-case identifier.
   */
  listen(channel: string, handler: (payload: string) => void): Promise<() => void>;
  /**
   * Calls `handler` each time the listening connection comes back after it was lost, once its channels are
   * listened to again: notifications may have been missed meanwhile, so state should be reloaded.
   */
  onResync(handler: () => void): () => void;
  /** Whether notifications are being received right now (PGlite: always). */
  connected(): boolean;
  /** Stops listening and closes the connection; never throws. */
  close(): Promise<void>;
}

/** PostgreSQL's limit on a payload (bytes, exclusive): `NOTIFY` fails beyond it. */
export const MAX_PAYLOAD_BYTES = 8000;

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new Error(`Notification channel "${channel}" must be a lower-case identifier (a-z, 0-9, _).`);
}

/**
 * Sends `payload` on `channel` through `db`. Inside a transaction (a mutation operation's) PostgreSQL delivers it
 * when that transaction commits, and never if it rolls back; outside one, at once. Throws if the payload is
 * `MAX_PAYLOAD_BYTES` or longer, or the database fails.
 */
export async function publish(db: Db, channel: string, payload: string): Promise<void> {
  checkChannel(channel);
  if (Buffer.byteLength(payload) >= MAX_PAYLOAD_BYTES)
    throw new Error(`Notification payload on "${channel}" is over PostgreSQL's ${MAX_PAYLOAD_BYTES}-byte limit.`);
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}

export interface PostgresNotificationOptions {
  /** Told when the listening connection is lost or cannot be made; it is retried every `retryDelayMs`. */
  readonly onConnectionError?: (error: Error) => void;
  /** Told when the listening connection is back after a loss (after its channels are listened to again). */
  readonly onReconnected?: () => void;
  /** Wait between reconnection attempts, in milliseconds. Default 1000. */
  readonly retryDelayMs?: number;
  /** Give up one connection attempt after this many milliseconds. Default 5000. */
  readonly connectTimeoutMs?: number;
}

/**
 * The hub over one connection of its own to PostgreSQL at `url` (not from the pool: a pooled connection is handed
 * to other work, and `LISTEN` belongs to a session). The connection is made on the first `listen`, kept alive,
 * and remade after a loss.
 */
export function postgresNotifications(url: string, options: PostgresNotificationOptions = {}): NotificationHub {
  const state: ListenerState = {
    url,
    options,
    handlers: new Map(),
    resyncHandlers: new Set(),
    client: null,
    listening: new Set(),
    connecting: null,
    retry: undefined,
    closed: false,
    lostOnce: false,
    run: serially(),
  };
  return {
    async listen(channel, handler) {
      checkChannel(channel);
      let set = state.handlers.get(channel);
      if (!set) state.handlers.set(channel, (set = new Set()));
      set.add(handler);
      if (!state.client) await connect(state);
      const current = state.client;
      if (current && !state.listening.has(channel)) {
        state.listening.add(channel);
        await state.run(current, `listen ${channel}`).catch((error: Error) => lose(state, current, error));
      }
      return () => {
        set.delete(handler);
        if (set.size > 0 || state.handlers.get(channel) !== set) return;
        state.handlers.delete(channel);
        state.listening.delete(channel);
        if (state.client) state.run(state.client, `unlisten ${channel}`).catch(() => undefined);
      };
    },
    onResync(handler) {
      state.resyncHandlers.add(handler);
      return () => state.resyncHandlers.delete(handler);
    },
    connected: () => state.client !== null,
    async close() {
      state.closed = true;
      clearTimeout(state.retry);
      await state.connecting?.catch(() => undefined);
      const last = state.client;
      state.client = null;
      if (last) {
        last.removeAllListeners("end");
        await Promise.race([last.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      }
    },
  };
}

type PgClient = import("pg").Client;

/** The mutable state of one PostgreSQL hub, shared by its methods and the connection functions below. */
interface ListenerState {
  readonly url: string;
  readonly options: PostgresNotificationOptions;
  readonly handlers: Map<string, Set<(payload: string) => void>>;
  readonly resyncHandlers: Set<() => void>;
  client: PgClient | null;
  /** The channels the current connection listens to. */
  listening: Set<string>;
  connecting: Promise<void> | null;
  retry: NodeJS.Timeout | undefined;
  closed: boolean;
  lostOnce: boolean;
  /** Runs a statement on a client after the previous one settled. */
  readonly run: (on: PgClient, statement: string) => Promise<unknown>;
}

/** pg deprecates overlapping queries on one client: LISTEN and UNLISTEN statements go one after another. */
function serially(): ListenerState["run"] {
  let queue: Promise<unknown> = Promise.resolve();
  return (on, statement) => {
    const next = queue.then(() => on.query(statement));
    queue = next.catch(() => undefined);
    return next;
  };
}

function dispatch(state: ListenerState, channel: string, payload: string): void {
  for (const handler of state.handlers.get(channel) ?? []) {
    try {
      handler(payload);
    } catch {
      // A handler's failure is its own to report; the others still get the notification.
    }
  }
}

function lose(state: ListenerState, lost: PgClient, error: Error): void {
  if (state.client !== lost) return;
  state.client = null;
  state.lostOnce = true;
  lost.removeAllListeners("notification");
  lost.end().catch(() => undefined);
  if (state.closed) return;
  state.options.onConnectionError?.(error);
  scheduleRetry(state);
}

function scheduleRetry(state: ListenerState): void {
  if (state.closed || state.retry) return;
  state.retry = setTimeout(() => {
    state.retry = undefined;
    void connect(state);
  }, state.options.retryDelayMs ?? 1000);
  state.retry.unref();
}

function connect(state: ListenerState): Promise<void> {
  if (state.client || state.closed) return Promise.resolve();
  state.connecting ??= openListener(state).finally(() => {
    state.connecting = null;
  });
  return state.connecting;
}

/** One connection attempt: connects, listens to every channel with a handler, then tells the resync handlers. */
async function openListener(state: ListenerState): Promise<void> {
  const { options } = state;
  const { default: pg } = await import("pg");
  const next = new pg.Client({ connectionString: state.url, keepAlive: true, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000 });
  next.on("error", (error) => lose(state, next, error));
  next.on("end", () => lose(state, next, new Error("Connection terminated")));
  next.on("notification", (message) => dispatch(state, message.channel, message.payload ?? ""));
  try {
    await next.connect();
    const channels = new Set<string>();
    for (const channel of state.handlers.keys()) {
      await next.query(`listen ${channel}`);
      channels.add(channel);
    }
    state.listening = channels;
  } catch (error) {
    next.removeAllListeners("end");
    next.end().catch(() => undefined);
    if (!state.closed) {
      options.onConnectionError?.(error as Error);
      state.lostOnce = true;
      scheduleRetry(state);
    }
    return;
  }
  if (state.closed) {
    await next.end().catch(() => undefined);
    return;
  }
  state.client = next;
  if (state.lostOnce) {
    options.onReconnected?.();
    for (const handler of state.resyncHandlers) handler();
  }
}

/** The part of PGlite the hub uses. */
export interface PGliteListener {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/** The hub over an embedded PGlite: notifications are delivered in-process, after the notifying statement commits. */
export function pgliteNotifications(pglite: PGliteListener): NotificationHub {
  const stops = new Set<() => Promise<void>>();
  return {
    async listen(channel, handler) {
      checkChannel(channel);
      const stop = await pglite.listen(channel, (payload) => {
        try {
          handler(payload);
        } catch {
          // As for PostgreSQL: one handler's failure does not stop the others.
        }
      });
      const once = () => stop().catch(() => undefined);
      stops.add(once);
      return () => {
        stops.delete(once);
        void once();
      };
    },
    onResync: () => () => undefined,
    connected: () => true,
    async close() {
      await Promise.all([...stops].map((stop) => stop()));
      stops.clear();
    },
  };
}
