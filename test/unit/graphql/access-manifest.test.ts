import { makeExecutableSchema } from "@graphql-tools/schema";
import { describe, expect, it } from "vitest";
import { applyAuthDirectives, authDirectiveTypeDefs } from "../../../src/auth/index.js";
import { accessManifest, formatAccessTable, manifestText } from "../../../src/graphql/access-manifest.js";

// Every source of a rule: an interface, a type, a field, and a return type read by a root field.
const SDL = /* GraphQL */ `
  interface Owned @auth(requires: ["owner:ownerId"]) {
    ownerId: ID!
  }
  type Doc implements Owned @auth(requires: ["group:readers|owner:ownerId"]) {
    ownerId: ID!
    title: String!
    secret: String @auth(requires: ["scope:docs/secret"])
  }
  type Note @public {
    text: String
  }
  type Query {
    notes: [Note!]! @public
    doc(id: ID!): Doc @auth
  }
`;
const schema = applyAuthDirectives(makeExecutableSchema({ typeDefs: [authDirectiveTypeDefs, SDL] }));
const readersOrOwner = { anyOf: ["group:readers", "owner:ownerId"], ownerFrom: "parent" };
const owner = { anyOf: ["owner:ownerId"], ownerFrom: "parent" };

describe("accessManifest", () => {
  it("gives every object field its effective rule after type, interface and return-type inheritance", () => {
    expect(accessManifest(schema).types).toEqual({
      Doc: {
        ownerId: { type: "ID!", authenticated: true, requires: [readersOrOwner, owner] },
        secret: { type: "String", authenticated: true, requires: [{ anyOf: ["scope:docs/secret"] }, readersOrOwner, owner] },
        title: { type: "String!", authenticated: true, requires: [readersOrOwner, owner] },
      },
      Note: { text: { type: "String", public: true } },
      Query: {
        // The root field itself only needs a signed-in caller; the owner is read from the Doc it returns.
        doc: {
          type: "Doc",
          authenticated: true,
          requires: [
            { ...readersOrOwner, ownerFrom: "result" },
            { ...owner, ownerFrom: "result" },
          ],
        },
        notes: { type: "[Note!]!", public: true },
      },
    });
  });

  it("lists types and fields in name order, so the file's text is stable", () => {
    const manifest = accessManifest(schema);
    expect(Object.keys(manifest.types)).toEqual(["Doc", "Note", "Query"]);
    expect(Object.keys(manifest.types.Query!)).toEqual(["doc", "notes"]);
    expect(manifestText(manifest)).toBe(manifestText(accessManifest(schema)));
    expect(manifestText(manifest).endsWith("}\n")).toBe(true);
  });

  it("says signed in for @auth without requirements", () => {
    const plain = applyAuthDirectives(makeExecutableSchema({ typeDefs: [authDirectiveTypeDefs, "type Query { me: String @auth }"] }));
    expect(accessManifest(plain).types.Query).toEqual({ me: { type: "String", authenticated: true, requires: [] } });
  });
});

describe("abstract return types", () => {
  const abstract = applyAuthDirectives(
    makeExecutableSchema({
      typeDefs: [
        authDirectiveTypeDefs,
        /* GraphQL */ `
          type Query @public { search: [Result] }
          union Result = Open | Closed | Mine
          type Open { id: ID }
          type Closed @auth(requires: ["group:admin"]) { id: ID }
          type Mine @auth(requires: ["owner:ownerId"]) { ownerId: ID }
        `,
      ],
    }),
  );

  it("lists the rule each possible type adds, as the server applies it when the field resolves to that type", () => {
    expect(accessManifest(abstract).types.Query).toEqual({
      search: {
        type: "[Result]",
        public: true,
        members: {
          Closed: { authenticated: true, requires: [{ anyOf: ["group:admin"] }] },
          Mine: { authenticated: true, requires: [{ anyOf: ["owner:ownerId"], ownerFrom: "result" }] },
        },
      },
    });
  });

  it("prints them under the field", () => {
    expect(formatAccessTable(accessManifest(abstract))).toContain(
      [
        "Query.search  [Result]  public",
        "                        when it returns a Closed: signed in",
        "                          and group:admin",
        "                        when it returns a Mine: signed in",
        "                          and owner:ownerId   (owner: the returned Mine)",
      ].join("\n"),
    );
  });
});

describe("formatAccessTable", () => {
  it("prints one line per field and one per requirement, naming whose owner field is read", () => {
    expect(formatAccessTable(accessManifest(schema))).toBe(
      [
        "FIELD        TYPE      ACCESS",
        "Doc.ownerId  ID!       signed in",
        "                       and group:readers | owner:ownerId   (owner: this Doc)",
        "                       and owner:ownerId   (owner: this Doc)",
        "Doc.secret   String    signed in",
        "                       and scope:docs/secret",
        "                       and group:readers | owner:ownerId   (owner: this Doc)",
        "                       and owner:ownerId   (owner: this Doc)",
        "Doc.title    String!   signed in",
        "                       and group:readers | owner:ownerId   (owner: this Doc)",
        "                       and owner:ownerId   (owner: this Doc)",
        "",
        "Note.text    String    public",
        "",
        "Query.doc    Doc       signed in",
        "                       and group:readers | owner:ownerId   (owner: the returned Doc)",
        "                       and owner:ownerId   (owner: the returned Doc)",
        "Query.notes  [Note!]!  public",
        "",
        "3 types, 6 fields: 2 public, 4 for signed-in callers.",
        '"signed in": any verified caller; each "and" line must also hold, any one of its atoms suffices.',
        "",
      ].join("\n"),
    );
  });
});
