import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { RequestAuth, type Principal } from "../../../src/auth/index.js";
import { DecisionAudit, decisionRecord } from "../../../src/graphql/decision-records.js";
import { Metrics } from "../../../src/metrics.js";

const principal = { sub: "s-1", kind: "USER", tokenId: "jti-1", groups: [], scopes: [] } as unknown as Principal;
const shadowGuard = { id: 1, authenticated: true, requirements: [] };
const logger = pino({ level: "silent" });

/** An execution's auth state with a shadow denial at `coordinate` (and a denial at `denied`, if given). */
function execution(coordinate: string, denied?: string): RequestAuth {
  const auth = new RequestAuth(principal, { explain: false });
  auth.shadowDeny(coordinate, shadowGuard, ["a verified caller"]);
  if (denied) auth.noteDenials([{ coordinate: denied, required: ["group:x"], missing: ["group:x"] }]);
  return auth;
}

describe("DecisionAudit", () => {
  it("under denied, asks for a subscription's first execution per coordinate and decision, and counts every one", async () => {
    const metrics = new Metrics();
    const audit = new DecisionAudit({ mode: "denied", logger, metrics });
    const seen = new Set<string>();
    const first = execution("T.a");
    expect(audit.settle(first, seen)).toBe(true);
    expect(decisionRecord(first, {}).decisions).toEqual([
      { coordinate: "T.a", decision: "shadow-deny", reason: "INSUFFICIENT_PERMISSION" },
    ]);
    expect(audit.settle(execution("T.a"), seen)).toBe(false);
    expect(audit.settle(execution("T.a", "T.b"), seen)).toBe(true);
    expect(audit.settle(execution("T.a", "T.b"), seen)).toBe(false);
    // Without a subscription's set (an HTTP request), every execution with a denial has its record.
    expect(audit.settle(execution("T.a"))).toBe(true);
    // Nothing denied, concealed or shadow-denied: no record under denied.
    expect(audit.settle(new RequestAuth(principal, { explain: false }))).toBe(false);
    const text = await metrics.registry.metrics();
    expect(text).toContain('auth_shadow_denials_total{coordinate="T.a"} 5');
  });

  it("under all, asks for every execution's record, also one nothing was decided in", () => {
    const audit = new DecisionAudit({ mode: "all", logger });
    const auth = new RequestAuth(null, { explain: false });
    expect(audit.settle(auth)).toBe(true);
    expect(decisionRecord(auth, { requestId: "r-1", operation: "Op", documentHash: "h" })).toEqual({
      event: "auth.decision",
      requestId: "r-1",
      principal: "ANONYMOUS",
      sub: undefined,
      jti: undefined,
      operation: "Op",
      documentHash: "h",
      outcome: "allowed",
      decisions: [],
      phase: undefined,
      subscription: undefined,
    });
  });

  it("asks for none without a logger, and still counts", async () => {
    const metrics = new Metrics();
    const audit = new DecisionAudit({ mode: "all", metrics });
    expect(audit.settle(execution("T.a"))).toBe(false);
    expect(await metrics.registry.metrics()).toContain('auth_shadow_denials_total{coordinate="T.a"} 1');
  });
});
