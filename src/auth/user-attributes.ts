import { cognitoCallGuard, type CognitoCallGuard } from "./cognito-calls.js";
import type { Principal } from "./principal.js";

/**
 * The caller's verified email, for a domain that records who its customers are. Access tokens (the default
 * token use) carry no email, so it comes from the user pool itself: Cognito's `GetUser`, called with the
 * caller's own access token (no server credentials), remembered per user for a while; an ID token's own
 * `email` counts when the source cannot answer. An email that the pool has not verified is never returned, and a
 * lookup that fails answers `null` instead of failing the request.
 */

/** The scope Cognito puts in access tokens of password and SRP sign-ins; `GetUser` refuses tokens without it. */
export const COGNITO_USER_ADMIN_SCOPE = "aws.cognito.signin.user.admin";

/**
 * Reads the attributes of the user behind a verified token (`email`, `email_verified`, ...), as Cognito's
 * `GetUser` returns them (values are strings). Answers `null` when it cannot answer for this token (no scope,
 * not a person, unknown user); throws when it tried and failed.
 */
export type UserAttributesSource = (principal: Principal, accessToken: string) => Promise<Readonly<Record<string, string>> | null>;

/**
 * The caller's verified email or `null`. Never throws: a failing source is reported to `onError` and
 * answers `null`.
 */
export type VerifiedEmailLookup = (principal: Principal, token: string, onError?: (error: unknown) => void) => Promise<string | null>;

export interface VerifiedEmailLookupOptions {
  /** Where attributes come from: `cognitoUserAttributes()` with a real pool, the dev personas in dev mode. */
  readonly source: UserAttributesSource;
  /** How long an answer is remembered per user, in seconds. Default 300. Failures are not remembered. */
  readonly ttlSeconds?: number;
  /** How many users' answers are remembered (oldest dropped first). Default 10,000. */
  readonly cacheSize?: number;
  /** The clock, in milliseconds (tests). Default `Date.now`. */
  readonly now?: () => number;
}

interface Remembered {
  readonly email: Promise<string | null>;
  readonly until: number;
}

/**
 * Builds the lookup. Answers are cached per user (issuer and `sub`), and concurrent lookups of one user share
 * one call, so a customer placing orders costs at most one `GetUser` per `ttlSeconds`.
 */
export function createVerifiedEmailLookup(options: VerifiedEmailLookupOptions): VerifiedEmailLookup {
  const ttlMs = (options.ttlSeconds ?? 300) * 1000;
  const size = options.cacheSize ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, Remembered>();
  return async (principal, token, onError) => {
    if (principal.kind !== "USER") return null;
    // The token itself says so (an ID token, or an access token with email_verified: true): no call needed.
    if (principal.email !== null) return principal.email;
    const key = `${principal.issuer} ${principal.sub}`;
    let entry = cache.get(key);
    if (!entry || entry.until <= now()) {
      const email = (async () => {
        const attributes = await options.source(principal, token);
        return verifiedAttributeEmail(attributes ?? claimsOfVerifiedIdToken(principal, token));
      })();
      entry = { email, until: now() + ttlMs };
      cache.delete(key);
      cache.set(key, entry);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
    }
    try {
      return await entry.email;
    } catch (error) {
      // Not remembered: the next request tries again. Every caller that shared the failed call gets null too.
      if (cache.get(key) === entry) cache.delete(key);
      onError?.(error);
      return null;
    }
  };
}

/** `email` when `email_verified` says so; Cognito sends the flag as the string "true" (tokens may use a boolean). */
export function verifiedAttributeEmail(attributes: Readonly<Record<string, unknown>>): string | null {
  const { email, email_verified: verified } = attributes;
  return typeof email === "string" && email !== "" && (verified === "true" || verified === true) ? email : null;
}

/**
 * An ID token carries `email` and `email_verified` itself. The token was verified for this request before any
 * resolver ran, so its payload is read as it is; access tokens carry neither.
 */
function claimsOfVerifiedIdToken(principal: Principal, token: string): Readonly<Record<string, unknown>> {
  if (principal.tokenUse !== "id") return {};
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Minimal view of the AWS SDK client, so that it can be loaded only when the first lookup needs it. */
interface GetUserClient {
  getUser(accessToken: string, signal: AbortSignal): Promise<Record<string, string>>;
}

export interface CognitoUserAttributesOptions {
  /**
   * The deadline and circuit breaker of every `GetUser` call (`cognitoCallGuard`). Default: a guard of its own
   * with the guard's defaults (3 s, open after 5 failures for 30 s).
   */
  readonly guard?: CognitoCallGuard;
}

/**
 * Attributes from Cognito's `GetUser` with the caller's own access token. The AWS SDK is configured by its
 * standard settings only: the region is the pool's (from the token's issuer) or `AWS_REGION` when the pool id
 * has none (emulators), and `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` or `AWS_ENDPOINT_URL` point it at an
 * emulator. `GetUser` is not signed, so no AWS credentials are needed. ID tokens and access tokens without the
 * `aws.cognito.signin.user.admin` scope (e.g. hosted-UI sign-ins that did not ask for it) are not looked up.
 */
export function cognitoUserAttributes(options: CognitoUserAttributesOptions = {}): UserAttributesSource {
  const guard = options.guard ?? cognitoCallGuard();
  const clients = new Map<string, Promise<GetUserClient>>();
  return async (principal, accessToken) => {
    if (principal.tokenUse !== "access" || !principal.scopes.includes(COGNITO_USER_ADMIN_SCOPE)) return null;
    const region = regionOfIssuer(principal.issuer) ?? "";
    let client = clients.get(region);
    if (!client) {
      client = sdkClient(region || undefined);
      clients.set(region, client);
    }
    // Loading the SDK is inside the deadline too: it is part of what the request waits for.
    return guard.run("GetUser", async (signal) => (await client).getUser(accessToken, signal));
  };
}

async function sdkClient(region: string | undefined): Promise<GetUserClient> {
  // Loaded on first use: the SDK is large, and a Lambda cold start should not pay for it before it is needed.
  const { CognitoIdentityProviderClient, GetUserCommand } = await import("@aws-sdk/client-cognito-identity-provider");
  const client = new CognitoIdentityProviderClient({
    ...(region ? { region } : {}),
    // One retry, within the guard's deadline: the guard's signal aborts whatever attempt is in progress.
    maxAttempts: 2,
  });
  return {
    async getUser(accessToken, signal) {
      const output = await client.send(new GetUserCommand({ AccessToken: accessToken }), { abortSignal: signal });
      return Object.fromEntries((output.UserAttributes ?? []).map((a) => [a.Name ?? "", a.Value ?? ""]));
    },
  };
}

/** The pool id of a Cognito issuer URL: `us-east-1_AbC` from `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC`. */
export const poolIdOfIssuer = (issuer: string) => issuer.slice(issuer.lastIndexOf("/") + 1);

/** `us-east-1` from the pool id `us-east-1_AbC`; undefined for ids without a region prefix (emulators). */
export function regionOfPoolId(poolId: string): string | undefined {
  const region = poolId.split("_")[0];
  return poolId.includes("_") && region && /^(?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d$/.test(region) ? region : undefined;
}

/** `us-east-1` from `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC`; undefined for other issuers. */
export const regionOfIssuer = (issuer: string) => regionOfPoolId(poolIdOfIssuer(issuer));
