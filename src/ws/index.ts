/** The WebSocket transport: a thin adapter between `ws` sockets and graphql-ws's protocol over the shared request pipeline. */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { handleProtocols } from "graphql-ws";
import { WebSocketServer, type WebSocket } from "ws";
import { createCredentialCheck, subscriberContext } from "../graphql/context-factory.js";
import { decisionAuditOf } from "../graphql/decision-records.js";
import type { ServerDependencies } from "../graphql/dependencies.js";
import { sharedEventLoaders } from "../graphql/event-loaders.js";
import type { OrderEventFeed } from "../graphql/order-events.js";
import { createSubscriptionStarter, hasPublicSubscription } from "../graphql/subscription-operation.js";
import { createSharedExecution } from "../graphql/subscription-sharing.js";
import { CLOSE_WAIT_MS, WS_CLOSE } from "./close-codes.js";
import { ConnectionRegistry, type Connection } from "./connections.js";
import type { EventExecution } from "./events.js";
import { createProtocolServer } from "./protocol.js";
import { bindSocket, refuseUpgrade, upgradeRefusal } from "./socket.js";
import { createPingAnswer } from "./token-refresh.js";

export { KEEPALIVE_MS, SUBSCRIPTION_LIMIT, WS_CLOSE } from "./close-codes.js";
export { credentialSourcesOfInit } from "./credentials.js";

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

/**
 * GraphQL subscriptions over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the HTTP server's
 * port and `/graphql` path. Per connection: the upgrade's origin (CORS_ORIGINS), the token from
 * `connection_init`'s payload through the shared credential check, the caps; closed when the token expires (plus
 * `AUTH_CLOCK_SKEW_SECONDS`) or is revoked. Per subscription: the shared subscription pipeline. Per event: a
 * context of its own and delivery only when the result has no error at all.
 *
 * graphql-ws's own `useServer` (`graphql-ws/use/ws`) is not used: it closes sockets itself (protocol breaches,
 * 1011 on an unexpected error) where this server must count and log every close with its code, it offers no
 * hook before the socket exists (the origin check answers the upgrade with 403), and its keep-alive does not drop
 * a peer that stops answering pings. This adapter is the same ~100 lines of wiring with those three differences.
 */
export function startSubscriptionServer(deps: ServerDependencies, httpServer: Server, orderEvents: OrderEventFeed): SubscriptionServer {
  const { config, logger, metrics } = deps;
  const registry = new ConnectionRegistry(config, deps.revocations, logger, metrics);
  const authenticate = createCredentialCheck(deps);
  // One read per event per replica: every subscriber's execution of an event shares its loaders (issue #24).
  const eventLoaders = sharedEventLoaders(deps.db);
  // A fresh token on an open socket: a client ping with Authorization (token-refresh.ts).
  const answerPing = createPingAnswer({
    authenticate,
    leewayMs: config.auth.clockSkewSeconds * 1000,
    logger,
    close: (connection, close, log) => registry.closeWith(connection as Connection, close, log),
    rescheduleExpiry: (connection) => registry.rescheduleExpiry(connection as Connection),
  });
  let closing = false;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.ws.maxMessageBytes,
    handleProtocols: (protocols) => handleProtocols(protocols),
  });
  const protocol = createProtocolServer({
    config,
    schema: deps.schema,
    registry,
    authenticate,
    startSubscription: createSubscriptionStarter(deps.schema, config, decisionAuditOf(deps)),
    anonymousUseful: hasPublicSubscription(deps.schema),
    contextFor: (connection, requestId, event) =>
      subscriberContext(deps, connection.principal, orderEvents, requestId, event === undefined ? undefined : eventLoaders(event)),
    closeIfLapsed: (connection) => registry.closeIfLapsed(connection),
    // Subscribers of an event with the same operation and the same decision share one execution (issue #24).
    sharedExecution: createSharedExecution<EventExecution>(),
    logger,
    metrics,
  });
  wss.on("connection", (socket: WebSocket, request: IncomingMessage) =>
    bindSocket(socket, request, protocol, registry, logger, metrics, answerPing),
  );
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = upgradeRefusal(request, closing, config.corsOrigins);
    if (refusal) {
      if (refusal.startsWith("403"))
        logger?.info(
          { event: "ws.origin_refused", origin: request.headers.origin },
          "websocket upgrade refused: origin not in CORS_ORIGINS",
        );
      return refuseUpgrade(socket, refusal);
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  httpServer.on("upgrade", onUpgrade);
  return {
    get connections() {
      return registry.all.size;
    },
    resync() {
      for (const connection of [...registry.all]) {
        registry.closeWith(connection, { code: 1012, reason: "Events may have been missed; reconnect" }, { event: "ws.resync" });
      }
    },
    async close() {
      closing = true;
      registry.stop();
      httpServer.off("upgrade", onUpgrade);
      for (const connection of [...registry.all]) registry.closeWith(connection, WS_CLOSE.SHUTDOWN);
      const deadline = Date.now() + CLOSE_WAIT_MS;
      while (registry.all.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const connection of registry.all) connection.socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * The WebSocket transport beside the HTTP server (when the database's notification hub is given): the order event
 * feed and the subscription server. After the hub reconnects (events may have been missed), every connection is
 * closed with 1012 so clients reconnect and re-read.
 */
export async function attachSubscriptions(
  deps: ServerDependencies,
  httpServer: Server,
): Promise<{ close(): Promise<void>; subscribers(): number } | null> {
  if (!deps.notifications) return null;
  const { createOrderEventFeed } = await import("../graphql/order-events.js");
  const orderEvents = await createOrderEventFeed(deps.notifications, deps.logger, {
    db: deps.db,
    retentionSeconds: deps.config.ws.eventRetentionSeconds,
  });
  const server = startSubscriptionServer(deps, httpServer, orderEvents);
  const stopResync = deps.notifications.onResync(() => {
    deps.logger?.warn({ event: "ws.resync" }, "notifications resumed after an interruption; closing subscriptions so clients re-read");
    server.resync();
  });
  return {
    subscribers: () => orderEvents.size,
    async close() {
      stopResync();
      await server.close();
      orderEvents.close();
    },
  };
}
