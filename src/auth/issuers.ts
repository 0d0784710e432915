/**
 * Every issuer a configured Cognito user pool's tokens may carry, and where each one's key set is fetched from.
 * See docs/tokens.md "Issuers" for the sources of each form.
 */

/** How an issuer came to be accepted. */
export type IssuerForm =
  /** `https://cognito-idp.<region>.amazonaws.com/<pool>`: Cognito's ORIGINAL issuer (aws-jwt-verify's). */
  | "original"
  /** `https://issuer-cognito-idp.<region>.amazonaws.com/<pool>`: the UPDATED issuer, region = the primary's (aws-jwt-verify's). */
  | "updated"
  /** `https://cognito-idp.<replica region>.<suffix>/<pool>`: an ORIGINAL issuer of a replica region (COGNITO_REPLICA_REGIONS). */
  | "replica"
  /** The ORIGINAL and UPDATED forms on the partition's own DNS suffix (`amazonaws.eu` for EU Sovereign Cloud pools). */
  | "partition";

export interface PoolIssuer {
  /** The exact `iss` value accepted. */
  readonly issuer: string;
  readonly userPoolId: string;
  readonly form: IssuerForm;
  /** Where the key set for tokens of this issuer is fetched: `<issuer>/.well-known/jwks.json`, as Cognito publishes it. */
  readonly jwksUri: string;
  /** Whether `aws-jwt-verify`'s `CognitoJwtVerifier` derives this issuer itself (else a `JwtRsaVerifier` is given it). */
  readonly library: boolean;
}

const POOL_REGION = /^(?<region>(?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d)_[a-zA-Z0-9]+$/;

/** `us-east-1` of `us-east-1_AbC`; throws for an id that is not a Cognito user pool id (config refuses those first). */
export function regionOfPool(userPoolId: string): string {
  const region = POOL_REGION.exec(userPoolId)?.groups?.region;
  if (!region) throw new Error(`Not a Cognito user pool id: ${userPoolId}`);
  return region;
}

/**
 * The DNS suffix of a region's partition: `amazonaws.eu` for the AWS European Sovereign Cloud (`eusc-*`, as the AWS
 * SDK's partition table gives it), `amazonaws.com` otherwise.
 */
export const dnsSuffixOf = (region: string) => (region.startsWith("eusc-") ? "amazonaws.eu" : "amazonaws.com");

const entry = (issuer: string, userPoolId: string, form: IssuerForm, library: boolean): PoolIssuer => ({
  issuer,
  userPoolId,
  form,
  jwksUri: `${issuer}/.well-known/jwks.json`,
  library,
});

/**
 * The issuers of one pool: its ORIGINAL and UPDATED issuers as aws-jwt-verify derives them (on `amazonaws.com`),
 * the same two on the partition's own suffix where that differs (EU Sovereign Cloud), and an ORIGINAL issuer per
 * replica region other than the pool's own. The first entry is the pool's home issuer, whose key set must load before
 * the pool counts as ready: the ORIGINAL issuer in the pool's own region on its partition's suffix, which Cognito
 * serves for every pool whichever issuer format it signs with (the UPDATED host answers 403 for pools still on
 * ORIGINAL: aws-jwt-verify issue #279).
 */
export function issuersOfPool(userPoolId: string, replicaRegions: readonly string[] = []): PoolIssuer[] {
  const region = regionOfPool(userPoolId);
  const suffix = dnsSuffixOf(region);
  const issuers: PoolIssuer[] = [];
  if (suffix !== "amazonaws.com") {
    issuers.push(entry(`https://cognito-idp.${region}.${suffix}/${userPoolId}`, userPoolId, "partition", false));
    issuers.push(entry(`https://issuer-cognito-idp.${region}.${suffix}/${userPoolId}`, userPoolId, "partition", false));
  }
  issuers.push(entry(`https://cognito-idp.${region}.amazonaws.com/${userPoolId}`, userPoolId, "original", true));
  issuers.push(entry(`https://issuer-cognito-idp.${region}.amazonaws.com/${userPoolId}`, userPoolId, "updated", true));
  for (const replica of new Set(replicaRegions)) {
    // Multi-Region replication stays inside a partition; a replica region of another partition cannot sign for this pool.
    if (replica === region || dnsSuffixOf(replica) !== suffix) continue;
    issuers.push(entry(`https://cognito-idp.${replica}.${suffix}/${userPoolId}`, userPoolId, "replica", false));
  }
  return issuers;
}
