import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/** Where the subscription client gets the signed-in user's token (Amplify's `fetchAuthSession()` in a browser). */
export type GetToken = () => string | null | Promise<string | null>;

export interface SubscriptionClientOptions {
  /** Told when the server closes with 4401 (token invalid, revoked, or another subject's): sign the user in again. */
  readonly onUnauthorized?: (reason: string) => void;
  /** Hand the open socket a fresh token this many seconds before the current one expires. Default 60. */
  readonly refreshBeforeSeconds?: number;
}

/**
 * The example client's subscriptions: graphql-ws over WebSocket on the API's `/graphql` (`ws://` or `wss://`),
 * configured as a browser frontend would configure it (in a browser, leave out `webSocketImpl`). The token goes in
 * `connection_init`'s payload and is asked for on every (re)connection. Before it expires, the client asks for a
 * fresh one and hands it to the open socket with a `ping` (`{ "Authorization": "Bearer <token>" }`), so the socket
 * is never closed for expiry and no event is missed. The client itself does not reconnect: `resumeSubscription`
 * does, with the last cursor, so that a reconnection neither loses nor repeats an event.
 */
export function createSubscriptionClient(wsUrl: string, getToken: GetToken, options: SubscriptionClientOptions = {}): Client {
  const refreshBeforeMs = (options.refreshBeforeSeconds ?? 60) * 1000;
  let sent: string | null = null;
  let refresh: NodeJS.Timeout | undefined;
  const schedule = (socket: WebSocket, token: string | null) => {
    clearTimeout(refresh);
    const exp = token ? expiryOf(token) : null;
    if (exp === null) return;
    const refreshNow = async () => {
      const fresh = await getToken();
      if (!fresh || fresh === token || socket.readyState !== WebSocket.OPEN) return schedule(socket, token);
      socket.send(JSON.stringify({ type: "ping", payload: { Authorization: `Bearer ${fresh}` } }));
      schedule(socket, fresh);
    };
    refresh = setTimeout(() => void refreshNow(), Math.max(1000, exp * 1000 - refreshBeforeMs - Date.now()));
    refresh.unref?.();
  };
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: true,
    // resumeSubscription retries (with the cursor); graphql-ws would resend the first `after`.
    retryAttempts: 0,
    connectionParams: async () => {
      sent = await getToken();
      return sent ? { Authorization: `Bearer ${sent}` } : {};
    },
    on: {
      connected: (socket) => schedule(socket as WebSocket, sent),
      closed: (event) => {
        clearTimeout(refresh);
        const { code, reason } = event as { code: number; reason: string };
        if (code === 4401) options.onUnauthorized?.(reason);
      },
    },
  });
}

/** The `exp` of a JWT (seconds), read without verifying (the server verifies); null when unreadable. */
function expiryOf(token: string): number | null {
  try {
    const exp = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).exp;
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

/** One event of a subscription as graphql-ws hands it over. */
export interface SubscriptionEvent<Result> {
  readonly data?: Result | null;
  readonly errors?: readonly { readonly message: string; readonly extensions?: Record<string, unknown> }[];
}

/** A typed subscription: the events of `document` as they come (`return()` on the iterator unsubscribes). */
export function subscribe<Result, Variables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<Result, Variables>,
  variables?: Variables,
): AsyncIterableIterator<SubscriptionEvent<Result>> {
  return client.iterate({ query: print(document), variables }) as AsyncIterableIterator<SubscriptionEvent<Result>>;
}

export interface ResumeOptions<Result> {
  /** The cursor of an event (`data.orderEvents.cursor`). */
  readonly cursorOf: (data: Result) => string | null | undefined;
  /** Resume after this cursor from the start (one kept from an earlier page load). */
  readonly after?: string | null;
  /** Waits before reconnection attempt `attempt` (0, 1, ...). Default: 0.5 s doubling to 30 s, with jitter. */
  readonly wait?: (attempt: number) => Promise<void>;
}

/** Exponential backoff with full jitter: 0.5 s, 1 s, 2 s, ... up to 30 s. */
export const backoff = (attempt: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.random() * Math.min(30_000, 500 * 2 ** attempt)));

/**
 * A subscription that survives reconnections: it keeps the cursor of the last event received and, whenever the
 * socket closes (a server restart 1001, a lost notification connection 1012, a network cut 1006, a key set outage
 * 1013, too many connections 4403, an expired token 4401 "Token expired"), waits (backoff) and subscribes again
 * with `after: <last cursor>`, for ever: the server replays every event in between, once, in order. It ends with a
 * throw for what a retry cannot fix: a refused subscription (its GraphQL errors, e.g. `CURSOR_EXPIRED`, after which
 * the app re-reads and subscribes without a cursor), a revoked or invalid token (4401), a bad request (4400). It
 * ends quietly when the client is disposed (close 1000).
 */
export async function* resumeSubscription<Result, Variables extends { after?: string | null }>(
  client: Client,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  options: ResumeOptions<Result>,
): AsyncGenerator<SubscriptionEvent<Result>> {
  let after = options.after ?? variables.after ?? null;
  const wait = options.wait ?? backoff;
  for (let attempt = 0; ; attempt++) {
    try {
      for await (const event of subscribe(client, document, { ...variables, after })) {
        attempt = 0;
        const cursor = event.data ? options.cursorOf(event.data) : null;
        if (cursor) after = cursor;
        yield event;
      }
      return;
    } catch (error) {
      if (!retryable(error)) throw error;
    }
    await wait(attempt);
  }
}

/** Whether a subscription's failure is the socket's (retry) rather than the request's (don't). */
function retryable(error: unknown): boolean {
  // A refused subscription comes as its GraphQL errors.
  if (Array.isArray(error)) return false;
  const { code, reason } = (error ?? {}) as { code?: unknown; reason?: unknown };
  if (typeof code !== "number") return true; // the socket could not open (server down, network): an Error or Event
  if (code === 4401) return reason === "Token expired";
  // 1000: closed on purpose (`client.dispose()`): the subscription ends.
  return code !== 1000 && code !== 4400 && code !== 4406 && code !== 4409 && code !== 4429;
}
