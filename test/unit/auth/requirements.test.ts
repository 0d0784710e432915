import { describe, expect, it } from "vitest";
import { principal } from "../../helpers/principal.js";
import { decide, ownerHolds, parseRequires, RuleSyntaxError } from "../../../src/auth/requirements.js";

describe("parseRequires", () => {
  it("parses AND-ed entries of OR-ed atoms", () => {
    const [first, second] = parseRequires(["group:admin|scope:orders/read", "owner:customerId"]);
    expect(first!.atoms).toEqual([
      { kind: "group", name: "admin" },
      { kind: "scope", name: "orders/read" },
    ]);
    expect(second!.atoms).toEqual([{ kind: "owner", field: "customerId" }]);
    expect(first!.on).toBe("parent");
  });

  it("tolerates spaces around the bar", () => {
    expect(parseRequires(["group:a | group:b"])[0]!.atoms).toHaveLength(2);
  });

  it.each([
    [[], /empty/],
    [[""], /empty entry/],
    [["   "], /empty entry/],
    [["group:a|"], /empty atom/],
    [["|group:a"], /empty atom/],
    [["role:admin"], /unknown atom "role:admin"/],
    [["admin"], /unknown atom "admin"/],
    [["Group:admin"], /unknown atom/],
    [["group:"], /needs a name/],
    [["scope:"], /needs a name/],
    [["owner:"], /needs a field name/],
    [["owner:customer-id"], /needs a field name/],
    [["owner:1abc"], /needs a field name/],
  ])("refuses %j", (requires, message) => {
    expect(() => parseRequires(requires as string[])).toThrow(RuleSyntaxError);
    expect(() => parseRequires(requires as string[])).toThrow(message);
  });
});

describe("decide", () => {
  const rule = (...requires: string[]) => parseRequires(requires);

  it("allows anyone where nothing is required", () => {
    expect(decide(null, false, []).outcome).toBe("allow");
  });

  it("refuses an anonymous caller any guard, even @auth without requirements", () => {
    expect(decide(null, true, [])).toEqual({ outcome: "deny", missing: ["a verified caller"] });
    expect(decide(null, true, rule("group:a"))).toEqual({ outcome: "deny", missing: ["group:a"] });
    expect(decide(null, true, rule("owner:x")).outcome).toBe("deny");
  });

  it("allows any verified caller for @auth without requirements", () => {
    expect(decide(principal(), true, []).outcome).toBe("allow");
  });

  it("needs every entry (AND)", () => {
    const requirements = rule("group:a", "scope:s");
    expect(decide(principal({ groups: ["a"], scopes: ["s"] }), true, requirements).outcome).toBe("allow");
    expect(decide(principal({ groups: ["a"] }), true, requirements)).toEqual({ outcome: "deny", missing: ["scope:s"] });
    expect(decide(principal({ scopes: ["s"] }), true, requirements)).toEqual({ outcome: "deny", missing: ["group:a"] });
  });

  it("needs one atom of an entry (OR)", () => {
    const requirements = rule("group:a|group:b|scope:s");
    expect(decide(principal({ groups: ["b"] }), true, requirements).outcome).toBe("allow");
    expect(decide(principal({ scopes: ["s"] }), true, requirements).outcome).toBe("allow");
    expect(decide(principal({ groups: ["c"] }), true, requirements).outcome).toBe("deny");
  });

  it("matches groups exactly and case-sensitively", () => {
    const requirements = rule("group:admin");
    expect(decide(principal({ groups: ["Admin"] }), true, requirements).outcome).toBe("deny");
    expect(decide(principal({ groups: ["admins"] }), true, requirements).outcome).toBe("deny");
    expect(decide(principal({ groups: ["admin "] }), true, requirements).outcome).toBe("deny");
    expect(decide(principal({ groups: ["admin"] }), true, requirements).outcome).toBe("allow");
  });

  it("matches scopes exactly, never by prefix", () => {
    const requirements = rule("scope:orders/read");
    expect(decide(principal({ scopes: ["orders/readx"] }), true, requirements).outcome).toBe("deny");
    expect(decide(principal({ scopes: ["orders"] }), true, requirements).outcome).toBe("deny");
    expect(decide(principal({ scopes: ["Orders/read"] }), true, requirements).outcome).toBe("deny");
    expect(decide(principal({ scopes: ["openid", "orders/read"] }), true, requirements).outcome).toBe("allow");
  });

  it("defers owner atoms that no group or scope of the entry satisfies", () => {
    const requirements = rule("owner:customerId|group:support");
    expect(decide(principal({ groups: ["support"] }), true, requirements).outcome).toBe("allow");
    const decision = decide(principal(), true, requirements);
    expect(decision.outcome).toBe("owner");
  });

  it("denies when a non-owner entry fails even if an owner entry is pending", () => {
    expect(decide(principal(), true, rule("owner:customerId", "group:staff"))).toEqual({
      outcome: "deny",
      missing: ["group:staff"],
    });
  });
});

describe("ownerHolds", () => {
  const pending = parseRequires(["owner:customerId|owner:sellerId"]);

  it("holds when one owner field equals the caller's sub", () => {
    expect(ownerHolds(pending, "parent", { customerId: "sub-1" }, principal())).toBe(true);
    expect(ownerHolds(pending, "parent", { sellerId: "sub-1" }, principal())).toBe(true);
  });

  it("fails for another caller's object, a missing field or no object", () => {
    expect(ownerHolds(pending, "parent", { customerId: "sub-2" }, principal())).toBe(false);
    expect(ownerHolds(pending, "parent", {}, principal())).toBe(false);
    expect(ownerHolds(pending, "parent", null, principal())).toBe(false);
    expect(ownerHolds(pending, "parent", { customerId: { toString: () => "sub-1" } }, principal())).toBe(false);
  });

  it("only reads requirements aimed at the given object", () => {
    expect(ownerHolds(pending, "result", {}, principal())).toBe(true);
  });
});
