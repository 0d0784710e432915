import { getDirective } from "@graphql-tools/utils";
import { isInterfaceType, isObjectType, type GraphQLObjectType, type GraphQLSchema } from "graphql";
import { parseRequires, RuleSyntaxError, type Requirement } from "./requirements.js";

/** What one type or field declares with `@auth` / `@public`, before any inheritance. */
export interface Declared {
  /** An enforced `@auth` present (with or without requires). */
  readonly auth: boolean;
  readonly public: boolean;
  readonly requirements: readonly Requirement[];
  /** A shadow `@auth(enforce: false)` present, and its entries: evaluated, never refusing. */
  readonly shadowAuth: boolean;
  readonly shadowRequirements: readonly Requirement[];
}

export const NONE: Declared = { auth: false, public: false, requirements: [], shadowAuth: false, shadowRequirements: [] };

/** The declarations of a schema's object and interface types and of their fields, keyed `Type` and `Type.field`. */
export interface DeclaredRules {
  readonly rootTypes: ReadonlySet<GraphQLObjectType>;
  readonly typeRules: ReadonlyMap<string, Declared>;
  readonly fieldRules: ReadonlyMap<string, Declared>;
}

type Usage = { requires?: string[] | null; enforce?: boolean | null };

/**
 * Reads every `@auth` / `@public` usage on the schema's object and interface types and their fields, and validates
 * it: each mistake is appended to `problems` (naming the place), never thrown, so the caller can report them all.
 */
export function readDeclaredRules(schema: GraphQLSchema, problems: string[]): DeclaredRules {
  const rootTypes = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter((t) => t != null));
  const typeRules = new Map<string, Declared>();
  const fieldRules = new Map<string, Declared>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__") || !(isObjectType(type) || isInterfaceType(type))) continue;
    const fields = new Set(Object.keys(type.getFields()));
    const ownerScope = rootTypes.has(type as GraphQLObjectType) ? undefined : fields;
    typeRules.set(type.name, declaredOn(schema, problems, type.name, type, ownerScope));
    for (const field of Object.values(type.getFields())) {
      fieldRules.set(`${type.name}.${field.name}`, declaredOn(schema, problems, `${type.name}.${field.name}`, field, ownerScope));
    }
  }
  return { rootTypes, typeRules, fieldRules };
}

function declaredOn(
  schema: GraphQLSchema,
  problems: string[],
  place: string,
  node: Parameters<typeof getDirective>[1],
  typeFields?: Set<string>,
): Declared {
  // Every usage counts: the definition's, each extension's (graphql-js extendSchema, `extend type`) and any
  // in `extensions.directives` (code-first schemas). They AND, so a later usage can only narrow access.
  const all = (getDirective(schema, node, "auth") ?? []) as Usage[];
  // A shadow rule may sit beside @public: "open today, trying this rule".
  const usages = all.filter((usage) => usage.enforce !== false);
  const shadows = all.filter((usage) => usage.enforce === false);
  const isPublic = getDirective(schema, node, "public")?.[0] !== undefined;
  if (usages.length > 0 && isPublic) problems.push(`${place}: has both @auth and @public`);
  if (all.length === 0) return isPublic ? { ...NONE, public: true } : NONE;
  const requirements = parseUsages(usages, place, problems);
  const shadowRequirements = parseUsages(shadows, place, problems);
  for (const requirement of [...requirements, ...shadowRequirements]) {
    for (const atom of requirement.atoms) {
      if (atom.kind !== "owner") continue;
      if (!typeFields) problems.push(`${place}: "owner:${atom.field}" has no parent object on a root type`);
      else if (!typeFields.has(atom.field)) problems.push(`${place}: "owner:${atom.field}" names a field the type lacks`);
    }
  }
  return { auth: usages.length > 0, public: isPublic, requirements, shadowAuth: shadows.length > 0, shadowRequirements };
}

function parseUsages(list: readonly Usage[], place: string, problems: string[]): Requirement[] {
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
}
