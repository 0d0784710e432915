import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import { GraphQLError, getNamedType, getVariableValues, isCompositeType, type OperationDefinitionNode } from "graphql";
import { getComplexity, type ComplexityEstimator } from "graphql-query-complexity";

/** What one selected field costs: the formula GraphQL Armor's cost limit used, kept so limits keep their meaning. */
const LEAF_COST = 1;
const OBJECT_COST = 2;
/** Each level of nesting weighs this much more than the one above it. */
const DEPTH_FACTOR = 1.5;
/** Arguments that say how many items a field returns (Relay connections). */
const PAGE_ARGUMENTS = ["first", "last"] as const;

export interface CostLimitOptions {
  /** The most an operation may cost (`GRAPHQL_MAX_COST`). */
  readonly maxCost: number;
  /** How many items a page-size argument means when it is null or absent without a default: the server's own default. */
  readonly defaultPageSize: number;
}

/**
 * The cost of one field, for graphql-query-complexity: a leaf costs 1; an object field costs
 * `(2 + 1.5 x its children's cost) x n`, where `n` is its page size, the value of its `first` (or `last`)
 * argument as the operation will execute it: literal, variable, or the argument's default in the schema, and
 * `defaultPageSize` when that is null. Fields without a page-size argument count once (`n` = 1): a
 * connection's `edges` are already counted by the connection's `first`, and other lists are bounded by the data.
 * Introspection (`__schema`, `__type` and everything under them) costs nothing, as with GraphQL Armor.
 */
export function pageCostEstimator(defaultPageSize: number): ComplexityEstimator {
  return ({ type, field, args, childComplexity }) => {
    // Introspection reads the schema held in memory, not data (and is off in production unless enabled).
    if (field.name === "__schema" || field.name === "__type" || type.name.startsWith("__")) return 0;
    if (!isCompositeType(getNamedType(field.type))) return LEAF_COST;
    let items = 1;
    for (const name of PAGE_ARGUMENTS) {
      if (!field.args.some((arg) => arg.name === name)) continue;
      const value: unknown = args[name];
      items = Math.max(items, typeof value === "number" ? value : value == null ? defaultPageSize : 1);
    }
    return (OBJECT_COST + DEPTH_FACTOR * childComplexity) * items;
  };
}

/**
 * Refuses, before execution, an operation whose cost (see `pageCostEstimator`) exceeds `maxCost`: 400 with
 * `GRAPHQL_VALIDATION_FAILED` and a message naming both numbers. The cost is computed with graphql-query-complexity
 * on the operation the server will run, with the request's variables and the schema's defaults, so a page size
 * given by a variable or left at its default counts as much as a literal one. Operations whose variables do not
 * coerce are left to execution, which refuses them (400) without running anything. An operation without
 * variables is costed once per parsed document (Apollo keeps parsed documents), so repeated queries cost a lookup.
 */
export function costLimitPlugin<TContext extends object>(options: CostLimitOptions): ApolloServerPlugin<TContext> {
  const estimators = [pageCostEstimator(options.defaultPageSize)];
  const fixedCosts = new WeakMap<OperationDefinitionNode, number>();
  const refuse = (message: string) =>
    new GraphQLError(message, { extensions: { code: "GRAPHQL_VALIDATION_FAILED", http: { status: 400 } } });
  const hooks: GraphQLRequestListener<TContext> = {
    async didResolveOperation({ document, operation, request, schema }) {
      // Apollo resolves the operation before this hook; a missing one was already answered with a 400.
      if (!operation) return;
      const variableDefinitions = operation.variableDefinitions ?? [];
      let cost = variableDefinitions.length === 0 ? fixedCosts.get(operation) : undefined;
      if (cost === undefined) {
        const variables = request.variables ?? {};
        if (getVariableValues(schema, variableDefinitions, variables).errors) return;
        try {
          cost = getComplexity({ schema, query: document, variables, operationName: operation.name?.value, estimators });
        } catch {
          // graphql-query-complexity gives up past 10,000 selections (fragments spread over and over).
          throw refuse("The operation is too large to cost; it has too many selections.");
        }
        if (variableDefinitions.length === 0) fixedCosts.set(operation, cost);
      }
      if (cost > options.maxCost) {
        throw refuse(`The operation costs ${Math.ceil(cost)}, above the limit of ${options.maxCost} (GRAPHQL_MAX_COST).`);
      }
    },
  };
  return { requestDidStart: async () => hooks };
}
