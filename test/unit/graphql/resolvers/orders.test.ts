import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../../src/dev/personas.js";
import { bearer, type TestResponse } from "../../../helpers/app.js";
import { startOperations, type OperationRunner } from "../../../helpers/operations.js";
import { BACKENDS } from "../../../helpers/database.js";

/**
 * The orders API through real HTTP with real dev tokens, on PGlite and (with TEST_DATABASE_URL) PostgreSQL:
 * journeys, bad input that changes nothing, idempotent and concurrent orders, and batching.
 */

const PLACE =
  "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id status totalCents customerId items { quantity unitPriceCents product { id } } } }";
const CANCEL = "mutation ($id: ID!) { cancelOrder(id: $id) { id status } }";
const UPDATE =
  "mutation ($id: ID!, $status: OrderStatus!, $note: String) { updateOrderStatus(id: $id, status: $status, internalNote: $note) { id status internalNote } }";
const CREATE_PRODUCT = "mutation ($input: CreateProductInput!) { createProduct(input: $input) { id stock costPriceCents } }";

describe.each(BACKENDS)("orders on $name", ({ postgresUrl, skip }) => {
  let app: OperationRunner;
  beforeAll(async () => {
    if (!skip) app = await startOperations({}, { postgresUrl });
  });
  afterAll(async () => {
    await app?.close();
  });

  const as = (persona: PersonaName | null) => (persona ? bearer(app.devIssuer!.mint(PERSONAS[persona])) : {});
  const call = (persona: PersonaName | null, query: string, variables?: Record<string, unknown>) =>
    app.graphql(query, { headers: as(persona), variables });
  const place = (persona: PersonaName, idempotencyKey: string, items: { productId: string; quantity: number }[]) =>
    call(persona, PLACE, { input: { idempotencyKey, items } });
  const stockOf = async (id: string) =>
    (await app.db.selectFrom("products").select("stock").where("id", "=", id).executeTakeFirstOrThrow()).stock;
  /** Every row of every table, in a fixed order: equal snapshots mean nothing was written. */
  const snapshot = async () => ({
    products: await app.db.selectFrom("products").selectAll().orderBy("id").execute(),
    customers: await app.db.selectFrom("customers").selectAll().orderBy("sub").execute(),
    orders: await app.db.selectFrom("orders").selectAll().orderBy("id").execute(),
    items: await app.db.selectFrom("orderItems").selectAll().orderBy("id").execute(),
  });
  const codeOf = (response: TestResponse) => response.body.errors?.[0]?.extensions?.code;

  it.skipIf(skip)("lets a customer place, list and cancel an order, taking and returning stock", async () => {
    const before = await stockOf("prd-mouse");
    const placed = await place("alice", "journey-1", [{ productId: "prd-mouse", quantity: 2 }]);
    expect(placed.body.errors).toBeUndefined();
    const order = placed.body.data.placeOrder;
    expect(order).toMatchObject({ status: "PENDING", totalCents: 7000, customerId: PERSONAS.alice.sub });
    expect(await stockOf("prd-mouse")).toBe(before - 2);
    const mine = await call("alice", "{ myOrders { edges { node { id } } } }");
    expect(mine.body.data.myOrders.edges[0].node.id).toBe(order.id);
    const bobs = await call("bob", "{ myOrders(first: 100) { edges { node { id } } } }");
    expect(bobs.body.data.myOrders.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(order.id);
    const cancelled = await call("alice", CANCEL, { id: order.id });
    expect(cancelled.body.data.cancelOrder.status).toBe("CANCELLED");
    expect(await stockOf("prd-mouse")).toBe(before);
  });

  it.skipIf(skip)("lets support cancel a paid order, staff move one along with a note, admin manage products", async () => {
    const placed = (await place("bob", "roles-1", [{ productId: "prd-cable", quantity: 1 }])).body.data.placeOrder;
    expect((await call("stella", UPDATE, { id: placed.id, status: "PAID", note: "checked" })).body.data.updateOrderStatus).toEqual({
      id: placed.id,
      status: "PAID",
      internalNote: "checked",
    });
    // The machine client may not read internalNote, so a mutation selecting it would be refused whole.
    const shipped = await call("fulfillment", "mutation ($id: ID!) { updateOrderStatus(id: $id, status: SHIPPED) { status } }", {
      id: placed.id,
    });
    expect(shipped.body.data.updateOrderStatus.status).toBe("SHIPPED");
    expect((await call("fulfillment", UPDATE, { id: placed.id, status: "DELIVERED" })).status).toBe(403);
    const other = (await place("bob", "roles-2", [{ productId: "prd-cable", quantity: 1 }])).body.data.placeOrder;
    await call("stella", UPDATE, { id: other.id, status: "PAID" });
    expect((await call("sam", CANCEL, { id: other.id })).body.data.cancelOrder.status).toBe("CANCELLED");
    const email = await call("sam", "query ($id: ID!) { order(id: $id) { customerEmail } }", { id: other.id });
    expect(email.body.data.order.customerEmail).toBe("bob@example.com");
    const created = await call("ada", CREATE_PRODUCT, {
      input: { sku: "ROLE-1", name: "Role test", priceCents: 500, costPriceCents: 200, stock: 3 },
    });
    expect(created.body.data.createProduct).toMatchObject({ stock: 3, costPriceCents: 200 });
    const updated = await call(
      "ada",
      "mutation ($id: ID!) { updateProduct(id: $id, input: { priceCents: 600, active: false }) { priceCents active } }",
      {
        id: created.body.data.createProduct.id,
      },
    );
    expect(updated.body.data.updateProduct).toEqual({ priceCents: 600, active: false });
  });

  const BAD_INPUT: [string, PersonaName, string, Record<string, unknown>, number][] = [
    ["an unknown product", "alice", PLACE, { input: { idempotencyKey: "bad-1", items: [{ productId: "nope", quantity: 1 }] } }, 200],
    ["quantity 0", "alice", PLACE, { input: { idempotencyKey: "bad-2", items: [{ productId: "prd-cable", quantity: 0 }] } }, 400],
    [
      "quantity over 1000",
      "alice",
      PLACE,
      { input: { idempotencyKey: "bad-3", items: [{ productId: "prd-cable", quantity: 1001 }] } },
      200,
    ],
    ["more than in stock", "alice", PLACE, { input: { idempotencyKey: "bad-4", items: [{ productId: "prd-stand", quantity: 2 }] } }, 200],
    [
      "a product listed twice",
      "alice",
      PLACE,
      {
        input: {
          idempotencyKey: "bad-5",
          items: [
            { productId: "prd-cable", quantity: 1 },
            { productId: "prd-cable", quantity: 1 },
          ],
        },
      },
      200,
    ],
    ["no lines", "alice", PLACE, { input: { idempotencyKey: "bad-6", items: [] } }, 200],
    ["an empty idempotency key", "alice", PLACE, { input: { idempotencyKey: " ", items: [{ productId: "prd-cable", quantity: 1 }] } }, 200],
    // The first line is valid and takes stock before the second fails: the rollback must return it.
    [
      "a bad second line",
      "alice",
      PLACE,
      {
        input: {
          idempotencyKey: "bad-7",
          items: [
            { productId: "prd-cable", quantity: 1 },
            { productId: "prd-stand", quantity: 5 },
          ],
        },
      },
      200,
    ],
    ["cancelling a shipped order", "alice", CANCEL, { id: "ord-alice-2" }, 200],
    ["an unknown transition", "stella", UPDATE, { id: "ord-alice-2", status: "PENDING" }, 200],
    ["an unknown order", "stella", UPDATE, { id: "nope", status: "PAID" }, 200],
    // Answered exactly as an unknown order: a customer cannot learn which ids exist.
    ["someone else's order, to a customer cancelling it", "alice", CANCEL, { id: "ord-bob-1" }, 200],
    ["a duplicate SKU", "ada", CREATE_PRODUCT, { input: { sku: "KB-01", name: "Dup", priceCents: 1, costPriceCents: 1, stock: 1 } }, 200],
    ["an empty product change", "ada", 'mutation { updateProduct(id: "prd-cable", input: {}) { id } }', {}, 200],
    ["a page size of 0", "sam", "{ orders(first: 0) { edges { node { id } } } }", {}, 200],
    ["a forged cursor", "sam", '{ orders(after: "forged") { edges { node { id } } } }', {}, 200],
  ];

  it.skipIf(skip).each(BAD_INPUT)(
    "answers %s with BAD_USER_INPUT and changes nothing",
    async (_label, persona, query, variables, status) => {
      const before = await snapshot();
      const response = await call(persona, query, variables);
      expect(response.status, response.text).toBe(status);
      expect(codeOf(response), response.text).toBe("BAD_USER_INPUT");
      expect(await snapshot()).toEqual(before);
    },
  );

  it.skipIf(skip).each([
    ["a customer updating a status", "alice" as const, UPDATE, { id: "ord-bob-1", status: "SHIPPED" }, 403],
    [
      "a customer creating a product",
      "bob" as const,
      CREATE_PRODUCT,
      { input: { sku: "X-1", name: "x", priceCents: 1, costPriceCents: 1, stock: 1 } },
      403,
    ],
    ["staff cancelling a customer's order (they see it, it is not theirs)", "stella" as const, CANCEL, { id: "ord-bob-1" }, 403],
    [
      "a machine client placing an order",
      "fulfillment" as const,
      PLACE,
      { input: { idempotencyKey: "m-1", items: [{ productId: "prd-cable", quantity: 1 }] } },
      403,
    ],
    ["an anonymous order", null, PLACE, { input: { idempotencyKey: "a-1", items: [{ productId: "prd-cable", quantity: 1 }] } }, 401],
  ])("refuses %s whole and changes nothing", async (_label, persona, query, variables, status) => {
    const before = await snapshot();
    const response = await call(persona, query, variables);
    expect(response.status, response.text).toBe(status);
    expect(await snapshot()).toEqual(before);
  });

  it.skipIf(skip)("replays an idempotency key: the same order, nothing new written", async () => {
    const first = await place("alice", "replay-1", [{ productId: "prd-cable", quantity: 1 }]);
    const stock = await stockOf("prd-cable");
    const before = await snapshot();
    const again = await place("alice", "replay-1", [{ productId: "prd-cable", quantity: 1 }]);
    expect(again.body.data.placeOrder.id).toBe(first.body.data.placeOrder.id);
    expect(await snapshot()).toEqual(before);
    expect(await stockOf("prd-cable")).toBe(stock);
    // Another customer's key is another order.
    const bobs = await place("bob", "replay-1", [{ productId: "prd-cable", quantity: 1 }]);
    expect(bobs.body.data.placeOrder.id).not.toBe(first.body.data.placeOrder.id);
  });

  it.skipIf(skip)("writes one order for ten racing requests with one key", async () => {
    const stock = await stockOf("prd-keyboard");
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => place("alice", "race-1", [{ productId: "prd-keyboard", quantity: 1 }])),
    );
    for (const answer of answers) expect(answer.body.errors, answer.text).toBeUndefined();
    expect(new Set(answers.map((a) => a.body.data.placeOrder.id)).size).toBe(1);
    const rows = await app.db.selectFrom("orders").select("id").where("idempotencyKey", "=", "race-1").execute();
    expect(rows).toHaveLength(1);
    expect(await stockOf("prd-keyboard")).toBe(stock - 1);
  });

  it.skipIf(skip)("never oversells: ten concurrent orders for the last three units", async () => {
    const created = await call("ada", CREATE_PRODUCT, {
      input: { sku: "LAST-3", name: "Scarce", priceCents: 100, costPriceCents: 50, stock: 3 },
    });
    const productId = created.body.data.createProduct.id;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => place(i % 2 ? "alice" : "bob", `scarce-${i}`, [{ productId, quantity: 1 }])),
    );
    expect(answers.filter((a) => a.body.data?.placeOrder).length).toBe(3);
    expect(answers.filter((a) => codeOf(a) === "BAD_USER_INPUT").length).toBe(7);
    expect(await stockOf(productId)).toBe(0);
  });

  it.skipIf(skip)("costs the same number of SQL statements for a page of 2 orders as for a page of 20", async () => {
    for (let i = 0; i < 20; i++)
      await place("bob", `batch-${i}`, [
        { productId: "prd-cable", quantity: 1 },
        { productId: "prd-mouse", quantity: 1 },
      ]);
    const statements = async (first: number) => {
      const before = app.queryCount();
      const response = await call(
        "sam",
        `{ orders(first: ${first}) { edges { node { id customerEmail items { quantity product { name } } } } } }`,
      );
      expect(response.body.data.orders.edges).toHaveLength(first);
      return app.queryCount() - before;
    };
    const small = await statements(2);
    expect(await statements(20)).toBe(small);
    // One for the page, one for the items, one for the products, one for the customers.
    expect(small).toBeLessThanOrEqual(4);
  });
});
