/** Who is calling, as every resolver sees it in `context.principal` (`null` when anonymous). */
export interface Principal {
  /** The token's `sub`; for a machine client (client-credentials grant) this is its client id. */
  readonly sub: string;
  /** `USER` for a person's token; `CLIENT` for an access token without `username` (client-credentials grant). */
  readonly kind: "USER" | "CLIENT";
  readonly username: string | null;
  /**
   * The caller's email, only when the token says it is verified (`email` with `email_verified` `true` or `"true"`:
   * an ID token, or an access token that the pre-token-generation trigger gave both); `null` for machine clients,
   * tokens without an email, and unverified emails. Anyone can sign up with someone else's address, so an
   * unverified one is never presented as the caller's.
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
  /**
   * The token's other claims, as JSON (frozen): custom claims a pre-token-generation trigger added (any JSON type),
   * an ID token's user attributes (`name`, `custom:tier`, ...). Everything the Principal reads itself, and the
   * protocol claims (`CLAIMS_NOT_CUSTOM`), are left out. Never read for groups, scopes or `kind`.
   */
  readonly customClaims: Readonly<Record<string, JsonValue>>;
}

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Claims that are Cognito's or JWT's own (read into the Principal, or protocol), so never among `customClaims`. */
export const CLAIMS_NOT_CUSTOM: ReadonlySet<string> = new Set([
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "nbf",
  "jti",
  "auth_time",
  "origin_jti",
  "event_id",
  "token_use",
  "version",
  "client_id",
  "username",
  "cognito:username",
  "cognito:groups",
  "scope",
  "email",
  "email_verified",
  "at_hash",
  "nonce",
  "device_key",
]);

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

/**
 * Verified claims to Principal. Pure: no I/O, no clock. `kind` comes from structure only: an access token is a
 * machine client's (`CLIENT`) when it has no `username` or its `sub` is its `client_id` (the client-credentials
 * grant), whatever else a V3 trigger added to it; a machine client has no username, groups or email.
 */
export function principalFromClaims(claims: VerifiedClaims, issuer: string = claims.iss): Principal {
  const isAccess = claims.token_use === "access";
  const claimedUsername = asString(isAccess ? claims.username : claims["cognito:username"]);
  const isClient = isAccess && (claimedUsername === null || claims.sub === claims.client_id);
  const username = isClient ? null : claimedUsername;
  // Access tokens carry an email only when the pre-token-generation trigger (V2) added it; it counts when verified.
  const claimedEmail = isClient ? null : asString(claims.email);
  const emailVerified = claimedEmail !== null && isEmailVerified(claims.email_verified);
  const groups = !isClient && Array.isArray(claims["cognito:groups"]) ? (claims["cognito:groups"] as string[]) : [];
  return Object.freeze({
    sub: claims.sub,
    kind: isClient ? "CLIENT" : "USER",
    username,
    email: emailVerified ? claimedEmail : null,
    emailVerified,
    groups: groups.length === 0 ? NONE : Object.freeze([...groups]),
    scopes: scopesOf(asString(claims.scope)),
    tokenUse: claims.token_use,
    clientId: asString(isAccess ? claims.client_id : Array.isArray(claims.aud) ? claims.aud[0] : claims.aud) ?? "",
    issuer: issuer === claims.iss ? issuer : claims.iss,
    expiresAt: new Date(claims.exp * 1000),
    tokenId: asString(claims.jti),
    sessionId: asString(claims.origin_jti),
    authTime: new Date((typeof claims.auth_time === "number" ? claims.auth_time : claims.iat) * 1000),
    customClaims: customClaimsOf(claims),
  });
}

/**
 * Names never in `customClaims`: `CLAIMS_NOT_CUSTOM`, and `__proto__` and `constructor`, which aws-jwt-verify's own
 * parser drops (prototype pollution). One set, so each claim name costs one lookup.
 */
const NOT_CUSTOM_OR_UNSAFE: ReadonlySet<string> = new Set([...CLAIMS_NOT_CUSTOM, "__proto__", "constructor"]);

/**
 * The `groups` or `scopes` of every token that has none: one frozen array, shared (a never-seen token's Principal is
 * kept in the verified-token cache, so each object it holds is one more for the collector to move).
 */
const NONE: readonly string[] = Object.freeze([]);

/**
 * The last scope claim split and its scopes (frozen): the tokens of one app client mostly carry the same scope
 * claim, so a never-seen token's Principal usually shares the array instead of holding one more of its own.
 */
let lastScopeClaim = "";
let lastScopes: readonly string[] = NONE;

/** A `scope` claim's scopes: split on spaces, without empty members (a double, leading or trailing space). */
function scopesOf(scope: string | null): readonly string[] {
  if (!scope) return NONE;
  if (scope === lastScopeClaim) return lastScopes;
  const split = scope.split(" ");
  const scopes = Object.freeze(split.includes("") ? split.filter((s) => s !== "") : split);
  lastScopeClaim = scope;
  lastScopes = scopes;
  return scopes;
}

/** The `customClaims` of every token that has none (most access tokens): one frozen object, shared, as `NONE`. */
const NO_CUSTOM_CLAIMS: Readonly<Record<string, JsonValue>> = Object.freeze({});

/**
 * The claims not in `CLAIMS_NOT_CUSTOM`, deep-frozen so that no resolver can change what the next request with the
 * same (cached) token sees. Iterative, so a deeply nested claim cannot exhaust the stack (a token is at most 8 KiB).
 * A loop over the names rather than entries/filter/fromEntries: it runs for every never-seen token, and most have
 * no custom claim at all.
 */
function customClaimsOf(claims: VerifiedClaims): Readonly<Record<string, JsonValue>> {
  let custom: Record<string, JsonValue> | undefined;
  for (const name of Object.keys(claims)) {
    if (NOT_CUSTOM_OR_UNSAFE.has(name)) continue;
    // "__proto__" is left out above, so an assignment defines a plain own property like any other.
    (custom ??= {})[name] = (claims as unknown as Record<string, JsonValue>)[name]!;
  }
  if (custom === undefined) return NO_CUSTOM_CLAIMS;
  const pending: object[] = [custom];
  while (pending.length > 0) {
    const value = pending.pop()!;
    Object.freeze(value);
    for (const inner of Object.values(value))
      if (typeof inner === "object" && inner !== null && !Object.isFrozen(inner)) pending.push(inner);
  }
  return custom;
}
