import { GetUserCommand } from "@aws-sdk/client-cognito-identity-provider";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startApp, type TestApp, type TestResponse } from "../../helpers/app.js";
import {
  claimsOf,
  createTestPool,
  motoUnavailableReason,
  POOL_USERS,
  startMoto,
  type RunningEmulator,
  type TestPool,
} from "../../helpers/moto.js";
import { stashEnv } from "../../helpers/env.js";

/**
 * The product against Cognito as implemented by someone else: moto's user pools (`python3 -m moto.server`),
 * set up and signed into with the AWS SDK for JavaScript, and the real server configured for that pool with
 * COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID and COGNITO_JWKS_URI. The server's own AWS SDK calls (GetUser for the
 * customer's email) reach moto through the SDK's standard settings only: AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER,
 * AWS_REGION and the credential variables.
 *
 * moto has no client-credentials grant, so machine clients (`scope:orders/read`) are covered with dev tokens
 * elsewhere (test/unit/graphql/schema.access-matrix.test.ts, test/e2e/http/server.test.ts), not here.
 */
const unavailable = motoUnavailableReason();

describe("the moto suite's availability check", () => {
  it('gives the reason when python3 -c "import moto" cannot run', () => {
    expect(motoUnavailableReason("python3-that-does-not-exist")).toMatch(/^python3-that-does-not-exist -c "import moto" failed: .*ENOENT/);
    expect(motoUnavailableReason(process.execPath)).toMatch(/-c "import moto" failed/);
  });
});

describe.skipIf(unavailable !== null)(`the server against moto's Cognito${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let moto: RunningEmulator;
  let pool: TestPool;
  let app: TestApp;
  let restoreEnv: (() => void) | undefined;
  const tokens = new Map<string, { AccessToken: string; IdToken: string; RefreshToken: string }>();
  const access = (username: string) => bearer(tokens.get(username)!.AccessToken);
  const idToken = (username: string) => bearer(tokens.get(username)!.IdToken);

  const SDK_ENV = ["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] as const;

  beforeAll(async () => {
    moto = await startMoto();
    pool = await createTestPool(moto.endpoint, [
      ...POOL_USERS,
      ...["carl", "dora", "eve"].map((username) => ({ username, email: `${username}@example.com`, emailVerified: true, groups: [] })),
    ]);
    // The standard AWS SDK settings, as an operator sets them to point the server at an emulator.
    restoreEnv = stashEnv(SDK_ENV);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    app = await startApp(poolEnv(pool.webClientId));
    for (const user of POOL_USERS) tokens.set(user.username, await pool.signIn(user.username));
    // Starts a Python process and a server: generous on a busy machine.
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await moto?.stop();
    restoreEnv?.();
  });

  const poolEnv = (clientId: string, tokenUse?: string): Record<string, string> => ({
    COGNITO_USER_POOL_ID: pool.userPoolId,
    COGNITO_CLIENT_ID: clientId,
    COGNITO_JWKS_URI: pool.jwksUri,
    ...(tokenUse ? { COGNITO_TOKEN_USE: tokenUse } : {}),
  });

  const reasonOf = (response: TestResponse) => response.body?.errors?.[0]?.extensions?.auth?.reason;

  async function createProduct(sku: string): Promise<string> {
    const response = await app.graphql("mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }", {
      headers: access("ada"),
      variables: { input: { sku, name: `Product ${sku}`, priceCents: 1250, costPriceCents: 500, stock: 100 } },
    });
    expect(response.body.errors).toBeUndefined();
    return response.body.data.createProduct.id as string;
  }

  async function placeOrder(app: TestApp, headers: Record<string, string>, productId: string): Promise<TestResponse> {
    return app.graphql("mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id customerId status totalCents } }", {
      headers,
      variables: { input: { items: [{ productId, quantity: 2 }], idempotencyKey: randomUUID() } },
    });
  }

  const ORDER = "query($id: ID!) { order(id: $id) { id status customerEmail } }";

  it("takes moto's access tokens as they are: issuer, kid dummy, groups and the user-admin scope", async () => {
    const claims = claimsOf(tokens.get("sam")!.AccessToken);
    expect(claims).toMatchObject({
      token_use: "access",
      username: "sam",
      "cognito:groups": ["support"],
      scope: "aws.cognito.signin.user.admin",
    });
    expect(claims.email).toBeUndefined();
    for (const user of POOL_USERS) {
      const response = await app.graphql("{ me { sub kind username groups scopes tokenUse clientId } }", {
        headers: access(user.username),
      });
      expect(response.status).toBe(200);
      expect(response.body.data.me).toEqual({
        sub: claimsOf(tokens.get(user.username)!.AccessToken).sub,
        kind: "USER",
        username: user.username,
        groups: user.groups,
        scopes: ["aws.cognito.signin.user.admin"],
        tokenUse: "ACCESS",
        clientId: pool.webClientId,
      });
    }
  });

  it("runs the shop's journeys: admin stocks, customers order, support and staff handle, others are kept out", async () => {
    const productId = await createProduct("MOTO-1");
    const placed = await placeOrder(app, access("alice"), productId);
    expect(placed.body.errors).toBeUndefined();
    const order = placed.body.data.placeOrder;
    expect(order).toMatchObject({ customerId: claimsOf(tokens.get("alice")!.AccessToken).sub, status: "PENDING", totalCents: 2500 });

    // The customer's verified email reached the order, although access tokens carry none (GetUser).
    const asAlice = await app.graphql(ORDER, { headers: access("alice"), variables: { id: order.id } });
    expect(asAlice.body).toEqual({ data: { order: { id: order.id, status: "PENDING", customerEmail: "alice@example.com" } } });
    const asSam = await app.graphql(ORDER, { headers: access("sam"), variables: { id: order.id } });
    expect(asSam.body.data.order.customerEmail).toBe("alice@example.com");

    // Another customer sees nothing of it.
    const asBob = await app.graphql(ORDER, { headers: access("bob"), variables: { id: order.id } });
    expect(asBob.body.data.order).toBeNull();
    expect(JSON.stringify(asBob.body)).not.toContain("alice@example.com");

    // Staff fulfil it and write an internal note, which support cannot read.
    const paid = await app.graphql(
      'mutation($id: ID!) { updateOrderStatus(id: $id, status: PAID, internalNote: "gift wrap") { status internalNote } }',
      {
        headers: access("stella"),
        variables: { id: order.id },
      },
    );
    expect(paid.body).toEqual({ data: { updateOrderStatus: { status: "PAID", internalNote: "gift wrap" } } });
    const noteForSam = await app.graphql("query($id: ID!) { order(id: $id) { internalNote } }", {
      headers: access("sam"),
      variables: { id: order.id },
    });
    expect(noteForSam.body.data.order.internalNote).toBeNull();
    expect(noteForSam.body.errors[0].extensions.code).toBe("FORBIDDEN");

    // Listing every order: admin and support yes, a customer no (403, nothing listed).
    const listed = await app.graphql("{ orders { edges { node { id } } } }", { headers: access("ada") });
    expect(listed.body.data.orders.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(order.id);
    const refused = await app.graphql("{ orders { edges { node { id } } } }", { headers: access("alice") });
    expect(refused.body.data).toBeNull();
    expect(refused.body.errors[0].extensions.code).toBe("FORBIDDEN");

    // A customer may not create products: the mutation is refused whole.
    const notAdmin = await app.graphql(
      'mutation { createProduct(input: { sku: "X", name: "X", priceCents: 1, costPriceCents: 1, stock: 1 }) { id } }',
      {
        headers: access("alice"),
      },
    );
    expect(notAdmin.status).toBe(403);

    // Support cancels the paid order; stock goes back.
    const cancelled = await app.graphql("mutation($id: ID!) { cancelOrder(id: $id) { status } }", {
      headers: access("sam"),
      variables: { id: order.id },
    });
    expect(cancelled.body).toEqual({ data: { cancelOrder: { status: "CANCELLED" } } });
  });

  it("never shows an unverified email as the customer's", async () => {
    const productId = await createProduct("MOTO-2");
    const placed = await placeOrder(app, access("bob"), productId);
    const id = placed.body.data.placeOrder.id;
    for (const who of ["bob", "sam"]) {
      const response = await app.graphql(ORDER, { headers: access(who), variables: { id } });
      expect(response.body.data.order.customerEmail).toBeNull();
    }
  });

  it("places the order when the email lookup fails, and records the email on a later order", async () => {
    const productId = await createProduct("MOTO-3");
    const first = await pool.signIn("carl");
    // After a global sign-out Cognito refuses the access token (GetUser fails), while its signature stays valid.
    await pool.signOutEverywhere("carl");
    const placed = await placeOrder(app, bearer(first.AccessToken), productId);
    expect(placed.status).toBe(200);
    expect(placed.body.errors).toBeUndefined();
    const id = placed.body.data.placeOrder.id;
    const again = await pool.signIn("carl");
    const before = await app.graphql(ORDER, { headers: bearer(again.AccessToken), variables: { id } });
    expect(before.body.data.order.customerEmail).toBeNull();
    // A failure is not remembered: the next order looks the email up again.
    await placeOrder(app, bearer(again.AccessToken), productId);
    const after = await app.graphql(ORDER, { headers: bearer(again.AccessToken), variables: { id } });
    expect(after.body.data.order.customerEmail).toBe("carl@example.com");
  });

  it("accepts refreshed tokens of the same session", async () => {
    const alice = tokens.get("alice")!;
    const refreshed = await pool.refresh("alice", alice.RefreshToken);
    const [before, after] = [claimsOf(alice.AccessToken), claimsOf(refreshed.AccessToken)];
    expect(after.sub).toBe(before.sub);
    expect(after.origin_jti).toBe(before.origin_jti);
    expect(after.jti).not.toBe(before.jti);
    const response = await app.graphql("{ me { sub username } }", { headers: bearer(refreshed.AccessToken) });
    expect(response.body.data.me).toEqual({ sub: before.sub, username: "alice" });
  });

  it("refuses ID tokens under the default COGNITO_TOKEN_USE=access, and tokens of another pool", async () => {
    const id = await app.graphql("{ me { sub } }", { headers: idToken("alice") });
    expect([id.status, reasonOf(id)]).toEqual([401, "TOKEN_WRONG_USE"]);
    // moto signs every pool with one key: only the issuer tells the pools apart.
    const other = await createTestPool(moto.endpoint, [POOL_USERS[0]!]);
    const foreign = await app.graphql("{ me { sub } }", { headers: bearer((await other.signIn("alice")).AccessToken) });
    expect([foreign.status, reasonOf(foreign)]).toEqual([401, "TOKEN_WRONG_ISSUER"]);
  });

  describe("with COGNITO_TOKEN_USE=id", () => {
    let idApp: TestApp;
    beforeAll(async () => {
      idApp = await startApp(poolEnv(pool.webClientId, "id"));
    }, 120_000);
    afterAll(() => idApp?.close());

    it("accepts moto's ID tokens (email_verified as a string) and refuses access tokens", async () => {
      expect(claimsOf(tokens.get("alice")!.IdToken)).toMatchObject({ token_use: "id", email: "alice@example.com", email_verified: "true" });
      const me = await idApp.graphql("{ me { username groups tokenUse clientId } }", { headers: idToken("sam") });
      expect(me.body.data.me).toEqual({ username: "sam", groups: ["support"], tokenUse: "ID", clientId: pool.webClientId });
      const accessToken = await idApp.graphql("{ me { sub } }", { headers: access("sam") });
      expect([accessToken.status, reasonOf(accessToken)]).toEqual([401, "TOKEN_WRONG_USE"]);
    });

    it("records a verified email from the ID token and never an unverified one", async () => {
      const productId = (
        await idApp.graphql(
          'mutation { createProduct(input: { sku: "ID-1", name: "Id", priceCents: 100, costPriceCents: 1, stock: 10 }) { id } }',
          {
            headers: idToken("ada"),
          },
        )
      ).body.data.createProduct.id;
      const emails: Record<string, unknown> = {};
      for (const who of ["alice", "bob"]) {
        const id = (await placeOrder(idApp, idToken(who), productId)).body.data.placeOrder.id;
        emails[who] = (await idApp.graphql(ORDER, { headers: idToken("sam"), variables: { id } })).body.data.order.customerEmail;
      }
      expect(emails).toEqual({ alice: "alice@example.com", bob: null });
    });
  });

  describe("with COGNITO_TOKEN_USE=any and a client with a secret", () => {
    let anyApp: TestApp;
    beforeAll(async () => {
      anyApp = await startApp(poolEnv(pool.secretClientId, "any"));
    }, 120_000);
    afterAll(() => anyApp?.close());

    it("accepts access and ID tokens of the confidential client (signed in with SECRET_HASH)", async () => {
      const signedIn = await pool.signIn("stella", pool.secretClientId);
      for (const [token, use] of [
        [signedIn.AccessToken, "ACCESS"],
        [signedIn.IdToken, "ID"],
      ] as const) {
        const response = await anyApp.graphql("{ me { username tokenUse clientId } }", { headers: bearer(token) });
        expect(response.body.data.me).toEqual({ username: "stella", tokenUse: use, clientId: pool.secretClientId });
      }
      const refreshed = await pool.refresh("stella", signedIn.RefreshToken, pool.secretClientId);
      expect((await anyApp.graphql("{ me { username } }", { headers: bearer(refreshed.AccessToken) })).body.data.me.username).toBe(
        "stella",
      );
    });

    it("refuses the other client's tokens, both ways", async () => {
      for (const headers of [access("alice"), idToken("alice")]) {
        const response = await anyApp.graphql("{ me { sub } }", { headers });
        expect([response.status, reasonOf(response)]).toEqual([401, "TOKEN_WRONG_CLIENT"]);
      }
      const confidential = await pool.signIn("alice", pool.secretClientId);
      const response = await app.graphql("{ me { sub } }", { headers: bearer(confidential.AccessToken) });
      expect([response.status, reasonOf(response)]).toEqual([401, "TOKEN_WRONG_CLIENT"]);
    });
  });

  describe("with REVOCATION_COGNITO_SIGN_OUT=true", () => {
    let revokingApp: TestApp;
    beforeAll(async () => {
      revokingApp = await startApp({ ...poolEnv(pool.webClientId), REVOCATION_COGNITO_SIGN_OUT: "true" });
    }, 60_000);
    afterAll(async () => {
      await revokingApp?.close();
    });

    const cognitoRefuses = async (call: () => Promise<unknown>) => {
      const error = await call().then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.name).toBe("NotAuthorizedException");
    };

    it("signOutEverywhere through the API makes Cognito refuse the user's refresh token and old access token, and the API refuse the token", async () => {
      const dora = await pool.signIn("dora");
      const response = await revokingApp.graphql("mutation { signOutEverywhere { sub cognitoSignedOut } }", {
        headers: bearer(dora.AccessToken),
      });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.signOutEverywhere).toEqual({ sub: claimsOf(dora.AccessToken).sub, cognitoSignedOut: true });
      await cognitoRefuses(() => pool.refresh("dora", dora.RefreshToken));
      await cognitoRefuses(() => pool.client.send(new GetUserCommand({ AccessToken: dora.AccessToken })));
      const again = await revokingApp.graphql("{ me { sub } }", { headers: bearer(dora.AccessToken) });
      expect([again.status, reasonOf(again)]).toEqual([401, "TOKEN_REVOKED"]);
    });

    it("revokeSessions by an admin finds the user by sub in Cognito and signs them out there too", async () => {
      const eve = await pool.signIn("eve");
      const sub = claimsOf(eve.AccessToken).sub as string;
      const response = await revokingApp.graphql("mutation($sub: ID!) { revokeSessions(sub: $sub) { sub cognitoSignedOut } }", {
        headers: access("ada"),
        variables: { sub },
      });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.revokeSessions).toEqual({ sub, cognitoSignedOut: true });
      await cognitoRefuses(() => pool.refresh("eve", eve.RefreshToken));
      // A subject that is no user of the pool (a machine client's id) is revoked in the API only.
      const machine = await revokingApp.graphql("mutation($sub: ID!) { revokeSessions(sub: $sub) { cognitoSignedOut } }", {
        headers: access("ada"),
        variables: { sub: "not-a-user-of-this-pool" },
      });
      expect(machine.body.data.revokeSessions).toEqual({ cognitoSignedOut: false });
    });
  });
});
