import { makeExecutableSchema } from "@graphql-tools/schema";
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { applyAuthDirectives, authDirectiveTypeDefs } from "../../../src/auth/directive.js";
import { findDenials } from "../../../src/auth/operation-check.js";
import type { Principal } from "../../../src/auth/principal.js";
import { RequestAuth } from "../../../src/auth/request-auth.js";
import { DEV_APP_CLIENT_ID } from "../../../src/dev/personas.js";
import { bearer, type TestResponse } from "../../helpers/app.js";
import { startOperations, type OperationRunner } from "../../helpers/operations.js";
import { principal } from "../../helpers/principal.js";

const SDL = /* GraphQL */ `
  type Query {
    open: String @public
    secret: String @auth(requires: ["group:admin"])
    thing: Thing @auth
    shapes: [Shape] @public
    search: [Result] @public
  }

  type Mutation {
    createThing(name: String!): Thing @auth
    adminReset: Boolean @auth(requires: ["group:admin"])
    ping: String @public
    makeShape: Shape @auth
  }

  type Thing {
    id: ID
    name: String
    secret: String @auth(requires: ["group:admin"])
    parent: Thing
    maker: Person
  }

  type Person { name: String, ssn: String @auth(requires: ["group:hr"]) }

  interface Shape { id: ID, area: Int }
  type Circle implements Shape { id: ID, area: Int @auth(requires: ["group:geo"]), radius: Int }
  type Square implements Shape { id: ID, area: Int, side: Int }

  union Result = Circle | Thing

  "Covariant interface fields: each implementation narrows the return type."
  interface Product { id: ID, made: Maker }
  interface Maker { label: String }
  type Human implements Maker { label: String @auth(requires: ["group:hr"]) }
  type Robot implements Maker { label: String }
  type Handmade implements Product { id: ID, made: Human }
  type Industrial implements Product { id: ID, made: Robot }
  extend type Query { products: [Product] @public }
`;

/** Every resolver reports here, so a test can prove that none ran. */
const ran = vi.fn<(coordinate: string) => void>();
const thing = { id: "t1", name: "thing", secret: "s", parent: null, maker: { name: "p", ssn: "123" } };

const resolvers = {
  Query: {
    open: () => (ran("Query.open"), "open"),
    secret: () => (ran("Query.secret"), "secret"),
    thing: () => (ran("Query.thing"), thing),
    shapes: () => (ran("Query.shapes"), [{ __typename: "Square", id: "q", area: 4, side: 2 }]),
    search: () => (ran("Query.search"), []),
    products: () => (ran("Query.products"), []),
  },
  Mutation: {
    createThing: (_: unknown, args: { name: string }) => (ran("Mutation.createThing"), { ...thing, name: args.name }),
    adminReset: () => (ran("Mutation.adminReset"), true),
    ping: () => (ran("Mutation.ping"), "pong"),
    makeShape: () => (ran("Mutation.makeShape"), { __typename: "Square", id: "q", area: 4, side: 2 }),
  },
  Thing: {
    name: (source: { name: string }) => (ran("Thing.name"), source.name),
    secret: (source: { secret: string }) => (ran("Thing.secret"), source.secret),
  },
};

const buildSchema = () =>
  applyAuthDirectives(makeExecutableSchema({ typeDefs: [authDirectiveTypeDefs, SDL], resolvers: resolvers as never }));

interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions: { code: string; auth?: { reason: string; denied?: { coordinate: string }[] } };
}
const errorsOf = (response: TestResponse): GraphQLErrorBody[] => response.body?.errors ?? [];
const deniedOf = (response: TestResponse) => (errorsOf(response)[0]?.extensions.auth?.denied ?? []).map((d) => d.coordinate).sort();

function expectRefusedForbidden(response: TestResponse) {
  expect(response.status).toBe(403);
  expect(response.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
  expect(response.body.data).toBeUndefined();
  expect(errorsOf(response)).toHaveLength(1);
  expect(errorsOf(response)[0]).toMatchObject({
    message: "You do not have permission to perform this operation.",
    extensions: { code: "FORBIDDEN", auth: { reason: "INSUFFICIENT_PERMISSION" } },
  });
}

function expectRefusedUnauthenticated(response: TestResponse) {
  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toBe("Bearer");
  expect(response.body.data).toBeUndefined();
  expect(errorsOf(response)).toHaveLength(1);
  expect(errorsOf(response)[0]).toMatchObject({
    message: "Authentication is required to perform this operation.",
    extensions: { code: "UNAUTHENTICATED", auth: { reason: "AUTHENTICATION_REQUIRED" } },
  });
}

const userHeader = (app: OperationRunner, name: string, groups: string[] = []) =>
  bearer(app.devIssuer!.mint({ sub: `sub-${name}`, clientId: DEV_APP_CLIENT_ID, username: name, groups }));

beforeEach(() => {
  ran.mockClear();
});

describe("mutations are checked whole before execution (dev mode, over HTTP)", () => {
  let app: OperationRunner;
  const alice = () => userHeader(app, "alice");
  const ada = () => userHeader(app, "ada", ["admin"]);

  beforeAll(async () => {
    app = await startOperations({}, { schema: buildSchema() });
  });
  afterAll(async () => {
    await app.close();
  });

  it("refuses a mutation whose root field is denied with 403 insufficient_scope, and runs no resolver", async () => {
    const response = await app.graphql("mutation { ping adminReset }", { headers: alice() });
    expectRefusedForbidden(response);
    expect(deniedOf(response)).toEqual(["Mutation.adminReset"]);
    expect(ran).not.toHaveBeenCalled();
  });

  it("refuses a mutation with a denied nested field in its selection whole, and runs no resolver", async () => {
    const response = await app.graphql(`mutation { createThing(name: "x") { id name secret } }`, { headers: alice() });
    expectRefusedForbidden(response);
    expect(deniedOf(response)).toEqual(["Thing.secret"]);
    expect(ran).not.toHaveBeenCalled();
  });

  it("refuses a mutation whose denied field comes through a named fragment, and runs no resolver", async () => {
    const query = `mutation { createThing(name: "x") { ...T } } fragment T on Thing { id maker { ...P } } fragment P on Person { name ssn }`;
    const response = await app.graphql(query, { headers: ada() });
    expectRefusedForbidden(response);
    expect(deniedOf(response)).toEqual(["Person.ssn"]);
    expect(ran).not.toHaveBeenCalled();
  });

  it("refuses a mutation whose denied field comes through an inline fragment on an implementation, and runs no resolver", async () => {
    const response = await app.graphql("mutation { makeShape { id ... on Circle { area } } }", { headers: alice() });
    expectRefusedForbidden(response);
    expect(deniedOf(response)).toEqual(["Circle.area"]);
    expect(ran).not.toHaveBeenCalled();
  });

  it("refuses a mutation of an anonymous caller with 401 and a bare Bearer challenge, and runs no resolver", async () => {
    const response = await app.graphql(`mutation { ping createThing(name: "x") { id } }`);
    expectRefusedUnauthenticated(response);
    expect(deniedOf(response)).toEqual(["Mutation.createThing"]);
    expect(ran).not.toHaveBeenCalled();
  });

  it("runs an allowed mutation", async () => {
    const response = await app.graphql(`mutation { createThing(name: "x") { id name } ping }`, { headers: alice() });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { createThing: { id: "t1", name: "x" }, ping: "pong" } });
    expect(ran).toHaveBeenCalledWith("Mutation.createThing");
    expect(ran).toHaveBeenCalledWith("Mutation.ping");
    const admin = await app.graphql(`mutation { adminReset createThing(name: "y") { secret } }`, { headers: ada() });
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual({ data: { adminReset: true, createThing: { secret: "s" } } });
  });

  it("runs a mutation whose only denied field is skipped by @skip or excluded by @include with variables", async () => {
    const query = `mutation ($skip: Boolean!, $with: Boolean!) {
      createThing(name: "x") { id a: secret @skip(if: $skip) b: secret @include(if: $with) }
    }`;
    const response = await app.graphql(query, { headers: alice(), variables: { skip: true, with: false } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { createThing: { id: "t1" } } });
    const included = await app.graphql(query, { headers: alice(), variables: { skip: true, with: true } });
    expectRefusedForbidden(included);
  });

  it("uses a variable's default value when deciding @include, as execution will", async () => {
    const withSecret = `mutation ($with: Boolean = true) { createThing(name: "x") { id secret @include(if: $with) } }`;
    const refused = await app.graphql(withSecret, { headers: alice() });
    expectRefusedForbidden(refused);
    expect(ran).not.toHaveBeenCalled();
    const withoutSecret = `mutation ($with: Boolean = false) { createThing(name: "x") { id secret @include(if: $with) } }`;
    const allowed = await app.graphql(withoutSecret, { headers: alice() });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ data: { createThing: { id: "t1" } } });
  });

  it("does not refuse a query whole by default: denied fields are null with an error at their path", async () => {
    const response = await app.graphql("{ open secret }", { headers: alice() });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ open: "open", secret: null });
    expect(errorsOf(response)).toMatchObject([{ path: ["secret"], extensions: { code: "FORBIDDEN" } }]);
  });
});

describe("AUTH_REJECT_PARTIAL=true refuses queries whole (over HTTP)", () => {
  let app: OperationRunner;

  beforeAll(async () => {
    app = await startOperations({ AUTH_REJECT_PARTIAL: "true" }, { schema: buildSchema() });
  });
  afterAll(async () => {
    await app.close();
  });

  it("refuses a query with a denied field whole with 403 for a verified caller, and runs no resolver", async () => {
    const response = await app.graphql("{ open thing { id secret } }", { headers: userHeader(app, "alice") });
    expectRefusedForbidden(response);
    expect(deniedOf(response)).toEqual(["Thing.secret"]);
    expect(ran).not.toHaveBeenCalled();
  });

  it("refuses a query with a denied field whole with 401 for an anonymous caller, and runs no resolver", async () => {
    const response = await app.graphql("{ open thing { id } }");
    expectRefusedUnauthenticated(response);
    expect(ran).not.toHaveBeenCalled();
  });

  it("answers an allowed query", async () => {
    const response = await app.graphql("{ open thing { id name } }", { headers: userHeader(app, "alice") });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { open: "open", thing: { id: "t1", name: "thing" } } });
    expect(ran).toHaveBeenCalledWith("Query.thing");
  });

  it("still refuses a denied mutation whole", async () => {
    const response = await app.graphql("mutation { adminReset }", { headers: userHeader(app, "alice") });
    expectRefusedForbidden(response);
    expect(ran).not.toHaveBeenCalled();
  });
});

// ---------------------------------------------------------------------------------------------------------
// findDenials, unit-tested on parsed documents.

describe("findDenials", () => {
  const schema = buildSchema();

  /** The coordinates `source` denies, sorted, for a caller (null: anonymous). */
  function denials(source: string, caller: Principal | null = principal(), variables: Record<string, unknown> = {}, auth?: RequestAuth) {
    const document = parse(source);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    return findDenials(schema, operation, fragments, variables, auth ?? new RequestAuth(caller, { explain: true }))
      .map((d) => d.coordinate)
      .sort();
  }

  it("finds nothing in an allowed operation", () => {
    expect(denials("{ open thing { id name maker { name } } }")).toEqual([]);
    expect(denials("{ secret thing { secret } }", principal({ groups: ["admin"] }))).toEqual([]);
  });

  it("explains each denial with its coordinate, rule and missing entries", () => {
    const operation = parse("{ secret }").definitions[0] as OperationDefinitionNode;
    expect(findDenials(schema, operation, {}, {}, new RequestAuth(principal(), { explain: true }))).toEqual([
      { coordinate: "Query.secret", required: ["group:admin"], missing: ["group:admin"] },
    ]);
  });

  it("walks named fragments, nested ones included", () => {
    expect(denials("{ ...Q } fragment Q on Query { open thing { ...T } } fragment T on Thing { id maker { ssn } }")).toEqual([
      "Person.ssn",
    ]);
    expect(denials("{ ...Q } fragment Q on Query { secret }")).toEqual(["Query.secret"]);
  });

  it("walks inline fragments on interfaces: a field denied on one implementation is reported for it", () => {
    expect(denials("{ shapes { id ... on Circle { area } } }")).toEqual(["Circle.area"]);
    expect(denials("{ shapes { ... on Square { area } } }")).toEqual([]);
    // Selected on the interface itself: denied on Circle, allowed on Square.
    expect(denials("{ shapes { area } }")).toEqual(["Circle.area"]);
    expect(denials("{ shapes { area } }", principal({ groups: ["geo"] }))).toEqual([]);
  });

  it("walks inline fragments on unions", () => {
    expect(denials("{ search { ... on Thing { id secret } ... on Circle { radius } } }")).toEqual(["Thing.secret"]);
    expect(denials("{ search { ... on Circle { radius } ... on Shape { area } } }")).toEqual(["Circle.area"]);
    expect(denials("{ search { __typename ... on Thing { id } } }")).toEqual([]);
  });

  it("walks every implementation's return type of a covariant interface field", () => {
    expect(denials("{ products { made { label } } }")).toEqual(["Human.label"]);
    expect(denials("{ products { ... on Handmade { made { label } } } }")).toEqual(["Human.label"]);
  });

  it("honours @skip and @include, literal and with variables", () => {
    expect(denials("{ open secret @skip(if: true) }")).toEqual([]);
    expect(denials("{ open secret @include(if: false) }")).toEqual([]);
    expect(denials("{ open secret @include(if: true) @skip(if: false) }")).toEqual(["Query.secret"]);
    const withVariables = "query ($s: Boolean!, $i: Boolean!) { open secret @skip(if: $s) @include(if: $i) }";
    expect(denials(withVariables, principal(), { s: true, i: true })).toEqual([]);
    expect(denials(withVariables, principal(), { s: false, i: false })).toEqual([]);
    expect(denials(withVariables, principal(), { s: false, i: true })).toEqual(["Query.secret"]);
    // On fragments too.
    expect(denials("query ($s: Boolean!) { ...Q @skip(if: $s) } fragment Q on Query { secret }", principal(), { s: true })).toEqual([]);
    expect(denials("{ thing { ... on Thing @include(if: false) { secret } } }")).toEqual([]);
  });

  it("uses a variable's default value for @skip and @include when the variable is not given", () => {
    expect(denials("query ($s: Boolean = true) { open secret @skip(if: $s) }")).toEqual([]);
    expect(denials("query ($i: Boolean = true) { open secret @include(if: $i) }")).toEqual(["Query.secret"]);
  });

  it("does not descend into the subtree of a denied field", () => {
    // Anonymous: Query.thing is denied, so nothing below it (Thing.secret, Person.ssn) is reported.
    expect(denials("{ open thing { secret maker { ssn } } }", null)).toEqual(["Query.thing"]);
    // Verified: Query.thing allowed, its subtree is walked.
    expect(denials("{ open thing { secret maker { ssn } } }")).toEqual(["Person.ssn", "Thing.secret"]);
  });

  it("reports a coordinate once however many times and ways it is selected", () => {
    const source = `{
      a: secret b: secret secret ...Q ... on Query { secret }
      t1: thing { secret } t2: thing { s: secret parent { secret } }
    } fragment Q on Query { secret }`;
    expect(denials(source)).toEqual(["Query.secret", "Thing.secret"]);
  });

  it("visits a fragment spread many times only once", () => {
    // A fragment bomb: F20 expands to 2^20 selections of F0 if each spread were walked.
    const fragments = ["fragment F0 on Thing { name secret }"];
    for (let i = 1; i <= 20; i++) fragments.push(`fragment F${i} on Thing { a: parent { ...F${i - 1} } b: parent { ...F${i - 1} } }`);
    const auth = new RequestAuth(principal(), { explain: true });
    const decide = vi.spyOn(auth, "decide");
    expect(denials(`{ thing { ...F20 ...F20 ...F20 } } ${fragments.join(" ")}`, null, {}, auth)).toEqual(["Thing.secret"]);
    // One decision per guarded field met: Query.thing and Thing.secret.
    expect(decide).toHaveBeenCalledTimes(2);
  });
});
