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
  return db
    .transaction()
    .setIsolationLevel(ISOLATION_LEVEL)
    .execute(async (trx) => {
      const result = await work(trx);
      await runBeforeCommit(trx);
      return result;
    });
}

/** Work registered by `beforeCommit`, per open transaction (the object data functions receive as `db`). */
const pending = new WeakMap<object, (() => Promise<void>)[]>();

/**
 * Runs `work` as the last step of transaction `db`, right before it commits (in registration order), and not at
 * all if it rolls back; outside a transaction, at once. For writes that take a lock held until commit (the order
 * event log's), so the lock is held for the commit's moment only, not while the rest of the operation waits on
 * row locks. Whoever commits calls `runBeforeCommit`: `inTransaction` for its own transactions, the mutation
 * operation's plugin for the operation's.
 */
export async function beforeCommit(db: Db, work: () => Promise<void>): Promise<void> {
  if (!db.isTransaction) return work();
  const list = pending.get(db);
  if (list) list.push(work);
  else pending.set(db, [work]);
}

/** Runs and forgets the work registered on `trx` by `beforeCommit`; throws what a step throws (then roll back). */
export async function runBeforeCommit(trx: object): Promise<void> {
  const list = pending.get(trx);
  pending.delete(trx);
  for (const work of list ?? []) await work();
}

/**
 * Opens a transaction the caller commits or rolls back itself (one per mutation operation). It holds one
 * connection until then: on PGlite, the only one, so nothing in the operation may use the outer `db` meanwhile.
 */
export function startTransaction(db: Db): Promise<ControlledTransaction<Database>> {
  return db.startTransaction().setIsolationLevel(ISOLATION_LEVEL).execute();
}
