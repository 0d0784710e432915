import type { GraphQLField } from "graphql";
import type { Requirement } from "./requirements.js";

/**
 * The effective rule of one object field after inheritance (type, interfaces, field, interface fields,
 * return type, and the possible types of an abstract return type), computed once when the schema is built and kept on the field's `extensions.auth`.
 */
export interface FieldGuard {
  /** Dense index for the per-request decision cache. */
  readonly id: number;
  /** `Type.field`. */
  readonly coordinate: string;
  /** Some `@auth` applies: an anonymous caller is refused even where `requirements` is empty. */
  readonly authenticated: boolean;
  /** Every entry must hold (AND). */
  readonly requirements: readonly Requirement[];
  /** Some requirement reads `owner:` from the returned object, so results are checked as they resolve. */
  readonly checksResult: boolean;
  /**
   * Only on a field whose return type is a union or interface: by possible type's name, the rule that type
   * adds (its own `@auth` and its other interfaces'), checked on each object as the field resolves to it.
   */
  readonly members?: ReadonlyMap<string, FieldGuard>;
  /** Shadow rules (`@auth(enforce: false)`) that add to the enforced rule: evaluated, would-be denials recorded, nothing refused. */
  readonly shadow?: ShadowGuard;
}

/** What a field's shadow rules add to its enforced rule, after the same inheritance as enforced rules. */
export interface ShadowGuard {
  /** Dense index for the per-request decision cache, distinct from every guard's. */
  readonly id: number;
  /** A shadow rule needs a verified caller where the enforced rule does not. */
  readonly authenticated: boolean;
  /** Entries the enforced rule lacks; every one must hold (AND). */
  readonly requirements: readonly Requirement[];
}

export function guardOf(field: GraphQLField<unknown, unknown>): FieldGuard | undefined {
  return (field.extensions as { auth?: FieldGuard } | undefined)?.auth;
}
