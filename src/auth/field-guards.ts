import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import { NONE, type Declared, type DeclaredRules } from "./declared-rules.js";
import type { FieldGuard } from "./guard.js";
import { shadowOf } from "./shadow.js";

/**
 * Each object field's effective rule, after inheritance: its own declaration, its type's and interfaces', the
 * interface fields it implements, its return type's and, for an abstract return type, each possible type's.
 * Keyed `Type.field`; fields that no rule touches are absent. Mistakes (a `@public` that contradicts an inherited
 * `@auth`, a root field with no decision) are appended to `problems`.
 */
export function planFieldGuards(schema: GraphQLSchema, declared: DeclaredRules, problems: string[]): Map<string, FieldGuard> {
  const { rootTypes, typeRules, fieldRules } = declared;
  const ruleOf = (name: string) => typeRules.get(name) ?? NONE;
  /** The rule a type passes down: its own plus its interfaces'. */
  const typeChain = (type: GraphQLObjectType | GraphQLInterfaceType): Declared[] => [
    ruleOf(type.name),
    ...type.getInterfaces().map((i) => ruleOf(i.name)),
  ];
  const resultChain = (type: GraphQLNamedType): Declared[] => (isObjectType(type) || isInterfaceType(type) ? typeChain(type) : []);

  const guards = new Map<string, FieldGuard>();
  const ids = { next: 0 };
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
      const members = memberGuards(schema, field, coordinate, result, typeChain, ids, { authenticated, requirements });
      if (!authenticated && !members && !shadow) continue;
      guards.set(coordinate, {
        id: ids.next++,
        coordinate,
        authenticated,
        requirements,
        checksResult: requirements.some((r) => r.on === "result" && r.atoms.some((a) => a.kind === "owner")),
        ...(members ? { members } : {}),
        ...(shadow ? { shadow: { ...shadow, id: ids.next++ } } : {}),
      });
    }
  }
  return guards;
}

/**
 * An abstract return type: each possible type's own rule (and its other interfaces') applies when the field
 * resolves to it, so neither __typename nor the count of protected objects reaches a caller the member's rule
 * refuses. Undefined when no possible type adds a rule to the return type's.
 */
function memberGuards(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  coordinate: string,
  result: readonly Declared[],
  typeChain: (type: GraphQLObjectType) => Declared[],
  ids: { next: number },
  fieldRule: Pick<FieldGuard, "authenticated" | "requirements">,
): Map<string, FieldGuard> | undefined {
  const named = getNamedType(field.type);
  if (!isAbstractType(named)) return undefined;
  let members: Map<string, FieldGuard> | undefined;
  for (const member of schema.getPossibleTypes(named)) {
    const extra = typeChain(member).filter((d) => (d.auth || d.shadowAuth) && !result.includes(d));
    const enforcedExtra = extra.filter((d) => d.auth);
    const memberRequirements = enforcedExtra.flatMap((d) => d.requirements.map((r) => ({ ...r, on: "result" as const })));
    // A member's shadow rule is tried on each object the field resolves to, as its enforced rule is checked.
    const memberShadow = shadowOf([], extra, fieldRule.authenticated || enforcedExtra.length > 0, [
      ...fieldRule.requirements,
      ...memberRequirements,
    ]);
    if (enforcedExtra.length === 0 && !memberShadow) continue;
    (members ??= new Map()).set(member.name, {
      id: ids.next++,
      coordinate,
      authenticated: enforcedExtra.length > 0,
      requirements: memberRequirements,
      checksResult: memberRequirements.some((r) => r.atoms.some((a) => a.kind === "owner")),
      ...(memberShadow ? { shadow: { ...memberShadow, id: ids.next++ } } : {}),
    });
  }
  return members;
}
