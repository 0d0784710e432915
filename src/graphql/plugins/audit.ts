import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import type { Logger } from "pino";
import type { RequestAuth } from "../../auth/index.js";
import type { Metrics } from "../../metrics.js";
import type { AppContext } from "../context.js";

/** Which requests get a decision record (`AUTH_AUDIT`). */
export type AuditMode = "denied" | "all";

export interface AuditOptions {
  /** `denied`: requests with a denial, a concealed row or a shadow rule's would-be denial; `all`: every request that reached execution. */
  readonly mode: AuditMode;
  /** Where `auth.decision` lines go (info level); without it nothing is logged, shadow denials are still counted. */
  readonly logger?: Logger;
  /** `auth_shadow_denials_total{coordinate}`. */
  readonly metrics?: Metrics;
}

/** How one coordinate was decided in one request. */
export interface DecisionEntry {
  /** `Type.field`. */
  readonly coordinate: string;
  /** `allow`; `deny` (refused, with an error); `conceal` (a row answered as absent); `shadow-deny` (logged, not refused). */
  readonly decision: "allow" | "deny" | "conceal" | "shadow-deny";
  /** The reason code a client would see (none for allow). */
  readonly reason?: "AUTHENTICATION_REQUIRED" | "INSUFFICIENT_PERMISSION" | "NOT_VISIBLE";
  /** Dev mode only: the rule's entries as written. */
  readonly rule?: readonly string[];
  /** Dev mode only: the entries that did not hold. */
  readonly failed?: readonly string[];
}

/** One decision record: who asked what, and how each coordinate the request touched was decided. */
export interface DecisionRecord {
  readonly event: "auth.decision";
  readonly requestId?: string;
  readonly principal: "ANONYMOUS" | "USER" | "CLIENT";
  readonly sub?: string;
  readonly jti?: string;
  readonly operation?: string;
  /** SHA-256 (hex) of the operation's document text, as Apollo Server computes it. */
  readonly documentHash?: string;
  readonly outcome: "allowed" | "denied" | "concealed";
  readonly decisions: readonly DecisionEntry[];
}

/**
 * Decision records: one `auth.decision` line per request (per `mode`), and the shadow rules' counter. Production
 * (`auth.posture.explain` false) lines carry coordinates and reason codes only, never the rules' text.
 */
export function auditPlugin(options: AuditOptions): ApolloServerPlugin<AppContext> {
  // One hooks object for every request: nothing is allocated when nothing is recorded.
  const hooks: GraphQLRequestListener<AppContext> = {
    async willSendResponse({ contextValue, operationName, request, queryHash }) {
      const auth = contextValue?.auth;
      if (!auth) return;
      const shadow = auth.shadowDenials;
      if (options.metrics) for (const denial of shadow) options.metrics.shadowDenials.inc({ coordinate: denial.coordinate });
      if (!options.logger) return;
      if (options.mode === "denied" && auth.denials.length === 0 && auth.concealed.length === 0 && shadow.length === 0) return;
      const record = decisionRecord(auth, {
        requestId: contextValue.requestId,
        operation: operationName ?? request.operationName ?? undefined,
        documentHash: queryHash,
      });
      options.logger.info(record, "auth decision");
    },
  };
  return { requestDidStart: async () => hooks };
}

/** Builds the record of one request from its auth state. Pure. */
export function decisionRecord(
  auth: RequestAuth,
  request: { readonly requestId?: string; readonly operation?: string; readonly documentHash?: string },
): DecisionRecord {
  const principal = auth.principal;
  const decisions = entriesOf(auth);
  let outcome: DecisionRecord["outcome"] = "allowed";
  for (const entry of decisions) {
    if (entry.decision === "deny") outcome = "denied";
    else if (entry.decision === "conceal" && outcome === "allowed") outcome = "concealed";
  }
  // Absent values are `undefined`, which the logger leaves out: one object, no spreads (AUTH_AUDIT=all writes this per request).
  return {
    event: "auth.decision",
    requestId: request.requestId,
    principal: principal === null ? "ANONYMOUS" : principal.kind,
    sub: principal?.sub,
    jti: principal?.tokenId ?? undefined,
    operation: request.operation,
    documentHash: request.documentHash,
    outcome,
    decisions,
  };
}

/** One entry per decided coordinate: denials, concealments, shadow denials, then what was allowed. */
function entriesOf(auth: RequestAuth): DecisionEntry[] {
  const decided = auth.decided;
  const denials = auth.denials;
  const concealed = auth.concealed;
  const shadow = auth.shadowDenials;
  if (decided.length === 0 && denials.length === 0 && concealed.length === 0 && shadow.length === 0) return [];
  const explain = auth.posture.explain;
  const deniedReason = auth.principal === null ? "AUTHENTICATION_REQUIRED" : "INSUFFICIENT_PERMISSION";
  const entries: DecisionEntry[] = [];
  const settled = new Set<string>();
  const add = (entry: DecisionEntry, rule?: readonly string[], failed?: readonly string[]) => {
    entries.push(explain && rule ? { ...entry, rule, ...(failed ? { failed } : {}) } : entry);
  };
  for (const denial of denials) {
    settled.add(denial.coordinate);
    add({ coordinate: denial.coordinate, decision: "deny", reason: deniedReason }, denial.required, denial.missing);
  }
  for (const { coordinate } of concealed) {
    if (settled.has(coordinate)) continue;
    settled.add(coordinate);
    add({ coordinate, decision: "conceal", reason: "NOT_VISIBLE" });
  }
  for (const denial of shadow)
    add({ coordinate: denial.coordinate, decision: "shadow-deny", reason: deniedReason }, denial.required, denial.missing);
  for (const guard of decided) {
    if (settled.has(guard.coordinate)) continue;
    settled.add(guard.coordinate);
    const rule = !guard.authenticated
      ? ["public"]
      : guard.requirements.length > 0
        ? guard.requirements.map((r) => r.text)
        : ["a verified caller"];
    add({ coordinate: guard.coordinate, decision: "allow" }, rule);
  }
  return entries;
}
