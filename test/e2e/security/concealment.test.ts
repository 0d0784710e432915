import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getNamedType, isListType, isObjectType, getNullableType, type GraphQLObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessManifest, FieldAccess } from "../../../src/graphql/access-manifest.js";
import { buildSchema } from "../../../src/graphql/schema.js";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { seedDevData } from "../../../src/dev/seed.js";
import { startApp, type TestApp } from "../../helpers/app.js";
import { startInProcess, type InProcessApp } from "../../helpers/in-process.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { idLookups, ownerRuledTypes } from "../../helpers/access-cells.js";

/**
 * Denials that leak nothing, generated from the manifest: for every type with an `owner:` rule, every root field
 * that looks one up by id answers another customer's row byte for byte as an id that matches nothing (production);
 * no list argument filters on a field its caller may not read; no cursor names a row its holder may not see.
 */
const manifest = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "..", "..", "src", "__generated__", "access-manifest.json"), "utf8"),
) as AccessManifest;
const schema = buildSchema();
// alice's order; an id of the same length that matches nothing, so even Content-Length cannot differ.
const THEIRS = "ord-alice-1";
const ABSENT = "ord-zzzzz-9";

describe("another customer's row and an absent one are answered byte for byte alike in production", () => {
  let app: TestApp;
  let key: TestKey;
  let jwks: JwksServer;
  beforeAll(async () => {
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    app = await startApp({
      NODE_ENV: "production",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
    });
    await seedDevData(app.db);
  });
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  const types = ownerRuledTypes(manifest);
  it("finds the owner-ruled types in the manifest", () => {
    expect(types).toContain("Order");
  });
  const lookups = types.flatMap((type) => idLookups(schema, type, {}).map((lookup) => ({ ...lookup, type })));
  it("finds a lookup by id for each of them", () => {
    for (const type of types)
      expect(
        lookups.some((l) => l.type === type),
        type,
      ).toBe(true);
  });

  it.each(lookups)("$coordinate ($type)", async ({ document }) => {
    const token = signToken(key, accessClaims({ sub: PERSONAS.bob.sub, "cognito:groups": [], scope: "openid" }));
    const send = (id: string) =>
      app.raw(
        "/graphql",
        { "content-type": "application/json", authorization: `Bearer ${token}` },
        JSON.stringify({ query: document, variables: { id } }),
      );
    const theirs = await send(THEIRS);
    const absent = await send(ABSENT);
    expect(theirs.status).toBe(absent.status);
    for (const header of ["content-type", "content-length", "www-authenticate", "cache-control"])
      expect(theirs.headers.get(header), header).toBe(absent.headers.get(header));
    expect(theirs.text.replaceAll(THEIRS, ABSENT)).toBe(absent.text);
  });
});

/** An entry of `need` holds whenever the rule `have` holds: some entry of `have` has only atoms of it. */
const implies = (have: FieldAccess, need: FieldAccess) =>
  "public" in need ||
  (!("public" in have) && need.requires.every((n) => have.requires.some((h) => h.anyOf.every((atom) => n.anyOf.includes(atom)))));

describe("no list argument filters or sorts on a field its caller may not read", () => {
  const lists: { coordinate: string; arg: string; item: GraphQLObjectType }[] = [];
  for (const [typeName, fields] of Object.entries(manifest.types)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) continue;
    for (const fieldName of Object.keys(fields)) {
      const field = type.getFields()[fieldName]!;
      const item = itemTypeOf(field.type);
      if (!item) continue;
      for (const arg of field.args) lists.push({ coordinate: `${typeName}.${fieldName}`, arg: arg.name, item });
    }
  }

  it("finds the list fields and their arguments", () => {
    expect(lists.map((l) => `${l.coordinate}(${l.arg})`)).toContain("Query.orders(status)");
  });

  it.each(lists)("$coordinate($arg)", ({ coordinate, arg, item }) => {
    const [typeName, fieldName] = coordinate.split(".") as [string, string];
    const list = manifest.types[typeName]![fieldName]!;
    // An argument named after an item field (status, statusIn, costPriceCentsBelow) filters or sorts on it.
    for (const [name, access] of Object.entries(manifest.types[item.name] ?? {})) {
      if (!arg.startsWith(name)) continue;
      expect(implies(list, access), `${coordinate}(${arg}) filters on ${item.name}.${name}`).toBe(true);
    }
  });
});

/** The row type of a list or connection field: `[T]`, or `edges { node: T }`. */
function itemTypeOf(type: Parameters<typeof getNullableType>[0]): GraphQLObjectType | undefined {
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    const named = getNamedType(nullable);
    return isObjectType(named) ? named : undefined;
  }
  const named = getNamedType(nullable);
  if (!isObjectType(named)) return undefined;
  const node = itemTypeOf(named.getFields().edges?.type ?? named.getFields().nodes?.type ?? ({} as never));
  const inner = node && isObjectType(node) ? node.getFields().node : undefined;
  return inner ? (getNamedType(inner.type) as GraphQLObjectType) : node;
}

describe("cursors name only rows their holder may see", () => {
  let app: InProcessApp;
  beforeAll(async () => {
    app = await startInProcess();
  });
  afterAll(() => app?.close());

  const roots = Object.entries(manifest.types.Query ?? {}).filter(([name]) => {
    const field = schema.getQueryType()!.getFields()[name]!;
    const named = getNamedType(field.type);
    return isObjectType(named) && named.getFields().edges !== undefined;
  });
  const personas: PersonaName[] = ["alice", "bob", "sam", "stella", "ada", "fulfillment"];
  const cases = roots.flatMap(([name]) => personas.map((persona) => ({ name, persona })));

  it("finds the connections", () => {
    expect(roots.map(([name]) => name)).toEqual(expect.arrayContaining(["myOrders", "orders", "products"]));
  });

  it.each(cases)("$name as $persona", async ({ name, persona }) => {
    const token = `Bearer ${app.devIssuer.mint(PERSONAS[persona])}`;
    const response = await app.execute(`{ ${name}(first: 100) { edges { cursor node { id createdAt } } } }`, token);
    const edges =
      (response.body.data?.[name] as { edges: { cursor: string; node: { id: string; createdAt: string } }[] } | null)?.edges ?? [];
    for (const edge of edges) {
      // The cursor holds the row's sort key, which the caller has just been allowed to read from the row itself.
      const [createdAt, id] = JSON.parse(Buffer.from(edge.cursor, "base64url").toString("utf8")) as [string, string];
      expect(id).toBe(edge.node.id);
      expect(new Date(createdAt).toISOString()).toBe(new Date(edge.node.createdAt).toISOString());
    }
    // A denied list answers no cursor at all.
    if (response.body.errors?.length) expect(edges).toEqual([]);
  });
});
