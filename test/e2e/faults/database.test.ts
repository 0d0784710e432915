import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.js";
import {
  alive,
  checksums,
  expectServiceUnavailable,
  gql,
  logLines,
  waitForLog,
  orderOf,
  PLACE_ORDER,
  probe,
  waitUntil,
} from "../../helpers/faults.js";

/**
 * The database going away under the real server process (production posture, PostgreSQL through a TCP proxy the
 * test can cut): backends terminated while idle and in the middle of a transaction, PostgreSQL unreachable and
 * back, an unexpected SQL error, and SIGTERM while transactions wait on locked rows. Only the scratch database
 * of this file has its backends terminated.
 */

/** What docs/operations.md promises for recovery once PostgreSQL is reachable again (measured: well under 2 s). */
const RECOVERY_BOUND_MS = 10_000;
const CATALOG = "query Catalog { products(first: 5) { edges { node { id name stock } } } }";

const PRODUCTS = [
  ["prd-a", "A-1", "Cable A", 1000, 500],
  ["prd-b", "B-1", "Cable B", 2000, 500],
  ["prd-c", "C-1", "Cable C", 3000, 500],
] as const;

describe.skipIf(!TEST_DATABASE_URL)("database faults against the server process (PostgreSQL)", () => {
  let scratch: ScratchDatabase;
  let proxy: TcpProxy;
  let jwks: JwksServer;
  let key: TestKey;
  let admin: pg.Client;
  // pg_stat_activity is read over a connection of its own: inside admin's transaction it would be a snapshot.
  let monitor: pg.Client;
  const servers: ServerProcess[] = [];
  const token = (groups: string[] = []) =>
    signToken(key, accessClaims({ sub: `customer-${groups.join("-") || "plain"}`, "cognito:groups": groups }));

  /** The server in production posture on the scratch database, through the proxy unless `direct`. */
  async function startServer(extra: Record<string, string> = {}, direct = false): Promise<{ server: ServerProcess; url: string }> {
    const dbUrl = new URL(scratch.url);
    if (!direct) dbUrl.port = String(proxy.port);
    const server = startServerProcess({
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
      DATABASE_URL: dbUrl.toString(),
      // Names its connections (pg reads PGAPPNAME), so a test can tell this server's backends from another's.
      PGAPPNAME: `server-${servers.length + 1}`,
      ...extra,
    });
    servers.push(server);
    return { server, url: await server.url() };
  }

  /** Backends of the scratch database other than the test's own connection, optionally only those waiting on a lock. */
  async function serverBackends(waitingOnLock = false): Promise<number[]> {
    const { rows } = await monitor.query(
      `select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and pid <> ${(admin as unknown as { processID: number }).processID} ${waitingOnLock ? "and wait_event_type = 'Lock'" : ""}`,
      [new URL(scratch.url).pathname.slice(1)],
    );
    return rows.map((r: { pid: number }) => r.pid);
  }

  /**
   * The backends of one server process (its pool and its LISTEN connection for subscriptions), by the application
   * name it connects with: other servers of this file still run, and each keeps a LISTEN connection open.
   */
  async function backendsOf(server: ServerProcess): Promise<number[]> {
    const { rows } = await monitor.query("select pid from pg_stat_activity where datname = $1 and application_name = $2", [
      new URL(scratch.url).pathname.slice(1),
      `server-${servers.indexOf(server) + 1}`,
    ]);
    return rows.map((r: { pid: number }) => r.pid);
  }

  /** The schema exists once a server has started (migrated at start); the shop gets products to order. */
  async function seedProducts(): Promise<void> {
    for (const [id, sku, name, price, stock] of PRODUCTS) {
      await admin.query(
        "insert into products (id, sku, name, price_cents, cost_price_cents, stock) values ($1, $2, $3, $4, 0, $5) on conflict do nothing",
        [id, sku, name, price, stock],
      );
    }
  }

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    const pgUrl = new URL(TEST_DATABASE_URL!);
    proxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    admin = new pg.Client({ connectionString: scratch.url });
    admin.on("error", () => undefined);
    await admin.connect();
    monitor = new pg.Client({ connectionString: scratch.url });
    monitor.on("error", () => undefined);
    await monitor.connect();
  });

  afterAll(async () => {
    for (const server of servers) server.kill();
    await Promise.all(servers.map((s) => s.exited));
    await admin?.end().catch(() => undefined);
    await monitor?.end().catch(() => undefined);
    await proxy?.close();
    await jwks?.close();
    await scratch?.drop();
  });

  describe("one server through a proxy", () => {
    let server: ServerProcess;
    let url: string;

    beforeAll(async () => {
      ({ server, url } = await startServer());
      await seedProducts();
    });
    // Stopped before the SIGTERM tests below count the backends left: its notifications connection never idles out.
    afterAll(async () => {
      server?.kill();
      await server?.exited;
    });

    it("keeps serving when PostgreSQL terminates its idle connections", async () => {
      expect((await gql(url, CATALOG)).status).toBe(200);
      const killed = await serverBackends();
      expect(killed.length).toBeGreaterThan(0);
      await admin.query("select pg_terminate_backend(pid) from unnest($1::int[]) as pid", [killed]);

      const first = await gql(url, CATALOG);
      // An idle connection that died is dropped when PostgreSQL says so; the next request gets a new one.
      if (first.status !== 200) expectServiceUnavailable(first, expect);
      const recoveredMs = await waitUntil(
        "catalog answered again",
        async () => (await gql(url, CATALOG)).status === 200,
        RECOVERY_BOUND_MS,
      );
      console.log(`idle backends terminated: first answer ${first.status}, served again after ${recoveredMs} ms`);
      expect(alive(server)).toBe(true);
      expect(await waitForLog(server, (l) => l.event === "db.connection_lost")).toMatchObject({ level: 40 });
    });

    it("answers 503 and writes nothing when the backend of a transaction is terminated mid-way", async () => {
      const before = await checksums(admin);
      await admin.query("begin");
      await admin.query("select * from products where id = 'prd-a' for update");
      const placing = gql(url, PLACE_ORDER, { token: token(), variables: orderOf("prd-a", "mid-tx-1") });
      try {
        // The order's transaction has inserted its rows and now waits for the locked product.
        await waitUntil("the order waits on the locked row", async () => (await serverBackends(true)).length === 1, 30_000);
        await monitor.query("select pg_terminate_backend(pid) from unnest($1::int[]) as pid", [await serverBackends(true)]);
        expectServiceUnavailable(await placing, expect);
      } finally {
        await admin.query("rollback");
      }
      expect(await checksums(admin)).toEqual(before);
      expect(alive(server)).toBe(true);
      // The pool replaced the connection: the same order now goes through.
      const retried = await gql(url, PLACE_ORDER, { token: token(), variables: orderOf("prd-a", "mid-tx-1") });
      expect(retried.body.errors).toBeUndefined();
      expect(retried.body.data.placeOrder.totalCents).toBe(1000);
    });

    it("answers 503 with Retry-After while PostgreSQL is unreachable, is not ready, and recovers without a restart", async () => {
      // A session revoked before the outage stays refused during it: the replica keeps what it knew.
      const revoked = signToken(key, accessClaims({ sub: "customer-revoked" }));
      expect((await gql(url, "mutation { signOut { sessionId } }", { token: revoked })).body.errors).toBeUndefined();
      const before = await checksums(admin);
      await proxy.cut();
      try {
        const refused = await gql(url, "{ me { sub } }", { token: revoked });
        expect([refused.status, refused.body.errors?.[0]?.extensions?.auth?.reason]).toEqual([401, "TOKEN_REVOKED"]);
        expectServiceUnavailable(await gql(url, CATALOG), expect);
        expectServiceUnavailable(await gql(url, PLACE_ORDER, { token: token(), variables: orderOf("prd-b", "outage-1") }), expect);
        const ready = await probe(url, "/readyz");
        expect(ready.status).toBe(503);
        expect(ready.body.checks).toMatchObject({ database: false, keys: true, serving: true });
        expect((await probe(url, "/healthz")).status).toBe(200);
        // A burst while it is down: every answer is the same 503, none hangs, the process lives.
        const burst = await Promise.all(Array.from({ length: 20 }, () => gql(url, CATALOG)));
        for (const answer of burst) expectServiceUnavailable(answer, expect);
        expect(alive(server)).toBe(true);
      } finally {
        await proxy.restore();
      }
      const readyMs = await waitUntil("ready again", async () => (await probe(url, "/readyz")).status === 200, RECOVERY_BOUND_MS);
      const servedMs = await waitUntil("catalog answered again", async () => (await gql(url, CATALOG)).status === 200, RECOVERY_BOUND_MS);
      console.log(`PostgreSQL back: ready after ${readyMs} ms, serving after ${readyMs + servedMs} ms`);
      // The notifications connection was lost with the rest, said so, and came back.
      expect(await waitForLog(server, (l) => l.event === "db.listen_lost")).toMatchObject({ level: 40 });
      expect(await waitForLog(server, (l) => l.event === "db.listen_restored", RECOVERY_BOUND_MS)).toMatchObject({ level: 30 });
      expect(await checksums(admin)).toEqual(before);
      const placed = await gql(url, PLACE_ORDER, { token: token(), variables: orderOf("prd-b", "outage-1") });
      expect(placed.body.errors).toBeUndefined();
    });

    it("logs an unexpected error at error level with the request id; the client sees the fixed message and that id", async () => {
      await admin.query("alter table products rename to products_gone");
      let answer;
      try {
        answer = await gql(url, CATALOG, { token: token() });
      } finally {
        await admin.query("alter table products_gone rename to products");
      }
      const requestId = answer.headers.get("x-request-id");
      expect(answer.body.errors).toEqual([
        expect.objectContaining({ message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR", requestId } }),
      ]);
      await waitForLog(server, (l) => l.requestId === requestId && l.msg === "request");
      const lines = logLines(server).filter((l) => l.requestId === requestId);
      const error = lines.find((l) => l.level === 50);
      expect(error, JSON.stringify(lines)).toMatchObject({
        operation: "Catalog",
        msg: "unexpected error",
        err: { type: "DatabaseError", code: "42P01" },
      });
      expect(error!.err.message).toContain("products");
      expect(error!.err.stack).toContain("\n");
      // The request line names the operation found in the document (the body had no operationName).
      expect(lines.find((l) => l.msg === "request")).toMatchObject({ operation: "Catalog", method: "POST", path: "/graphql" });
      expect(server.output()).not.toContain(token().split(".")[2]);
      expect(server.output().toLowerCase()).not.toContain("bearer ");
    });

    it("puts the request id on audit lines", async () => {
      const plain = signToken(key, accessClaims({ "cognito:groups": [], scope: "openid" }));
      const answer = await gql(url, "query AllOrders { orders(first: 1) { edges { node { id } } } }", { token: plain });
      // A query answers what it may: the denied root field is null with a FORBIDDEN error at its path.
      expect(answer.body.errors[0].extensions.code).toBe("FORBIDDEN");
      const requestId = answer.headers.get("x-request-id");
      expect(await waitForLog(server, (l) => l.event === "auth.denied")).toMatchObject({ requestId, operation: "AllOrders" });
    });
  });

  it("on SIGTERM with transactions blocked on locked rows: answers them 503, writes nothing, exits 0 within the bound", async () => {
    const { server, url } = await startServer({ SHUTDOWN_TIMEOUT_SECONDS: "2" }, true);
    await seedProducts();
    const before = await checksums(admin);
    await admin.query("begin");
    await admin.query("select * from products where id = 'prd-c' for update");
    let exitMs = 0;
    let answers;
    try {
      const placing = [1, 2, 3].map((n) => gql(url, PLACE_ORDER, { token: token(), variables: orderOf("prd-c", `sigterm-${n}`) }));
      await waitUntil("three orders wait on the locked row", async () => (await serverBackends(true)).length === 3, 30_000).catch(
        async (error) => {
          const { rows } = await monitor.query(
            "select pid, state, wait_event_type, wait_event, left(query, 80) as q from pg_stat_activity where datname = $1",
            [new URL(scratch.url).pathname.slice(1)],
          );
          throw new Error(`${(error as Error).message}: ${JSON.stringify(rows)}\n${server.output()}`);
        },
      );
      expect((await backendsOf(server)).length).toBeGreaterThan(0);
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      answers = await Promise.all(placing);
      expect(await server.exited).toBe(0);
      exitMs = Date.now() - signalled;
    } finally {
      await admin.query("rollback");
    }
    console.log(`SIGTERM with SHUTDOWN_TIMEOUT_SECONDS=2 and 3 blocked transactions: exited 0 after ${exitMs} ms`);
    for (const answer of answers) expectServiceUnavailable(answer, expect);
    // The bound: SHUTDOWN_TIMEOUT_SECONDS plus the fixed margin docs/deploying.md states (5 s).
    expect(exitMs).toBeLessThan(2000 + 5000);
    expect(await checksums(admin)).toEqual(before);
    await waitUntil("no backend of the stopped server is left", async () => (await backendsOf(server)).length === 0, 10_000);
  });

  it("on SIGTERM while PostgreSQL stops answering altogether (a partition), still exits 0 within the bound", async () => {
    const pgUrl = new URL(TEST_DATABASE_URL!);
    const partition = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    const dbUrl = new URL(scratch.url);
    dbUrl.port = String(partition.port);
    const { server, url } = await startServer({ SHUTDOWN_TIMEOUT_SECONDS: "1", DATABASE_URL: dbUrl.toString() }, true);
    await seedProducts();
    const before = await checksums(admin);
    await admin.query("begin");
    await admin.query("select * from products where id = 'prd-b' for update");
    let exitMs = 0;
    let answer;
    try {
      const placing = gql(url, PLACE_ORDER, { token: token(), variables: orderOf("prd-b", "partition-1") });
      await waitUntil("the order waits on the locked row", async () => (await serverBackends(true)).length === 1, 30_000);
      partition.freeze();
      expect((await backendsOf(server)).length).toBeGreaterThan(0);
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      answer = await placing;
      expect(await server.exited).toBe(0);
      exitMs = Date.now() - signalled;
    } finally {
      await admin.query("rollback");
      // The frozen connection's transaction is still open in PostgreSQL until its socket closes: close it first.
      await partition.close();
    }
    console.log(`SIGTERM with SHUTDOWN_TIMEOUT_SECONDS=1 during a partition: exited 0 after ${exitMs} ms`);
    expectServiceUnavailable(answer, expect);
    expect(exitMs).toBeLessThan(1000 + 5000);
    await waitUntil("no backend of the stopped server is left", async () => (await backendsOf(server)).length === 0, 10_000);
    expect(await checksums(admin)).toEqual(before);
  });
});
