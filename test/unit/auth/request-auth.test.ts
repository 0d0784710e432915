import { makeExecutableSchema } from "@graphql-tools/schema";
import { execute, parse } from "graphql";
import { describe, expect, it } from "vitest";
import { applyAuthDirectives, authDirectiveTypeDefs } from "../../../src/auth/directive.js";
import { RequestAuth, type Principal } from "../../../src/auth/index.js";
import { principal } from "../../helpers/principal.js";

/**
 * The per-request auth state without a server: which rows a lookup may return (`mayReturn`), which it
 * concealed, and which denials execution decided (what a whole refusal after execution lists).
 */

const ROWS: Record<string, { id: string; ownerId: string; secret: string }> = {
  mine: { id: "mine", ownerId: "sub-1", secret: "s1" },
  theirs: { id: "theirs", ownerId: "sub-2", secret: "s2" },
};

const schema = applyAuthDirectives(
  makeExecutableSchema({
    typeDefs: [
      authDirectiveTypeDefs,
      `type Doc @auth(requires: ["owner:ownerId|group:staff"]) { id: ID! ownerId: ID! secret: String @auth(requires: ["owner:ownerId"]) }
       type Query { doc(id: ID!): Doc @auth  open(id: ID!): String @public }`,
    ],
    resolvers: {
      Query: {
        // A lookup that answers a row the caller may not see as absent, as the shop's resolvers do.
        doc: (_: unknown, { id }: { id: string }, { auth }: { auth: RequestAuth }, info: never) => {
          const row = ROWS[id];
          if (!row) return null;
          if (auth.mayReturn(info, row)) return row;
          auth.conceal(info);
          return null;
        },
        open: (_: unknown, { id }: { id: string }, { auth }: { auth: RequestAuth }, info: never) => String(auth.mayReturn(info, ROWS[id])),
      },
    },
  }),
);

async function run(query: string, caller: Principal) {
  const auth = new RequestAuth(caller, { explain: true });
  const result = await execute({ schema, document: parse(query), contextValue: { auth, principal: caller } });
  return { result, auth };
}

describe("RequestAuth.mayReturn and conceal", () => {
  it("lets an owner's row through and records nothing", async () => {
    const { result, auth } = await run('{ doc(id: "mine") { id secret } }', principal());
    expect(result).toEqual({ data: { doc: { id: "mine", secret: "s1" } } });
    expect(auth.concealed).toEqual([]);
    expect(auth.deniedInExecution).toEqual([]);
  });

  it("answers someone else's row exactly as a missing one, and records it for the audit log only", async () => {
    const theirs = await run('{ doc(id: "theirs") { id } }', principal());
    const missing = await run('{ doc(id: "nowhere") { id } }', principal());
    expect(theirs.result).toEqual({ data: { doc: null } });
    expect(theirs.result).toEqual(missing.result);
    expect(theirs.auth.concealed).toEqual([{ coordinate: "Query.doc", path: "doc" }]);
    expect(missing.auth.concealed).toEqual([]);
    expect(theirs.auth.deniedInExecution).toEqual([]);
  });

  it("lets a group that the rule names see every row", async () => {
    const { result } = await run('{ doc(id: "theirs") { id } }', principal({ groups: ["staff"] }));
    expect(result).toEqual({ data: { doc: { id: "theirs" } } });
  });

  it("allows anything on a field without a rule", async () => {
    const { result } = await run('{ open(id: "theirs") }', principal());
    expect(result).toEqual({ data: { open: "true" } });
  });
});

describe("RequestAuth.deniedInExecution", () => {
  it("lists each rule denied on the objects once, however many times it was refused", async () => {
    const { result, auth } = await run(
      '{ a: doc(id: "theirs") { secret } b: doc(id: "theirs") { secret } }',
      principal({ groups: ["staff"] }),
    );
    expect(result.errors?.map((e) => e.path?.join("."))).toEqual(["a.secret", "b.secret"]);
    expect(auth.deniedInExecution).toEqual([
      { coordinate: "Doc.secret", required: ["owner:ownerId", "owner:ownerId|group:staff"], missing: ["owner:ownerId"] },
    ]);
  });

  it("includes refusals of the whole operation from inside a resolver", () => {
    const auth = new RequestAuth(principal(), { explain: true });
    expect(() => auth.refuseOperation("Mutation.x", ["a person"])).toThrow();
    expect(auth.deniedInExecution).toEqual([{ coordinate: "Mutation.x", required: ["a person"], missing: ["a person"] }]);
  });
});
