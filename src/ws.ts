import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from "graphql";
import { CloseCode, handleProtocols, makeServer } from "graphql-ws";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import { findDenials, RequestAuth, type AuthContext, type CredentialSources, type ErrorPosture, type Principal, type RevocationCheck } from "./auth/index.js";
import { operationDenied } from "./auth/errors.js";
import type { Config } from "./config.js";
import { isDatabaseUnavailable, type Db } from "./data/database.js";
import { createLoaders } from "./data/loaders.js";
import type { AppContext } from "./graphql/context.js";
import { createDocumentCache } from "./graphql/document-cache.js";
import { sharedEventLoaders } from "./graphql/event-loaders.js";
import type { OrderEventFeed } from "./graphql/order-events.js";
import { GRAPHQL_PATH } from "./http.js";
import { createPingAnswer } from "./ws-token-refresh.js";
import type { Metrics } from "./metrics.js";

/**
 * The close codes this server uses, with the fixed reasons it sends. A reason never carries a token, a claim or a
 * key id; a token refusal adds its reason code (`TOKEN_EXPIRED`, ...), which is no secret.
 */
export const WS_CLOSE = {
  /** Server shutting down (graceful): reconnect, to another replica. */
  SHUTDOWN: { code: 1001, reason: "Server shutting down; reconnect" },
  /** A message over `WS_MAX_MESSAGE_BYTES` (sent by the `ws` library, reason "Max payload size exceeded"). */
  MESSAGE_TOO_BIG: { code: 1009 },
  /** The key set cannot be fetched: retry later with the same token. */
  AUTH_UNAVAILABLE: { code: 1013, reason: "Authentication temporarily unavailable; retry later" },
  /** The connection_init payload's Authorization is malformed, or a token came in the URL or a cookie. */
  BAD_REQUEST: { code: CloseCode.BadRequest, reason: "Bad request" },
  /** The token is invalid; also when it expires or its session is revoked while connected. */
  UNAUTHORIZED: { code: CloseCode.Unauthorized, reason: "Invalid token" },
  TOKEN_EXPIRED: { code: CloseCode.Unauthorized, reason: "Token expired" },
  TOKEN_REVOKED: { code: CloseCode.Unauthorized, reason: "Token revoked" },
  /** `WS_MAX_CONNECTIONS_PER_SUBJECT` connections of this token's subject are already open on this replica. */
  TOO_MANY_CONNECTIONS: { code: CloseCode.Forbidden, reason: "Too many connections for this subject" },
  /** A bug on our side; the log has an error line with the connection id. */
  INTERNAL: { code: CloseCode.InternalServerError, reason: "Internal server error" },
} as const;

/** The `extensions.code` of a subscription refused because its connection has `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`. */
export const SUBSCRIPTION_LIMIT = "SUBSCRIPTION_LIMIT";
/** How often an idle socket is pinged; one that does not answer within the same time is dropped. */
export const KEEPALIVE_MS = 12_000;
/** How long shutdown waits for clients to answer the 1001 close before it drops their sockets. */
const CLOSE_WAIT_MS = 1000;

export interface SubscriptionServerOptions {
  readonly httpServer: Server;
  readonly schema: GraphQLSchema;
  readonly config: Config;
  /** The HTTP requests' authenticator (`createAuthenticator`): the same parsing, verifier, strictness and reasons. */
  readonly authenticate: (sources: CredentialSources) => Promise<AuthContext>;
  /** Revoked sessions: an open connection whose token becomes revoked is closed with 4401 "Token revoked". */
  readonly revocations?: RevocationCheck;
  readonly db: Db;
  readonly orderEvents: OrderEventFeed;
  /** Validation rules besides graphql-js's own (the HTTP server's limits: depth, aliases, directives). */
  readonly validationRules: readonly ValidationRule[];
  /** Formats an error for the client as the HTTP server's `formatError` does (production redaction). */
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export interface SubscriptionServer {
  /** Open connections (acknowledged or not). */
  readonly connections: number;
  /**
   * Stops taking upgrades and closes every socket with 1001 "Server shutting down; reconnect"; sockets that do
   * not finish the closing handshake within a second are dropped. Never throws.
   */
  close(): Promise<void>;
  /**
   * Closes every connection with 1012 "Events may have been missed; reconnect": for when this replica's
   * notifications were interrupted (the database connection came back), so clients re-read what they show.
   */
  resync(): void;
}

/** One WebSocket connection's state, beside graphql-ws's own. */
interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  /** The upgrade request, until `connection_init` has been handled (then dropped: idle heap). */
  request: IncomingMessage | null;
  readonly openedAt: number;
  principal: Principal | null;
  /** When the token stops being accepted (expiry plus the leeway), in milliseconds since the epoch. */
  deadline: number;
  expiry: NodeJS.Timeout | undefined;
}

type Extra = { connection: Connection };

/**
 * GraphQL subscriptions over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the HTTP server's
 * port and `/graphql` path. Per connection: the token from `connection_init`'s payload, verified once by the HTTP
 * authenticator; closed when it expires (plus `AUTH_CLOCK_SKEW_SECONDS`) or is revoked. Per subscription: the
 * server's validation limits and the whole-operation `@auth` check, then the field's event stream. Per event: a
 * context of its own (fresh loaders, the subscriber's principal), graphql-js execution, and delivery only when the
 * result has no error at all, so an event the rules refuse this subscriber is never sent, not even as an error.
 * Only subscription operations are served here; queries and mutations go over HTTP.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { config, schema, logger, metrics } = options;
  const posture: ErrorPosture = { explain: !config.production };
  const leewayMs = config.auth.clockSkewSeconds * 1000;
  const connections = new Set<Connection>();
  const bySubject = new Map<string, Set<Connection>>();
  // A subscription's event stream, opened in onSubscribe (where a failure can still be answered as an error
  // message) and picked up by graphql-ws's subscribe step, keyed by the subscription's context.
  const streams = new WeakMap<object, { stream: AsyncIterableIterator<unknown>; connection: Connection }>();
  let closing = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.ws.maxMessageBytes, handleProtocols: (protocols) => handleProtocols(protocols) });

  /** Closes a connection with one of WS_CLOSE's codes, once; counted and logged with who and why. */
  const closeWith = (connection: Connection, close: { code: number; reason?: string }, log?: { event: string; reason?: string }) => {
    const socket = connection.socket;
    if (socket.readyState !== socket.OPEN && socket.readyState !== socket.CONNECTING) return;
    socket.close(close.code, close.reason);
    metrics?.wsCloses.inc({ code: String(close.code) });
    if (log) logger?.info({ event: log.event, connectionId: connection.id, sub: connection.principal?.sub, code: close.code, reason: log.reason }, close.reason ?? "connection closed");
  };

  const tokenLapsed = (connection: Connection) => connection.principal !== null && Date.now() >= connection.deadline;
  const closeIfLapsed = (connection: Connection): boolean => {
    if (!connection.principal) return false;
    if (tokenLapsed(connection)) {
      closeWith(connection, WS_CLOSE.TOKEN_EXPIRED, { event: "ws.token_expired" });
      return true;
    }
    if (options.revocations?.isRevoked(connection.principal)) {
      closeWith(connection, WS_CLOSE.TOKEN_REVOKED, { event: "ws.token_revoked", reason: "TOKEN_REVOKED" });
      return true;
    }
    return false;
  };
  /** Closes the connection when its token lapses; a timer that fires early (timers and the wall clock differ) waits again. */
  const scheduleExpiry = (connection: Connection) => {
    connection.expiry = setTimeout(() => {
      if (!closeIfLapsed(connection) && connection.socket.readyState === connection.socket.OPEN) scheduleExpiry(connection);
    }, Math.max(0, connection.deadline - Date.now()) + 5);
  };
  // A fresh token on an open socket: a client ping with Authorization (issue #24, src/ws-token-refresh.ts).
  const answerPing = createPingAnswer({
    authenticate: options.authenticate,
    leewayMs,
    logger,
    close: (connection, close, log) => closeWith(connection as Connection, close, log),
    rescheduleExpiry: (connection) => {
      clearTimeout((connection as Connection).expiry);
      scheduleExpiry(connection as Connection);
    },
  });
  const stopRevocations = options.revocations?.onRevoked(() => {
    for (const connection of connections) if (connection.principal && options.revocations!.isRevoked(connection.principal)) closeIfLapsed(connection);
  });

  // One read per event per replica: every subscriber's execution of an event shares its loaders (issue #24).
  const eventLoaders = sharedEventLoaders(options.db);
  // One parsed document per distinct subscription text, shared by its subscribers (idle heap, issue #24).
  const parseDocument = createDocumentCache(config.limits.tokens);
  const contextFor = (connection: Connection, event?: unknown): AppContext => ({
    principal: connection.principal,
    auth: new RequestAuth(connection.principal, posture),
    db: options.db,
    loaders: event === undefined ? createLoaders(options.db) : eventLoaders(event),
    // Nothing served over WebSocket writes; the caller's email is never needed here.
    callerEmail: async () => null,
    // Nothing here runs in a transaction (subscriptions only read).
    afterCommit: (action) => action(),
    orderEvents: options.orderEvents,
  });

  /** Errors as the client receives them: no `extensions.http`, no stack, the HTTP server's production redaction. */
  const forClient = (errors: readonly GraphQLError[], requestId: string, operation?: string): GraphQLFormattedError[] =>
    errors.map((error) => {
      const original = error.originalError;
      if (original && !(original instanceof GraphQLError) && !isDatabaseUnavailable(original)) {
        logger?.error({ requestId, operation, path: error.path?.join("."), err: original }, "unexpected error");
      }
      const { http: _http, stacktrace: _stacktrace, ...extensions } = (error.extensions ?? {}) as Record<string, unknown>;
      // As Apollo does: an error without a code is an internal one (which production redacts).
      extensions.code ??= "INTERNAL_SERVER_ERROR";
      const formatted = options.formatError({ ...error.toJSON(), extensions }, error);
      return formatted.extensions?.code === "INTERNAL_SERVER_ERROR" ? { ...formatted, extensions: { ...formatted.extensions, requestId } } : formatted;
    });

  /** graphql-ws sends `error` messages made from GraphQLErrors: the formatted errors, rebuilt as such. */
  const clientErrors = (errors: readonly GraphQLError[], requestId: string, operation?: string): GraphQLError[] =>
    forClient(errors, requestId, operation).map((f) => new GraphQLError(f.message, { path: f.path, extensions: f.extensions }));

  const refuseSubscription = (connection: Connection, requestId: string, operation: string | undefined, reason: string, error: GraphQLError, extra: Record<string, unknown> = {}) => {
    logger?.info({ event: "ws.subscription_refused", requestId, connectionId: connection.id, operation, sub: connection.principal?.sub, reason, ...extra }, "subscription refused");
    return clientErrors([error], requestId, operation);
  };

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    schema,
    connectionInitWaitTimeout: config.ws.connectionInitTimeoutSeconds * 1000,
    onConnect: async (ctx) => {
      const { connection } = ctx.extra;
      let sources: CredentialSources;
      try {
        sources = credentialSourcesOfInit(connection.request!, ctx.connectionParams);
        connection.request = null;
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        refuseConnection(connection, "BAD_REQUEST", "AUTHORIZATION_MALFORMED");
        return false;
      }
      let principal: Principal | null;
      try {
        ({ principal } = await options.authenticate(sources));
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        const reason = (error.extensions?.auth as { reason?: string } | undefined)?.reason ?? "ERROR";
        metrics?.countAuthentication(reason);
        refuseConnection(connection, String(error.extensions?.code), reason);
        return false;
      }
      metrics?.countAuthentication(principal ? "VERIFIED" : "ANONYMOUS");
      if (principal) {
        const open = bySubject.get(principal.sub) ?? new Set<Connection>();
        if (open.size >= config.ws.maxConnectionsPerSubject) {
          connection.principal = principal;
          closeWith(connection, WS_CLOSE.TOO_MANY_CONNECTIONS, { event: "ws.connection_refused", reason: "TOO_MANY_CONNECTIONS" });
          connection.principal = null;
          return false;
        }
        open.add(connection);
        bySubject.set(principal.sub, open);
        connection.principal = principal;
        // The verifier accepted the token up to `exp` plus the leeway; so does the connection.
        connection.deadline = principal.expiresAt.getTime() + leewayMs;
        scheduleExpiry(connection);
      }
      logger?.info({ event: "ws.connected", connectionId: connection.id, sub: principal?.sub, kind: principal?.kind ?? "ANONYMOUS" }, "websocket connection acknowledged");
      return true;
    },
    onSubscribe: async (ctx, _id, payload) => {
      const { connection } = ctx.extra;
      const requestId = randomUUID();
      const operation = payload.operationName ?? undefined;
      if (closeIfLapsed(connection)) return [new GraphQLError("The connection's token is no longer valid.")];
      const open = Object.keys(ctx.subscriptions).length;
      if (open > config.ws.maxSubscriptionsPerConnection) {
        const limit = config.ws.maxSubscriptionsPerConnection;
        const error = new GraphQLError(`Too many subscriptions on this connection (at most ${limit}); complete one first.`, { extensions: { code: SUBSCRIPTION_LIMIT } });
        return refuseSubscription(connection, requestId, operation, SUBSCRIPTION_LIMIT, error, { limit });
      }
      let document: DocumentNode;
      try {
        document = parseDocument(payload.query);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        return clientErrors([withCode(error, "GRAPHQL_PARSE_FAILED")], requestId, operation);
      }
      const invalid = validate(schema, document, [...specifiedRules, ...options.validationRules]);
      if (invalid.length > 0) return clientErrors(invalid.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED")), requestId, operation);
      const definition = getOperationAST(document, payload.operationName);
      if (!definition) return clientErrors([withCode(new GraphQLError("The document has no operation of that name, or several and no operationName."), "BAD_REQUEST")], requestId);
      if (definition.operation !== "subscription") {
        return clientErrors([withCode(new GraphQLError("Only subscriptions are served over WebSocket; send queries and mutations with HTTP POST to /graphql."), "BAD_REQUEST")], requestId);
      }
      const contextValue = contextFor(connection);
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
      // The whole-operation check, as for a mutation: a subscription with any denied field is refused whole.
      const denials = findDenials(schema, definition, fragments, payload.variables ?? {}, contextValue.auth);
      if (denials.length > 0) {
        const error = operationDenied(connection.principal === null, denials, posture);
        const reason = connection.principal === null ? "AUTHENTICATION_REQUIRED" : "INSUFFICIENT_PERMISSION";
        return refuseSubscription(connection, requestId, operation ?? definition.name?.value, reason, error, {
          coordinates: denials.map((d) => d.coordinate),
        });
      }
      const args: ExecutionArgs = { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      const stream = await createSourceEventStream(args);
      if (!isAsyncIterator(stream)) {
        const errors = (stream as ExecutionResult).errors ?? [new GraphQLError("The subscription could not be started.")];
        return clientErrors(errors, requestId, operation);
      }
      streams.set(contextValue, { stream, connection });
      return args;
    },
    subscribe: (args) => {
      const opened = streams.get(args.contextValue as object);
      streams.delete(args.contextValue as object);
      if (!opened) throw new Error("subscribe called without a stream opened by onSubscribe");
      return eventResults(opened.stream, args, opened.connection);
    },
  });

  function refuseConnection(connection: Connection, code: string, reason: string): void {
    const close = code === "BAD_REQUEST" ? WS_CLOSE.BAD_REQUEST : code === "AUTH_UNAVAILABLE" ? WS_CLOSE.AUTH_UNAVAILABLE : code === "UNAUTHENTICATED" ? unauthorized(reason) : WS_CLOSE.INTERNAL;
    closeWith(connection, close, { event: "ws.connection_refused", reason });
  }

  /**
   * The subscription's results: each source event executed with a context of its own, delivered only without
   * errors. `return()` stops the source at once (a waiting `next()` ends).
   */
  function eventResults(source: AsyncIterableIterator<unknown>, args: ExecutionArgs, connection: Connection): AsyncGenerator<ExecutionResult> {
    metrics?.wsSubscriptions.inc();
    let finished = false;
    const finish = async () => {
      if (finished) return;
      finished = true;
      metrics?.wsSubscriptions.dec();
      await source.return?.();
    };
    const operation = args.operationName ?? undefined;
    const results: AsyncGenerator<ExecutionResult> = {
      async next(): Promise<IteratorResult<ExecutionResult>> {
        while (!finished) {
          const event = await source.next();
          if (event.done || finished) break;
          if (closeIfLapsed(connection)) break;
          const requestId = randomUUID();
          const contextValue = contextFor(connection, event.value);
          let result: ExecutionResult;
          try {
            result = await execute({ ...args, rootValue: event.value, contextValue });
          } catch (error) {
            logger?.error({ requestId, connectionId: connection.id, operation, err: error }, "unexpected error while executing a subscription event");
            metrics?.wsEvents.inc({ outcome: "failed" });
            continue;
          }
          if (finished) break;
          if (!result.errors || result.errors.length === 0) {
            metrics?.wsEvents.inc({ outcome: "delivered" });
            return { value: result, done: false };
          }
          withhold(result.errors, requestId, connection, operation);
        }
        await finish();
        return { value: undefined, done: true };
      },
      async return(): Promise<IteratorResult<ExecutionResult>> {
        await finish();
        return { value: undefined, done: true };
      },
      async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
        await finish();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return results;
      },
      async [Symbol.asyncDispose]() {
        await finish();
      },
    };
    return results;
  }

  /**
   * An event whose execution met any error is not sent. A refusal by the rules (the order is not the
   * subscriber's) is expected and logged at debug; the database being down is a warning; anything else is a bug,
   * logged at error level with an id.
   */
  function withhold(errors: readonly GraphQLError[], requestId: string, connection: Connection, operation: string | undefined): void {
    const denied = errors.filter((e) => e.extensions?.code === "FORBIDDEN" || e.extensions?.code === "UNAUTHENTICATED");
    if (denied.length === errors.length) {
      metrics?.wsEvents.inc({ outcome: "withheld" });
      logger?.debug({ event: "ws.event_withheld", requestId, connectionId: connection.id, operation, sub: connection.principal?.sub, paths: denied.map((e) => e.path?.join(".")) }, "event withheld: the subscriber may not see it");
      return;
    }
    metrics?.wsEvents.inc({ outcome: "failed" });
    const unavailable = errors.find((e) => isDatabaseUnavailable(e.originalError ?? e));
    if (unavailable) {
      logger?.warn({ event: "db.unavailable", requestId, connectionId: connection.id, operation }, "database unavailable; a subscription event was not delivered");
      return;
    }
    for (const error of errors) {
      if (error.extensions?.code === "FORBIDDEN" || error.extensions?.code === "UNAUTHENTICATED") continue;
      logger?.error({ requestId, connectionId: connection.id, operation, path: error.path?.join("."), err: error.originalError ?? error }, "unexpected error in a subscription event; not delivered");
    }
  }

  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const connection: Connection = { id: randomUUID(), socket, request, openedAt: Date.now(), principal: null, deadline: Infinity, expiry: undefined };
    connections.add(connection);
    metrics?.wsConnections.inc();
    socket.on("error", (error) => {
      // Protocol errors of the client (a message over the size limit, bad framing): ws closes the socket itself.
      logger?.info({ event: "ws.socket_error", connectionId: connection.id, err: { type: error.name, message: error.message } }, "websocket protocol error; closed");
    });
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), KEEPALIVE_MS);
      socket.once("pong", () => clearTimeout(pongWait));
      socket.ping();
    }, KEEPALIVE_MS);
    const send = (data: string) =>
      new Promise<void>((resolve, reject) => {
        if (socket.readyState !== socket.OPEN) return resolve();
        socket.send(data, (error) => (error ? reject(error) : resolve()));
      });
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        // Our own pong: a ping may carry a fresh token, which is verified and never echoed back.
        onPing: (payload) => answerPing(connection, payload, send),
        // graphql-ws closes for protocol breaches (4400, 4401 subscribe before ack, 4406, 4408, 4409, 4429), with
        // fixed reasons; after our own refusal in onConnect it asks for 4403 too, which closeWith ignores (once only).
        close: (code, reason) => closeWith(connection, { code: code ?? 1000, reason }, { event: "ws.protocol_close", reason }),
        onMessage: (handle) =>
          socket.on("message", async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              logger?.error({ connectionId: connection.id, err: error }, "unexpected error while handling a websocket message");
              closeWith(connection, WS_CLOSE.INTERNAL);
            }
          }),
      },
      { connection },
    );
    socket.once("close", (code) => {
      clearInterval(ping);
      clearTimeout(pongWait);
      clearTimeout(connection.expiry);
      connections.delete(connection);
      metrics?.wsConnections.dec();
      if (connection.principal) {
        const open = bySubject.get(connection.principal.sub);
        open?.delete(connection);
        if (open?.size === 0) bySubject.delete(connection.principal.sub);
      }
      logger?.info(
        { event: "ws.closed", connectionId: connection.id, sub: connection.principal?.sub, kind: connection.principal?.kind ?? (connection.principal === null ? "ANONYMOUS" : undefined), code, durationMs: Date.now() - connection.openedAt },
        "websocket connection closed",
      );
      void closed(code, "");
    });
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = request.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== GRAPHQL_PATH || closing) {
      const status = closing ? "503 Service Unavailable" : "404 Not Found";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  options.httpServer.on("upgrade", onUpgrade);

  return {
    get connections() {
      return connections.size;
    },
    resync() {
      for (const connection of [...connections]) {
        closeWith(connection, { code: 1012, reason: "Events may have been missed; reconnect" }, { event: "ws.resync" });
      }
    },
    async close() {
      closing = true;
      stopRevocations?.();
      options.httpServer.off("upgrade", onUpgrade);
      const open = [...connections];
      for (const connection of open) closeWith(connection, WS_CLOSE.SHUTDOWN);
      const deadline = Date.now() + CLOSE_WAIT_MS;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const connection of connections) connection.socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };

  function unauthorized(reason: string) {
    return { code: WS_CLOSE.UNAUTHORIZED.code, reason: `${WS_CLOSE.UNAUTHORIZED.reason}: ${reason}` };
  }
}

/**
 * The credential sources of a WebSocket connection: the `Authorization` entry of `connection_init`'s payload (any
 * letter case, as HTTP header names) and any Authorization header of the upgrade request (several are refused
 * like repeated headers), the upgrade URL's query string and its Cookie header (a token there is refused, as over
 * HTTP). Throws a GraphQLError when the payload's value is not a string.
 */
export function credentialSourcesOfInit(request: IncomingMessage, payload: Readonly<Record<string, unknown>> | undefined): CredentialSources {
  const authorization: string[] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === "authorization") authorization.push(raw[i + 1]!);
  for (const [name, value] of Object.entries(payload ?? {})) {
    if (name.toLowerCase() !== "authorization") continue;
    if (typeof value !== "string") throw new GraphQLError("connection_init's Authorization must be a string");
    authorization.push(value);
  }
  const url = request.url ?? "";
  const q = url.indexOf("?");
  return { authorization, search: q === -1 ? "" : url.slice(q + 1), cookie: request.headers.cookie };
}

const isAsyncIterator = (value: unknown): value is AsyncIterableIterator<unknown> =>
  typeof value === "object" && value !== null && typeof (value as AsyncIterator<unknown>).next === "function" && Symbol.asyncIterator in value;

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions: { ...error.extensions, code } });
}
