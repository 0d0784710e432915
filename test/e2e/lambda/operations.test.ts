import { randomUUID } from "node:crypto";
import type { ALBEvent, APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import albFixture from "../../fixtures/alb-event.json" with { type: "json" };
import httpApiFixture from "../../fixtures/http-api-v2-event.json" with { type: "json" };
import { tableChecksum } from "../../helpers/checksum.js";
import { BACKENDS, createTestDatabase, type ScratchDatabase } from "../../helpers/database.js";
import { tempDir } from "../../helpers/temp.js";
import { stashEnv } from "../../helpers/env.js";

/**
 * The Lambda handlers keep the HTTP server's promises about operations, with API Gateway and ALB event
 * fixtures, in dev mode (seeded personas) on PGlite and (with TEST_DATABASE_URL) PostgreSQL: one transaction per
 * mutation operation, whole refusals with their status and challenge, and orders of others answered as absent.
 */

const context = { awsRequestId: "test", functionName: "graphql" } as Context;
const ENV = ["DATA_DIR", "DATABASE_URL", "LOG_LEVEL", "COGNITO_USER_POOL_ID", "NODE_ENV"] as const;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: any;
}

describe.each(BACKENDS)("the Lambda handlers on $name", ({ postgresUrl, skip }) => {
  let lambda: typeof import("../../../src/lambda.js");
  let deps: Awaited<ReturnType<typeof lambda.lambdaInstance>>;
  let scratch: ScratchDatabase | undefined;
  let restoreEnv: (() => void) | undefined;

  beforeAll(async () => {
    if (skip) return;
    restoreEnv = stashEnv(ENV);
    scratch = postgresUrl ? await createTestDatabase(postgresUrl) : undefined;
    for (const name of ["COGNITO_USER_POOL_ID", "NODE_ENV", "DATABASE_URL"] as const) delete process.env[name];
    Object.assign(process.env, { DATA_DIR: tempDir("lambda-ops-"), LOG_LEVEL: "silent" });
    if (scratch) process.env.DATABASE_URL = scratch.url;
    // The handler reads its configuration once per cold start: a fresh module is a fresh cold start.
    vi.resetModules();
    lambda = await import("../../../src/lambda.js");
    deps = await lambda.lambdaInstance();
  }, 90_000);

  afterAll(async () => {
    await deps?.database.close();
    await scratch?.drop();
    restoreEnv?.();
  });

  const tokenOf = (persona: PersonaName) => deps.devIssuer!.mint(PERSONAS[persona]);

  const transports: [string, (persona: PersonaName, query: string, variables?: Record<string, unknown>) => Promise<Answer>][] = [
    [
      "API Gateway HTTP API",
      async (persona, query, variables) => {
        const body = JSON.stringify({ query, variables });
        const event = structuredClone(httpApiFixture) as unknown as APIGatewayProxyEventV2;
        const headers = {
          ...event.headers,
          "content-length": String(Buffer.byteLength(body)),
          authorization: `Bearer ${tokenOf(persona)}`,
        };
        const result = await lambda.handler({ ...event, body, headers }, context);
        return { status: result.statusCode ?? 200, headers: result.headers ?? {}, body: JSON.parse(result.body!) };
      },
    ],
    [
      "Application Load Balancer",
      async (persona, query, variables) => {
        const event = structuredClone(albFixture) as unknown as ALBEvent;
        const headers = { ...event.headers, Authorization: `Bearer ${tokenOf(persona)}` };
        const result = await lambda.albHandler({ ...event, body: JSON.stringify({ query, variables }), headers }, context);
        return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body!) };
      },
    ],
  ];

  describe.skipIf(skip).each(transports)("%s", (_transport, send) => {
    /** A PENDING order of alice's, for one USB cable. */
    const newOrder = async (): Promise<string> => {
      const answer = await send(
        "alice",
        `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
      );
      expect(answer.body.errors).toBeUndefined();
      return answer.body.data.placeOrder.id;
    };
    const statusOf = async (id: string) =>
      (await deps.db.selectFrom("orders").select("status").where("id", "=", id).executeTakeFirstOrThrow()).status;
    async function unchanged(persona: PersonaName, query: string): Promise<Answer> {
      const before = await tableChecksum(deps.db);
      const answer = await send(persona, query);
      expect(await tableChecksum(deps.db), JSON.stringify(answer.body)).toBe(before);
      expect(answer.body.data).toBeNull();
      return answer;
    }

    it("commits every field of a mutation together", async () => {
      const order = await newOrder();
      const answer = await send(
        "stella",
        `mutation { a: updateOrderStatus(id: "${order}", status: PAID) { status } b: updateOrderStatus(id: "${order}", status: SHIPPED) { status } }`,
      );
      expect(answer.body).toEqual({ data: { a: { status: "PAID" }, b: { status: "SHIPPED" } } });
      expect(await statusOf(order)).toBe("SHIPPED");
    });

    it("refuses a mutation whole when a later field is refused, writing nothing (403, insufficient_scope)", async () => {
      const order = await newOrder();
      const answer = await unchanged(
        "stella",
        `mutation { a: updateOrderStatus(id: "${order}", status: PAID) { id } b: cancelOrder(id: "ord-bob-1") { id } }`,
      );
      expect(answer.status).toBe(403);
      expect(answer.headers["www-authenticate"]).toBe('Bearer error="insufficient_scope"');
      expect(answer.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "FORBIDDEN" }) })]);
      expect(await statusOf(order)).toBe("PENDING");
    });

    it("refuses a mutation whole for an owner-only field in its result, writing nothing", async () => {
      const order = await newOrder();
      const answer = await unchanged("stella", `mutation { updateOrderStatus(id: "${order}", status: PAID) { id customerEmail } }`);
      expect(answer.status).toBe(403);
      expect(await statusOf(order)).toBe("PENDING");
    });

    it("rolls back every field when the second fails with BAD_USER_INPUT", async () => {
      const answer = await unchanged(
        "alice",
        `mutation {
        a: placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-mouse", quantity: 2 }] }) { id }
        b: cancelOrder(id: "ord-bob-1") { id }
      }`,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toEqual([
        expect.objectContaining({
          message: 'No order has the id "ord-bob-1"',
          extensions: { code: "BAD_USER_INPUT", field: "id", rolledBack: true },
        }),
      ]);
    });

    it("answers another customer's order as no order at all", async () => {
      const unknown = `ord-${randomUUID()}`;
      const query = (id: string) => `{ order(id: "${id}") { id status } }`;
      const theirs = await send("bob", query("ord-alice-1"));
      const none = await send("bob", query(unknown));
      expect(theirs).toEqual(none);
      expect(theirs.body).toEqual({ data: { order: null } });
    });
  });
});
