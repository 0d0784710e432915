import type { AuthContext } from "../auth/index.js";
import type { Db } from "../data/database.js";
import type { Loaders } from "../data/loaders.js";

/** What every resolver receives: the auth layer's part, the database and this request's batch loaders. */
export interface AppContext extends AuthContext {
  readonly db: Db;
  readonly loaders: Loaders;
  /** The caller's verified email (from the user pool, cached), or `null`; never throws. */
  callerEmail(): Promise<string | null>;
}
