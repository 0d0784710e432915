import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import type { DocumentNode } from "graphql";
import { withoutThrowingConditions } from "../subscription-root.js";

/**
 * F7 over HTTP and Lambda: a subscription with `@skip`/`@include` on its top-level selection made graphql-js's
 * validation throw (500). Right after parsing, such a document is rewritten (`withoutThrowingConditions`) so that
 * validation refuses it with 400 `GRAPHQL_VALIDATION_FAILED` like any subscription sent over HTTP.
 */
export function subscriptionRootPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  const hooks: GraphQLRequestListener<TContext> = {
    async parsingDidStart(requestContext) {
      return async (error) => {
        const context = requestContext as { document?: DocumentNode };
        if (!error && context.document) context.document = withoutThrowingConditions(context.document);
      };
    },
  };
  // Only a document with a subscription operation can need it, and such a document contains the keyword
  // `subscription`: every other request skips the plugin (Apollo calls each hook of every listener per request).
  return { requestDidStart: async ({ request }) => (request.query?.includes("subscription") ? hooks : undefined) };
}
