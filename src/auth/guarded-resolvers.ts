import {
  defaultTypeResolver,
  getNamedType,
  getNullableType,
  isListType,
  type GraphQLAbstractType,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
} from "graphql";
import type { FieldGuard } from "./guard.js";
import { RequestAuth, type AuthContext } from "./request-auth.js";
import { ownerHolds } from "./requirements.js";
import { shadowed, shadowOnResult } from "./shadow.js";

// Fails closed: a context without our auth state is treated as an anonymous caller.
const ANONYMOUS = new RequestAuth(null, { explain: false });

/**
 * Wraps a guarded field's resolver: the caller's decision for `guard` first (refused fields resolve to null with
 * one error), then `owner:` checks on the parent object before and on the resolved objects after `resolve`, and
 * each object's own type rule for an abstract return type. A shadow rule is evaluated alongside, never refusing.
 */
export function guardResolver(guard: FieldGuard, resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
  return (source, args, context, info) => {
    const auth = (context as Partial<AuthContext> | undefined)?.auth ?? ANONYMOUS;
    if (guard.shadow) return shadowed(guard.shadow, guard.coordinate, auth, source, () => enforced(source, args, context, info));
    return enforced(source, args, context, info);
  };
  function enforced(source: unknown, args: Record<string, unknown>, context: unknown, info: GraphQLResolveInfo): unknown {
    const auth = (context as Partial<AuthContext> | undefined)?.auth ?? ANONYMOUS;
    const decision = auth.decide(guard);
    if (decision.outcome === "deny") return auth.refuseField(info, guard, decision.missing);
    if (decision.outcome === "allow" && !guard.members) return resolve(source, args, context, info);
    const principal = auth.principal;
    const pending = decision.outcome === "owner" ? decision.pending : [];
    const ownerMissing = () => pending.map((r) => r.text);
    if (pending.length > 0 && !ownerHolds(pending, "parent", source, principal!)) return auth.refuseField(info, guard, ownerMissing());
    const result = resolve(source, args, context, info);
    const checksOwner = pending.length > 0 && guard.checksResult;
    if (!checksOwner && !guard.members) return result;
    const check = (resolved: unknown) => {
      // graphql-js accepts any iterable for a list; read it once here and hand execution the same items.
      const value = isIterableList(resolved, info) ? Array.from(resolved) : resolved;
      const items = itemsOf(value);
      // A list is answered whole or not at all: one foreign item refuses the field.
      if (checksOwner && !items.every((item) => item == null || ownerHolds(pending, "result", item, principal!))) {
        return auth.refuseField(info, guard, ownerMissing());
      }
      return guard.members ? checkMembers(guard.members, items, value, auth, context, info) : value;
    };
    return result instanceof Promise ? result.then(check) : check(result);
  }
}

/**
 * Guards the opening of a subscription's event stream: a caller the field's rule refuses gets the whole operation
 * refused (401/403), and no stream is opened. The server's whole-operation check normally refuses such an
 * operation before this runs; this keeps the rule where the field is, whoever executes the schema. (Root fields
 * cannot have `owner:` atoms, so the decision here is final.)
 */
export function guardSubscribe(
  guard: FieldGuard,
  subscribe: GraphQLFieldResolver<unknown, unknown>,
): GraphQLFieldResolver<unknown, unknown> {
  return (source, args, context, info) => {
    const auth = (context as Partial<AuthContext> | undefined)?.auth ?? ANONYMOUS;
    const decision = auth.decide(guard);
    if (decision.outcome === "deny") auth.refuseOperation(guard.coordinate, decision.missing);
    return subscribe(source, args, context, info);
  };
}

const isIterableList = (value: unknown, info: GraphQLResolveInfo): value is Iterable<unknown> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Symbol.iterator in value &&
  isListType(getNullableType(info.returnType));

/** The objects a field resolved to: the value itself, or the items of its (nested) lists. */
function itemsOf(value: unknown): unknown[] {
  if (!Array.isArray(value)) return [value];
  return value.some(Array.isArray) ? value.flatMap(itemsOf) : value;
}

/**
 * Applies the rule of each object's own type to a field with an abstract return type, as graphql-js will
 * resolve that type (the abstract type's `resolveType`, else `__typename` or `isTypeOf`). Like `owner:`
 * checks on lists, one object the caller may not see refuses the whole field: answering the others would
 * still reveal how many protected objects there are.
 */
function checkMembers(
  members: ReadonlyMap<string, FieldGuard>,
  items: readonly unknown[],
  value: unknown,
  auth: RequestAuth,
  context: unknown,
  info: GraphQLResolveInfo,
): unknown {
  const abstractType = getNamedType(info.returnType) as GraphQLAbstractType;
  const resolveType = abstractType.resolveType ?? defaultTypeResolver;
  const present = items.filter((item) => item != null);
  const names = present.map((item) => resolveType(item, context, info, abstractType));
  const decide = (typeNames: readonly (string | undefined)[]) => {
    for (let i = 0; i < present.length; i++) {
      const member = typeNames[i] === undefined ? undefined : members.get(typeNames[i]!);
      if (!member) continue;
      if (member.shadow) shadowOnResult(member.shadow, member.coordinate, auth, present[i]);
      const decision = auth.decide(member);
      if (decision.outcome === "deny") return auth.refuseField(info, member, decision.missing);
      if (decision.outcome === "owner" && !ownerHolds(decision.pending, "result", present[i], auth.principal!)) {
        return auth.refuseField(
          info,
          member,
          decision.pending.map((r) => r.text),
        );
      }
    }
    return value;
  };
  // A resolveType may answer with a promise: then decide once every name is known.
  return names.some((name) => name instanceof Promise)
    ? Promise.all(names.map((name) => Promise.resolve(name))).then(decide)
    : decide(names as (string | undefined)[]);
}
