import {
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  type ApolloClient,
  type OperationVariables,
  type TypedDocumentNode,
} from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import type { Client } from "graphql-ws";
import { Observable, type Subscription } from "rxjs";
import { backoff } from "./subscriptions.js";

/**
 * Apollo Client 4's link for this API with subscriptions: subscription operations go over `GraphQLWsLink` (the
 * example's graphql-ws client: the token in `connection_init`, a fresh token handed to the open socket before
 * expiry), everything else over `http` (the HTTP link chain of `createApolloApiClient`).
 */
export function splitBySubscription(ws: Client, http: ApolloLink | HttpLink): ApolloLink {
  return ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(ws),
    http,
  );
}

/**
 * `client.subscribe` that survives reconnections, as `resumeSubscription` does for the typed client: it keeps the
 * cursor of the last event (`cursorOf`) and, when the subscription fails for the socket's sake (a restart, a 1012,
 * a network cut), subscribes again with `after: <last cursor>` after a backoff, for ever. A refused subscription
 * (GraphQL errors such as `CURSOR_EXPIRED`) is passed on as the error. Unsubscribing stops it.
 */
export function resumeApolloSubscription<Data, Variables extends OperationVariables & { after?: string | null }>(
  client: ApolloClient,
  query: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  cursorOf: (data: Data) => string | null | undefined,
  wait: (attempt: number) => Promise<void> = backoff,
): Observable<Data> {
  return new Observable<Data>((observer) => {
    let after = variables.after ?? null;
    let current: Subscription | undefined;
    let stopped = false;
    const start = (attempt: number) => {
      let over = false;
      // The socket's failure, however Apollo reports it (an error result, an error, a completion): once, later.
      const again = () => {
        if (over || stopped) return;
        over = true;
        current?.unsubscribe();
        void wait(attempt).then(() => !stopped && start(attempt + 1));
      };
      current = client.subscribe({ query, variables: { ...variables, after } as Variables }).subscribe({
        next: (result) => {
          if (result.error && CombinedGraphQLErrors.is(result.error)) {
            // The server refused this subscription (CURSOR_EXPIRED, FORBIDDEN): a retry would get the same answer.
            stopped = true;
            observer.error(result.error);
            return;
          }
          if (result.error) return again();
          if (!result.data) return;
          const cursor = cursorOf(result.data as Data);
          if (cursor) after = cursor;
          attempt = 0;
          observer.next(result.data as Data);
        },
        error: again,
        complete: again,
      });
    };
    start(0);
    return () => {
      stopped = true;
      current?.unsubscribe();
    };
  });
}
