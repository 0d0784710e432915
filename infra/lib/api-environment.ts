import type { Settings } from "./settings.ts";
import type { ApiIdentity } from "./user-pool.ts";

/**
 * The API's configuration (docs/configuration.md), the same for both shapes: the pool and its clients, the
 * database secret's ARN (the API reads the login at start; no password is in the template or the environment),
 * production mode and the refresh tokens' lifetime, which bounds how long a session revocation is kept.
 */
export function apiEnvironment(identity: ApiIdentity, databaseSecretArn: string, settings: Settings): Record<string, string> {
  return {
    NODE_ENV: "production",
    COGNITO_USER_POOL_ID: identity.userPoolId,
    COGNITO_CLIENT_ID: identity.clientIds.join(","),
    COGNITO_TOKEN_USE: "access",
    COGNITO_REFRESH_TOKEN_VALIDITY_DAYS: String(settings.refreshTokenDays),
    DATABASE_SECRET_ARN: databaseSecretArn,
  };
}
