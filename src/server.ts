import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDisableSuggestions } from "@apollo/server/plugin/disableSuggestions";
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { unwrapResolverError } from "@apollo/server/errors";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from "graphql";
import type { Logger } from "pino";
import {
  AuthError,
  createAuthenticator,
  credentialSourcesFromNode,
  operationCheckPlugin,
  readBearerToken,
  RETRY_AFTER_SECONDS,
  serviceUnavailableError,
  serviceUnavailableFormatted,
  type CredentialSources,
  type DevIssuer,
  type RevocationCheck,
  type TokenVerifier,
  type VerifiedEmailLookup,
} from "./auth/index.js";
import { boundsReportingPlugin, reportDatabaseBound } from "./bounds-reporting.js";
import type { Config } from "./config.js";
import { isDatabaseUnavailable, type Db } from "./data/database.js";
import type { NotificationHub } from "./data/notifications.js";
import { InvalidInputError } from "./data/errors.js";
import { DEFAULT_PAGE_SIZE } from "./data/pagination.js";
import { createLoaders } from "./data/loaders.js";
import { PERSONAS } from "./dev/personas.js";
import { devTokenEndpoint } from "./dev/tokens.js";
import type { AppContext } from "./graphql/context.js";
import { costLimitPlugin } from "./graphql/cost.js";
import { inputTextPlugin } from "./graphql/input-values.js";
import { operationTransactionPlugin } from "./graphql/operation-transaction.js";
import { RemoteCalls } from "./graphql/remote-calls.js";
import { auditPlugin } from "./graphql/plugins/audit.js";
import { createHttpHandler, createMetricsHandler, GRAPHQL_PATH, noteOperationName, requestIdOf, type Exchange } from "./http.js";
import type { LoadShedder } from "./http-shed.js";
import type { Metrics } from "./metrics.js";
import type { Revoker } from "./revocations/revoker.js";
import type { SubscriptionServer } from "./ws.js";

export interface ServerDependencies {
  readonly config: Config;
  readonly schema: GraphQLSchema;
  readonly verifier: TokenVerifier;
  /** Revoked sessions: a verified token they match is refused with 401 `TOKEN_REVOKED`. Absent: none. */
  readonly revocations?: RevocationCheck;
  /** Records revocations (the revocation mutations); absent, those mutations answer an internal error. */
  readonly revoker?: Revoker;
  readonly db: Db;
  /**
   * The database's LISTEN/NOTIFY hub (`OpenDatabase.notifications()`): subscriptions over WebSocket receive every
   * replica's order events through it. Absent: no WebSocket transport.
   */
  readonly notifications?: NotificationHub;
  /** The caller's verified email for `placeOrder` (`setUpAuth`'s); without it, no email is recorded. */
  readonly emailLookup?: VerifiedEmailLookup;
  /** Dev mode only: mints the token that Sandbox starts with. */
  readonly devIssuer?: DevIssuer | null;
  /** Request log and audit log of refusals; nothing is logged without it. Tokens are never logged. */
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Extra `/readyz` checks (the database), besides loaded keys and not draining. */
  readonly readinessChecks?: Readonly<Record<string, () => Promise<boolean>>>;
  /** How long shutdown waits for in-flight requests before closing their connections. Default 10 s. */
  readonly shutdownTimeoutMs?: number;
  /**
   * Called when shutdown's wait for in-flight requests runs out (the database's `abortActive`): work still
   * blocked (a transaction waiting on a lock) is made to fail, so its request is answered 503 within
   * `ABORT_GRACE_MS` instead of being cut off without an answer.
   */
  readonly abortInFlight?: () => Promise<void>;
  /** Load shedding of `/graphql` (src/http-shed.ts); absent: every request is admitted. */
  readonly shedder?: LoadShedder;
}

/** After `abortInFlight`, how long requests get to send their (503) answers before their connections are closed. */
export const ABORT_GRACE_MS = 2500;

export interface RunningServer {
  readonly url: string;
  readonly httpServer: Server;
  /** `http://host:port/metrics` of the metrics listener (METRICS_PORT), when there is one. */
  readonly metricsUrl: string | null;
  close(): Promise<void>;
}

/** Where an Apollo Server answers: the node:http server (subscriptions over WebSocket beside it) or a Lambda handler. */
export type Transport = "http" | "lambda";

/**
 * The limits on what one operation may ask for (depth, aliases, directives), as GraphQL Armor's validation rules
 * and Apollo plugins; the WebSocket transport validates subscriptions with the same rules.
 */
function operationLimits(config: Config) {
  return new ApolloArmor({
    maxDepth: { n: config.limits.depth },
    maxAliases: { n: config.limits.aliases },
    maxDirectives: { n: config.limits.directives },
    // Tokens are limited by graphql-js's own parser (parseOptions below): Armor's check answers 500, not 400.
    maxTokens: { enabled: false },
    // Armor costs literal page sizes only; costLimitPlugin costs the operation with its variables and defaults.
    costLimit: { enabled: false },
    // Suggestions are hidden by Apollo's own plugin in production and useful in dev.
    blockFieldSuggestion: { enabled: false },
  }).protect();
}

/**
 * The Apollo Server of the product: schema, auth plugins, and the production posture of DESIGN.md. `transport`
 * only changes what a subscription operation sent over HTTP is told (default `http`).
 */
export function createApolloServer(deps: ServerDependencies, transport: Transport = "http"): ApolloServer<AppContext> {
  const { config } = deps;
  const plugins: ApolloServerPlugin<AppContext>[] = [
    operationCheckPlugin({ rejectPartial: config.auth.rejectPartial }),
    inputTextPlugin(),
    // After the operation check: a mutation refused before execution never opens a transaction.
    operationTransactionPlugin({ logger: deps.logger, onUnavailable: (error, request) => reportDatabaseBound(deps, error, request) }),
    boundsReportingPlugin(deps),
    // After the transaction: it sees the errors of a failed commit too.
    errorsPlugin(deps.logger),
    auditPlugin({ mode: config.auth.audit, logger: deps.logger, metrics: deps.metrics }),
    // Cache hints are not used by this product and cost time on every resolved field.
    ApolloServerPluginCacheControlDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
    landingPage(config, deps.devIssuer),
  ];
  if (config.production) plugins.push(ApolloServerPluginDisableSuggestions());
  // Limits on what one operation may ask for, refused (400) before any resolver runs.
  const armor = operationLimits(config);
  plugins.push(...(armor.plugins as ApolloServerPlugin<AppContext>[]));
  plugins.push(costLimitPlugin({ maxCost: config.limits.cost, defaultPageSize: DEFAULT_PAGE_SIZE }));
  return new ApolloServer<AppContext>({
    schema: deps.schema,
    validationRules: [...armor.validationRules, transport === "lambda" ? NO_SUBSCRIPTIONS_ON_LAMBDA : SUBSCRIPTIONS_OVER_WEBSOCKET],
    parseOptions: { maxTokens: config.limits.tokens },
    allowBatchedHttpRequests: false,
    // Automatic persisted queries are not offered: clients send the query text.
    persistedQueries: false,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: !config.production,
    plugins,
    // main.ts owns shutdown: drain HTTP first, then stop Apollo, then exit 0.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatError(formatted, error, config.production),
  });
}

/**
 * Subscriptions are served over WebSocket only: a subscription operation sent over HTTP (or to a Lambda handler)
 * is refused in validation (400 `GRAPHQL_VALIDATION_FAILED`) with a message saying where to go. Without this rule
 * graphql-js would let it through and Apollo would fail it in execution.
 */
function refuseSubscriptions(message: string): ValidationRule {
  return (context) => ({
    OperationDefinition(node) {
      if (node.operation === "subscription") context.reportError(new GraphQLError(message, { nodes: node }));
    },
  });
}
export const SUBSCRIPTIONS_OVER_WEBSOCKET_MESSAGE =
  "Subscriptions are served over WebSocket only: connect to /graphql with the graphql-transport-ws protocol (graphql-ws).";
export const NO_SUBSCRIPTIONS_ON_LAMBDA_MESSAGE =
  "Subscriptions are not offered on the Lambda handlers; use the HTTP server's WebSocket transport, API Gateway WebSocket APIs or AWS AppSync.";
const SUBSCRIPTIONS_OVER_WEBSOCKET = refuseSubscriptions(SUBSCRIPTIONS_OVER_WEBSOCKET_MESSAGE);
const NO_SUBSCRIPTIONS_ON_LAMBDA = refuseSubscriptions(NO_SUBSCRIPTIONS_ON_LAMBDA_MESSAGE);

/**
 * The per-request context, whatever the transport (HTTP server or Lambda): one token verification, then this
 * request's batch loaders over the shared database. Refused tokens are logged (audit) and counted.
 */
export function createContextFactory(deps: ServerDependencies): (sources: CredentialSources, requestId?: string) => Promise<AppContext> {
  const authenticate = createAuthenticator({ verifier: deps.verifier, revocations: deps.revocations, posture: { explain: !deps.config.production } });
  return async (sources, requestId) => {
    let auth;
    try {
      auth = await authenticate(sources);
    } catch (error) {
      const reason = (error as GraphQLError).extensions?.auth as { reason?: string } | undefined;
      deps.metrics?.countAuthentication(reason?.reason ?? "ERROR");
      deps.logger?.info({ event: "auth.refused", requestId, reason: reason?.reason }, "request refused before execution");
      throw error;
    }
    deps.metrics?.countAuthentication(auth.principal ? "VERIFIED" : "ANONYMOUS");
    const { principal } = auth;
    // The token is read again only when a resolver asks (placeOrder), so it never sits in the context.
    // A remote call, once per request (RemoteCalls), made before a mutation's transaction opens (remote-steps.ts).
    const remote = new RemoteCalls();
    const callerEmail = () =>
      remote.call("callerEmail", async () =>
        principal && deps.emailLookup
          ? deps.emailLookup(principal, readBearerToken(sources)!, (error) =>
              deps.logger?.warn({ event: "email.lookup_failed", requestId, sub: principal.sub, error: (error as Error)?.name }, "caller's email lookup failed"),
            )
          : null,
      );
    try {
      return { ...auth, db: deps.db, loaders: createLoaders(deps.db), callerEmail, remote, afterCommit: runNow, revoker: deps.revoker, requestId };
    } catch (error) {
      // Apollo answers a failed context with 500 and runs no plugin: this is the one place to see and map it.
      throw contextError(error, deps.logger, requestId);
    }
  };
}

const runNow = (action: () => void) => action();

/** A failure while building the context: the database being down becomes 503; anything else is logged and rethrown. */
function contextError(error: unknown, logger: Logger | undefined, requestId: string | undefined): unknown {
  if (error instanceof GraphQLError || error instanceof AuthError) return error;
  if (isDatabaseUnavailable(error)) {
    logger?.warn({ event: "db.unavailable", requestId, err: errorSummary(error) }, "database unavailable; answered 503");
    return serviceUnavailableError();
  }
  logger?.error({ requestId, err: error }, "unexpected error while building the request context");
  return error;
}

/** Starts Apollo and the HTTP server; the verifier must already be hydrated. */
export async function startServer(deps: ServerDependencies): Promise<RunningServer> {
  const apollo = createApolloServer(deps);
  await apollo.start();
  const contextFor = createContextFactory(deps);
  let draining = false;
  const exposition = deps.metrics && (async () => ({ contentType: deps.metrics!.registry.contentType, body: await deps.metrics!.registry.metrics() }));
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
    onExchange: (exchange) => recordExchange(deps, exchange),
    corsOrigins: deps.config.corsOrigins,
    // Only the dev issuer mints; with a configured pool or in production there is no such endpoint (404).
    devToken: deps.devIssuer && deps.config.mode === "dev" && !deps.config.production ? devTokenEndpoint(deps.devIssuer) : undefined,
    admit: deps.shedder?.admit,
  });
  const httpServer = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(deps.config.http.port, deps.config.http.host, () => resolve());
  });
  const subscriptions = await startSubscriptions(deps, httpServer);
  const metricsServer = exposition && deps.config.metrics.port !== null ? await listenForMetrics(deps.config.metrics, exposition) : null;
  const metricsUrl = metricsServer && `http://${urlHost(deps.config.metrics.host)}:${(metricsServer.address() as AddressInfo).port}/metrics`;
  if (metricsUrl) deps.logger?.info({ metricsUrl }, "metrics listening");
  else if (exposition && deps.config.production) deps.logger?.info("metrics not served: set METRICS_PORT to serve /metrics on a listener of its own");
  const { port } = httpServer.address() as AddressInfo;
  const host = deps.config.http.host === "0.0.0.0" ? "localhost" : deps.config.http.host;
  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    httpServer,
    metricsUrl,
    /**
     * Stops accepting, lets in-flight requests finish (a mutation completes) for up to `shutdownTimeoutMs`, then
     * makes blocked work fail (`abortInFlight`, its clients get 503), gives the answers `ABORT_GRACE_MS` to go out
     * and closes whatever connection is left. Returns within `shutdownTimeoutMs + ABORT_GRACE_MS + ~2 s`.
     */
    async close() {
      draining = true;
      // WebSocket clients are told first (1001, reconnect): an upgraded socket would otherwise hold the HTTP server open.
      await subscriptions?.close();
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
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      }
      await apollo.stop();
    },
  };
}

/**
 * The WebSocket transport beside the HTTP server (when the database's notification hub is given): the order event
 * feed, the same authenticator, limits and error formatting as HTTP. After the hub reconnects (events may have
 * been missed), every connection is closed with 1012 so clients reconnect and re-read.
 */
async function startSubscriptions(deps: ServerDependencies, httpServer: Server): Promise<{ close(): Promise<void> } | null> {
  if (!deps.notifications) return null;
  // Loaded here, not at import: the Lambda handlers share this module and never serve WebSocket.
  const [{ createOrderEventFeed }, { startSubscriptionServer }] = await Promise.all([import("./graphql/order-events.js"), import("./ws.js")]);
  const orderEvents = await createOrderEventFeed(deps.notifications, deps.logger, { db: deps.db, retentionSeconds: deps.config.ws.eventRetentionSeconds });
  const server: SubscriptionServer = startSubscriptionServer({
    httpServer,
    schema: deps.schema,
    config: deps.config,
    authenticate: createAuthenticator({ verifier: deps.verifier, revocations: deps.revocations, posture: { explain: !deps.config.production } }),
    revocations: deps.revocations,
    db: deps.db,
    orderEvents,
    validationRules: operationLimits(deps.config).validationRules,
    formatError: (formatted, error) => formatError(formatted, error, deps.config.production),
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const stopResync = deps.notifications.onResync(() => {
    deps.logger?.warn({ event: "ws.resync" }, "notifications resumed after an interruption; closing subscriptions so clients re-read");
    server.resync();
  });
  return {
    async close() {
      stopResync();
      await server.close();
      orderEvents.close();
    },
  };
}

/** The metrics listener (METRICS_PORT on METRICS_HOST): /metrics only, apart from the API's port. */
async function listenForMetrics(
  listener: Config["metrics"],
  exposition: () => Promise<{ contentType: string; body: string }>,
): Promise<Server> {
  const handler = createMetricsHandler(exposition);
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listener.port!, listener.host, () => resolve());
  });
  return server;
}

const urlHost = (host: string) => (host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host);

/** One log line and the request metrics per answered request: who, what, outcome, how long. Never a token. */
function recordExchange(deps: ServerDependencies, exchange: Exchange<AppContext>): void {
  const durationMs = Math.round(exchange.durationMs * 10) / 10;
  if (exchange.path !== GRAPHQL_PATH) {
    // Probes and scrapes come every few seconds: at debug so they do not drown the request log.
    const level = OPERATOR_PATHS.has(exchange.path) ? "debug" : "info";
    deps.logger?.[level]({ method: exchange.method, path: exchange.path, status: exchange.status, durationMs }, "request");
    return;
  }
  const principal = exchange.context?.principal;
  if (deps.metrics) {
    const operation = deps.metrics.operationLabel(exchange.operationName);
    deps.metrics.countRequest(operation, exchange.status);
    deps.metrics.duration.observe({ operation }, exchange.durationMs / 1000);
  }
  deps.logger?.info(
    {
      requestId: exchange.requestId,
      method: exchange.method,
      path: exchange.path,
      operation: exchange.operationName,
      sub: principal?.sub,
      kind: principal?.kind ?? (exchange.context ? "ANONYMOUS" : undefined),
      status: exchange.status,
      durationMs,
    },
    "request",
  );
}

const OPERATOR_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * What a request's errors mean for operators and for the answer:
 * - an unexpected error (a bug, a renamed table) is logged once at error level with the request id, operation,
 *   class, message and stack; the client gets the fixed message and the request id to quote;
 * - the database being unreachable is logged as a warning and answered 503 `SERVICE_UNAVAILABLE` with
 *   `Retry-After` and `data: null` (the operation did nothing that committed);
 * - each denial by the rules gets an audit line with the request id, the caller's sub and jti;
 * - each row a lookup answered as absent because the caller may not see it gets an `auth.concealed` line: the
 *   client cannot tell it from an id that matches nothing, an operator can.
 * Nothing here logs a header or a token.
 */
function errorsPlugin(logger: Logger | undefined): ApolloServerPlugin<AppContext> {
  // One hooks object for all requests: nothing is allocated per request unless there are errors.
  const hooks: GraphQLRequestListener<AppContext> = {
    async didResolveOperation({ request, operationName }) {
      noteOperationName(request.http, operationName);
    },
    async didEncounterErrors({ errors, contextValue, operationName, request }) {
      const requestId = requestIdOf(request.http);
      const operation = operationName ?? request.operationName ?? undefined;
      const unavailable = errors.filter((e) => isDatabaseUnavailable(e));
      if (unavailable.length > 0) {
        logger?.warn({ event: "db.unavailable", requestId, operation, err: errorSummary(unavailable[0]!.originalError ?? unavailable[0]) }, "database unavailable; answered 503");
      }
      for (const error of errors) {
        const original = error.originalError;
        if (!original || original instanceof GraphQLError || original instanceof InvalidInputError || isDatabaseUnavailable(original)) continue;
        logger?.error({ requestId, operation, path: error.path?.join("."), err: original }, "unexpected error");
      }
      const denied = errors.filter((e) => e.extensions?.code === "FORBIDDEN" || e.extensions?.code === "UNAUTHENTICATED");
      if (denied.length === 0 || !contextValue?.auth) return;
      logger?.info(
        {
          event: "auth.denied",
          requestId,
          operation,
          sub: contextValue.principal?.sub,
          jti: contextValue.principal?.tokenId ?? undefined,
          reasons: [...new Set(denied.map((e) => (e.extensions?.auth as { reason?: string } | undefined)?.reason))],
          paths: denied.map((e) => e.path?.join(".") ?? "(operation)"),
        },
        "request denied by @auth rules",
      );
    },
    async willSendResponse({ response, errors, request, contextValue, operationName }) {
      const concealed = contextValue?.auth?.concealed;
      if (concealed && concealed.length > 0) {
        logger?.info(
          {
            event: "auth.concealed",
            requestId: requestIdOf(request.http),
            operation: operationName ?? request.operationName ?? undefined,
            sub: contextValue.principal?.sub,
            jti: contextValue.principal?.tokenId ?? undefined,
            reasons: ["NOT_VISIBLE"],
            coordinates: [...new Set(concealed.map((c) => c.coordinate))],
            paths: concealed.map((c) => c.path),
          },
          "a row the caller may not see was answered as absent",
        );
      }
      if (!errors || response.body.kind !== "single") return;
      const result = response.body.singleResult;
      if (errors.some((e) => isDatabaseUnavailable(e))) {
        response.http.status = 503;
        response.http.headers.set("retry-after", String(RETRY_AFTER_SECONDS));
        result.data = null;
        result.errors = [serviceUnavailableFormatted()];
        return;
      }
      // The fixed message says nothing; the request id lets the client point at the log line.
      const requestId = requestIdOf(request.http);
      if (!requestId) return;
      for (const formatted of result.errors ?? []) {
        if (formatted.extensions?.code === "INTERNAL_SERVER_ERROR") (formatted.extensions as Record<string, unknown>).requestId = requestId;
      }
    },
  };
  return { requestDidStart: async () => hooks };
}

/** Class and message of an expected failure, without a stack (the cause is known; the stack would be noise). */
function errorSummary(error: unknown): { type: string; message: string; code?: string } {
  const e = error as { name?: string; message?: string; code?: string };
  return { type: e?.name ?? typeof error, message: e?.message ?? String(error), ...(e?.code ? { code: e.code } : {}) };
}

const SANDBOX_DOCUMENT = `# Sandbox starts with alice's dev token in the shared Authorization header.
# Mint another persona's token with: npm run -s token -- sam
query Me {
  me { sub kind username groups scopes tokenUse expiresAt }
}

# Runs over WebSocket on the same URL; Sandbox sends the shared headers in connection_init.
# Place an order (placeOrder) in another tab to see it arrive. Staff follow every order with orderEvents.
subscription MyOrderEvents {
  myOrderEvents { kind occurredAt order { id status totalCents } }
}
`;
const TOKEN_PLACEHOLDER = "__DEV_BEARER_TOKEN__";

/**
 * Dev mode: Apollo Sandbox with the Authorization header filled with a fresh dev token on every page load
 * (tokens expire, the page should not). Sandbox runs subscriptions itself with graphql-ws on the endpoint's
 * `ws://` URL and sends its headers, the shared Authorization among them, as `connection_init`'s payload.
 * Production: no landing page unless GRAPHQL_SANDBOX=true.
 */
function landingPage(config: Config, devIssuer?: DevIssuer | null): ApolloServerPlugin<AppContext> {
  if (!config.sandbox) return ApolloServerPluginLandingPageDisabled();
  if (!devIssuer) return ApolloServerPluginLandingPageLocalDefault({ embed: { runTelemetry: false }, footer: false });
  const inner = ApolloServerPluginLandingPageLocalDefault({
    document: SANDBOX_DOCUMENT,
    footer: false,
    embed: {
      runTelemetry: false,
      initialState: { sharedHeaders: { Authorization: `Bearer ${TOKEN_PLACEHOLDER}` } },
    },
  });
  return {
    async serverWillStart(service) {
      const listener = await inner.serverWillStart?.(service);
      const page = await listener?.renderLandingPage?.();
      if (!page) throw new Error("Apollo's landing page plugin rendered nothing");
      const template = typeof page.html === "string" ? page.html : await page.html();
      return {
        async renderLandingPage() {
          return { html: async () => template.replace(TOKEN_PLACEHOLDER, devIssuer.mint(PERSONAS.alice)) };
        },
      };
    },
  };
}

/**
 * Input the data layer refused becomes BAD_USER_INPUT with its message (nothing was written). In production an
 * unexpected error says nothing about its cause; expected ones keep their fixed messages. Expected errors (any
 * code but INTERNAL_SERVER_ERROR) never carry a stack trace, in dev mode either: the trace of a denial or of bad
 * input points into our code, not at the client's mistake.
 */
function formatError(formatted: GraphQLFormattedError, error: unknown, production: boolean): GraphQLFormattedError {
  formatted = withoutSchemaHints(formatted, production);
  if (formatted.extensions?.code !== "INTERNAL_SERVER_ERROR" && formatted.extensions?.stacktrace !== undefined) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions;
    formatted = { ...formatted, extensions };
  }
  if (isDatabaseUnavailable(error)) {
    return { ...serviceUnavailableFormatted(), path: formatted.path, locations: formatted.locations };
  }
  const original = unwrapResolverError(error);
  if (original instanceof InvalidInputError) {
    return {
      message: original.message,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: "BAD_USER_INPUT", ...(original.field ? { field: original.field } : {}) },
    };
  }
  if (!production || formatted.extensions?.code !== "INTERNAL_SERVER_ERROR") return formatted;
  return { message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR" }, path: formatted.path, locations: formatted.locations };
}

// graphql-js appends ` Did you mean "X", "Y", or "Z"?` (names, which cannot hold a "?") to validation and
// variable coercion messages alike.
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * Production: no message names a schema element the client did not send. Apollo's DisableSuggestions plugin
 * cleans validation errors only; variable coercion errors (an enum value or input field misspelt in the
 * variables) and anything else are cleaned here, whatever their kind.
 */
function withoutSchemaHints(formatted: GraphQLFormattedError, production: boolean): GraphQLFormattedError {
  if (!production || !formatted.message.includes("Did you mean")) return formatted;
  return { ...formatted, message: formatted.message.replace(SUGGESTION, "") };
}
