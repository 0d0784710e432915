import { makeExecutableSchema } from "@graphql-tools/schema";
import { MapperKind, mapSchema } from "@graphql-tools/utils";
import { extendSchema, parse, subscribe, type GraphQLObjectType, type GraphQLSchema } from "graphql";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { applyAuthDirectives, AuthSchemaError, authDirectiveTypeDefs } from "../../../src/auth/directive.js";
import { fieldDenied, operationDenied } from "../../../src/auth/errors.js";
import { guardOf } from "../../../src/auth/guard.js";
import { RequestAuth } from "../../../src/auth/request-auth.js";
import { principal } from "../../helpers/principal.js";
import { DEV_APP_CLIENT_ID, DEV_FULFILLMENT_CLIENT_ID } from "../../../src/dev/personas.js";
import { bearer, type TestResponse } from "../../helpers/app.js";
import { startOperations, type OperationRunner } from "../../helpers/operations.js";

/** Builds a schema with the directive applied; resolvers are optional (default resolvers otherwise). */
const build = (sdl: string, resolvers: Record<string, Record<string, unknown>> = {}) =>
  applyAuthDirectives(makeExecutableSchema({ typeDefs: [authDirectiveTypeDefs, sdl], resolvers: resolvers as never }));

/** The `problems` of the AuthSchemaError that building `sdl` throws (fails the test if it builds). */
function problemsOf(sdl: string): readonly string[] {
  try {
    build(sdl);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthSchemaError);
    return (error as AuthSchemaError).problems;
  }
  throw new Error("the schema was expected to be refused, but it built");
}

describe("@auth / @public: build-time refusals", () => {
  it("refuses an unknown atom and names the field", () => {
    const problems = problemsOf(`type Query { x: String @auth(requires: ["role:admin"]) }`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Query\.x: .*unknown atom "role:admin"/);
  });

  it("refuses an empty entry and names the field", () => {
    const problems = problemsOf(`type Query { x: String @auth(requires: [""]) }`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Query\.x: .*empty entry/);
  });

  it("refuses an empty atom after a bar and names the field", () => {
    const problems = problemsOf(`type Query { x: String @auth(requires: ["group:a|"]) }`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Query\.x: .*empty atom/);
  });

  it("refuses requires: [] and names the field", () => {
    const problems = problemsOf(`type Query { x: String @auth(requires: []) }`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Query\.x: .*empty/);
  });

  it("refuses an owner: field that the type lacks in a type rule, naming the type", () => {
    const problems = problemsOf(`
      type Query { order: Order @auth }
      type Order @auth(requires: ["owner:ownerId"]) { id: ID, customerId: ID }
    `);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Order: "owner:ownerId" names a field the type lacks/);
  });

  it("refuses an owner: field that the type lacks in a field rule, naming the field", () => {
    const problems = problemsOf(`
      type Query { order: Order @auth }
      type Order { id: ID, customerId: ID, note: String @auth(requires: ["group:staff|owner:buyerId"]) }
    `);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Order\.note: "owner:buyerId" names a field the type lacks/);
  });

  it("accepts an owner: field that the type has, on a type and on a field", () => {
    expect(() =>
      build(`
        type Query { order: Order @auth }
        type Order @auth(requires: ["owner:customerId|group:support"]) {
          id: ID
          customerId: ID
          note: String @auth(requires: ["owner:customerId"])
        }
      `),
    ).not.toThrow();
  });

  it("refuses owner: on a root field, which has no parent object", () => {
    const problems = problemsOf(`
      type Query { x: String @auth(requires: ["owner:id"]) }
      type Mutation { y: String @auth(requires: ["group:a", "owner:id"]) }
    `);
    expect(problems).toEqual([
      expect.stringMatching(/^Query\.x: "owner:id" has no parent object on a root type/),
      expect.stringMatching(/^Mutation\.y: "owner:id" has no parent object on a root type/),
    ]);
  });

  it("refuses a Query field with no @auth or @public decision of its own or from its type", () => {
    const problems = problemsOf(`type Query { decided: String @public, undecided: String }`);
    expect(problems).toEqual([expect.stringMatching(/^Query\.undecided: root field has no @auth or @public decision/)]);
  });

  it("refuses a Mutation field with no @auth or @public decision", () => {
    const problems = problemsOf(`
      type Query { ok: String @public }
      type Mutation { ok: String @auth, undecided(id: ID): String }
    `);
    expect(problems).toEqual([expect.stringMatching(/^Mutation\.undecided: root field has no @auth or @public decision/)]);
  });

  it("refuses a Subscription field with no @auth or @public decision", () => {
    const problems = problemsOf(`
      type Query { ok: String @public }
      type Subscription { ticks: Int @auth, undecided: Int }
    `);
    expect(problems).toEqual([expect.stringMatching(/^Subscription\.undecided: root field has no @auth or @public decision/)]);
  });

  it("counts a type-level @public or @auth on Query and Mutation as the decision of every root field", () => {
    expect(() => build(`type Query @public { a: String, b: Int }`)).not.toThrow();
    expect(() =>
      build(`
        type Query @public { a: String }
        type Mutation @auth { b: String, c: Int @auth(requires: ["group:admin"]) }
      `),
    ).not.toThrow();
  });

  it("refuses both @auth and @public on one field and on one type", () => {
    const problems = problemsOf(`
      type Query { x: String @auth @public, t: T @public }
      type T @auth @public { id: ID }
    `);
    expect(problems).toContainEqual(expect.stringMatching(/^Query\.x: has both @auth and @public/));
    expect(problems).toContainEqual(expect.stringMatching(/^T: has both @auth and @public/));
  });

  it("refuses a @public field inside an @auth type", () => {
    const problems = problemsOf(`
      type Query { t: T @auth }
      type T @auth(requires: ["group:staff"]) { id: ID, open: String @public }
    `);
    expect(problems).toEqual([expect.stringMatching(/^T\.open: @public contradicts an @auth rule/)]);
  });

  it("refuses a @public field of an implementation whose interface has an @auth rule", () => {
    const problems = problemsOf(`
      type Query { n: Node @auth }
      interface Node @auth { id: ID }
      type Leaf implements Node { id: ID, open: String @public }
    `);
    expect(problems).toEqual([expect.stringMatching(/^Leaf\.open: @public contradicts/)]);
  });

  it("reports several problems together in one error, each naming its place", () => {
    const problems = problemsOf(`
      type Query { a: String @auth(requires: ["role:admin"]), b: String, c: String @auth(requires: []) }
      type Mutation { d: String @auth(requires: ["owner:id"]) }
      type Order @auth(requires: ["owner:nope"]) { id: ID, e: String @auth(requires: ["group:x|"]) }
    `);
    expect(problems).toHaveLength(6);
    for (const place of ["Query.a:", "Query.b:", "Query.c:", "Mutation.d:", "Order:", "Order.e:"]) {
      expect(problems.some((p) => p.startsWith(place))).toBe(true);
    }
    // The message lists every problem too.
    let message = "";
    try {
      build(`type Query { a: String @auth(requires: ["role:admin"]), b: String }`);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("Query.a");
    expect(message).toContain("Query.b");
  });
});

// ---------------------------------------------------------------------------------------------------------
// Repeated usages: a definition and its extensions, or SDL and extensions.directives.

/** `Doc` requires group:support in its definition and group:admin in an extension added by graphql-js extendSchema. */
function docWithExtension(): GraphQLSchema {
  const base = makeExecutableSchema({
    typeDefs: [
      authDirectiveTypeDefs,
      `type Query @public { doc: Doc } type Doc @auth(requires: ["group:support"]) { id: ID, title: String }`,
    ],
    resolvers: { Query: { doc: () => ({ id: "d1", title: "plans" }) } },
  });
  return extendSchema(base, parse(`extend type Doc @auth(requires: ["group:admin"])`));
}

/** `Query.note` requires group:support in its SDL and group:admin in its extensions.directives (code-first style). */
function noteWithCodeFirstUsage(): GraphQLSchema {
  const base = makeExecutableSchema({
    typeDefs: [authDirectiveTypeDefs, `type Query { note: String @auth(requires: ["group:support"]) }`],
    resolvers: { Query: { note: () => "note" } },
  });
  return mapSchema(base, {
    [MapperKind.OBJECT_FIELD]: (config, fieldName) =>
      fieldName === "note"
        ? { ...config, extensions: { ...config.extensions, directives: { auth: [{ requires: ["group:admin"] }] } } }
        : config,
  });
}

describe("@auth used more than once on one place", () => {
  it("ANDs a type's definition and its extension (graphql-js extendSchema)", () => {
    const schema = applyAuthDirectives(docWithExtension());
    const guard = guardOf((schema.getType("Doc") as GraphQLObjectType).getFields().title!);
    expect(guard?.requirements.map((r) => r.text)).toEqual(["group:support", "group:admin"]);
    const queryDoc = guardOf(schema.getQueryType()!.getFields().doc!);
    expect(queryDoc?.requirements.map((r) => r.text)).toEqual(["group:support", "group:admin"]);
  });

  it("ANDs a field's SDL usage and its extensions.directives usage", () => {
    const schema = applyAuthDirectives(noteWithCodeFirstUsage());
    expect(
      guardOf(schema.getQueryType()!.getFields().note!)
        ?.requirements.map((r) => r.text)
        .sort(),
    ).toEqual(["group:admin", "group:support"]);
  });

  it("checks every usage's grammar, naming the place", () => {
    const base = makeExecutableSchema({ typeDefs: [authDirectiveTypeDefs, `type Query @public { doc: Doc } type Doc @auth { id: ID }`] });
    const extended = extendSchema(base, parse(`extend type Doc @auth(requires: ["role:admin"])`));
    expect(() => applyAuthDirectives(extended)).toThrow(/Doc: unknown atom "role:admin"/);
    const withPublic = extendSchema(base, parse(`extend type Doc @public`));
    expect(() => applyAuthDirectives(withPublic)).toThrow(/Doc: has both @auth and @public/);
  });

  describe("over HTTP", () => {
    let app: OperationRunner;
    const caller = (groups: string[]) =>
      bearer(app.devIssuer!.mint({ sub: "sub-x", clientId: DEV_APP_CLIENT_ID, username: "x", groups, scopes: [] }));
    beforeAll(async () => {
      app = await startOperations({}, { schema: applyAuthDirectives(mergeForTest(docWithExtension(), noteWithCodeFirstUsage())) });
    }, 60_000);
    afterAll(() => app.close());

    it("refuses a caller who meets only the first usage", async () => {
      const response = await app.graphql("{ doc { id title } note }", { headers: caller(["support"]) });
      expect(response.body.data).toEqual({ doc: null, note: null });
      expect(errorsOf(response).map((e) => [e.path, e.extensions.code, e.extensions.auth?.missing])).toEqual([
        [["doc"], "FORBIDDEN", ["group:admin"]],
        [["note"], "FORBIDDEN", ["group:admin"]],
      ]);
    });

    it("refuses a caller who meets only the second usage, and answers one who meets both", async () => {
      const adminOnly = await app.graphql("{ doc { id } note }", { headers: caller(["admin"]) });
      expect(adminOnly.body.data).toEqual({ doc: null, note: null });
      const allowed = await app.graphql("{ doc { id title } note }", { headers: caller(["support", "admin"]) });
      expect(allowed.body).toEqual({ data: { doc: { id: "d1", title: "plans" }, note: "note" } });
    });
  });
});

/** One schema with `Query.doc` from `docWithExtension` and `Query.note` from `noteWithCodeFirstUsage`. */
function mergeForTest(doc: GraphQLSchema, note: GraphQLSchema): GraphQLSchema {
  const withNote = extendSchema(doc, parse(`extend type Query { note: String @auth(requires: ["group:support"]) }`));
  return mapSchema(withNote, {
    [MapperKind.OBJECT_FIELD]: (config, fieldName, typeName) => {
      if (typeName !== "Query" || fieldName !== "note") return config;
      const source = note.getQueryType()!.getFields().note!;
      return { ...config, resolve: source.resolve, extensions: { ...config.extensions, ...source.extensions } };
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Runtime semantics over real HTTP with real dev tokens.

const RUNTIME_SDL = /* GraphQL */ `
  type Query @public {
    anyone: String @auth
    both: String @auth(requires: ["group:a", "group:b"])
    either: String @auth(requires: ["group:a|scope:x/y"])
    admins: String @auth(requires: ["group:admin"])
    ordersRead: String @auth(requires: ["scope:orders/read"])
    open: String
    search(kinds: [String!]!): [SearchResult]
    memo: Memo
    accounts: [Account]
    vault: Vault
    ledger: Ledger
    order(id: ID!): Order @auth
    orders: [Order] @auth
    ordersOf(customerId: ID!): [Order] @auth
    items(count: Int!): [Item]
    entries(kinds: [String!]!): [Entry]
    entry(kind: String!): Entry
    lazyEntries(kinds: [String!]!): [LazyEntry!]
  }

  "An interface without a rule of its own, one of whose implementations has one."
  interface Entry { id: ID }
  type OpenEntry implements Entry { id: ID }
  type ClosedEntry implements Entry @auth(requires: ["group:admin"]) { id: ID }

  "Resolved by isTypeOf, asynchronously."
  interface LazyEntry { id: ID }
  type LazyOpen implements LazyEntry { id: ID }
  type LazyClosed implements LazyEntry @auth(requires: ["group:admin"]) { id: ID }

  "A type rule, reached through a union (no return-type rule) so its default-resolved fields are checked one by one."
  type SecretDoc @auth(requires: ["group:admin"]) { title: String, body: String }
  type Note { text: String }
  union SearchResult = SecretDoc | Note | Memo | Order

  interface Confidential @auth(requires: ["group:admin"]) { id: ID }
  type Memo implements Confidential { id: ID, text: String }

  interface Account { id: ID, balance: Int @auth(requires: ["group:finance"]) }
  type Savings implements Account { id: ID, balance: Int }
  type Checking implements Account { id: ID, balance: Int, overdraft: Int }

  type Vault @auth(requires: ["group:admin"]) { gold: Int }

  type Ledger @auth(requires: ["group:finance"]) { total: Int, audit: String @auth(requires: ["group:auditor"]) }

  type Order @auth(requires: ["owner:customerId|group:support"]) { id: ID!, customerId: ID!, total: Int }

  type Item { id: ID, secret: String @auth(requires: ["group:admin"]) }
`;

const sub = (name: string) => `sub-${name}`;
const ORDERS = [
  { id: "o1", customerId: sub("alice"), total: 10 },
  { id: "o2", customerId: sub("bob"), total: 20 },
  { id: "o3", customerId: sub("alice"), total: 30 },
];

const resolverRan = vi.fn<(coordinate: string) => void>();

const runtimeResolvers = {
  Query: {
    anyone: () => "anyone",
    both: () => "both",
    either: () => "either",
    admins: () => "admins",
    ordersRead: () => "ordersRead",
    open: () => "open",
    search: (_: unknown, args: { kinds: string[] }) =>
      args.kinds.map((kind) => {
        switch (kind) {
          case "secret":
            return { __typename: "SecretDoc", title: "plans", body: "details" };
          case "note":
            return { __typename: "Note", text: "hello" };
          case "memo":
            return { __typename: "Memo", id: "m1", text: "memo text" };
          default:
            return { __typename: "Order", ...ORDERS.find((o) => o.id === kind)! };
        }
      }),
    memo: () => {
      resolverRan("Query.memo");
      return { id: "m1", text: "memo text" };
    },
    accounts: () => [
      { __typename: "Savings", id: "s1", balance: 100 },
      { __typename: "Checking", id: "c1", balance: 5, overdraft: 50 },
    ],
    vault: () => {
      resolverRan("Query.vault");
      return { gold: 99 };
    },
    ledger: () => ({ total: 7, audit: "clean" }),
    order: (_: unknown, args: { id: string }) => ORDERS.find((o) => o.id === args.id) ?? null,
    orders: () => ORDERS,
    ordersOf: (_: unknown, args: { customerId: string }) => ORDERS.filter((o) => o.customerId === args.customerId),
    items: (_: unknown, args: { count: number }) => Array.from({ length: args.count }, (_v, i) => ({ id: `i${i}`, secret: `s${i}` })),
    entries: (_: unknown, args: { kinds: string[] }) => args.kinds.map((kind, i) => ({ kind, id: `e${i}` })),
    entry: (_: unknown, args: { kind: string }) => ({ kind: args.kind, id: "e0" }),
    // A Set, not an array: graphql-js takes any iterable for a list.
    lazyEntries: (_: unknown, args: { kinds: string[] }) => new Set(args.kinds.map((kind, i) => ({ kind, id: `l${i}` }))),
  },
  Entry: { __resolveType: (entry: { kind: string }) => (entry.kind === "closed" ? "ClosedEntry" : "OpenEntry") },
  LazyOpen: { __isTypeOf: async (entry: { kind: string }) => entry.kind === "open" },
  LazyClosed: { __isTypeOf: async (entry: { kind: string }) => entry.kind === "closed" },
};

interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions: { code: string; auth?: Record<string, unknown> };
}

const errorsOf = (response: TestResponse): GraphQLErrorBody[] => response.body?.errors ?? [];
const pathsOf = (response: TestResponse) => errorsOf(response).map((e) => e.path);

describe("@auth / @public at runtime over HTTP (dev mode, real dev tokens)", () => {
  let app: OperationRunner;

  /** The Authorization header of a person's access token for the dev web app. */
  const user = (name: string, groups: string[] = [], scopes: string[] = []) =>
    bearer(app.devIssuer!.mint({ sub: sub(name), clientId: DEV_APP_CLIENT_ID, username: name, groups, scopes }));
  /** A machine token (client-credentials grant): no username, sub = client id. */
  const machine = (scopes: string[]) =>
    bearer(app.devIssuer!.mint({ sub: DEV_FULFILLMENT_CLIENT_ID, clientId: DEV_FULFILLMENT_CLIENT_ID, scopes }));

  beforeAll(async () => {
    app = await startOperations({}, { schema: build(RUNTIME_SDL, runtimeResolvers) });
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    resolverRan.mockClear();
  });

  it("refuses an anonymous caller on @auth without arguments, with UNAUTHENTICATED at the field's path and HTTP 200", async () => {
    const response = await app.graphql("{ open anyone }");
    expect(response.status).toBe(200);
    expect(response.headers.get("www-authenticate")).toBeNull();
    expect(response.body.data).toEqual({ open: "open", anyone: null });
    expect(errorsOf(response)).toHaveLength(1);
    expect(errorsOf(response)[0]).toMatchObject({ path: ["anyone"], extensions: { code: "UNAUTHENTICATED" } });
  });

  it("allows any verified caller, person or machine, on @auth without arguments", async () => {
    for (const headers of [user("alice"), machine([])]) {
      const response = await app.graphql("{ anyone }", { headers });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ data: { anyone: "anyone" } });
    }
  });

  it("requires every entry of requires to hold (AND)", async () => {
    const onlyA = await app.graphql("{ both }", { headers: user("alice", ["a"]) });
    expect(onlyA.body.data).toEqual({ both: null });
    expect(errorsOf(onlyA)).toMatchObject([{ path: ["both"], extensions: { code: "FORBIDDEN", auth: { missing: ["group:b"] } } }]);
    const onlyB = await app.graphql("{ both }", { headers: user("alice", ["b"]) });
    expect(onlyB.body.data).toEqual({ both: null });
    const aAndB = await app.graphql("{ both }", { headers: user("alice", ["a", "b"]) });
    expect(aAndB.body).toEqual({ data: { both: "both" } });
  });

  it("lets any one atom of an entry joined with | suffice (OR)", async () => {
    expect((await app.graphql("{ either }", { headers: user("alice", ["a"]) })).body).toEqual({ data: { either: "either" } });
    expect((await app.graphql("{ either }", { headers: machine(["x/y"]) })).body).toEqual({ data: { either: "either" } });
    const neither = await app.graphql("{ either }", { headers: user("alice", ["b"], ["x/z"]) });
    expect(neither.body.data).toEqual({ either: null });
    expect(errorsOf(neither)).toMatchObject([{ path: ["either"], extensions: { code: "FORBIDDEN" } }]);
  });

  it("matches groups exactly and case-sensitively", async () => {
    const wrongCase = await app.graphql("{ admins }", { headers: user("alice", ["Admin", "admins", "admin "]) });
    expect(wrongCase.body.data).toEqual({ admins: null });
    expect(errorsOf(wrongCase)).toMatchObject([{ extensions: { code: "FORBIDDEN" } }]);
    const exact = await app.graphql("{ admins }", { headers: user("ada", ["admin"]) });
    expect(exact.body).toEqual({ data: { admins: "admins" } });
  });

  it("splits scopes on spaces and matches each exactly", async () => {
    for (const scopes of [["orders/readx"], ["orders"], ["orders/rea"], ["Orders/read"]]) {
      const response = await app.graphql("{ ordersRead }", { headers: machine(scopes) });
      expect(response.body.data, `scopes ${scopes.join(" ")}`).toEqual({ ordersRead: null });
      expect(errorsOf(response)[0]?.extensions.code).toBe("FORBIDDEN");
    }
    const allowed = await app.graphql("{ ordersRead }", { headers: machine(["openid", "orders/read", "orders/write"]) });
    expect(allowed.body).toEqual({ data: { ordersRead: "ordersRead" } });
    const userWithScope = await app.graphql("{ ordersRead }", { headers: user("alice", [], ["email", "orders/read"]) });
    expect(userWithScope.body).toEqual({ data: { ordersRead: "ordersRead" } });
  });

  it("applies a union member's type rule at the field that returns it, and guards the member's default-resolved fields too", async () => {
    const query = '{ search(kinds: ["secret", "note"]) { ... on SecretDoc { title body } ... on Note { text } } }';
    const denied = await app.graphql(query, { headers: user("alice") });
    expect(denied.status).toBe(200);
    // One protected item refuses the list whole: answering the rest would show how many protected items there are.
    expect(denied.body.data).toEqual({ search: null });
    expect(errorsOf(denied)).toMatchObject([{ path: ["search"], extensions: { code: "FORBIDDEN", auth: { missing: ["group:admin"] } } }]);
    // Defence in depth: the type's own fields carry its rule whatever path reaches them.
    const built = build(RUNTIME_SDL, runtimeResolvers);
    for (const field of ["title", "body"])
      expect(guardOf((built.getType("SecretDoc") as GraphQLObjectType).getFields()[field]!)?.requirements.map((r) => r.text)).toEqual([
        "group:admin",
      ]);
    const allowed = await app.graphql(query, { headers: user("ada", ["admin"]) });
    expect(allowed.body).toEqual({ data: { search: [{ title: "plans", body: "details" }, { text: "hello" }] } });
  });

  it("applies an interface's rule to its implementations, also to fields the interface does not declare", async () => {
    const viaUnion = await app.graphql('{ search(kinds: ["memo"]) { ... on Memo { id text } } }', { headers: user("alice") });
    expect(viaUnion.body.data).toEqual({ search: null });
    expect(errorsOf(viaUnion)).toMatchObject([{ path: ["search"], extensions: { code: "FORBIDDEN", auth: { missing: ["group:admin"] } } }]);
    const allowed = await app.graphql('{ search(kinds: ["memo"]) { ... on Memo { id text } } }', { headers: user("ada", ["admin"]) });
    expect(allowed.body).toEqual({ data: { search: [{ id: "m1", text: "memo text" }] } });
  });

  it("applies an interface field's rule to the implementing field of every implementation", async () => {
    const query = "{ accounts { id balance } }";
    const denied = await app.graphql(query, { headers: user("alice") });
    expect(denied.body.data.accounts).toEqual([
      { id: "s1", balance: null },
      { id: "c1", balance: null },
    ]);
    expect(errorsOf(denied).map((e) => e.extensions.code)).toEqual(["FORBIDDEN"]);
    expect(errorsOf(denied)[0]!.extensions.auth).toMatchObject({ coordinate: "Savings.balance" });
    // Each implementation's own field carries the rule, also when selected through an inline fragment.
    const viaFragment = await app.graphql("{ accounts { ... on Checking { id balance overdraft } } }", { headers: user("alice") });
    expect(viaFragment.body.data.accounts).toEqual([{}, { id: "c1", balance: null, overdraft: 50 }]);
    expect(errorsOf(viaFragment)).toMatchObject([
      { path: ["accounts", 1, "balance"], extensions: { auth: { coordinate: "Checking.balance" } } },
    ]);
    const allowed = await app.graphql(query, { headers: user("fin", ["finance"]) });
    expect(allowed.body).toEqual({
      data: {
        accounts: [
          { id: "s1", balance: 100 },
          { id: "c1", balance: 5 },
        ],
      },
    });
  });

  it("refuses a field that returns a protected type at that field: one error, data null, resolver not run", async () => {
    const response = await app.graphql("{ vault { gold } open }", { headers: user("alice") });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ vault: null, open: "open" });
    expect(errorsOf(response)).toMatchObject([{ path: ["vault"], extensions: { code: "FORBIDDEN", auth: { coordinate: "Query.vault" } } }]);
    expect(resolverRan).not.toHaveBeenCalledWith("Query.vault");
    const anonymous = await app.graphql("{ vault { gold } }");
    expect(errorsOf(anonymous)).toMatchObject([{ path: ["vault"], extensions: { code: "UNAUTHENTICATED" } }]);
    const allowed = await app.graphql("{ vault { gold } }", { headers: user("ada", ["admin"]) });
    expect(allowed.body).toEqual({ data: { vault: { gold: 99 } } });
  });

  it("applies an interface's rule to a field returning one of its implementations", async () => {
    const response = await app.graphql("{ memo { id text } }", { headers: user("alice") });
    expect(response.body.data).toEqual({ memo: null });
    expect(errorsOf(response)).toMatchObject([{ path: ["memo"], extensions: { code: "FORBIDDEN" } }]);
    expect(resolverRan).not.toHaveBeenCalled();
  });

  it("applies type and field rules both", async () => {
    const query = "{ ledger { total audit } }";
    const financeOnly = await app.graphql(query, { headers: user("fin", ["finance"]) });
    expect(financeOnly.body.data).toEqual({ ledger: { total: 7, audit: null } });
    expect(errorsOf(financeOnly)).toMatchObject([
      { path: ["ledger", "audit"], extensions: { code: "FORBIDDEN", auth: { missing: ["group:auditor"] } } },
    ]);
    const auditorOnly = await app.graphql(query, { headers: user("aud", ["auditor"]) });
    expect(auditorOnly.body.data).toEqual({ ledger: null });
    expect(errorsOf(auditorOnly)).toMatchObject([{ path: ["ledger"], extensions: { auth: { missing: ["group:finance"] } } }]);
    const both = await app.graphql(query, { headers: user("both", ["finance", "auditor"]) });
    expect(both.body).toEqual({ data: { ledger: { total: 7, audit: "clean" } } });
  });

  it("checks owner: of a type on the object as it resolves: the owner sees it, another user gets null and FORBIDDEN, support passes", async () => {
    const query = `{ order(id: "o1") { id customerId total } }`;
    const owner = await app.graphql(query, { headers: user("alice") });
    expect(owner.body).toEqual({ data: { order: { id: "o1", customerId: sub("alice"), total: 10 } } });
    const other = await app.graphql(query, { headers: user("bob") });
    expect(other.status).toBe(200);
    expect(other.body.data).toEqual({ order: null });
    expect(errorsOf(other)).toMatchObject([{ path: ["order"], extensions: { code: "FORBIDDEN" } }]);
    const support = await app.graphql(query, { headers: user("sam", ["support"]) });
    expect(support.body).toEqual({ data: { order: { id: "o1", customerId: sub("alice"), total: 10 } } });
    const anonymous = await app.graphql(query);
    expect(errorsOf(anonymous)).toMatchObject([{ path: ["order"], extensions: { code: "UNAUTHENTICATED" } }]);
  });

  it("checks a union member's owner: on each object the field resolves to, refusing a list with one foreign item whole", async () => {
    const query = `{ search(kinds: ["o1", "o2"]) { ... on Order { id total } } }`;
    const response = await app.graphql(query, { headers: user("alice") });
    expect(response.body.data).toEqual({ search: null });
    expect(errorsOf(response)).toMatchObject([{ path: ["search"], extensions: { code: "FORBIDDEN" } }]);
    const own = await app.graphql(`{ search(kinds: ["o1", "o3", "note"]) { ... on Order { id } ... on Note { text } } }`, {
      headers: user("alice"),
    });
    expect(own.body).toEqual({ data: { search: [{ id: "o1" }, { id: "o3" }, { text: "hello" }] } });
    const support = await app.graphql(query, { headers: user("sam", ["support"]) });
    expect(support.body).toEqual({
      data: {
        search: [
          { id: "o1", total: 10 },
          { id: "o2", total: 20 },
        ],
      },
    });
  });

  it("answers a list of owned objects, and refuses a list with one foreign item whole with one error", async () => {
    const owned = await app.graphql(`{ ordersOf(customerId: "${sub("alice")}") { id total } }`, { headers: user("alice") });
    expect(owned.body).toEqual({
      data: {
        ordersOf: [
          { id: "o1", total: 10 },
          { id: "o3", total: 30 },
        ],
      },
    });
    const mixed = await app.graphql("{ orders { id total } }", { headers: user("alice") });
    expect(mixed.body.data).toEqual({ orders: null });
    expect(errorsOf(mixed)).toMatchObject([{ path: ["orders"], extensions: { code: "FORBIDDEN" } }]);
    const support = await app.graphql("{ orders { id } }", { headers: user("sam", ["support"]) });
    expect(support.body).toEqual({ data: { orders: [{ id: "o1" }, { id: "o2" }, { id: "o3" }] } });
  });

  it("reports a denied field at the path of each of its aliases", async () => {
    const response = await app.graphql("{ first: admins second: admins open }", { headers: user("alice") });
    expect(response.body.data).toEqual({ first: null, second: null, open: "open" });
    expect(pathsOf(response)).toEqual(expect.arrayContaining([["first"], ["second"]]));
    expect(errorsOf(response)).toHaveLength(2);
  });

  it("refuses a denied field selected through a named fragment at its path", async () => {
    const response = await app.graphql("{ ...Q } fragment Q on Query { admins anyone }", { headers: user("alice") });
    expect(response.body.data).toEqual({ admins: null, anyone: "anyone" });
    expect(errorsOf(response)).toMatchObject([{ path: ["admins"], extensions: { code: "FORBIDDEN" } }]);
  });

  it("reports a denied field of a named fragment spread under two aliases at both paths", async () => {
    const query = "{ a: ledger { ...L } b: ledger { ...L } } fragment L on Ledger { total audit }";
    const response = await app.graphql(query, { headers: user("fin", ["finance"]) });
    expect(response.body.data).toEqual({ a: { total: 7, audit: null }, b: { total: 7, audit: null } });
    // Not a list: the same fragment field at two distinct paths is two denied fields, each with its error.
    expect(pathsOf(response)).toEqual(
      expect.arrayContaining([
        ["a", "audit"],
        ["b", "audit"],
      ]),
    );
    expect(errorsOf(response)).toHaveLength(2);
  });

  it("refuses denied fields inside inline fragments on unions and on interfaces", async () => {
    const onUnion = await app.graphql(`{ search(kinds: ["note", "secret"]) { ... on Note { text } ... on SecretDoc { title } } }`, {
      headers: user("alice"),
    });
    expect(onUnion.body.data).toEqual({ search: null });
    expect(errorsOf(onUnion)).toMatchObject([{ path: ["search"], extensions: { code: "FORBIDDEN" } }]);
    const onInterface = await app.graphql("{ accounts { ... on Account { id balance } } }", { headers: user("alice") });
    expect(onInterface.body.data.accounts).toEqual([
      { id: "s1", balance: null },
      { id: "c1", balance: null },
    ]);
    expect(errorsOf(onInterface)).toHaveLength(1);
  });

  describe("abstract return types: a member's rule applies when the field resolves to it", () => {
    it.each([
      ["a union", `{ search(kinds: ["note", "secret", "secret"]) { __typename } }`, "search"],
      ["an interface (resolveType)", `{ entries(kinds: ["open", "closed", "closed"]) { __typename } }`, "entries"],
      [
        "an interface resolved by async isTypeOf, from an iterable",
        `{ lazyEntries(kinds: ["open", "closed"]) { __typename } }`,
        "lazyEntries",
      ],
      ["a single interface value", `{ entry(kind: "closed") { __typename id } }`, "entry"],
    ])(
      "through %s, an anonymous caller learns neither __typename nor how many protected objects there are",
      async (_label, query, field) => {
        const response = await app.graphql(query);
        expect(response.status).toBe(200);
        expect(response.body.data).toEqual({ [field]: null });
        expect(errorsOf(response)).toMatchObject([{ path: [field], extensions: { code: "UNAUTHENTICATED" } }]);
        expect(response.text).not.toMatch(/SecretDoc|ClosedEntry|LazyClosed/);
        const forbidden = await app.graphql(query, { headers: user("alice") });
        expect(forbidden.body.data).toEqual({ [field]: null });
        expect(errorsOf(forbidden)).toMatchObject([
          { path: [field], extensions: { code: "FORBIDDEN", auth: { missing: ["group:admin"] } } },
        ]);
        const admin = await app.graphql(query, { headers: user("ada", ["admin"]) });
        expect(admin.body.errors).toBeUndefined();
      },
    );

    it.each([
      ["a union", `{ search(kinds: ["note", "note"]) { __typename } }`, { search: [{ __typename: "Note" }, { __typename: "Note" }] }],
      ["an interface", `{ entries(kinds: ["open"]) { __typename id } }`, { entries: [{ __typename: "OpenEntry", id: "e0" }] }],
      [
        "an interface resolved by async isTypeOf",
        `{ lazyEntries(kinds: ["open"]) { __typename id } }`,
        { lazyEntries: [{ __typename: "LazyOpen", id: "l0" }] },
      ],
    ])("through %s, answers anyone when no protected object is in the answer", async (_label, query, data) => {
      expect((await app.graphql(query)).body).toEqual({ data });
    });
  });

  it("honours @include and @skip with variables: a skipped denied field produces no error", async () => {
    const include = "query ($with: Boolean!) { open admins @include(if: $with) }";
    const excluded = await app.graphql(include, { headers: user("alice"), variables: { with: false } });
    expect(excluded.body).toEqual({ data: { open: "open" } });
    const included = await app.graphql(include, { headers: user("alice"), variables: { with: true } });
    expect(included.body.data).toEqual({ open: "open", admins: null });
    expect(errorsOf(included)).toHaveLength(1);
    const skip = "query ($skip: Boolean!) { open admins @skip(if: $skip) }";
    const skipped = await app.graphql(skip, { headers: user("alice"), variables: { skip: true } });
    expect(skipped.body).toEqual({ data: { open: "open" } });
    const notSkipped = await app.graphql(skip, { headers: user("alice"), variables: { skip: false } });
    expect(errorsOf(notSkipped)).toMatchObject([{ path: ["admins"] }]);
  });

  it("yields exactly one error for a denied field in a 1,000-item list, nulls it in every item and keeps allowed fields", async () => {
    const response = await app.graphql("{ items(count: 1000) { id secret } }", { headers: user("alice") });
    expect(response.status).toBe(200);
    const items = response.body.data.items as { id: string; secret: string | null }[];
    expect(items).toHaveLength(1000);
    expect(items.every((item, i) => item.id === `i${i}` && item.secret === null)).toBe(true);
    expect(errorsOf(response)).toHaveLength(1);
    expect(errorsOf(response)[0]).toMatchObject({ path: ["items", 0, "secret"], extensions: { code: "FORBIDDEN" } });
  });

  it("gives UNAUTHENTICATED to an anonymous caller and FORBIDDEN to a verified caller lacking a requirement", async () => {
    const anonymous = await app.graphql("{ admins }");
    expect(anonymous.status).toBe(200);
    expect(errorsOf(anonymous)).toMatchObject([
      { path: ["admins"], message: "Authentication is required to access this field.", extensions: { code: "UNAUTHENTICATED" } },
    ]);
    const verified = await app.graphql("{ admins }", { headers: user("alice") });
    expect(verified.status).toBe(200);
    expect(verified.headers.get("www-authenticate")).toBeNull();
    expect(errorsOf(verified)).toMatchObject([
      { path: ["admins"], message: "You do not have permission to access this field.", extensions: { code: "FORBIDDEN" } },
    ]);
  });

  it("explains a denial in dev mode with coordinate, required and missing", async () => {
    const response = await app.graphql("{ both }", { headers: user("alice", ["a"]) });
    expect(errorsOf(response)[0]!.extensions.auth).toEqual({
      reason: "INSUFFICIENT_PERMISSION",
      coordinate: "Query.both",
      required: ["group:a", "group:b"],
      missing: ["group:b"],
    });
    const anonymous = await app.graphql("{ anyone }");
    expect(errorsOf(anonymous)[0]!.extensions.auth).toEqual({
      reason: "AUTHENTICATION_REQUIRED",
      coordinate: "Query.anyone",
      required: [],
      missing: ["a verified caller"],
    });
  });
});

describe("denial errors in the production posture", () => {
  const explanation = { coordinate: "Order.internalNote", required: ["group:staff"], missing: ["group:staff"] };

  it("redacts a field denial to its reason code only", () => {
    const forbidden = fieldDenied(false, explanation, { explain: false });
    expect(forbidden.extensions.code).toBe("FORBIDDEN");
    expect(forbidden.extensions.auth).toEqual({ reason: "INSUFFICIENT_PERMISSION" });
    const anonymous = fieldDenied(true, explanation, { explain: false });
    expect(anonymous.extensions.code).toBe("UNAUTHENTICATED");
    expect(anonymous.extensions.auth).toEqual({ reason: "AUTHENTICATION_REQUIRED" });
    expect(JSON.stringify(forbidden.toJSON())).not.toMatch(/staff|internalNote/);
  });

  it("redacts an operation denial to its reason code only, keeping status and challenge", () => {
    const forbidden = operationDenied(false, [explanation], { explain: false });
    expect(forbidden.extensions.auth).toEqual({ reason: "INSUFFICIENT_PERMISSION" });
    expect(forbidden.extensions.code).toBe("FORBIDDEN");
    const http = forbidden.extensions.http as unknown as { status: number; headers: Map<string, string> };
    expect(http.status).toBe(403);
    expect(http.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
    const anonymous = operationDenied(true, [explanation], { explain: false });
    expect(anonymous.extensions.auth).toEqual({ reason: "AUTHENTICATION_REQUIRED" });
    expect((anonymous.extensions.http as { status: number }).status).toBe(401);
    expect(JSON.stringify({ ...forbidden.toJSON(), extensions: { ...forbidden.extensions, http: undefined } })).not.toMatch(
      /staff|internalNote/,
    );
  });

  it("explains in the dev posture", () => {
    expect(fieldDenied(false, explanation, { explain: true }).extensions.auth).toEqual({
      reason: "INSUFFICIENT_PERMISSION",
      ...explanation,
    });
    expect(operationDenied(false, [explanation], { explain: true }).extensions.auth).toEqual({
      reason: "INSUFFICIENT_PERMISSION",
      denied: [explanation],
    });
  });
});

describe("@auth on Subscription fields: opening the event stream", () => {
  const opened: string[] = [];
  async function* ticks(name: string) {
    opened.push(name);
    yield { [name]: 1 };
  }
  const schema = build(
    `type Query { ok: String @public }
     type Subscription { adminTicks: Int @auth(requires: ["group:admin"]), publicTicks: Int @public }`,
    { Subscription: { adminTicks: { subscribe: () => ticks("adminTicks") }, publicTicks: { subscribe: () => ticks("publicTicks") } } },
  );
  const run = (query: string, auth: RequestAuth) =>
    subscribe({ schema, document: parse(query), contextValue: { auth, principal: auth.principal } });

  beforeEach(() => {
    opened.length = 0;
  });

  it("refuses the whole operation before the stream opens when the field's rule denies the caller", async () => {
    const anonymous = await run("subscription { adminTicks }", new RequestAuth(null, { explain: false }));
    expect(anonymous).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });
    const customer = await run("subscription { adminTicks }", new RequestAuth(principal(), { explain: false }));
    expect(customer).toMatchObject({ errors: [{ extensions: { code: "FORBIDDEN" } }] });
    expect(opened).toEqual([]);
  });

  it("opens the stream for a caller the rule allows, and for anyone on a @public field", async () => {
    const admin = (await run(
      "subscription { adminTicks }",
      new RequestAuth(principal({ groups: ["admin"] }), { explain: false }),
    )) as AsyncIterableIterator<unknown>;
    expect(await admin.next()).toEqual({ done: false, value: { data: { adminTicks: 1 } } });
    const visitor = (await run(
      "subscription { publicTicks }",
      new RequestAuth(null, { explain: false }),
    )) as AsyncIterableIterator<unknown>;
    expect(await visitor.next()).toEqual({ done: false, value: { data: { publicTicks: 1 } } });
    expect(opened).toEqual(["adminTicks", "publicTicks"]);
  });
});
