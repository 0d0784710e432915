import { MapperKind, mapSchema } from "@graphql-tools/utils";
import { defaultFieldResolver, type GraphQLFieldConfig, type GraphQLSchema } from "graphql";
import { readDeclaredRules } from "./declared-rules.js";
import { planFieldGuards } from "./field-guards.js";
import { guardResolver, guardSubscribe } from "./guarded-resolvers.js";

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

/**
 * Applies `@auth` / `@public`: validates every rule, refuses the schema (naming each place) on a mistake,
 * precomputes each field's effective rule and wraps `resolve ?? defaultFieldResolver` of every guarded field,
 * so fields without a resolver are protected too. Fields without any rule are left untouched (no cost).
 * Every `@auth` usage on a type or field applies, not only the first: the definition's and each extension's
 * (`extend type`, graphql-js `extendSchema`) or `extensions.directives` entry all hold together (AND).
 */
export function applyAuthDirectives(schema: GraphQLSchema): GraphQLSchema {
  const problems: string[] = [];
  const guards = planFieldGuards(schema, readDeclaredRules(schema, problems), problems);
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
