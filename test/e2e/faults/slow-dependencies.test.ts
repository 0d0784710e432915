import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COGNITO_USER_ADMIN_SCOPE } from "../../../src/auth/index.js";
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { startFakeCognito, type FakeCognito } from "../../helpers/fake-cognito.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";
import {
  CATALOG,
  catalogueWhile,
  checksums,
  expectServiceUnavailable,
  gql,
  metricValue,
  orderOf,
  p90,
  PLACE_ORDER,
  probe,
  waitForLog,
  waitUntil,
  watchIdleInTransaction,
} from "../../helpers/faults.js";

/**
 * Dependencies that answer slowly, or not at all, under the real server process (production posture, PostgreSQL):
 * a Cognito the test controls (a fake endpoint, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER) that is slow, hangs or
 * fails; a row lock held past statement_timeout; a pool exhausted past its wait bound; a burst past the shedding
 * bound. Figures are printed for docs/faults.md; the bounds asserted are the issue's, far above what is measured.
 */

/** The bound on a catalogue query while Cognito is slow (measured: tens of ms). */
const CATALOG_BOUND_MS = 300;
/** The bound on an idle transaction while Cognito is slow (measured: none is ever seen). */
const IDLE_IN_TRANSACTION_BOUND_MS = 500;
/** COGNITO_TIMEOUT_MS's default, the documented bound on a Cognito call. */
const COGNITO_TIMEOUT_MS = 3000;

describe.skipIf(!TEST_DATABASE_URL)("slow dependencies against the server process (PostgreSQL)", () => {
  let scratch: ScratchDatabase;
  let jwks: JwksServer;
  let cognito: FakeCognito;
  let key: TestKey;
  let admin: pg.Client;
  let monitor: pg.Client;
  const servers: ServerProcess[] = [];
  const databaseName = () => new URL(scratch.url).pathname.slice(1);
  /** A customer's access token; `lookup`: with the scope that lets the server ask Cognito's GetUser for the email. */
  const customer = (sub: string, lookup = true) =>
    signToken(
      key,
      accessClaims({ sub, username: sub, "cognito:groups": [], scope: lookup ? `openid ${COGNITO_USER_ADMIN_SCOPE}` : "openid" }),
    );

  /** The server in production posture on the scratch database, metrics on a listener of their own. */
  async function startServer(extra: Record<string, string> = {}): Promise<{ server: ServerProcess; url: string; metricsUrl: string }> {
    const server = startServerProcess({
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      METRICS_PORT: "0",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
      DATABASE_URL: scratch.url,
      // The AWS SDK's standard settings, as an operator points it at another endpoint.
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: cognito.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      ...extra,
    });
    servers.push(server);
    const url = await server.url();
    const metrics = await server.waitFor(/"metricsUrl":"([^"]+)"/);
    for (const [id, sku, price] of [
      ["prd-a", "A-1", 1000],
      ["prd-b", "B-1", 2000],
      ["prd-c", "C-1", 3000],
    ] as const) {
      await admin.query(
        "insert into products (id, sku, name, price_cents, cost_price_cents, stock) values ($1, $2, $1, $3, 0, 100000) on conflict do nothing",
        [id, sku, price],
      );
    }
    return { server, url, metricsUrl: metrics![1]! };
  }

  /** Backends of the scratch database waiting on a lock. */
  async function waitingOnLock(): Promise<number> {
    const { rows } = await monitor.query(
      "select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'",
      [databaseName()],
    );
    return rows[0].n;
  }

  let url: string;

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    cognito = await startFakeCognito();
    // The schema is made by the first server; these connect to the database that exists already.
    admin = new pg.Client({ connectionString: scratch.url });
    monitor = new pg.Client({ connectionString: scratch.url });
    await Promise.all([admin.connect(), monitor.connect()]);
  });

  afterAll(async () => {
    for (const server of servers) server.kill();
    await Promise.all(servers.map((s) => s.exited));
    await admin?.end().catch(() => undefined);
    await monitor?.end().catch(() => undefined);
    await cognito?.close();
    await jwks?.close();
    await scratch?.drop();
  });

  describe("Cognito slow, hanging, failing (default bounds)", () => {
    let server: ServerProcess;
    let metricsUrl: string;
    beforeAll(async () => {
      ({ server, url, metricsUrl } = await startServer({ REVOCATION_COGNITO_SIGN_OUT: "true" }));
      // Warm: the AWS SDK is loaded on the first lookup.
      cognito.setBehaviour({ mode: "answer" });
      expect(
        (await gql(url, PLACE_ORDER, { token: customer("warm-up"), variables: orderOf("prd-a", "warm-up") })).body.errors,
      ).toBeUndefined();
    }, 180_000);
    afterAll(() => server?.kill());

    it("15 placeOrders wait for a Cognito taking 2 s without holding a connection: the catalogue is answered meanwhile, no transaction idles, every order is placed with its email", async () => {
      // Cognito holds every GetUser until the test releases them, 2 s after the last arrived.
      cognito.setBehaviour({ mode: "hold" });
      const watch = watchIdleInTransaction(monitor, databaseName());
      const answeredBefore = cognito.answered();
      const subs = Array.from({ length: 15 }, (_, i) => `slow-${i}`);
      const placing = Promise.all(subs.map((sub) => gql(url, PLACE_ORDER, { token: customer(sub), variables: orderOf("prd-a", sub) })));
      await cognito.whenPending(15);
      const heldAt = performance.now();
      const catalogue = await catalogueWhile(url, () => performance.now() - heldAt < 1500);
      // The event: every catalogue query was answered while Cognito had answered none of the 15 lookups.
      const answeredMeanwhile = cognito.answered() - answeredBefore;
      const pendingMeanwhile = cognito.pending();
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (performance.now() - heldAt))));
      cognito.release();
      const orders = await placing;
      const idleMs = await watch.stop();
      const times = catalogue.map((a) => a.ms);
      console.log(
        `Cognito 2 s, 15 placeOrders: catalogue ${catalogue.length} answers meanwhile, p90 ${p90(times)} ms, slowest ${Math.max(...times)} ms; longest idle in transaction ${idleMs} ms`,
      );
      expect([answeredMeanwhile, pendingMeanwhile]).toEqual([0, 15]);
      expect(catalogue.length).toBeGreaterThan(0);
      for (const answer of catalogue) expect(answer.status).toBe(200);
      expect(p90(times)).toBeLessThan(CATALOG_BOUND_MS);
      expect(idleMs).toBeLessThan(IDLE_IN_TRANSACTION_BOUND_MS);
      for (const order of orders) expect(order.body.errors).toBeUndefined();
      const { rows } = await admin.query("select sub, email from customers where sub = any($1) order by sub", [subs]);
      expect(rows).toEqual([...subs].sort().map((sub) => ({ sub, email: `${sub}@example.com` })));
    });

    it("signs out in Cognito before the revocation's transaction: a Cognito taking 2 s holds no connection, and a failing one still revokes", async () => {
      cognito.setBehaviour({ mode: "hold" });
      const watch = watchIdleInTransaction(monitor, databaseName());
      const before = cognito.received("AdminUserGlobalSignOut");
      const answeredBefore = cognito.answered();
      const subs = Array.from({ length: 12 }, (_, i) => `leaver-${i}`);
      const revoking = Promise.all(
        subs.map((sub) => gql(url, "mutation { signOutEverywhere { cognitoSignedOut } }", { token: customer(sub) })),
      );
      await cognito.whenPending(12);
      const heldAt = performance.now();
      const catalogue = await catalogueWhile(url, () => performance.now() - heldAt < 1500);
      // The event: every catalogue query was answered while Cognito had answered none of the 12 sign-outs.
      const meanwhile = [cognito.answered() - answeredBefore, cognito.pending()];
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (performance.now() - heldAt))));
      cognito.release();
      const answers = await revoking;
      const idleMs = await watch.stop();
      const times = catalogue.map((a) => a.ms);
      console.log(
        `Cognito sign-out 2 s, 12 signOutEverywhere: catalogue ${catalogue.length} answers meanwhile, p90 ${p90(times)} ms, slowest ${Math.max(...times)} ms; longest idle in transaction ${idleMs} ms`,
      );
      expect(meanwhile).toEqual([0, 12]);
      for (const answer of catalogue) expect(answer.status).toBe(200);
      expect(p90(times)).toBeLessThan(CATALOG_BOUND_MS);
      expect(idleMs).toBeLessThan(IDLE_IN_TRANSACTION_BOUND_MS);
      for (const answer of answers) expect(answer.body).toEqual({ data: { signOutEverywhere: { cognitoSignedOut: true } } });
      expect(cognito.received("AdminUserGlobalSignOut") - before).toBe(12);

      cognito.setBehaviour({ mode: "fail" });
      const failed = await gql(url, "mutation { signOutEverywhere { cognitoSignedOut } }", { token: customer("leaver-failing") });
      expect(failed.body).toEqual({ data: { signOutEverywhere: { cognitoSignedOut: false } } });
      expect(await waitForLog(server, (l) => l.event === "revocation.cognito_failed" && l.sub === "leaver-failing")).toMatchObject({
        level: 40,
      });
    });

    it("places the order without the email when Cognito fails", async () => {
      cognito.setBehaviour({ mode: "fail" });
      const answer = await gql(url, PLACE_ORDER, { token: customer("failing-1"), variables: orderOf("prd-a", "failing-1") });
      expect(answer.body.errors).toBeUndefined();
      const { rows } = await admin.query("select email from customers where sub = 'failing-1'");
      expect(rows).toEqual([{ email: null }]);
      expect(await waitForLog(server, (l) => l.event === "email.lookup_failed" && l.sub === "failing-1")).toMatchObject({ level: 40 });
    });

    it("answers placeOrder within COGNITO_TIMEOUT_MS plus a second when Cognito hangs, then stops calling it (circuit open), and nothing else slows", async () => {
      cognito.setBehaviour({ mode: "hang" });
      const subs = Array.from({ length: 5 }, (_, i) => `hang-${i}`);
      let settled = false;
      const placing = Promise.all(
        subs.map(async (sub) => {
          const started = performance.now();
          const answer = await gql(url, PLACE_ORDER, { token: customer(sub), variables: orderOf("prd-b", sub) });
          return { answer, ms: Math.round(performance.now() - started) };
        }),
      ).finally(() => (settled = true));
      await cognito.whenPending(5);
      const hangingAt = performance.now();
      const catalogue = await catalogueWhile(url, () => !settled && performance.now() - hangingAt < 2000);
      const orders = await placing;
      const times = catalogue.map((a) => a.ms);
      console.log(
        `Cognito hanging: placeOrder answered in ${orders.map((o) => o.ms).join(", ")} ms; catalogue meanwhile p90 ${p90(times)} ms, slowest ${Math.max(...times)} ms`,
      );
      for (const { answer, ms } of orders) {
        expect(answer.body.errors).toBeUndefined();
        expect(ms).toBeLessThan(COGNITO_TIMEOUT_MS + 1000);
      }
      for (const answer of catalogue) expect(answer.status).toBe(200);
      expect(p90(times)).toBeLessThan(CATALOG_BOUND_MS);
      const { rows } = await admin.query("select email from customers where sub = any($1)", [subs]);
      expect(rows.map((r: { email: string | null }) => r.email)).toEqual(subs.map(() => null));

      // Five failures in a row (the default COGNITO_BREAKER_FAILURES) opened the circuit: Cognito is not called.
      expect(await waitForLog(server, (l) => l.event === "cognito.circuit" && l.state === "open")).toMatchObject({
        level: 40,
        calls: "GetUser",
      });
      const calls = cognito.received("GetUser");
      const started = performance.now();
      const shortCircuited = await gql(url, PLACE_ORDER, { token: customer("hang-after"), variables: orderOf("prd-b", "hang-after") });
      console.log(`circuit open: placeOrder answered in ${Math.round(performance.now() - started)} ms`);
      expect(shortCircuited.body.errors).toBeUndefined();
      expect(cognito.received("GetUser")).toBe(calls);
      expect(await waitForLog(server, (l) => l.event === "bound.exceeded" && l.bound === "cognito_call")).toMatchObject({
        level: 40,
        operation: "GetUser",
      });
      expect(await metricValue(metricsUrl, 'dependency_calls_total{dependency="cognito",operation="GetUser",outcome="timeout"}')).toBe(5);
      expect(
        await metricValue(metricsUrl, 'dependency_calls_total{dependency="cognito",operation="GetUser",outcome="short_circuited"}'),
      ).toBe(1);
      expect(await metricValue(metricsUrl, 'bounded_waits_exceeded_total{bound="cognito_call"}')).toBe(5);
    });
  });

  describe("a statement blocked on a lock past statement_timeout", () => {
    let server: ServerProcess;
    beforeAll(async () => {
      ({ server, url } = await startServer({ DATABASE_STATEMENT_TIMEOUT_MS: "500" }));
    }, 180_000);
    afterAll(() => server?.kill());

    it("answers 503 with Retry-After, writes nothing, and says which bound in a warn line", async () => {
      const before = await checksums(admin);
      await admin.query("begin");
      let answer;
      const started = performance.now();
      try {
        await admin.query("select * from products where id = 'prd-c' for update");
        answer = await gql(url, PLACE_ORDER, { token: customer("locked-out", false), variables: orderOf("prd-c", "locked-out") });
      } finally {
        await admin.query("rollback");
      }
      console.log(`statement_timeout 500 ms: answered ${answer.status} in ${Math.round(performance.now() - started)} ms`);
      expectServiceUnavailable(answer, expect);
      expect(await checksums(admin)).toEqual(before);
      expect(await waitForLog(server, (l) => l.event === "bound.exceeded" && l.bound === "statement_timeout")).toMatchObject({
        level: 40,
        operation: "PlaceOrder",
      });
    });
  });

  describe("a pool exhausted past its wait bound", () => {
    let server: ServerProcess;
    let metricsUrl: string;
    beforeAll(async () => {
      ({ server, url, metricsUrl } = await startServer({
        DATABASE_POOL_SIZE: "2",
        DATABASE_POOL_TIMEOUT_MS: "1000",
        SHED_MAX_POOL_WAITING: "0",
      }));
    }, 180_000);
    afterAll(() => server?.kill());

    it("answers a request waiting for a connection 503 at the bound, sheds the next one at once, and serves again when connections return", async () => {
      await admin.query("begin");
      let held: Promise<unknown>;
      try {
        await admin.query("select * from products where id = 'prd-b' for update");
        // Both pooled connections are taken by orders waiting on the locked row.
        held = Promise.all(
          ["pool-1", "pool-2"].map((sub) => gql(url, PLACE_ORDER, { token: customer(sub, false), variables: orderOf("prd-b", sub) })),
        );
        await waitUntil("two orders wait on the locked row", async () => (await waitingOnLock()) === 2, 30_000, 50);
        const started = performance.now();
        const waiting = gql(url, CATALOG).then((answer) => ({ answer, ms: Math.round(performance.now() - started) }));
        await waitUntil(
          "a request waits for a pooled connection",
          async () => (await metricValue(metricsUrl, 'db_pool_connections{state="waiting"}')) >= 1,
          10_000,
          20,
        );
        const shedStarted = performance.now();
        const shed = await gql(url, CATALOG);
        const shedMs = Math.round(performance.now() - shedStarted);
        const timedOut = await waiting;
        console.log(
          `pool of 2 exhausted: waiting request answered ${timedOut.answer.status} after ${timedOut.ms} ms (bound 1000 ms); next one shed ${shed.status} in ${shedMs} ms`,
        );
        expectServiceUnavailable(timedOut.answer, expect);
        expect(timedOut.ms).toBeLessThan(1000 + 2000);
        expectServiceUnavailable(shed, expect);
        expect(await waitForLog(server, (l) => l.event === "bound.exceeded" && l.bound === "pool_timeout")).toMatchObject({ level: 40 });
        expect(await metricValue(metricsUrl, 'http_requests_shed_total{reason="pool_waiting"}')).toBe(1);
      } finally {
        await admin.query("rollback");
      }
      for (const answer of (await held) as { body: { errors?: unknown } }[]) expect(answer.body.errors).toBeUndefined();
      expect((await gql(url, CATALOG)).status).toBe(200);
    });
  });

  describe("saturation beyond SHED_MAX_IN_FLIGHT", () => {
    let server: ServerProcess;
    let metricsUrl: string;
    beforeAll(async () => {
      ({ server, url, metricsUrl } = await startServer({ SHED_MAX_IN_FLIGHT: "4", COGNITO_TIMEOUT_MS: "10000" }));
    }, 180_000);
    afterAll(() => server?.kill());

    it("sheds a burst with 503 and Retry-After at once while health and metrics answer, and completes the accepted requests", async () => {
      cognito.setBehaviour({ mode: "answer", delayMs: 3000 });
      // Four orders in progress (waiting for Cognito, no connection held) fill the replica.
      const accepted = Promise.all(
        ["busy-1", "busy-2", "busy-3", "busy-4"].map((sub) =>
          gql(url, PLACE_ORDER, { token: customer(sub), variables: orderOf("prd-c", sub) }),
        ),
      );
      await cognito.whenPending(4);
      const started = performance.now();
      const burst = await Promise.all(Array.from({ length: 10 }, () => gql(url, CATALOG)));
      const burstMs = Math.round(performance.now() - started);
      const health = await probe(url, "/healthz");
      const ready = await probe(url, "/readyz");
      const metrics = await fetch(metricsUrl);
      console.log(`saturated (4 in flight): burst of 10 answered ${burst.map((a) => a.status).join(",")} in ${burstMs} ms`);
      for (const answer of burst) expectServiceUnavailable(answer, expect);
      expect(health.status).toBe(200);
      expect([ready.status, ready.body.checks.notSaturated]).toEqual([503, false]);
      expect(metrics.status).toBe(200);
      expect(await metricValue(metricsUrl, 'http_requests_shed_total{reason="in_flight"}')).toBe(10);
      for (const answer of await accepted) expect(answer.body.errors).toBeUndefined();
      expect((await gql(url, CATALOG)).status).toBe(200);
      expect((await probe(url, "/readyz")).status).toBe(200);
    });
  });
});
