import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { exceededBound, isDatabaseUnavailable, openDatabase } from "../../../src/data/database.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../../helpers/database.js";

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("exceededBound", () => {
  it.each([
    [pgError("57014", "canceling statement due to statement timeout"), "statement_timeout"],
    [pgError("55P03", "canceling statement due to lock timeout"), "lock_timeout"],
    [pgError("25P03", "terminating connection due to idle-in-transaction timeout"), "idle_in_transaction_timeout"],
    [new Error("timeout exceeded when trying to connect"), "pool_timeout"],
    // Wrapped as Apollo wraps a resolver's error.
    [{ originalError: pgError("57014", "canceling statement due to statement timeout") }, "statement_timeout"],
  ])("names the bound of %s and counts it as the database unavailable", (error, bound) => {
    expect(exceededBound(error)).toBe(bound);
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("names none for a cancel by shutdown, a dropped connection or a bug", () => {
    expect(exceededBound(pgError("57014", "canceling statement due to user request"))).toBeNull();
    expect(exceededBound(new Error("Connection terminated unexpectedly"))).toBeNull();
    expect(exceededBound(pgError("42P01", 'relation "products" does not exist'))).toBeNull();
  });
});

describe.skipIf(!TEST_DATABASE_URL)("openDatabase's bounds on PostgreSQL", () => {
  it("sets statement_timeout and idle_in_transaction_session_timeout on every pooled connection", async () => {
    const scratch = await createTestDatabase(TEST_DATABASE_URL!);
    const database = await openDatabase({ url: scratch.url, pgliteDir: null, statementTimeoutMs: 1234, idleInTransactionTimeoutMs: 2345 });
    try {
      const { rows } = await sql<{
        statement: string;
        idle: string;
      }>`select current_setting('statement_timeout') as statement, current_setting('idle_in_transaction_session_timeout') as idle`.execute(
        database.db,
      );
      expect(rows).toEqual([{ statement: "1234ms", idle: "2345ms" }]);
    } finally {
      await database.close();
      await scratch.drop();
    }
  });
  it("lets PostgreSQL end a transaction left idle past the bound: the connection's error names the bound, the next statement fails as unavailable", async () => {
    const scratch = await createTestDatabase(TEST_DATABASE_URL!);
    const lost: unknown[] = [];
    const database = await openDatabase({
      url: scratch.url,
      pgliteDir: null,
      idleInTransactionTimeoutMs: 200,
      onConnectionError: (error) => void lost.push(error),
    });
    try {
      const trx = await database.db.startTransaction().execute();
      await sql`select 1`.execute(trx);
      // The event: PostgreSQL ends the session (FATAL 25P03) and pg reports it on the checked-out connection.
      for (let i = 0; i < 500 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      // The first error names the bound; pg may report the closed socket after it as a second, plain one.
      expect(lost.map(exceededBound)[0]).toBe("idle_in_transaction_timeout");
      const failed = await sql`select 1`.execute(trx).then(
        () => null,
        (error: unknown) => error,
      );
      expect(isDatabaseUnavailable(failed)).toBe(true);
      await trx
        .rollback()
        .execute()
        .catch(() => undefined);
    } finally {
      await database.close();
      await scratch.drop();
    }
  });
});
