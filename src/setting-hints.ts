import type { GraphQLFormattedError } from "graphql";

/**
 * Refusals that libraries word for their own API (Apollo's "pass `introspection: true` to ApolloServer", GraphQL
 * Armor's "Aliases limit of 15 exceeded"), and paths that exist only in some postures, reworded so that each names
 * the setting of this server that decides it: a developer meeting one learns what to set, not which constructor
 * option of a library we use. Pure functions; the HTTP and WebSocket transports and the error formatter call them.
 */

/** Operation-limit messages of GraphQL Armor and graphql-js, and the setting behind each. */
const LIMITS: readonly { readonly pattern: RegExp; readonly reword: (limit: string, found: string) => string }[] = [
  {
    pattern: /^(?:Syntax Error: )?Query depth limit of (\d+) exceeded, found (\d+)\.$/,
    reword: (limit, found) => `The operation's depth is ${found}, above the limit of ${limit} (GRAPHQL_MAX_DEPTH).`,
  },
  {
    pattern: /^(?:Syntax Error: )?Aliases limit of (\d+) exceeded, found (\d+)\.$/,
    reword: (limit, found) => `The operation has ${found} aliases, above the limit of ${limit} (GRAPHQL_MAX_ALIASES).`,
  },
  {
    pattern: /^(?:Syntax Error: )?Directives limit of (\d+) exceeded, found (\d+)\.$/,
    reword: (limit, found) => `The operation has ${found} directives, above the limit of ${limit} (GRAPHQL_MAX_DIRECTIVES).`,
  },
  {
    // graphql-js spells it "more that" (sic) in 16.x; "more than" is accepted too, should it be fixed.
    pattern: /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/,
    reword: (limit) => `The operation has more than ${limit} tokens, above the limit (GRAPHQL_MAX_TOKENS).`,
  },
];

/** What a client asking for the schema by introspection is told when it is off (production's default). */
export const INTROSPECTION_OFF =
  "Introspection is off on this server. Set GRAPHQL_INTROSPECTION=true on the server to allow it, or generate types from the schema file (src/__generated__/schema.graphql).";

/**
 * The same error with a message that names our setting, when it is one of the library refusals above; any other
 * error is returned as it is (the same object). Codes, locations and other extensions are kept.
 */
export function nameOurSetting(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const { message } = formatted;
  if (
    formatted.extensions?.validationErrorCode === "INTROSPECTION_DISABLED" ||
    message.startsWith("GraphQL introspection is not allowed")
  ) {
    return { ...formatted, message: INTROSPECTION_OFF };
  }
  for (const { pattern, reword } of LIMITS) {
    const match = pattern.exec(message);
    if (match) return { ...formatted, message: reword(match[1]!, match[2] ?? "") };
  }
  return formatted;
}

/** What this server serves where, as far as a 404 needs to know. */
export interface NotFoundContext {
  /** `/metrics` is served on a listener of its own (production) or not at all, not on this port. */
  readonly metricsElsewhere: boolean;
  /** `POST /dev/token` is not served here (a user pool is configured, production, or the Lambda handlers). */
  readonly devTokenAbsent: boolean;
}

/** The message of a 404 on `path`: for the paths that exist only in some postures, which setting decides it. */
export function notFoundMessage(path: string, context: NotFoundContext): string {
  if (path === "/metrics" && context.metricsElsewhere) {
    return "Not found. /metrics is not served on the API port in production: set METRICS_PORT (and METRICS_HOST to let a scraper on another host in) and scrape that port.";
  }
  if (path === "/dev/token" && context.devTokenAbsent) {
    return "Not found. /dev/token exists only on the dev server (no COGNITO_USER_POOL_ID); with a user pool, get tokens from Cognito.";
  }
  return "Not found. The API is at /graphql.";
}
