import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { startApp, type TestApp } from "../../helpers/app.js";

/**
 * Many clients with different tokens at once, for a bounded time: every answer must carry its own caller's
 * identity and only its own data, every invalid token must be refused, and the server must be healthy after.
 */
const SECONDS = 6;
const MAX_REQUESTS = 1500;
const CLIENTS = 30;

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

type Caller = { kind: "persona"; name: PersonaName; token: string } | { kind: "invalid"; token: string } | { kind: "anonymous" };

describe("isolation under load", () => {
  it("keeps every caller's identity and data apart, refuses every invalid token, and stays healthy", async () => {
    const issuer = app.devIssuer!;
    const personas = Object.keys(PERSONAS) as PersonaName[];
    const invalid = [
      issuer.mint({ ...PERSONAS.alice, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 }),
      issuer.mint({ ...PERSONAS.bob, clientId: "stranger" }),
      `${issuer.mint(PERSONAS.sam).slice(0, -4)}AAAA`,
      "garbled.token.value",
    ];
    const callers: Caller[] = Array.from({ length: CLIENTS }, (_, i): Caller => {
      if (i % 10 === 8) return { kind: "invalid", token: invalid[i % invalid.length]! };
      if (i % 10 === 9) return { kind: "anonymous" };
      const name = personas[i % personas.length]!;
      return { kind: "persona", name, token: issuer.mint(PERSONAS[name]) };
    });

    const deadline = Date.now() + SECONDS * 1000;
    let sent = 0;
    const failures: string[] = [];
    const query = "{ me { sub } myOrders(first: 50) { edges { node { id customerId customerEmail } } } }";
    await Promise.all(
      callers.map(async (caller) => {
        while (Date.now() < deadline && sent < MAX_REQUESTS) {
          sent++;
          const headers: Record<string, string> = caller.kind === "anonymous" ? {} : { authorization: `Bearer ${caller.token}` };
          const response = await app.graphql(query, { headers });
          const problem = check(caller, response.status, response.body);
          if (problem) failures.push(problem);
        }
      }),
    );

    expect(failures.slice(0, 5)).toEqual([]);
    expect(sent).toBeGreaterThan(CLIENTS);
    expect((await app.fetch("/healthz")).status).toBe(200);
    expect((await app.fetch("/readyz")).status).toBe(200);
    const after = await app.graphql("{ me { username } }", { headers: { authorization: `Bearer ${issuer.mint(PERSONAS.ada)}` } });
    expect(after.body).toEqual({ data: { me: { username: "ada" } } });
  });
});

/** What is wrong with one answer, or undefined. */
function check(caller: Caller, status: number, body: any): string | undefined {
  if (caller.kind === "invalid") return status === 401 ? undefined : `invalid token answered ${status}`;
  if (caller.kind === "anonymous") {
    // myOrders needs a verified caller; its error nulls the whole (non-null) answer.
    return status === 200 && body.data === null && body.errors?.[0]?.extensions?.code === "UNAUTHENTICATED"
      ? undefined
      : `anonymous answered ${status} ${JSON.stringify(body).slice(0, 120)}`;
  }
  const sub = PERSONAS[caller.name].sub;
  if (status !== 200 || body.errors) return `${caller.name} answered ${status} ${JSON.stringify(body.errors)}`;
  if (body.data.me.sub !== sub) return `${caller.name} was answered as ${body.data.me.sub}`;
  const foreign = body.data.myOrders.edges.find((e: { node: { customerId: string } }) => e.node.customerId !== sub);
  return foreign ? `${caller.name} saw order ${foreign.node.id} of ${foreign.node.customerId}` : undefined;
}
