import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApolloServer } from "@apollo/server";
import { credentialSourcesFromNode } from "../auth/index.js";
import { devTokenEndpoint } from "../dev/tokens.js";
import type { AppContext } from "../graphql/context.js";
import { createContextFactory } from "../graphql/context-factory.js";
import type { ServerDependencies } from "../graphql/dependencies.js";
import { createRequestLog, GRAPHQL_PATH } from "../graphql/request-log.js";
import { createHttpHandler } from "./handler.js";
import type { LoadShedder } from "./shed.js";
import { listenForMetrics, urlHost } from "./metrics-listener.js";

/** After `abortInFlight`, how long requests get to send their (503) answers before their connections are closed. */
export const ABORT_GRACE_MS = 2500;

export interface RunningServer {
  readonly url: string;
  readonly httpServer: Server;
  /** `http://host:port/metrics` of the metrics listener (METRICS_PORT), when there is one. */
  readonly metricsUrl: string | null;
  /** Subscriptions now receiving events over WebSocket (0 without the WebSocket transport). */
  subscribers(): number;
  close(): Promise<void>;
}

/** Something served beside HTTP on the same listener (the WebSocket transport), closed before HTTP drains. */
export interface Attachment {
  close(): Promise<void>;
  /** Subscriptions now receiving events. */
  subscribers(): number;
}

/**
 * Serves `apollo` over HTTP on `config.http` (with `/healthz`, `/readyz`, `/metrics`, CORS and the dev token
 * endpoint), plus the metrics listener when METRICS_PORT is set; `attach` adds what shares the listener (the
 * WebSocket transport); `shedder` answers 503 at once for `/graphql` while the replica is saturated. Apollo must be
 * started; the verifier hydrated.
 */
export async function startHttpServer(
  deps: ServerDependencies,
  apollo: ApolloServer<AppContext>,
  attach?: (httpServer: Server) => Promise<Attachment | null>,
  shedder?: LoadShedder,
): Promise<RunningServer> {
  const contextFor = createContextFactory(deps);
  let draining = false;
  const exposition =
    deps.metrics && (async () => ({ contentType: deps.metrics!.registry.contentType, body: await deps.metrics!.registry.metrics() }));
  const handler = createHttpHandler<AppContext>({
    apollo,
    context: (req, requestId) => contextFor(credentialSourcesFromNode(req), requestId),
    readiness: async () => {
      const checks: Record<string, boolean> = { serving: !draining, keys: deps.verifier.keysLoaded() };
      for (const [name, check] of Object.entries(deps.readinessChecks ?? {})) checks[name] = await check().catch(() => false);
      return { ready: Object.values(checks).every(Boolean), checks };
    },
    // Production serves /metrics only on the metrics listener below; dev keeps it on the API port too.
    metrics: deps.config.production ? undefined : exposition,
    onExchange: createRequestLog(deps.logger, deps.metrics),
    corsOrigins: deps.config.corsOrigins,
    // Only the dev issuer mints; with a configured pool or in production there is no such endpoint (404).
    devToken: deps.devIssuer && deps.config.mode === "dev" && !deps.config.production ? devTokenEndpoint(deps.devIssuer) : undefined,
    admit: shedder?.admit,
  });
  const httpServer = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(deps.config.http.port, deps.config.http.host, () => resolve());
  });
  const attached = (await attach?.(httpServer)) ?? null;
  const metricsServer = exposition && deps.config.metrics.port !== null ? await listenForMetrics(deps.config.metrics, exposition) : null;
  const metricsUrl =
    metricsServer && `http://${urlHost(deps.config.metrics.host)}:${(metricsServer.address() as AddressInfo).port}/metrics`;
  if (metricsUrl) deps.logger?.info({ metricsUrl }, "metrics listening");
  else if (exposition && deps.config.production)
    deps.logger?.info("metrics not served: set METRICS_PORT to serve /metrics on a listener of its own");
  const { port } = httpServer.address() as AddressInfo;
  const host = deps.config.http.host === "0.0.0.0" ? "localhost" : deps.config.http.host;
  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    httpServer,
    metricsUrl,
    subscribers: () => attached?.subscribers() ?? 0,
    /**
     * Stops accepting, lets in-flight requests finish (a mutation completes) for up to `shutdownTimeoutMs`, then
     * makes blocked work fail (`abortInFlight`, its clients get 503), gives the answers `ABORT_GRACE_MS` to go out
     * and closes whatever connection is left. Returns within `shutdownTimeoutMs + ABORT_GRACE_MS + ~2 s`.
     */
    async close() {
      draining = true;
      // WebSocket clients are told first (1001, reconnect): an upgraded socket would otherwise hold the HTTP server open.
      await attached?.close();
      await drain(httpServer, deps);
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      }
      await apollo.stop();
    },
  };
}

/** Closes `httpServer` within the shutdown bound (see `RunningServer.close`). */
async function drain(httpServer: Server, deps: ServerDependencies): Promise<void> {
  const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
  // A keep-alive connection becomes idle when its answer is sent; closing those as they appear lets the
  // server stop as soon as the last request is answered.
  httpServer.closeIdleConnections();
  const sweep = setInterval(() => httpServer.closeIdleConnections(), 100);
  let grace: NodeJS.Timeout | undefined;
  const timeout = setTimeout(() => {
    grace = setTimeout(() => httpServer.closeAllConnections(), ABORT_GRACE_MS);
    void deps.abortInFlight?.().catch(() => undefined);
  }, deps.shutdownTimeoutMs ?? 10_000);
  await closed;
  clearInterval(sweep);
  clearTimeout(timeout);
  clearTimeout(grace);
}
