import type { Principal } from "./principal.js";

interface Entry {
  readonly principal: Principal;
  /** Seconds since the epoch after which the token is expired (its `exp` plus the leeway). */
  readonly validUntil: number;
  readonly kid: string;
}

/**
 * Remembers tokens that passed full verification, so a client sending the same token again costs a map lookup
 * instead of an RSA signature check. Bounded (oldest entries go first), an entry ends with its token's
 * expiry, and it is ignored once its signing key leaves the key set. Only successes are cached: a refused
 * token is verified (and refused) again every time; this is never a denylist.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number) {}

  get(token: string, now: number, trustedKids: ReadonlySet<string>): Principal | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (now >= entry.validUntil || !trustedKids.has(entry.kid)) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, entry: Entry): void {
    if (this.maxEntries <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, entry);
  }

  get size(): number {
    return this.entries.size;
  }
}
