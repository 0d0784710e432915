import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationRule } from "graphql";
import type { Config } from "../config.js";

/**
 * The limits on what one operation may ask for (depth, aliases, directives), as GraphQL Armor's validation rules
 * and Apollo plugins. Every transport validates with the same rules: Apollo (HTTP, Lambda) and the WebSocket
 * transport's own validation.
 */
export function operationLimits(config: Config) {
  return new ApolloArmor({
    maxDepth: { n: config.limits.depth },
    // Every alias counts, `__typename` ones and fields aliased as `__typename` too (Armor exempts both by
    // default, so `__typename: me {…}` plus 15 aliases ran 16 fields under a limit of 15).
    maxAliases: { n: config.limits.aliases, allowList: [] },
    maxDirectives: { n: config.limits.directives },
    // Tokens are limited by graphql-js's own parser (parseOptions): Armor's check answers 500, not 400.
    maxTokens: { enabled: false },
    // Armor costs literal page sizes only; costLimitPlugin costs the operation with its variables and defaults.
    costLimit: { enabled: false },
    // Suggestions are hidden by Apollo's own plugin in production and useful in dev.
    blockFieldSuggestion: { enabled: false },
  }).protect();
}

/** Where an Apollo Server answers: the node:http server (subscriptions over WebSocket beside it) or a Lambda handler. */
export type Transport = "http" | "lambda";

export const SUBSCRIPTIONS_OVER_WEBSOCKET_MESSAGE =
  "Subscriptions are served over WebSocket only: connect to /graphql with the graphql-transport-ws protocol (graphql-ws).";
export const NO_SUBSCRIPTIONS_ON_LAMBDA_MESSAGE =
  "Subscriptions are not offered on the Lambda handlers; use the HTTP server's WebSocket transport, API Gateway WebSocket APIs or AWS AppSync.";

/**
 * Subscriptions are served over WebSocket only: a subscription operation sent over HTTP (or to a Lambda handler)
 * is refused in validation (400 `GRAPHQL_VALIDATION_FAILED`) with a message saying where to go. Without this rule
 * graphql-js would let it through and Apollo would fail it in execution.
 */
function refuseSubscriptions(message: string): ValidationRule {
  return (context) => ({
    OperationDefinition(node) {
      if (node.operation === "subscription") context.reportError(new GraphQLError(message, { nodes: node }));
    },
  });
}
const SUBSCRIPTIONS_OVER_WEBSOCKET = refuseSubscriptions(SUBSCRIPTIONS_OVER_WEBSOCKET_MESSAGE);
const NO_SUBSCRIPTIONS_ON_LAMBDA = refuseSubscriptions(NO_SUBSCRIPTIONS_ON_LAMBDA_MESSAGE);

/** The rule that sends subscriptions sent to an Apollo transport to the WebSocket one. */
export const subscriptionRefusal = (transport: Transport): ValidationRule =>
  transport === "lambda" ? NO_SUBSCRIPTIONS_ON_LAMBDA : SUBSCRIPTIONS_OVER_WEBSOCKET;
