import { GraphQLError } from "graphql";
import type { Logger } from "pino";
import {
  AuthError,
  createAuthenticator,
  readBearerToken,
  RequestAuth,
  serviceUnavailableError,
  type AuthContext,
  type CredentialSources,
  type Principal,
} from "../auth/index.js";
import { isDatabaseUnavailable } from "../data/database.js";
import { createLoaders, type Loaders } from "../data/loaders.js";
import type { AppContext } from "./context.js";
import type { ServerDependencies } from "./dependencies.js";
import type { OrderEventFeed } from "./order-events.js";
import { errorSummary } from "./outcomes.js";
import { RemoteCalls } from "./remote-calls.js";

/**
 * The one credential check of every transport (HTTP header, `connection_init` payload, Lambda event): the
 * authenticator (one verification, revocations) plus the authentication metrics. Throws the error table's
 * GraphQLError (400/401/503) for a present but refused token.
 */
export function createCredentialCheck(deps: ServerDependencies): (sources: CredentialSources) => Promise<AuthContext> {
  const authenticate = createAuthenticator({
    verifier: deps.verifier,
    revocations: deps.revocations,
    posture: { explain: !deps.config.production },
  });
  // Callbacks on authenticate's promise, not another async function around it: this runs on every request.
  const counted = (auth: AuthContext) => {
    deps.metrics?.countAuthentication(auth.principal ? "VERIFIED" : "ANONYMOUS");
    return auth;
  };
  const refused = (error: unknown): never => {
    const reason = (error as GraphQLError).extensions?.auth as { reason?: string } | undefined;
    deps.metrics?.countAuthentication(reason?.reason ?? "ERROR");
    throw error;
  };
  return (sources) => authenticate(sources).then(counted, refused);
}

/**
 * The per-request context, whatever the transport (HTTP server or Lambda): one token verification, then this
 * request's batch loaders over the shared database. Refused tokens are logged (audit) and counted.
 */
export function createContextFactory(deps: ServerDependencies): (sources: CredentialSources, requestId?: string) => Promise<AppContext> {
  const check = createCredentialCheck(deps);
  return async (sources, requestId) => {
    let auth;
    try {
      auth = await check(sources);
    } catch (error) {
      const reason = (error as GraphQLError).extensions?.auth as { reason?: string } | undefined;
      deps.logger?.info({ event: "auth.refused", requestId, reason: reason?.reason }, "request refused before execution");
      throw error;
    }
    const { principal } = auth;
    // The token is read again only when a resolver asks (placeOrder), so it never sits in the context.
    // A remote call, once per request (RemoteCalls), made before a mutation's transaction opens (remote-steps.ts).
    const remote = new RemoteCalls();
    const callerEmail = () =>
      remote.call("callerEmail", async () =>
        principal && deps.emailLookup
          ? deps.emailLookup(principal, readBearerToken(sources)!, (error) =>
              deps.logger?.warn(
                { event: "email.lookup_failed", requestId, sub: principal.sub, error: (error as Error)?.name },
                "caller's email lookup failed",
              ),
            )
          : null,
      );
    try {
      return {
        ...auth,
        db: deps.db,
        loaders: createLoaders(deps.db),
        callerEmail,
        remote,
        afterCommit: runNow,
        revoker: deps.revoker,
        requestId,
      };
    } catch (error) {
      // Apollo answers a failed context with 500 and runs no plugin: this is the one place to see and map it.
      throw contextError(error, deps.logger, requestId);
    }
  };
}

/**
 * The context of one subscription event over WebSocket: the subscriber's principal (verified at
 * `connection_init`), the event's loaders (shared by its subscribers) or fresh ones, the order event feed. Nothing served over WebSocket writes, so the
 * caller's email is never needed and nothing runs in a transaction.
 */
export function subscriberContext(
  deps: ServerDependencies,
  principal: Principal | null,
  orderEvents: OrderEventFeed,
  requestId?: string,
  loaders?: Loaders,
): AppContext {
  return {
    principal,
    auth: new RequestAuth(principal, { explain: !deps.config.production }),
    db: deps.db,
    loaders: loaders ?? createLoaders(deps.db),
    callerEmail: async () => null,
    afterCommit: runNow,
    orderEvents,
    requestId,
  };
}

const runNow = (action: () => void) => action();

/** A failure while building the context: the database being down becomes 503; anything else is logged and rethrown. */
function contextError(error: unknown, logger: Logger | undefined, requestId: string | undefined): unknown {
  if (error instanceof GraphQLError || error instanceof AuthError) return error;
  if (isDatabaseUnavailable(error)) {
    logger?.warn({ event: "db.unavailable", requestId, err: errorSummary(error) }, "database unavailable; answered 503");
    return serviceUnavailableError();
  }
  logger?.error({ requestId, err: error }, "unexpected error while building the request context");
  return error;
}
