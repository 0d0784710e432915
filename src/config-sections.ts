import { ConfigError, flag, integer, list, safeUrl, type Env } from "./config-values.js";
import type { Bounds, Config } from "./config.js";

/** Sections of the configuration read by `loadConfig` (src/config.ts), each from its own variables. */

/** The WebSocket transport's limits (WS_*). */
export function wsSettings(env: Env): Config["ws"] {
  return {
    connectionInitTimeoutSeconds: integer(env, "WS_CONNECTION_INIT_TIMEOUT_SECONDS", 10, 1, 300),
    maxMessageBytes: integer(env, "WS_MAX_MESSAGE_BYTES", 65_536, 1024, 1_048_576),
    maxSubscriptionsPerConnection: integer(env, "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", 20, 1, 1000),
    maxConnectionsPerSubject: integer(env, "WS_MAX_CONNECTIONS_PER_SUBJECT", 10, 1, 10_000),
    maxAnonymousConnections: integer(env, "WS_MAX_ANONYMOUS_CONNECTIONS", 100, 0, 100_000),
    maxAnonymousConnectionsPerAddress: integer(env, "WS_MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS", 10, 0, 10_000),
    eventRetentionSeconds: integer(env, "WS_EVENT_RETENTION_SECONDS", 86_400, 60, 2_592_000),
  };
}

export function boundSettings(env: Env): Bounds {
  return {
    cognitoTimeoutMs: integer(env, "COGNITO_TIMEOUT_MS", 3000, 100, 30_000),
    cognitoBreakerFailures: integer(env, "COGNITO_BREAKER_FAILURES", 5, 1, 1000),
    cognitoBreakerOpenSeconds: integer(env, "COGNITO_BREAKER_OPEN_SECONDS", 30, 1, 3600),
    poolSize: integer(env, "DATABASE_POOL_SIZE", 10, 1, 1000),
    poolTimeoutMs: integer(env, "DATABASE_POOL_TIMEOUT_MS", 5000, 50, 60_000),
    statementTimeoutMs: integer(env, "DATABASE_STATEMENT_TIMEOUT_MS", 10_000, 50, 600_000),
    idleInTransactionTimeoutMs: integer(env, "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 5000, 50, 600_000),
    maxInFlight: integer(env, "SHED_MAX_IN_FLIGHT", 500, 1, 100_000),
    maxPoolWaiting: integer(env, "SHED_MAX_POOL_WAITING", 100, 0, 100_000),
  };
}

export function revocationSettings(env: Env, mode: Config["mode"]): Config["revocation"] {
  const cognitoSignOut = flag(env, "REVOCATION_COGNITO_SIGN_OUT", false);
  if (cognitoSignOut && mode === "dev") {
    throw new ConfigError("REVOCATION_COGNITO_SIGN_OUT", "needs COGNITO_USER_POOL_ID: dev mode has no Cognito to sign users out of");
  }
  return {
    reloadSeconds: integer(env, "REVOCATION_RELOAD_SECONDS", 10, 1, 3600),
    listen: flag(env, "REVOCATION_LISTEN", true),
    cognitoSignOut,
    refreshTokenValidityDays: integer(env, "COGNITO_REFRESH_TOKEN_VALIDITY_DAYS", 30, 1, 3650),
  };
}

export function metricsListener(env: Env): Config["metrics"] {
  const port = env.METRICS_PORT?.trim() ? integer(env, "METRICS_PORT", 0, 0, 65535) : null;
  if (port !== null && port !== 0 && port === integer(env, "PORT", 4000, 0, 65535)) {
    throw new ConfigError("METRICS_PORT", "must differ from PORT: metrics are served on a listener of their own");
  }
  const host = env.METRICS_HOST?.trim() || "127.0.0.1";
  if (env.METRICS_HOST?.trim() && port === null) throw new ConfigError("METRICS_HOST", "is set without METRICS_PORT");
  return { port, host };
}

// The user pool id format that aws-jwt-verify accepts (region_id).
const USER_POOL_ID = /^(?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d_[a-zA-Z0-9]+$/;
// A pool id in an emulator's issuer URL: one path segment.
const EMULATOR_POOL_ID = /^[\w-]{1,128}$/;
// Cognito app client ids: word characters and '+', at most 128.
const CLIENT_ID = /^[\w+]{1,128}$/;

/** What `cognitoSettings` reads. */
interface CognitoSettings {
  readonly mode: Config["mode"];
  readonly userPoolIds: string[];
  readonly clientIds: string[];
  readonly jwksUris: string[];
  readonly issuers: string[] | null;
}

/** The user pools, app clients, key-set URLs and emulator issuers (COGNITO_*), checked together; none: dev mode. */
export function cognitoSettings(env: Env, production: boolean): CognitoSettings {
  const userPoolIds = list(env, "COGNITO_USER_POOL_ID");
  const mode: Config["mode"] = userPoolIds.length > 0 ? "cognito" : "dev";
  if (mode === "dev" && production) {
    throw new ConfigError(
      "COGNITO_USER_POOL_ID",
      "is required when NODE_ENV=production: set your user pool id and COGNITO_CLIENT_ID, or unset NODE_ENV for dev mode",
    );
  }
  const issuers = emulatorIssuers(env, production, userPoolIds);
  for (const id of userPoolIds) {
    // An emulator's pool ids need not carry a region (cognito-local: local_0nFa3hjY).
    if (!(issuers ? EMULATOR_POOL_ID : USER_POOL_ID).test(id)) {
      throw new ConfigError("COGNITO_USER_POOL_ID", `"${id}" is not a user pool id like us-east-1_AbC123`);
    }
  }
  const clientIds = list(env, "COGNITO_CLIENT_ID");
  if (mode === "cognito" && clientIds.length === 0) {
    throw new ConfigError("COGNITO_CLIENT_ID", "is required with COGNITO_USER_POOL_ID (the accepted app client ids)");
  }
  if (mode === "dev" && clientIds.length > 0) {
    throw new ConfigError("COGNITO_CLIENT_ID", "is set without COGNITO_USER_POOL_ID; set both, or neither for dev mode");
  }
  for (const id of clientIds) {
    if (!CLIENT_ID.test(id)) throw new ConfigError("COGNITO_CLIENT_ID", `"${id}" is not an app client id`);
  }
  const jwksUris = list(env, "COGNITO_JWKS_URI");
  if (jwksUris.length > 0 && mode === "dev") {
    throw new ConfigError("COGNITO_JWKS_URI", "is set without COGNITO_USER_POOL_ID");
  }
  if (jwksUris.length > 1 && jwksUris.length !== userPoolIds.length) {
    throw new ConfigError("COGNITO_JWKS_URI", "give one URL, or one per user pool in the same order");
  }
  for (const uri of jwksUris) {
    if (!/^https?:$/.test(safeUrl(uri)?.protocol ?? "")) throw new ConfigError("COGNITO_JWKS_URI", `"${uri}" is not an http(s) URL`);
  }
  return { mode, userPoolIds, clientIds, jwksUris, issuers };
}

/**
 * COGNITO_ISSUER: one issuer URL per pool, for local emulators whose issuer is not Cognito's
 * (`http://localhost:9229/<pool>` for cognito-local, `http://localhost:4566/<pool>` for LocalStack). Refused in
 * production, where only Cognito's own issuers may be trusted.
 */
function emulatorIssuers(env: Env, production: boolean, userPoolIds: readonly string[]): string[] | null {
  const issuers = list(env, "COGNITO_ISSUER");
  if (issuers.length === 0) return null;
  if (production)
    throw new ConfigError(
      "COGNITO_ISSUER",
      "is for local emulators and is refused when NODE_ENV=production (only Cognito's own issuers are trusted there); unset it",
    );
  if (userPoolIds.length === 0) throw new ConfigError("COGNITO_ISSUER", "is set without COGNITO_USER_POOL_ID");
  if (issuers.length !== userPoolIds.length) throw new ConfigError("COGNITO_ISSUER", "give one issuer per user pool, in the same order");
  for (const issuer of issuers) {
    if (!/^https?:$/.test(safeUrl(issuer)?.protocol ?? "")) throw new ConfigError("COGNITO_ISSUER", `"${issuer}" is not an http(s) URL`);
  }
  return issuers;
}
