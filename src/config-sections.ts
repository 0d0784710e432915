import { ConfigError, flag, integer, type Env } from "./config-values.js";
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
