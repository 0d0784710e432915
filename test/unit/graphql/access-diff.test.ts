import { describe, expect, it } from "vitest";
import { ApprovalsError, checkApprovals, diffManifests, parseApprovals, reachOf } from "../../../src/graphql/access-diff.js";
import type { AccessManifest, FieldAccess } from "../../../src/graphql/access-manifest.js";

const rule = (...entries: string[][]): FieldAccess => ({ type: "Doc", authenticated: true, requires: entries.map((anyOf) => ({ anyOf })) });
const manifest = (access: FieldAccess): AccessManifest => ({ description: "", types: { Query: { doc: access } } });

describe("diffManifests", () => {
  it("finds an abstract member's rule weakened or dropped", () => {
    const base = manifest({
      type: "[Result]",
      public: true,
      members: { Secret: { authenticated: true, requires: [{ anyOf: ["group:admin"] }] } },
    });
    const weaker = manifest({
      type: "[Result]",
      public: true,
      members: { Secret: { authenticated: true, requires: [{ anyOf: ["group:admin", "group:staff"] }] } },
    });
    const gone = manifest({ type: "[Result]", public: true });
    expect(diffManifests(base, weaker).changes[0]!.widenings).toEqual([
      { field: "Query.doc", widening: "when Secret: weakened: group:admin -> group:admin|group:staff" },
    ]);
    expect(diffManifests(base, gone).changes[0]!.widenings).toEqual([{ field: "Query.doc", widening: "when Secret: rule removed" }]);
  });

  it("sees replacing an atom as a widening even when the same classes lose and gain", () => {
    const { changes } = diffManifests(manifest(rule(["group:a"])), manifest(rule(["group:b"])));
    expect(changes[0]!.widenings.map((w) => w.widening)).toEqual(["removed: group:a"]);
    expect(changes[0]!.reach["group:a"]).toEqual({ before: "yes", after: "no" });
    expect(changes[0]!.reach["group:b"]).toEqual({ before: "no", after: "yes" });
  });

  it("finds no widening when entries are only reordered or split stricter", () => {
    expect(
      diffManifests(manifest(rule(["group:a", "group:b"])), manifest(rule(["group:b", "group:a"]))).changes[0]?.widenings ?? [],
    ).toEqual([]);
    expect(diffManifests(manifest(rule(["group:a", "group:b"])), manifest(rule(["group:a"], ["group:b"]))).changes[0]!.widenings).toEqual(
      [],
    );
  });

  it("gives owner classes 'own' reach", () => {
    const owned: FieldAccess = {
      type: "Doc",
      authenticated: true,
      requires: [{ anyOf: ["owner:ownerId", "group:a"], ownerFrom: "parent" }],
    };
    expect(reachOf(owned, "owner")).toBe("own");
    expect(reachOf(owned, "group:a")).toBe("yes");
    expect(reachOf(owned, "signed in")).toBe("no");
    expect(reachOf(owned, "anonymous")).toBe("no");
  });
});

describe("approvals", () => {
  it("refuses a file that is not JSON or lacks a reason, naming the place", () => {
    expect(() => parseApprovals("{")).toThrow(ApprovalsError);
    expect(() => parseApprovals("{}")).toThrow('needs an "approvals" array');
    expect(() => parseApprovals('{"approvals":[{"field":"Query.doc","widening":"public","reason":" "}]}')).toThrow(
      'approvals[0] needs a non-empty string "reason"',
    );
  });

  it("matches on field and widening exactly, and lists approvals that match nothing", () => {
    const diff = diffManifests(manifest(rule(["group:a"])), manifest({ type: "Doc", public: true }));
    const approvals = parseApprovals(
      JSON.stringify({
        approvals: [
          { field: "Query.doc", widening: "public", reason: "open data" },
          { field: "Query.x", widening: "added", reason: "old" },
        ],
      }),
    );
    const { approved, unapproved, unused } = checkApprovals(diff, approvals);
    expect(approved.map((a) => a.reason)).toEqual(["open data"]);
    expect(unapproved).toEqual([]);
    expect(unused.map((a) => a.field)).toEqual(["Query.x"]);
  });
});
