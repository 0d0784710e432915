import type { Logger } from "pino";
import { MAX_LIFETIME_SECONDS, type CognitoSignOut, type RevocationList } from "../auth/index.js";
import type { Db } from "../data/database.js";
import { recordRevocation } from "../data/revocations.js";
import type { RevocationRow } from "../data/tables.js";
import { revocationOf } from "./cursor.js";

export interface RevokerOptions {
  /** The replica's list: a committed revocation is added at once, before the answer leaves. */
  readonly list: RevocationList;
  /**
   * The longest refresh-token validity of the accepted app clients, in seconds (Cognito's default: 30 days).
   * Tokens refreshed from a session keep its `origin_jti` and `auth_time`, so a record must outlive the refresh
   * tokens that could still mint tokens it matches.
   */
  readonly refreshTokenValiditySeconds: number;
  /** The verifier's leeway on `exp`, in seconds. */
  readonly clockSkewSeconds: number;
  /** Cognito's own sign-out for subject revocations (REVOCATION_COGNITO_SIGN_OUT); `null`: the API's list only. */
  readonly cognito: CognitoSignOut | null;
  /** Audit lines (`auth.revocation`) and Cognito failures. */
  readonly logger?: Logger;
}

export interface RevokeRequest {
  /** Whose sessions. */
  readonly sub: string;
  /** One session (Cognito's `origin_jti`); absent: every session of `sub` signed in before now. */
  readonly sessionId?: string;
  /**
   * With `sessionId`: when that session signed in (the token's `auth_time`). Recorded with it, so the session's
   * tokens are refused under another `origin_jti` too (refresh-token rotation).
   */
  readonly sessionSignedInAt?: Date;
  /** `sub`'s Cognito username and pool when known (the caller's own token), for Cognito's sign-out. */
  readonly username?: string | null;
  readonly userPoolId?: string;
  /** Whether `sub` is a person (machine clients have no Cognito user to sign out). */
  readonly isUser: boolean;
  /** The `sub` of who asks. */
  readonly revokedBy: string;
  readonly requestId?: string;
}

export interface Revoker {
  /**
   * Cognito's own sign-out for a subject revocation of a person, when REVOCATION_COGNITO_SIGN_OUT is on: `true` when
   * Cognito ended the subject's refresh tokens. A remote call, so it runs before the operation's transaction opens
   * (see src/graphql/remote-calls.ts), never while a connection is held. Never throws: a failure (bounded by
   * COGNITO_TIMEOUT_MS, or skipped while the circuit is open) answers `false` and is logged as a warning.
   */
  signOutInCognito(request: RevokeRequest): Promise<boolean>;
  /**
   * Records the revocation through `db` (a mutation operation's transaction: it exists once the operation commits,
   * and every replica learns it by notification) and, through `afterCommit`, adds it to this replica's list before
   * the answer leaves. `cognitoSignedOut` is what `signOutInCognito` answered (false: the record is kept as long as
   * the subject's refresh tokens can live). Throws only on database failure.
   */
  revoke(
    db: Db,
    request: RevokeRequest & { readonly cognitoSignedOut: boolean },
    afterCommit: (action: () => void) => void,
  ): Promise<RevocationRow>;
}

/** Builds the revoker of one replica. */
export function createRevoker(options: RevokerOptions): Revoker {
  const { list, logger } = options;
  return {
    async signOutInCognito(request) {
      if (request.sessionId !== undefined || !request.isUser || !options.cognito) return false;
      try {
        return await options.cognito.signOut({ sub: request.sub, username: request.username, userPoolId: request.userPoolId });
      } catch (error) {
        logger?.warn(
          {
            event: "revocation.cognito_failed",
            requestId: request.requestId,
            sub: request.sub,
            err: { type: (error as Error)?.name, message: (error as Error)?.message },
          },
          "Cognito's AdminUserGlobalSignOut failed; the API's revocation holds, refresh tokens stay valid in Cognito",
        );
        return false;
      }
    },
    async revoke(db, request, afterCommit) {
      // Whole seconds, rounded up: `auth_time` has whole seconds, so a session signed in during this second (before
      // the revocation, or just after it) counts as before it, whatever the milliseconds were.
      const now = Math.ceil(Date.now() / 1000) * 1000;
      const subject = request.sessionId === undefined;
      const cognitoSignedOut = subject && request.cognitoSignedOut;
      // Once Cognito ended the refresh tokens, no token it matches is minted after now; otherwise refreshes may
      // mint some until the longest refresh token expires. The verifier refuses tokens living longer than
      // MAX_LIFETIME_SECONDS, so none outlives its minting by more.
      const mintableForSeconds = cognitoSignedOut ? 0 : options.refreshTokenValiditySeconds;
      const expiresAt = new Date(now + (mintableForSeconds + MAX_LIFETIME_SECONDS + options.clockSkewSeconds) * 1000);
      const row = await recordRevocation(db, {
        sub: request.sub,
        ...(subject
          ? { revokedBefore: new Date(now) }
          : { sessionId: request.sessionId, sessionSignedInAt: request.sessionSignedInAt ?? null }),
        expiresAt,
        revokedBy: request.revokedBy,
        cognitoSignedOut,
      });
      afterCommit(() => {
        list.add(revocationOf(row));
        logger?.info(
          {
            event: "auth.revocation",
            requestId: request.requestId,
            sub: request.sub,
            kind: subject ? "SUBJECT" : "SESSION",
            revokedBy: request.revokedBy,
            cognitoSignedOut,
          },
          "sessions revoked",
        );
      });
      return row;
    },
  };
}
