import { isNonNullType, type FieldNode, type GraphQLResolveInfo } from "graphql";
import { fieldDenied, type DenialExplanation, type ErrorPosture } from "./errors.js";
import type { FieldGuard } from "./guard.js";
import type { Principal } from "./principal.js";
import { decide, type Decision } from "./requirements.js";

/**
 * The auth state of one request: who calls, the decisions already taken (each guard is decided at most
 * once per request, not once per list item) and which denied selections have already been reported.
 */
export class RequestAuth {
  private readonly decisions: (Decision | undefined)[] = [];
  private readonly reported = new Set<FieldNode>();

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
   * Refuses one field: the first time for a selection, an error at its path; after that (the same selection
   * in the next list item) a silent null, so a denied field in a 1,000-item list costs one error.
   * A non-null field cannot be null without an error of its own, so it throws every time.
   */
  refuseField(info: GraphQLResolveInfo, guard: FieldGuard, missing: readonly string[]): null {
    const node = info.fieldNodes[0]!;
    if (this.reported.has(node) && !isNonNullType(info.returnType)) return null;
    this.reported.add(node);
    throw fieldDenied(this.principal === null, this.explain(guard, missing), this.posture);
  }
}

/** What the auth layer adds to every GraphQL context. */
export interface AuthContext {
  /** The verified caller, or `null` for an anonymous one. */
  readonly principal: Principal | null;
  readonly auth: RequestAuth;
}
