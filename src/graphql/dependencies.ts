import type { GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import type { DevIssuer, RevocationCheck, TokenVerifier, VerifiedEmailLookup } from "../auth/index.js";
import type { Config } from "../config.js";
import type { Db } from "../data/database.js";
import type { NotificationHub } from "../data/notifications.js";
import type { Metrics } from "../metrics.js";
import type { Revoker } from "../revocations/revoker.js";

/**
 * Everything the request pipeline and its transports are built from, made once by the composition root
 * (`src/app.ts`): the same object serves HTTP, WebSocket and Lambda.
 */
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
}
