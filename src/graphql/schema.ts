import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeExecutableSchema } from "@graphql-tools/schema";
import type { GraphQLSchema } from "graphql";
import { DateTimeResolver, EmailAddressResolver, JSONObjectResolver, NonNegativeIntResolver, PositiveIntResolver } from "graphql-scalars";
import { applyAuthDirectives } from "../auth/index.js";
import type { Resolvers } from "../__generated__/resolvers.js";
import { int32Scalar } from "./input-values.js";
import { catalogResolvers } from "./resolvers/catalog.js";
import { meResolvers } from "./resolvers/me.js";
import { orderResolvers } from "./resolvers/orders.js";
import { sessionResolvers } from "./resolvers/sessions.js";

/**
 * The schema files: `schema/` at the repository root (from `src/graphql/` or `dist/graphql/`), or `schema/`
 * beside the one-file Lambda bundle, where `npm run build:lambda` copies them.
 */
export const SCHEMA_DIR = existsSync(join(import.meta.dirname, "schema"))
  ? join(import.meta.dirname, "schema")
  : join(import.meta.dirname, "..", "..", "schema");

/** The SDL of every `schema/*.graphql` file, in name order. */
export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".graphql"))
    .sort()
    .map((name) => readFileSync(join(dir, name), "utf8"));
}

const scalars: Resolvers = {
  DateTime: DateTimeResolver,
  EmailAddress: EmailAddressResolver,
  JSONObject: JSONObjectResolver,
  // Money, stock and quantities live in 32-bit integer columns.
  NonNegativeInt: int32Scalar(NonNegativeIntResolver),
  PositiveInt: int32Scalar(PositiveIntResolver),
};

/**
 * Builds the executable schema once at start: SDL, resolvers, then the @auth rules (which may refuse it).
 * `dir` replaces `schema/` (tools and tests check other schema files against the same rules).
 */
export function buildSchema(dir = SCHEMA_DIR): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(dir),
    resolvers: [scalars, meResolvers, catalogResolvers, orderResolvers, sessionResolvers],
  });
  return applyAuthDirectives(schema);
}
