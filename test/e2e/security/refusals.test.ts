import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp, type TestResponse } from "../../helpers/app.js";
import { tableChecksum } from "../../helpers/checksum.js";
import { BACKENDS } from "../../helpers/database.js";

/**
 * Refusals reveal nothing, over real HTTP on PGlite and (with TEST_DATABASE_URL) PostgreSQL:
 * - an id the caller may not see is answered exactly like an id that matches nothing (status, data, code and
 *   message), by every field taking an order id, with and without AUTH_REJECT_PARTIAL; the audit log tells
 *   the two apart;
 * - under AUTH_REJECT_PARTIAL, a denial only the row can decide (`owner:`) refuses the query whole, like one
 *   decided before execution.
 */

/** The answer with the id the client sent replaced, so answers about two ids can be compared. */
const shape = (response: TestResponse, id: string) => ({
  status: response.status,
  wwwAuthenticate: response.headers.get("www-authenticate"),
  body: JSON.parse(response.text.replaceAll(id, "<id>")),
});

describe.each(BACKENDS)("refusals on $name", ({ postgresUrl, skip }) => {
  let app: TestApp;
  let strict: TestApp;
  const logs: Record<string, unknown>[] = [];
  beforeAll(async () => {
    if (skip) return;
    const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    app = await startApp({}, { postgresUrl, logger });
    strict = await startApp({ AUTH_REJECT_PARTIAL: "true" }, { postgresUrl });
  }, 90_000);
  afterAll(async () => {
    await app?.close();
    await strict?.close();
  });
  beforeEach(() => {
    logs.length = 0;
  });

  // Each app has dev keys of its own.
  const as = (persona: PersonaName, target: TestApp = app) => bearer(target.devIssuer!.mint(PERSONAS[persona]));
  /** Sends the same operation about alice's order and about an id that matches nothing; nothing may change. */
  async function both(target: TestApp, persona: PersonaName, query: string) {
    const unknown = `ord-${randomUUID()}`;
    const before = await tableChecksum(target.db);
    const mine = await target.graphql(query, { headers: as(persona, target), variables: { id: "ord-alice-1" } });
    const none = await target.graphql(query, { headers: as(persona, target), variables: { id: unknown } });
    expect(await tableChecksum(target.db)).toBe(before);
    return { theirs: mine, none, same: () => expect(shape(mine, "ord-alice-1")).toEqual(shape(none, unknown)) };
  }

  describe.skipIf(skip)("another customer's order is answered as no order at all", () => {
    const cases: [string, string][] = [
      ["order(id)", "query ($id: ID!) { order(id: $id) { id status } }"],
      ["__typename of order(id)", "query ($id: ID!) { order(id: $id) { __typename } }"],
      [
        "order(id) next to other fields",
        "query ($id: ID!) { me { sub } a: order(id: $id) { id } b: order(id: $id) { ...F } } fragment F on Order { customerEmail internalNote }",
      ],
      ["cancelOrder", "mutation ($id: ID!) { cancelOrder(id: $id) { id } }"],
      [
        "cancelOrder after a write in the same operation",
        'mutation ($id: ID!) { a: placeOrder(input: { idempotencyKey: "probe", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } b: cancelOrder(id: $id) { id } }',
      ],
      [
        "updateOrderStatus (refused for customers whatever the id)",
        "mutation ($id: ID!) { updateOrderStatus(id: $id, status: PAID) { id } }",
      ],
    ];

    it.each(cases)("%s: the same answer for alice's order and for an unknown id, to bob", async (_label, query) => {
      for (const target of [app, strict]) {
        const { theirs, same } = await both(target, "bob", query);
        same();
        expect(theirs.text.replaceAll("ord-alice-1", "")).not.toMatch(/alice|PENDING/);
      }
    });

    it('answers order(id) null without an error, and cancelOrder BAD_USER_INPUT "No order has the id"', async () => {
      const read = await both(app, "bob", "query ($id: ID!) { order(id: $id) { id } }");
      expect(read.theirs.status).toBe(200);
      expect(read.theirs.body).toEqual({ data: { order: null } });
      const cancel = await both(app, "bob", "mutation ($id: ID!) { cancelOrder(id: $id) { id } }");
      expect(cancel.theirs.status).toBe(200);
      expect(cancel.theirs.body).toMatchObject({
        data: null,
        errors: [{ message: 'No order has the id "ord-alice-1"', extensions: { code: "BAD_USER_INPUT", field: "id", rolledBack: true } }],
      });
    });

    it("tells the two apart in the audit log", async () => {
      await app.graphql('{ order(id: "ord-alice-1") { id } }', { headers: as("bob") });
      await app.graphql('mutation { cancelOrder(id: "ord-alice-1") { id } }', { headers: as("bob") });
      const concealed = logs.filter((line) => line.event === "auth.concealed");
      expect(concealed).toEqual([
        expect.objectContaining({ sub: PERSONAS.bob.sub, reasons: ["NOT_VISIBLE"], coordinates: ["Query.order"], paths: ["order"] }),
        expect.objectContaining({
          sub: PERSONAS.bob.sub,
          reasons: ["NOT_VISIBLE"],
          coordinates: ["Mutation.cancelOrder"],
          paths: ["cancelOrder"],
        }),
      ]);
      logs.length = 0;
      await app.graphql(`{ order(id: "ord-${randomUUID()}") { id } }`, { headers: as("bob") });
      await app.graphql(`mutation { cancelOrder(id: "ord-${randomUUID()}") { id } }`, { headers: as("bob") });
      expect(logs.filter((line) => line.event === "auth.concealed")).toEqual([]);
    });

    it("still answers those who may see an order: support reads it, staff are refused cancelling it (403)", async () => {
      const read = await app.graphql('{ order(id: "ord-alice-1") { id customerEmail } }', { headers: as("sam") });
      expect(read.body.data.order).toEqual({ id: "ord-alice-1", customerEmail: "alice@example.com" });
      const before = await tableChecksum(app.db);
      const cancel = await app.graphql('mutation { cancelOrder(id: "ord-alice-1") { id } }', { headers: as("stella") });
      expect(cancel.status).toBe(403);
      expect(cancel.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
      expect(cancel.body).toMatchObject({ data: null, errors: [{ extensions: { code: "FORBIDDEN" } }] });
      expect(await tableChecksum(app.db)).toBe(before);
    });
  });

  describe.skipIf(skip)("AUTH_REJECT_PARTIAL=true refuses a query whole for a denial found during execution", () => {
    it.each([
      ["staff asking for an order's customer email", "stella", '{ me { sub } order(id: "ord-alice-1") { id customerEmail } }'],
      [
        "the machine client, in an inline fragment",
        "fulfillment",
        '{ me { sub } order(id: "ord-bob-1") { id ... on Order { customerEmail } } }',
      ],
      [
        "staff, through a fragment on a second alias",
        "stella",
        '{ me { sub } a: order(id: "ord-bob-1") { id } b: order(id: "ord-alice-1") { ...E } } fragment E on Order { customerEmail }',
      ],
    ] as const)("%s: 403, data null, like a refusal before execution", async (_label, persona, query) => {
      const before = await tableChecksum(strict.db);
      const response = await strict.graphql(query, { headers: as(persona, strict) });
      expect(response.status, response.text).toBe(403);
      expect(response.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
      expect(response.body.data).toBeNull();
      expect(response.body.errors).toHaveLength(1);
      // The same error as a refusal decided from the token alone (costPriceCents is for admins).
      const early = await strict.graphql('{ me { sub } product(id: "prd-cable") { costPriceCents } }', { headers: as(persona, strict) });
      expect(early.status).toBe(403);
      expect(response.body.errors[0].message).toBe(early.body.errors[0].message);
      expect(response.body.errors[0].extensions.code).toBe(early.body.errors[0].extensions.code);
      expect(response.body.errors[0].extensions.auth.reason).toBe(early.body.errors[0].extensions.auth.reason);
      expect(response.body.errors[0].extensions.auth.denied).toEqual([expect.objectContaining({ coordinate: "Order.customerEmail" })]);
      expect(await tableChecksum(strict.db)).toBe(before);
    });

    it("answers the same queries in full to those allowed, and partially without the setting", async () => {
      const query = '{ me { sub } order(id: "ord-alice-1") { id customerEmail } }';
      const support = await strict.graphql(query, { headers: as("sam", strict) });
      expect(support.status).toBe(200);
      expect(support.body.data.order.customerEmail).toBe("alice@example.com");
      const owner = await strict.graphql(query, { headers: as("alice", strict) });
      expect(owner.body.data.order.customerEmail).toBe("alice@example.com");
      const partial = await app.graphql(query, { headers: as("stella") });
      expect(partial.status).toBe(200);
      expect(partial.body.data).toEqual({ me: { sub: PERSONAS.stella.sub }, order: { id: "ord-alice-1", customerEmail: null } });
      expect(partial.body.errors).toEqual([
        expect.objectContaining({ path: ["order", "customerEmail"], extensions: expect.objectContaining({ code: "FORBIDDEN" }) }),
      ]);
    });
  });
});
