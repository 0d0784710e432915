import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Server as ProtocolServer } from "graphql-ws";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import { isOriginAllowed } from "../graphql/origins.js";
import { GRAPHQL_PATH } from "../graphql/request-log.js";
import type { Metrics } from "../metrics.js";
import { KEEPALIVE_MS, WS_CLOSE } from "./close-codes.js";
import type { Connection, ConnectionRegistry } from "./connections.js";
import type { Extra } from "./protocol.js";

/** A message's text (UTF-8). ws hands a Buffer unless the socket's `binaryType` is changed, which nothing here does. */
export function messageText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString("utf8");
}

/** Answers a client's ping (`createPingAnswer`): a pong, after taking a fresh token when the ping carries one. */
export type PingAnswer = (
  connection: Connection,
  payload: Record<string, unknown> | undefined,
  send: (data: string) => Promise<void>,
) => Promise<void>;

/**
 * Binds one accepted socket to the protocol server: the keep-alive's pongs (the registry pings, see
 * `ConnectionRegistry.keepAlive`), the client's pings (a fresh token), message wiring (an unexpected error closes
 * with 4500 and is logged), the close bookkeeping and its log line.
 */
export function bindSocket(
  socket: WebSocket,
  request: IncomingMessage,
  protocol: ProtocolServer<Extra>,
  registry: ConnectionRegistry,
  logger: Logger | undefined,
  metrics: Metrics | undefined,
  answerPing: PingAnswer,
): void {
  const openedAt = Date.now();
  const connection: Connection = {
    id: flatId(),
    socket,
    request,
    address: request.socket.remoteAddress ?? "unknown",
    openedAt,
    principal: null,
    anonymous: false,
    deadline: Infinity,
    expiry: undefined,
    pingDue: openedAt + KEEPALIVE_MS,
    awaitingPong: false,
  };
  registry.all.add(connection);
  metrics?.wsConnections.inc();
  socket.on("error", (error) => {
    // Protocol errors of the client (a message over the size limit, bad framing): ws closes the socket itself.
    logger?.info(
      { event: "ws.socket_error", connectionId: connection.id, err: { type: error.name, message: error.message } },
      "websocket protocol error; closed",
    );
  });
  socket.on("pong", () => (connection.awaitingPong = false));
  const closed = protocol.opened(new ProtocolSocket(connection, registry, logger, answerPing), { connection });
  socket.once("close", (code) => {
    registry.release(connection);
    metrics?.wsConnections.dec();
    logger?.info(
      {
        event: "ws.closed",
        connectionId: connection.id,
        sub: connection.principal?.sub,
        kind: connection.principal?.kind ?? "ANONYMOUS",
        code,
        durationMs: Date.now() - connection.openedAt,
      },
      "websocket connection closed",
    );
    void closed(code, "");
  });
}

/**
 * The socket as graphql-ws's protocol server sees it. A class, not an object of closures: every idle connection
 * holds one.
 */
class ProtocolSocket {
  readonly protocol: string;

  constructor(
    private readonly connection: Connection,
    private readonly registry: ConnectionRegistry,
    private readonly logger: Logger | undefined,
    private readonly answerPing: PingAnswer,
  ) {
    this.protocol = connection.socket.protocol;
  }

  /** Sends one message; resolves once written (so a slow reader's events wait in its bounded queue, not here). */
  send(data: string): Promise<void> {
    const socket = this.connection.socket;
    return new Promise<void>((resolve, reject) => {
      if (socket.readyState !== socket.OPEN) return resolve();
      socket.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  // graphql-ws closes for protocol breaches (4400, 4401 subscribe before ack, 4406, 4408, 4409, 4429), with
  // fixed reasons; after our own refusal in onConnect it asks for 4403 too, which closeWith ignores (once only).
  close(code?: number, reason?: string): void {
    this.registry.closeWith(this.connection, { code: code ?? 1000, reason }, { event: "ws.protocol_close", reason });
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    const { connection, registry, logger } = this;
    // Not an async function awaiting `handle`: a `subscribe` message's handling lasts as long as the subscription,
    // and a suspended async function per subscription costs idle heap.
    connection.socket.on("message", (data) => {
      handle(messageText(data)).catch((error: unknown) => {
        logger?.error({ connectionId: connection.id, err: error }, "unexpected error while handling a websocket message");
        registry.closeWith(connection, WS_CLOSE.INTERNAL);
      });
    });
  }

  /** Our own pong: a ping may carry a fresh token, which is verified and never echoed back (token-refresh.ts). */
  onPing(payload: Record<string, unknown> | undefined): Promise<void> {
    return this.answerPing(this.connection, payload, (data) => this.send(data));
  }
}

/**
 * A random UUID as one flat string: `randomUUID()` builds its text by concatenation, a tree of about 20 string
 * pieces (some 600 bytes) that a connection would otherwise keep as long as it is open.
 */
function flatId(): string {
  return randomUUID().split("-").join("-");
}

/**
 * What the HTTP server's `upgrade` event decides before a socket exists: the path must be `/graphql` (else 404),
 * the server must not be closing (503), and a browser's `Origin` must be allowed by CORS_ORIGINS, the HTTP
 * transport's policy (else 403; a request without `Origin`, from a non-browser client, is allowed).
 * Returns the refusal's status line, or `null` to upgrade.
 */
export function upgradeRefusal(request: IncomingMessage, closing: boolean, corsOrigins: "*" | readonly string[]): string | null {
  const url = request.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (path !== GRAPHQL_PATH) return "404 Not Found";
  if (closing) return "503 Service Unavailable";
  if (!isOriginAllowed(corsOrigins, request.headers.origin)) return "403 Forbidden";
  return null;
}

/** Answers a refused upgrade on the raw socket and closes it. */
export function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
