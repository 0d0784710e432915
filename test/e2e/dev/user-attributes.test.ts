import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_APP_CLIENT_ID, PERSONAS } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";

/**
 * Dev mode records a customer's email through the same lookup as a real pool: the dev personas answer where
 * Cognito's GetUser would, so the seed is not what makes the email appear.
 */
describe("the customer's email in dev mode", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  }, 120_000);
  afterAll(() => app?.close());

  const ORDER = "query ($id: ID!) { order(id: $id) { customerEmail } }";
  const place = async (token: string) => {
    const response = await app.graphql("mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }", {
      headers: bearer(token),
      variables: { input: { idempotencyKey: randomUUID(), items: [{ productId: "prd-cable", quantity: 1 }] } },
    });
    expect(response.body.errors).toBeUndefined();
    return response.body.data.placeOrder.id as string;
  };
  const supportReads = async (id: string) =>
    (await app.graphql(ORDER, { headers: bearer(app.devIssuer!.mint(PERSONAS.sam)), variables: { id } })).body.data.order.customerEmail;

  it("looks up a persona's email for its access token (which carries none)", async () => {
    await app.db.updateTable("customers").set({ email: null }).where("sub", "=", PERSONAS.alice.sub).execute();
    const id = await place(app.devIssuer!.mint(PERSONAS.alice));
    expect(await supportReads(id)).toBe("alice@example.com");
  });

  it("records no email for an access token of someone who is not a persona", async () => {
    const token = app.devIssuer!.mint({ sub: randomUUID(), username: "visitor", clientId: DEV_APP_CLIENT_ID, scopes: ["openid"] });
    expect(await supportReads(await place(token))).toBeNull();
  });

  it("takes the verified email of a dev ID token of someone who is not a persona", async () => {
    const token = app.devIssuer!.mint({
      sub: randomUUID(),
      tokenUse: "id",
      username: "newcomer",
      email: "new@example.com",
      clientId: DEV_APP_CLIENT_ID,
    });
    expect(await supportReads(await place(token))).toBe("new@example.com");
  });
});
