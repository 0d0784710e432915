import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setUpAuth } from "../../../src/auth-setup.js";
import { InvalidTokenError, RevocationList, type TokenVerifier } from "../../../src/auth/index.js";
import { loadConfig } from "../../../src/config.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { generateRsaKey, jwksOf, signToken, type TestKey } from "../../helpers/keys.js";
import { tempDir } from "../../helpers/temp.js";

/**
 * The conformance corpus: one file per token shape Cognito emits in 2026 (test/fixtures/cognito-tokens/*.json), each
 * with the configuration it runs under and the expected outcome. Every file is signed with a test key and run through
 * the verifier exactly as the server builds it (loadConfig, setUpAuth); files marked `http` also go through the HTTP
 * server as a client sends them.
 */

interface CorpusCase {
  readonly description: string;
  readonly source: string;
  /** Environment variables (COGNITO_*) the shape runs under; COGNITO_JWKS_URI is added by the test. */
  readonly config: Record<string, string>;
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  /** The Principal's fields (a subset) or the refusal's reason code. */
  readonly expect: { readonly principal: Record<string, unknown> } | { readonly reason: string };
  /** Also run through the HTTP server. */
  readonly http?: boolean;
  /** Over HTTP: revoke the token's session (origin_jti) after it was accepted; it is then refused. */
  readonly revokeSession?: boolean;
}

const DIR = join(import.meta.dirname, "../../fixtures/cognito-tokens");
const corpus: [string, CorpusCase][] = readdirSync(DIR)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => [name.replace(/\.json$/, ""), JSON.parse(readFileSync(join(DIR, name), "utf8")) as CorpusCase]);

let key: TestKey;
let keyServer: JwksServer;
const verifiers = new Map<string, TokenVerifier>();

beforeAll(async () => {
  key = generateRsaKey();
  keyServer = await startJwksServer(jwksOf(key));
});

afterAll(async () => {
  for (const verifier of verifiers.values()) verifier.close();
  await keyServer?.close();
});

/** `$now`, `$now+N`, `$now-N` (seconds) and `$kid`, resolved when the case runs. */
function resolve<T>(value: T, now: number): T {
  if (typeof value === "string") {
    if (value === "$kid") return key.kid as T;
    const time = /^\$now(?:([+-])(\d+))?$/.exec(value);
    if (time) return (now + (time[1] === "-" ? -1 : 1) * Number(time[2] ?? 0)) as T;
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, now)) as T;
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, now)])) as T;
  return value;
}

const envOf = (shape: CorpusCase) => ({ ...shape.config, COGNITO_JWKS_URI: keyServer.url });

/** The verifier `npm start` would build for the case's configuration (one per distinct configuration). */
async function verifierFor(shape: CorpusCase): Promise<TokenVerifier> {
  const id = JSON.stringify(shape.config);
  let verifier = verifiers.get(id);
  if (!verifier) {
    verifier = setUpAuth(loadConfig({ ...envOf(shape), DATA_DIR: tempDir("corpus-") })).verifier;
    await verifier.hydrate();
    verifiers.set(id, verifier);
  }
  return verifier;
}

function tokenOf(shape: CorpusCase, now: number): string {
  const header = resolve(shape.header, now);
  return signToken({ ...key, kid: String(header.kid) }, resolve(shape.claims, now), header);
}

it("has a case for every shape issue #26 lists", () => {
  const names = corpus.map(([name]) => name);
  for (const shape of [
    "lite-",
    "essentials-v2",
    "m2m-v3",
    "-id-",
    "updated-issuer",
    "replica-region",
    "resource-bound",
    "eusc",
    "refreshed",
    "origin-jti",
  ]) {
    expect(
      names.some((name) => name.includes(shape)),
      shape,
    ).toBe(true);
  }
});

describe.each(corpus)("corpus %s", (_name, shape) => {
  it(`${"principal" in shape.expect ? "is accepted" : `is refused (${shape.expect.reason})`}: ${shape.description}`, async () => {
    const now = Math.floor(Date.now() / 1000);
    const verifier = await verifierFor(shape);
    const outcome = verifier.verify(tokenOf(shape, now));
    if ("reason" in shape.expect) {
      await expect(outcome).rejects.toBeInstanceOf(InvalidTokenError);
      await expect(outcome).rejects.toMatchObject({ reason: shape.expect.reason });
      return;
    }
    const expected = resolve(shape.expect.principal, now);
    const { authTime, ...rest } = expected;
    const principal = await outcome;
    expect(principal).toMatchObject(rest);
    if (authTime !== undefined) expect(principal.authTime).toEqual(new Date(Number(authTime) * 1000));
  });
});

describe("corpus over HTTP", () => {
  const httpCases = corpus.filter(([, shape]) => shape.http);
  const apps = new Map<string, { app: TestApp; revocations: RevocationList }>();

  afterAll(async () => {
    await Promise.all([...apps.values()].map(({ app }) => app.close()));
  });

  /** One server per distinct configuration, with a revocation list the test writes to. */
  async function appFor(shape: CorpusCase) {
    const id = JSON.stringify(shape.config);
    if (!apps.has(id)) {
      const revocations = new RevocationList();
      apps.set(id, { app: await startApp(envOf(shape), { revocations }), revocations });
    }
    return apps.get(id)!;
  }

  const ME = "{ me { sub kind username email groups scopes tokenUse clientId issuer customClaims } }";

  it.each(httpCases)("%s", async (_name, shape) => {
    const now = Math.floor(Date.now() / 1000);
    const { app, revocations } = await appFor(shape);
    const token = tokenOf(shape, now);
    const response = await app.graphql(ME, { headers: bearer(token) });
    if ("reason" in shape.expect) {
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
      expect(response.body.errors[0].extensions).toMatchObject({ code: "UNAUTHENTICATED", auth: { reason: shape.expect.reason } });
      return;
    }
    const { sub, kind, username, email, groups, scopes, tokenUse, clientId, issuer, customClaims } = resolve(shape.expect.principal, now);
    expect(response.status, response.text).toBe(200);
    expect(response.body.data.me).toEqual({
      sub,
      kind,
      username,
      email,
      groups,
      scopes,
      tokenUse: String(tokenUse).toUpperCase(),
      clientId,
      issuer,
      customClaims,
    });
    if (shape.revokeSession) {
      const claims = resolve(shape.claims, now);
      revocations.add({
        kind: "session",
        sub: String(claims.sub),
        sessionId: String(claims.origin_jti),
        expiresAt: new Date((now + 7200) * 1000),
      });
      const again = await app.graphql(ME, { headers: bearer(token) });
      expect([again.status, again.body.errors?.[0]?.extensions?.auth?.reason]).toEqual([401, "TOKEN_REVOKED"]);
    }
  });
});
