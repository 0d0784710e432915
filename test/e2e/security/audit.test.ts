import { createHash } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { seedDevData } from "../../../src/dev/seed.js";
import { createApp } from "../../../src/app.js";
import { loadConfig } from "../../../src/config.js";
import { decisionRecordsOf } from "../../helpers/decision-records.js";
import { tempDir } from "../../helpers/temp.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";

/** Decision records (`auth.decision`, AUTH_AUDIT) over the real server, read from its log lines (HTTP: the request line's `audit`). */
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function capture() {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  // Over HTTP a record rides in its request's line; a line of its own would be a second record of the request.
  const records = () => decisionRecordsOf(lines);
  return { logger, lines, records };
}

describe("decision records with AUTH_AUDIT=denied (the default), in dev mode", () => {
  let app: TestApp;
  const log = capture();
  beforeAll(async () => {
    app = await startApp({}, { logger: log.logger });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    log.lines.length = 0;
  });
  const as = (persona: PersonaName) => bearer(app.devIssuer!.mint(PERSONAS[persona]));

  it("writes none for a request nothing was denied in", async () => {
    await app.graphql('query Mine { order(id: "ord-alice-1") { id internalNote } }', { headers: as("stella") });
    await app.graphql("{ products { edges { node { name } } } }");
    expect(log.records()).toEqual([]);
  });

  it("writes one line for a denied field: who, which operation and document, each decided coordinate with its rule and failing clause", async () => {
    const query = 'query Note { order(id: "ord-alice-1") { id internalNote } }';
    const response = await app.graphql(query, { headers: as("alice") });
    expect(response.body.errors[0].extensions.code).toBe("FORBIDDEN");
    const records = log.records();
    expect(records).toHaveLength(1);
    const [record] = records;
    // It is the request line's: the same request id, one line.
    const line = log.lines.find((l) => l.audit && l.requestId === record.requestId);
    expect(line).toMatchObject({ msg: "request", requestId: record.requestId, status: 200 });
    // The line says who and which operation once: its audit holds only what the line lacks.
    expect(Object.keys(line!.audit).sort()).toEqual(["decisions", "documentHash", "jti", "outcome"]);
    expect(record).toMatchObject({
      principal: "USER",
      sub: PERSONAS.alice.sub,
      jti: expect.any(String),
      operation: "Note",
      documentHash: sha256(query),
      requestId: expect.any(String),
      outcome: "denied",
    });
    const ownerRule = "owner:customerId|group:support|group:admin|group:staff|scope:orders/read|scope:orders/write";
    expect(record.decisions).toEqual([
      {
        coordinate: "Order.internalNote",
        decision: "deny",
        reason: "INSUFFICIENT_PERMISSION",
        rule: ["group:staff", ownerRule],
        failed: ["group:staff"],
      },
      { coordinate: "Query.order", decision: "allow", rule: [ownerRule] },
      { coordinate: "Order.id", decision: "allow", rule: [ownerRule] },
    ]);
  });

  it("records a mutation refused before execution, and a row concealed from another customer", async () => {
    await app.graphql('mutation Move { updateOrderStatus(id: "ord-alice-1", status: PAID) { id } }', { headers: as("alice") });
    await app.graphql('query Peek { order(id: "ord-alice-1") { id } }', { headers: as("bob") });
    const [move, peek] = log.records();
    expect(move.outcome).toBe("denied");
    expect(move.decisions[0]).toEqual({
      coordinate: "Mutation.updateOrderStatus",
      decision: "deny",
      reason: "INSUFFICIENT_PERMISSION",
      rule: expect.arrayContaining(["group:staff|scope:orders/write"]),
      failed: ["group:staff|scope:orders/write"],
    });
    expect(peek).toMatchObject({ operation: "Peek", sub: PERSONAS.bob.sub, outcome: "concealed" });
    expect(peek.decisions[0]).toEqual({ coordinate: "Query.order", decision: "conceal", reason: "NOT_VISIBLE" });
  });

  it("records an anonymous caller's denial with AUTHENTICATION_REQUIRED and no sub", async () => {
    await app.graphql("{ myOrders { edges { cursor } } }");
    const [record] = log.records();
    expect(record.principal).toBe("ANONYMOUS");
    expect(record.sub).toBeUndefined();
    expect(record.decisions[0]).toMatchObject({ coordinate: "Query.myOrders", decision: "deny", reason: "AUTHENTICATION_REQUIRED" });
  });
});

describe("decision records with AUTH_AUDIT=all", () => {
  let app: TestApp;
  const log = capture();
  beforeAll(async () => {
    app = await startApp({ AUTH_AUDIT: "all" }, { logger: log.logger });
  });
  afterAll(() => app.close());

  it("writes one line for every request, allowed ones with each coordinate's rule", async () => {
    await app.graphql("query Mine { myOrders { edges { node { id } } } }", { headers: bearer(app.devIssuer!.mint(PERSONAS.alice)) });
    await app.graphql("query Catalogue { products { edges { node { name } } } }");
    const [mine, catalogue] = log.records();
    expect(mine).toMatchObject({ operation: "Mine", outcome: "allowed", principal: "USER" });
    expect(mine.decisions.map((d: { coordinate: string; decision: string }) => `${d.decision} ${d.coordinate}`)).toEqual([
      "allow Query.myOrders",
      "allow OrderConnection.edges",
      "allow OrderEdge.node",
      "allow Order.id",
    ]);
    expect(mine.decisions[0].rule).toEqual(["a verified caller"]);
    // Only public fields: no rule was decided.
    expect(catalogue).toMatchObject({ operation: "Catalogue", outcome: "allowed", principal: "ANONYMOUS", decisions: [] });
    expect(log.records()).toHaveLength(2);
    // One line per request: the request line carries the record, nothing else is written for it.
    const requestLines = log.lines.filter((l) => l.msg === "request");
    expect(requestLines.map((l) => [l.operation, l.audit?.outcome])).toEqual([
      ["Mine", "allowed"],
      ["Catalogue", "allowed"],
    ]);
    expect(log.lines.filter((l) => l.event === "auth.decision")).toEqual([]);
  });
});

describe("decision records in production", () => {
  let app: TestApp;
  let key: TestKey;
  let jwks: JwksServer;
  const log = capture();
  beforeAll(async () => {
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    app = await startApp(
      { NODE_ENV: "production", COGNITO_USER_POOL_ID: TEST_POOL_ID, COGNITO_CLIENT_ID: TEST_CLIENT_ID, COGNITO_JWKS_URI: jwks.url },
      { logger: log.logger },
    );
    await seedDevData(app.db);
  });
  afterAll(async () => {
    await app.close();
    await jwks.close();
  });

  it("carry coordinates and reason codes only, never the rules, and the answer only a reason code", async () => {
    const token = signToken(key, accessClaims({ sub: PERSONAS.bob.sub, "cognito:groups": [], scope: "openid" }));
    const response = await app.graphql('query Note { a: order(id: "ord-bob-1") { internalNote } b: order(id: "ord-alice-1") { id } }', {
      headers: bearer(token),
    });
    expect(response.body.errors[0].extensions).toEqual({ code: "FORBIDDEN", auth: { reason: "INSUFFICIENT_PERMISSION" } });
    const [record] = log.records();
    expect(record.outcome).toBe("denied");
    expect(record.decisions).toEqual([
      { coordinate: "Order.internalNote", decision: "deny", reason: "INSUFFICIENT_PERMISSION" },
      // One entry per coordinate: the concealment of alias b stands for Query.order, though alias a was allowed.
      { coordinate: "Query.order", decision: "conceal", reason: "NOT_VISIBLE" },
    ]);
    expect(JSON.stringify(record)).not.toMatch(/group:|owner:|scope:/);
  });
});

describe("decision records on the Lambda transport", () => {
  it("are lines of their own there, as Lambda writes no request line", async () => {
    const log = capture();
    const config = loadConfig({ DATA_DIR: tempDir("api-test-"), PORT: "0", HOST: "127.0.0.1" });
    const app = await createApp(config, { logger: log.logger, metrics: false, database: { url: null, pgliteDir: null } });
    try {
      const apollo = app.apollo("lambda");
      await apollo.start();
      const token = app.devIssuer!.mint(PERSONAS.alice);
      const contextValue = await app.contextFor({ authorization: [`Bearer ${token}`], search: "", cookie: undefined }, "req-lambda-1");
      await apollo.executeOperation({ query: 'query Note { order(id: "ord-alice-1") { id internalNote } }' }, { contextValue });
      const lines = log.lines.filter((l) => l.event === "auth.decision");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ requestId: "req-lambda-1", operation: "Note", outcome: "denied", sub: PERSONAS.alice.sub });
      await apollo.stop();
    } finally {
      await app.close();
    }
  });
});
