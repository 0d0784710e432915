/** Who is calling, as every resolver sees it in `context.principal` (`null` when anonymous). */
export interface Principal {
  /** The token's `sub`; for a machine client (client-credentials grant) this is its client id. */
  readonly sub: string;
  /** `USER` for a person's token; `CLIENT` for an access token without `username` (client-credentials grant). */
  readonly kind: "USER" | "CLIENT";
  readonly username: string | null;
  /**
   * The caller's email, only when Cognito says it is verified (an ID token's `email` with `email_verified`
   * `true` or `"true"`); `null` for access tokens, tokens without an email, and unverified emails. Anyone can
   * sign up with someone else's address, so an unverified one is never presented as the caller's.
   */
  readonly email: string | null;
  /** Whether the token carries a verified email (then `email` holds it). */
  readonly emailVerified: boolean;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly tokenUse: "access" | "id";
  /** `client_id` of an access token, `aud` of an ID token. */
  readonly clientId: string;
  readonly issuer: string;
  readonly expiresAt: Date;
  /** The token's `jti`, for audit logs; never used for decisions. */
  readonly tokenId: string | null;
  /**
   * Cognito's `origin_jti`: one sign-in's session, shared by its access and ID tokens and every token refreshed
   * from it; `null` when the token has none (client-credentials tokens, older pools). Session revocation
   * (`revokeSession`) matches on it.
   */
  readonly sessionId: string | null;
  /**
   * When the person signed in: `auth_time`, or the token's `iat` when it has none. Tokens refreshed from one
   * sign-in keep its `auth_time`, so revoking a subject's sessions before a moment also catches tokens refreshed
   * from those sessions later. Whole seconds (JWT NumericDate, RFC 7519 section 2).
   */
  readonly authTime: Date;
}

/** The claims we read; verification has already checked their presence and types. */
export interface VerifiedClaims {
  readonly sub: string;
  readonly iss: string;
  readonly exp: number;
  readonly iat: number;
  readonly auth_time?: unknown;
  readonly origin_jti?: unknown;
  readonly token_use: "access" | "id";
  readonly client_id?: unknown;
  readonly aud?: unknown;
  readonly username?: unknown;
  readonly "cognito:username"?: unknown;
  readonly "cognito:groups"?: unknown;
  readonly scope?: unknown;
  readonly email?: unknown;
  readonly email_verified?: unknown;
  readonly jti?: unknown;
}

const asString = (value: unknown): string | null => (typeof value === "string" ? value : null);

/**
 * Cognito sends `email_verified` as a JSON boolean or as the string `"true"`/`"false"` (it varies with the
 * token and the trigger that shaped it). Only those two spellings of true count; anything else is unverified.
 */
export function isEmailVerified(claim: unknown): boolean {
  return claim === true || claim === "true";
}

/** Verified claims to Principal. Pure: no I/O, no clock. */
export function principalFromClaims(claims: VerifiedClaims): Principal {
  const isAccess = claims.token_use === "access";
  // Access tokens carry no email; an email claim on one is not Cognito's and is ignored.
  const claimedEmail = isAccess ? null : asString(claims.email);
  const emailVerified = claimedEmail !== null && isEmailVerified(claims.email_verified);
  const username = asString(isAccess ? claims.username : claims["cognito:username"]);
  const groups = Array.isArray(claims["cognito:groups"]) ? (claims["cognito:groups"] as string[]) : [];
  const scope = asString(claims.scope);
  return Object.freeze({
    sub: claims.sub,
    kind: isAccess && username === null ? "CLIENT" : "USER",
    username,
    email: emailVerified ? claimedEmail : null,
    emailVerified,
    groups: Object.freeze([...groups]),
    scopes: Object.freeze(scope ? scope.split(" ").filter((s) => s !== "") : []),
    tokenUse: claims.token_use,
    clientId: asString(isAccess ? claims.client_id : Array.isArray(claims.aud) ? claims.aud[0] : claims.aud) ?? "",
    issuer: claims.iss,
    expiresAt: new Date(claims.exp * 1000),
    tokenId: asString(claims.jti),
    sessionId: asString(claims.origin_jti),
    authTime: new Date((typeof claims.auth_time === "number" ? claims.auth_time : claims.iat) * 1000),
  });
}
