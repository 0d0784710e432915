import {
  getNamedType,
  type ASTNode,
  isCompositeType,
  isObjectType,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { guardOf, type FieldGuard, type Principal } from "../auth/index.js";
import { decide } from "../auth/requirements.js";

/**
 * One execution of a subscription event shared by the subscribers whose results cannot differ (issue #24:
 * "subscribers with the same selection and the same decision may share one execution result").
 *
 * Two subscribers of the same event get the same result when they run the same operation (same parsed document,
 * which the document cache makes one object per text; same operation name; same values of the variables read
 * below the root field) and the same principal-dependent inputs. What a result can depend on in the principal:
 * - the rules (`@auth`): a group or scope atom reads the groups and scopes, an `owner:` atom the `sub`;
 * - a resolver reading the principal: only root fields do in this schema (`myOrders`, the mutations,
 *   `myOrderEvents`' `subscribe`, which picks the stream, not the event's fields).
 * So the key holds the principal's kind, groups and scopes, and its `sub` as soon as any rule reachable in the
 * selection (shadow rules included: the decision records of each subscriber read them) is left to an `owner:` atom for this principal (no group or scope atom of the entry holds). A staff
 * member reading `order { customerEmail }` (`owner:customerId|group:support`) is then keyed by `sub` and shares
 * with nobody; the same staff member reading `order { id status }` shares with every other staff member.
 *
 * The root field's own arguments are not in the key: they choose the stream (`after`), and a Subscription
 * field's `resolve` hands the event through without reading them (`src/graphql/resolvers/orders.ts`). A new
 * Subscription field whose `resolve` reads its arguments must not be shared this way.
 *
 * A result is shared only among subscribers of one event object (the feed hands the same object to each); the
 * map of an event goes with the event.
 */
export function createSharedExecution<T>(): SharedExecution<T> {
  const byEvent = new WeakMap<object, Map<string, Promise<T>>>();
  return function sharedExecution(event, key, execute) {
    if (key === undefined || typeof event !== "object" || event === null) return execute();
    let results = byEvent.get(event);
    if (!results) byEvent.set(event, (results = new Map()));
    let result = results.get(key);
    if (!result) results.set(key, (result = execute()));
    return result;
  };
}

/**
 * The execution of `event` for the sharing `key`: the first caller's `execute`, which later callers with the same
 * key and event await instead of executing. An event that is not an object (a unit test's counter) or a call
 * without key executes on its own.
 */
export type SharedExecution<T> = (event: unknown, key: string | undefined, execute: () => Promise<T>) => Promise<T>;

/** The operation part of the key, per parsed document and operation name. */
const operationKeys = new WeakMap<DocumentNode, Map<string, OperationShape>>();
let nextDocumentId = 0;

interface OperationShape {
  readonly id: string;
  readonly operation: OperationDefinitionNode | undefined;
  readonly fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  /** The variables read below the root field (its own arguments excluded), sorted. */
  readonly variables: readonly string[];
}

function shapeOf(document: DocumentNode, operationName: string | null | undefined): OperationShape {
  let shapes = operationKeys.get(document);
  if (!shapes) operationKeys.set(document, (shapes = new Map()));
  const name = operationName ?? "";
  let shape = shapes.get(name);
  if (shape) return shape;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  let operation: OperationDefinitionNode | undefined;
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    else if (d.kind === Kind.OPERATION_DEFINITION && (operationName ? d.name?.value === operationName : operation === undefined))
      operation = d;
  }
  // Variables below the root field, fragments included (every fragment: over-approximating only makes fewer
  // subscribers share).
  const variables = new Set<string>();
  const collect = (node: ASTNode) => visit(node, { Variable: (v) => void variables.add(v.name.value) });
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) collect(d);
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind !== Kind.FIELD) collect(selection);
    else if (selection.selectionSet) collect(selection.selectionSet);
  }
  shape = { id: String(nextDocumentId++), operation, fragments, variables: [...variables].sort() };
  shapes.set(name, shape);
  return shape;
}

/**
 * The sharing key of a subscription for `principal` (see `createSharedExecution`), or `undefined` when the
 * operation cannot be found (it then executes on its own). Computed once per subscription and principal (the
 * caller keeps it until a refreshed token brings another principal).
 */
export function sharingKeyOf(args: ExecutionArgs, principal: Principal | null): string | undefined {
  const shape = shapeOf(args.document, args.operationName);
  if (!shape.operation) return undefined;
  const values = (args.variableValues ?? {}) as Record<string, unknown>;
  const variables = JSON.stringify(shape.variables.map((name) => values[name] ?? null));
  let who: string;
  if (principal === null) who = "anonymous";
  else {
    const owner = leftToOwner(args.schema, shape.operation, shape.fragments, principal);
    who = JSON.stringify([principal.kind, [...principal.groups].sort(), [...principal.scopes].sort(), owner ? principal.sub : null]);
  }
  return `${shape.id}\n${args.operationName ?? ""}\n${variables}\n${who}`;
}

/**
 * Whether a rule reachable in the operation is decided by an `owner:` atom for `principal` (the result then
 * depends on its `sub`). Every selection is visited, `@skip`/`@include` ignored (which can only add rules);
 * each fragment once, so the walk is bounded by the document's size.
 */
function leftToOwner(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  principal: Principal,
): boolean {
  const seen = new Set<string>();
  const pending: { set: SelectionSetNode; type: GraphQLCompositeType }[] = [];
  const root = schema.getSubscriptionType();
  if (!root) return true;
  pending.push({ set: operation.selectionSet, type: root });
  const owned = (guard: FieldGuard | undefined): boolean => {
    if (!guard) return false;
    if (decide(principal, guard.authenticated, guard.requirements).outcome === "owner") return true;
    // A shadow rule changes no result, but each subscriber's decision records and shadow-denial counts read it.
    if (guard.shadow && decide(principal, guard.shadow.authenticated, guard.shadow.requirements).outcome === "owner") return true;
    for (const member of guard.members?.values() ?? []) if (owned(member)) return true;
    return false;
  };
  for (let next = pending.pop(); next; next = pending.pop()) {
    for (const selection of next.set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : next.type;
        if (type && isCompositeType(type)) pending.push({ set: selection.selectionSet, type });
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments[selection.name.value];
        if (!fragment || seen.has(selection.name.value)) continue;
        seen.add(selection.name.value);
        const type = schema.getType(fragment.typeCondition.name.value);
        if (type && isCompositeType(type)) pending.push({ set: fragment.selectionSet, type });
      } else if (fieldLeftToOwner(schema, selection, next.type, owned, pending)) return true;
    }
  }
  return false;
}

function fieldLeftToOwner(
  schema: GraphQLSchema,
  selection: FieldNode,
  parent: GraphQLCompositeType,
  owned: (guard: FieldGuard | undefined) => boolean,
  pending: { set: SelectionSetNode; type: GraphQLCompositeType }[],
): boolean {
  if (selection.name.value.startsWith("__")) return false;
  const candidates = isObjectType(parent) ? [parent] : schema.getPossibleTypes(parent);
  for (const type of candidates) {
    const field = type.getFields()[selection.name.value];
    if (!field) continue;
    if (owned(guardOf(field))) return true;
    const named = getNamedType(field.type);
    if (selection.selectionSet && isCompositeType(named)) pending.push({ set: selection.selectionSet, type: named });
  }
  return false;
}
