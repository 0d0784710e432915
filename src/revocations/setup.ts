import type { Logger } from "pino";
import { cognitoCallGuard, cognitoSignOut, RevocationList } from "../auth/index.js";
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
}

/**
 * Session revocation for one process, as configured: the list loaded from the database (throws if it cannot be:
 * a server must not start without knowing what is revoked), kept in step by notifications unless
 * `REVOCATION_LISTEN=false` or `listen` is false (the Lambda handlers, which refresh per invocation instead), and
 * reloaded every `REVOCATION_RELOAD_SECONDS` by a timer unless `listen` is false.
 */
export async function setUpRevocation(config: Config, database: Pick<OpenDatabase, "db" | "notifications">, options: { readonly logger?: Logger; readonly listen?: boolean; readonly cognitoCalls?: CognitoCallReporting } = {}): Promise<RevocationSetup> {
  const list = new RevocationList();
  const longLived = options.listen ?? true;
  const sync = await startRevocationSync({
    db: database.db,
    list,
    notifications: longLived && config.revocation.listen ? database.notifications() : null,
    reloadIntervalMs: longLived ? config.revocation.reloadSeconds * 1000 : null,
    logger: options.logger,
  });
  const revoker = createRevoker({
    list,
    refreshTokenValiditySeconds: config.revocation.refreshTokenValidityDays * 86_400,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    cognito: config.revocation.cognitoSignOut
      ? cognitoSignOut({ userPoolIds: config.auth.userPoolIds, guard: cognitoCallGuard({ ...cognitoGuardSettings(config), ...options.cognitoCalls }) })
      : null,
    logger: options.logger,
  });
  return { list, revoker, sync };
}
