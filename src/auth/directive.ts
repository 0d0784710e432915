import { MapperKind, getDirective, mapSchema } from "@graphql-tools/utils";
import {
  defaultFieldResolver,
  defaultTypeResolver,
  getNamedType,
  getNullableType,
  isListType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  type GraphQLAbstractType,
  type GraphQLFieldConfig,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import type { FieldGuard } from "./guard.js";
import { RequestAuth, type AuthContext } from "./request-auth.js";
import { shadowed, shadowOf, shadowOnResult } from "./shadow.js";
import { ownerHolds, parseRequires, RuleSyntaxError, type Requirement } from "./requirements.js";

/** The directive definitions, semantics in their descriptions. `schema/auth.graphql` is kept identical (a test checks). */
export const authDirectiveTypeDefs = /* GraphQL */ `
"""
Requires a verified caller. Each entry of \`requires\` must hold (AND); an entry is one or more atoms
joined by \`|\`, any one of which suffices (OR). Atoms: \`group:NAME\` (in cognito:groups, exact),
\`scope:NAME\` (one of the token's scopes, exact), \`owner:FIELD\` (the object's FIELD equals the caller's sub).
On a type or interface it applies to every field of it and to every field that returns it; on an interface
field, to that field of every implementation. Rules add up: type, interface, field and return-type rules all apply.
\`enforce: false\` declares a shadow rule: evaluated for every caller, its would-be denials logged and counted
(auth_shadow_denials_total), nobody refused. Repeat the directive to keep a rule enforced while a stricter one runs
in shadow; enforcing a shadow rule (dropping \`enforce: false\`) can only narrow access.
"""
directive @auth(requires: [String!], enforce: Boolean! = true) repeatable on OBJECT | INTERFACE | FIELD_DEFINITION

"""
Declares a type or field open to anonymous callers. It lifts no rule: a field cannot be more open than its type.
Every root field needs an @auth or @public decision, of its own or from its type.
"""
directive @public on OBJECT | FIELD_DEFINITION
`;

/** The schema breaks a rule of the directive grammar; `problems` names every place. */
export class AuthSchemaError extends Error {
  override readonly name = "AuthSchemaError";
  constructor(readonly problems: readonly string[]) {
    super(`@auth rules are invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

interface Declared {
  /** An enforced `@auth` present (with or without requires). */
  readonly auth: boolean;
  readonly public: boolean;
  readonly requirements: readonly Requirement[];
  /** A shadow `@auth(enforce: false)` present, and its entries: evaluated, never refusing. */
  readonly shadowAuth: boolean;
  readonly shadowRequirements: readonly Requirement[];
}

const NONE: Declared = { auth: false, public: false, requirements: [], shadowAuth: false, shadowRequirements: [] };

/**
 * Applies `@auth` / `@public`: validates every rule, refuses the schema (naming each place) on a mistake,
 * precomputes each field's effective rule and wraps `resolve ?? defaultFieldResolver` of every guarded field,
 * so fields without a resolver are protected too. Fields without any rule are left untouched (no cost).
 * Every `@auth` usage on a type or field applies, not only the first: the definition's and each extension's
 * (`extend type`, graphql-js `extendSchema`) or `extensions.directives` entry all hold together (AND).
 */
export function applyAuthDirectives(schema: GraphQLSchema): GraphQLSchema {
  const problems: string[] = [];
  const declaredOn = (place: string, node: Parameters<typeof getDirective>[1], typeFields?: Set<string>): Declared => {
    // Every usage counts: the definition's, each extension's (graphql-js extendSchema, `extend type`) and any
    // in `extensions.directives` (code-first schemas). They AND, so a later usage can only narrow access.
    const all = (getDirective(schema, node, "auth") ?? []) as { requires?: string[] | null; enforce?: boolean | null }[];
    // A shadow rule may sit beside @public: "open today, trying this rule".
    const usages = all.filter((usage) => usage.enforce !== false);
    const shadows = all.filter((usage) => usage.enforce === false);
    const isPublic = getDirective(schema, node, "public")?.[0] !== undefined;
    if (usages.length > 0 && isPublic) problems.push(`${place}: has both @auth and @public`);
    if (all.length === 0) return isPublic ? { ...NONE, public: true } : NONE;
    const parse = (list: typeof all): Requirement[] => {
      const out: Requirement[] = [];
      for (const usage of list) {
        if (usage.requires == null) continue;
        try {
          out.push(...parseRequires(usage.requires));
        } catch (error) {
          if (!(error instanceof RuleSyntaxError)) throw error;
          problems.push(`${place}: ${error.message}`);
        }
      }
      return out;
    };
    const requirements = parse(usages);
    const shadowRequirements = parse(shadows);
    for (const requirement of [...requirements, ...shadowRequirements]) {
      for (const atom of requirement.atoms) {
        if (atom.kind !== "owner") continue;
        if (!typeFields) problems.push(`${place}: "owner:${atom.field}" has no parent object on a root type`);
        else if (!typeFields.has(atom.field)) problems.push(`${place}: "owner:${atom.field}" names a field the type lacks`);
      }
    }
    return { auth: usages.length > 0, public: isPublic, requirements, shadowAuth: shadows.length > 0, shadowRequirements };
  };

  const rootTypes = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean));
  const typeRules = new Map<string, Declared>();
  const fieldRules = new Map<string, Declared>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__") || !(isObjectType(type) || isInterfaceType(type))) continue;
    const fields = new Set(Object.keys(type.getFields()));
    const ownerScope = rootTypes.has(type as GraphQLObjectType) ? undefined : fields;
    typeRules.set(type.name, declaredOn(type.name, type, ownerScope));
    for (const field of Object.values(type.getFields())) {
      fieldRules.set(`${type.name}.${field.name}`, declaredOn(`${type.name}.${field.name}`, field, ownerScope));
    }
  }

  const ruleOf = (name: string) => typeRules.get(name) ?? NONE;
  /** The rule a type passes down: its own plus its interfaces'. */
  const typeChain = (type: GraphQLObjectType | GraphQLInterfaceType): Declared[] => [
    ruleOf(type.name),
    ...type.getInterfaces().map((i) => ruleOf(i.name)),
  ];
  const resultChain = (type: GraphQLNamedType): Declared[] => (isObjectType(type) || isInterfaceType(type) ? typeChain(type) : []);

  const guards = new Map<string, FieldGuard>();
  let nextId = 0;
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__") || !isObjectType(type)) continue;
    const isRoot = rootTypes.has(type);
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const own = fieldRules.get(coordinate) ?? NONE;
      const inherited = [...typeChain(type), ...type.getInterfaces().map((i) => fieldRules.get(`${i.name}.${field.name}`) ?? NONE)];
      const parent = [own, ...inherited];
      const result = resultChain(getNamedType(field.type));
      if (own.public && inherited.some((d) => d.auth)) {
        problems.push(`${coordinate}: @public contradicts an @auth rule of its type or interface`);
      }
      if (isRoot && !own.auth && !own.public && !ruleOf(type.name).auth && !ruleOf(type.name).public) {
        problems.push(`${coordinate}: root field has no @auth or @public decision`);
      }
      const requirements = [
        ...parent.flatMap((d) => d.requirements),
        ...result.flatMap((d) => d.requirements.map((r) => ({ ...r, on: "result" as const }))),
      ];
      const authenticated = [...parent, ...result].some((d) => d.auth);
      const shadow = shadowOf(parent, result, authenticated, requirements);
      // An abstract return type: each possible type's own rule (and its other interfaces') applies when the
      // field resolves to it, so neither __typename nor the count of protected objects reaches a caller the
      // member's rule refuses.
      const named = getNamedType(field.type);
      let members: Map<string, FieldGuard> | undefined;
      if (isAbstractType(named)) {
        for (const member of schema.getPossibleTypes(named)) {
          const extra = typeChain(member).filter((d) => (d.auth || d.shadowAuth) && !result.includes(d));
          const enforcedExtra = extra.filter((d) => d.auth);
          const memberRequirements = enforcedExtra.flatMap((d) => d.requirements.map((r) => ({ ...r, on: "result" as const })));
          // A member's shadow rule is tried on each object the field resolves to, as its enforced rule is checked.
          const memberShadow = shadowOf([], extra, authenticated || enforcedExtra.length > 0, [...requirements, ...memberRequirements]);
          if (enforcedExtra.length === 0 && !memberShadow) continue;
          (members ??= new Map()).set(member.name, {
            id: nextId++,
            coordinate,
            authenticated: enforcedExtra.length > 0,
            requirements: memberRequirements,
            checksResult: memberRequirements.some((r) => r.atoms.some((a) => a.kind === "owner")),
            ...(memberShadow ? { shadow: { ...memberShadow, id: nextId++ } } : {}),
          });
        }
      }
      if (!authenticated && !members && !shadow) continue;
      guards.set(coordinate, {
        id: nextId++,
        coordinate,
        authenticated,
        requirements,
        checksResult: requirements.some((r) => r.on === "result" && r.atoms.some((a) => a.kind === "owner")),
        ...(members ? { members } : {}),
        ...(shadow ? { shadow: { ...shadow, id: nextId++ } } : {}),
      });
    }
  }
  if (problems.length > 0) throw new AuthSchemaError(problems);

  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (config, fieldName, typeName) => {
      const guard = guards.get(`${typeName}.${fieldName}`);
      if (!guard) return config;
      return {
        ...config,
        resolve: guardResolver(guard, config.resolve ?? defaultFieldResolver),
        // A Subscription field's event stream is opened by `subscribe`, which graphql-js calls instead of
        // `resolve` when the operation starts; each event then goes through the guarded `resolve` above.
        ...(config.subscribe ? { subscribe: guardSubscribe(guard, config.subscribe) } : {}),
        extensions: { ...config.extensions, auth: guard },
      } satisfies GraphQLFieldConfig<unknown, unknown>;
    },
  });
}

// Fails closed: a context without our auth state is treated as an anonymous caller.
const ANONYMOUS = new RequestAuth(null, { explain: false });

function guardResolver(guard: FieldGuard, resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
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
function guardSubscribe(guard: FieldGuard, subscribe: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
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
  return names.some((name) => name instanceof Promise) ? Promise.all(names).then(decide) : decide(names as (string | undefined)[]);
}
