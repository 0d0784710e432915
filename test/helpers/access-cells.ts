import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import type { AccessManifest, FieldAccess } from "../../src/graphql/access-manifest.js";

/**
 * The access matrix's cells, generated from the access manifest (the decisions) and the live schema (how to reach
 * each field): every root field, and every field whose rule is not the one all fields of its type share, against
 * every principal class. Nothing here names a field of the product: a field added to the schema gets its cells.
 */

/** Who calls: the claims that decide (groups, scopes, sub), or nobody, or a revoked session. */
export interface PrincipalClass {
  readonly name: string;
  readonly anonymous?: boolean;
  readonly revoked?: boolean;
  readonly sub: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
}

/** A row the generated operations look up by id, and the values of its `owner:` fields. */
export interface SampleRow {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
}

export type Expected =
  | { readonly kind: "allowed" }
  /** Refused by the rule at `coordinate`: whole (a mutation, 401/403) or at `path` (a query, 200). */
  | {
      readonly kind: "denied";
      readonly code: "UNAUTHENTICATED" | "FORBIDDEN";
      readonly coordinate: string;
      readonly path: string;
      readonly whole: boolean;
    }
  /** An `owner:` rule on a looked-up row: answered as if no such row existed. */
  | { readonly kind: "concealed"; readonly coordinate: string; readonly whole: boolean }
  /**
   * An `owner:` rule on a row the root field produces itself (e.g. a created one), whose owner the manifest cannot
   * know: the rule must let the caller reach execution, and only an owner denial at `coordinate` may follow.
   */
  | { readonly kind: "owner-checked"; readonly coordinate: string; readonly whole: boolean }
  /** The token is refused before anything is decided. */
  | { readonly kind: "refused"; readonly reason: "TOKEN_REVOKED" };

export interface Cell {
  /** `Type.field` the cell is about. */
  readonly coordinate: string;
  readonly principal: PrincipalClass;
  readonly operation: "query" | "mutation" | "subscription";
  /** The generated document. */
  readonly document: string;
  readonly expected: Expected;
}

interface Step {
  readonly type: GraphQLObjectType;
  readonly field: GraphQLField<unknown, unknown>;
  readonly access: FieldAccess;
  readonly args: string;
  /** The row this step returns, when it looked one up by id. */
  readonly row: SampleRow | undefined;
}

const ROOTS = ["Query", "Mutation", "Subscription"] as const;
const MAX_PATH = 4;

/**
 * The fields that get cells: every root field, and every other field whose rule differs from what every field of
 * its type has (its own `@auth`, an inherited return-type rule, an abstract type's member rules).
 */
export function cellFields(manifest: AccessManifest): string[] {
  const out: string[] = [];
  for (const [typeName, fields] of Object.entries(manifest.types)) {
    const accesses = Object.values(fields);
    const shared = accesses.map(ruleKeys).reduce((a, b) => new Set([...a].filter((k) => b.has(k))));
    for (const [fieldName, access] of Object.entries(fields)) {
      const own = [...ruleKeys(access)].some((k) => !shared.has(k)) || access.members !== undefined;
      if ((ROOTS as readonly string[]).includes(typeName) || own) out.push(`${typeName}.${fieldName}`);
    }
  }
  return out;
}

/** A field's enforced rule as comparable keys: signed in, and one key per entry. */
function ruleKeys(access: FieldAccess): Set<string> {
  if ("public" in access) return new Set();
  return new Set(["signed-in", ...access.requires.map((e) => `${[...e.anyOf].sort().join("|")}@${e.ownerFrom ?? ""}`)]);
}

/** Every cell: each field of `cellFields` against each principal class. */
export function generateCells(
  manifest: AccessManifest,
  schema: GraphQLSchema,
  classes: readonly PrincipalClass[],
  samples: Readonly<Record<string, SampleRow>>,
): { cells: Cell[]; unreachable: string[] } {
  const cells: Cell[] = [];
  const unreachable: string[] = [];
  for (const coordinate of cellFields(manifest)) {
    const [typeName, fieldName] = coordinate.split(".") as [string, string];
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`${coordinate}: not an object type of the live schema (regenerate the manifest)`);
    const root = (ROOTS as readonly string[]).includes(typeName);
    const paths = root
      ? [[step(manifest, samples, type, type.getFields()[fieldName]!)]]
      : pathsTo(manifest, schema, samples, type, fieldName);
    if (paths.length === 0) {
      unreachable.push(coordinate);
      continue;
    }
    const operation = typeName === "Mutation" ? "mutation" : typeName === "Subscription" ? "subscription" : "query";
    for (const principal of classes) {
      let chosen: { path: Step[]; expected: Expected } | undefined;
      for (const path of paths) {
        const expected = expectedFor(path, principal, operation !== "query");
        if (expected !== undefined) {
          chosen = { path, expected };
          break;
        }
      }
      if (!chosen) throw new Error(`${coordinate} as ${principal.name}: no generated path decides the owner rule; add a sample row`);
      cells.push({ coordinate, principal, operation, document: documentOf(operation, chosen.path), expected: chosen.expected });
    }
  }
  return { cells, unreachable };
}

function step(
  manifest: AccessManifest,
  samples: Readonly<Record<string, SampleRow>>,
  type: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
): Step {
  const access = manifest.types[type.name]?.[field.name];
  if (!access) throw new Error(`${type.name}.${field.name} is in the live schema but not in the manifest: run npm run codegen`);
  if (access.members) throw new Error(`${type.name}.${field.name}: cells for abstract member rules are not generated yet`);
  const returned = getNamedType(field.type).name;
  const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const byId = required.some((a) => a.name === "id");
  const args = required.map((a) => `${a.name}: ${valueOf(a.type, a.name, returned, samples, 0)}`).join(", ");
  return { type, field, access, args: args ? `(${args})` : "", row: byId ? samples[returned] : undefined };
}

/** Paths from Query to `type.field`, shortest first; paths that start with a lookup by id come first at each length. */
function pathsTo(
  manifest: AccessManifest,
  schema: GraphQLSchema,
  samples: Readonly<Record<string, SampleRow>>,
  target: GraphQLObjectType,
  fieldName: string,
): Step[][] {
  const query = schema.getQueryType();
  if (!query) return [];
  const found: Step[][] = [];
  const walk = (type: GraphQLObjectType, path: Step[], seen: Set<string>) => {
    if (type === target) {
      found.push([...path, step(manifest, samples, type, type.getFields()[fieldName]!)]);
      return;
    }
    if (path.length >= MAX_PATH - 1) return;
    for (const field of Object.values(type.getFields())) {
      const next = getNamedType(field.type);
      if (!isObjectType(next) || seen.has(next.name)) continue;
      const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
      if (required.some((a) => a.name === "id" && !samples[next.name])) continue;
      walk(next, [...path, step(manifest, samples, type, field)], new Set([...seen, next.name]));
    }
  };
  walk(query, [], new Set([query.name]));
  return found.sort((a, b) => a.length - b.length || Number(b[0]!.row !== undefined) - Number(a[0]!.row !== undefined));
}

/** A literal for a required argument: the sample row's id for `id`, else the simplest value of its type. */
function valueOf(
  type: GraphQLInputType,
  name: string,
  returned: string,
  samples: Readonly<Record<string, SampleRow>>,
  depth: number,
): string {
  if (depth > 5) throw new Error("input types nest too deep for the matrix");
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) return "[]";
  if (isEnumType(inner)) return inner.getValues()[0]!.name;
  if (isInputObjectType(inner)) {
    const fields = Object.values(inner.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return `{ ${fields.map((f) => `${f.name}: ${valueOf(f.type, f.name, returned, samples, depth + 1)}`).join(", ")} }`;
  }
  if (isScalarType(inner)) {
    if (inner.name === "ID") {
      if (name !== "id") return '"matrix-0"';
      const sample = samples[returned];
      if (!sample) throw new Error(`no sample row of ${returned} to look up by id: add one to the matrix's samples`);
      return JSON.stringify(sample.id);
    }
    if (inner.name === "String") return '""';
    if (inner.name === "Boolean") return "false";
    if (/Int$|^Float$/.test(inner.name)) return "1";
  }
  throw new Error(`no matrix value for an argument of type ${String(type)}`);
}

function documentOf(operation: Cell["operation"], path: readonly Step[]): string {
  let selection = "";
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i]!;
    const inner = selection || (isCompositeType(getNamedType(s.field.type)) ? "__typename" : "");
    selection = `${s.field.name}${s.args}${inner ? ` { ${inner} }` : ""}`;
  }
  return `${operation} { ${selection} }`;
}

/**
 * The decision the manifest implies for `principal` along `path`: the first step whose rule does not hold decides.
 * Undefined when an `owner:` rule applies to a row whose owner the path does not know (a list).
 */
function expectedFor(path: readonly Step[], principal: PrincipalClass, whole: boolean): Expected | undefined {
  if (principal.revoked) return { kind: "refused", reason: "TOKEN_REVOKED" };
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    const coordinate = `${s.type.name}.${s.field.name}`;
    const responsePath = path
      .slice(0, i + 1)
      .map((p) => p.field.name)
      .join(".");
    const denied = (code: "UNAUTHENTICATED" | "FORBIDDEN"): Expected => ({ kind: "denied", code, coordinate, path: responsePath, whole });
    if ("public" in s.access) continue;
    if (principal.anonymous) return denied("UNAUTHENTICATED");
    let ownerFailed: "parent" | "result" | undefined;
    let undecided = false;
    for (const entry of s.access.requires) {
      if (entry.anyOf.some((atom) => holdsByClaims(atom, principal))) continue;
      const owners = entry.anyOf.filter((a) => a.startsWith("owner:")).map((a) => a.slice("owner:".length));
      if (owners.length === 0) return denied("FORBIDDEN");
      const row = entry.ownerFrom === "result" ? s.row : path[i - 1]?.row;
      if (!row) undecided = true;
      else if (!owners.some((f) => row.fields[f] === principal.sub)) ownerFailed ??= entry.ownerFrom;
    }
    if (undecided) return i === 0 ? { kind: "owner-checked", coordinate, whole } : undefined;
    // A looked-up row the caller may not see is concealed by the root field; any other owner failure is a denial.
    if (ownerFailed === "result" && i === 0 && s.row) return { kind: "concealed", coordinate, whole };
    if (ownerFailed) return denied("FORBIDDEN");
  }
  return { kind: "allowed" };
}

function holdsByClaims(atom: string, principal: PrincipalClass): boolean {
  if (atom.startsWith("group:")) return principal.groups.includes(atom.slice("group:".length));
  if (atom.startsWith("scope:")) return principal.scopes.includes(atom.slice("scope:".length));
  return false;
}

/** Object types with an `owner:` rule on their own fields: their rows are concealed from callers who may not see them. */
export function ownerRuledTypes(manifest: AccessManifest): string[] {
  return Object.entries(manifest.types)
    .filter(([, fields]) =>
      Object.values(fields).some((access) => !("public" in access) && access.requires.some((e) => e.ownerFrom === "parent")),
    )
    .map(([name]) => name);
}

/**
 * Every root field that looks a row of `typeName` up by a required `id` argument, as a document taking `$id`
 * (other required arguments get the matrix's simplest values).
 */
export function idLookups(
  schema: GraphQLSchema,
  typeName: string,
  samples: Readonly<Record<string, SampleRow>>,
): { coordinate: string; document: string }[] {
  const out: { coordinate: string; document: string }[] = [];
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      if (getNamedType(field.type).name !== typeName || !field.args.some((a) => a.name === "id" && isNonNullType(a.type))) continue;
      const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined && a.name !== "id");
      const args = ["id: $id", ...required.map((a) => `${a.name}: ${valueOf(a.type, a.name, typeName, samples, 0)}`)].join(", ");
      const operation = root === schema.getMutationType() ? "mutation" : "query";
      out.push({ coordinate: `${root.name}.${field.name}`, document: `${operation} ($id: ID!) { ${field.name}(${args}) { __typename } }` });
    }
  }
  return out;
}
