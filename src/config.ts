import { ConfigError, flag, host, integer, list, oneOf, origins, safeUrl, type Env } from "./config-values.js";
import { boundSettings, cognitoSettings, metricsListener, revocationSettings, wsSettings } from "./config-sections.js";
import { SECRET_ARN } from "./data/database-secret.js";

/**
 * Environment to a validated, read-only configuration, once at start. A bad value stops the start with a
 * `ConfigError` naming the variable.
 */

export interface Config {
  /** `dev`: the built-in dev issuer; `cognito`: real user pools. */
  readonly mode: "dev" | "cognito";
  /** `NODE_ENV=production`: no introspection or Sandbox unless enabled, no stack traces, redacted denials. */
  readonly production: boolean;
  readonly auth: {
    readonly userPoolIds: readonly string[];
    readonly clientIds: readonly string[];
    readonly tokenUse: "access" | "id" | "any";
    /** One URL for every pool, or one per pool in the order of `userPoolIds`; `null`: Cognito's URLs. */
    readonly jwksUris: readonly string[] | null;
    /** COGNITO_ISSUER: a local emulator's issuer per pool (dev only, never in production); `null`: Cognito's. */
    readonly issuers: readonly string[] | null;
    readonly clockSkewSeconds: number;
    readonly rejectPartial: boolean;
    /** Seconds between refreshes of the cached key sets (JWKS_REFRESH_SECONDS, 1 to 86400, default 900). */
    readonly jwksRefreshSeconds: number;
    /** COGNITO_REPLICA_REGIONS: regions the pools are replicated to (multi-Region replication); `[]`: none. */
    readonly replicaRegions: readonly string[];
    /** COGNITO_ACCESS_TOKEN_AUDIENCE: resource server identifiers, one of which an access token's `aud` must hold; `null`: `aud` not required. */
    readonly accessTokenAudiences: readonly string[] | null;
    /**
     * Decision records (AUTH_AUDIT): `denied` (default) logs one `auth.decision` line for each request with a denial,
     * a concealed row or a shadow rule's would-be denial; `all` logs one for every request that reached execution.
     */
    readonly audit: "denied" | "all";
  };
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** How long shutdown waits for in-flight requests (SHUTDOWN_TIMEOUT_SECONDS). */
    readonly shutdownTimeoutSeconds: number;
  };
  /**
   * `/metrics` on a listener of its own (METRICS_PORT, METRICS_HOST, default host 127.0.0.1); `port` null: none.
   * In production `/metrics` is served only there, never on the API port; in dev also on the API port.
   */
  readonly metrics: { readonly port: number | null; readonly host: string };
  /** Subscriptions over WebSocket on the API's port and path (WS_*). */
  readonly ws: {
    /** Seconds a new socket has to send `connection_init` before it is closed with 4408 (default 10, 1 to 300). */
    readonly connectionInitTimeoutSeconds: number;
    /** Largest message a client may send, in bytes (default 65536, 1024 to 1048576); a larger one closes with 1009. */
    readonly maxMessageBytes: number;
    /** Subscriptions open at once on one connection (default 20, 1 to 1000); one more is refused with an error. */
    readonly maxSubscriptionsPerConnection: number;
    /** Connections open at once per token subject, per replica (default 10, 1 to 10000); one more closes with 4403. */
    readonly maxConnectionsPerSubject: number;
    /**
     * Anonymous connections (no token in `connection_init`) open at once on this replica (default 100, 0 to
     * 100000) and from one remote address (default 10, 0 to 10000); one more closes with 4403. Not counted at all
     * when the schema has no `@public` Subscription field: anonymous connections are then closed with 4401.
     */
    readonly maxAnonymousConnections: number;
    readonly maxAnonymousConnectionsPerAddress: number;
    /**
     * How long order events are kept in the durable log for subscriptions resuming with `after`, in seconds
     * (WS_EVENT_RETENTION_SECONDS, default 86400, 60 to 2592000); an older cursor is refused with CURSOR_EXPIRED.
     */
    readonly eventRetentionSeconds: number;
  };
  /** GraphQL Armor limits, checked before execution (GRAPHQL_MAX_*). */
  readonly limits: {
    readonly depth: number;
    readonly aliases: number;
    readonly directives: number;
    readonly tokens: number;
    readonly cost: number;
  };
  readonly introspection: boolean;
  readonly sandbox: boolean;
  /**
   * Browser origins allowed to call the API (CORS_ORIGINS): exact origins like `https://app.example.com`, or
   * `*` for any. Empty: no CORS headers. Default `*` outside production, empty in production.
   */
  readonly corsOrigins: "*" | readonly string[];
  /** `postgres://...`; `null`: the embedded PGlite database under `dataDir`. */
  readonly databaseUrl: string | null;
  /**
   * DATABASE_SECRET_ARN: a Secrets Manager secret holding the PostgreSQL login (RDS's JSON or a URL), read once at
   * start into `databaseUrl` (src/data/database-secret.ts); exclusive with DATABASE_URL. `null`: none.
   */
  readonly databaseSecretArn: string | null;
  /** Where dev keys (and the embedded database) live. */
  readonly dataDir: string;
  /** pino level (LOG_LEVEL): fatal, error, warn, info (default), debug, trace or silent. */
  readonly logLevel: LogLevel;
  /** Session revocation (see docs/revoking-sessions.md). */
  readonly revocation: {
    /** Seconds between full reloads of the revocations, the bound on a lost notification (REVOCATION_RELOAD_SECONDS, 1 to 3600, default 10). */
    readonly reloadSeconds: number;
    /** Whether new revocations are learned through LISTEN/NOTIFY (REVOCATION_LISTEN, default true); false: reloads only (poolers without sessions). */
    readonly listen: boolean;
    /** Whether revoking a subject also calls Cognito's AdminUserGlobalSignOut (REVOCATION_COGNITO_SIGN_OUT, default false; Cognito mode only). */
    readonly cognitoSignOut: boolean;
    /** The app clients' longest refresh-token validity, in days (COGNITO_REFRESH_TOKEN_VALIDITY_DAYS, 1 to 3650, default 30). */
    readonly refreshTokenValidityDays: number;
  };
  /** Bounds on every wait for a dependency, and load shedding (see docs/faults.md). */
  readonly bounds: Bounds;
}

/** How long anything may wait for a dependency, and when a saturated replica sheds load (docs/faults.md). */
export interface Bounds {
  /** Milliseconds one Cognito call (GetUser, ListUsers, AdminUserGlobalSignOut) may take, retry included (COGNITO_TIMEOUT_MS, 100 to 30000, default 3000). */
  readonly cognitoTimeoutMs: number;
  /** Consecutive failed Cognito calls that open the circuit breaker (COGNITO_BREAKER_FAILURES, 1 to 1000, default 5). */
  readonly cognitoBreakerFailures: number;
  /** Seconds the breaker stays open before one trial call (COGNITO_BREAKER_OPEN_SECONDS, 1 to 3600, default 30). */
  readonly cognitoBreakerOpenSeconds: number;
  /** Largest PostgreSQL pool (DATABASE_POOL_SIZE, 1 to 1000, default 10). */
  readonly poolSize: number;
  /** Milliseconds a request waits for a pooled connection, a new connection's connect included (DATABASE_POOL_TIMEOUT_MS, 50 to 60000, default 5000). */
  readonly poolTimeoutMs: number;
  /** PostgreSQL `statement_timeout` of the pool's connections, in ms (DATABASE_STATEMENT_TIMEOUT_MS, 50 to 600000, default 10000). */
  readonly statementTimeoutMs: number;
  /** PostgreSQL `idle_in_transaction_session_timeout`, in ms (DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS, 50 to 600000, default 5000). */
  readonly idleInTransactionTimeoutMs: number;
  /** `/graphql` requests in progress at once beyond which new ones get 503 at once (SHED_MAX_IN_FLIGHT, 1 to 100000, default 500). */
  readonly maxInFlight: number;
  /** Requests waiting for a pooled connection beyond which new ones get 503 at once (SHED_MAX_POOL_WAITING, 0 to 100000, default 100). */
  readonly maxPoolWaiting: number;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export { ConfigError } from "./config-values.js";

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === "production";
  const { mode, userPoolIds, clientIds, jwksUris, issuers } = cognitoSettings(env, production);
  const sandbox = flag(env, "GRAPHQL_SANDBOX", !production);
  const corsOrigins = origins(env, "CORS_ORIGINS", production ? [] : "*");
  const databaseUrl = env.DATABASE_URL?.trim() || null;
  if (databaseUrl !== null && !/^postgres(ql)?:$/.test(safeUrl(databaseUrl)?.protocol ?? "")) {
    throw new ConfigError("DATABASE_URL", "must be a postgres:// or postgresql:// URL");
  }
  const databaseSecretArn = databaseSecret(env, databaseUrl);
  return Object.freeze({
    mode,
    production,
    auth: Object.freeze({
      userPoolIds,
      clientIds,
      // Dev mode accepts ID tokens too, so that `npm run token -- --id` can be tried out as it is.
      tokenUse: oneOf(env, "COGNITO_TOKEN_USE", ["access", "id", "any"] as const, mode === "dev" ? "any" : "access"),
      jwksUris: jwksUris.length > 0 ? jwksUris : null,
      issuers,
      clockSkewSeconds: integer(env, "AUTH_CLOCK_SKEW_SECONDS", 30, 0, 300),
      rejectPartial: flag(env, "AUTH_REJECT_PARTIAL", false),
      jwksRefreshSeconds: integer(env, "JWKS_REFRESH_SECONDS", 900, 1, 86_400),
      ...cognito2026(env, mode, issuers),
      audit: oneOf(env, "AUTH_AUDIT", ["denied", "all"] as const, "denied"),
    }),
    http: Object.freeze({
      host: host(env, "HOST", mode === "dev" ? "127.0.0.1" : "0.0.0.0"),
      port: integer(env, "PORT", 4000, 0, 65535),
      shutdownTimeoutSeconds: integer(env, "SHUTDOWN_TIMEOUT_SECONDS", 10, 0, 600),
    }),
    metrics: Object.freeze(metricsListener(env)),
    ws: Object.freeze(wsSettings(env)),
    limits: Object.freeze({
      depth: integer(env, "GRAPHQL_MAX_DEPTH", 10, 1, 100),
      aliases: integer(env, "GRAPHQL_MAX_ALIASES", 15, 0, 1000),
      directives: integer(env, "GRAPHQL_MAX_DIRECTIVES", 50, 0, 1000),
      tokens: integer(env, "GRAPHQL_MAX_TOKENS", 2000, 10, 100_000),
      cost: integer(env, "GRAPHQL_MAX_COST", 5000, 1, 1_000_000),
    }),
    // Sandbox needs introspection, so enabling it enables introspection too.
    introspection: flag(env, "GRAPHQL_INTROSPECTION", !production) || sandbox,
    sandbox,
    corsOrigins: typeof corsOrigins === "string" ? corsOrigins : Object.freeze(corsOrigins),
    databaseUrl,
    databaseSecretArn,
    dataDir: env.DATA_DIR?.trim() || ".data",
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    revocation: Object.freeze(revocationSettings(env, mode)),
    bounds: Object.freeze(boundSettings(env)),
  });
}

// Cognito as it is in 2026 (docs/tokens.md): replica regions of multi-Region replication, resource-bound access tokens.
const REGION = /^(?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d$/;
// A resource server identifier as Cognito allows it (printable ASCII but space, " and \), at most 256; commas separate.
const RESOURCE_SERVER_ID = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;

function cognito2026(
  env: Env,
  mode: Config["mode"],
  issuers: readonly string[] | null,
): Pick<Config["auth"], "replicaRegions" | "accessTokenAudiences"> {
  const replicaRegions = list(env, "COGNITO_REPLICA_REGIONS");
  const audiences = list(env, "COGNITO_ACCESS_TOKEN_AUDIENCE");
  for (const [name, values] of [
    ["COGNITO_REPLICA_REGIONS", replicaRegions],
    ["COGNITO_ACCESS_TOKEN_AUDIENCE", audiences],
  ] as const) {
    if (values.length > 0 && mode === "dev")
      throw new ConfigError(name, "is set without COGNITO_USER_POOL_ID (dev tokens have no replica regions or audience)");
  }
  if (replicaRegions.length > 0 && issuers)
    throw new ConfigError("COGNITO_REPLICA_REGIONS", "cannot be combined with COGNITO_ISSUER (an emulator's issuers are given whole)");
  for (const region of replicaRegions) {
    if (!REGION.test(region)) throw new ConfigError("COGNITO_REPLICA_REGIONS", `"${region}" is not an AWS region like us-west-2`);
  }
  for (const audience of audiences) {
    if (!RESOURCE_SERVER_ID.test(audience))
      throw new ConfigError(
        "COGNITO_ACCESS_TOKEN_AUDIENCE",
        `"${audience}" is not a resource server identifier (1 to 256 printable characters, no space, quote or backslash)`,
      );
  }
  return { replicaRegions, accessTokenAudiences: audiences.length > 0 ? audiences : null };
}

/** DATABASE_SECRET_ARN: the login's secret, instead of DATABASE_URL (one source of the database, never both). */
function databaseSecret(env: Env, databaseUrl: string | null): string | null {
  const arn = env.DATABASE_SECRET_ARN?.trim() || null;
  if (arn === null) return null;
  if (databaseUrl !== null) throw new ConfigError("DATABASE_SECRET_ARN", "is set together with DATABASE_URL; set one of them");
  if (!SECRET_ARN.test(arn))
    throw new ConfigError(
      "DATABASE_SECRET_ARN",
      `"${arn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`,
    );
  return arn;
}
