/**
 * The auth layer: Cognito token verification, the request's Principal, and the `@auth` / `@public`
 * directive. It imports nothing from the domain, so another GraphQL service can take it as it is.
 */
export {
  cognitoCallGuard,
  CognitoCircuitOpenError,
  CognitoTimeoutError,
  isCognitoFailure,
  type CognitoCallGuard,
  type CognitoCallGuardOptions,
  type CognitoCallOutcome,
  type CognitoCircuitState,
} from "./cognito-calls.js";
export { cognitoSignOut, type CognitoSignOut, type CognitoSignOutOptions } from "./cognito-sign-out.js";
export { createAuthenticator, type AuthenticatorOptions } from "./authenticate.js";
export { credentialSourcesFromNode, readBearerToken, type CredentialSources } from "./bearer.js";
export { DEV_USER_POOL_ID, DevIssuer, DevKeysFileError, signJwt, type DevTokenRequest } from "./dev-issuer.js";
export { applyAuthDirectives, authDirectiveTypeDefs, AuthSchemaError } from "./directive.js";
export {
  AuthError,
  AuthUnavailableError,
  InvalidRequestError,
  InvalidTokenError,
  RETRY_AFTER_SECONDS,
  SERVICE_UNAVAILABLE,
  SERVICE_UNAVAILABLE_MESSAGE,
  serviceUnavailableError,
  serviceUnavailableFormatted,
  type AuthErrorCode,
  type AuthReason,
  type ErrorPosture,
} from "./errors.js";
export { guardOf, type FieldGuard } from "./guard.js";
export { JwksFetcher, type JwksFetcherOptions } from "./jwks-fetcher.js";
export { findDenials, operationCheckPlugin, type OperationCheckOptions } from "./operation-check.js";
export type { Principal } from "./principal.js";
export { RequestAuth, type AuthContext } from "./request-auth.js";
export { RevocationList, type Revocation, type RevocationCheck } from "./revocation.js";
export {
  COGNITO_USER_ADMIN_SCOPE,
  cognitoUserAttributes,
  createVerifiedEmailLookup,
  poolIdOfIssuer,
  verifiedAttributeEmail,
  type CognitoUserAttributesOptions,
  type UserAttributesSource,
  type VerifiedEmailLookup,
  type VerifiedEmailLookupOptions,
} from "./user-attributes.js";
export { dnsSuffixOf, issuersOfPool, type IssuerForm, type PoolIssuer } from "./issuers.js";
export {
  createTokenVerifier,
  KeySetUnavailableError,
  MAX_LIFETIME_SECONDS,
  type PoolKeySet,
  type TokenVerifier,
  type VerifierOptions,
} from "./verifier.js";
