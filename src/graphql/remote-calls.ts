import {
  getArgumentValues,
  getDirectiveValues,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";

/**
 * No remote call (Cognito, anything over the network) runs while a mutation's transaction holds a pooled
 * connection. A root mutation field that needs one declares a step (`RemoteSteps`); the steps of the fields an
 * operation selects run before its transaction opens (`runRemoteSteps`), each through the request's `RemoteCalls`,
 * which remembers the answer; the resolver then asks `RemoteCalls` for the same key and gets it without waiting.
 * Once the transaction is open the request's `RemoteCalls` is sealed: a call that was not made before throws, so
 * an undeclared remote call inside a transaction is a loud bug, never a silent stall.
 */

/** A remote call was asked for inside a transaction without having been made before it (a missing `RemoteSteps` entry). */
export class RemoteCallInTransactionError extends Error {
  override readonly name = "RemoteCallInTransactionError";
}

/** One request's remote calls, made once per key. */
export class RemoteCalls {
  // Made on the first call: most requests (queries) make none, and this object is built for every request.
  private calls: Map<string, Promise<unknown>> | undefined;
  private sealed = false;

  /**
   * The answer of `run`, called at most once per `key` in this request. After `seal()`, only keys already called
   * answer; any other throws `RemoteCallInTransactionError`.
   */
  call<T>(key: string, run: () => Promise<T>): Promise<T> {
    let call = this.calls?.get(key) as Promise<T> | undefined;
    if (call) return call;
    if (this.sealed) {
      return Promise.reject(
        new RemoteCallInTransactionError(
          `Remote call "${key}" inside a transaction: declare it as a step of its root field (src/graphql/remote-steps.ts)`,
        ),
      );
    }
    call = run();
    (this.calls ??= new Map()).set(key, call);
    return call;
  }

  /** From now on no new remote call is made (the operation's transaction is open). */
  seal(): void {
    this.sealed = true;
  }
}

/**
 * The remote work of root mutation fields, by field name: given the field's coerced arguments and the request's
 * context, it makes its remote calls through the context's `RemoteCalls` (with the keys the resolver will use) and
 * never throws (a failed lookup answers its fallback, as the resolver would).
 */
export type RemoteSteps<TContext> = Readonly<Record<string, (args: Record<string, unknown>, context: TContext) => Promise<unknown>>>;

export interface RemoteStepRequest<TContext> {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  /** The variables as the client sent them. */
  readonly variables: Readonly<Record<string, unknown>> | undefined;
  readonly context: TContext;
}

/**
 * Runs the steps of every root field the mutation selects (aliases, fragments and `@skip`/`@include` taken into
 * account), concurrently, and waits for them. Each step is bounded by its own calls' deadlines. Fields whose
 * arguments or variables do not coerce are skipped: execution refuses them before their resolver runs.
 */
export async function runRemoteSteps<TContext>(steps: RemoteSteps<TContext>, request: RemoteStepRequest<TContext>): Promise<void> {
  const mutationType = request.schema.getMutationType();
  if (!mutationType || request.operation.operation !== "mutation") return;
  const coerced = getVariableValues(request.schema, request.operation.variableDefinitions ?? [], request.variables ?? {});
  if (coerced.errors) return;
  const variables = coerced.coerced;
  const fields = mutationType.getFields();
  const work: Promise<unknown>[] = [];
  for (const node of rootFields(request.document, request.operation.selectionSet, variables)) {
    const step = steps[node.name.value];
    const definition = fields[node.name.value];
    if (!step || !definition) continue;
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(definition, node, variables);
    } catch {
      continue;
    }
    work.push(step(args, request.context).catch(() => undefined));
  }
  await Promise.all(work);
}

/** The root field nodes an operation selects, through inline fragments and fragment spreads (each spread once). */
function rootFields(document: DocumentNode, selectionSet: SelectionSetNode, variables: Record<string, unknown>): FieldNode[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const found: FieldNode[] = [];
  const visited = new Set<string>();
  // An explicit stack, not recursion: fragment nesting is the client's to choose (validation rules out cycles).
  const stack: SelectionSetNode[] = [selectionSet];
  while (stack.length > 0) {
    for (const selection of stack.pop()!.selections) {
      if (!included(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) found.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) stack.push(selection.selectionSet);
      else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) stack.push(fragment.selectionSet);
      }
    }
  }
  return found;
}

function included(node: Parameters<typeof getDirectiveValues>[1], variables: Record<string, unknown>): boolean {
  try {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  } catch {
    return true;
  }
}
