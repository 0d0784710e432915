import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { RetryLink } from "@apollo/client/link/retry";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { Kind, OperationTypeNode } from "graphql";
import { from, mergeMap, tap, throwError } from "rxjs";
import { createSubscriptionSocket, type SubscriptionSocket, type SubscriptionSocketOptions, type TokenSource } from "./graphql-ws.js";

/**
 * Apollo Client 4 for this API, configured as a browser frontend would configure it: queries and mutations over
 * HTTP, subscriptions over WebSocket (`GraphQLWsLink`), split by operation type. Copy this file and
 * `examples/graphql-ws.ts` (the socket it uses); `test/e2e/examples/apollo-client-*.test.ts` run it against the real
 * server.
 *
 * The server answers `application/graphql-response+json`, so Apollo Client reports a 401 or 403 as
 * `CombinedGraphQLErrors` (not as a `ServerError` with the status): decide on `extensions.code` and
 * `extensions.auth.reason`, never on the HTTP status, which Apollo does not hand over for GraphQL errors.
 */

export type { TokenSource } from "./graphql-ws.js";

/*
 * The application-wide `errorPolicy: "all"` declared to Apollo's types (as Apollo Client 4 asks), so that result
 * types say that data and errors can come together.
 */
declare module "@apollo/client" {
  namespace ApolloClient {
    namespace DeclareDefaultOptions {
      interface Query {
        errorPolicy: "all";
      }
      interface WatchQuery {
        errorPolicy: "all";
      }
      interface Mutate {
        errorPolicy: "all";
      }
    }
  }
}

/** What the server says about a refusal, read from a GraphQL error's extensions. */
export interface AuthProblem {
  /** `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_REQUEST`, `AUTH_UNAVAILABLE`, ... */
  readonly code: string | undefined;
  /** `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `INSUFFICIENT_PERMISSION`, ... (present on auth errors, also in production). */
  readonly reason: string | undefined;
  /** The denied field's path in a partial result; absent when the whole operation was refused. */
  readonly path: readonly (string | number)[] | undefined;
}

/** The code, auth reason and path of every GraphQL error in `error` (none for network or other errors). */
export function authProblemsOf(error: unknown): AuthProblem[] {
  if (!CombinedGraphQLErrors.is(error)) return [];
  return error.errors.map((e) => ({
    code: typeof e.extensions?.code === "string" ? e.extensions.code : undefined,
    reason: (e.extensions?.auth as { reason?: unknown } | undefined)?.reason as string | undefined,
    path: e.path,
  }));
}

/** Marks an operation that already went out again with a refreshed token, so that it is never retried twice. */
const RETRIED = "authRetried";

/**
 * An `ErrorLink` that, when the server says the token expired (`UNAUTHENTICATED` with reason `TOKEN_EXPIRED`),
 * gets a fresh token once and sends the operation again. Any other refusal (a revoked token, a missing group)
 * is the application's to handle: a retry would get the same answer.
 */
export function refreshOnExpiryLink(tokens: TokenSource): ErrorLink {
  return new ErrorLink(({ error, operation, forward }) => {
    if (operation.getContext()[RETRIED]) return;
    if (!authProblemsOf(error).some((p) => p.code === "UNAUTHENTICATED" && p.reason === "TOKEN_EXPIRED")) return;
    return from(tokens.refresh()).pipe(
      mergeMap((token) => {
        // Session over: let the original error through, so the app sends the user to sign in.
        if (token === null) return throwError(() => error);
        operation.setContext({ [RETRIED]: true });
        return forward(operation);
      }),
    );
  });
}

/** Where a subscription keeps the cursor of the last event it delivered (its operation's context). */
const RESUME_AFTER = "resumeAfter";

/** Notes the `cursor` of each event (`{ data: { myOrderEvents: { cursor } } }`) in the operation's context. */
const rememberCursor = new ApolloLink((operation, forward) =>
  forward(operation).pipe(
    tap((result) => {
      const root = result.data && Object.values(result.data)[0];
      const cursor = root && typeof root === "object" ? (root as { cursor?: unknown }).cursor : undefined;
      if (typeof cursor === "string") operation.setContext({ [RESUME_AFTER]: cursor });
    }),
  ),
);

/** Whether the operation declares an `$after` variable (the API's subscriptions take `after: String`). */
function takesAfter(operation: ApolloLink.Operation): boolean {
  return operation.query.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      (definition.variableDefinitions ?? []).some((variable) => variable.variable.name.value === "after"),
  );
}

/** Options of `createApolloClient`. */
export interface ApolloApiOptions {
  /** The API's HTTP URL: `http://localhost:4000/graphql`. */
  readonly httpUrl: string;
  /** The same path over WebSocket: `ws://localhost:4000/graphql` (`wss://` behind TLS). */
  readonly wsUrl: string;
  readonly tokens: TokenSource;
  /**
   * Called when a subscription is started again without a cursor to resume from (its document takes no `$after`,
   * or it had delivered nothing yet): re-read what the page shows.
   */
  readonly onReconnected?: () => void;
  /** Reconnection backoff of the socket. @default { initialMs: 1000, maxMs: 30000 } */
  readonly backoff?: SubscriptionSocketOptions["backoff"];
  /** A WebSocket class outside browsers (Node: the `ws` package's default export). Browsers: leave it out. */
  readonly webSocketImpl?: unknown;
}

/**
 * Apollo Client 4 for this API:
 * - over HTTP, the token on every request, one refresh-and-retry on an expired token, and `errorPolicy: "all"` so
 *   that a query with a denied field keeps the rest of its data (the field is `null` and its error is in
 *   `result.error`). Mutations are refused whole by the server, so their `data` is then undefined;
 * - over WebSocket, for subscriptions: a subscription whose socket is lost is started again, for ever, with backoff
 *   (`RetryLink`), with `after: <the cursor of its last event>` so that the server replays what it missed; one ended
 *   by an expired token (close 4401) is started again once the token is refreshed; a refused subscription
 *   (`FORBIDDEN`, `CURSOR_EXPIRED`), a revoked token or a session that cannot be refreshed ends it.
 *
 * `dispose()` closes the socket (`client.stop()` does not).
 */
export function createApolloClient(options: ApolloApiOptions): {
  client: ApolloClient;
  socket: SubscriptionSocket;
  dispose(): Promise<void>;
} {
  const { tokens } = options;
  // Subscriptions are started again by the RetryLink below, not by graphql-ws, so that they resume after their cursor.
  const socket = createSubscriptionSocket({
    url: options.wsUrl,
    tokens,
    backoff: options.backoff,
    webSocketImpl: options.webSocketImpl,
    reconnect: "subscription",
  });
  // Asked per request: after a refresh the next request (and the retry) carries the new token.
  const withToken = new SetContextLink(async (context) => {
    const token = await tokens.current();
    return token ? { headers: { ...context.headers, authorization: `Bearer ${token}` } } : {};
  });
  // The retry goes back through withToken, which then reads the refreshed token.
  const overHttp = ApolloLink.from([refreshOnExpiryLink(tokens), withToken, new HttpLink({ uri: options.httpUrl })]);
  const resubscribe = new RetryLink({
    delay: { initial: options.backoff?.initialMs ?? 1000, max: options.backoff?.maxMs ?? 30_000, jitter: true },
    attempts: async (_count, operation, error) => {
      const again = await socket.shouldResubscribe(error);
      if (!again) return false;
      // Resume: the same subscription, after the last event it delivered (when its document takes `$after`).
      const after = operation.getContext()[RESUME_AFTER];
      if (typeof after === "string" && takesAfter(operation)) operation.variables = { ...operation.variables, after };
      else options.onReconnected?.();
      return true;
    },
  });
  const overWebSocket = ApolloLink.from([resubscribe, rememberCursor, new GraphQLWsLink(socket.client)]);
  const client = new ApolloClient({
    link: ApolloLink.split((operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION, overWebSocket, overHttp),
    cache: new InMemoryCache(),
    defaultOptions: {
      query: { errorPolicy: "all" },
      watchQuery: { errorPolicy: "all" },
      mutate: { errorPolicy: "all" },
    },
  });
  return {
    client,
    socket,
    dispose: async () => {
      client.stop();
      await socket.dispose();
    },
  };
}
