import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { bearer, type TestResponse } from "../../helpers/app.js";
import { startOperations, type OperationRunner } from "../../helpers/operations.js";
import { BACKENDS } from "../../helpers/database.js";

/**
 * Every persona (and an anonymous caller) against every root field and every protected field, with the
 * expected outcome written down as a table. Mutations use input that passes the rules but fails validation,
 * so the table can tell "allowed" (BAD_USER_INPUT, nothing written) from "refused" without changing data.
 * `signOut` and `signOutEverywhere` (any verified caller, their own sessions) have no input to fail on; they are
 * covered by test/e2e/revocations/revocation.test.ts.
 *
 *   ok      answered, no error
 *   none    answered, no error, the order null: another customer's order is answered as no order at all
 *   input   passed the rules, refused as BAD_USER_INPUT
 *   field   200 with the field null and FORBIDDEN at its path
 *   anon    200 with the field null and UNAUTHENTICATED at its path
 *   403     the operation refused whole, FORBIDDEN
 *   401     the operation refused whole, UNAUTHENTICATED
 */
type Outcome = "ok" | "none" | "input" | "field" | "anon" | "403" | "401";
type Caller = PersonaName | "anonymous";
const CALLERS: Caller[] = ["anonymous", "alice", "bob", "sam", "stella", "ada", "fulfillment"];

const OPERATIONS: Record<string, string> = {
  me: "{ me { sub } }",
  products: "{ products { edges { node { id name priceCents } } } }",
  "product.costPriceCents": '{ product(id: "prd-keyboard") { name costPriceCents } }',
  myOrders: "{ myOrders { edges { node { id } } } }",
  "order (bob's)": '{ order(id: "ord-bob-1") { id status } }',
  "order.customerEmail": '{ order(id: "ord-bob-1") { customerEmail } }',
  "order.internalNote": '{ order(id: "ord-bob-1") { internalNote } }',
  orders: "{ orders { edges { node { id } } } }",
  placeOrder: 'mutation { placeOrder(input: { idempotencyKey: "matrix", items: [{ productId: "no-such-product", quantity: 1 }] }) { id } }',
  "cancelOrder (alice's, shipped)": 'mutation { cancelOrder(id: "ord-alice-2") { id } }',
  updateOrderStatus: 'mutation { updateOrderStatus(id: "ord-alice-2", status: PAID) { id } }',
  createProduct: 'mutation { createProduct(input: { sku: "KB-01", name: "Dup", priceCents: 1, costPriceCents: 1, stock: 1 }) { id } }',
  updateProduct: 'mutation { updateProduct(id: "no-such-product", input: { name: "x" }) { id } }',
  revokeSessions: 'mutation { revokeSessions(sub: " ") { sub } }',
};

//                                       anonymous alice    bob      sam      stella   ada      fulfillment
const EXPECTED: Record<string, Outcome[]> = {
  me: /*                             */ ["ok", "ok", "ok", "ok", "ok", "ok", "ok"],
  products: /*                       */ ["ok", "ok", "ok", "ok", "ok", "ok", "ok"],
  "product.costPriceCents": /*       */ ["anon", "field", "field", "field", "field", "ok", "field"],
  myOrders: /*                       */ ["anon", "ok", "ok", "ok", "ok", "ok", "ok"],
  "order (bob's)": /*                */ ["anon", "none", "ok", "ok", "ok", "ok", "ok"],
  "order.customerEmail": /*          */ ["anon", "none", "ok", "ok", "field", "field", "field"],
  "order.internalNote": /*           */ ["anon", "none", "field", "field", "ok", "field", "field"],
  orders: /*                         */ ["anon", "field", "field", "ok", "field", "ok", "ok"],
  placeOrder: /*                     */ ["401", "input", "input", "input", "input", "input", "403"],
  "cancelOrder (alice's, shipped)": /**/ ["401", "input", "input", "input", "403", "403", "403"],
  updateOrderStatus: /*              */ ["401", "403", "403", "403", "input", "403", "input"],
  createProduct: /*                  */ ["401", "403", "403", "403", "403", "input", "403"],
  updateProduct: /*                  */ ["401", "403", "403", "403", "403", "input", "403"],
  revokeSessions: /*                 */ ["401", "403", "403", "input", "403", "input", "403"],
};

function outcomeOf(response: TestResponse): Outcome {
  if (response.status === 401) return "401";
  if (response.status === 403) return "403";
  const codes: string[] = (response.body.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code);
  if (codes.length === 0) return response.body.data?.order === null ? "none" : "ok";
  if (codes.every((c) => c === "BAD_USER_INPUT")) return "input";
  if (codes.every((c) => c === "FORBIDDEN")) return "field";
  if (codes.every((c) => c === "UNAUTHENTICATED")) return "anon";
  throw new Error(`unexpected answer ${response.status}: ${response.text}`);
}

describe.each(BACKENDS)("the access matrix on $name", ({ postgresUrl, skip }) => {
  // The fast layer: the composed application without a socket (the rules are the same on every transport).
  let app: OperationRunner;
  beforeAll(async () => {
    if (!skip) app = await startOperations({}, { postgresUrl });
  });
  afterAll(async () => {
    await app?.close();
  });

  const rows = Object.keys(OPERATIONS).flatMap((operation) =>
    CALLERS.map((caller, column) => ({ operation, caller, expected: EXPECTED[operation]![column]! })),
  );

  it.skipIf(skip).each(rows)("$operation as $caller: $expected", async ({ operation, caller, expected }) => {
    const headers = caller === "anonymous" ? {} : bearer(app.devIssuer!.mint(PERSONAS[caller]));
    const before = await snapshot(app);
    const response = await app.run(OPERATIONS[operation]!, { headers });
    expect(outcomeOf(response), response.text).toBe(expected);
    expect(await snapshot(app)).toEqual(before);
  });
});

/** Row counts and the orders' statuses: enough to see that a matrix row wrote nothing. */
async function snapshot(app: OperationRunner) {
  const count = (table: "products" | "orders" | "orderItems" | "customers" | "revocations") =>
    app.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
  return {
    products: (await count("products")).n,
    orders: (await count("orders")).n,
    items: (await count("orderItems")).n,
    customers: (await count("customers")).n,
    revocations: (await count("revocations")).n,
    statuses: await app.db.selectFrom("orders").select(["id", "status"]).orderBy("id").execute(),
    stock: await app.db.selectFrom("products").select(["id", "stock", "name"]).orderBy("id").execute(),
  };
}
