import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDisableSuggestions } from "@apollo/server/plugin/disableSuggestions";
import { operationCheckPlugin } from "../auth/index.js";
import { boundsReportingPlugin, reportDatabaseBound } from "../bounds-reporting.js";
import { DEFAULT_PAGE_SIZE } from "../data/pagination.js";
import type { AppContext } from "./context.js";
import { costLimitPlugin } from "./cost.js";
import type { ServerDependencies } from "./dependencies.js";
import { inputTextPlugin } from "./input-values.js";
import { operationLimits, subscriptionRefusal, type Transport } from "./limits.js";
import { operationTransactionPlugin } from "./operation-transaction.js";
import { formatError } from "./outcomes.js";
import { auditPlugin } from "./plugins/audit.js";
import { decisionAuditOf } from "./decision-records.js";
import { errorsPlugin } from "./plugins/errors.js";
import { landingPagePlugin } from "./plugins/landing-page.js";
import { subscriptionRootPlugin } from "./plugins/subscription-root.js";

/**
 * The Apollo Server of the product: schema, auth plugins, and the production posture of DESIGN.md. `transport`
 * only changes what a subscription operation sent over HTTP is told (default `http`).
 */
export function createApolloServer(deps: ServerDependencies, transport: Transport = "http"): ApolloServer<AppContext> {
  const { config } = deps;
  const plugins: ApolloServerPlugin<AppContext>[] = [
    // Before validation: a conditional subscription root is refused (400) instead of throwing (500).
    subscriptionRootPlugin(),
    operationCheckPlugin({ rejectPartial: config.auth.rejectPartial }),
    inputTextPlugin(),
    // After the operation check: a mutation refused before execution never opens a transaction.
    operationTransactionPlugin({ logger: deps.logger, onUnavailable: (error, request) => reportDatabaseBound(deps, error, request) }),
    boundsReportingPlugin(deps),
    // After the transaction: it sees the errors of a failed commit too.
    errorsPlugin(deps.logger),
    // HTTP writes the record into its request line; Lambda has none, so the record is a line of its own.
    auditPlugin({ audit: decisionAuditOf(deps), requestLine: transport === "http" }),
    // Cache hints are not used by this product and cost time on every resolved field.
    ApolloServerPluginCacheControlDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
    landingPagePlugin(config, deps.devIssuer),
  ];
  if (config.production) plugins.push(ApolloServerPluginDisableSuggestions());
  // Limits on what one operation may ask for, refused (400) before any resolver runs.
  const armor = operationLimits(config);
  plugins.push(...(armor.plugins as ApolloServerPlugin<AppContext>[]));
  plugins.push(costLimitPlugin({ maxCost: config.limits.cost, defaultPageSize: DEFAULT_PAGE_SIZE }));
  return new ApolloServer<AppContext>({
    schema: deps.schema,
    validationRules: [...armor.validationRules, subscriptionRefusal(transport)],
    parseOptions: { maxTokens: config.limits.tokens },
    allowBatchedHttpRequests: false,
    // Automatic persisted queries are not offered: clients send the query text.
    persistedQueries: false,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: !config.production,
    plugins,
    // The composition root owns shutdown: drain HTTP first, then stop Apollo.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatError(formatted, error, config.production),
  });
}
