import type { GraphQLField } from "graphql";
import type { Requirement } from "./requirements.js";

/**
 * The effective rule of one object field after inheritance (type, interfaces, field, interface fields,
 * return type), computed once when the schema is built and kept on the field's `extensions.auth`.
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
}

export function guardOf(field: GraphQLField<unknown, unknown>): FieldGuard | undefined {
  return (field.extensions as { auth?: FieldGuard } | undefined)?.auth;
}
