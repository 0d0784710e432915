import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevTokenRequest } from "../../../src/auth/index.js";
import { PERSONAS } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { BACKENDS } from "../../helpers/database.js";
import { openSocket, sleep, type RawSocket } from "../../helpers/ws.js";

// One document, subscribers of different rights: the shared execution must not hand one's result to another.
const EMAIL = "subscription { orderEvents { kind order { id status customerEmail } } }";
const NOTE = "subscription { orderEvents { kind order { id status internalNote } } }";
// A staff member who also buys: the owner of the order for `customerEmail`'s owner:customerId atom.
const KIM: DevTokenRequest = { ...PERSONAS.stella, sub: "c1a00000-0000-4000-8000-00000000000c", username: "kim", email: "kim@example.com" };

const eventOf = (socket: RawSocket, id: string, subscription = "1") =>
  socket.messages.filter((m) => m.type === "next" && m.id === subscription && JSON.stringify(m.payload).includes(id)).map((m) => m.payload);

describe.each(BACKENDS)("one execution shared per event and decision, on $name", ({ postgresUrl, skip }) => {
  let app: TestApp;
  beforeAll(async () => {
    if (!skip) app = await startApp({ WS_MAX_CONNECTIONS_PER_SUBJECT: "100" }, { postgresUrl });
  }, 60_000);
  afterAll(() => app?.close());

  const subscriber = async (token: string, queries: string[]) => {
    const socket = await openSocket(app.wsUrl);
    await socket.init({ Authorization: `Bearer ${token}` });
    queries.forEach((query, i) => socket.subscribe(String(i + 1), query));
    return socket;
  };

  it.skipIf(skip)(
    "gives subscribers of one document different events and fields on the same event, as their rights say",
    async () => {
      const mint = (request: DevTokenRequest) => app.devIssuer!.mint(request);
      // Two staff sockets of other subjects, with the same document as the owner's: they share one execution,
      // which must not be the owner's.
      const kim = await subscriber(mint(KIM), [EMAIL]);
      const stella = await subscriber(mint(PERSONAS.stella), [EMAIL, NOTE]);
      const stella2 = await subscriber(mint({ ...PERSONAS.stella, sub: "57e11a00-0000-4000-8000-0000000000aa" }), [EMAIL, NOTE]);
      const sam = await subscriber(mint(PERSONAS.sam), [EMAIL, NOTE]);
      const sockets = [kim, stella, stella2, sam];
      await sleep(200);

      const placed = await app.graphql(
        `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
        { headers: bearer(mint(KIM)) },
      );
      expect(placed.body.errors, placed.text).toBeUndefined();
      const id = placed.body.data.placeOrder.id as string;
      const has = (subscription: string) => (m: { type: string; id?: string; payload?: unknown }) =>
        m.type === "next" && m.id === subscription && JSON.stringify(m.payload).includes(id);
      await kim.waitFor(has("1"));
      await sam.waitFor(has("1"));
      await stella.waitFor(has("2"));
      await stella2.waitFor(has("2"));
      // Whatever else is coming for this event has been executed by then; a moment for it to arrive.
      await sleep(300);

      const email = eventOf(sam, id)[0] as { data: { orderEvents: { order: { customerEmail: string | null } } } };
      const order = (extra: Record<string, unknown>) => ({
        data: { orderEvents: { kind: "PLACED", order: { id, status: "PENDING", ...extra } } },
      });
      // The owner (staff, but customerEmail is owner:customerId|group:support) and support see the email.
      expect(eventOf(kim, id)).toEqual([order({ customerEmail: email.data.orderEvents.order.customerEmail })]);
      expect(eventOf(sam, id)).toEqual([order({ customerEmail: email.data.orderEvents.order.customerEmail })]);
      // Staff who do not own it: the same document's event is withheld, not even an error.
      expect(eventOf(stella, id)).toEqual([]);
      expect(eventOf(stella2, id)).toEqual([]);
      // internalNote is staff-only: staff get the event; support's subscription was refused at its start.
      expect(eventOf(stella, id, "2")).toEqual([order({ internalNote: null })]);
      expect(eventOf(stella2, id, "2")).toEqual([order({ internalNote: null })]);
      expect(eventOf(sam, id, "2")).toEqual([]);
      const errors = (socket: RawSocket) => socket.messages.filter((m) => m.type === "error");
      expect(errors(sam)).toEqual([
        { type: "error", id: "2", payload: [expect.objectContaining({ extensions: expect.objectContaining({ code: "FORBIDDEN" }) })] },
      ]);
      for (const socket of [kim, stella, stella2]) expect(errors(socket)).toEqual([]);
      for (const socket of sockets) socket.close();
    },
    60_000,
  );
});
