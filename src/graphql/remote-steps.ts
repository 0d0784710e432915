import type { AppContext } from "./context.js";
import type { RemoteSteps } from "./remote-calls.js";
import { orderRemoteSteps } from "./resolvers/orders.js";
import { sessionRemoteSteps } from "./resolvers/sessions.js";

/**
 * Every root mutation field that calls a remote service, with the step that makes its calls before the operation's
 * transaction opens. A field missing here that calls out fails with `RemoteCallInTransactionError` (tested).
 */
export const REMOTE_STEPS: RemoteSteps<AppContext> = { ...orderRemoteSteps, ...sessionRemoteSteps };
