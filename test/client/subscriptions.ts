import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/**
 * The example client's subscriptions: graphql-ws over WebSocket on the API's `/graphql` (`ws://` or `wss://`),
 * configured as a browser frontend would configure it (in a browser, leave out `webSocketImpl`). The token goes
 * in `connection_init`'s payload and is asked for on every (re)connection, since tokens expire and are refreshed.
 * The server closes the socket with 4401 when the token expires or is revoked: graphql-ws does not retry that
 * code by itself, so `onUnauthorized` is the place to refresh the token and subscribe again.
 */
export function createSubscriptionClient(wsUrl: string, getToken: () => string | null | Promise<string | null>, onUnauthorized?: (reason: string) => void): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: true,
    connectionParams: async () => {
      const token = await getToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        if (code === 4401) onUnauthorized?.(reason);
      },
    },
  });
}

/** One event of a subscription as graphql-ws hands it over. */
export interface SubscriptionEvent<Result> {
  readonly data?: Result | null;
  readonly errors?: readonly { readonly message: string }[];
}

/** A typed subscription: the events of `document` as they come (`return()` on the iterator unsubscribes). */
export function subscribe<Result, Variables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<Result, Variables>,
  variables?: Variables,
): AsyncIterableIterator<SubscriptionEvent<Result>> {
  return client.iterate({ query: print(document), variables }) as AsyncIterableIterator<SubscriptionEvent<Result>>;
}
