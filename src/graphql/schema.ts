import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeExecutableSchema } from "@graphql-tools/schema";
import type { GraphQLSchema } from "graphql";
import { DateTimeResolver, EmailAddressResolver } from "graphql-scalars";
import { applyAuthDirectives } from "../auth/index.js";
import { meResolvers } from "./resolvers/me.js";

export const SCHEMA_DIR = join(import.meta.dirname, "..", "..", "schema");

/** The SDL of every `schema/*.graphql` file, in name order. */
export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".graphql"))
    .sort()
    .map((name) => readFileSync(join(dir, name), "utf8"));
}

/** Builds the executable schema once at start: SDL, resolvers, then the @auth rules (which may refuse it). */
export function buildSchema(): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: [{ DateTime: DateTimeResolver, EmailAddress: EmailAddressResolver }, meResolvers],
  });
  return applyAuthDirectives(schema);
}
