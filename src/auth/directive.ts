import { MapperKind, getDirective, mapSchema } from "@graphql-tools/utils";
import {
  defaultFieldResolver,
  getNamedType,
  isInterfaceType,
  isObjectType,
  type GraphQLFieldConfig,
  type GraphQLFieldResolver,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import type { FieldGuard } from "./guard.js";
import { RequestAuth, type AuthContext } from "./request-auth.js";
import { ownerHolds, parseRequires, RuleSyntaxError, type Requirement } from "./requirements.js";

/** The directive definitions, semantics in their descriptions. `schema/auth.graphql` is kept identical (a test checks). */
export const authDirectiveTypeDefs = /* GraphQL */ `
"""
Requires a verified caller. Each entry of \`requires\` must hold (AND); an entry is one or more atoms
joined by \`|\`, any one of which suffices (OR). Atoms: \`group:NAME\` (in cognito:groups, exact),
\`scope:NAME\` (one of the token's scopes, exact), \`owner:FIELD\` (the object's FIELD equals the caller's sub).
On a type or interface it applies to every field of it and to every field that returns it; on an interface
field, to that field of every implementation. Rules add up: type, interface, field and return-type rules all apply.
"""
directive @auth(requires: [String!]) on OBJECT | INTERFACE | FIELD_DEFINITION

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
  /** `@auth` present (with or without requires). */
  readonly auth: boolean;
  readonly public: boolean;
  readonly requirements: readonly Requirement[];
}

const NONE: Declared = { auth: false, public: false, requirements: [] };

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
    const usages = (getDirective(schema, node, "auth") ?? []) as { requires?: string[] | null }[];
    const isPublic = getDirective(schema, node, "public")?.[0] !== undefined;
    if (usages.length > 0 && isPublic) problems.push(`${place}: has both @auth and @public`);
    if (usages.length === 0) return isPublic ? { ...NONE, public: true } : NONE;
    const requirements: Requirement[] = [];
    for (const usage of usages) {
      if (usage.requires == null) continue;
      try {
        requirements.push(...parseRequires(usage.requires));
      } catch (error) {
        if (!(error instanceof RuleSyntaxError)) throw error;
        problems.push(`${place}: ${error.message}`);
      }
    }
    for (const requirement of requirements) {
      for (const atom of requirement.atoms) {
        if (atom.kind !== "owner") continue;
        if (!typeFields) problems.push(`${place}: "owner:${atom.field}" has no parent object on a root type`);
        else if (!typeFields.has(atom.field)) problems.push(`${place}: "owner:${atom.field}" names a field the type lacks`);
      }
    }
    return { auth: true, public: isPublic, requirements };
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
  const resultChain = (type: GraphQLNamedType): Declared[] =>
    isObjectType(type) || isInterfaceType(type) ? typeChain(type) : [];

  const guards = new Map<string, FieldGuard>();
  let nextId = 0;
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__") || !isObjectType(type)) continue;
    const isRoot = rootTypes.has(type);
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const own = fieldRules.get(coordinate) ?? NONE;
      const inherited = [
        ...typeChain(type),
        ...type.getInterfaces().map((i) => fieldRules.get(`${i.name}.${field.name}`) ?? NONE),
      ];
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
      if (!authenticated) continue;
      guards.set(coordinate, {
        id: nextId++,
        coordinate,
        authenticated,
        requirements,
        checksResult: requirements.some((r) => r.on === "result" && r.atoms.some((a) => a.kind === "owner")),
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
    const decision = auth.decide(guard);
    if (decision.outcome === "allow") return resolve(source, args, context, info);
    if (decision.outcome === "deny") return auth.refuseField(info, guard, decision.missing);
    const principal = auth.principal!;
    const ownerMissing = () => decision.pending.map((r) => r.text);
    if (!ownerHolds(decision.pending, "parent", source, principal)) return auth.refuseField(info, guard, ownerMissing());
    const result = resolve(source, args, context, info);
    if (!guard.checksResult) return result;
    const checkResult = (value: unknown) => {
      const items = Array.isArray(value) ? value : [value];
      // A list is answered whole or not at all: one foreign item refuses the field.
      const allowed = items.every((item) => item == null || ownerHolds(decision.pending, "result", item, principal));
      return allowed ? value : auth.refuseField(info, guard, ownerMissing());
    };
    return result instanceof Promise ? result.then(checkResult) : checkResult(result);
  };
}
