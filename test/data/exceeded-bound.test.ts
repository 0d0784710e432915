import { describe, expect, it } from "vitest";
import { exceededBound, isDatabaseUnavailable } from "../../src/data/database.js";

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
