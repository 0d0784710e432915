import { parse, type ExecutionArgs } from "graphql";
import { describe, expect, it } from "vitest";
import { buildSchema } from "../../../src/graphql/schema.js";
import { createSharedExecution, sharingKeyOf } from "../../../src/graphql/subscription-sharing.js";
import { principal } from "../../helpers/principal.js";

const schema = buildSchema();
const documents = new Map<string, ReturnType<typeof parse>>();
/** As the document cache does: one parsed document per text. */
const args = (query: string, variableValues?: Record<string, unknown>, operationName?: string): ExecutionArgs => {
  if (!documents.has(query)) documents.set(query, parse(query));
  return { schema, document: documents.get(query)!, variableValues, operationName };
};

const PLAIN = "subscription($after: String) { orderEvents(after: $after) { kind order { id status } } }";
const EMAIL = "subscription { orderEvents { kind order { id customerEmail } } }";
const staff = (sub: string) => principal({ sub, groups: ["staff"] });

describe("sharingKeyOf: who may share one execution of an event", () => {
  it("is the same for two staff members on the same selection, whatever their sub and resume cursor", () => {
    expect(sharingKeyOf(args(PLAIN, { after: "a" }), staff("s1"))).toBe(sharingKeyOf(args(PLAIN, { after: "b" }), staff("s2")));
    // Groups in another order are the same rights.
    expect(sharingKeyOf(args(PLAIN), principal({ sub: "x", groups: ["staff", "support"] }))).toBe(
      sharingKeyOf(args(PLAIN), principal({ sub: "y", groups: ["support", "staff"] })),
    );
  });

  it("differs by rights: groups, scopes, kind, anonymity", () => {
    const keys = [
      sharingKeyOf(args(PLAIN), staff("s1")),
      sharingKeyOf(args(PLAIN), principal({ sub: "s1", groups: ["support"] })),
      sharingKeyOf(args(PLAIN), principal({ sub: "s1", groups: ["staff"], scopes: ["orders/read"] })),
      sharingKeyOf(args(PLAIN), principal({ sub: "s1", groups: ["staff"], kind: "CLIENT" })),
      sharingKeyOf(args(PLAIN), null),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("holds the sub when an owner: atom decides a selected field for this caller, and only then", () => {
    // customerEmail is owner:customerId|group:support: for staff the owner atom decides, so the sub matters.
    expect(sharingKeyOf(args(EMAIL), staff("s1"))).not.toBe(sharingKeyOf(args(EMAIL), staff("s2")));
    // Through a fragment and an inline fragment too.
    const viaFragment = "subscription { orderEvents { ...E } } fragment E on OrderEvent { order { ... on Order { customerEmail } } }";
    expect(sharingKeyOf(args(viaFragment), staff("s1"))).not.toBe(sharingKeyOf(args(viaFragment), staff("s2")));
    // For support, group:support holds: the sub does not matter.
    const support = (sub: string) => principal({ sub, groups: ["support"] });
    expect(sharingKeyOf(args(EMAIL), support("s1"))).toBe(sharingKeyOf(args(EMAIL), support("s2")));
    // A customer's Order rule is owner:customerId: always keyed by sub.
    const MINE = "subscription { myOrderEvents { order { id } } }";
    expect(sharingKeyOf(args(MINE), principal({ sub: "c1" }))).not.toBe(sharingKeyOf(args(MINE), principal({ sub: "c2" })));
  });

  it("differs by operation and by the variables read below the root field", () => {
    const nested = "subscription($n: Boolean!) { orderEvents { order { id internalNote @include(if: $n) } } }";
    expect(sharingKeyOf(args(nested, { n: true }), staff("s1"))).not.toBe(sharingKeyOf(args(nested, { n: false }), staff("s1")));
    expect(sharingKeyOf(args(PLAIN), staff("s1"))).not.toBe(
      sharingKeyOf(args(EMAIL), principal({ sub: "s1", groups: ["staff", "support"] })),
    );
    const two = "subscription A { orderEvents { kind } } subscription B { orderEvents { cursor } }";
    expect(sharingKeyOf(args(two, {}, "A"), staff("s1"))).not.toBe(sharingKeyOf(args(two, {}, "B"), staff("s1")));
  });
});

describe("createSharedExecution", () => {
  it("runs once per event and key, and never across events or keys", async () => {
    const shared = createSharedExecution<number>();
    let runs = 0;
    const run = async () => ++runs;
    const one = {};
    const two = {};
    expect(await Promise.all([shared(one, "k", run), shared(one, "k", run)])).toEqual([1, 1]);
    expect(await shared(one, "other", run)).toBe(2);
    expect(await shared(two, "k", run)).toBe(3);
    expect(await shared(two, undefined, run)).toBe(4);
    expect(await shared(5, "k", run)).toBe(5);
  });
});
