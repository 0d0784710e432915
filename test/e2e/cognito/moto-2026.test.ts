import { CreateResourceServerCommand, DescribeResourceServerCommand } from "@aws-sdk/client-cognito-identity-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startApp, type TestApp, type TestResponse } from "../../helpers/app.js";
import { claimsOf, createTestPool, motoUnavailableReason, startMoto, type RunningEmulator, type TestPool } from "../../helpers/moto.js";

/**
 * The shapes of Cognito 2026 that moto 5.2 can issue, proven against tokens nobody here wrote (the rest are in the
 * conformance corpus, test/e2e/cognito/corpus.test.ts). What moto 5.2.1 cannot issue, read from its source: the
 * client-credentials grant (it serves no /oauth2/token), resource-bound access tokens (CreateResourceServer is
 * stored, but no token ever carries `aud` or a resource server's scopes), pre-token-generation triggers, and
 * refresh-token rotation (no GetTokensFromRefreshToken). docs/tokens.md says the same.
 */
const unavailable = motoUnavailableReason();

describe.skipIf(unavailable !== null)(`Cognito 2026 against moto${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let moto: RunningEmulator;
  let pool: TestPool;
  let app: TestApp;
  let boundApp: TestApp;
  const AUDIENCE = "https://orders.example.com";

  beforeAll(async () => {
    moto = await startMoto();
    pool = await createTestPool(moto.endpoint);
    const env = { COGNITO_USER_POOL_ID: pool.userPoolId, COGNITO_CLIENT_ID: pool.webClientId, COGNITO_JWKS_URI: pool.jwksUri };
    app = await startApp(env);
    boundApp = await startApp({ ...env, COGNITO_ACCESS_TOKEN_AUDIENCE: AUDIENCE });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([app?.close(), boundApp?.close()]);
    await moto?.stop();
  });

  const reasonOf = (response: TestResponse) => response.body?.errors?.[0]?.extensions?.auth?.reason;
  const me = (target: TestApp, token: string) => target.graphql("{ me { sub username customClaims } }", { headers: bearer(token) });

  it("issues origin_jti on sign-in and keeps it on REFRESH_TOKEN_AUTH, so ending a session also refuses tokens refreshed from it later", async () => {
    const signedIn = await pool.signIn("alice");
    const first = claimsOf(signedIn.AccessToken);
    expect(first.origin_jti).toEqual(expect.any(String));
    expect(claimsOf(signedIn.IdToken).origin_jti).toBe(first.origin_jti);

    const signOut = await app.graphql("mutation { signOut { sessionId } }", { headers: bearer(signedIn.AccessToken) });
    expect(signOut.body.data?.signOut, signOut.text).toEqual({ sessionId: first.origin_jti });

    // moto answers the refresh (Cognito would too: the API's signOut does not end Cognito's refresh token).
    const refreshed = await pool.refresh("alice", signedIn.RefreshToken);
    expect(claimsOf(refreshed.AccessToken).origin_jti).toBe(first.origin_jti);
    expect(claimsOf(refreshed.AccessToken).jti).not.toBe(first.jti);
    for (const token of [signedIn.AccessToken, refreshed.AccessToken]) {
      const response = await me(app, token);
      expect([response.status, reasonOf(response)]).toEqual([401, "TOKEN_REVOKED"]);
    }
    // Another sign-in is another session. From the next second on: a sign-in within the revoked session's second
    // (auth_time has whole seconds) counts as that session (docs/revoking-sessions.md#refresh-token-rotation).
    while (Math.floor(Date.now() / 1000) <= (first.auth_time as number)) await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await pool.signIn("alice");
    expect((await me(app, again.AccessToken)).body.data.me.username).toBe("alice");
  });

  it("holds a resource server, but its tokens carry no aud: refused where COGNITO_ACCESS_TOKEN_AUDIENCE is set, accepted where not", async () => {
    await pool.client.send(
      new CreateResourceServerCommand({
        UserPoolId: pool.userPoolId,
        Identifier: AUDIENCE,
        Name: "orders",
        Scopes: [{ ScopeName: "read", ScopeDescription: "read orders" }],
      }),
    );
    const described = await pool.client.send(new DescribeResourceServerCommand({ UserPoolId: pool.userPoolId, Identifier: AUDIENCE }));
    expect(described.ResourceServer?.Identifier).toBe(AUDIENCE);

    const { AccessToken } = await pool.signIn("sam");
    expect(claimsOf(AccessToken).aud).toBeUndefined();
    const bound = await me(boundApp, AccessToken);
    expect([bound.status, reasonOf(bound)]).toEqual([401, "TOKEN_WRONG_AUDIENCE"]);
    expect(bound.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const unbound = await me(app, AccessToken);
    expect(unbound.body.data.me).toMatchObject({ username: "sam", customClaims: {} });
  });
});
