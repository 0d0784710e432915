import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setUpAuth } from "../../../src/auth-setup.js";
import { DevIssuer } from "../../../src/auth/index.js";
import { loadConfig } from "../../../src/config.js";
import { openDatabase } from "../../../src/data/database.js";
import { PERSONAS } from "../../../src/dev/personas.js";
import { buildSchema } from "../../../src/graphql/schema.js";
import { createApolloServer } from "../../../src/graphql/apollo.js";
import { startHttpServer } from "../../../src/http/server.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { generateRsaKey, jwksOf, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";

/** `POST /dev/token`: dev tokens for a frontend or an end-to-end test, from the running dev server only. */
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));

describe("POST /dev/token on the dev server", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ CORS_ORIGINS: "http://localhost:5173" });
  }, 120_000);
  afterAll(() => app?.close());

  const me = async (token: string) =>
    (await app.graphql("{ me { sub kind username email groups scopes tokenUse } }", { headers: bearer(token) })).body.data.me;

  it("mints a persona's access token that the server accepts", async () => {
    const response = await app.fetch("/dev/token", json({ persona: "sam" }));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ token: expect.any(String), tokenUse: "access", expiresAt: expect.any(Number) });
    expect(response.body.expiresAt - Date.now() / 1000).toBeGreaterThan(3500);
    expect(await me(response.body.token)).toMatchObject({ sub: PERSONAS.sam.sub, kind: "USER", username: "sam", groups: ["support"] });
  });

  it("mints the machine client's token, and tokens built from the CLI's values", async () => {
    const machine = await app.fetch("/dev/token", json({ persona: "fulfillment" }));
    expect(await me(machine.body.token)).toMatchObject({ kind: "CLIENT", username: null, scopes: ["orders/read", "orders/write"] });
    const custom = await app.fetch(
      "/dev/token",
      json({ id: true, sub: "e2e-user-1", username: "e2e", email: "e2e@example.com", groups: ["staff"], expiresIn: 120 }),
    );
    expect(custom.body.tokenUse).toBe("id");
    expect(claimsOf(custom.body.token).exp - claimsOf(custom.body.token).iat).toBe(120);
    expect(await me(custom.body.token)).toMatchObject({
      sub: "e2e-user-1",
      username: "e2e",
      email: "e2e@example.com",
      groups: ["staff"],
      tokenUse: "ID",
    });
  });

  it.each([
    ["an unknown persona", { persona: "mallory" }, /Unknown persona "mallory"/],
    ["an unknown field", { persona: "alice", admin: true }, /Unknown field\(s\): admin/],
    ["groups as a string", { groups: "staff" }, /groups must be an array/],
    ["a lifetime over a day", { expiresIn: 86_401 }, /expiresIn/],
    ["an ID token for a machine", { client: true, id: true }, /id and client/],
    ["a body that is not an object", ["alice"], /JSON object/],
  ])("refuses %s with 400 and says why", async (_label, body, message) => {
    const response = await app.fetch("/dev/token", json(body));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(message);
    expect(response.body.token).toBeUndefined();
  });

  it("takes only POST with JSON", async () => {
    const get = await app.fetch("/dev/token");
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST, OPTIONS"]);
    const form = await app.fetch("/dev/token", { method: "POST", headers: { "content-type": "text/plain" }, body: '{"persona":"alice"}' });
    expect(form.status).toBe(415);
    const broken = await app.fetch("/dev/token", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(broken.status).toBe(400);
  });

  it("lets only origins listed in CORS_ORIGINS read a token from a browser", async () => {
    const preflight = await app.fetch("/dev/token", {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type");
    const listed = await app.fetch("/dev/token", json({ persona: "alice" }, { origin: "http://localhost:5173" }));
    expect(listed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const other = await app.fetch("/dev/token", json({ persona: "alice" }, { origin: "https://evil.example" }));
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("gives no CORS headers under the dev default CORS_ORIGINS=*", async () => {
    const open = await startApp();
    try {
      const response = await open.fetch("/dev/token", json({ persona: "alice" }, { origin: "https://evil.example" }));
      expect(response.status).toBe(200);
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
      // /graphql keeps its own CORS.
      const graphql = await open.fetch("/graphql", json({ query: "{ me { sub } }" }, { origin: "https://evil.example" }));
      expect(graphql.headers.get("access-control-allow-origin")).toBe("*");
    } finally {
      await open.close();
    }
  }, 120_000);
});

describe("POST /dev/token does not exist", () => {
  let jwks: JwksServer;
  beforeAll(async () => {
    jwks = await startJwksServer(jwksOf(generateRsaKey()));
  });
  afterAll(() => jwks?.close());

  const pool = () => ({ COGNITO_USER_POOL_ID: TEST_POOL_ID, COGNITO_CLIENT_ID: TEST_CLIENT_ID, COGNITO_JWKS_URI: jwks.url });

  it.each([
    ["with a configured pool", {}],
    ["in production", { NODE_ENV: "production" }],
  ])(
    "%s (404)",
    async (_label, env) => {
      const app = await startApp({ ...pool(), ...env });
      try {
        for (const init of [json({ persona: "alice" }), { method: "GET" }]) {
          const response = await app.fetch("/dev/token", init);
          expect(response.status).toBe(404);
          expect(response.text).not.toMatch(/eyJ/);
        }
      } finally {
        await app.close();
      }
    },
    120_000,
  );

  it("in production even when handed a dev issuer (404)", async () => {
    const dev = loadConfig({ PORT: "0", HOST: "127.0.0.1" });
    const config = { ...dev, production: true };
    const { verifier } = setUpAuth(loadConfig({ ...pool(), PORT: "0", HOST: "127.0.0.1" }));
    await verifier.hydrate();
    const database = await openDatabase({ url: null, pgliteDir: null });
    // The HTTP adapter on its own, handed what the composition root never gives it in production: a dev issuer.
    const deps = { config, schema: buildSchema(), verifier, db: database.db, devIssuer: DevIssuer.ephemeral() };
    const apollo = createApolloServer(deps);
    await apollo.start();
    const server = await startHttpServer(deps, apollo);
    try {
      const response = await fetch(server.url.replace(/\/graphql$/, "/dev/token"), json({ persona: "alice" }));
      expect(response.status).toBe(404);
    } finally {
      await server.close();
      verifier.close();
      await database.close();
    }
  }, 120_000);
});
