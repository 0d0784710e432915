import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { from, mergeMap, throwError } from "rxjs";

/**
 * The example client with Apollo Client 4, configured as a browser frontend would configure it.
 *
 * The server answers `application/graphql-response+json`, so Apollo Client reports a 401 or 403 as
 * `CombinedGraphQLErrors` (not as a `ServerError` with the status): decide on `extensions.code` and
 * `extensions.auth.reason`, never on the HTTP status, which Apollo does not hand over for GraphQL errors.
 */

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

/** Where the signed-in user's Cognito token comes from (Amplify's `fetchAuthSession()` in a real frontend). */
export interface TokenSource {
  /** The current access token, or `null` for a visitor. */
  current(): string | null | Promise<string | null>;
  /**
   * A fresh token after the current one expired (Amplify: `fetchAuthSession({ forceRefresh: true })`, which uses
   * the refresh token); `null` when the session is over and the user must sign in again.
   */
  refresh(): Promise<string | null>;
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

/**
 * Apollo Client 4 for this API: the token on every request, one refresh-and-retry on an expired token, and
 * `errorPolicy: "all"` so that a query with a denied field keeps the rest of its data (the field is `null` and
 * its error is in `result.error`). Mutations are refused whole by the server, so their `data` is then undefined.
 */
export function createApolloApiClient(url: string, tokens: TokenSource): ApolloClient {
  // Asked per request: after a refresh the next request (and the retry) carries the new token.
  const withToken = new SetContextLink(async (context) => {
    const token = await tokens.current();
    return token ? { headers: { ...context.headers, authorization: `Bearer ${token}` } } : {};
  });
  return new ApolloClient({
    // The retry goes back through withToken, which then reads the refreshed token.
    link: ApolloLink.from([refreshOnExpiryLink(tokens), withToken, new HttpLink({ uri: url })]),
    cache: new InMemoryCache(),
    defaultOptions: {
      query: { errorPolicy: "all" },
      watchQuery: { errorPolicy: "all" },
      mutate: { errorPolicy: "all" },
    },
  });
}
