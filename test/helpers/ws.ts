import WebSocket from "ws";
import { messageText } from "../../src/ws/socket.js";

/** A message of the graphql-ws protocol as received. */
export interface WsMessage {
  readonly type: string;
  readonly id?: string;
  readonly payload?: any;
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/**
 * A raw WebSocket client speaking graphql-transport-ws by hand, for the cases a library client hides: close codes
 * and reasons, what arrives and what does not.
 */
export interface RawSocket {
  readonly socket: WebSocket;
  /** Every message received so far, in order. */
  readonly messages: WsMessage[];
  /** Resolves when the socket closes, with the server's code and reason. */
  readonly closed: Promise<Closed>;
  send(message: unknown): void;
  /** Waits (up to `timeoutMs`, default 10 s) for a message matching `match`; throws on timeout or close. */
  waitFor(match: (message: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>;
  /** `connection_init` with this payload, then waits for `connection_ack`. */
  init(payload?: Record<string, unknown>): Promise<void>;
  /** Sends `subscribe` with this id and operation. */
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  close(): void;
}

/** Opens a socket to `url` with the graphql-transport-ws subprotocol (or `protocol`) and resolves once open. */
export async function openSocket(
  url: string,
  options: { headers?: Record<string, string>; protocol?: string; localAddress?: string } = {},
): Promise<RawSocket> {
  const socket = new WebSocket(url, options.protocol ?? "graphql-transport-ws", {
    headers: options.headers,
    localAddress: options.localAddress,
  });
  const messages: WsMessage[] = [];
  const listeners = new Set<() => void>();
  let isClosed = false;
  const closed = new Promise<Closed>((resolve) =>
    socket.on("close", (code, reason) => {
      isClosed = true;
      resolve({ code, reason: reason.toString() });
      for (const listener of listeners) listener();
    }),
  );
  socket.on("error", () => undefined);
  socket.on("message", (data) => {
    messages.push(JSON.parse(messageText(data)) as WsMessage);
    for (const listener of listeners) listener();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.once("error", reject);
  });
  const raw: RawSocket = {
    socket,
    messages,
    closed,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    waitFor: (match, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (found) return done(() => resolve(found));
          if (isClosed) return done(() => reject(new Error(`socket closed before the message arrived; got ${JSON.stringify(messages)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out; got ${JSON.stringify(messages)}`))), timeoutMs);
        const done = (finish: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          finish();
        };
        listeners.add(check);
        check();
      }),
    async init(payload) {
      raw.send({ type: "connection_init", ...(payload ? { payload } : {}) });
      await raw.waitFor((m) => m.type === "connection_ack");
    },
    subscribe: (id, query, variables) => raw.send({ id, type: "subscribe", payload: { query, variables } }),
    close: () => socket.close(),
  };
  return raw;
}

/** Opens a socket and sends `connection_init` with `payload`; resolves with how the server closed it. */
export async function closeOf(
  url: string,
  payload?: Record<string, unknown>,
  options: { headers?: Record<string, string> } = {},
): Promise<Closed> {
  const socket = await openSocket(url, options);
  socket.send({ type: "connection_init", ...(payload ? { payload } : {}) });
  return await socket.closed;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
