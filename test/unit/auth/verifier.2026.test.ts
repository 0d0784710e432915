import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthUnavailableError, InvalidTokenError, type AuthReason } from "../../../src/auth/errors.js";
import { JwksFetcher } from "../../../src/auth/jwks-fetcher.js";
import { createTokenVerifier, KeySetUnavailableError, type TokenVerifier, type VerifierOptions } from "../../../src/auth/verifier.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import {
  accessClaims,
  generateRsaKey,
  idClaims,
  jwksOf,
  signToken,
  TEST_CLIENT_ID,
  TEST_POOL_ID,
  type TestKey,
} from "../../helpers/keys.js";

/**
 * Cognito as it is in 2026, against the real verifier and real key servers: replica-region issuers, resource-bound
 * access tokens, readiness per pool (aws-jwt-verify issue #279), EU Sovereign Cloud issuers. The token shapes
 * themselves are in the conformance corpus (test/e2e/cognito/corpus.test.ts).
 */

const SECOND_POOL = "eu-west-1_SecondPool2";
const EUSC_POOL = "eusc-de-east-1_Sovereign1";
const ORIGINAL = `https://cognito-idp.us-east-1.amazonaws.com/${TEST_POOL_ID}`;
const REPLICA = `https://cognito-idp.us-west-2.amazonaws.com/${TEST_POOL_ID}`;

let primaryKey: TestKey;
let replicaKey: TestKey;
let primary: JwksServer;
let replica: JwksServer;
let forbidden: JwksServer;
const extra: JwksServer[] = [];

beforeAll(async () => {
  [primaryKey, replicaKey] = [generateRsaKey(), generateRsaKey()];
  primary = await startJwksServer(jwksOf(primaryKey));
  replica = await startJwksServer(jwksOf(replicaKey));
  forbidden = await startJwksServer(jwksOf(primaryKey));
  forbidden.setBehaviour({ status: 403, body: '{"message":"Forbidden"}' });
});

afterAll(async () => {
  await Promise.all([primary, replica, forbidden, ...extra].map((s) => s?.close()));
});

/**
 * A verifier whose fetcher sends each Cognito key-set URL to the server `route` picks for it (by host and pool),
 * recording every URL asked for. Default route: replica-region hosts to `replica`, UPDATED hosts answer 403 (a pool
 * still on ORIGINAL, issue #279), the rest to `primary`.
 */
function setUp(options: Partial<Omit<VerifierOptions, "fetcher">> = {}, route?: (uri: string) => JwksServer) {
  const asked: string[] = [];
  const pick = route ?? ((uri: string) => (uri.includes("us-west-2") ? replica : uri.includes("issuer-cognito-idp") ? forbidden : primary));
  const fetcher = new JwksFetcher({ backoffMs: 0, redirect: (uri) => (asked.push(uri), pick(uri).url) });
  const verifier = createTokenVerifier({
    userPoolIds: [TEST_POOL_ID],
    clientIds: [TEST_CLIENT_ID],
    tokenUse: "access",
    clockSkewSeconds: 30,
    ...options,
    fetcher,
  });
  return { verifier, asked };
}

async function expectRefused(verifier: TokenVerifier, token: string, reason: AuthReason) {
  const outcome = verifier.verify(token);
  await expect(outcome).rejects.toBeInstanceOf(InvalidTokenError);
  await expect(outcome).rejects.toMatchObject({ reason });
}

describe("COGNITO_REPLICA_REGIONS: ORIGINAL issuers of replica regions", () => {
  it("accepts a token signed in a listed replica region, with the key set that region publishes", async () => {
    const { verifier, asked } = setUp({ replicaRegions: ["us-west-2"] });
    await verifier.hydrate();
    const principal = await verifier.verify(signToken(replicaKey, accessClaims({ iss: REPLICA })));
    expect(principal).toMatchObject({ issuer: REPLICA, sub: "user-sub-1", kind: "USER" });
    expect(asked).toContain(`${REPLICA}/.well-known/jwks.json`);
    // The primary's own tokens still verify with the primary's keys.
    await expect(verifier.verify(signToken(primaryKey, accessClaims({ iss: ORIGINAL })))).resolves.toMatchObject({ issuer: ORIGINAL });
  });

  it("checks a replica-region token only against that region's key set", async () => {
    const { verifier } = setUp({ replicaRegions: ["us-west-2"] });
    await verifier.hydrate();
    await expectRefused(verifier, signToken(primaryKey, accessClaims({ iss: REPLICA })), "TOKEN_UNKNOWN_KEY");
  });

  it.each([
    ["an unlisted region", `https://cognito-idp.eu-central-1.amazonaws.com/${TEST_POOL_ID}`],
    [
      "a listed region's UPDATED host (its region is always the primary's)",
      `https://issuer-cognito-idp.us-west-2.amazonaws.com/${TEST_POOL_ID}`,
    ],
    ["a listed region with a pool id that is not configured", "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_NotOurs1"],
  ])("refuses %s as TOKEN_WRONG_ISSUER", async (_, iss) => {
    const { verifier } = setUp({ replicaRegions: ["us-west-2"] });
    await expectRefused(verifier, signToken(replicaKey, accessClaims({ iss })), "TOKEN_WRONG_ISSUER");
  });

  it("refuses replica-region tokens when no replica region is configured", async () => {
    const { verifier } = setUp();
    await expectRefused(verifier, signToken(replicaKey, accessClaims({ iss: REPLICA })), "TOKEN_WRONG_ISSUER");
  });
});

describe("COGNITO_ACCESS_TOKEN_AUDIENCE: resource-bound access tokens", () => {
  const audiences = ["https://orders.example.com", "orders-api"];

  it.each([
    ["aud equal to one identifier", "https://orders.example.com"],
    ["aud an array holding one", ["https://billing.example.com", "orders-api"]],
  ])("accepts an access token with %s", async (_, aud) => {
    const { verifier } = setUp({ accessTokenAudiences: audiences });
    await expect(verifier.verify(signToken(primaryKey, accessClaims({ aud })))).resolves.toMatchObject({ sub: "user-sub-1" });
  });

  it.each([
    ["no aud", undefined],
    ["another API's aud", "https://billing.example.com"],
    ["an array without ours", ["https://billing.example.com"]],
    ["an empty array", []],
    ["a prefix of ours", "https://orders.example"],
  ])("refuses an access token with %s as TOKEN_WRONG_AUDIENCE", async (_, aud) => {
    const { verifier } = setUp({ accessTokenAudiences: audiences });
    await expectRefused(verifier, signToken(primaryKey, accessClaims(aud === undefined ? {} : { aud })), "TOKEN_WRONG_AUDIENCE");
  });

  it("leaves ID tokens to their aud = client id check", async () => {
    const { verifier } = setUp({ accessTokenAudiences: audiences, tokenUse: "any" });
    await expect(verifier.verify(signToken(primaryKey, idClaims()))).resolves.toMatchObject({ tokenUse: "id" });
    await expectRefused(verifier, signToken(primaryKey, idClaims({ aud: "orders-api" })), "TOKEN_WRONG_CLIENT");
  });

  it("accepts any aud on an access token when unset, as before", async () => {
    const { verifier } = setUp();
    await expect(verifier.verify(signToken(primaryKey, accessClaims({ aud: "https://billing.example.com" })))).resolves.toMatchObject({
      sub: "user-sub-1",
    });
  });
});

describe("readiness per pool", () => {
  it("is ready when the UPDATED host answers 403 for a pool still on ORIGINAL (aws-jwt-verify #279)", async () => {
    const { verifier, asked } = setUp();
    await verifier.hydrate();
    expect(asked).toContain(`https://issuer-cognito-idp.us-east-1.amazonaws.com/${TEST_POOL_ID}/.well-known/jwks.json`);
    expect(verifier.keysLoaded()).toBe(true);
    expect(verifier.keySets!()).toEqual([{ userPoolId: TEST_POOL_ID, jwksUri: `${ORIGINAL}/.well-known/jwks.json`, ready: true }]);
    await expect(verifier.verify(signToken(primaryKey, accessClaims()))).resolves.toMatchObject({ issuer: ORIGINAL });
  });

  it("fails hydrate() naming the pool whose key set cannot load, when another pool's loads", async () => {
    const down = await startJwksServer(jwksOf(primaryKey));
    extra.push(down);
    down.setBehaviour({ status: 500 });
    const { verifier } = setUp({ userPoolIds: [TEST_POOL_ID, SECOND_POOL] }, (uri) => (uri.includes(SECOND_POOL) ? down : primary));
    const outcome = verifier.hydrate();
    await expect(outcome).rejects.toBeInstanceOf(KeySetUnavailableError);
    await expect(outcome).rejects.toBeInstanceOf(AuthUnavailableError);
    await expect(outcome).rejects.toMatchObject({
      userPoolId: SECOND_POOL,
      jwksUri: `https://cognito-idp.eu-west-1.amazonaws.com/${SECOND_POOL}/.well-known/jwks.json`,
      detail: expect.stringMatching(
        /^user pool eu-west-1_SecondPool2: the key set at https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com\/\S+ could not be loaded \(.*500/,
      ),
    });
    expect(verifier.keysLoaded()).toBe(false);
    expect(verifier.keySets!().map((k) => [k.userPoolId, k.ready])).toEqual([
      [TEST_POOL_ID, true],
      [SECOND_POOL, false],
    ]);

    // The pool becomes usable (and the server ready) once its key set loads.
    down.setBehaviour({});
    await verifier.hydrate();
    expect(verifier.keysLoaded()).toBe(true);
  });
});

describe("EU Sovereign Cloud pools", () => {
  const euscIssuer = (host: string, suffix: string) => `https://${host}.eusc-de-east-1.${suffix}/${EUSC_POOL}`;

  it("loads the home key set from the partition's own host (amazonaws.eu) and accepts both suffixes' issuers", async () => {
    const { verifier, asked } = setUp({ userPoolIds: [EUSC_POOL] }, () => primary);
    await verifier.hydrate();
    expect(verifier.keySets!()[0]!.jwksUri).toBe(`${euscIssuer("cognito-idp", "amazonaws.eu")}/.well-known/jwks.json`);
    for (const iss of [
      euscIssuer("cognito-idp", "amazonaws.eu"),
      euscIssuer("issuer-cognito-idp", "amazonaws.eu"),
      euscIssuer("cognito-idp", "amazonaws.com"),
      euscIssuer("issuer-cognito-idp", "amazonaws.com"),
    ]) {
      await expect(verifier.verify(signToken(primaryKey, accessClaims({ iss })))).resolves.toMatchObject({ issuer: iss });
      expect(asked).toContain(`${iss}/.well-known/jwks.json`);
    }
    await expectRefused(
      verifier,
      signToken(primaryKey, accessClaims({ iss: `https://cognito-idp.eusc-de-east-1.amazonaws.de/${EUSC_POOL}` })),
      "TOKEN_WRONG_ISSUER",
    );
  });
});
