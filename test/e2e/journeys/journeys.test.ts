import { randomUUID } from "node:crypto";
import type { Client } from "@urql/core";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createSubscriptionSocket, type SubscriptionEvent } from "../../../examples/graphql-ws.js";
import {
  CancelOrderDocument,
  CreateProductDocument,
  MeDocument,
  MyOrderEventsDocument,
  MyOrdersDocument,
  OrderDocument,
  OrdersDocument,
  PlaceOrderDocument,
  ProductsDocument,
  UpdateOrderStatusDocument,
  type MyOrderEventsSubscription,
  type OrdersQueryVariables,
  type PlaceOrderMutation,
} from "../../../src/__generated__/client/graphql.js";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { startApp, type TestApp } from "../../helpers/app.js";
import { createApiClient, dataOf } from "../../client/client.js";

/**
 * The personas' journeys through the example typed client (urql over HTTP, typed documents generated from
 * test/client/operations/*.graphql) against the real server in dev mode. `npm run typecheck` checks the
 * result types: a field the documents do not select does not compile.
 */
describe("the example typed client", () => {
  let app: TestApp;
  const clientOf = (persona: PersonaName | null): Client =>
    createApiClient(app.url, () => (persona ? app.devIssuer!.mint(PERSONAS[persona]) : null));

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app.close());

  async function placeOrder(client: Client, quantity = 1): Promise<PlaceOrderMutation["placeOrder"]> {
    const input = { items: [{ productId: "prd-cable", quantity }], idempotencyKey: randomUUID() };
    return dataOf(await client.mutation(PlaceOrderDocument, { input }).toPromise()).placeOrder;
  }

  it("lets an anonymous visitor browse products and refuses it myOrders", async () => {
    const visitor = clientOf(null);
    const products = dataOf(await visitor.query(ProductsDocument, { first: 3 }).toPromise()).products;
    expect(products.edges).toHaveLength(3);
    expect(products.pageInfo.hasNextPage).toBe(true);
    // @ts-expect-error costPriceCents is not selected by the Products document, so it is not on the type.
    expect(products.edges[0]!.node.costPriceCents).toBeUndefined();
    expect(dataOf(await visitor.query(MeDocument, {}).toPromise()).me).toBeNull();

    const mine = await visitor.query(MyOrdersDocument, {}).toPromise();
    expect(mine.data).toBeNull();
    expect(mine.error?.graphQLErrors.map((e) => [e.extensions.code, e.path])).toEqual([["UNAUTHENTICATED", ["myOrders"]]]);
  });

  it("lets alice follow her orders over WebSocket with the generated subscription document", async () => {
    const socket = createSubscriptionSocket({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      tokens: { current: () => app.devIssuer!.mint(PERSONAS.alice), refresh: async () => null },
    });
    try {
      const events = socket.client.iterate({ query: print(MyOrderEventsDocument) }) as AsyncIterableIterator<
        SubscriptionEvent<MyOrderEventsSubscription>
      >;
      const first = events.next();
      // The server's count of subscriptions in place, which the client cannot see.
      await app.waitForSubscribers(1);
      const placed = await placeOrder(clientOf("alice"));
      const next = await first;
      if (next.done) throw new Error("the subscription ended without an event");
      const event = next.value;
      expect(event.errors).toBeUndefined();
      const { kind, order, occurredAt } = event.data!.myOrderEvents;
      expect({ kind, order }).toEqual({ kind: "PLACED", order: { id: placed.id, status: "PENDING", totalCents: placed.totalCents } });
      expect(new Date(occurredAt).toISOString()).toBe(occurredAt);
      // @ts-expect-error customerId is not selected by the MyOrderEvents document, so it is not on the type.
      expect(order.customerId).toBeUndefined();
      await events.return!();
    } finally {
      await socket.dispose();
    }
  });

  it("lets alice browse, place an order once per idempotency key, see it in myOrders and cancel it", async () => {
    const alice = clientOf("alice");
    expect(dataOf(await alice.query(MeDocument, {}).toPromise()).me).toMatchObject({ username: "alice", kind: "USER" });
    const products = dataOf(await alice.query(ProductsDocument, { first: 100 }).toPromise()).products;
    const cable = products.edges.map((e) => e.node).find((p) => p.sku === "CB-USBC")!;

    const input = { items: [{ productId: cable.id, quantity: 2 }], idempotencyKey: randomUUID() };
    const placed = dataOf(await alice.mutation(PlaceOrderDocument, { input }).toPromise()).placeOrder;
    expect(placed).toMatchObject({ customerId: PERSONAS.alice.sub, status: "PENDING", totalCents: 2 * cable.priceCents });
    // A retry with the same key (a lost response, a double click) returns the same order, not a second one.
    const retried = dataOf(await alice.mutation(PlaceOrderDocument, { input }).toPromise()).placeOrder;
    expect(retried.id).toBe(placed.id);

    // 50, not 100: a page of orders with their items costs about 78 per order (GRAPHQL_MAX_COST is 5000).
    const mine = dataOf(await alice.query(MyOrdersDocument, { first: 50 }).toPromise()).myOrders.edges.map((e) => e.node);
    expect(mine.filter((order) => order.id === placed.id)).toEqual([
      expect.objectContaining({
        status: "PENDING",
        items: [
          {
            product: { id: cable.id, name: cable.name },
            quantity: 2,
            unitPriceCents: cable.priceCents,
            lineTotalCents: 2 * cable.priceCents,
          },
        ],
      }),
    ]);
    // DateTime arrives as the ISO string the generated type says it is.
    expect(new Date(mine[0]!.createdAt).toISOString()).toBe(mine[0]!.createdAt);

    const cancelled = dataOf(await alice.mutation(CancelOrderDocument, { id: placed.id }).toPromise()).cancelOrder;
    expect(cancelled).toEqual({ id: placed.id, status: "CANCELLED" });
  });

  it("lets sam of support read any customer's order with the customer's email", async () => {
    const order = await placeOrder(clientOf("alice"));
    const read = dataOf(await clientOf("sam").query(OrderDocument, { id: order.id }).toPromise()).order;
    expect(read).toEqual({
      id: order.id,
      customerId: PERSONAS.alice.sub,
      customerEmail: "alice@example.com",
      status: "PENDING",
      totalCents: order.totalCents,
    });
    // Another customer gets nothing of it: to bob there is no such order.
    const bob = await clientOf("bob").query(OrderDocument, { id: order.id }).toPromise();
    expect(bob.data?.order).toBeNull();
    expect(bob.error).toBeUndefined();
  });

  it("lets stella of staff move an order along its statuses with an internal note, but not see the email", async () => {
    const order = await placeOrder(clientOf("alice"));
    const stella = clientOf("stella");
    const steps = [
      ["PAID", "payment captured"],
      ["SHIPPED", "parcel 1Z999"],
      ["DELIVERED", null],
    ] as const;
    for (const [status, internalNote] of steps) {
      const moved = dataOf(await stella.mutation(UpdateOrderStatusDocument, { id: order.id, status, internalNote }).toPromise());
      expect(moved.updateOrderStatus).toMatchObject({ id: order.id, status });
      if (internalNote) expect(moved.updateOrderStatus.internalNote).toBe(internalNote);
    }
    const read = await stella.query(OrderDocument, { id: order.id }).toPromise();
    expect(read.data?.order).toMatchObject({ id: order.id, status: "DELIVERED", customerEmail: null });
    expect(read.error?.graphQLErrors.map((e) => [e.extensions.code, e.path])).toEqual([["FORBIDDEN", ["order", "customerEmail"]]]);
  });

  it("lets ada of admin create a product and read its cost price", async () => {
    const input = { sku: `DOCK-${randomUUID().slice(0, 8)}`, name: "USB-C dock", priceCents: 12900, costPriceCents: 7100, stock: 5 };
    const created = dataOf(await clientOf("ada").mutation(CreateProductDocument, { input }).toPromise()).createProduct;
    expect(created).toMatchObject({ sku: input.sku, priceCents: 12900, costPriceCents: 7100, stock: 5, active: true });
    // The same mutation from a customer is refused whole.
    const refused = await clientOf("alice")
      .mutation(CreateProductDocument, { input: { ...input, sku: `${input.sku}-2` } })
      .toPromise();
    expect(refused.data).toBeFalsy();
    expect(refused.error?.response?.status).toBe(403);
    expect(refused.error?.graphQLErrors.map((e) => e.extensions.code)).toEqual(["FORBIDDEN"]);
  });

  it("lets the fulfillment machine client list all orders", async () => {
    const order = await placeOrder(clientOf("alice"));
    const fulfillment = clientOf("fulfillment");
    const all = dataOf(await fulfillment.query(OrdersDocument, { first: 100 }).toPromise()).orders.edges.map((e) => e.node);
    expect(all.map((o) => o.id)).toContain(order.id);
    expect(new Set(all.map((o) => o.customerId))).toEqual(new Set([PERSONAS.alice.sub, PERSONAS.bob.sub]));
    const pending = dataOf(await fulfillment.query(OrdersDocument, { first: 100, status: "PENDING" }).toPromise()).orders.edges;
    expect(pending.length).toBeGreaterThan(0);
    expect(pending.every((e) => e.node.status === "PENDING")).toBe(true);
    // @ts-expect-error the Orders document filters by status, not by customer.
    const byCustomer: OrdersQueryVariables = { customerId: PERSONAS.alice.sub };
    expect(byCustomer).toBeDefined();
  });
});
