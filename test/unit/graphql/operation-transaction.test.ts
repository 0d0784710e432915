import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { bearer, type TestResponse } from "../../helpers/app.js";
import { startOperations, type OperationRunner } from "../../helpers/operations.js";
import { tableChecksum } from "../../helpers/checksum.js";
import { BACKENDS } from "../../helpers/database.js";

/**
 * One transaction per mutation operation, over real HTTP with the dev personas, on PGlite and (with
 * TEST_DATABASE_URL) PostgreSQL: every field commits together or nothing does, whatever fails (a refusal before
 * or during execution, an owner denial in a result's selection, bad input, an internal error), and the answer
 * says so. Each case compares a checksum of every table before and after.
 */

const codes = (response: TestResponse): string[] =>
  (response.body.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code);

describe.each(BACKENDS)("one transaction per mutation operation on $name", ({ name, postgresUrl, skip }) => {
  let app: OperationRunner;
  beforeAll(async () => {
    // The lock tests hold a row lock in a transaction of their own on the app's pool: the idle-in-transaction bound
    // (DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS, 5 s by default) must not end it on a loaded machine.
    if (!skip) app = await startOperations({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: "600000" }, { postgresUrl });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  const as = (persona: PersonaName) => bearer(app.devIssuer!.mint(PERSONAS[persona]));
  const call = (persona: PersonaName, query: string, variables?: Record<string, unknown>) =>
    app.graphql(query, { headers: as(persona), variables });
  let serial = 0;
  const unique = (prefix: string) => `${prefix}-${name}-${++serial}`;
  /** A product of this test's own, so stock counts are not shared with other tests. */
  const newProduct = async (stock: number): Promise<string> => {
    const response = await call(
      "ada",
      `mutation { createProduct(input: { sku: "${unique("SKU")}", name: "Test", priceCents: 100, costPriceCents: 10, stock: ${stock} }) { id } }`,
    );
    return response.body.data.createProduct.id;
  };
  /** A PENDING order of `persona` for one unit of `productId`. */
  const newOrder = async (productId: string, persona: PersonaName = "alice"): Promise<string> => {
    const response = await call(
      persona,
      `mutation { placeOrder(input: { idempotencyKey: "${unique("key")}", items: [{ productId: "${productId}", quantity: 1 }] }) { id } }`,
    );
    expect(response.body.errors, response.text).toBeUndefined();
    return response.body.data.placeOrder.id;
  };
  const statusOf = async (id: string) =>
    (await app.db.selectFrom("orders").select("status").where("id", "=", id).executeTakeFirstOrThrow()).status;
  const stockOf = async (id: string) =>
    (await app.db.selectFrom("products").select("stock").where("id", "=", id).executeTakeFirstOrThrow()).stock;

  /** Sends `query` as `persona` and checks that every table is unchanged afterwards. */
  async function unchanged(persona: PersonaName, query: string, variables?: Record<string, unknown>): Promise<TestResponse> {
    const before = await tableChecksum(app.db);
    const response = await call(persona, query, variables);
    expect(await tableChecksum(app.db), response.text).toBe(before);
    expect(response.body.data, response.text).toBeNull();
    return response;
  }

  describe.skipIf(skip)("succeeding whole", () => {
    it("commits every field, each field seeing the writes of the fields before it", async () => {
      const order = await newOrder(await newProduct(5));
      const response = await call(
        "stella",
        `mutation { a: updateOrderStatus(id: "${order}", status: PAID) { status } b: updateOrderStatus(id: "${order}", status: SHIPPED) { status } }`,
      );
      expect(response.body, response.text).toEqual({ data: { a: { status: "PAID" }, b: { status: "SHIPPED" } } });
      expect(await statusOf(order)).toBe("SHIPPED");
    });

    it("commits a new order and a cancellation together, stock taken and given back", async () => {
      const product = await newProduct(10);
      const pending = await newOrder(product);
      expect(await stockOf(product)).toBe(9);
      const response = await call(
        "alice",
        `mutation {
        a: placeOrder(input: { idempotencyKey: "${unique("key")}", items: [{ productId: "${product}", quantity: 3 }] }) { id status }
        b: cancelOrder(id: "${pending}") { status }
      }`,
      );
      expect(response.body.errors, response.text).toBeUndefined();
      expect(response.body.data.a.status).toBe("PENDING");
      expect(response.body.data.b.status).toBe("CANCELLED");
      expect(await statusOf(response.body.data.a.id)).toBe("PENDING");
      expect(await stockOf(product)).toBe(7);
    });

    it("returns the first order for a key repeated within one operation, taking stock once", async () => {
      const product = await newProduct(10);
      const key = unique("key");
      const place = `placeOrder(input: { idempotencyKey: "${key}", items: [{ productId: "${product}", quantity: 2 }] }) { id }`;
      const response = await call("alice", `mutation { a: ${place} b: ${place} }`);
      expect(response.body.errors, response.text).toBeUndefined();
      expect(response.body.data.a.id).toBe(response.body.data.b.id);
      expect(await stockOf(product)).toBe(8);
    });
  });

  describe.skipIf(skip)("rolled back whole", () => {
    it("writes nothing when the second field fails with BAD_USER_INPUT, and says so", async () => {
      const order = await newOrder(await newProduct(5));
      const response = await unchanged(
        "stella",
        `mutation { a: updateOrderStatus(id: "${order}", status: PAID) { id } b: updateOrderStatus(id: "no-such-order", status: PAID) { id } }`,
      );
      expect(response.status).toBe(200);
      expect(response.body.errors).toEqual([
        expect.objectContaining({
          message: 'No order has the id "no-such-order"',
          path: ["b"],
          extensions: { code: "BAD_USER_INPUT", field: "id", rolledBack: true },
        }),
      ]);
      expect(await statusOf(order)).toBe("PENDING");
    });

    it("gives back the stock of an earlier order when a later one fails", async () => {
      const product = await newProduct(4);
      const response = await unchanged(
        "alice",
        `mutation {
        a: placeOrder(input: { idempotencyKey: "${unique("key")}", items: [{ productId: "${product}", quantity: 2 }] }) { id }
        b: placeOrder(input: { idempotencyKey: "${unique("key")}", items: [{ productId: "${product}", quantity: 3 }] }) { id }
      }`,
      );
      expect(response.body.errors[0]).toMatchObject({
        message: `Only 2 of product "${product}" left in stock`,
        path: ["b"],
        extensions: { code: "BAD_USER_INPUT", rolledBack: true },
      });
      expect(await stockOf(product)).toBe(4);
    });

    // The cases of issue #10, each with a PENDING order of its own.
    it.each([
      [
        "staff: a status change, then cancelling an order that is not theirs",
        "stella",
        403,
        (o: string, _p: string) =>
          `mutation { a: updateOrderStatus(id: "${o}", status: PAID) { id } b: cancelOrder(id: "ord-bob-1") { id } }`,
      ],
      [
        "the machine client: a status change, then placing an order (machines may not)",
        "fulfillment",
        403,
        (o: string, p: string) =>
          `mutation { a: updateOrderStatus(id: "${o}", status: PAID) { id } b: placeOrder(input: { idempotencyKey: "m", items: [{ productId: "${p}", quantity: 1 }] }) { id } }`,
      ],
      [
        "staff: an owner-only field in the result of the write",
        "stella",
        403,
        (o: string) => `mutation { updateOrderStatus(id: "${o}", status: PAID) { id customerEmail } }`,
      ],
      [
        "the machine client: an owner-only field in an inline fragment of the result",
        "fulfillment",
        403,
        (o: string) => `mutation { updateOrderStatus(id: "${o}", status: PAID) { id ... on Order { customerEmail } } }`,
      ],
      [
        "staff: an owner-only field in the result of the second field",
        "stella",
        403,
        (o: string) =>
          `mutation { a: updateOrderStatus(id: "${o}", status: PAID) { id } b: updateOrderStatus(id: "${o}", status: SHIPPED) { customerEmail } }`,
      ],
    ] as const)("refuses %s whole, nothing written", async (_label, persona, status, query) => {
      const product = await newProduct(5);
      const order = await newOrder(product);
      const response = await unchanged(persona, query(order, product));
      expect(response.status, response.text).toBe(status);
      expect(response.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors[0]).toMatchObject({
        message: "You do not have permission to perform this operation.",
        extensions: { code: "FORBIDDEN" },
      });
      expect(await statusOf(order)).toBe("PENDING");
    });

    it("writes nothing when a customer places an order and then names another customer's order", async () => {
      const product = await newProduct(5);
      const response = await unchanged(
        "alice",
        `mutation {
        a: placeOrder(input: { idempotencyKey: "${unique("key")}", items: [{ productId: "${product}", quantity: 2 }] }) { id }
        b: cancelOrder(id: "ord-bob-1") { id }
      }`,
      );
      // Another customer's order is answered as no order at all (test/e2e/security/refusals.test.ts).
      expect(codes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(response.body.errors[0].extensions.rolledBack).toBe(true);
      expect(await stockOf(product)).toBe(5);
    });

    it("writes nothing when a later field fails with an internal error", async () => {
      const first = await newOrder(await newProduct(5));
      const second = await newOrder(await newProduct(5));
      // A constraint the product does not know about makes the second write fail inside the database.
      await sql`alter table orders add constraint test_no_boom check (internal_note is distinct from 'boom')`.execute(app.db);
      try {
        const response = await unchanged(
          "stella",
          `mutation {
          a: updateOrderStatus(id: "${first}", status: PAID) { id }
          b: updateOrderStatus(id: "${second}", status: PAID, internalNote: "boom") { id }
        }`,
        );
        expect(codes(response)).toEqual(["INTERNAL_SERVER_ERROR"]);
        expect(response.body.errors[0]).toMatchObject({ path: ["b"], extensions: { rolledBack: true } });
        expect(await statusOf(first)).toBe("PENDING");
      } finally {
        await sql`alter table orders drop constraint test_no_boom`.execute(app.db);
      }
    });

    it("answers 503 with Retry-After, not success, when the commit itself fails", async () => {
      const order = await newOrder(await newProduct(5));
      // A constraint checked only at commit: every statement succeeds, the commit is refused.
      await sql`create table test_notes (note text primary key)`.execute(app.db);
      await sql`insert into test_notes select distinct internal_note from orders where internal_note is not null`.execute(app.db);
      await sql`alter table orders add constraint test_known_note foreign key (internal_note) references test_notes (note) deferrable initially deferred`.execute(
        app.db,
      );
      try {
        const response = await unchanged(
          "stella",
          `mutation { updateOrderStatus(id: "${order}", status: PAID, internalNote: "unheard of") { id status } }`,
        );
        expect(response.status, response.text).toBe(503);
        expect(response.headers.get("retry-after")).toBe("1");
        expect(response.body.errors).toEqual([expect.objectContaining({ extensions: { code: "SERVICE_UNAVAILABLE", rolledBack: true } })]);
        expect(await statusOf(order)).toBe("PENDING");
      } finally {
        await sql`alter table orders drop constraint test_known_note`.execute(app.db);
        await sql`drop table test_notes`.execute(app.db);
      }
    });

    it("answers bad variables with 400 and no data, as before: no resolver ran, nothing to undo", async () => {
      const before = await tableChecksum(app.db);
      const response = await call("alice", "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }", {
        input: { idempotencyKey: unique("key"), items: [{ productId: "prd-cable", quantity: 0 }] },
      });
      expect(response.status).toBe(400);
      expect(response.body.data).toBeUndefined();
      expect(response.body.errors[0].extensions.rolledBack).toBeUndefined();
      expect(await tableChecksum(app.db)).toBe(before);
    });

    it("frees the idempotency key of an order that was rolled back", async () => {
      const product = await newProduct(5);
      const key = unique("key");
      const place = `placeOrder(input: { idempotencyKey: "${key}", items: [{ productId: "${product}", quantity: 1 }] }) { id }`;
      await unchanged("alice", `mutation { a: ${place} b: cancelOrder(id: "no-such-order") { id } }`);
      const again = await call("alice", `mutation { ${place} }`);
      expect(again.body.errors, again.text).toBeUndefined();
      expect(await stockOf(product)).toBe(4);
    });
  });

  describe.skipIf(skip)("under concurrency", () => {
    it("writes one order and takes stock once for 20 parallel requests with one key", async () => {
      const product = await newProduct(100);
      const key = unique("race");
      const before = await app.db
        .selectFrom("orders")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          call(
            "bob",
            `mutation { placeOrder(input: { idempotencyKey: "${key}", items: [{ productId: "${product}", quantity: 3 }] }) { id } }`,
          ),
        ),
      );
      for (const answer of answers) expect(answer.body.errors, answer.text).toBeUndefined();
      expect(new Set(answers.map((a) => a.body.data.placeOrder.id)).size).toBe(1);
      const after = await app.db
        .selectFrom("orders")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow();
      expect(Number(after.n) - Number(before.n)).toBe(1);
      expect(await stockOf(product)).toBe(97);
    });

    it("never oversells to parallel multi-field operations", async () => {
      const product = await newProduct(5);
      const order = (i: number) =>
        call(
          i % 2 ? "alice" : "bob",
          `mutation {
          a: placeOrder(input: { idempotencyKey: "${unique("o")}", items: [{ productId: "${product}", quantity: 1 }] }) { id }
          b: placeOrder(input: { idempotencyKey: "${unique("o")}", items: [{ productId: "${product}", quantity: 1 }] }) { id }
        }`,
        );
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => order(i)));
      // Two units per operation: two succeed whole, the third gets one unit at most and is rolled back whole.
      expect(answers.filter((a) => a.body.data?.a).length).toBe(2);
      expect(await stockOf(product)).toBe(1);
    });

    it("runs parallel multi-field operations on different rows to completion in bounded time", async () => {
      const product = await newProduct(40);
      const orders = await Promise.all(Array.from({ length: 20 }, () => newOrder(product)));
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          call(
            "stella",
            `mutation { a: updateOrderStatus(id: "${orders[2 * i]}", status: PAID) { id } b: updateOrderStatus(id: "${orders[2 * i + 1]}", status: PAID) { id } }`,
          ),
        ),
      );
      expect(performance.now() - started).toBeLessThan(10_000);
      for (const answer of answers) expect(answer.body.errors, answer.text).toBeUndefined();
      for (const order of orders) expect(await statusOf(order)).toBe("PAID");
    });
  });

  // PGlite has one connection, so a lock held outside the server would stop it entirely; these need PostgreSQL.
  describe.skipIf(skip || !postgresUrl)("with row locks held elsewhere (PostgreSQL)", () => {
    it("blocks an operation only on the rows it touches", async () => {
      const product = await newProduct(10);
      const [locked, free1, free2, free3] = await Promise.all([newOrder(product), newOrder(product), newOrder(product), newOrder(product)]);
      const lock = await app.db.startTransaction().execute();
      try {
        await lock.selectFrom("orders").select("id").where("id", "=", locked!).forUpdate().execute();
        let blockedDone = false;
        const blocked = call(
          "stella",
          `mutation { a: updateOrderStatus(id: "${free1}", status: PAID) { id } b: updateOrderStatus(id: "${locked}", status: PAID) { id } }`,
        ).then((r) => {
          blockedDone = true;
          return r;
        });
        const started = performance.now();
        const others = await Promise.all([
          call(
            "stella",
            `mutation { a: updateOrderStatus(id: "${free2}", status: PAID) { id } b: updateOrderStatus(id: "${free3}", status: PAID) { id } }`,
          ),
          call(
            "alice",
            `mutation { placeOrder(input: { idempotencyKey: "${unique("key")}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
          ),
        ]);
        expect(performance.now() - started).toBeLessThan(5_000);
        for (const answer of others) expect(answer.body.errors, answer.text).toBeUndefined();
        expect(blockedDone).toBe(false);
        await lock.commit().execute();
        const answer = await blocked;
        expect(answer.body.errors, answer.text).toBeUndefined();
        expect(await statusOf(locked!)).toBe("PAID");
      } finally {
        if (!lock.isCommitted) await lock.rollback().execute();
      }
    });

    it("answers a deadlock victim with 503 and Retry-After, nothing applied", async () => {
      const product = await newProduct(10);
      const [first, second] = await Promise.all([newOrder(product), newOrder(product)]);
      const before = await tableChecksum(app.db);
      const other = await app.db.startTransaction().execute();
      try {
        // The server's session detects the deadlock (after the default second); this one would wait ten.
        await sql`set local deadlock_timeout = '10s'`.execute(other);
        await other.selectFrom("orders").select("id").where("id", "=", second!).forUpdate().execute();
        const victim = call(
          "stella",
          `mutation { a: updateOrderStatus(id: "${first}", status: PAID) { id } b: updateOrderStatus(id: "${second}", status: PAID) { id } }`,
        );
        const deadline = Date.now() + 5_000;
        // Wait until the operation holds `first` and waits for `second`.
        for (;;) {
          const waiting = await sql<{
            n: string;
          }>`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(app.db);
          if (Number(waiting.rows[0]!.n) > 0) break;
          if (Date.now() > deadline) throw new Error("the operation never waited for the lock");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const mine = other.selectFrom("orders").select("id").where("id", "=", first!).forUpdate().execute();
        const answer = await victim;
        await mine;
        expect(answer.status, answer.text).toBe(503);
        expect(answer.headers.get("retry-after")).toBe("1");
        expect(answer.body).toEqual({
          data: null,
          errors: [expect.objectContaining({ extensions: { code: "SERVICE_UNAVAILABLE", rolledBack: true } })],
        });
      } finally {
        await other.rollback().execute();
      }
      expect(await tableChecksum(app.db)).toBe(before);
    });
  });
});
