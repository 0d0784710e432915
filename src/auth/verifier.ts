import { CognitoJwtVerifier, JwtRsaVerifier } from "aws-jwt-verify";
import { validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";
import { SimplePenaltyBox } from "aws-jwt-verify/jwk";
import type { Fetcher } from "aws-jwt-verify/https";
import type { JwtPayload } from "aws-jwt-verify/jwt-model";
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
import { KeySetCache } from "./key-set-cache.js";
import { principalFromClaims, type Principal, type VerifiedClaims } from "./principal.js";
import { VerifiedTokenCache } from "./token-cache.js";

/** Cognito tokens are at most a few KiB; anything larger is refused before it is parsed. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** Cognito access and ID tokens live at most one day. */
export const MAX_LIFETIME_SECONDS = 24 * 60 * 60;
const ALLOWED_HEADER_KEYS = new Set(["alg", "kid", "typ"]);
const SEGMENT = /^[A-Za-z0-9_-]+$/;

export interface VerifierOptions {
  /** Accepted user pools, e.g. `us-east-1_AbC123`. Required, at least one. */
  readonly userPoolIds: readonly string[];
  /** Accepted app client ids (`client_id` of access tokens, `aud` of ID tokens). Required, at least one. */
  readonly clientIds: readonly string[];
  /** Which tokens are accepted. */
  readonly tokenUse: "access" | "id" | "any";
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. */
  readonly clockSkewSeconds: number;
  /**
   * Local emulators only (cognito-local, LocalStack): the issuer of each pool, in the order of `userPoolIds`,
   * instead of the pools' Cognito issuers. Tokens are then verified by `aws-jwt-verify`'s generic
   * `JwtRsaVerifier` (the Cognito verifier derives the issuer from the pool id) with the same Cognito checks of
   * `token_use` and client, and the key set is fetched from `<issuer>/.well-known/jwks.json`. Default: none.
   */
  readonly issuers?: readonly string[] | null;
  /** Fetches key sets; gets the pool's Cognito key-set URL (or the emulator's, with `issuers`). */
  readonly fetcher: Fetcher;
  /** Seconds to wait before fetching again for an unknown `kid`. Default 10. */
  readonly unknownKidWaitSeconds?: number;
  /** Verified tokens remembered (0 turns the cache off). Default 10,000. */
  readonly tokenCacheSize?: number;
  /** Seconds between key-set refreshes after `hydrate()` (0: never). Default 900. */
  readonly refreshIntervalSeconds?: number;
}

export interface TokenVerifier {
  /** Loads every pool's key set; call before the server reports ready. Throws `AuthUnavailableError`. */
  hydrate(): Promise<void>;
  /** Verifies a bearer token once, fully. Throws `InvalidTokenError` (401) or `AuthUnavailableError` (503). */
  verify(token: string): Promise<Principal>;
  /** Fetches every key set again now; returns how many fetches failed. Also runs on a timer after hydrate(). */
  refreshKeys(): Promise<number>;
  /** Whether the key sets are loaded, i.e. some key is trusted (readiness). hydrate() loads every pool or throws. */
  keysLoaded(): boolean;
  /** Stops the refresh timer. */
  close(): void;
}

/** The issuers a pool's tokens may carry: Cognito's regional format and its newer global format. */
export function issuersOfPool(userPoolId: string): string[] {
  const region = userPoolId.split("_")[0];
  return [
    `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`,
    `https://issuer-cognito-idp.${region}.amazonaws.com/${userPoolId}`,
  ];
}

/** Builds the verifier once at start: every token goes through `aws-jwt-verify`'s `CognitoJwtVerifier`. */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const skew = options.clockSkewSeconds;
  const emulatorIssuers = options.issuers && options.issuers.length > 0 ? options.issuers : null;
  const issuers = new Set(emulatorIssuers ?? options.userPoolIds.flatMap(issuersOfPool));
  const jwksCache = new KeySetCache({
    fetcher: options.fetcher,
    penaltyBox: new SimplePenaltyBox({ waitSeconds: options.unknownKidWaitSeconds ?? 10 }),
  });
  const tokenUse = options.tokenUse === "any" ? null : options.tokenUse;
  const customJwtCheck = ({ payload }: { payload: object }) => checkClaims(payload as Record<string, unknown>, skew);
  const verifier: { hydrate(): Promise<void>; verify(token: string): Promise<unknown> } = emulatorIssuers
    ? JwtRsaVerifier.create(
        emulatorIssuers.map((issuer) => ({
          issuer,
          jwksUri: `${issuer.replace(/\/+$/, "")}/.well-known/jwks.json`,
          // Checked the Cognito way below: client_id for access tokens, aud for ID tokens.
          audience: null,
          graceSeconds: skew,
          customJwtCheck: ({ payload }: { payload: JwtPayload }) => {
            validateCognitoJwtFields(payload, { tokenUse, clientId: [...options.clientIds], groups: null });
            customJwtCheck({ payload });
          },
        })),
        { jwksCache },
      )
    : CognitoJwtVerifier.create(
        options.userPoolIds.map((userPoolId) => ({
          userPoolId,
          clientId: [...options.clientIds],
          tokenUse,
          graceSeconds: skew,
          customJwtCheck,
        })),
        { jwksCache },
      );

  const tokens = new VerifiedTokenCache(options.tokenCacheSize ?? 10_000);
  let refreshTimer: NodeJS.Timeout | undefined;

  return {
    async hydrate() {
      try {
        await verifier.hydrate();
      } catch (error) {
        throw mapLibraryError(error);
      }
      const interval = options.refreshIntervalSeconds ?? 900;
      if (interval > 0 && refreshTimer === undefined) {
        refreshTimer = setInterval(() => void jwksCache.refresh(), interval * 1000).unref();
      }
    },
    async verify(token) {
      const now = Date.now() / 1000;
      const cached = tokens.get(token, now, jwksCache.trustedKids);
      if (cached) return cached;
      const kid = precheck(token, issuers);
      let payload;
      try {
        payload = (await verifier.verify(token)) as unknown as VerifiedClaims;
      } catch (error) {
        throw mapLibraryError(error);
      }
      const principal = principalFromClaims(payload);
      tokens.set(token, { principal, validUntil: payload.exp + skew, kid });
      return principal;
    },
    refreshKeys: () => jwksCache.refresh(),
    keysLoaded: () => jwksCache.trustedKids.size > 0,
    close() {
      clearInterval(refreshTimer);
      refreshTimer = undefined;
    },
  };
}

/**
 * Checks made before the library sees the token, so that nothing is fetched or parsed leniently for a token
 * that is malformed, oversized, asks for a key we would never use, or names an issuer we do not trust.
 * Returns the token's `kid`.
 */
export function precheck(token: string, issuers: ReadonlySet<string>): string {
  if (token.length > MAX_TOKEN_BYTES) throw new InvalidTokenError("TOKEN_TOO_LARGE", `Token is over ${MAX_TOKEN_BYTES} bytes`);
  const segments = token.split(".");
  // Strict base64url without padding; a length of 1 mod 4 cannot be produced by any encoder.
  if (segments.length !== 3 || !segments.every((s) => SEGMENT.test(s) && s.length % 4 !== 1)) {
    throw new InvalidTokenError("TOKEN_MALFORMED", "Token is not three base64url segments without padding");
  }
  if (!segments.every(hasZeroPadBits)) throw new InvalidTokenError("TOKEN_MALFORMED", "Token is not canonical base64url (pad bits set)");
  const header = decodeSegment(segments[0]!, "header");
  for (const key of Object.keys(header)) {
    if (!ALLOWED_HEADER_KEYS.has(key)) {
      throw new InvalidTokenError("TOKEN_HEADER_REJECTED", `Header parameter "${key}" is not accepted`);
    }
  }
  // Cognito signs with RS256 only: refusing everything else closes alg confusion before any key lookup.
  if (header.alg !== "RS256") throw new InvalidTokenError("TOKEN_HEADER_REJECTED", "Header alg must be RS256");
  if (typeof header.kid !== "string" || header.kid === "") {
    throw new InvalidTokenError("TOKEN_HEADER_REJECTED", "Header kid must be a non-empty string");
  }
  if (header.typ !== undefined && header.typ !== "JWT") {
    throw new InvalidTokenError("TOKEN_HEADER_REJECTED", "Header typ must be JWT when present");
  }
  const payload = decodeSegment(segments[1]!, "payload");
  if (typeof payload.iss !== "string" || !issuers.has(payload.iss)) {
    // Shown in dev mode only (production answers with the reason code): which issuer came, which are accepted.
    const came = typeof payload.iss === "string" ? JSON.stringify(payload.iss.slice(0, 200)) : "missing";
    throw new InvalidTokenError("TOKEN_WRONG_ISSUER", `Issuer ${came} is not a configured user pool; accepted: ${[...issuers].join(", ")}`);
  }
  checkClaimTypes(payload);
  return header.kid;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Whether the last character of a base64url segment leaves its unused low bits zero, as every encoder writes them
 * (RFC 4648 section 3.5 lets decoders refuse otherwise). Decoders ignore those bits, so without this check one token
 * would have several spellings (change the signature's last character from A to B and it still verifies): each
 * would be a different token to the verified-token cache and to anything that compares tokens as strings.
 */
function hasZeroPadBits(segment: string): boolean {
  const unusedBits = segment.length % 4 === 2 ? 4 : segment.length % 4 === 3 ? 2 : 0;
  return unusedBits === 0 || (BASE64URL.indexOf(segment[segment.length - 1]!) & ((1 << unusedBits) - 1)) === 0;
}

const isNumber = (value: unknown) => typeof value === "number" && Number.isFinite(value);
const isString = (value: unknown) => typeof value === "string";
const isStringArray = (value: unknown) => Array.isArray(value) && value.every(isString);

/**
 * Claim types, checked before the library parses them: it refuses some wrong types itself, but only as a
 * generic parse error, and it ignores others (`cognito:groups` as a string would reach our rules).
 */
function checkClaimTypes(payload: Record<string, unknown>): void {
  const wrong = (detail: string) => new InvalidTokenError("TOKEN_CLAIMS_INVALID", detail);
  if (!isNumber(payload.exp)) throw wrong("exp must be a number");
  if (!isNumber(payload.iat)) throw wrong("iat must be a number");
  if (payload.nbf !== undefined && !isNumber(payload.nbf)) throw wrong("nbf must be a number");
  if (!isString(payload.sub) || payload.sub === "") throw wrong("sub must be a non-empty string");
  if (payload.jti !== undefined && !isString(payload.jti)) throw wrong("jti must be a string");
  if (payload.origin_jti !== undefined && !isString(payload.origin_jti)) throw wrong("origin_jti must be a string");
  if (payload.auth_time !== undefined && !isNumber(payload.auth_time)) throw wrong("auth_time must be a number");
  if (payload.aud !== undefined && !isString(payload.aud) && !isStringArray(payload.aud)) {
    throw wrong("aud must be a string or an array of strings");
  }
  if (payload["cognito:groups"] !== undefined && !isStringArray(payload["cognito:groups"])) {
    throw wrong("cognito:groups must be an array of strings");
  }
  if (payload.scope !== undefined && !isString(payload.scope)) throw wrong("scope must be a string");
}

function decodeSegment(segment: string, part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    throw new InvalidTokenError("TOKEN_MALFORMED", `Token ${part} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidTokenError("TOKEN_MALFORMED", `Token ${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Time rules the library does not apply; runs after the signature is verified (`customJwtCheck`). Types were
 * checked in `precheck`; they are checked again here so that this function is safe on its own.
 */
export function checkClaims(payload: Record<string, unknown>, skewSeconds: number, now = Date.now() / 1000): void {
  checkClaimTypes(payload);
  const iat = payload.iat as number;
  if (iat > now + skewSeconds) throw claimError("TOKEN_ISSUED_IN_FUTURE", "iat is in the future");
  if ((payload.exp as number) - iat > MAX_LIFETIME_SECONDS) throw claimError("TOKEN_LIFETIME_TOO_LONG", "Lifetime exceeds one day");
}

const claimError = (reason: AuthReason, detail: string) => new InvalidTokenError(reason, detail);

/** The library's error classes, mapped onto our reasons. Anything unknown is an invalid token, never a 500. */
function mapLibraryError(error: unknown): AuthError {
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
  return reason === "UNAVAILABLE"
    ? new AuthUnavailableError("KEYS_UNAVAILABLE", detail)
    : new InvalidTokenError(reason, detail);
}
