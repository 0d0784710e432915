import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startApp, type TestApp, type TestResponse } from "../../helpers/app.js";
import { RevocationList } from "../../../src/auth/index.js";
import { RevocationCursor } from "../../../src/revocations/cursor.js";
import { BACKENDS } from "../../helpers/database.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { principal } from "../../helpers/principal.js";
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

const ME = "{ me { sub } }";
const SIGN_OUT = "mutation { signOut { sub sessionId revokedBefore expiresAt cognitoSignedOut } }";
const SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { sub sessionId revokedBefore expiresAt cognitoSignedOut } }";
const REVOKE = "mutation($sub: ID!) { revokeSessions(sub: $sub) { sub sessionId revokedBefore } }";
const seconds = () => Math.floor(Date.now() / 1000);
const claimsOfToken = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { origin_jti: string };

/**
 * Session revocation over real HTTP, in production posture, on both databases: the revocation mutations, the
 * tokens they make refused (401 TOKEN_REVOKED, cached verifications too) and the ones they leave alone, the rules
 * on who may revoke whom, and a revocation in a rolled-back operation changing nothing.
 */
describe.each(BACKENDS)("session revocation over HTTP on $name", ({ postgresUrl, skip }) => {
  let key: TestKey;
  let jwks: JwksServer;
  let app: TestApp;
  const logs: Record<string, any>[] = [];

  beforeAll(async () => {
    if (skip) return;
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    app = await startApp(
      {
        NODE_ENV: "production",
        COGNITO_USER_POOL_ID: TEST_POOL_ID,
        COGNITO_CLIENT_ID: TEST_CLIENT_ID,
        COGNITO_JWKS_URI: jwks.url,
        COGNITO_TOKEN_USE: "any",
      },
      { postgresUrl, logger },
    );
  });
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  /** A user's access token of one session (`origin_jti`), signed in at `authTime` (seconds). */
  const userToken = (sub: string, session: string, authTime = seconds() - 60, groups: string[] = []) =>
    signToken(key, accessClaims({ sub, username: `user-${sub}`, origin_jti: session, auth_time: authTime, "cognito:groups": groups }));
  const meOf = (token: string) => app.graphql(ME, { headers: bearer(token) });
  const revocationRows = async () => (await app.db.selectFrom("revocations").select(["sub"]).execute()).map((r) => r.sub);

  function expectRevoked(response: TestResponse) {
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(response.body.errors).toEqual([
      { message: expect.any(String), extensions: { code: "UNAUTHENTICATED", auth: { reason: "TOKEN_REVOKED" } } },
    ]);
    expect(response.body.data).toBeUndefined();
  }

  it.skipIf(skip)(
    "signOut ends the current session (its access, ID and refreshed tokens), and leaves the person's other sessions and other people alone",
    async () => {
      const sub = `sub-${randomUUID()}`;
      const session = randomUUID();
      const current = userToken(sub, session);
      const refreshedLater = signToken(
        key,
        accessClaims({ sub, username: `user-${sub}`, origin_jti: session, auth_time: seconds() - 60, iat: seconds(), jti: randomUUID() }),
      );
      const idToken = signToken(key, idClaims({ sub, origin_jti: session, auth_time: seconds() - 60 }));
      // Another sign-in: another origin_jti and another auth_time (a session signed in within the same second as
      // the revoked one would be refused too: see the test below).
      const otherSession = userToken(sub, randomUUID(), seconds() - 600);
      const otherPerson = userToken(`sub-${randomUUID()}`, randomUUID());
      // Seen once before: the verification is cached, and the cache must obey the revocation.
      expect((await meOf(current)).body.data.me.sub).toBe(sub);

      const response = await app.graphql(SIGN_OUT, { headers: bearer(current) });
      expect(response.status).toBe(200);
      expect(response.body.data.signOut).toMatchObject({ sub, sessionId: session, revokedBefore: null, cognitoSignedOut: false });

      expectRevoked(await meOf(current));
      expectRevoked(await meOf(refreshedLater));
      expectRevoked(await meOf(idToken));
      expect((await meOf(otherSession)).body.data.me.sub).toBe(sub);
      expect((await meOf(otherPerson)).status).toBe(200);
      expect(logs).toContainEqual(expect.objectContaining({ event: "auth.revocation", sub, kind: "SESSION", revokedBy: sub }));
      expect(logs).toContainEqual(expect.objectContaining({ event: "auth.refused", reason: "TOKEN_REVOKED" }));
    },
  );

  it.skipIf(skip)(
    "signOut also refuses the session's tokens if refresh-token rotation gave them a new origin_jti (same sub and auth_time), here and after a reload",
    async () => {
      const sub = `sub-${randomUUID()}`;
      const signedInAt = seconds() - 120;
      const current = userToken(sub, randomUUID(), signedInAt);
      const rotated = signToken(
        key,
        accessClaims({ sub, username: `user-${sub}`, origin_jti: randomUUID(), auth_time: signedInAt, iat: seconds(), jti: randomUUID() }),
      );
      const laterSignIn = userToken(sub, randomUUID(), signedInAt + 1);
      const response = await app.graphql(SIGN_OUT, { headers: bearer(current) });
      expect(response.status).toBe(200);
      const row = await app.db.selectFrom("revocations").select(["sessionSignedInAt"]).where("sub", "=", sub).executeTakeFirstOrThrow();
      expect(row.sessionSignedInAt?.getTime()).toBe(signedInAt * 1000);

      expectRevoked(await meOf(rotated));
      expect((await meOf(laterSignIn)).body.data.me.sub).toBe(sub);
      // A replica that learns it from the table (a reload) matches the same way.
      const list = new RevocationList();
      await new RevocationCursor(app.db, list, 1000).catchUp();
      const rotatedPrincipal = principal({ sub, sessionId: claimsOfToken(rotated).origin_jti, authTime: new Date(signedInAt * 1000) });
      expect(list.isRevoked(rotatedPrincipal)).toBe(true);
      expect(list.isRevoked({ ...rotatedPrincipal, authTime: new Date((signedInAt + 1) * 1000) })).toBe(false);
    },
  );

  it.skipIf(skip)(
    "signOutEverywhere refuses every session signed in until then, also tokens refreshed from them later, but not a later sign-in",
    async () => {
      const sub = `sub-${randomUUID()}`;
      const phone = userToken(sub, randomUUID(), seconds() - 3000);
      const laptop = userToken(sub, randomUUID(), seconds() - 30);
      const asked = Date.now();
      const response = await app.graphql(SIGN_OUT_EVERYWHERE, { headers: bearer(laptop) });
      const answered = Date.now();
      expect(response.body.data.signOutEverywhere).toMatchObject({ sub, sessionId: null, cognitoSignedOut: false });
      const cutOff = Date.parse(response.body.data.signOutEverywhere.revokedBefore);
      // Kept for the refresh token's validity (30 days by default) plus a token's lifetime and the leeway.
      expect(Date.parse(response.body.data.signOutEverywhere.expiresAt) - cutOff).toBe((30 * 86_400 + 86_400 + 30) * 1000);

      expectRevoked(await meOf(phone));
      expectRevoked(await meOf(laptop));
      // A refresh of the phone's session after the cut-off: new iat, the old auth_time.
      expectRevoked(
        await meOf(signToken(key, accessClaims({ sub, origin_jti: randomUUID(), auth_time: seconds() - 3000, iat: seconds() }))),
      );
      // The cut-off is the revocation's moment rounded up to a whole second (as the schema and docs/revoking-sessions.md say): a
      // sign-in during the second of the revocation (auth_time one second below the cut-off) counts as before it and
      // is refused; one with auth_time of the next second, the cut-off itself, works.
      expect(cutOff % 1000).toBe(0);
      expect(cutOff).toBeGreaterThanOrEqual(asked);
      expect(cutOff).toBeLessThan(answered + 1000);
      expectRevoked(await meOf(userToken(sub, randomUUID(), cutOff / 1000 - 1)));
      const signedInAgain = userToken(sub, randomUUID(), cutOff / 1000);
      expect((await meOf(signedInAgain)).body.data.me.sub).toBe(sub);
    },
  );

  it.skipIf(skip)(
    "revokeSessions is refused without group:admin or group:support and records nothing; support may revoke anyone",
    async () => {
      const victim = `sub-${randomUUID()}`;
      const victimToken = userToken(victim, randomUUID());
      const before = await revocationRows();
      for (const caller of [
        userToken(`sub-${randomUUID()}`, randomUUID(), undefined, ["staff"]),
        signToken(
          key,
          accessClaims({ sub: TEST_CLIENT_ID, username: undefined, "cognito:groups": undefined, scope: "orders/read orders/write" }),
        ),
      ]) {
        const refused = await app.graphql(REVOKE, { headers: bearer(caller), variables: { sub: victim } });
        expect(refused.status).toBe(403);
        expect(refused.body.errors[0].extensions.code).toBe("FORBIDDEN");
      }
      const anonymous = await app.graphql(REVOKE, { variables: { sub: victim } });
      expect(anonymous.status).toBe(401);
      expect(await revocationRows()).toEqual(before);
      expect((await meOf(victimToken)).status).toBe(200);

      const support = userToken(`sub-${randomUUID()}`, randomUUID(), undefined, ["support"]);
      const done = await app.graphql(REVOKE, { headers: bearer(support), variables: { sub: victim } });
      expect(done.body).toEqual({ data: { revokeSessions: { sub: victim, sessionId: null, revokedBefore: expect.any(String) } } });
      expectRevoked(await meOf(victimToken));
      expect((await meOf(support)).status).toBe(200);
    },
  );

  it.skipIf(skip)(
    "refuses revokeSessions of an empty sub, and signOut of a token without a session id, with BAD_USER_INPUT and nothing recorded",
    async () => {
      const before = await revocationRows();
      const admin = userToken(`sub-${randomUUID()}`, randomUUID(), undefined, ["admin"]);
      const empty = await app.graphql(REVOKE, { headers: bearer(admin), variables: { sub: "  " } });
      expect(empty.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
      const machine = signToken(
        key,
        accessClaims({
          sub: TEST_CLIENT_ID,
          username: undefined,
          "cognito:groups": undefined,
          origin_jti: undefined,
          scope: "orders/read",
        }),
      );
      const noSession = await app.graphql(SIGN_OUT, { headers: bearer(machine) });
      expect(noSession.body.data).toBeNull();
      expect(noSession.body.errors[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", rolledBack: true } });
      expect(await revocationRows()).toEqual(before);
      expect((await meOf(machine)).status).toBe(200);
    },
  );

  it.skipIf(skip)(
    "a revocation in an operation that fails as a whole is rolled back: the token keeps working and nothing is recorded",
    async () => {
      const sub = `sub-${randomUUID()}`;
      const token = userToken(sub, randomUUID());
      const before = await revocationRows();
      const response = await app.graphql(
        `mutation { signOutEverywhere { sub } placeOrder(input: { items: [{ productId: "no-such-product", quantity: 1 }], idempotencyKey: "k-${randomUUID()}" }) { id } }`,
        { headers: bearer(token) },
      );
      expect(response.body.data).toBeNull();
      expect(response.body.errors[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", rolledBack: true });
      expect(await revocationRows()).toEqual(before);
      expect((await meOf(token)).status).toBe(200);
    },
  );

  it.skipIf(skip)("signOut twice in one operation records the session once per field and the token is refused afterwards", async () => {
    const sub = `sub-${randomUUID()}`;
    const token = userToken(sub, randomUUID());
    const response = await app.graphql("mutation { a: signOut { sessionId } b: signOutEverywhere { sub } }", { headers: bearer(token) });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.a.sessionId).toEqual(expect.any(String));
    expect((await revocationRows()).filter((s) => s === sub)).toHaveLength(2);
    expectRevoked(await meOf(token));
  });
});
