import type { AuthContext } from "../auth/index.js";
import type { Db } from "../data/database.js";
import type { Loaders } from "../data/loaders.js";
import type { Revoker } from "../revocations/revoker.js";
import type { OrderEventFeed } from "./order-events.js";
import type { RemoteCalls } from "./remote-calls.js";

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
  /**
   * The caller's verified email (from the user pool, cached), or `null`; never throws. A remote call made once per
   * request through `remote`: mutations that need it declare it in their remote steps (before the transaction).
   */
  readonly callerEmail: () => Promise<string | null>;
  /**
   * This request's remote calls, made before a mutation's transaction opens (see remote-calls.ts). Absent where the
   * transport makes none (WebSocket subscriptions, the bench's baseline).
   */
  readonly remote?: RemoteCalls;
  /**
   * Runs `action` once what the resolver wrote is committed: during a mutation operation, after its transaction
   * commits (never if it rolls back); outside one, at once.
   */
  afterCommit: (action: () => void) => void;
  /** Session revocation; absent when the server was built without it (then the revocation mutations fail). */
  readonly revoker?: Revoker;
  /** The request's id (logs), when the transport has one. */
  readonly requestId?: string;
  /** Subscriptions over WebSocket only: this replica's order events. Absent on HTTP and Lambda requests. */
  orderEvents?: OrderEventFeed;
}
