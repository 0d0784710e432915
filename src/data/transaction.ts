import type { ControlledTransaction, Transaction } from "kysely";
import type { Db } from "./database.js";
import type { Database } from "./tables.js";

/**
 * The isolation level of every transaction the shop opens, chosen deliberately: READ COMMITTED.
 *
 * - The invariants do not rest on snapshots but on row locks and conditional writes, which READ COMMITTED
 *   re-evaluates on the newest committed row version: stock is taken with `stock >= quantity` in the UPDATE
 *   itself (never oversold, whatever runs concurrently), a status change locks its order row first
 *   (`SELECT ... FOR UPDATE`) and checks the transition on the locked row.
 * - Idempotency rests on the unique key (customer, idempotency key). A racing insert waits for the other
 *   transaction (`ON CONFLICT DO NOTHING`); once it committed, the next statement sees its order, because READ
 *   COMMITTED takes a fresh snapshot per statement. Under REPEATABLE READ or SERIALIZABLE the loser would fail
 *   with a serialization error instead, and the whole GraphQL operation would have to be re-run.
 * - A mutation operation's transaction spans resolvers the client chose; SERIALIZABLE would make unrelated
 *   operations fail spuriously (predicate locks on pages of orders) for nothing the locks above do not guard.
 * - A field always sees the writes of the fields before it: they share the transaction.
 *
 * Lock order, so that concurrent operations do not deadlock within a field: a customer row, then the order row,
 * then products by id. Across root fields, rows are locked in the order the fields run (the client's order);
 * two operations taking the same rows in opposite orders can deadlock, and PostgreSQL then aborts one of them,
 * which is answered as a conflict to retry (see `src/graphql/operation-transaction.ts`).
 */
export const ISOLATION_LEVEL = "read committed";

/** A transaction over the shop's tables. */
export type Trx = Transaction<Database>;

/**
 * Runs `work` inside `db` when `db` already is a transaction (a mutation operation's: everything the
 * operation writes commits or rolls back together), otherwise in a transaction of its own. Data functions use
 * this, so they work the same called from a resolver or on their own.
 */
export function inTransaction<T>(db: Db, work: (trx: Trx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Trx);
  return db.transaction().setIsolationLevel(ISOLATION_LEVEL).execute(work);
}

/**
 * Opens a transaction the caller commits or rolls back itself (one per mutation operation). It holds one
 * connection until then: on PGlite, the only one, so nothing in the operation may use the outer `db` meanwhile.
 */
export function startTransaction(db: Db): Promise<ControlledTransaction<Database>> {
  return db.startTransaction().setIsolationLevel(ISOLATION_LEVEL).execute();
}
