import { isNonNullType, type FieldNode, type GraphQLResolveInfo } from "graphql";
import { fieldDenied, operationDenied, type DenialExplanation, type ErrorPosture } from "./errors.js";
import type { FieldGuard } from "./guard.js";
import type { Principal } from "./principal.js";
import { decide, type Decision } from "./requirements.js";

/**
 * The auth state of one request: who calls, the decisions already taken (each guard is decided at most
 * once per request, not once per list item) and which denied selections have already been reported.
 */
export class RequestAuth {
  private readonly decisions: (Decision | undefined)[] = [];
  private readonly reported = new Set<string>();
  /** Per denied selection, the list whose items it was last refused in: the next items skip the path work. */
  private readonly refusedInList = new Map<FieldNode, GraphQLResolveInfo["path"]>();

  constructor(
    readonly principal: Principal | null,
    readonly posture: ErrorPosture,
  ) {}

  decide(guard: FieldGuard): Decision {
    return (this.decisions[guard.id] ??= decide(this.principal, guard.authenticated, guard.requirements));
  }

  explain(guard: FieldGuard, missing: readonly string[]): DenialExplanation {
    return { coordinate: guard.coordinate, required: guard.requirements.map((r) => r.text), missing };
  }

  /**
   * Refuses the whole operation from inside a resolver: for rules that depend on a row read in a mutation's
   * transaction (before any write). Answers 401 for an anonymous caller, 403 otherwise.
   */
  refuseOperation(coordinate: string, required: readonly string[]): never {
    throw operationDenied(this.principal === null, [{ coordinate, required, missing: required }], this.posture);
  }

  /**
   * Refuses one field: the first time at a response path, an error there; after that (the same path in the
   * next list item) a silent null, so a denied field in a 1,000-item list costs one error, while two aliases
   * or two spreads of one fragment each get theirs. A non-null field cannot be null without an error of its
   * own, so it throws every time.
   */
  refuseField(info: GraphQLResolveInfo, guard: FieldGuard, missing: readonly string[]): null {
    const node = info.fieldNodes[0]!;
    const nullable = !isNonNullType(info.returnType);
    // graphql-js gives all items of one list the same parent path object: compare it before building strings.
    const item = info.path.prev;
    const list = item !== undefined && typeof item.key === "number" ? item.prev : undefined;
    if (nullable && list !== undefined && this.refusedInList.get(node) === list) return null;
    if (list !== undefined) this.refusedInList.set(node, list);
    const key = pathWithoutIndices(info.path);
    if (nullable && this.reported.has(key)) return null;
    this.reported.add(key);
    throw fieldDenied(this.principal === null, this.explain(guard, missing), this.posture);
  }
}

/** `orders.3.items.0.product` -> `orders.items.product`: the same selection in every list item. */
function pathWithoutIndices(path: GraphQLResolveInfo["path"] | undefined): string {
  let key = "";
  for (let p = path; p; p = p.prev) if (typeof p.key === "string") key = key === "" ? p.key : `${p.key}.${key}`;
  return key;
}

/** What the auth layer adds to every GraphQL context. */
export interface AuthContext {
  /** The verified caller, or `null` for an anonymous one. */
  readonly principal: Principal | null;
  readonly auth: RequestAuth;
}
