import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";
import { alive, gql, waitUntil, type Answer } from "../../helpers/faults.js";

/**
 * The key-set endpoint misbehaving under the real server process (production posture): a local key server is
 * switched between 500, garbage, an empty key set, hanging, rotated keys and a removed key. Cached keys keep
 * working through every failure; tokens that need a new key get 503 AUTH_UNAVAILABLE; a flood of 100 parallel
 * requests with new kids costs at most a couple of fetches; a removed key stops being trusted after a refresh.
 */

const REFRESH_SECONDS = 3;
/** Rotation and removal take effect within one refresh plus the fetch back-off (5 s): bounded here at 20 s. */
const KEY_CHANGE_BOUND_MS = 20_000;
const ME = "query Me { me { sub } }";

describe("key-set faults against the server process", () => {
  let server: ServerProcess;
  let url: string;
  let jwks: JwksServer;
  let keyA: TestKey;
  let keyB: TestKey;
  const tokenOf = (key: TestKey, kid?: string) => signToken(key, accessClaims({ sub: `sub-${key.kid}` }), kid ? { kid } : {});
  const me = (token: string) => gql(url, ME, { token, timeoutMs: 30_000 });

  /** 100 requests at once, each with a kid nobody published; returns the answers and the fetches they caused. */
  async function flood(): Promise<{ answers: Answer[]; fetches: number }> {
    const before = jwks.requests.length;
    const answers = await Promise.all(Array.from({ length: 100 }, () => me(tokenOf(keyA, `unknown-${randomUUID()}`))));
    return { answers, fetches: jwks.requests.length - before };
  }

  const reasonOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.auth?.reason;

  function expectAuthUnavailable(answer: Answer): void {
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(answer.body.errors[0].extensions).toMatchObject({ code: "AUTH_UNAVAILABLE", auth: { reason: "KEYS_UNAVAILABLE" } });
  }

  beforeAll(async () => {
    keyA = generateRsaKey("key-a");
    keyB = generateRsaKey("key-b");
    jwks = await startJwksServer(jwksOf(keyA));
    server = startServerProcess({
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
      JWKS_REFRESH_SECONDS: String(REFRESH_SECONDS),
    });
    url = await server.url();
  });

  afterAll(async () => {
    server?.kill();
    await server?.exited;
    await jwks?.close();
  });

  it.each([
    ["answers 500", { status: 500 }],
    ["answers garbage", { body: "<html>502 Bad Gateway</html>" }],
    ["answers JSON that is not a key set", { body: JSON.stringify({ message: "Internal error" }) }],
    ["answers an empty key set", { body: JSON.stringify({ keys: [] }) }],
    ["hangs", { delayMs: 8000 }],
  ])("while the key endpoint %s: cached keys work, new kids get 503, a flood of 100 costs at most 2 fetches", async (_case, behaviour) => {
    jwks.setBehaviour(behaviour);
    const modeStart = jwks.requests.length;
    try {
      const cached = await me(tokenOf(keyA));
      expect(cached.status, JSON.stringify(cached.body)).toBe(200);
      expect(cached.body.data.me.sub).toBe("sub-key-a");

      const { answers, fetches } = await flood();
      for (const answer of answers) expectAuthUnavailable(answer);
      expect(fetches).toBeLessThanOrEqual(2);

      // The flood may fall in the back-off of an earlier failure; the refresh timer asks within 3 s in any case.
      await waitUntil("the endpoint was asked while misbehaving", () => jwks.requests.length > modeStart, 15_000);
      // The cached key is still trusted after the failed fetches (an empty or garbage body replaced nothing).
      expect((await me(tokenOf(keyA))).status).toBe(200);
      expect(alive(server)).toBe(true);
    } finally {
      jwks.setBehaviour({});
    }
  });

  it("trusts a rotated-in key, then stops trusting a removed one after a refresh", async () => {
    jwks.setJwks(jwksOf(keyA, keyB));
    const rotatedMs = await waitUntil("key B trusted", async () => (await me(tokenOf(keyB))).status === 200, KEY_CHANGE_BOUND_MS, 250);
    jwks.setJwks(jwksOf(keyB));
    const removedMs = await waitUntil(
      "key A refused",
      async () => {
        const answer = await me(tokenOf(keyA));
        return answer.status === 401 && reasonOf(answer) === "TOKEN_UNKNOWN_KEY";
      },
      KEY_CHANGE_BOUND_MS,
      250,
    );
    console.log(
      `key rotated in: trusted after ${rotatedMs} ms; key removed: refused after ${removedMs} ms (JWKS_REFRESH_SECONDS=${REFRESH_SECONDS})`,
    );
    const answer = await me(tokenOf(keyA));
    expect(answer.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect((await me(tokenOf(keyB))).status).toBe(200);
  });

  it("answers a flood of unknown kids with 401 while the endpoint is healthy, with at most 2 fetches", async () => {
    const { answers, fetches } = await flood();
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(reasonOf(answer)).toBe("TOKEN_UNKNOWN_KEY");
    }
    expect(fetches).toBeLessThanOrEqual(2);
    expect(alive(server)).toBe(true);
  });
});
