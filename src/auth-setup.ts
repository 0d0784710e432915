import { join } from "node:path";
import {
  cognitoCallGuard,
  cognitoUserAttributes,
  createTokenVerifier,
  createVerifiedEmailLookup,
  DevIssuer,
  JwksFetcher,
  type CognitoCallGuardOptions,
  type TokenVerifier,
  type VerifiedEmailLookup,
} from "./auth/index.js";
import type { Config } from "./config.js";
import { DEV_CLIENT_IDS, devUserAttributes } from "./dev/personas.js";

export interface AuthSetup {
  readonly verifier: TokenVerifier;
  /** Present in dev mode only. */
  readonly devIssuer: DevIssuer | null;
  /**
   * The caller's verified email: Cognito's `GetUser` with the caller's access token, or in dev mode the
   * personas' attributes, through the same cached lookup.
   */
  readonly emailLookup: VerifiedEmailLookup;
}

/** Where the dev issuer keeps its key pairs, so dev tokens survive restarts. */
export const devKeysFile = (config: Pick<Config, "dataDir">) => join(config.dataDir, "dev-issuer-keys.json");

/**
 * The verifier for the configured mode. Dev mode uses the same `CognitoJwtVerifier` path as production;
 * only the key-set "endpoint" is the dev issuer in memory instead of Cognito over the network. With a pool, the
 * email lookup's `GetUser` calls go through a deadline and circuit breaker (COGNITO_TIMEOUT_MS, COGNITO_BREAKER_*),
 * reported to `cognitoCalls` (metrics and logs; `cognitoCallReporting` in src/bounds-reporting.ts).
 */
export function setUpAuth(
  config: Config,
  onKeySetFetch?: (result: "ok" | "failed" | "skipped") => void,
  cognitoCalls?: CognitoCallReporting,
): AuthSetup {
  const { auth } = config;
  if (config.mode === "dev") {
    const devIssuer = DevIssuer.load(devKeysFile(config));
    const body = new TextEncoder().encode(JSON.stringify(devIssuer.jwks()));
    const verifier = createTokenVerifier({
      userPoolIds: [devIssuer.userPoolId],
      clientIds: DEV_CLIENT_IDS,
      tokenUse: auth.tokenUse,
      clockSkewSeconds: auth.clockSkewSeconds,
      fetcher: { fetch: async () => body.slice().buffer },
    });
    return { verifier, devIssuer, emailLookup: createVerifiedEmailLookup({ source: devUserAttributes }) };
  }
  const uris = auth.jwksUris;
  const redirect = uris
    ? (cognitoUri: string) => {
        if (uris.length === 1) return uris[0]!;
        const index = auth.userPoolIds.findIndex((id) => cognitoUri.includes(`/${id}/`));
        return uris[index] ?? cognitoUri;
      }
    : undefined;
  const verifier = createTokenVerifier({
    userPoolIds: auth.userPoolIds,
    replicaRegions: auth.replicaRegions,
    accessTokenAudiences: auth.accessTokenAudiences,
    issuers: auth.issuers,
    clientIds: auth.clientIds,
    tokenUse: auth.tokenUse,
    clockSkewSeconds: auth.clockSkewSeconds,
    refreshIntervalSeconds: auth.jwksRefreshSeconds,
    fetcher: new JwksFetcher({ redirect, onFetch: onKeySetFetch }),
  });
  const guard = cognitoCallGuard({ ...cognitoGuardSettings(config), ...cognitoCalls });
  return { verifier, devIssuer: null, emailLookup: createVerifiedEmailLookup({ source: cognitoUserAttributes({ guard }) }) };
}

/**
 * One `/readyz` check per configured pool, named `keys:<pool id>`: true while the pool's key set is loaded. Given to
 * the server's `readinessChecks` beside its own `keys` (every pool at once), so a failing pool is named.
 */
export function keySetReadinessChecks(verifier: TokenVerifier): Record<string, () => Promise<boolean>> {
  const pools = verifier.keySets?.() ?? [];
  return Object.fromEntries(
    pools.map(({ userPoolId }) => [
      `keys:${userPoolId}`,
      async () => verifier.keySets!().find((k) => k.userPoolId === userPoolId)?.ready ?? false,
    ]),
  );
}

/** Where guarded Cognito calls report (metrics and logs; see `cognitoCallReporting` in src/bounds-reporting.ts). */
export type CognitoCallReporting = Pick<CognitoCallGuardOptions, "onOutcome" | "onCircuitChange">;

/** The configured deadline and breaker of Cognito calls (COGNITO_TIMEOUT_MS, COGNITO_BREAKER_*). */
export const cognitoGuardSettings = ({ bounds }: Pick<Config, "bounds">): CognitoCallGuardOptions => ({
  timeoutMs: bounds.cognitoTimeoutMs,
  breakerFailures: bounds.cognitoBreakerFailures,
  breakerOpenMs: bounds.cognitoBreakerOpenSeconds * 1000,
});
