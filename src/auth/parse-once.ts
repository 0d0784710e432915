import type { DecomposedJwt } from "aws-jwt-verify/jwt";

/**
 * A token's header and payload are parsed once per verification: `precheck` decodes and parses them (with stricter
 * checks than the library's `decomposeUnverifiedJwt`: canonical base64url, header keys, `alg`, claim types) and hands
 * the result to aws-jwt-verify, which would otherwise decode both segments again and parse them with a reviver.
 * Everything after the parse stays the library's: key lookup, signature, `iss`/`exp`/`nbf`, `customJwtCheck`, the
 * Cognito checks of `token_use` and client.
 *
 * The hand-over rides on the verifiers' `getVerifyParameters` (protected in aws-jwt-verify 5.2, called synchronously
 * at the start of `verify`): `verifyParsed` sets the token, calls `verify`, and the override takes the parts only for
 * that exact token string; for any other call it is the library's own method.
 */

/** The slice of aws-jwt-verify's `JwtVerifierBase` that the hand-over uses (its protected members). */
interface VerifierInternals {
  verify(token: string): Promise<unknown>;
  getVerifyParameters(jwt: string, props?: object): { decomposedJwt: DecomposedJwt; jwksUri: string; verifyProperties: object };
  getIssuerConfig(issuer: string): { jwksUri: string };
}

/** A library verifier that can be given a token's parts parsed already. */
export interface ParseOnceVerifier {
  /** The library's `verify(token)`, with `decomposed` (the parts of exactly `token`) used instead of parsing again. */
  verifyParsed(token: string, decomposed: DecomposedJwt): Promise<unknown>;
}

/** Wraps a `CognitoJwtVerifier` or `JwtRsaVerifier` (aws-jwt-verify 5.2) so that it takes parsed tokens. */
export function parseOnce(verifier: { verify(token: string): Promise<unknown> }): ParseOnceVerifier {
  const internals = verifier as unknown as VerifierInternals;
  const own = internals.getVerifyParameters.bind(verifier);
  let handed: { token: string; decomposed: DecomposedJwt } | null = null;
  internals.getVerifyParameters = (jwt, props) => {
    if (handed === null || handed.token !== jwt) return own(jwt, props);
    const { decomposed } = handed;
    handed = null;
    const issuerConfig = internals.getIssuerConfig(decomposed.payload.iss as string);
    return { decomposedJwt: decomposed, jwksUri: issuerConfig.jwksUri, verifyProperties: { ...issuerConfig, ...props } };
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
  };
}
