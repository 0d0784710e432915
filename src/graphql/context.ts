import type { AuthContext } from "../auth/index.js";
import type { Db } from "../data/database.js";
import type { Loaders } from "../data/loaders.js";
import type { OrderEventFeed } from "./order-events.js";

/** What every resolver receives: the auth layer's part, the database and this request's batch loaders. */
export interface AppContext extends AuthContext {
  /**
   * The database. During a mutation operation, that operation's transaction: every root field and everything
   * it resolves read and write through it (see `operation-transaction.ts`). Read it from the context when it
   * is needed, never keep the outer database aside: on PGlite that would wait for the transaction forever.
   */
  db: Db;
  /** This request's batch loaders, reading through `db` (so a field sees the writes of the fields before it). */
  loaders: Loaders;
  /** The caller's verified email (from the user pool, cached), or `null`; never throws. */
  callerEmail(): Promise<string | null>;
  /** Subscriptions over WebSocket only: this replica's order events. Absent on HTTP and Lambda requests. */
  orderEvents?: OrderEventFeed;
}
