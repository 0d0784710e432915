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
  private readonly entries: LRUCache<string, Entry & { readonly token: string }> | undefined;

  /** @param maxEntries how many tokens to remember; 0 turns the cache off. */
  constructor(maxEntries: number) {
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  get(token: string, now: number, trustedKids: ReadonlySet<string>): Principal | undefined {
    const key = keyOf(token);
    const entry = this.entries?.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    if (now >= entry.validUntil || !trustedKids.has(entry.kid)) {
      this.entries!.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, entry: Entry): void {
    this.entries?.set(keyOf(token), { ...entry, token });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}

/**
 * The map key of a token: its last characters, the end of its signature, which tell tokens apart as well as the
 * whole token does; a hit is confirmed by comparing the whole token. A fresh string per request has to be hashed
 * to be looked up, and hashing a ~1 KB token cost ~9,000 instructions per request (measured), its last 43
 * characters (256 bits of signature) a few hundred.
 */
function keyOf(token: string): string {
  return token.length > KEY_CHARS ? token.slice(-KEY_CHARS) : token;
}
const KEY_CHARS = 43;
