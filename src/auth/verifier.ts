import { CognitoJwtVerifier, JwtRsaVerifier } from "aws-jwt-verify";
import { validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";
import { SimplePenaltyBox } from "aws-jwt-verify/jwk";
import type { Fetcher } from "aws-jwt-verify/https";
import type { JwtPayload } from "aws-jwt-verify/jwt-model";
import { AuthUnavailableError } from "./errors.js";
import { issuersOfPool, type PoolIssuer } from "./issuers.js";
import { KeySetCache } from "./key-set-cache.js";
import { mapLibraryError } from "./library-errors.js";
import { KEY_NOT_CACHED, parseOnce, type ParseOnceVerifier } from "./parse-once.js";
import { checkClaims, KnownHeaders, precheck } from "./precheck.js";
import { principalFromClaims, type Principal, type VerifiedClaims } from "./principal.js";
import { VerifiedTokenCache } from "./token-cache.js";

export { checkClaims, MAX_LIFETIME_SECONDS, MAX_TOKEN_BYTES, precheck } from "./precheck.js";

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
   * Regions the pools are replicated to (multi-Region replication, COGNITO_REPLICA_REGIONS): a token whose ORIGINAL
   * issuer names one of them with a configured pool id is accepted, checked with the key set that region publishes
   * at `<issuer>/.well-known/jwks.json`. Default: none.
   */
  readonly replicaRegions?: readonly string[];
  /**
   * Resource server identifiers (COGNITO_ACCESS_TOKEN_AUDIENCE): when given, an access token's `aud` must be or
   * contain one of them, else it is refused with `TOKEN_WRONG_AUDIENCE`. Default `null`: `aud` is not required.
   */
  readonly accessTokenAudiences?: readonly string[] | null;
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

/** One configured pool's key set, as readiness sees it. */
export interface PoolKeySet {
  readonly userPoolId: string;
  /** The pool's home key-set URL (ORIGINAL issuer, own region), before any COGNITO_JWKS_URI redirect. */
  readonly jwksUri: string;
  /** Whether its keys are loaded, i.e. the pool's tokens can be verified. */
  readonly ready: boolean;
}

export interface TokenVerifier {
  /**
   * Loads every pool's home key set, each of which must load: throws `KeySetUnavailableError` naming the first pool
   * that failed. The other issuers' key sets (UPDATED, replica regions) are fetched too, but their failure does not
   * fail the start: a pool still on ORIGINAL answers 403 on its UPDATED host (aws-jwt-verify issue #279).
   */
  hydrate(): Promise<void>;
  /** Verifies a bearer token once, fully. Throws `InvalidTokenError` (401) or `AuthUnavailableError` (503). */
  verify(token: string): Promise<Principal>;
  /** Fetches every key set again now; returns how many fetches failed. Also runs on a timer after hydrate(). */
  refreshKeys(): Promise<number>;
  /** Readiness: whether every configured pool has a usable key set (its home key set is loaded). */
  keysLoaded(): boolean;
  /** Each configured pool's key set and whether it is loaded (`/readyz` checks, the `auth_key_set_ready` gauge). Optional for stand-ins. */
  keySets?(): readonly PoolKeySet[];
  /** Stops the refresh timer. */
  close(): void;
}

/** A pool's key set could not be loaded at start: names the pool and the key-set URL. */
export class KeySetUnavailableError extends AuthUnavailableError {
  constructor(
    readonly userPoolId: string,
    readonly jwksUri: string,
    cause: string,
  ) {
    super("KEYS_UNAVAILABLE", `user pool ${userPoolId}: the key set at ${jwksUri} could not be loaded (${cause})`);
  }
}

type LibraryVerifier = ParseOnceVerifier;

/** Builds the verifier once at start: every token goes through `aws-jwt-verify`'s verifiers. */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const skew = options.clockSkewSeconds;
  const table = issuerTable(options);
  const issuers = new Set(table.map((i) => i.issuer));
  const jwksCache = new KeySetCache({
    fetcher: options.fetcher,
    penaltyBox: new SimplePenaltyBox({ waitSeconds: options.unknownKidWaitSeconds ?? 10 }),
  });
  // The payload precheck parsed and type-checked for the verification in progress: the library hands that very
  // object to customJwtCheck (parse-once.ts), which then need not check the types again (any other object, it does).
  let prechecked: object | null = null;
  const verifierOf = libraryVerifiers(options, table, jwksCache, (payload) => payload === prechecked);
  // The configured issuer strings: a cached Principal refers to one of them rather than to its token's copy.
  const canonicalIssuer = new Map(table.map((i) => [i.issuer, i.issuer]));
  // The first issuer of each pool is its home issuer (see issuersOfPool).
  const homes = options.userPoolIds.map((id) => table.find((i) => i.userPoolId === id)!);
  const tokens = new VerifiedTokenCache(options.tokenCacheSize ?? 10_000);
  const knownHeaders = new KnownHeaders();
  let refreshTimer: NodeJS.Timeout | undefined;

  return {
    async hydrate() {
      const others = table.filter((i) => !homes.includes(i)).map((i) => i.jwksUri);
      const [required] = await Promise.all([
        Promise.allSettled(homes.map((home) => jwksCache.getJwks(home.jwksUri))),
        // Warmed, not required: a failure is a failed fetch like any other, retried when a token needs the key set.
        Promise.allSettled([...new Set(others)].map((uri) => jwksCache.getJwks(uri))),
      ]);
      const failed = required.flatMap((result, i) => (result.status === "rejected" ? [[homes[i]!, result.reason] as const] : []));
      if (failed.length > 0) {
        const [home, reason] = failed[0]!;
        const more = failed.length > 1 ? `; ${failed.length - 1} more pool(s) failed too` : "";
        throw new KeySetUnavailableError(home.userPoolId, home.jwksUri, `${mapLibraryError(reason).detail ?? reason}${more}`);
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
      const { kid, iss, decomposed } = precheck(token, issuers, knownHeaders);
      const library = verifierOf.get(iss)!;
      let payload;
      try {
        prechecked = decomposed.payload;
        // Synchronous when the key is cached; the async way (which fetches the key set) only when it is not.
        let verified = library.verifyParsedSync(token, decomposed);
        if (verified === KEY_NOT_CACHED) verified = await library.verifyParsed(token, decomposed);
        payload = verified as VerifiedClaims;
      } catch (error) {
        throw mapLibraryError(error);
      } finally {
        prechecked = null;
      }
      knownHeaders.remember(decomposed.headerB64, decomposed.header);
      // Strings shared with the configuration and the key set, so a cache entry holds fewer objects of its own.
      const principal = principalFromClaims(payload, canonicalIssuer.get(iss));
      tokens.set(token, principal, payload.exp + skew, jwksCache.canonicalKid(kid));
      return principal;
    },
    refreshKeys: () => jwksCache.refresh(),
    keysLoaded: () => homes.every((home) => jwksCache.hasKeySet(home.jwksUri)),
    keySets: () => homes.map((home) => ({ userPoolId: home.userPoolId, jwksUri: home.jwksUri, ready: jwksCache.hasKeySet(home.jwksUri) })),
    close() {
      clearInterval(refreshTimer);
      refreshTimer = undefined;
    },
  };
}

/** Every accepted issuer: the pools' Cognito issuers (see issuers.ts), or the emulators' issuers as given. */
function issuerTable(options: VerifierOptions): PoolIssuer[] {
  const emulatorIssuers = options.issuers && options.issuers.length > 0 ? options.issuers : null;
  if (!emulatorIssuers) return options.userPoolIds.flatMap((id) => issuersOfPool(id, options.replicaRegions ?? []));
  return emulatorIssuers.map((issuer, i) => ({
    issuer,
    userPoolId: options.userPoolIds[i] ?? issuer,
    form: "original",
    jwksUri: `${issuer.replace(/\/+$/, "")}/.well-known/jwks.json`,
    library: false,
  }));
}

/**
 * The library verifier of each accepted issuer. `CognitoJwtVerifier` takes the issuers it derives from a pool id
 * (ORIGINAL and UPDATED on amazonaws.com); a `JwtRsaVerifier` takes the rest (replica regions, the EU Sovereign
 * Cloud's own suffix, emulators) with the same Cognito checks of `token_use` and client and the same key-set cache.
 */
function libraryVerifiers(
  options: VerifierOptions,
  table: readonly PoolIssuer[],
  jwksCache: KeySetCache,
  typesChecked: (payload: object) => boolean,
): Map<string, LibraryVerifier> {
  const skew = options.clockSkewSeconds;
  const tokenUse = options.tokenUse === "any" ? null : options.tokenUse;
  const audiences = options.accessTokenAudiences && options.accessTokenAudiences.length > 0 ? new Set(options.accessTokenAudiences) : null;
  const customJwtCheck = ({ payload }: { payload: object }) =>
    checkClaims(payload as Record<string, unknown>, skew, Date.now() / 1000, audiences, typesChecked(payload));
  const byIssuer = new Map<string, LibraryVerifier>();
  const own = table.filter((i) => i.library);
  if (own.length > 0) {
    const cognito = CognitoJwtVerifier.create(
      [...new Set(own.map((i) => i.userPoolId))].map((userPoolId) => ({
        userPoolId,
        clientId: [...options.clientIds],
        tokenUse,
        graceSeconds: skew,
        customJwtCheck,
      })),
      { jwksCache },
    );
    const handed = parseOnce(cognito);
    for (const i of own) byIssuer.set(i.issuer, handed);
  }
  const rest = table.filter((i) => !i.library);
  if (rest.length > 0) {
    const rsa = JwtRsaVerifier.create(
      rest.map((i) => ({
        issuer: i.issuer,
        jwksUri: i.jwksUri,
        // Checked the Cognito way below: client_id for access tokens, aud for ID tokens.
        audience: null,
        graceSeconds: skew,
        customJwtCheck: ({ payload }: { payload: JwtPayload }) => {
          validateCognitoJwtFields(payload, { tokenUse, clientId: [...options.clientIds], groups: null });
          customJwtCheck({ payload });
        },
      })),
      { jwksCache },
    );
    const handed = parseOnce(rsa);
    for (const i of rest) byIssuer.set(i.issuer, handed);
  }
  return byIssuer;
}
