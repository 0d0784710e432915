import { LRUCache } from "lru-cache";
import type { Principal } from "./principal.js";

interface Entry {
  readonly principal: Principal;
  /** Seconds since the epoch after which the token is expired (its `exp` plus the leeway). */
  readonly validUntil: number;
  readonly kid: string;
}

/**
 * Remembers tokens that passed full verification, so a client sending the same token again costs a map lookup
 * instead of an RSA signature check. Bounded (the least recently used entry goes first, so a busy user's token is
 * not pushed out by a crowd of one-off tokens), an entry ends with its token's
 * expiry, and it is ignored once its signing key leaves the key set. Only successes are cached: a refused
 * token is verified (and refused) again every time; this is never a denylist.
 */
export class VerifiedTokenCache {
  /** Absent when the size is 0 (caching off): lru-cache needs a positive bound. */
  private readonly entries: LRUCache<string, Entry> | undefined;

  /** @param maxEntries how many tokens to remember; 0 turns the cache off. */
  constructor(maxEntries: number) {
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  get(token: string, now: number, trustedKids: ReadonlySet<string>): Principal | undefined {
    const entry = this.entries?.get(token);
    if (entry === undefined) return undefined;
    if (now >= entry.validUntil || !trustedKids.has(entry.kid)) {
      this.entries!.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, entry: Entry): void {
    this.entries?.set(token, entry);
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
