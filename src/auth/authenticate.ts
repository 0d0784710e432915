import { assertB64token, readBearerToken, type CredentialSources } from "./bearer.js";
import { AuthError, InvalidTokenError, requestError, type ErrorPosture } from "./errors.js";
import { RequestAuth, type AuthContext } from "./request-auth.js";
import type { RevocationCheck } from "./revocation.js";
import type { TokenVerifier } from "./verifier.js";

export interface AuthenticatorOptions {
  readonly verifier: TokenVerifier;
  readonly posture: ErrorPosture;
  /** Revoked sessions, checked on every verified token (cached verifications too). Absent: nothing is revoked. */
  readonly revocations?: RevocationCheck;
}

/**
 * Builds the per-request step that turns credential sources into the auth part of the GraphQL context:
 * one verification per HTTP request, before any resolver. A present but bad token fails the whole request
 * with the GraphQLError of the error table (400, 401 or 503), a revoked one with 401 `TOKEN_REVOKED`; no token
 * means an anonymous caller.
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const { verifier, posture, revocations } = options;
  return async function authenticate(sources: CredentialSources): Promise<AuthContext> {
    try {
      const token = readBearerToken(sources);
      let principal = null;
      if (token !== null) {
        try {
          principal = await verifier.verify(token);
        } catch (error) {
          // RFC 6750's b64token, checked only for a token that failed: one that verifies has no character outside it.
          assertB64token(token);
          throw error;
        }
      }
      if (principal && revocations?.isRevoked(principal)) {
        throw new InvalidTokenError("TOKEN_REVOKED", "This token's session was revoked; sign in again");
      }
      return { principal, auth: new RequestAuth(principal, posture) };
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      throw requestError(error, posture);
    }
  };
}
