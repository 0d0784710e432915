import { makeExecutableSchema } from "@graphql-tools/schema";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyAuthDirectives, authDirectiveTypeDefs, AuthSchemaError } from "../../../src/auth/index.js";
import { diffManifests } from "../../../src/graphql/access-diff.js";
import { accessManifest, formatAccessTable } from "../../../src/graphql/access-manifest.js";
import { DEV_APP_CLIENT_ID } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { decisionRecordsOf } from "../../helpers/decision-records.js";

/** Shadow rules (`@auth(..., enforce: false)`) over the real server: evaluated, logged and counted, never refusing. */
const SDL = /* GraphQL */ `
  type Doc @auth(requires: ["owner:ownerId|group:editors"]) @auth(requires: ["owner:ownerId"], enforce: false) {
    ownerId: ID!
    title: String
  }
  type Query {
    notice: String @public @auth(requires: ["group:readers"], enforce: false)
    doc(id: ID!): Doc @auth
    docs: [Doc!]! @auth
  }
`;
const DOCS = [{ id: "d1", ownerId: "owner-1", title: "Mine" }];
const build = (typeDefs: string) =>
  applyAuthDirectives(
    makeExecutableSchema({
      typeDefs: [authDirectiveTypeDefs, typeDefs],
      resolvers: {
        Query: {
          notice: () => "hello",
          doc: (_: unknown, { id }: { id: string }) => DOCS.find((d) => d.id === id) ?? null,
          docs: () => DOCS,
        },
      },
    }),
  );

describe("shadow rules over HTTP", () => {
  let app: TestApp;
  const logs: Record<string, any>[] = [];
  beforeAll(async () => {
    const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    app = await startApp({}, { schema: build(SDL), logger, metrics: true });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    logs.length = 0;
  });
  const as = (sub: string, groups: string[] = []) =>
    bearer(app.devIssuer!.mint({ sub, username: sub, groups, clientId: DEV_APP_CLIENT_ID }));
  // Over HTTP a decision record rides in its request line (`audit`).
  const decisions = () => decisionRecordsOf(logs);
  const shadowCount = async (coordinate: string) => {
    const text = (await app.fetch("/metrics")).text;
    const line = text.split("\n").find((l) => l.startsWith(`auth_shadow_denials_total{coordinate="${coordinate}"}`));
    return line ? Number(line.split(" ").at(-1)) : 0;
  };

  it("answers an anonymous caller a public field with a shadow rule, and logs and counts the would-be denial", async () => {
    const before = await shadowCount("Query.notice");
    const response = await app.graphql("query Notice { notice }");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { notice: "hello" } });
    expect(decisions()).toEqual([
      expect.objectContaining({
        principal: "ANONYMOUS",
        operation: "Notice",
        outcome: "allowed",
        // The enforced rule (public) allowed it; the shadow rule would have refused it.
        decisions: [
          {
            coordinate: "Query.notice",
            decision: "shadow-deny",
            reason: "AUTHENTICATION_REQUIRED",
            rule: ["group:readers"],
            failed: ["group:readers"],
          },
          { coordinate: "Query.notice", decision: "allow", rule: ["public"] },
        ],
      }),
    ]);
    expect(await shadowCount("Query.notice")).toBe(before + 1);
  });

  it("logs nothing for a caller the shadow rule lets through", async () => {
    const before = await shadowCount("Query.notice");
    const response = await app.graphql("{ notice }", { headers: as("reader-1", ["readers"]) });
    expect(response.body).toEqual({ data: { notice: "hello" } });
    expect(decisions()).toEqual([]);
    expect(await shadowCount("Query.notice")).toBe(before);
  });

  it("lets an editor read a document the stricter shadow rule (owner only) would refuse, once per field in the record", async () => {
    const response = await app.graphql('{ doc(id: "d1") { title ownerId } docs { title } }', { headers: as("editor-1", ["editors"]) });
    expect(response.body).toEqual({ data: { doc: { title: "Mine", ownerId: "owner-1" }, docs: [{ title: "Mine" }] } });
    const [record] = decisions();
    expect(record.sub).toBe("editor-1");
    expect(record.jti).toEqual(expect.any(String));
    expect(record.documentHash).toMatch(/^[0-9a-f]{64}$/);
    const shadowed = record.decisions
      .filter((d: { decision: string }) => d.decision === "shadow-deny")
      .map((d: { coordinate: string }) => d.coordinate);
    expect(shadowed.sort()).toEqual(["Doc.ownerId", "Doc.title", "Query.doc", "Query.docs"]);
    expect(await shadowCount("Doc.title")).toBeGreaterThan(0);
  });

  it("records nothing for the owner, whom both rules let in", async () => {
    const response = await app.graphql('{ doc(id: "d1") { title } docs { title } }', { headers: as("owner-1") });
    expect(response.body.data.doc).toEqual({ title: "Mine" });
    expect(decisions()).toEqual([]);
  });

  it("still enforces the enforced rule beside a shadow one", async () => {
    const response = await app.graphql('{ doc(id: "d1") { title } }', { headers: as("stranger-1") });
    expect(response.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(["FORBIDDEN"]);
    expect(decisions()[0].outcome).toBe("denied");
  });
});

describe("shadow rules in the manifest and the schema checks", () => {
  it("lists what a shadow rule would add to the enforced rule, and auth:report prints it", () => {
    const manifest = accessManifest(build(SDL));
    expect(manifest.types.Query!.notice).toEqual({
      type: "String",
      public: true,
      shadow: { authenticated: true, requires: [{ anyOf: ["group:readers"] }] },
    });
    expect(manifest.types.Doc!.title).toEqual({
      type: "String",
      authenticated: true,
      requires: [{ anyOf: ["owner:ownerId", "group:editors"], ownerFrom: "parent" }],
      shadow: { authenticated: true, requires: [{ anyOf: ["owner:ownerId"], ownerFrom: "parent" }] },
    });
    expect(formatAccessTable(manifest)).toMatch(
      /^Query\.notice +String +public\n +shadow \(logged, not enforced\): signed in\n +and group:readers$/m,
    );
  });

  it("refuses a shadow rule with an unknown atom, and a root field whose only rule is a shadow one", () => {
    expect(() =>
      build(SDL.replace('@auth(requires: ["group:readers"], enforce: false)', '@auth(requires: ["role:readers"], enforce: false)')),
    ).toThrow(AuthSchemaError);
    expect(() => build(SDL.replace("notice: String @public @auth", "notice: String @auth"))).toThrow(
      /Query\.notice: root field has no @auth or @public decision/,
    );
  });
});

/** Shadow rules on an interface, an interface field, and union members: applied as enforced ones would be. */
const ABSTRACT_SDL = /* GraphQL */ `
  interface Entry @auth(requires: ["group:editors"], enforce: false) {
    id: ID!
    ownerId: ID!
    secret: String @auth(requires: ["group:auditors"], enforce: false)
  }
  type Note implements Entry {
    id: ID!
    ownerId: ID!
    secret: String
    text: String
  }
  type Photo @auth(requires: ["owner:ownerId"], enforce: false) {
    id: ID!
    ownerId: ID!
    url: String
  }
  union Item = Note | Photo
  type Query {
    entries: [Entry!]! @public
    items: [Item!]! @public
  }
`;
const NOTE = { id: "n1", ownerId: "owner-1", secret: "s", text: "t" };
const PHOTO = { id: "p1", ownerId: "owner-1", url: "u" };
const buildAbstract = () =>
  applyAuthDirectives(
    makeExecutableSchema({
      typeDefs: [authDirectiveTypeDefs, ABSTRACT_SDL],
      resolvers: {
        Entry: { __resolveType: () => "Note" },
        Item: { __resolveType: (item: { url?: string }) => (item.url ? "Photo" : "Note") },
        Query: { entries: () => [NOTE], items: () => [NOTE, PHOTO] },
      },
    }),
  );

describe("shadow rules on interfaces and union members, over HTTP", () => {
  let app: TestApp;
  const logs: Record<string, any>[] = [];
  beforeAll(async () => {
    const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    app = await startApp({}, { schema: buildAbstract(), logger, metrics: true });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    logs.length = 0;
  });
  const as = (sub: string, groups: string[] = []) =>
    bearer(app.devIssuer!.mint({ sub, username: sub, groups, clientId: DEV_APP_CLIENT_ID }));
  /** `decision coordinate failed` of the shadow denials in the one record of the last request. */
  const shadowDenials = () =>
    logs
      .filter((l) => l.audit)
      .map((l) => l.audit)
      .flatMap((r) => r.decisions)
      .filter((d: { decision: string }) => d.decision === "shadow-deny")
      .map((d: { coordinate: string; failed: string[] }) => `${d.coordinate} ${d.failed.join(",")}`)
      .sort();

  it("tries a union member's shadow rule on each object the field returns, even when only __typename is selected", async () => {
    const response = await app.graphql("{ items { __typename } }", { headers: as("editor-2", ["editors"]) });
    // Nothing refused: both objects answered.
    expect(response.body).toEqual({ data: { items: [{ __typename: "Note" }, { __typename: "Photo" }] } });
    // The Note passes its interface's shadow rule (group:editors); the Photo is not this caller's.
    expect(shadowDenials()).toEqual(["Query.items owner:ownerId"]);
  });

  it("records nothing when every member's shadow rule holds", async () => {
    const response = await app.graphql("{ items { __typename } }", { headers: as("owner-1", ["editors"]) });
    expect(response.body.data.items).toHaveLength(2);
    expect(shadowDenials()).toEqual([]);
  });

  it("applies an interface's shadow rule to the fields returning it and to every implementation's fields, and an interface field's to that field", async () => {
    const response = await app.graphql("{ entries { id ... on Note { text secret } } }", { headers: as("writer-1") });
    expect(response.body).toEqual({ data: { entries: [{ id: "n1", text: "t", secret: "s" }] } });
    expect(shadowDenials()).toEqual([
      "Note.id group:editors",
      "Note.secret group:editors,group:auditors",
      "Note.text group:editors",
      "Query.entries group:editors",
    ]);
  });

  it("shows member and interface shadow rules in the manifest, and enforcing a member's is a narrowing", () => {
    const manifest = accessManifest(buildAbstract());
    expect(manifest.types.Query!.items).toEqual({
      type: "[Item!]!",
      public: true,
      memberShadows: {
        Note: { authenticated: true, requires: [{ anyOf: ["group:editors"] }] },
        Photo: { authenticated: true, requires: [{ anyOf: ["owner:ownerId"], ownerFrom: "result" }] },
      },
    });
    expect(manifest.types.Note!.secret!.shadow).toEqual({
      authenticated: true,
      requires: [{ anyOf: ["group:editors"] }, { anyOf: ["group:auditors"] }],
    });
    expect(formatAccessTable(manifest)).toContain("when it returns a Photo, shadow (logged, not enforced): signed in");
    const enforced = accessManifest(
      applyAuthDirectives(
        makeExecutableSchema({
          typeDefs: [
            authDirectiveTypeDefs,
            ABSTRACT_SDL.replace('@auth(requires: ["owner:ownerId"], enforce: false)', '@auth(requires: ["owner:ownerId"])'),
          ],
          resolvers: { Entry: { __resolveType: () => "Note" }, Item: { __resolveType: () => "Note" } },
        }),
      ),
    );
    const diff = diffManifests(manifest, enforced);
    const items = diff.changes.find((c) => c.field === "Query.items")!;
    expect(items.widenings).toEqual([]);
    expect(items.shadowChanged).toBe(true);
  });
});
