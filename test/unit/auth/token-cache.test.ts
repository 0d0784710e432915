import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { CognitoJwtVerifier } from "aws-jwt-verify";
import { InvalidTokenError } from "../../../src/auth/errors.js";
import { JwksFetcher } from "../../../src/auth/jwks-fetcher.js";
import type { Principal } from "../../../src/auth/principal.js";
import { VerifiedTokenCache } from "../../../src/auth/token-cache.js";
import { createTokenVerifier, type TokenVerifier } from "../../../src/auth/verifier.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";

const principal = { sub: "s" } as Principal;

describe("VerifiedTokenCache", () => {
  it("returns a remembered principal until the token expires", () => {
    const cache = new VerifiedTokenCache(10);
    cache.set("t", principal, 100, "k");
    expect(cache.get("t", 99, new Set(["k"]))).toBe(principal);
    expect(cache.get("t", 100, new Set(["k"]))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("forgets a token whose key left the key set", () => {
    const cache = new VerifiedTokenCache(10);
    cache.set("t", principal, 100, "k");
    expect(cache.get("t", 1, new Set(["other"]))).toBeUndefined();
    expect(cache.get("t", 1, new Set(["k"]))).toBeUndefined();
  });

  it("stays within its bound, dropping the least recently used entry", () => {
    const cache = new VerifiedTokenCache(3);
    for (const token of ["a", "b", "c"]) cache.set(token, principal, 100, "k");
    expect(cache.get("a", 1, new Set(["k"]))).toBe(principal);
    cache.set("d", principal, 100, "k");
    expect(cache.size).toBe(3);
    expect(cache.get("b", 1, new Set(["k"]))).toBeUndefined();
    expect(cache.get("a", 1, new Set(["k"]))).toBe(principal);
    expect(cache.get("d", 1, new Set(["k"]))).toBe(principal);
  });

  it("answers only for the very token remembered, not for one that ends like it", () => {
    const cache = new VerifiedTokenCache(10);
    const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0." + "s".repeat(40);
    cache.set(token, principal, 100, "k");
    expect(cache.get("x" + token, 1, new Set(["k"]))).toBeUndefined();
    expect(cache.get(token.slice(1), 1, new Set(["k"]))).toBeUndefined();
    expect(cache.get(`${token}`, 1, new Set(["k"]))).toBe(principal);
    // The later of two tokens that end alike takes the entry.
    const other = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ5In0." + "s".repeat(40);
    cache.set(other, { ...principal, sub: "y" } as Principal, 100, "k");
    expect(cache.get(token, 1, new Set(["k"]))).toBeUndefined();
    expect(cache.get(other, 1, new Set(["k"]))?.sub).toBe("y");
  });

  it("remembers nothing with a size of 0", () => {
    const cache = new VerifiedTokenCache(0);
    cache.set("t", principal, 100, "k");
    expect(cache.get("t", 1, new Set(["k"]))).toBeUndefined();
  });
});

describe("the verifier's token cache", () => {
  let key: TestKey;
  let server: JwksServer;
  let verifier: TokenVerifier;
  // The library verifies synchronously once the key set is cached (parse-once.ts): that is the call to count.
  const library = vi.spyOn(CognitoJwtVerifier.prototype, "verifySync");

  beforeAll(async () => {
    key = generateRsaKey();
    server = await startJwksServer(jwksOf(key, generateRsaKey()));
  });
  afterEach(() => {
    verifier?.close();
    vi.useRealTimers();
    server.setJwks(jwksOf(key));
    library.mockClear();
  });
  afterAll(() => server.close());

  const create = () => {
    verifier = createTokenVerifier({
      userPoolIds: [TEST_POOL_ID],
      clientIds: [TEST_CLIENT_ID],
      tokenUse: "access",
      clockSkewSeconds: 30,
      fetcher: new JwksFetcher({ redirect: () => server.url }),
      unknownKidWaitSeconds: 0,
    });
    return verifier;
  };

  it("verifies a token with the library once, then answers from the cache", async () => {
    const v = create();
    await v.hydrate();
    const token = signToken(key, accessClaims());
    const first = await v.verify(token);
    const second = await v.verify(token);
    expect(second).toBe(first);
    expect(library).toHaveBeenCalledTimes(1);
  });

  it("never caches a refusal", async () => {
    const v = create();
    await v.hydrate();
    const token = signToken(key, accessClaims({ client_id: "stranger" }));
    await expect(v.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(v.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
    expect(library).toHaveBeenCalledTimes(2);
  });

  it("refuses a cached token once it expires", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const v = create();
    await v.hydrate();
    const now = Math.floor(Date.now() / 1000);
    const token = signToken(key, accessClaims({ iat: now, exp: now + 60 }));
    await v.verify(token);
    vi.setSystemTime((now + 60 + 31) * 1000);
    await expect(v.verify(token)).rejects.toMatchObject({ reason: "TOKEN_EXPIRED" });
  });

  it("refuses a cached token after its key is removed upstream and the keys are refreshed", async () => {
    const v = create();
    await v.hydrate();
    const token = signToken(key, accessClaims());
    await v.verify(token);
    server.setJwks(jwksOf(generateRsaKey()));
    expect(await v.refreshKeys()).toBe(0);
    await expect(v.verify(token)).rejects.toMatchObject({ reason: "TOKEN_UNKNOWN_KEY" });
  });

  it("keeps the keys it has when a refresh fails", async () => {
    const v = create();
    await v.hydrate();
    const token = signToken(key, accessClaims());
    await v.verify(token);
    server.setBehaviour({ status: 500 });
    try {
      expect(await v.refreshKeys()).toBeGreaterThan(0);
      // A token not seen before needs the key set itself, not the token cache.
      expect((await v.verify(signToken(key, accessClaims({ sub: "fresh" })))).sub).toBe("fresh");
      expect((await v.verify(token)).sub).toBe("user-sub-1");
    } finally {
      server.setBehaviour({});
    }
  });
});
