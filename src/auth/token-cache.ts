import { LRUCache } from "lru-cache";
import type { Principal } from "./principal.js";

interface Entry {
  /** The whole token: the entry answers only for exactly this string. */
  readonly token: string;
  readonly principal: Principal;
  /** Seconds since the epoch after which the token is expired (its `exp` plus the leeway). */
  readonly validUntil: number;
  readonly kid: string;
}

/**
 * Characters at the end of a token that key its entry: the end of its signature (188 bits of an RSA-2048 one, the
 * last character carrying 2), which differ between any two tokens that verify. A map key is hashed over all its
 * characters, and a token arrives as a new string on every request, so keying by the whole token (about 1 KB) hashed
 * 1 KB per request (its cost in docs/performance.md); the entry holds the whole token and answers only when it is the
 * same string.
 */
const KEY_LENGTH = 32;

/**
 * Remembers tokens that passed full verification, so a client sending the same token again costs a map lookup
 * instead of an RSA signature check. Bounded (the least recently used entry goes first, so a busy user's token is
 * not pushed out by a crowd of one-off tokens), an entry ends with its token's
 * expiry, and it is ignored once its signing key leaves the key set. Only successes are cached: a refused
 * token is verified (and refused) again every time; this is never a denylist. Two tokens that end alike share one
 * entry, the later verified one's; a token that only ends like a remembered one is verified in full.
 */
export class VerifiedTokenCache {
  /** Absent when the size is 0 (caching off): lru-cache needs a positive bound. */
  private readonly entries: LRUCache<string, Entry> | undefined;

  /** @param maxEntries how many tokens to remember; 0 turns the cache off. */
  constructor(maxEntries: number) {
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  /**
   * The principal of `token` if it verified before, has not expired at `now` (seconds since the epoch) and its key
   * `kid` is still one of `trustedKids`; else `undefined` (and an expired or untrusted entry is dropped).
   */
  get(token: string, now: number, trustedKids: ReadonlySet<string>): Principal | undefined {
    const key = token.slice(-KEY_LENGTH);
    const entry = this.entries?.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    if (now >= entry.validUntil || !trustedKids.has(entry.kid)) {
      this.entries!.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  /** Remembers `token`, verified, until `validUntil` (seconds since the epoch) or until key `kid` is untrusted. */
  set(token: string, principal: Principal, validUntil: number, kid: string): void {
    this.entries?.set(token.slice(-KEY_LENGTH), { token, principal, validUntil, kid });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
