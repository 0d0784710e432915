import { SimpleJwksCache, type Jwks } from "aws-jwt-verify/jwk";

/**
 * `aws-jwt-verify`'s key-set cache, plus what the verified-token cache needs: which key ids are trusted right
 * now, and a refresh that replaces every key set, so a key removed upstream stops being trusted without a
 * restart (a failed refresh keeps the keys we have: availability over freshness, for at most one interval).
 */
export class KeySetCache extends SimpleJwksCache {
  private readonly kidsByUri = new Map<string, Set<string>>();
  /** Every key id of every cached key set. */
  trustedKids: ReadonlySet<string> = new Set();
  /** Each trusted key id to the one string instance the cache holds (see `canonicalKid`). */
  private kidInstances = new Map<string, string>();

  override addJwks(jwksUri: string, jwks: Jwks): void {
    super.addJwks(jwksUri, jwks);
    this.remember(jwksUri, jwks);
  }

  override async getJwks(jwksUri: string): Promise<Jwks> {
    const jwks = await super.getJwks(jwksUri);
    this.remember(jwksUri, jwks);
    return jwks;
  }

  /** Whether the key set of `jwksUri` has been loaded (and so, since a failed refresh keeps it, is still usable). */
  hasKeySet(jwksUri: string): boolean {
    return this.kidsByUri.has(jwksUri);
  }

  /** Fetches every known key set again; returns how many failed (their old keys stay). */
  async refresh(): Promise<number> {
    const results = await Promise.allSettled([...this.kidsByUri.keys()].map((uri) => this.getJwks(uri)));
    return results.filter((r) => r.status === "rejected").length;
  }

  /**
   * `kid` as the string instance the key set holds when it is a trusted key id, else `kid` itself: what the
   * verified-token cache keeps per entry, so that its entries share one string per key instead of a copy each.
   */
  canonicalKid(kid: string): string {
    return this.kidInstances.get(kid) ?? kid;
  }

  private remember(jwksUri: string, jwks: Jwks): void {
    this.kidsByUri.set(jwksUri, new Set(jwks.keys.flatMap((k) => (typeof k.kid === "string" ? [k.kid] : []))));
    this.trustedKids = new Set([...this.kidsByUri.values()].flatMap((kids) => [...kids]));
    this.kidInstances = new Map([...this.trustedKids].map((kid) => [kid, kid]));
  }
}
