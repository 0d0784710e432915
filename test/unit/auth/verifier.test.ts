import { constants, createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthUnavailableError, InvalidTokenError, type AuthReason } from "../../../src/auth/errors.js";
import { JwksFetcher, type JwksFetcherOptions } from "../../../src/auth/jwks-fetcher.js";
import { createTokenVerifier, type TokenVerifier, type VerifierOptions } from "../../../src/auth/verifier.js";
import { startJwksServer, type JwksServer, type JwksServerBehaviour } from "../../helpers/jwks-server.js";
import {
  accessClaims,
  b64url,
  generateRsaKey,
  idClaims,
  issuerOf,
  jwksOf,
  OTHER_CLIENT_ID,
  OTHER_POOL_ID,
  signToken,
  TEST_CLIENT_ID,
  TEST_POOL_ID,
  type TestKey,
} from "../../helpers/keys.js";

const SKEW = 30;
const ISSUER = issuerOf(TEST_POOL_ID);
const GLOBAL_ISSUER = `https://issuer-cognito-idp.us-east-1.amazonaws.com/${TEST_POOL_ID}`;

/** Published by the test pool's key server. */
let keyA: TestKey;
let keyB: TestKey;
/** Published by the other pool's key server. */
let otherPoolKey: TestKey;
/** Published nowhere. */
let rogue: TestKey;
let pool1Server: JwksServer;
let pool2Server: JwksServer;
/** Servers started by a single test, closed after it. */
const testServers: JwksServer[] = [];

beforeAll(async () => {
  [keyA, keyB, otherPoolKey, rogue] = [generateRsaKey(), generateRsaKey(), generateRsaKey(), generateRsaKey()];
  pool1Server = await startJwksServer(jwksOf(keyA, keyB));
  pool2Server = await startJwksServer(jwksOf(otherPoolKey));
});

afterEach(async () => {
  await Promise.all(testServers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await Promise.all([pool1Server?.close(), pool2Server?.close()]);
});

// ---------------------------------------------------------------------------------------------------------
// Helpers

interface Setup {
  readonly verifier: TokenVerifier;
  readonly fetcher: JwksFetcher;
  /** Every Cognito key-set URL the verifier asked the fetcher for. */
  readonly asked: string[];
}

interface SetupOptions extends Partial<Omit<VerifierOptions, "fetcher">> {
  /** Key server per pool id; default: the two shared servers. */
  readonly servers?: Record<string, JwksServer>;
  readonly fetcherOptions?: Omit<JwksFetcherOptions, "redirect">;
}

/** A verifier whose fetcher redirects each pool's Cognito key-set URL to its local key server (as COGNITO_JWKS_URI does). */
function setUp(options: SetupOptions = {}): Setup {
  const servers = options.servers ?? { [TEST_POOL_ID]: pool1Server, [OTHER_POOL_ID]: pool2Server };
  const asked: string[] = [];
  const fetcher = new JwksFetcher({
    ...options.fetcherOptions,
    redirect: (uri) => {
      asked.push(uri);
      const pool = Object.keys(servers).find((id) => uri.includes(`/${id}/`));
      if (pool === undefined) throw new Error(`unexpected key-set URL ${uri}`);
      return servers[pool]!.url;
    },
  });
  const verifier = createTokenVerifier({
    userPoolIds: [TEST_POOL_ID],
    clientIds: [TEST_CLIENT_ID],
    tokenUse: "access",
    clockSkewSeconds: SKEW,
    ...options,
    fetcher,
  });
  return { verifier, fetcher, asked };
}

async function keyServer(jwks: unknown = jwksOf(keyA, keyB)): Promise<JwksServer> {
  const server = await startJwksServer(jwks);
  testServers.push(server);
  return server;
}

const now = () => Math.floor(Date.now() / 1000);

function omit(claims: Record<string, unknown>, ...names: string[]): Record<string, unknown> {
  const copy = { ...claims };
  for (const name of names) delete copy[name];
  return copy;
}

/** A token with the given header and payload and a signature computed by `signer` over the signing input. */
function rawToken(header: unknown, payload: unknown, signer: (input: Buffer) => Buffer): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer(Buffer.from(input)).toString("base64url")}`;
}

const segmentsOf = (token: string) => token.split(".") as [string, string, string];

async function expectInvalid(verifier: TokenVerifier, token: string, reason: AuthReason): Promise<void> {
  const outcome = verifier.verify(token);
  await expect(outcome).rejects.toBeInstanceOf(InvalidTokenError);
  await expect(outcome).rejects.toMatchObject({ reason });
}

async function expectUnavailable(outcome: Promise<unknown>): Promise<void> {
  await expect(outcome).rejects.toBeInstanceOf(AuthUnavailableError);
  await expect(outcome).rejects.toMatchObject({ reason: "KEYS_UNAVAILABLE" });
}

// ---------------------------------------------------------------------------------------------------------

describe("createTokenVerifier accepts", () => {
  let shared: Setup;
  beforeAll(async () => {
    shared = setUp();
    await shared.verifier.hydrate();
  });

  it("accepts a valid user access token and builds its Principal", async () => {
    const claims = accessClaims({ "cognito:groups": ["support", "staff"], scope: "openid  email orders/read" });
    const principal = await shared.verifier.verify(signToken(keyA, claims));

    expect(principal).toEqual({
      sub: "user-sub-1",
      kind: "USER",
      username: "user1",
      email: null,
      emailVerified: false,
      groups: ["support", "staff"],
      scopes: ["openid", "email", "orders/read"],
      tokenUse: "access",
      clientId: TEST_CLIENT_ID,
      issuer: ISSUER,
      expiresAt: new Date((claims.exp as number) * 1000),
      tokenId: claims.jti,
      sessionId: claims.origin_jti ?? null,
      authTime: new Date((claims.auth_time as number) * 1000),
      customClaims: {},
    });
  });

  it("accepts a token signed by any key of the published set", async () => {
    await expect(shared.verifier.verify(signToken(keyB, accessClaims()))).resolves.toMatchObject({ sub: "user-sub-1" });
  });

  it("accepts a machine client-credentials access token as a CLIENT principal", async () => {
    const claims = omit(
      accessClaims({ sub: TEST_CLIENT_ID, scope: "orders/read orders/write" }),
      "username",
      "cognito:groups",
      "origin_jti",
      "auth_time",
    );
    const principal = await shared.verifier.verify(signToken(keyA, claims));

    expect(principal).toMatchObject({
      sub: TEST_CLIENT_ID,
      kind: "CLIENT",
      username: null,
      email: null,
      groups: [],
      scopes: ["orders/read", "orders/write"],
      tokenUse: "access",
      clientId: TEST_CLIENT_ID,
    });
  });

  it.each(["id", "any"] as const)("accepts an ID token when tokenUse is %s", async (tokenUse) => {
    const { verifier } = setUp({ tokenUse });
    const claims = idClaims();
    const principal = await verifier.verify(signToken(keyA, claims));

    expect(principal).toEqual({
      sub: "user-sub-1",
      kind: "USER",
      username: "user1",
      email: "user1@example.com",
      emailVerified: true,
      groups: ["support"],
      scopes: [],
      tokenUse: "id",
      clientId: TEST_CLIENT_ID,
      issuer: ISSUER,
      expiresAt: new Date((claims.exp as number) * 1000),
      tokenId: claims.jti,
      sessionId: claims.origin_jti ?? null,
      authTime: new Date((claims.auth_time as number) * 1000),
      customClaims: {},
    });
  });

  it("accepts an access token when tokenUse is any", async () => {
    const { verifier } = setUp({ tokenUse: "any" });
    await expect(verifier.verify(signToken(keyA, accessClaims()))).resolves.toMatchObject({ tokenUse: "access" });
  });

  it("accepts the global issuer format https://issuer-cognito-idp.<region>.amazonaws.com/<pool>", async () => {
    const principal = await shared.verifier.verify(signToken(keyA, accessClaims({ iss: GLOBAL_ISSUER })));
    expect(principal.issuer).toBe(GLOBAL_ISSUER);
  });

  it("accepts tokens of several pools, each checked against its own key server, and several client ids", async () => {
    const before = [pool1Server.requests.length, pool2Server.requests.length];
    const { verifier } = setUp({ userPoolIds: [TEST_POOL_ID, OTHER_POOL_ID], clientIds: [TEST_CLIENT_ID, OTHER_CLIENT_ID] });
    await verifier.hydrate();
    expect(pool1Server.requests.length).toBeGreaterThan(before[0]!);
    expect(pool2Server.requests.length).toBeGreaterThan(before[1]!);

    const otherIssuer = issuerOf(OTHER_POOL_ID);
    const cases: [TestKey, Record<string, unknown>][] = [
      [keyA, accessClaims()],
      [keyA, accessClaims({ client_id: OTHER_CLIENT_ID })],
      [otherPoolKey, accessClaims({ iss: otherIssuer })],
      [otherPoolKey, accessClaims({ iss: otherIssuer, client_id: OTHER_CLIENT_ID })],
    ];
    for (const [key, claims] of cases) {
      await expect(verifier.verify(signToken(key, claims))).resolves.toMatchObject({
        issuer: claims.iss,
        clientId: claims.client_id,
      });
    }
    await expectInvalid(verifier, signToken(keyA, accessClaims({ client_id: "thirdclient3" })), "TOKEN_WRONG_CLIENT");
    // A pool's tokens are checked only against that pool's key set.
    await expectInvalid(verifier, signToken(keyA, accessClaims({ iss: otherIssuer })), "TOKEN_UNKNOWN_KEY");
    await expectInvalid(
      verifier,
      signToken({ ...keyA, kid: otherPoolKey.kid }, accessClaims({ iss: otherIssuer })),
      "TOKEN_SIGNATURE_INVALID",
    );
  });
});

describe("createTokenVerifier refuses", () => {
  let shared: Setup;
  beforeAll(async () => {
    shared = setUp();
    await shared.verifier.hydrate();
  });
  const refuse = (token: string, reason: AuthReason) => expectInvalid(shared.verifier, token, reason);

  describe("headers other than RS256 with alg, kid and typ, before fetching any key", () => {
    /** A fresh verifier that has fetched nothing yet, so that any fetch would show. */
    async function refuseWithoutFetching(token: string) {
      const { verifier, fetcher } = setUp();
      await expectInvalid(verifier, token, "TOKEN_HEADER_REJECTED");
      expect(fetcher.fetched).toEqual([]);
    }

    it.each(["none", "None", "NONE", "nOnE"])("refuses a token whose alg is %s with a signature", async (alg) => {
      await refuseWithoutFetching(signToken(keyA, accessClaims(), { alg }));
    });

    // An empty segment breaks the strict three-segment shape, which is checked first.
    it.each(["none", "None", "NONE"])("refuses a token whose alg is %s with an empty signature segment", async (alg) => {
      const token = `${b64url({ kid: keyA.kid, alg })}.${b64url(accessClaims())}.`;
      await expectInvalid(setUp().verifier, token, "TOKEN_MALFORMED");
    });

    it("refuses a token whose alg is none and that has no kid", async () => {
      await refuseWithoutFetching(rawToken({ alg: "none" }, accessClaims(), () => Buffer.from("x")));
    });

    it.each([
      ["its PEM text", (k: KeyObject) => Buffer.from(k.export({ type: "spki", format: "pem" }))],
      ["its DER bytes", (k: KeyObject) => k.export({ type: "spki", format: "der" })],
    ])("refuses an HS256 token signed with the public key's bytes (%s)", async (_, bytesOf) => {
      const secret = bytesOf(createPublicKey(keyA.privateKey));
      const token = rawToken({ kid: keyA.kid, alg: "HS256" }, accessClaims(), (input) =>
        createHmac("sha256", secret).update(input).digest(),
      );
      await refuseWithoutFetching(token);
    });

    it.each([
      ["RS384", (input: Buffer) => sign("sha384", input, keyA.privateKey)],
      ["RS512", (input: Buffer) => sign("sha512", input, keyA.privateKey)],
      [
        "PS256",
        (input: Buffer) => sign("sha256", input, { key: keyA.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      ],
      [
        "ES256",
        (input: Buffer) =>
          sign("sha256", input, {
            key: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
            dsaEncoding: "ieee-p1363",
          }),
      ],
    ])("refuses a token whose alg is %s", async (alg, signer) => {
      await refuseWithoutFetching(rawToken({ kid: keyA.kid, alg }, accessClaims(), signer));
    });

    it("refuses a token without a kid", async () => {
      await refuseWithoutFetching(rawToken({ alg: "RS256" }, accessClaims(), (input) => sign("sha256", input, keyA.privateKey)));
    });

    it.each([
      ["jku", (url: string) => url],
      ["x5u", (url: string) => url],
      ["jwk", () => ({ ...rogue.publicJwk, kid: rogue.kid })],
      ["x5c", () => [Buffer.from("not really a certificate").toString("base64")]],
      ["crit", () => ["exp"]],
    ])("refuses a token with a %s header and fetches nothing from anywhere", async (parameter, valueFor) => {
      const trap = await keyServer(jwksOf(rogue));
      const { verifier, fetcher } = setUp();
      const before = pool1Server.requests.length;
      const token = signToken(rogue, accessClaims(), { [parameter]: valueFor(trap.url) });

      await expectInvalid(verifier, token, "TOKEN_HEADER_REJECTED");
      expect(trap.requests).toEqual([]);
      expect(pool1Server.requests.length).toBe(before);
      expect(fetcher.fetched).toEqual([]);
    });
  });

  describe("keys and signatures", () => {
    it("refuses a token whose kid is not in the key set", async () => {
      const { verifier } = setUp();
      await verifier.hydrate();
      await expectInvalid(verifier, signToken(rogue, accessClaims()), "TOKEN_UNKNOWN_KEY");
    });

    it("refuses a token signed by another key under a kid that is in the set", async () => {
      await refuse(signToken({ ...rogue, kid: keyA.kid }, accessClaims()), "TOKEN_SIGNATURE_INVALID");
    });

    it("refuses a token whose payload was changed after signing", async () => {
      const [header, , signature] = segmentsOf(signToken(keyA, accessClaims()));
      const tampered = `${header}.${b64url(accessClaims({ "cognito:groups": ["admin"] }))}.${signature}`;
      await refuse(tampered, "TOKEN_SIGNATURE_INVALID");
    });

    it("refuses a token whose signature was changed", async () => {
      const [header, payload, signature] = segmentsOf(signToken(keyA, accessClaims()));
      const i = 100;
      const flipped = signature.slice(0, i) + (signature[i] === "A" ? "B" : "A") + signature.slice(i + 1);
      await refuse(`${header}.${payload}.${flipped}`, "TOKEN_SIGNATURE_INVALID");
    });
  });

  describe("time", () => {
    // Offsets in seconds from now, applied when the test runs; the leeway is 30 seconds.
    it.each<[string, Record<string, number>, AuthReason]>([
      ["refuses a token that expired beyond the leeway", { iat: -3600, exp: -60 }, "TOKEN_EXPIRED"],
      ["refuses a token whose nbf is in the future beyond the leeway", { iat: 0, exp: 3600, nbf: 60 }, "TOKEN_NOT_YET_VALID"],
      ["refuses a token whose iat is in the future beyond the leeway", { iat: 60, exp: 3600 }, "TOKEN_ISSUED_IN_FUTURE"],
      ["refuses a token that lives longer than one day", { iat: 0, exp: 24 * 3600 + 1 }, "TOKEN_LIFETIME_TOO_LONG"],
    ])("%s", async (_, offsets, reason) => {
      const t = now();
      const times = Object.fromEntries(Object.entries(offsets).map(([claim, offset]) => [claim, t + offset]));
      await refuse(signToken(keyA, accessClaims(times)), reason);
    });

    it.each<[string, Record<string, number>]>([
      ["accepts a token that expired just inside the leeway", { iat: -3600, exp: -20 }],
      ["accepts a token whose nbf is in the future just inside the leeway", { iat: 0, exp: 3600, nbf: 20 }],
      ["accepts a token whose iat is in the future just inside the leeway", { iat: 20, exp: 3600 }],
      ["accepts a token that lives exactly one day", { iat: 0, exp: 24 * 3600 }],
    ])("%s", async (_, offsets) => {
      const t = now();
      const times = Object.fromEntries(Object.entries(offsets).map(([claim, offset]) => [claim, t + offset]));
      await expect(shared.verifier.verify(signToken(keyA, accessClaims(times)))).resolves.toMatchObject({ sub: "user-sub-1" });
    });
  });

  describe("claims", () => {
    it.each([
      ["without exp", () => omit(accessClaims(), "exp")],
      ["without iat", () => omit(accessClaims(), "iat")],
      ["without sub", () => omit(accessClaims(), "sub")],
      ["whose cognito:groups is a string", () => accessClaims({ "cognito:groups": "support" })],
      ["whose cognito:groups holds a number", () => accessClaims({ "cognito:groups": ["support", 1] })],
      ["whose scope is an array", () => accessClaims({ scope: ["orders/read"] })],
    ])("refuses a token %s as claims invalid", async (_, claims) => {
      await refuse(signToken(keyA, claims()), "TOKEN_CLAIMS_INVALID");
    });

    it.each([
      ["of another pool", issuerOf(OTHER_POOL_ID)],
      ["over http instead of https", ISSUER.replace("https:", "http:")],
      ["with a trailing slash", `${ISSUER}/`],
      ["of another region", ISSUER.replace("us-east-1.", "eu-west-1.")],
      ["of another host", `https://evil.example.com/${TEST_POOL_ID}`],
    ])("refuses a token whose issuer is that %s", async (_, iss) => {
      await refuse(signToken(keyA, accessClaims({ iss })), "TOKEN_WRONG_ISSUER");
    });

    it("refuses a token without an issuer", async () => {
      await refuse(signToken(keyA, omit(accessClaims(), "iss")), "TOKEN_WRONG_ISSUER");
    });

    it("refuses an access token for another client id", async () => {
      await refuse(signToken(keyA, accessClaims({ client_id: OTHER_CLIENT_ID })), "TOKEN_WRONG_CLIENT");
    });

    it("refuses an ID token for another client id", async () => {
      const { verifier } = setUp({ tokenUse: "id" });
      await expectInvalid(verifier, signToken(keyA, idClaims({ aud: OTHER_CLIENT_ID })), "TOKEN_WRONG_CLIENT");
    });

    it("refuses an ID token when tokenUse is access", async () => {
      await refuse(signToken(keyA, idClaims()), "TOKEN_WRONG_USE");
    });

    it("refuses an access token when tokenUse is id", async () => {
      const { verifier } = setUp({ tokenUse: "id" });
      await expectInvalid(verifier, signToken(keyA, accessClaims()), "TOKEN_WRONG_USE");
    });

    it.each(
      (["access", "id", "any"] as const).flatMap((tokenUse) =>
        [undefined, "refresh", "ACCESS", ""].map((value) => [tokenUse, value] as const),
      ),
    )("refuses with tokenUse %s a token whose token_use is %j", async (tokenUse, value) => {
      const { verifier } = setUp({ tokenUse });
      const claims = value === undefined ? omit(accessClaims(), "token_use") : accessClaims({ token_use: value });
      await expectInvalid(verifier, signToken(keyA, claims), "TOKEN_WRONG_USE");
    });
  });

  describe("shape", () => {
    const withSegment = (token: string, index: number, segment: string) => {
      const segments = segmentsOf(token);
      segments[index] = segment;
      return segments.join(".");
    };
    const replaceCharAt = (segment: string, char: string) => segment.slice(0, 10) + char + segment.slice(11);
    /** Appends characters until the length is 1 mod 4, which no base64url encoding has. */
    const impossibleLength = (segment: string) => segment + "A".repeat((5 - (segment.length % 4)) % 4);

    it.each<[string, (token: string) => string]>([
      ["the empty string", () => ""],
      ["a padded signature segment", (t) => `${t}=`],
      ["a padded payload segment", (t) => withSegment(t, 1, `${segmentsOf(t)[1]}=`)],
      ["a padded header segment", (t) => withSegment(t, 0, `${segmentsOf(t)[0]}==`)],
      ["two segments", (t) => segmentsOf(t).slice(0, 2).join(".")],
      ["four segments", (t) => `${t}.${segmentsOf(t)[2]}`],
      ["an empty signature segment", (t) => withSegment(t, 2, "")],
      ["an empty payload segment", (t) => withSegment(t, 1, "")],
      ["an empty header segment", (t) => withSegment(t, 0, "")],
      ["only dots", () => ".."],
      ["a '+' in the payload", (t) => withSegment(t, 1, replaceCharAt(segmentsOf(t)[1], "+"))],
      ["a '/' in the signature", (t) => withSegment(t, 2, replaceCharAt(segmentsOf(t)[2], "/"))],
      ["a space in the header", (t) => withSegment(t, 0, replaceCharAt(segmentsOf(t)[0], " "))],
      ["a non-ASCII letter in the payload", (t) => withSegment(t, 1, replaceCharAt(segmentsOf(t)[1], "é"))],
      // U+0142's low byte is "B": Node's base64 decoder reads it as that letter.
      ["a character above U+00FF in the signature", (t) => withSegment(t, 2, replaceCharAt(segmentsOf(t)[2], "\u0142"))],
      ["a segment of a length no base64url encoder produces", (t) => withSegment(t, 2, impossibleLength(segmentsOf(t)[2]))],
      ["a header that is not JSON", (t) => withSegment(t, 0, b64url("{alg: RS256}"))],
      ["a header that is a JSON array", (t) => withSegment(t, 0, b64url([{ alg: "RS256", kid: keyA.kid }]))],
      ["a header that is JSON null", (t) => withSegment(t, 0, b64url(null))],
      ["a header that is a JSON string", (t) => withSegment(t, 0, b64url(JSON.stringify("RS256")))],
      ["a payload that is not JSON", (t) => withSegment(t, 1, b64url("sub=user-sub-1"))],
      ["a payload that is a JSON array", (t) => withSegment(t, 1, b64url([accessClaims()]))],
      ["a payload that is a JSON number", (t) => withSegment(t, 1, b64url(42))],
      ["a payload that is JSON null", (t) => withSegment(t, 1, b64url(null))],
    ])("refuses a token with %s as malformed", async (_, mangle) => {
      await refuse(mangle(signToken(keyA, accessClaims())), "TOKEN_MALFORMED");
    });

    it("refuses another spelling of a valid token (a signature whose last character has its unused bits set) as malformed", async () => {
      const token = signToken(keyA, accessClaims());
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const signature = segmentsOf(token)[2];
      expect(signature.length % 4).toBe(2); // 256 bytes: the last character carries 4 unused bits
      const respelt = signature.slice(0, -1) + alphabet[alphabet.indexOf(signature.at(-1)!) | 1];
      // The same bytes: a lenient decoder would take it as the same, valid, signature.
      expect(Buffer.from(respelt, "base64url")).toEqual(Buffer.from(signature, "base64url"));
      await expect(shared.verifier.verify(token)).resolves.toMatchObject({ sub: "user-sub-1" });
      await refuse(withSegment(token, 2, respelt), "TOKEN_MALFORMED");
    });

    it("refuses other spellings of a header it has verified before, and accepts the header's own spelling", async () => {
      const token = signToken(keyA, accessClaims());
      await expect(shared.verifier.verify(token)).resolves.toMatchObject({ sub: "user-sub-1" });
      const header = segmentsOf(token)[0];
      const lowByteTwin = String.fromCharCode(0x100 + header.charCodeAt(5));
      expect(Buffer.from(header.slice(0, 5) + lowByteTwin + header.slice(6), "base64url")).toEqual(Buffer.from(header, "base64url"));
      for (const respelt of [header.slice(0, 5) + lowByteTwin + header.slice(6), `${header}=`, `${header} `, replaceCharAt(header, "+")]) {
        await refuse(withSegment(token, 0, respelt), "TOKEN_MALFORMED");
      }
      await expect(shared.verifier.verify(signToken(keyA, accessClaims({ jti: "another" })))).resolves.toMatchObject({ sub: "user-sub-1" });
    });

    it("refuses a token over 8 KiB as too large", async () => {
      const token = signToken(keyA, accessClaims({ filler: "x".repeat(8 * 1024) }));
      expect(token.length).toBeGreaterThan(8 * 1024);
      await refuse(token, "TOKEN_TOO_LARGE");
    });

    it("accepts a token of exactly 8 KiB", async () => {
      const { token, key } = tokenOfLength(8 * 1024);
      const { verifier } = setUp({ servers: { [TEST_POOL_ID]: await keyServer(jwksOf(key)) } });
      await expect(verifier.verify(token)).resolves.toMatchObject({ sub: "user-sub-1" });
    });
  });
});

/**
 * A valid token of exactly `length` characters, signed with keyA's material under a short kid of its own, made by
 * sizing a filler claim. Base64url never yields a length of 1 mod 4, so a few kid lengths are tried.
 */
function tokenOfLength(length: number): { token: string; key: TestKey } {
  const claims = accessClaims();
  for (const kid of ["k8", "k8k", "k8kk"]) {
    const key = { ...keyA, kid };
    const make = (n: number) => signToken(key, { ...claims, filler: "x".repeat(n) });
    const estimate = Math.floor(((length - make(0).length) * 3) / 4);
    for (let n = estimate - 4; n <= estimate + 4; n += 1) {
      const token = make(n);
      if (token.length === length) return { token, key };
    }
  }
  throw new Error(`no token of length ${length}`);
}

describe("createTokenVerifier and the key set", () => {
  it("fetches the key set on hydrate() and nothing more when verifying afterwards", async () => {
    const server = await keyServer();
    const { verifier, asked } = setUp({ servers: { [TEST_POOL_ID]: server } });
    expect(server.requests).toEqual([]);

    await verifier.hydrate();
    // The library keeps one key-set URL per issuer format (regional and global) of the pool; both are
    // redirected to the same server, and the fetcher shares the one fetch between them.
    expect([...asked].sort()).toEqual([`${ISSUER}/.well-known/jwks.json`, `${GLOBAL_ISSUER}/.well-known/jwks.json`]);
    expect(server.requests).toHaveLength(1);

    await verifier.verify(signToken(keyA, accessClaims()));
    await verifier.verify(signToken(keyB, accessClaims()));
    await verifier.verify(signToken(keyA, accessClaims({ iss: GLOBAL_ISSUER })));
    expect(server.requests).toHaveLength(1);
  });

  it("fetches the key set on the first verify without hydrate(), once", async () => {
    const server = await keyServer();
    const { verifier } = setUp({ servers: { [TEST_POOL_ID]: server } });

    await verifier.verify(signToken(keyA, accessClaims()));
    await verifier.verify(signToken(keyB, accessClaims()));
    expect(server.requests).toHaveLength(1);
  });

  it("accepts a token with a new kid after one refetch once the server publishes the rotated key", async () => {
    const server = await keyServer(jwksOf(keyA));
    const { verifier } = setUp({ servers: { [TEST_POOL_ID]: server } });
    await verifier.hydrate();
    const before = server.requests.length;

    server.setJwks(jwksOf(keyA, keyB));
    await expect(verifier.verify(signToken(keyB, accessClaims()))).resolves.toMatchObject({ sub: "user-sub-1" });
    expect(server.requests.length).toBe(before + 1);

    await verifier.verify(signToken(keyB, accessClaims()));
    await verifier.verify(signToken(keyA, accessClaims()));
    expect(server.requests.length).toBe(before + 1);
  });

  it("refuses a flood of 50 tokens with distinct unknown kids with at most 2 fetches in total", async () => {
    const server = await keyServer();
    const { verifier } = setUp({ servers: { [TEST_POOL_ID]: server } });
    const tokens = Array.from({ length: 50 }, (_, i) => signToken({ ...rogue, kid: `unknown-${i}` }, accessClaims()));

    const results = await Promise.allSettled(tokens.map((token) => verifier.verify(token)));

    for (const result of results) {
      expect(result.status).toBe("rejected");
      const error = (result as PromiseRejectedResult).reason as unknown;
      expect(error).toBeInstanceOf(InvalidTokenError);
      expect(error).toMatchObject({ reason: "TOKEN_UNKNOWN_KEY" });
    }
    expect(server.requests.length).toBeLessThanOrEqual(2);

    // During the wait period further unknown kids fetch nothing, while known keys keep working.
    const afterFlood = server.requests.length;
    await expectInvalid(verifier, signToken({ ...rogue, kid: "unknown-again" }, accessClaims()), "TOKEN_UNKNOWN_KEY");
    await expect(verifier.verify(signToken(keyA, accessClaims()))).resolves.toMatchObject({ sub: "user-sub-1" });
    expect(server.requests.length).toBe(afterFlood);
  });

  it("keeps verifying tokens of cached keys while the key server is down", async () => {
    const server = await keyServer();
    const { verifier } = setUp({ servers: { [TEST_POOL_ID]: server } });
    await verifier.hydrate();

    server.setBehaviour({ status: 500 });
    await expect(verifier.verify(signToken(keyA, accessClaims()))).resolves.toMatchObject({ sub: "user-sub-1" });
  });

  describe.each<[string, JwksServerBehaviour]>([
    ["answers 500", { status: 500 }],
    ["answers 404", { status: 404 }],
    ["answers a garbage body", { body: "<html>Service Unavailable</html>" }],
    ["answers an empty body", { body: "" }],
    ["answers JSON that is not a key set", { body: JSON.stringify({ hello: "world" }) }],
    ["answers a key set whose keys is not an array", { body: JSON.stringify({ keys: "none" }) }],
    ["answers a key set with an invalid key", { body: JSON.stringify({ keys: [{ kid: "k", n: "abc" }] }) }],
    ["answers later than timeoutMs", { delayMs: 2000 }],
  ])("when the key server %s", (_, behaviour) => {
    async function failingSetup(): Promise<Setup> {
      const server = await keyServer();
      server.setBehaviour(behaviour);
      return setUp({ servers: { [TEST_POOL_ID]: server }, fetcherOptions: { timeoutMs: 200 } });
    }

    it("refuses verify() of a token whose key is not cached yet as unavailable", async () => {
      const { verifier } = await failingSetup();
      await expectUnavailable(verifier.verify(signToken(keyA, accessClaims())));
    });

    it("fails hydrate() as unavailable", async () => {
      const { verifier } = await failingSetup();
      await expectUnavailable(verifier.hydrate());
    });
  });
});
