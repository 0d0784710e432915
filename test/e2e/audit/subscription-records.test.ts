import { createHash, randomUUID } from "node:crypto";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { buildSchema, SCHEMA_DIR } from "../../../src/graphql/schema.js";
import { bearer, startApp } from "../../helpers/app.js";
import { BACKENDS } from "../../helpers/database.js";
import { tempDir } from "../../helpers/temp.js";
import { openSocket, type RawSocket } from "../../helpers/ws.js";

/**
 * Shadow rules and decision records of subscription events over a real WebSocket: the same AUTH_AUDIT policy as
 * HTTP requests, settled at each subscription's start and at each event's execution for each subscriber.
 */
const ENFORCED = '@auth(requires: ["group:staff|group:support|scope:orders/read"])';
/** The product schema with a shadow rule on the root subscription field: "staff only" tried beside the enforced rule. */
function schemaWithShadow() {
  const dir = tempDir("shadow-schema-");
  for (const name of readdirSync(SCHEMA_DIR)) copyFileSync(join(SCHEMA_DIR, name), join(dir, name));
  const file = join(dir, "orders.graphql");
  const text = readFileSync(file, "utf8");
  expect(text).toContain(`orderEvents(after: String): OrderEvent! ${ENFORCED}`);
  writeFileSync(file, text.replace(ENFORCED, `${ENFORCED} @auth(requires: ["group:staff"], enforce: false)`));
  return buildSchema(dir);
}

const QUERY = "subscription Feed { orderEvents { kind order { id } } }";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function capture() {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const records = (phase?: string) => lines.filter((l) => l.event === "auth.decision" && (phase === undefined || l.phase === phase));
  return { logger, lines, records };
}

async function startWith(env: Record<string, string>, postgresUrl: string | undefined) {
  const log = capture();
  const app = await startApp(
    { WS_MAX_CONNECTIONS_PER_SUBJECT: "10", ...env },
    { schema: schemaWithShadow(), logger: log.logger, metrics: true, postgresUrl },
  );
  const token = (persona: PersonaName) => app.devIssuer!.mint(PERSONAS[persona]);
  const follow = async (personas: readonly PersonaName[]) => {
    const sockets: RawSocket[] = [];
    for (const persona of personas) {
      const socket = await openSocket(app.wsUrl);
      await socket.init({ Authorization: `Bearer ${token(persona)}` });
      socket.subscribe("1", QUERY);
      sockets.push(socket);
    }
    await app.waitForSubscribers(personas.length);
    return sockets;
  };
  /** Places an order as alice and waits until every socket received its event. */
  const publish = async (sockets: readonly RawSocket[]) => {
    const placed = await app.graphql(
      `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
      { headers: bearer(token("alice")) },
    );
    expect(placed.body.errors, placed.text).toBeUndefined();
    const id = placed.body.data.placeOrder.id as string;
    for (const socket of sockets) await socket.waitFor((m) => m.type === "next" && JSON.stringify(m.payload).includes(id));
  };
  const shadowCount = async () => {
    const text = (await app.fetch("/metrics")).text;
    const line = text.split("\n").find((l) => l.startsWith('auth_shadow_denials_total{coordinate="Subscription.orderEvents"}'));
    return line ? Number(line.split(" ").at(-1)) : 0;
  };
  return { app, log, token, follow, publish, shadowCount };
}

describe.each(BACKENDS)("subscription events under AUTH_AUDIT=denied (the default) on $name", ({ postgresUrl, skip }) => {
  let t: Awaited<ReturnType<typeof startWith>>;
  beforeAll(async () => {
    if (!skip) t = await startWith({}, postgresUrl);
  }, 60_000);
  afterAll(() => t?.app.close());
  beforeEach(() => {
    if (t) t.log.lines.length = 0;
  });

  it.skipIf(skip)(
    "counts every would-be denial of a shadow rule per event and subscriber, and records each subscription's first one only",
    async () => {
      // Two support subscribers, whom "staff only" would refuse, and one staff subscriber, whom it lets through.
      const sockets = await t.follow(["sam", "sam", "stella"]);
      const before = await t.shadowCount();
      await t.publish(sockets);
      await t.publish(sockets);
      // The shadow rule refused nobody: every subscriber received both events.
      for (const socket of sockets) expect(socket.messages.filter((m) => m.type === "next")).toHaveLength(2);
      expect(await t.shadowCount()).toBe(before + 4);
      const records = t.log.records("event");
      // One record per support subscription (its first event), none for staff, none for the second event.
      expect(records).toHaveLength(2);
      const starts = new Set<string>();
      for (const record of records) {
        expect(record).toMatchObject({
          principal: "USER",
          sub: PERSONAS.sam.sub,
          operation: "Feed",
          documentHash: sha256(QUERY),
          outcome: "allowed",
          requestId: expect.any(String),
          subscription: expect.any(String),
        });
        expect(record.decisions).toContainEqual({
          coordinate: "Subscription.orderEvents",
          decision: "shadow-deny",
          reason: "INSUFFICIENT_PERMISSION",
          rule: ["group:staff"],
          failed: ["group:staff"],
        });
        starts.add(record.subscription);
      }
      expect(starts.size).toBe(2);
      // A subscription's start that nothing was denied in writes no record under `denied`.
      expect(t.log.records("start")).toEqual([]);
      for (const socket of sockets) socket.close();
      await t.app.waitForSubscribers(0);
    },
  );

  it.skipIf(skip)("records a subscription refused at its start, with the coordinate and the failing clause", async () => {
    const socket = await openSocket(t.app.wsUrl);
    await socket.init({ Authorization: `Bearer ${t.token("alice")}` });
    socket.subscribe("1", QUERY);
    const error = await socket.waitFor((m) => m.type === "error");
    expect(error.payload[0].extensions.code).toBe("FORBIDDEN");
    const [record] = t.log.records("start");
    expect(record).toMatchObject({ principal: "USER", sub: PERSONAS.alice.sub, operation: "Feed", outcome: "denied" });
    expect(record.decisions[0]).toMatchObject({
      coordinate: "Subscription.orderEvents",
      decision: "deny",
      reason: "INSUFFICIENT_PERMISSION",
      failed: ["group:staff|group:support|scope:orders/read"],
    });
    socket.close();
  });
});

describe.each(BACKENDS)("subscription events under AUTH_AUDIT=all on $name", ({ postgresUrl, skip }) => {
  let t: Awaited<ReturnType<typeof startWith>>;
  beforeAll(async () => {
    if (!skip) t = await startWith({ AUTH_AUDIT: "all" }, postgresUrl);
  }, 60_000);
  afterAll(() => t?.app.close());

  it.skipIf(skip)("records each start, and each event's execution for each subscriber, the start's request id tying them", async () => {
    const sockets = await t.follow(["sam", "stella"]);
    await t.publish(sockets);
    await t.publish(sockets);
    const starts = t.log.records("start");
    expect(new Set(starts.map((r) => r.sub))).toEqual(new Set([PERSONAS.sam.sub, PERSONAS.stella.sub]));
    expect(starts).toHaveLength(2);
    for (const start of starts)
      expect(start.decisions).toContainEqual({
        coordinate: "Subscription.orderEvents",
        decision: "allow",
        rule: ["group:staff|group:support|scope:orders/read"],
      });
    const events = t.log.records("event");
    expect(events).toHaveLength(4);
    for (const start of starts) expect(events.filter((e) => e.subscription === start.requestId)).toHaveLength(2);
    const stella = events.find((e) => e.sub === PERSONAS.stella.sub)!;
    expect(stella.outcome).toBe("allowed");
    expect(stella.decisions.map((d: { decision: string; coordinate: string }) => `${d.decision} ${d.coordinate}`)).toContain(
      "allow Subscription.orderEvents",
    );
    // Both of sam's events carry the shadow rule's would-be denial under `all`.
    expect(events.filter((e) => e.decisions.some((d: { decision: string }) => d.decision === "shadow-deny"))).toHaveLength(2);
    for (const socket of sockets) socket.close();
  });

  it("settles an execution shared by two subscribers of the same rights for each of them: same request id, each its own record and count", async () => {
    await t.app.waitForSubscribers(0);
    t.log.lines.length = 0;
    // Two support members: the same document, kind, groups and scopes, so one execution per event serves both.
    const personas = [PERSONAS.sam, { ...PERSONAS.sam, sub: randomUUID(), username: "sam-2" }];
    const sockets: RawSocket[] = [];
    for (const persona of personas) {
      const socket = await openSocket(t.app.wsUrl);
      await socket.init({ Authorization: `Bearer ${t.app.devIssuer!.mint(persona)}` });
      socket.subscribe("1", QUERY);
      sockets.push(socket);
    }
    await t.app.waitForSubscribers(2);
    const before = await t.shadowCount();
    await t.publish(sockets);
    const events = t.log.records("event");
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.sub))).toEqual(new Set(personas.map((p) => p.sub)));
    expect(new Set(events.map((e) => e.requestId)).size).toBe(1);
    for (const event of events) expect(event.decisions).toContainEqual(expect.objectContaining({ decision: "shadow-deny" }));
    expect((await t.shadowCount()) - before).toBe(2);
    for (const socket of sockets) socket.close();
  });
});
