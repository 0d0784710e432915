import { execFile } from "node:child_process";
import { request } from "node:http";

import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, pgliteDirOf } from "../../../src/data/database.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";
import { tempDir } from "../../helpers/temp.js";

/**
 * The server as an operator runs it: `npm run build`, then `NODE_ENV=production node dist/main.js` in its own
 * process, with real signals and real HTTP.
 */
let key: TestKey;
let jwks: JwksServer;
let env: Record<string, string>;

beforeAll(async () => {
  await promisify(execFile)("npm", ["run", "-s", "build"], { cwd: join(import.meta.dirname, "..", "..", "..") });
  key = generateRsaKey();
  jwks = await startJwksServer(jwksOf(key));
  env = { NODE_ENV: "production", COGNITO_USER_POOL_ID: TEST_POOL_ID, COGNITO_CLIENT_ID: TEST_CLIENT_ID, COGNITO_JWKS_URI: jwks.url };
});
afterAll(() => jwks.close());

const admin = () => signToken(key, accessClaims({ sub: "admin-sub", "cognito:groups": ["admin"] }));

async function graphql(url: string, token: string, body: object, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe("the production build", () => {
  let server: ServerProcess;
  let url: string;
  let metricsUrl: string;
  beforeAll(async () => {
    server = startServerProcess({ ...env, METRICS_PORT: "0" }, { built: true });
    url = await server.url();
    metricsUrl = (await server.waitFor(/"metricsUrl":"(http[^"]+)"/))![1]!;
  });
  afterAll(() => server.kill());

  it("refuses to start without a user pool, naming the variable", async () => {
    const unconfigured = startServerProcess({ NODE_ENV: "production" }, { built: true });
    expect(await unconfigured.exited).toBe(1);
    expect(unconfigured.output()).toContain("Configuration error: COGNITO_USER_POOL_ID");
  });

  it("answers probes: alive, and ready with keys and database", async () => {
    const base = url.replace(/\/graphql$/, "");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: "ready",
      checks: { serving: true, keys: true, "keys:us-east-1_TestPool1": true, database: true, revocations: true, notSaturated: true },
    });
  });

  it("logs one JSON line per request with its id, operation, caller and outcome, and never a token", async () => {
    const token = admin();
    const answer = await graphql(
      url,
      token,
      { operationName: "WhoAmI", query: "query WhoAmI { me { sub } }" },
      { "x-request-id": "req-42" },
    );
    expect(answer.headers.get("x-request-id")).toBe("req-42");
    const refused = signToken(key, accessClaims({ exp: Math.floor(Date.now() / 1000) - 600 }));
    expect((await graphql(url, refused, { query: "{ me { sub } }" })).status).toBe(401);
    const customer = signToken(key, accessClaims({ sub: "customer-sub", jti: "jti-77", "cognito:groups": [], scope: "openid" }));
    const denied = await graphql(url, customer, {
      operationName: "AllOrders",
      query: "query AllOrders { orders { edges { node { id } } } }",
    });
    expect(denied.body.errors[0].extensions.code).toBe("FORBIDDEN");
    await server.waitFor(/"reason":"TOKEN_EXPIRED"/);
    await server.waitFor(/"event":"auth.denied"/);
    const lines = server
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "request", requestId: "req-42", operation: "WhoAmI", sub: "admin-sub", kind: "USER", status: 200 }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ event: "auth.refused", reason: "TOKEN_EXPIRED" }));
    const denials = lines.filter((l) => l.event === "auth.denied");
    expect(denials).toEqual([
      expect.objectContaining({
        operation: "AllOrders",
        sub: "customer-sub",
        jti: "jti-77",
        reasons: ["INSUFFICIENT_PERMISSION"],
        paths: ["orders"],
      }),
    ]);
    for (const secret of [token, refused, customer]) for (const part of secret.split(".")) expect(server.output()).not.toContain(part);
  });

  it("serves Prometheus metrics on METRICS_PORT only: requests, authentication outcomes and key-set fetches", async () => {
    await graphql(url, admin(), { operationName: "Products", query: "query Products { products { edges { node { id } } } }" });
    const onApiPort = await fetch(url.replace(/\/graphql$/, "/metrics"));
    expect(onApiPort.status).toBe(404);
    expect((await onApiPort.json()).errors[0].message).toContain("set METRICS_PORT");
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(metricsUrl).not.toContain(new URL(url).port);
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/graphql_requests_total\{operation="Products",status="200"\} [1-9]/);
    expect(text).toMatch(/graphql_request_duration_seconds_count\{operation="Products"\} [1-9]/);
    expect(text).toMatch(/auth_outcomes_total\{reason="VERIFIED"\} [1-9]/);
    expect(text).toMatch(/jwks_fetches_total\{result="ok"\} [1-9]/);
    expect(text).toMatch(/process_cpu_seconds_total/);
  });
});

describe("graceful shutdown", () => {
  it("finishes a mutation in flight on SIGTERM, then exits 0 with the write kept", async () => {
    const dataDir = tempDir("shutdown-");
    const server = startServerProcess({ ...env, DATA_DIR: dataDir, LOG_LEVEL: "info" }, { built: true });
    try {
      const url = new URL(await server.url());
      const body = JSON.stringify({
        query:
          'mutation { createProduct(input: { sku: "DRAIN-1", name: "In flight", priceCents: 1, costPriceCents: 1, stock: 1 }) { sku } }',
      });
      let refusedWhileDraining: boolean | undefined;
      // The request is in flight: headers sent, body still coming when the signal arrives.
      const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(url, {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${admin()}` },
        });
        req.on("response", (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.write(body.slice(0, 10));
        const drainWhileInFlight = async () => {
          server.child.kill("SIGTERM");
          await server.waitFor(/shutting down/);
          // Draining: new connections are no longer accepted, the request in flight goes on.
          refusedWhileDraining = await fetch(url, { method: "POST" }).then(
            () => false,
            () => true,
          );
          req.end(body.slice(10));
        };
        setTimeout(() => void drainWhileInFlight().catch(reject), 200);
      });
      const { status, text } = await answer;
      expect(refusedWhileDraining).toBe(true);
      expect(status, text).toBe(200);
      expect(JSON.parse(text)).toEqual({ data: { createProduct: { sku: "DRAIN-1" } } });
      expect(await server.exited).toBe(0);
      const database = await openDatabase({ url: null, pgliteDir: pgliteDirOf(dataDir) });
      const row = await database.db.selectFrom("products").select("sku").where("sku", "=", "DRAIN-1").executeTakeFirst();
      await database.close();
      expect(row).toEqual({ sku: "DRAIN-1" });
    } finally {
      server.kill();
    }
  });
});
