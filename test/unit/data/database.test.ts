import { GraphQLError } from "graphql";
import pg from "pg";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDatabaseUnavailable, openDatabase, type OpenDatabase } from "../../../src/data/database.js";
import { InvalidInputError } from "../../../src/data/errors.js";
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.js";

const coded = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("isDatabaseUnavailable", () => {
  it.each([
    ["a refused connection", coded("ECONNREFUSED")],
    ["a reset connection", coded("ECONNRESET")],
    ["a terminated backend (57P01)", coded("57P01", "terminating connection due to administrator command")],
    ["a connection exception (08006)", coded("08006")],
    ["a refused login (28P01)", coded("28P01")],
    ["a dropped database (3D000)", coded("3D000")],
    ["a canceled statement (57014)", coded("57014")],
    ["pg's lost connection", new Error("Connection terminated unexpectedly")],
    ["pg's connection timeout", new Error("timeout exceeded when trying to connect")],
    ["a dead client", new Error("Client has encountered a connection error and is not queryable")],
    ["an error wrapped by a resolver", new GraphQLError("wrapped", { originalError: coded("ECONNREFUSED") })],
    ["an error in a cause", new Error("Migration x failed", { cause: coded("ECONNREFUSED") })],
    ["an AggregateError of addresses", new AggregateError([coded("ECONNREFUSED")], "")],
  ])("says yes to %s", (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ["a missing table (42P01)", coded("42P01", 'relation "products" does not exist')],
    ["a unique violation", coded("23505")],
    ["refused input", new InvalidInputError("quantity must be from 1 to 100", "quantity")],
    ["a bug", new TypeError("Cannot read properties of undefined")],
    ["nothing", undefined],
  ])("says no to %s", (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe.skipIf(!TEST_DATABASE_URL)("openDatabase on PostgreSQL that goes away", () => {
  let scratch: ScratchDatabase;
  let proxy: TcpProxy;
  let database: OpenDatabase;
  const lost: string[] = [];

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    const target = new URL(scratch.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    target.port = String(proxy.port);
    database = await openDatabase({
      url: target.toString(),
      pgliteDir: null,
      connectTimeoutMs: 2000,
      onConnectionError: (_e, state) => lost.push(state),
    });
  });

  afterAll(async () => {
    await database?.close(1000);
    await proxy?.close();
    await scratch?.drop();
  });

  it("fails queries cleanly while cut, reports the lost connections, and works again once restored", async () => {
    await sql`select 1`.execute(database.db);
    await proxy.cut();
    const error = await sql`select 1`.execute(database.db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(await database.ping()).toBe(false);
    // "idle" or "busy": the reset may reach a connection just as the next query takes it.
    expect(lost.length).toBeGreaterThan(0);
    await proxy.restore();
    expect(await database.ping()).toBe(true);
  });

  it("abortActive cancels a statement blocked on a lock, and close() keeps its deadline", async () => {
    const holder = new pg.Client({ connectionString: scratch.url });
    await holder.connect();
    try {
      await holder.query("create table if not exists locked (id int primary key); insert into locked values (1) on conflict do nothing");
      await holder.query("begin; select * from locked for update");
      const blocked = database.db
        .transaction()
        .execute((trx) => sql`update locked set id = 1`.execute(trx))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      // Give the update time to reach PostgreSQL and wait on the lock (bounded, polled).
      for (let i = 0; i < 100 && database.poolStats()!.total - database.poolStats()!.idle < 1; i++)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      await database.abortActive();
      const error = await blocked;
      expect(Date.now() - started).toBeLessThan(2500);
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await holder.query("rollback").catch(() => undefined);
      await holder.end();
    }
    const started = Date.now();
    await database.close(1000);
    expect(Date.now() - started).toBeLessThan(1600);
  });
});
