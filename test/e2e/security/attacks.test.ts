import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp, type TestResponse } from "../../helpers/app.js";
import { BACKENDS } from "../../helpers/database.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import {
  accessClaims,
  b64url,
  generateRsaKey,
  idClaims,
  jwksOf,
  signToken,
  TEST_CLIENT_ID,
  TEST_POOL_ID,
  type TestKey,
} from "../../helpers/keys.js";

/**
 * Token and transport attacks against the running server in production posture, one row per attack: what is
 * sent, and the status, code, challenge and reason it must get. Every row also checks that the answer leaks
 * nothing: no claim, token segment, key id, group name or stack trace.
 */
let key: TestKey;
let jwks: JwksServer;
let lure: JwksServer;
let app: TestApp;

beforeAll(async () => {
  key = generateRsaKey();
  jwks = await startJwksServer(jwksOf(key));
  // Where an attacker would like us to fetch keys from: it must never be asked.
  lure = await startJwksServer(jwksOf(generateRsaKey()));
  app = await startApp({
    NODE_ENV: "production",
    COGNITO_USER_POOL_ID: TEST_POOL_ID,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    COGNITO_JWKS_URI: jwks.url,
  });
});
afterAll(async () => {
  await app.close();
  await jwks.close();
  await lure.close();
});

const now = () => Math.floor(Date.now() / 1000);
const unsigned = (header: object, claims: object, signature = "") => `${b64url(header)}.${b64url(claims)}.${signature}`;
const hmac = (alg: string, secret: Buffer | string, claims: object) => {
  const input = `${b64url({ alg, kid: key.kid })}.${b64url(claims)}`;
  const digest = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg]!;
  return `${input}.${createHmac(digest, secret).update(input).digest("base64url")}`;
};
const publicPem = () => createPublicKey({ key: key.publicJwk, format: "jwk" }).export({ format: "pem", type: "spki" }) as string;
const ecToken = () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const input = `${b64url({ alg: "ES256", kid: key.kid })}.${b64url(accessClaims())}`;
  return `${input}.${sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
};
/** A raw JSON text as a segment, for duplicate keys the JSON encoder would not write. */
const rawSegment = (json: string) => Buffer.from(json).toString("base64url");
const withSignature = (header: string, payload: string) => {
  const input = `${header}.${payload}`;
  return `${input}.${sign("RSA-SHA256", Buffer.from(input), key.privateKey).toString("base64url")}`;
};

type Expect = { status: number; code: string; challenge: string | null; reason: string };
const invalidToken = (reason: string): Expect => ({
  status: 401,
  code: "UNAUTHENTICATED",
  challenge: 'Bearer error="invalid_token"',
  reason,
});
const invalidRequest = (reason: string): Expect => ({
  status: 400,
  code: "BAD_REQUEST",
  challenge: 'Bearer error="invalid_request"',
  reason,
});

interface Attack {
  readonly name: string;
  readonly token?: () => string;
  /** Builds the request's headers and path from the token (default: `Authorization: Bearer <token>` on /graphql). */
  readonly request?: (token: string) => { path?: string; headers: Record<string, string | string[]> };
  readonly expected: Expect;
}

const ATTACKS: Attack[] = [
  // algorithm
  ...["none", "None", "NONE", "nOnE"].flatMap((alg): Attack[] => [
    {
      name: `alg ${alg} without signature`,
      token: () => unsigned({ alg, kid: key.kid }, accessClaims()),
      expected: invalidToken("TOKEN_MALFORMED"),
    },
    {
      name: `alg ${alg} with a signature`,
      token: () => unsigned({ alg, kid: key.kid }, accessClaims(), "c2ln"),
      expected: invalidToken("TOKEN_HEADER_REJECTED"),
    },
  ]),
  ...["HS256", "HS384", "HS512"].flatMap((alg): Attack[] => [
    {
      name: `${alg} keyed with the public key's PEM`,
      token: () => hmac(alg, publicPem(), accessClaims()),
      expected: invalidToken("TOKEN_HEADER_REJECTED"),
    },
    {
      name: `${alg} keyed with the public key's JWK`,
      token: () => hmac(alg, JSON.stringify(key.publicJwk), accessClaims()),
      expected: invalidToken("TOKEN_HEADER_REJECTED"),
    },
  ]),
  ...["RS384", "RS512", "PS256"].map((alg): Attack => ({
    name: `alg ${alg} on an RS256 key`,
    token: () => signToken(key, accessClaims(), { alg }),
    expected: invalidToken("TOKEN_HEADER_REJECTED"),
  })),
  { name: "an ES256 signature under the RSA key's kid", token: ecToken, expected: invalidToken("TOKEN_HEADER_REJECTED") },
  // keys
  { name: "an unknown kid", token: () => signToken(generateRsaKey(), accessClaims()), expected: invalidToken("TOKEN_UNKNOWN_KEY") },
  {
    name: "a known kid with another key's signature",
    token: () => signToken({ ...generateRsaKey(), kid: key.kid }, accessClaims()),
    expected: invalidToken("TOKEN_SIGNATURE_INVALID"),
  },
  ...["jku", "x5u"].map((param): Attack => ({
    name: `a ${param} header`,
    token: () => signToken(key, accessClaims(), { [param]: lure.url }),
    expected: invalidToken("TOKEN_HEADER_REJECTED"),
  })),
  {
    name: "an embedded jwk header",
    token: () => signToken(key, accessClaims(), { jwk: key.publicJwk }),
    expected: invalidToken("TOKEN_HEADER_REJECTED"),
  },
  {
    name: "an x5c header",
    token: () => signToken(key, accessClaims(), { x5c: ["MIIB"] }),
    expected: invalidToken("TOKEN_HEADER_REJECTED"),
  },
  {
    name: "a crit header",
    token: () => signToken(key, accessClaims(), { crit: ["exp"] }),
    expected: invalidToken("TOKEN_HEADER_REJECTED"),
  },
  ...["", " ", "../../etc/passwd", "x".repeat(7000), "' or 1=1 --"].map((kid): Attack => ({
    name: `kid ${JSON.stringify(kid.slice(0, 20))}`,
    token: () => signToken(key, accessClaims(), { kid }),
    expected:
      kid === ""
        ? invalidToken("TOKEN_HEADER_REJECTED")
        : kid.length > 4000
          ? invalidToken("TOKEN_TOO_LARGE")
          : invalidToken("TOKEN_UNKNOWN_KEY"),
  })),
  ...[42, null, { a: 1 }].map((kid): Attack => ({
    name: `kid ${JSON.stringify(kid)}`,
    token: () => signToken(key, accessClaims(), { kid }),
    expected: invalidToken("TOKEN_HEADER_REJECTED"),
  })),
  // claims
  ...[
    `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool`,
    `http://cognito-idp.us-east-1.amazonaws.com/${TEST_POOL_ID}`,
    `https://cognito-idp.us-east-1.amazonaws.com/${TEST_POOL_ID}/`,
    `https://Cognito-idp.us-east-1.amazonaws.com/${TEST_POOL_ID}`,
    `https://cognito-idp.us-east-1.amazonaws.com/${TEST_POOL_ID.toLowerCase()}`,
  ].map((iss): Attack => ({
    name: `issuer ${iss}`,
    token: () => signToken(key, accessClaims({ iss })),
    expected: invalidToken("TOKEN_WRONG_ISSUER"),
  })),
  {
    name: "another app client",
    token: () => signToken(key, accessClaims({ client_id: "someone-else" })),
    expected: invalidToken("TOKEN_WRONG_CLIENT"),
  },
  {
    name: "an ID token where access tokens are required",
    token: () => signToken(key, idClaims()),
    expected: invalidToken("TOKEN_WRONG_USE"),
  },
  ...["refresh", ["access"]].map((use): Attack => ({
    name: `token_use ${JSON.stringify(use)}`,
    token: () => signToken(key, accessClaims({ token_use: use })),
    expected: invalidToken("TOKEN_WRONG_USE"),
  })),
  {
    name: "exp 31 s ago (outside the leeway)",
    token: () => signToken(key, accessClaims({ exp: now() - 31, iat: now() - 600 })),
    expected: invalidToken("TOKEN_EXPIRED"),
  },
  { name: "nbf 60 s ahead", token: () => signToken(key, accessClaims({ nbf: now() + 60 })), expected: invalidToken("TOKEN_NOT_YET_VALID") },
  {
    name: "iat 60 s ahead",
    token: () => signToken(key, accessClaims({ iat: now() + 60, exp: now() + 3600 })),
    expected: invalidToken("TOKEN_ISSUED_IN_FUTURE"),
  },
  {
    name: "a lifetime over one day",
    token: () => signToken(key, accessClaims({ iat: now(), exp: now() + 86_401 })),
    expected: invalidToken("TOKEN_LIFETIME_TOO_LONG"),
  },
  {
    name: "exp as a string",
    token: () => signToken(key, accessClaims({ exp: String(now() + 600) })),
    expected: invalidToken("TOKEN_CLAIMS_INVALID"),
  },
  { name: "no exp", token: () => signToken(key, accessClaims({ exp: undefined })), expected: invalidToken("TOKEN_CLAIMS_INVALID") },
  {
    name: "cognito:groups as a string",
    token: () => signToken(key, accessClaims({ "cognito:groups": "admin" })),
    expected: invalidToken("TOKEN_CLAIMS_INVALID"),
  },
  {
    name: "cognito:groups with a number",
    token: () => signToken(key, accessClaims({ "cognito:groups": ["admin", 1] })),
    expected: invalidToken("TOKEN_CLAIMS_INVALID"),
  },
  {
    name: "scope as an array",
    token: () => signToken(key, accessClaims({ scope: ["orders/read"] })),
    expected: invalidToken("TOKEN_CLAIMS_INVALID"),
  },
  {
    name: "duplicate alg keys in the header",
    token: () => withSignature(rawSegment(`{"alg":"none","alg":"RS256","kid":"${key.kid}"}`), b64url(accessClaims())),
    // JSON.parse keeps the last key (RS256): the token is then an ordinary valid one, and the library agrees.
    expected: { status: 200, code: "", challenge: null, reason: "" },
  },
  // encoding
  { name: "a padded segment", token: () => `${signToken(key, accessClaims())}=`, expected: invalidToken("TOKEN_MALFORMED") },
  {
    name: "standard base64 characters",
    token: () => signToken(key, accessClaims()).replace(/-/g, "+").replace(/_/g, "/") + "+/",
    expected: invalidToken("TOKEN_MALFORMED"),
  },
  {
    name: "two segments",
    token: () => signToken(key, accessClaims()).split(".").slice(0, 2).join("."),
    expected: invalidToken("TOKEN_MALFORMED"),
  },
  { name: "four segments", token: () => `${signToken(key, accessClaims())}.eyJ9`, expected: invalidToken("TOKEN_MALFORMED") },
  {
    name: "an empty payload segment",
    token: () => {
      const [h, , s] = signToken(key, accessClaims()).split(".");
      return `${h}..${s}`;
    },
    expected: invalidToken("TOKEN_MALFORMED"),
  },
  { name: "8 KiB + 1", token: () => "a".repeat(4096) + "." + "b".repeat(4096) + ".c", expected: invalidToken("TOKEN_TOO_LARGE") },
  // transport
  {
    name: "the Basic scheme",
    request: (t) => ({ headers: { authorization: `Basic ${t}` } }),
    expected: invalidRequest("AUTHORIZATION_MALFORMED"),
  },
  {
    name: "the Token scheme",
    request: (t) => ({ headers: { authorization: `Token ${t}` } }),
    expected: invalidRequest("AUTHORIZATION_MALFORMED"),
  },
  {
    name: "empty credentials",
    request: () => ({ headers: { authorization: "Bearer " } }),
    expected: invalidRequest("AUTHORIZATION_MALFORMED"),
  },
  {
    name: "two credentials",
    request: (t) => ({ headers: { authorization: `Bearer ${t} ${t}` } }),
    expected: invalidRequest("AUTHORIZATION_MALFORMED"),
  },
  {
    name: "two Authorization headers",
    request: (t) => ({ headers: { authorization: [`Bearer ${t}`, `Bearer ${t}`] } }),
    expected: invalidRequest("AUTHORIZATION_DUPLICATED"),
  },
  {
    name: "a token in ?access_token=",
    request: (t) => ({ path: `/graphql?access_token=${t}`, headers: {} }),
    expected: invalidRequest("TOKEN_IN_URL"),
  },
  {
    name: "a token in ?id_token= beside a header",
    request: (t) => ({ path: `/graphql?id_token=${t}`, headers: { authorization: `Bearer ${t}` } }),
    expected: invalidRequest("TOKEN_IN_URL"),
  },
  { name: "a token in a cookie", request: (t) => ({ headers: { cookie: `session=${t}` } }), expected: invalidRequest("TOKEN_IN_COOKIE") },
  {
    name: "a token in a cookie beside a header",
    request: (t) => ({ headers: { cookie: `access_token=${t}`, authorization: `Bearer ${t}` } }),
    expected: invalidRequest("TOKEN_IN_COOKIE"),
  },
  // HTTP's whitespace is SP and HTAB only (RFC 9110 §5.6.3); node:http writes these characters as single bytes.
  ...[
    ["a no-break space (byte 0xA0) after the token", (t: string) => `Bearer ${t}\u00a0`],
    ["a next-line (byte 0x85) after the token", (t: string) => `Bearer ${t}\u0085`],
    ["a no-break space before the scheme", (t: string) => `\u00a0Bearer ${t}`],
    ["a no-break space between the scheme and the token", (t: string) => `Bearer\u00a0${t}`],
    ["a no-break space inside the token", (t: string) => `Bearer ${t.slice(0, 20)}\u00a0${t.slice(20)}`],
    ["UTF-8 no-break space bytes after the token", (t: string) => `Bearer ${t}\u00c2\u00a0`],
  ].map(([name, header]): Attack => ({
    name: name as string,
    request: (t) => ({ headers: { authorization: (header as (t: string) => string)(t) } }),
    expected: invalidRequest("AUTHORIZATION_MALFORMED"),
  })),
  {
    name: "tabs and spaces around the value (HTTP whitespace)",
    request: (t) => ({ headers: { authorization: `\t Bearer ${t} \t` } }),
    expected: { status: 200, code: "", challenge: null, reason: "" },
  },
];

describe("token and transport attacks over HTTP", () => {
  it.each(ATTACKS)("$name: $expected.status $expected.reason", async ({ token, request, expected }) => {
    const presented = token ? token() : signToken(key, accessClaims({ jti: randomUUID() }));
    const { path = "/graphql", headers } = request ? request(presented) : { headers: { authorization: `Bearer ${presented}` } };
    const lureRequests = lure.requests.length;
    const response = await app.raw(
      path,
      { "content-type": "application/json", ...headers },
      JSON.stringify({ query: "{ me { sub groups } }" }),
    );
    expect(response.status, response.text).toBe(expected.status);
    expect(response.headers.get("www-authenticate")).toBe(expected.challenge);
    if (expected.status !== 200) {
      expect(response.body.errors).toEqual([
        { message: expect.any(String), extensions: { code: expected.code, auth: { reason: expected.reason } } },
      ]);
    }
    expect(lure.requests.length).toBe(lureRequests);
    expectNoLeak(response, presented);
  });

  it("answers a 1 MB Authorization header without a 200 or a 500", async () => {
    const response = await app
      .raw("/graphql", { "content-type": "application/json", authorization: `Bearer ${"a".repeat(1024 * 1024)}` }, "{}")
      .catch(() => ({ status: 431 }) as TestResponse);
    expect([400, 401, 431]).toContain(response.status);
  });

  it("grants nothing to look-alike groups and scopes", async () => {
    // `orders` needs group:admin, group:support or scope:orders/read.
    for (const groups of [["Admin"], ["admin "], ["admіn"], [" support"], ["support,admin"], ["SUPPORT"]]) {
      const token = signToken(key, accessClaims({ "cognito:groups": groups, scope: "openid" }));
      const response = await app.graphql("{ orders { edges { node { id } } } }", { headers: { authorization: `Bearer ${token}` } });
      expect(response.body.errors?.[0]?.extensions?.code, groups[0]).toBe("FORBIDDEN");
    }
    const genuine = signToken(key, accessClaims({ "cognito:groups": ["support"], scope: "openid" }));
    expect(
      (await app.graphql("{ orders { edges { node { id } } } }", { headers: { authorization: `Bearer ${genuine}` } })).body.errors,
    ).toBeUndefined();
    for (const scope of ["orders/read2", "orders/Read", "orders", "orders/read/x", "xorders/read"]) {
      const response = await app.graphql("{ orders { edges { node { id } } } }", {
        headers: { authorization: `Bearer ${signToken(key, accessClaims({ scope, "cognito:groups": [] }))}` },
      });
      expect(response.body.errors?.[0]?.extensions?.code, scope).toBe("FORBIDDEN");
    }
  });
});

describe("/metrics is never served on the API port in production", () => {
  const production = () => ({
    NODE_ENV: "production",
    COGNITO_USER_POOL_ID: TEST_POOL_ID,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    COGNITO_JWKS_URI: jwks.url,
  });

  it("serves it on METRICS_PORT (loopback by default) and answers 404 for it on the API port", async () => {
    const served = await startApp({ ...production(), METRICS_PORT: "0" }, { metrics: true });
    try {
      await served.graphql("{ me { sub } }");
      for (const path of ["/metrics", "/metrics?x=1", "/METRICS", "/metrics/"]) expect((await served.fetch(path)).status, path).toBe(404);
      expect(served.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const metrics = await fetch(served.metricsUrl!);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/graphql_requests_total\{operation="anonymous",status="200"\} 1/);
      // The metrics listener serves nothing of the API.
      const base = served.metricsUrl!.replace(/\/metrics$/, "");
      for (const path of ["/graphql", "/healthz", "/"]) expect((await fetch(base + path)).status, path).toBe(404);
      expect((await fetch(served.metricsUrl!, { method: "POST" })).status).toBe(404);
    } finally {
      await served.close();
    }
  }, 60_000);

  it("serves it nowhere without METRICS_PORT", async () => {
    const unserved = await startApp(production(), { metrics: true });
    try {
      expect(unserved.metricsUrl).toBeNull();
      expect((await unserved.fetch("/metrics")).status).toBe(404);
    } finally {
      await unserved.close();
    }
  }, 60_000);

  it("keeps it on the API port in dev mode", async () => {
    const dev = await startApp({}, { metrics: true });
    try {
      expect((await dev.fetch("/metrics")).status).toBe(200);
    } finally {
      await dev.close();
    }
  }, 60_000);
});

describe("no schema hints in production, whatever the kind of error", () => {
  const support = () => ({ authorization: `Bearer ${signToken(key, accessClaims({ "cognito:groups": ["support"] }))}` });
  it.each([
    [
      "an enum value misspelt in the variables",
      "query ($s: OrderStatus) { orders(status: $s) { edges { cursor } } }",
      { s: "SHIPED" },
      "SHIPPED",
    ],
    ["an enum value misspelt in a literal", "{ orders(status: SHIPED) { edges { cursor } } }", undefined, "SHIPPED"],
    [
      "an input field misspelt in the variables",
      "mutation ($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }",
      { i: { idempotencyKe: "k", items: [] } },
      '"idempotencyKey"?',
    ],
    [
      "an input field misspelt in a literal",
      'mutation { placeOrder(input: { idempotencyKe: "k", items: [] }) { id } }',
      undefined,
      '"idempotencyKey"?',
    ],
    ["a field misspelt", "{ products { edgs { cursor } } }", undefined, "edges"],
    ["an argument misspelt", "{ products(frist: 2) { edges { cursor } } }", undefined, '"first"'],
    [
      "a type misspelt in a variable definition",
      "query ($s: OrderStatu) { orders(status: $s) { edges { cursor } } }",
      undefined,
      '"OrderStatus"',
    ],
    [
      "a nested input field misspelt in the variables",
      "mutation ($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }",
      { i: { idempotencyKey: "k", items: [{ productId: "p", quantit: 1 }] } },
      '"quantity"?',
    ],
  ])("%s: 400 without a suggestion", async (_label, query, variables, hint) => {
    const response = await app.graphql(query, { headers: support(), variables });
    expect(response.status, response.text).toBe(400);
    expect(response.body.errors.length).toBeGreaterThan(0);
    expect(response.text).not.toMatch(/did you mean/i);
    expect(response.text).not.toContain(hint);
    expect(response.text).not.toMatch(/stacktrace/);
  });
});

/** No claim value, token segment, key id, group name or stack trace in an answer. */
function expectNoLeak(response: TestResponse, token: string) {
  if (response.status === 200) return;
  expect(response.text).not.toMatch(/stacktrace|\.ts:\d+|at [\w.]+ \(/);
  for (const secret of [...token.split(".").filter((s) => s.length > 8), key.kid, "user-sub-1", "support", TEST_CLIENT_ID]) {
    expect(response.text).not.toContain(secret);
  }
}

describe("an unverified email (ID tokens accepted, production posture)", () => {
  let idApp: TestApp;
  beforeAll(async () => {
    idApp = await startApp({
      NODE_ENV: "production",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
      COGNITO_TOKEN_USE: "any",
    });
    await idApp.db
      .insertInto("products")
      .values({ id: "prd-1", sku: "P-1", name: "Pen", priceCents: 100, costPriceCents: 50, stock: 100 })
      .execute();
  }, 60_000);
  afterAll(() => idApp.close());

  const asCustomer = (sub: string, emailVerified: unknown) => ({
    authorization: `Bearer ${signToken(key, idClaims({ sub, "cognito:groups": [], email: "victim@example.com", email_verified: emailVerified }))}`,
  });
  const support = () => ({ authorization: `Bearer ${signToken(key, accessClaims({ "cognito:groups": ["support"] }))}` });
  const PLACE = 'mutation { placeOrder(input: { idempotencyKey: "k1", items: [{ productId: "prd-1", quantity: 1 }] }) { id } }';

  it.each([
    ["false", false, null],
    ['"false"', "false", null],
    ["absent", undefined, null],
    ['"true"', "true", "victim@example.com"],
    ["true", true, "victim@example.com"],
  ])(
    "email_verified %s: me.email and the customerEmail support sees on the order hold the address only when verified",
    async (_label, claim, expected) => {
      const sub = `customer-${randomUUID()}`;
      const me = await idApp.graphql("{ me { sub email } }", { headers: asCustomer(sub, claim) });
      expect(me.body).toEqual({ data: { me: { sub, email: expected } } });
      const placed = await idApp.graphql(PLACE, { headers: asCustomer(sub, claim) });
      expect(placed.status, placed.text).toBe(200);
      const order = await idApp.graphql(`{ order(id: "${placed.body.data.placeOrder.id}") { customerId customerEmail } }`, {
        headers: support(),
      });
      expect(order.body).toEqual({ data: { order: { customerId: sub, customerEmail: expected } } });
    },
  );
});

const cursorOf = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

describe.each(BACKENDS)("input values the database cannot hold, production posture ($name)", ({ postgresUrl, skip }) => {
  let db: TestApp;
  beforeAll(async () => {
    if (skip) return;
    db = await startApp(
      { NODE_ENV: "production", COGNITO_USER_POOL_ID: TEST_POOL_ID, COGNITO_CLIENT_ID: TEST_CLIENT_ID, COGNITO_JWKS_URI: jwks.url },
      { postgresUrl },
    );
    await db.db
      .insertInto("products")
      .values({ id: "prd-1", sku: "P-1", name: "Pen", priceCents: 100, costPriceCents: 50, stock: 100 })
      .execute();
  }, 60_000);
  afterAll(() => db?.close());

  const as = (groups: string[], scope = "openid") => ({
    authorization: `Bearer ${signToken(key, accessClaims({ "cognito:groups": groups, scope }))}`,
  });
  const FORGED_CURSORS = [
    ["JavaScript's earliest instant", cursorOf(["-271821-04-20T00:00:00.000Z", "x"])],
    ["JavaScript's latest instant", cursorOf(["+275760-09-13T00:00:00.000Z", "x"])],
    ["an id holding U+0000", cursorOf(["2026-01-01T00:00:00.000Z", "x\u0000"])],
    ["an id holding a lone surrogate", cursorOf('["2026-01-01T00:00:00.000Z","\\udfff"]')],
    ["a date without a time", cursorOf(["2026-01-01", "x"])],
  ];

  it.skipIf(skip).each(
    FORGED_CURSORS.flatMap(([label, cursor]) => [
      [label, "products", `{ products(after: "${cursor}") { edges { cursor } } }`, []],
      [label, "orders", `{ orders(after: "${cursor}") { edges { cursor } } }`, ["support"]],
      [label, "myOrders", `{ myOrders(after: "${cursor}") { edges { cursor } } }`, []],
    ]),
  )("a forged cursor (%s) on %s is BAD_USER_INPUT on after, never a database error", async (_label, field, query, groups) => {
    const response = await db.graphql(query as string, { headers: as(groups as string[]) });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: null,
      errors: [
        {
          message: "after is not a cursor from this API",
          path: [field],
          locations: expect.any(Array),
          extensions: { code: "BAD_USER_INPUT", field: "after" },
        },
      ],
    });
  });

  it.skipIf(skip).each([
    ["U+0000 in an id literal", '{ product(id: "a\\u0000b") { id } }', undefined, []],
    ["U+0000 in an id variable", "query ($id: ID!) { product(id: $id) { id } }", { id: "a\u0000b" }, []],
    [
      "a lone surrogate in an idempotency key",
      'mutation ($k: String!) { placeOrder(input: { idempotencyKey: $k, items: [{ productId: "prd-1", quantity: 1 }] }) { id } }',
      { k: "k\ud800" },
      [],
    ],
    [
      "U+0000 in a product id inside an input object",
      "mutation ($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }",
      { i: { idempotencyKey: "k2", items: [{ productId: "prd-\u0000", quantity: 1 }] } },
      [],
    ],
    [
      "U+0000 in a SKU",
      'mutation { createProduct(input: { sku: "X\\u0000", name: "x", priceCents: 3, costPriceCents: 1, stock: 1 }) { id } }',
      undefined,
      ["admin"],
    ],
  ])("refuses %s with 400 BAD_USER_INPUT before anything runs", async (_label, query, variables, groups) => {
    const before = await db.db.selectFrom("orders").select(db.db.fn.countAll().as("n")).executeTakeFirstOrThrow();
    const response = await db.graphql(query as string, {
      headers: as(groups as string[]),
      variables: variables as Record<string, unknown> | undefined,
    });
    expect(response.status, response.text).toBe(400);
    expect(response.body.errors).toEqual([
      { message: "Text input must be well-formed Unicode without U+0000.", extensions: { code: "BAD_USER_INPUT" } },
    ]);
    expect(await db.db.selectFrom("orders").select(db.db.fn.countAll().as("n")).executeTakeFirstOrThrow()).toEqual(before);
  });

  it.skipIf(skip).each([
    [
      "priceCents literal",
      'mutation { createProduct(input: { sku: "BIG-1", name: "x", priceCents: 3000000000, costPriceCents: 1, stock: 1 }) { id } }',
      undefined,
    ],
    ["stock variable", 'mutation ($s: NonNegativeInt) { updateProduct(id: "prd-1", input: { stock: $s }) { id } }', { s: 3_000_000_000 }],
    [
      "quantity variable",
      'mutation ($q: PositiveInt!) { placeOrder(input: { idempotencyKey: "k3", items: [{ productId: "prd-1", quantity: $q }] }) { id } }',
      { q: 2 ** 31 },
    ],
  ])("refuses an integer beyond 32 bits (%s) with 400 before anything runs", async (_label, query, variables) => {
    const response = await db.graphql(query, { headers: as(["admin"]), variables });
    expect(response.status, response.text).toBe(400);
    expect(["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"]).toContain(response.body.errors[0].extensions.code);
    expect(response.body.errors[0].message).toMatch(/cannot represent a value outside -2147483648 to 2147483647/);
    expect(response.text).not.toMatch(/out of range for type integer/);
  });
});
