import type { AuthContext } from "../auth/index.js";

/** What every resolver receives. */
export type AppContext = AuthContext;
