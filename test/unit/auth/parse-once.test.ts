import { CognitoJwtVerifier } from "aws-jwt-verify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwksFetcher } from "../../../src/auth/jwks-fetcher.js";
import { KeySetCache } from "../../../src/auth/key-set-cache.js";
import { KEY_NOT_CACHED, parseOnce } from "../../../src/auth/parse-once.js";
import { precheck } from "../../../src/auth/precheck.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import {
  accessClaims,
  generateRsaKey,
  issuerOf,
  jwksOf,
  signToken,
  TEST_CLIENT_ID,
  TEST_POOL_ID,
  type TestKey,
} from "../../helpers/keys.js";

/** The token's parts are parsed once (by precheck) and the library verifies those very objects. */

let key: TestKey;
let server: JwksServer;

beforeAll(async () => {
  key = generateRsaKey();
  server = await startJwksServer(jwksOf(key));
});

afterAll(async () => {
  await server?.close();
});

function libraryVerifier() {
  const jwksCache = new KeySetCache({ fetcher: new JwksFetcher({ redirect: () => server.url }) });
  return CognitoJwtVerifier.create({ userPoolId: TEST_POOL_ID, clientId: TEST_CLIENT_ID, tokenUse: "access" }, { jwksCache });
}

describe("parseOnce", () => {
  const issuers = new Set([issuerOf(TEST_POOL_ID)]);

  it("has the library verify the parts precheck parsed, without parsing the token again", async () => {
    const verifier = libraryVerifier();
    const handed = parseOnce(verifier);
    const token = signToken(key, accessClaims());
    const { decomposed } = precheck(token, issuers);
    // The very payload object precheck made comes back: nothing parsed it a second time.
    expect(await handed.verifyParsed(token, decomposed)).toBe(decomposed.payload);
    // The library's own path still parses for itself.
    const own = await verifier.verify(token);
    expect(own).not.toBe(decomposed.payload);
    expect(own).toEqual(decomposed.payload);
  });

  it("still verifies the signature over the segments handed over", async () => {
    const handed = parseOnce(libraryVerifier());
    const token = signToken(key, accessClaims());
    const forged = signToken(generateRsaKey(key.kid), accessClaims({ "cognito:groups": ["admin"] }));
    const { decomposed } = precheck(forged, issuers);
    await expect(handed.verifyParsed(forged, decomposed)).rejects.toThrow(/Invalid signature/);
    await expect(handed.verifyParsed(token, precheck(token, issuers).decomposed)).resolves.toMatchObject({ sub: "user-sub-1" });
  });

  it("applies the library's claim checks to the parts handed over (expired token)", async () => {
    const handed = parseOnce(libraryVerifier());
    const past = Math.floor(Date.now() / 1000) - 7200;
    const token = signToken(key, accessClaims({ iat: past, exp: past + 3600 }));
    await expect(handed.verifyParsed(token, precheck(token, issuers).decomposed)).rejects.toThrow(/expired/i);
  });

  it("verifies synchronously once the key is cached, and says so, verifying nothing, while it is not", async () => {
    const verifier = libraryVerifier();
    const handed = parseOnce(verifier);
    const token = signToken(key, accessClaims());
    const { decomposed } = precheck(token, issuers);
    expect(handed.verifyParsedSync(token, decomposed)).toBe(KEY_NOT_CACHED);
    // The async way fetches the key set; from then on the synchronous way answers, with the parts handed over.
    await handed.verifyParsed(token, decomposed);
    expect(handed.verifyParsedSync(token, decomposed)).toBe(decomposed.payload);
    // A key id the cached key set lacks: not cached either (the async way fetches again, after the penalty box).
    const unknown = signToken(generateRsaKey(), accessClaims());
    expect(handed.verifyParsedSync(unknown, precheck(unknown, issuers).decomposed)).toBe(KEY_NOT_CACHED);
  });

  it("applies every check on the synchronous way too: signature, expiry, Cognito's client check", async () => {
    const verifier = libraryVerifier();
    const handed = parseOnce(verifier);
    const good = signToken(key, accessClaims());
    await handed.verifyParsed(good, precheck(good, issuers).decomposed);
    const forged = signToken(generateRsaKey(key.kid), accessClaims({ "cognito:groups": ["admin"] }));
    expect(() => handed.verifyParsedSync(forged, precheck(forged, issuers).decomposed)).toThrow(/Invalid signature/);
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = signToken(key, accessClaims({ iat: past, exp: past + 3600 }));
    expect(() => handed.verifyParsedSync(expired, precheck(expired, issuers).decomposed)).toThrow(/expired/i);
    const otherClient = signToken(key, accessClaims({ client_id: "someone-else" }));
    expect(() => handed.verifyParsedSync(otherClient, precheck(otherClient, issuers).decomposed)).toThrow(/Client ID/);
  });
});
