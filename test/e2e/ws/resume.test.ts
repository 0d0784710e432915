import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneOrderEvents } from "../../../src/data/order-event-log.js";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { encodeEventCursor } from "../../../src/graphql/order-event-stream.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { BACKENDS } from "../../helpers/database.js";
import { openSocket, sleep, type RawSocket } from "../../helpers/ws.js";

const ALL = "subscription ($after: String) { orderEvents(after: $after) { cursor kind order { id status } } }";
const MINE = "subscription ($after: String) { myOrderEvents(after: $after) { cursor kind order { id customerId } } }";

const events = (socket: RawSocket, field = "orderEvents") =>
  socket.messages
    .filter((m) => m.type === "next")
    .map((m) => m.payload.data[field] as { cursor: string; kind: string; order: { id: string; status?: string; customerId?: string } });

describe.each(BACKENDS)("resuming a subscription after a cursor on $name", ({ postgresUrl, skip }) => {
  let app: TestApp;
  beforeAll(async () => {
    if (!skip) app = await startApp({ WS_MAX_CONNECTIONS_PER_SUBJECT: "50" }, { postgresUrl });
  }, 60_000);
  afterAll(() => app?.close());

  const token = (persona: PersonaName) => app.devIssuer!.mint(PERSONAS[persona]);
  const follow = async (persona: PersonaName, query: string, after?: string) => {
    const socket = await openSocket(app.wsUrl);
    await socket.init({ Authorization: `Bearer ${token(persona)}` });
    socket.subscribe("1", query, after === undefined ? {} : { after });
    return socket;
  };
  /**
   * `follow` with no cursor, returned once the server has the subscription in place: the only one, since an earlier
   * test's are awaited gone first.
   */
  const followInPlace = async (persona: PersonaName, query: string) => {
    await app.waitForSubscribers(0);
    const socket = await follow(persona, query);
    await app.waitForSubscribers(1);
    return socket;
  };
  const place = async (persona: PersonaName) => {
    const placed = await app.graphql(
      `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
      {
        headers: bearer(token(persona)),
      },
    );
    expect(placed.body.errors, placed.text).toBeUndefined();
    return placed.body.data.placeOrder.id as string;
  };
  const pay = async (id: string) => {
    const paid = await app.graphql(`mutation { updateOrderStatus(id: "${id}", status: PAID) { id } }`, {
      headers: bearer(token("stella")),
    });
    expect(paid.body.errors, paid.text).toBeUndefined();
  };
  /** Every event in the log after `seq`, as `KIND:orderId`, in log order. */
  const loggedAfter = async (seq: string, customerId?: string) => {
    let query = app.db
      .selectFrom("orderEvents")
      .select(["id", "kind", "orderId"])
      .where("id", ">", seq as never);
    if (customerId) query = query.where("customerId", "=", customerId);
    return (await query.orderBy("id").execute()).map((r) => `${r.kind}:${r.orderId}`);
  };
  const seqOf = (cursor: string) => Buffer.from(cursor, "base64url").toString().split(":")[1]!;

  it.skipIf(skip)(
    "delivers every event after the cursor in order, then live ones, with no duplicate",
    async () => {
      const first = await followInPlace("stella", ALL);
      const start = await place("bob");
      const seen = await first.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === start);
      const cursor = seen.payload.data.orderEvents.cursor as string;
      first.close();
      // While nobody listens: three orders and a status change.
      const missed = [await place("alice"), await place("bob"), await place("alice")];
      await pay(missed[0]!);
      const resumed = await follow("stella", ALL, cursor);
      await resumed.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.kind === "STATUS_CHANGED");
      const live = await place("bob");
      await resumed.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === live);
      const got = events(resumed);
      expect(got.map((e) => `${e.kind}:${e.order.id}`)).toEqual([
        ...missed.map((id) => `PLACED:${id}`),
        `STATUS_CHANGED:${missed[0]}`,
        `PLACED:${live}`,
      ]);
      // Each cursor resumes after its own event; they increase.
      const seqs = got.map((e) => BigInt(seqOf(e.cursor)));
      expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
      resumed.close();
    },
    60_000,
  );

  it.skipIf(skip)(
    "switches from the log to live events with no gap and no duplicate while orders are placed",
    async () => {
      const anchor = await place("alice");
      const probe = await followInPlace("stella", ALL);
      const marker = await place("alice");
      const cursor = (await probe.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === marker)).payload.data
        .orderEvents.cursor as string;
      probe.close();
      expect(anchor).toBeTruthy();
      let publishing = true;
      let running = true;
      const placed: string[] = [];
      const publisher = (async () => {
        try {
          for (let i = 0; i < 200 && publishing; i++) placed.push(await place(i % 2 ? "alice" : "bob"));
        } finally {
          running = false;
        }
      })();
      /** Until the publisher has placed `count` orders (polled, at most 10 s) or has stopped. */
      const placedAtLeast = async (count: number) => {
        for (let i = 0; i < 1000 && running && placed.length < count; i++) await sleep(10);
      };
      // Subscribe while the publisher runs: some events come from the log, some live, some both.
      await placedAtLeast(5);
      const subscribers = [
        await follow("stella", ALL, cursor),
        await follow("fulfillment", ALL, cursor),
        await follow("alice", MINE, cursor),
      ];
      await placedAtLeast(placed.length + 5);
      publishing = false;
      await publisher;
      const last = placed.at(-1)!;
      await subscribers[0]!.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === last, 20_000);
      await subscribers[1]!.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === last, 20_000);
      const lastOfAlice = placed.filter((_, i) => i % 2 === 1).at(-1)!;
      await subscribers[2]!.waitFor((m) => m.type === "next" && m.payload.data.myOrderEvents.order.id === lastOfAlice, 20_000);
      const expected = await loggedAfter(seqOf(cursor));
      expect(expected.length).toBe(placed.length);
      for (const socket of subscribers.slice(0, 2)) expect(events(socket).map((e) => `${e.kind}:${e.order.id}`)).toEqual(expected);
      const alices = events(subscribers[2]!, "myOrderEvents");
      expect(alices.map((e) => `${e.kind}:${e.order.id}`)).toEqual(await loggedAfter(seqOf(cursor), PERSONAS.alice.sub));
      for (const e of alices) expect(e.order.customerId).toBe(PERSONAS.alice.sub);
      for (const socket of subscribers) socket.close();
    },
    90_000,
  );

  it.skipIf(skip)(
    "refuses a cursor the log no longer has with CURSOR_EXPIRED, and a string that is no cursor with BAD_USER_INPUT",
    async () => {
      const probe = await followInPlace("stella", ALL);
      const id = await place("bob");
      const cursor = (await probe.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === id)).payload.data.orderEvents
        .cursor as string;
      // Two days old, then pruned by the retention (a day): the cursor's event is gone.
      await sql`update order_events set occurred_at = now() - interval '2 days' where id <= ${seqOf(cursor)}::bigint`.execute(app.db);
      expect(await pruneOrderEvents(app.db, 86_400)).toBeGreaterThan(0);
      probe.subscribe("2", ALL, { after: cursor });
      const expired = await probe.waitFor((m) => m.type === "error" && m.id === "2");
      expect(expired.payload).toEqual([
        {
          message: expect.stringContaining("no longer in the event log (events are kept 86400 s)"),
          path: ["orderEvents"],
          extensions: { code: "CURSOR_EXPIRED", argumentName: "after" },
        },
      ]);
      probe.subscribe("3", MINE, { after: encodeEventCursor("999999999999") });
      expect((await probe.waitFor((m) => m.type === "error" && m.id === "3")).payload[0].extensions.code).toBe("CURSOR_EXPIRED");
      probe.subscribe("4", ALL, { after: "not-a-cursor" });
      expect((await probe.waitFor((m) => m.type === "error" && m.id === "4")).payload[0].extensions).toEqual({
        code: "BAD_USER_INPUT",
        argumentName: "after",
      });
      // The connection and its first subscription go on.
      const after = await place("alice");
      await probe.waitFor((m) => m.type === "next" && m.id === "1" && m.payload.data.orderEvents.order.id === after);
      probe.close();
    },
    60_000,
  );
});
