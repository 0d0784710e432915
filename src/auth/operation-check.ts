import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getDirectiveValues,
  getNamedType,
  getVariableValues,
  isCompositeType,
  isObjectType,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from "graphql";
import { operationDenied, type DenialExplanation } from "./errors.js";
import { guardOf } from "./guard.js";
import type { AuthContext, RequestAuth } from "./request-auth.js";

/**
 * Walks the whole operation as it will execute (fragments, inline fragments, aliases, abstract types,
 * `@include`/`@skip`) and returns every field the caller's token denies. `owner:` requirements cannot be
 * decided here; they are checked on the objects as they resolve.
 */
export function findDenials(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  variables: Readonly<Record<string, unknown>>,
  auth: RequestAuth,
): DenialExplanation[] {
  // Coerce as execution will (defaults filled in); bad variables are execution's to report, and nothing runs.
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) return [];
  const values = coerced.coerced;
  const denials = new Map<string, DenialExplanation>();
  const visitedFragments = new Set<string>();
  const included = (node: SelectionNode) =>
    getDirectiveValues(GraphQLSkipDirective, node, values)?.if !== true &&
    getDirectiveValues(GraphQLIncludeDirective, node, values)?.if !== false;

  const visit = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType): void => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        if (type && isCompositeType(type)) visit(selection.selectionSet, type);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        // A fragment's decisions do not depend on where it is spread; visiting it once also defuses fragment bombs.
        if (visitedFragments.has(name)) continue;
        visitedFragments.add(name);
        const fragment = fragments[name];
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (fragment && type && isCompositeType(type)) visit(fragment.selectionSet, type);
      } else {
        const name = selection.name.value;
        if (name.startsWith("__")) continue;
        const candidates = isObjectType(parentType) ? [parentType] : schema.getPossibleTypes(parentType);
        // Implementations may return narrower types (covariant fields): walk the selection under each.
        const returnTypes = new Set<GraphQLCompositeType>();
        for (const type of candidates) {
          const field = type.getFields()[name];
          if (!field) continue;
          const guard = guardOf(field);
          const decision = guard ? auth.decide(guard) : undefined;
          if (guard && decision?.outcome === "deny") {
            denials.set(guard.coordinate, auth.explain(guard, decision.missing));
            // Below a denied field nothing executes, so nothing more can be denied there.
            continue;
          }
          const named = getNamedType(field.type);
          if (isCompositeType(named)) returnTypes.add(named);
        }
        if (selection.selectionSet) for (const type of returnTypes) visit(selection.selectionSet, type);
      }
    }
  };

  const root = schema.getRootType(operation.operation);
  if (root) visit(operation.selectionSet, root);
  return [...denials.values()];
}

export interface OperationCheckOptions {
  /** Refuse a query with any denied field whole, like a mutation (`AUTH_REJECT_PARTIAL`). Default false. */
  readonly rejectPartial: boolean;
}

/**
 * Checks every operation before execution. A mutation (or, with `rejectPartial`, any operation) with a
 * denied field is refused whole with 401/403 and no resolver runs. Queries otherwise execute, and each
 * denied field is refused at its path by the directive's resolver wrapper.
 *
 * What only the objects can decide (`owner:` atoms) is denied during execution. For a mutation, and for a
 * query under `rejectPartial`, such a denial turns the answer into the same whole refusal after execution:
 * 401/403 with the error table's `WWW-Authenticate`, one error, `data: null`. (A mutation's writes are undone
 * by whoever owns its transaction, which sees the errors; this plugin only shapes the answer.)
 */
export function operationCheckPlugin(options: OperationCheckOptions): ApolloServerPlugin<AuthContext> {
  const refusesWhole = (operation: OperationDefinitionNode | undefined) =>
    operation !== undefined && (options.rejectPartial || operation.operation !== "query");
  const hooks: GraphQLRequestListener<AuthContext> = {
    async didResolveOperation({ operation, document, request, schema, contextValue }) {
      // Apollo resolves the operation before this hook; a missing one was already answered with a 400.
      if (!refusesWhole(operation)) return;
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const definition of document.definitions) {
        if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
      }
      const auth = contextValue.auth;
      const denials = findDenials(schema, operation!, fragments, request.variables ?? {}, auth);
      if (denials.length === 0) return;
      auth.noteDenials(denials);
      throw operationDenied(auth.principal === null, denials, auth.posture);
    },
    // Synchronous on purpose: a transaction plugin awaiting its rollback in the same hook then sees this answer.
    async willSendResponse({ operation, contextValue, response }) {
      const auth = contextValue?.auth;
      if (!auth || !refusesWhole(operation)) return;
      const denials = auth.deniedInExecution;
      if (denials.length === 0) return;
      const error = operationDenied(auth.principal === null, denials, auth.posture);
      const { http, ...extensions } = error.extensions as unknown as { http: { status: number; headers: Map<string, string> } };
      response.body = { kind: "single", singleResult: { data: null, errors: [{ message: error.message, extensions }] } };
      response.http.status = http.status;
      for (const [name, value] of http.headers) response.http.headers.set(name, value);
    },
  };
  return { requestDidStart: async () => hooks };
}
