import {
  CognitoJwtInvalidClientIdError,
  CognitoJwtInvalidTokenUseError,
  FetchError,
  JwksNotAvailableInCacheError,
  JwksValidationError,
  JwkValidationError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  WaitPeriodNotYetEndedJwkError,
} from "aws-jwt-verify/error";
import { AuthError, AuthUnavailableError, InvalidTokenError, type AuthReason } from "./errors.js";

/** The library's error classes, mapped onto our reasons. Anything unknown is an invalid token, never a 500. */
export function mapLibraryError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const reasonOf = (): AuthReason | "UNAVAILABLE" => {
    if (error instanceof FetchError || error instanceof JwksValidationError || error instanceof JwkValidationError) {
      return "UNAVAILABLE";
    }
    if (error instanceof JwksNotAvailableInCacheError) return "UNAVAILABLE";
    if (error instanceof JwtExpiredError) return "TOKEN_EXPIRED";
    if (error instanceof JwtNotBeforeError) return "TOKEN_NOT_YET_VALID";
    if (error instanceof JwtInvalidIssuerError) return "TOKEN_WRONG_ISSUER";
    if (error instanceof CognitoJwtInvalidClientIdError || error instanceof JwtInvalidAudienceError) return "TOKEN_WRONG_CLIENT";
    if (error instanceof CognitoJwtInvalidTokenUseError) return "TOKEN_WRONG_USE";
    if (error instanceof JwtInvalidSignatureError || error instanceof JwtInvalidSignatureAlgorithmError) {
      return "TOKEN_SIGNATURE_INVALID";
    }
    if (
      error instanceof KidNotFoundInJwksError ||
      error instanceof WaitPeriodNotYetEndedJwkError ||
      error instanceof JwtWithoutValidKidError
    ) {
      return "TOKEN_UNKNOWN_KEY";
    }
    if (error instanceof JwtParseError) return "TOKEN_MALFORMED";
    return "TOKEN_INVALID";
  };
  const reason = reasonOf();
  return reason === "UNAVAILABLE" ? new AuthUnavailableError("KEYS_UNAVAILABLE", detail) : new InvalidTokenError(reason, detail);
}
