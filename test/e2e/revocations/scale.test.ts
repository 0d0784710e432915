import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type OpenDatabase } from "../../../src/data/database.js";
import { recordRevocation } from "../../../src/data/revocations.js";
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { startPgCounter, type PgCounter } from "../../helpers/pg-counter.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";

/** Records stored before the replica starts: past the ~115,000 where the old first load overflowed the stack. */
const RECORDS = 300_000;
const RELOAD_SECONDS = 1;
/** A reload's "anything new?" lookup, as the replica sends it. */
const LATEST = /select max\("seq"\)/i;

/** Bulk-inserts `count` records shaped as signOut and signOutEverywhere write them: odd n a session, even n a subject. */
const bulkInsert = (db: OpenDatabase["db"], from: number, count: number) =>
  sql`
  insert into revocations (sub, session_id, revoked_before, expires_at, revoked_by, cognito_signed_out)
  select 'bulk-' || n, case when n % 2 = 1 then 'session-' || n end, case when n % 2 = 0 then now() end, now() + interval '31 days', 'test', false
  from generate_series(${from}::int, ${from + count - 1}::int) as n`.execute(db);

/**
 * One real server process on PostgreSQL with hundreds of thousands of revocations, notifications off (the reload is
 * its only way to learn), behind a proxy that counts the statements it sends and the rows it receives.
 */
describe.skipIf(!TEST_DATABASE_URL)(`a replica with ${RECORDS.toLocaleString("en")} revocations`, () => {
  let scratch: ScratchDatabase;
  let direct: OpenDatabase;
  let counter: PgCounter;
  let key: TestKey;
  let jwks: JwksServer;
  let replica: ServerProcess;
  let url: string;

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    direct = await openDatabase({ url: scratch.url, pgliteDir: null });
    await bulkInsert(direct.db, 1, RECORDS);
    const target = new URL(scratch.url);
    counter = await startPgCounter({ host: target.hostname, port: Number(target.port || 5432) });
    target.port = String(counter.port);
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    const started = Date.now();
    replica = startServerProcess({
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
      DATABASE_URL: target.toString(),
      REVOCATION_LISTEN: "false",
      REVOCATION_RELOAD_SECONDS: String(RELOAD_SECONDS),
    });
    url = await replica.url();
    console.log(`started with ${RECORDS} revocations in ${Date.now() - started} ms (process start included)`);
  }, 120_000);

  afterAll(async () => {
    replica?.kill();
    await replica?.exited;
    await jwks?.close();
    await counter?.close();
    await direct?.close();
    await scratch?.drop();
  });

  const tokenOf = (sub: string, session: string = randomUUID()) =>
    signToken(key, accessClaims({ sub, origin_jti: session, auth_time: Math.floor(Date.now() / 1000) - 60 }));
  const me = async (token: string) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ me { sub } }" }),
    });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
  };
  const revoked = async (token: string) => (await me(token)).body.errors?.[0]?.extensions?.auth?.reason === "TOKEN_REVOKED";
  /** Polls `condition` every 20 ms until it holds, or throws after `boundMs` (a bound, not a measurement). */
  const until = async (what: string, condition: () => boolean | Promise<boolean>, boundMs = 30_000) => {
    const deadline = Date.now() + boundMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms\n${replica.output().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const readiness = async () => {
    const response = await fetch(url.replace(/\/graphql$/, "/readyz"));
    return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, boolean> } };
  };

  it("starts, is ready, and refuses the subject and the session revoked by the last records", async () => {
    await until("ready", async () => (await readiness()).status === 200);
    expect(await revoked(tokenOf(`bulk-${RECORDS}`))).toBe(true);
    expect(await revoked(tokenOf(`bulk-${RECORDS - 1}`, `session-${RECORDS - 1}`))).toBe(true);
    expect((await me(tokenOf(`bulk-${RECORDS - 1}`))).status).toBe(200);
    expect((await me(tokenOf("never-revoked"))).status).toBe(200);
  });

  it("enforces a new record at the first reload after its commit, without notifications", async () => {
    const token = tokenOf(`late-${randomUUID()}`);
    const sub = (await me(token)).body.data.me.sub as string;
    await recordRevocation(direct.db, {
      sub,
      revokedBefore: new Date(),
      expiresAt: new Date(Date.now() + 3_600_000),
      revokedBy: "test",
      cognitoSignedOut: false,
    });
    // Every lookup the proxy passes on from now runs after the commit: the first reload started after it sees it.
    const lookupsBefore = counter.statements(LATEST);
    await until("the new record refused", () => revoked(token));
    expect(counter.statements(LATEST) - lookupsBefore).toBeLessThanOrEqual(2);
  });

  it("reads O(k) rows per reload after k new records, not the table", async () => {
    const readAfter = async (k: number, from: number) => {
      const rowsBefore = counter.rows();
      if (k > 0) await bulkInsert(direct.db, from, k);
      const lookupsBefore = counter.statements(LATEST);
      // Two lookups after the commit: the first reload after it has read the new records and finished (reloads do
      // not overlap), and the second found nothing more.
      await until("two reloads after the insert", () => counter.statements(LATEST) - lookupsBefore >= 2);
      const lookups = counter.statements(LATEST) - lookupsBefore;
      return { rows: counter.rows() - rowsBefore, lookups };
    };
    const nothing = await readAfter(0, 0);
    const one = await readAfter(1, RECORDS + 1);
    const thousand = await readAfter(1000, RECORDS + 2);
    console.log(
      `rows received by the replica: nothing new ${nothing.rows} (${nothing.lookups} lookups), 1 new ${one.rows}, 1000 new ${thousand.rows}`,
    );
    // Each lookup answers one row; the rest are the new records, read once. The table holds over 300,000.
    const slack = (lookups: number) => lookups + 2;
    expect(nothing.rows).toBeLessThanOrEqual(slack(nothing.lookups));
    expect(one.rows).toBeGreaterThanOrEqual(1);
    expect(one.rows).toBeLessThanOrEqual(1 + slack(one.lookups));
    expect(thousand.rows).toBeGreaterThanOrEqual(1000);
    expect(thousand.rows).toBeLessThanOrEqual(1000 + slack(thousand.lookups));
    expect(await revoked(tokenOf(`bulk-${RECORDS + 1000}`))).toBe(true);
  });

  it("logs each failed reload at error level, reports not ready after three reload intervals, and ready again once a reload succeeds", async () => {
    const logLines = () =>
      replica
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, any>);
    await sql`alter table revocations rename to revocations_away`.execute(direct.db);
    try {
      await until("not ready", async () => (await readiness()).status === 503);
      // The database still answers: it is the revocations check that fails.
      expect((await readiness()).body).toEqual({ status: "not ready", checks: expect.objectContaining({ revocations: false }) });
      await until("the failed reload's line", () =>
        logLines().some((line) => line.level === 50 && line.event === "revocations.reload_failed" && line.err?.code === "42P01"),
      );
      // Logged by the first reload that fails past the bound (readiness turned at the bound itself).
      await until("the stale line", () =>
        logLines().some(
          (line) => line.level === 50 && line.event === "revocations.stale" && line.staleAfterMs === 3 * RELOAD_SECONDS * 1000,
        ),
      );
      // What it knew, it still refuses.
      expect(await revoked(tokenOf(`bulk-${RECORDS}`))).toBe(true);
    } finally {
      await sql`alter table revocations_away rename to revocations`.execute(direct.db);
    }
    await until("ready again", async () => (await readiness()).status === 200);
    await until("the line saying it is current again", () => logLines().some((line) => line.event === "revocations.current"));
  });
});
