import { JwksNotAvailableInCacheError, KidNotFoundInJwksError } from "aws-jwt-verify/error";
import type { DecomposedJwt } from "aws-jwt-verify/jwt";

/**
 * A token's header and payload are parsed once per verification: `precheck` decodes and parses them (with stricter
 * checks than the library's `decomposeUnverifiedJwt`: canonical base64url, header keys, `alg`, claim types) and hands
 * the result to aws-jwt-verify, which would otherwise decode both segments again and parse them with a reviver.
 * Everything after the parse stays the library's: key lookup, signature, `iss`/`exp`/`nbf`, `customJwtCheck`, the
 * Cognito checks of `token_use` and client.
 *
 * The hand-over rides on the verifiers' `getVerifyParameters` (protected in aws-jwt-verify 5.2, called synchronously
 * at the start of `verify` and `verifySync`): `verifyParsed` sets the token, calls `verify`, and the override takes the
 * parts only for that exact token string; for any other call it is the library's own method.
 *
 * When the token's key is cached (every token but the first after a key rotation), `verifyParsedSync` has the library
 * verify with `verifySync`: the same checks in the same order (key lookup, header against key, signature, claims,
 * `customJwtCheck`, Cognito fields) without the four async steps and their promises that `verify` goes through to
 * allow a key-set fetch. Its key lookup (`getCachedJwk`) runs first and is the only step that throws "not cached"
 * errors, so on those nothing else has run and the caller goes the async way, which fetches.
 */

/** The slice of aws-jwt-verify's `JwtVerifierBase` that the hand-over uses (its protected members). */
interface VerifierInternals {
  verify(token: string): Promise<unknown>;
  verifySync(token: string): unknown;
  getVerifyParameters(jwt: string, props?: object): { decomposedJwt: DecomposedJwt; jwksUri: string; verifyProperties: object };
  getIssuerConfig(issuer: string): { jwksUri: string };
}

/** What `verifyParsedSync` answers when the token's key set or key is not in the cache (nothing was verified). */
export const KEY_NOT_CACHED: unique symbol = Symbol("key not cached");

/** A library verifier that can be given a token's parts parsed already. */
export interface ParseOnceVerifier {
  /** The library's `verify(token)`, with `decomposed` (the parts of exactly `token`) used instead of parsing again. */
  verifyParsed(token: string, decomposed: DecomposedJwt): Promise<unknown>;
  /**
   * The library's `verifySync(token)` on `decomposed`: the verified payload, or `KEY_NOT_CACHED` when the token's key
   * is not in the key-set cache (then call `verifyParsed`, which fetches it). Throws the library's errors otherwise.
   */
  verifyParsedSync(token: string, decomposed: DecomposedJwt): unknown;
}

/** Wraps a `CognitoJwtVerifier` or `JwtRsaVerifier` (aws-jwt-verify 5.2) so that it takes parsed tokens. */
export function parseOnce(verifier: { verify(token: string): Promise<unknown>; verifySync(token: string): unknown }): ParseOnceVerifier {
  const internals = verifier as unknown as VerifierInternals;
  const own = internals.getVerifyParameters.bind(verifier);
  let handed: { token: string; decomposed: DecomposedJwt } | null = null;
  internals.getVerifyParameters = (jwt, props) => {
    if (handed === null || handed.token !== jwt) return own(jwt, props);
    const { decomposed } = handed;
    handed = null;
    const issuerConfig = internals.getIssuerConfig(decomposed.payload.iss as string);
    // The library merges per-call properties over the issuer's; without any (ours), the issuer's are those merged.
    const verifyProperties = props === undefined ? issuerConfig : { ...issuerConfig, ...props };
    return { decomposedJwt: decomposed, jwksUri: issuerConfig.jwksUri, verifyProperties };
  };
  return {
    verifyParsed(token, decomposed) {
      handed = { token, decomposed };
      try {
        return internals.verify(token);
      } finally {
        // Taken synchronously by verify(); cleared in any case so that no later call sees it.
        handed = null;
      }
    },
    verifyParsedSync(token, decomposed) {
      handed = { token, decomposed };
      try {
        return internals.verifySync(token);
      } catch (error) {
        if (error instanceof JwksNotAvailableInCacheError || error instanceof KidNotFoundInJwksError) return KEY_NOT_CACHED;
        throw error;
      } finally {
        handed = null;
      }
    },
  };
}
