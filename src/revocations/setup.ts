import type { Logger } from "pino";
import { cognitoCallGuard, cognitoSignOut, RevocationList, serviceUnavailableError } from "../auth/index.js";
import { cognitoGuardSettings, type CognitoCallReporting } from "../auth-setup.js";
import type { Config } from "../config.js";
import type { OpenDatabase } from "../data/database.js";
import { createRevoker, type Revoker } from "./revoker.js";
import { startRevocationSync, type RevocationSync } from "./sync.js";

export interface RevocationSetup {
  /** What the authenticator checks (`ServerDependencies.revocations`). */
  readonly list: RevocationList;
  /** What the revocation mutations use (`ServerDependencies.revoker`). */
  readonly revoker: Revoker;
  readonly sync: RevocationSync;
  /**
   * The `/readyz` check (`ServerDependencies.readinessChecks.revocations`): false once no reload has succeeded for
   * three `REVOCATION_RELOAD_SECONDS`, so a load balancer stops sending traffic to a replica that can no longer
   * learn revocations; true again after the next successful reload.
   */
  readonly ready: () => Promise<boolean>;
  /**
   * The Lambda handlers' check before each invocation (they have no timer and no readiness): reloads when the last
   * reload is older than `maxAgeMs`, then throws the 503 `SERVICE_UNAVAILABLE` error when no reload has succeeded
   * for three `REVOCATION_RELOAD_SECONDS`, rather than answer with a list that may miss revocations.
   */
  readonly refreshOrRefuse: (maxAgeMs: number) => Promise<void>;
}

/**
 * Session revocation for one process, as configured: the list loaded from the database (throws if it cannot be:
 * a server must not start without knowing what is revoked), kept in step by notifications unless
 * `REVOCATION_LISTEN=false` or `listen` is false (the Lambda handlers, which refresh per invocation instead), and
 * reloaded (the records after its cursor) every `REVOCATION_RELOAD_SECONDS` by a timer unless `listen` is false.
 */
export async function setUpRevocation(
  config: Config,
  database: Pick<OpenDatabase, "db" | "notifications">,
  options: { readonly logger?: Logger; readonly listen?: boolean; readonly cognitoCalls?: CognitoCallReporting } = {},
): Promise<RevocationSetup> {
  const list = new RevocationList();
  const longLived = options.listen ?? true;
  const sync = await startRevocationSync({
    db: database.db,
    list,
    notifications: longLived && config.revocation.listen ? database.notifications() : null,
    reloadIntervalMs: longLived ? config.revocation.reloadSeconds * 1000 : null,
    staleAfterMs: 3 * config.revocation.reloadSeconds * 1000,
    logger: options.logger,
  });
  const revoker = createRevoker({
    list,
    refreshTokenValiditySeconds: config.revocation.refreshTokenValidityDays * 86_400,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    cognito: config.revocation.cognitoSignOut
      ? cognitoSignOut({
          userPoolIds: config.auth.userPoolIds,
          guard: cognitoCallGuard({ ...cognitoGuardSettings(config), ...options.cognitoCalls }),
        })
      : null,
    logger: options.logger,
  });
  const refreshOrRefuse = async (maxAgeMs: number) => {
    await sync.refresh(maxAgeMs);
    if (!sync.current()) throw serviceUnavailableError();
  };
  return { list, revoker, sync, ready: async () => sync.current(), refreshOrRefuse };
}
