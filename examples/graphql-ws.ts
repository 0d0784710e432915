import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient, type Client, type FormattedExecutionResult } from "graphql-ws";

/**
 * A plain graphql-ws client for this API's subscriptions (`ws://host:4000/graphql`, `wss://` behind TLS),
 * configured as a frontend would configure it. Copy this file; `test/e2e/examples/graphql-ws.test.ts` runs it against
 * the real server.
 *
 * - The token goes in `connection_init`'s payload and is asked for on every (re)connection, since tokens expire.
 * - After every close a retry can help (a network cut, 1001 a replica stopping, 1012 events missed, 1013 keys
 *   unavailable, 4403 too many sockets) the socket comes back, for ever, with a capped, randomised exponential
 *   backoff. With `reconnect: "subscription"`, `subscribeForEver` starts each subscription again with
 *   `after: <the cursor of its last event>`, so the server replays what was missed; with the default (`"socket"`)
 *   graphql-ws resubscribes by itself with the first variables, and `onReconnected` is the place to re-read.
 * - 4401 (a refused or expired token) is never retried by graphql-ws. `subscribeForEver` refreshes the token when
 *   it expired and subscribes again; a revoked or otherwise invalid token ends the subscription (sign in again).
 */

/** Where the signed-in user's Cognito token comes from (Amplify's `fetchAuthSession()` in a real frontend). */
export interface TokenSource {
  /** The current access token, or `null` for a visitor. */
  current(): string | null | Promise<string | null>;
  /**
   * A fresh token after the current one expired (Amplify: `fetchAuthSession({ forceRefresh: true })`, which uses
   * the refresh token); `null` when the session is over and the user must sign in again.
   */
  refresh(): Promise<string | null>;
}

/** Options of `createSubscriptionSocket`. */
export interface SubscriptionSocketOptions {
  /** The API's WebSocket URL: `ws://localhost:4000/graphql`, or `wss://api.example.com/graphql`. */
  readonly url: string;
  readonly tokens: TokenSource;
  /** Called when the socket is connected again after it was lost: re-read what the page shows. */
  readonly onReconnected?: () => void;
  /** Reconnection backoff in milliseconds: the first wait and the cap. @default { initialMs: 1000, maxMs: 30000 } */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** A WebSocket class outside browsers (Node: the `ws` package's default export). Browsers: leave it out. */
  readonly webSocketImpl?: unknown;
  /**
   * Who reconnects after the socket is lost. `"socket"`: graphql-ws, which subscribes again with the same variables.
   * `"subscription"`: nobody here; `shouldResubscribe` says yes to a lost socket, so that the caller subscribes again
   * with new variables (`after: <last cursor>`, as the Apollo recipe does). @default "socket"
   */
  readonly reconnect?: "socket" | "subscription";
}

/** Closes after which subscribing again cannot help: closed on purpose (1000), a message too big, a client bug. */
const FINAL = new Set([1000, 1002, 1003, 1009, 4400, 4406, 4409, 4429]);

/** A close as graphql-ws hands it over. */
export interface SocketClose {
  readonly code: number;
  readonly reason: string;
}

/** The socket and what decides whether a subscription that ended with an error is started again. */
export interface SubscriptionSocket {
  /** The graphql-ws client (one socket carries every subscription). */
  readonly client: Client;
  /** The last close of the socket, or null before any. */
  lastClose(): SocketClose | null;
  /**
   * Whether a subscription that ended with `error` should be started again: only after the server closed the
   * socket with 4401 because the token expired, and once the token was refreshed (one refresh per close, however
   * many subscriptions ended with it). Everything graphql-ws can retry it retries by itself, so anything else that
   * reaches a subscription (a refused subscription's GraphQL errors, 4400, a revoked token) is final.
   */
  shouldResubscribe(error: unknown): Promise<boolean>;
  /** Waits before attempt `attempt` (0, 1, ...) of starting a subscription again: the socket's backoff. */
  wait(attempt: number): Promise<void>;
  dispose(): Promise<void>;
}

/** The close reasons of an expired token: at connection (`Invalid token: TOKEN_EXPIRED`) or while open. */
const EXPIRED = /^(Token expired|Invalid token: TOKEN_EXPIRED)$/;

/** Opens (lazily, on the first subscription) the socket to the API, with the token and reconnection for ever. */
export function createSubscriptionSocket(options: SubscriptionSocketOptions): SubscriptionSocket {
  const initialMs = options.backoff?.initialMs ?? 1000;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  // Exponential, capped, and randomised between half and all of it, so that clients cut off together (a
  // replica stopping) do not all come back in the same instant.
  const wait = (attempt: number) =>
    new Promise<void>((resolve) => setTimeout(resolve, Math.min(maxMs, initialMs * 2 ** attempt) * (0.5 + Math.random() / 2)));
  let last: SocketClose | null = null;
  // The close that ended the subscriptions now failing; cleared once connected again, so that an error on a
  // connected socket (a refused subscription) is never taken for a close.
  let pending: SocketClose | null = null;
  let refreshed: { close: SocketClose; token: Promise<string | null> } | null = null;
  const client = createClient({
    url: options.url,
    webSocketImpl: options.webSocketImpl,
    lazy: true,
    connectionParams: async () => {
      const token = await options.tokens.current();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: options.reconnect === "subscription" ? 0 : Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => wait(retries),
    on: {
      closed: (event) => {
        const { code, reason } = event as SocketClose;
        last = pending = { code, reason };
      },
      connected: (_socket, _payload, wasRetry) => {
        pending = null;
        if (wasRetry) options.onReconnected?.();
      },
    },
  });
  return {
    client,
    lastClose: () => last,
    async shouldResubscribe(error) {
      const close = isClose(error) ? error : pending;
      if (close === null) return false;
      if (close.code !== 4401) return options.reconnect === "subscription" && !FINAL.has(close.code);
      if (!EXPIRED.test(close.reason)) return false;
      if (refreshed?.close !== close) refreshed = { close, token: options.tokens.refresh() };
      return (await refreshed.token) !== null;
    },
    wait,
    dispose: async () => client.dispose(),
  };
}

/** One event of a subscription as graphql-ws hands it over. */
export type SubscriptionEvent<Result> = FormattedExecutionResult<Result, unknown>;

/**
 * Subscribes to `document` until `stop()` is called, through token expiry and, on a socket made with
 * `reconnect: "subscription"`, through lost sockets: the subscription is started again (after the socket's backoff)
 * with `after: <the cursor of its last event>` (`cursorOf`), so the server replays what was missed, once, in order.
 * Without a cursor to resume from, `onReconnected` fires: re-read. `onEnd` is called once when it ends for good: a
 * refused subscription (`FORBIDDEN`, `CURSOR_EXPIRED`, ...), a revoked token, a session that cannot be refreshed;
 * its argument is what graphql-ws reported (GraphQL errors or the close).
 */
export function subscribeForEver<Result, Variables extends Record<string, unknown>>(
  socket: SubscriptionSocket,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables | undefined,
  handlers: {
    readonly onEvent: (event: SubscriptionEvent<Result>) => void;
    readonly onEnd?: (error: unknown) => void;
    readonly onReconnected?: () => void;
    /** The cursor of an event (`data.myOrderEvents.cursor`), for documents that take `$after`. */
    readonly cursorOf?: (data: Result) => string | null | undefined;
  },
): { stop(): void } {
  let unsubscribe: (() => void) | null = null;
  let stopped = false;
  let after: string | null = null;
  const start = (attempt: number) => {
    const payload = after === null ? variables : { ...variables, after };
    unsubscribe = socket.client.subscribe<Result>(
      { query: print(document), variables: payload },
      {
        next: (event) => {
          attempt = 0;
          const cursor = event.data && handlers.cursorOf?.(event.data);
          if (cursor) after = cursor;
          handlers.onEvent(event);
        },
        complete: () => undefined,
        error: (error) => {
          void socket.shouldResubscribe(error).then(async (again) => {
            if (stopped) return;
            if (!again) return handlers.onEnd?.(error);
            if (after === null) handlers.onReconnected?.();
            await socket.wait(attempt);
            if (!stopped) start(attempt + 1);
          });
        },
      },
    );
  };
  start(0);
  return {
    stop: () => {
      stopped = true;
      unsubscribe?.();
    },
  };
}

function isClose(value: unknown): value is SocketClose {
  return typeof value === "object" && value !== null && "code" in value && "reason" in value;
}
