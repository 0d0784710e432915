import {
  GraphQLError,
  Kind,
  SingleFieldSubscriptionsRule,
  visit,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type ValidationRule,
} from "graphql";

const CONDITIONS = new Set(["skip", "include"]);

/**
 * The first `@skip`/`@include` on a subscription's top-level selection (on a root field, a root fragment spread,
 * an inline fragment, or inside a fragment spread there), or `undefined`. Iterative, each fragment visited once.
 * The GraphQL specification (October 2021 onwards, "Single root field") refuses such a document: whether the
 * subscription has a root field would depend on variables. graphql-js 16 evaluates the directive without
 * variables instead and throws, which answered 500 over HTTP and closed the whole socket (4500) over WebSocket.
 */
export function conditionalRootSelection(operation: OperationDefinitionNode, document: DocumentNode): ASTNode | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seen = new Set<string>();
  const pending: SelectionNode[] = [...operation.selectionSet.selections];
  for (let selection = pending.pop(); selection; selection = pending.pop()) {
    const condition = selection.directives?.find((d) => CONDITIONS.has(d.name.value));
    if (condition) return condition;
    if (selection.kind === Kind.INLINE_FRAGMENT) pending.push(...selection.selectionSet.selections);
    else if (selection.kind === Kind.FRAGMENT_SPREAD && !seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) pending.push(...fragment.selectionSet.selections);
    }
  }
  return undefined;
}

/**
 * graphql-js's `SingleFieldSubscriptionsRule` made safe: a conditional top-level selection is reported as a
 * validation error (the specification's rule) instead of throwing, and anything the stock rule still throws
 * becomes a validation error too. The WebSocket transport validates with it in place of the stock rule.
 */
export const SafeSingleFieldSubscriptionsRule: ValidationRule = (context) => {
  const stock = SingleFieldSubscriptionsRule(context) as { OperationDefinition: (node: OperationDefinitionNode) => void };
  return {
    OperationDefinition(node) {
      if (node.operation !== "subscription") return;
      const condition = conditionalRootSelection(node, context.getDocument());
      if (condition) {
        const name = node.name ? `Subscription "${node.name.value}"` : "Anonymous Subscription";
        context.reportError(
          new GraphQLError(`${name} must not use "@skip" or "@include" directives in the top level selection.`, { nodes: condition }),
        );
        return;
      }
      try {
        stock.OperationDefinition(node);
      } catch (error) {
        context.reportError(
          error instanceof GraphQLError ? error : new GraphQLError(String((error as Error)?.message ?? error), { nodes: node }),
        );
      }
    },
  };
};

/**
 * For Apollo, which always runs the stock rule before ours: a document whose subscription has a conditional
 * top-level selection, with every `@skip`/`@include` removed, so validation reports it (subscriptions are refused
 * over HTTP and Lambda anyway, 400) instead of throwing. Any other document is returned as it is.
 */
export function withoutThrowingConditions(document: DocumentNode): DocumentNode {
  const conditional = document.definitions.some(
    (d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === "subscription" && conditionalRootSelection(d, document) !== undefined,
  );
  if (!conditional) return document;
  return visit(document, { Directive: (node) => (CONDITIONS.has(node.name.value) ? null : undefined) });
}
