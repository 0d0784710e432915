import { isNonNullType, type FieldNode, type GraphQLResolveInfo } from "graphql";
import { fieldDenied, operationDenied, type DenialExplanation, type ErrorPosture } from "./errors.js";
import { guardOf, type FieldGuard, type ShadowGuard } from "./guard.js";
import type { Principal } from "./principal.js";
import { decide, ownerHolds, type Decision } from "./requirements.js";

/** A row a lookup answered as absent because the caller may not see it: for the audit log, never for the client. */
export interface ConcealedRow {
  /** `Type.field` of the lookup. */
  readonly coordinate: string;
  /** The response path of the field that looked it up. */
  readonly path: string;
}

/**
 * The auth state of one request: who calls, the decisions already taken (each guard is decided at most
 * once per request, not once per list item) and which denied selections have already been reported.
 */
export class RequestAuth {
  private readonly decisions: (Decision | undefined)[] = [];
  // These stay undefined on the common path (nothing denied, nothing concealed): no allocation per request.
  private reported: Set<string> | undefined;
  /** Per denied selection, the list whose items it was last refused in: the next items skip the path work. */
  private refusedInList: Map<FieldNode, GraphQLResolveInfo["path"]> | undefined;
  private deniedDuringExecution: Map<string, DenialExplanation> | undefined;
  private concealedRows: ConcealedRow[] | undefined;
  private shadowDenied: Map<string, DenialExplanation> | undefined;
  private deniedBeforeExecution: readonly DenialExplanation[] | undefined;
  /** Every guard decided, in order, for decision records (`AUTH_AUDIT=all`): one push per guard and request. */
  private decidedGuards: FieldGuard[] | undefined;

  constructor(
    readonly principal: Principal | null,
    readonly posture: ErrorPosture,
  ) {}

  decide(guard: FieldGuard): Decision {
    const known = this.decisions[guard.id];
    if (known !== undefined) return known;
    (this.decidedGuards ??= []).push(guard);
    return (this.decisions[guard.id] = decide(this.principal, guard.authenticated, guard.requirements));
  }

  /** Decides a field's shadow rule (once per request); the caller records, never refuses. */
  decideShadow(shadow: ShadowGuard): Decision {
    return (this.decisions[shadow.id] ??= decide(this.principal, shadow.authenticated, shadow.requirements));
  }

  /** Records that the shadow rule of `coordinate` would have refused this caller (`missing`: the entries that failed). */
  shadowDeny(coordinate: string, shadow: ShadowGuard, missing: readonly string[]): void {
    if (this.shadowDenied?.has(coordinate)) return;
    const required = shadow.requirements.length > 0 ? shadow.requirements.map((r) => r.text) : ["a verified caller"];
    (this.shadowDenied ??= new Map()).set(coordinate, { coordinate, required, missing });
  }

  /** Would-be denials of shadow rules in this request, once per coordinate: nothing was refused for them. */
  get shadowDenials(): readonly DenialExplanation[] {
    return this.shadowDenied ? [...this.shadowDenied.values()] : NONE;
  }

  /** The guards decided in this request, each once, in the order first decided (decision records). */
  get decided(): readonly FieldGuard[] {
    return this.decidedGuards ?? NO_GUARDS;
  }

  /** Denials found before execution (the whole-operation check), kept with those of execution for decision records. */
  noteDenials(explanations: readonly DenialExplanation[]): void {
    this.deniedBeforeExecution = explanations;
  }

  /** Every denial of this request: the whole-operation check's, then execution's (decision records). */
  get denials(): readonly DenialExplanation[] {
    const before = this.deniedBeforeExecution ?? NONE;
    return this.deniedDuringExecution ? [...before, ...this.deniedDuringExecution.values()] : before;
  }

  explain(guard: FieldGuard, missing: readonly string[]): DenialExplanation {
    return { coordinate: guard.coordinate, required: guard.requirements.map((r) => r.text), missing };
  }

  /**
   * Refuses the whole operation from inside a resolver: for rules that depend on a row read in a mutation's
   * transaction (before any write). Answers 401 for an anonymous caller, 403 otherwise.
   */
  refuseOperation(coordinate: string, required: readonly string[]): never {
    const explanation = { coordinate, required, missing: required };
    this.recordDenial(explanation);
    throw operationDenied(this.principal === null, [explanation], this.posture);
  }

  /**
   * Every denial decided while the operation executed (owner checks, `refuseOperation`), once per rule. A
   * mutation, or a query under `AUTH_REJECT_PARTIAL`, with any of them is refused whole after execution.
   */
  get deniedInExecution(): readonly DenialExplanation[] {
    return this.deniedDuringExecution ? [...this.deniedDuringExecution.values()] : [];
  }

  /**
   * For a field that looks a row up by id: whether the field's rule lets this caller receive `row` (the row's
   * `owner:` fields are read as the field's result). A row it does not is to be answered exactly as an id that
   * matches nothing, so "not yours" and "does not exist" cannot be told apart; call `conceal` to audit it.
   */
  mayReturn(info: GraphQLResolveInfo, row: unknown): boolean {
    const guard = guardOf(info.parentType.getFields()[info.fieldName]!);
    if (!guard) return true;
    const decision = this.decide(guard);
    if (decision.outcome !== "owner") return decision.outcome === "allow";
    // Parent-side owner atoms were checked by the directive's wrapper before the resolver ran.
    return ownerHolds(decision.pending, "result", row, this.principal!);
  }

  /** Records, for the audit log only, that a lookup answered "no such row" for a row that exists. */
  conceal(info: GraphQLResolveInfo): void {
    (this.concealedRows ??= []).push({ coordinate: `${info.parentType.name}.${info.fieldName}`, path: pathWithoutIndices(info.path) });
  }

  /** The rows this request's lookups concealed (see `conceal`). */
  get concealed(): readonly ConcealedRow[] {
    return this.concealedRows ?? NO_ROWS;
  }

  private recordDenial(explanation: DenialExplanation): void {
    (this.deniedDuringExecution ??= new Map()).set(explanation.coordinate, explanation);
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
    if (nullable && list !== undefined && this.refusedInList?.get(node) === list) return null;
    if (list !== undefined) (this.refusedInList ??= new Map()).set(node, list);
    const key = pathWithoutIndices(info.path);
    if (nullable && this.reported?.has(key)) return null;
    (this.reported ??= new Set()).add(key);
    const explanation = this.explain(guard, missing);
    this.recordDenial(explanation);
    throw fieldDenied(this.principal === null, explanation, this.posture);
  }
}

// Shared empty answers of the getters: the common request (nothing denied, concealed or shadowed) allocates nothing.
const NONE: readonly DenialExplanation[] = Object.freeze([]);
const NO_GUARDS: readonly FieldGuard[] = Object.freeze([]);
const NO_ROWS: readonly ConcealedRow[] = Object.freeze([]);

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
