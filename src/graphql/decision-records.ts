import type { Logger } from "pino";
import type { Principal, RequestAuth } from "../auth/index.js";
import type { Metrics } from "../metrics.js";
import type { ServerDependencies } from "./dependencies.js";

/** Which executions get a decision record (`AUTH_AUDIT`). */
export type AuditMode = "denied" | "all";

export interface DecisionAuditOptions {
  /** `denied`: executions with a denial, a concealed row or a shadow rule's would-be denial; `all`: every execution. */
  readonly mode: AuditMode;
  /** Where records written as lines of their own go (info level); without it nothing is logged, shadow denials are still counted. */
  readonly logger?: Logger;
  /** `auth_shadow_denials_total{coordinate}`. */
  readonly metrics?: Metrics;
}

/** How one coordinate was decided in one execution. */
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

/** One decision record: who asked what, and how each coordinate the execution touched was decided. */
export interface DecisionRecord {
  readonly event: "auth.decision";
  readonly requestId?: string;
  readonly principal: "ANONYMOUS" | "USER" | "CLIENT";
  readonly sub?: string;
  readonly jti?: string;
  readonly operation?: string;
  /** SHA-256 (hex) of the operation's document text (Apollo's `queryHash`; over WebSocket, computed once per subscription). */
  readonly documentHash?: string;
  readonly outcome: "allowed" | "denied" | "concealed";
  readonly decisions: readonly DecisionEntry[];
  /** WebSocket only: `start` (the subscribe message's whole-operation check) or `event` (one event's execution). */
  readonly phase?: "start" | "event";
  /** WebSocket events only: the request id of the subscription's start record. */
  readonly subscription?: string;
}

/** What the transport knows about the execution a record describes, beside its auth state. */
export interface ExecutionFacts {
  /** Whom the record names, where the auth state was another subscriber's (a shared execution); default: the auth state's principal. */
  readonly principal?: Principal | null;
  readonly requestId?: string;
  readonly operation?: string;
  readonly documentHash?: string;
  readonly phase?: "start" | "event";
  readonly subscription?: string;
}

/**
 * The decision-record policy of every transport (HTTP and Lambda through Apollo's plugin, WebSocket subscriptions
 * through their start and each event): counts shadow rules' would-be denials, decides whether `AUTH_AUDIT` asks for a
 * record, and builds it. Production (`auth.posture.explain` false) records carry coordinates and reason codes only.
 */
export class DecisionAudit {
  constructor(private readonly options: DecisionAuditOptions) {}

  get mode(): AuditMode {
    return this.options.mode;
  }

  /**
   * Settles one execution: counts its shadow denials, then answers whether the mode asks for its record (false
   * without a logger: nothing would read it). The caller builds the record (`decisionRecord`) only then, so a request
   * that needs none allocates nothing here. `seen`, kept by the caller across the executions of one subscription,
   * limits `denied` records to the first execution that denies, conceals or shadow-denies each coordinate in a new way
   * (later ones are counted only), so an event fanned out to many subscribers does not write a line per subscriber
   * per event.
   */
  settle(auth: RequestAuth, seen?: Set<string>): boolean {
    const shadow = auth.shadowDenials;
    const metrics = this.options.metrics;
    if (metrics) for (const denial of shadow) metrics.shadowDenials.inc({ coordinate: denial.coordinate });
    if (!this.options.logger) return false;
    if (this.options.mode === "all") return true;
    if (auth.denials.length === 0 && auth.concealed.length === 0 && shadow.length === 0) return false;
    return seen === undefined || markNew(auth, shadow, seen);
  }

  /** Writes a record as a line of its own (transports without a request line: Lambda, WebSocket). */
  write(record: DecisionRecord): void {
    this.options.logger?.info(record, "auth decision");
  }
}

/** Adds this execution's denials, concealments and shadow denials to `seen`; true when one was not there yet. */
function markNew(auth: RequestAuth, shadow: readonly { readonly coordinate: string }[], seen: Set<string>): boolean {
  let added = false;
  const mark = (decision: DecisionEntry["decision"], coordinate: string) => {
    const key = `${decision} ${coordinate}`;
    if (seen.has(key)) return;
    seen.add(key);
    added = true;
  };
  for (const denial of auth.denials) mark("deny", denial.coordinate);
  for (const row of auth.concealed) mark("conceal", row.coordinate);
  for (const denial of shadow) mark("shadow-deny", denial.coordinate);
  return added;
}

/** The product's policy: `AUTH_AUDIT` from the configuration, the application's logger and metrics. */
export const decisionAuditOf = (deps: ServerDependencies): DecisionAudit =>
  new DecisionAudit({ mode: deps.config.auth.audit, logger: deps.logger, metrics: deps.metrics });

/** Builds the record of one execution from its auth state. Pure. */
export function decisionRecord(auth: RequestAuth, facts: ExecutionFacts): DecisionRecord {
  const principal = facts.principal === undefined ? auth.principal : facts.principal;
  const decisions = entriesOf(auth);
  // Absent values are `undefined`, which the logger leaves out: one object, no spreads (AUTH_AUDIT=all builds this per request).
  return {
    event: "auth.decision",
    requestId: facts.requestId,
    principal: principal === null ? "ANONYMOUS" : principal.kind,
    sub: principal?.sub,
    jti: principal?.tokenId ?? undefined,
    operation: facts.operation,
    documentHash: facts.documentHash,
    outcome: outcomeOf(decisions),
    decisions,
    phase: facts.phase,
    subscription: facts.subscription,
  };
}

/**
 * A record as the HTTP request line carries it (`audit`): only what the line lacks. The line has the request id,
 * the operation name, `sub` and `kind` (the record's `principal`) already; writing them twice cost instructions per
 * request (bench/results/auth-audit.md).
 */
export interface RequestLineAudit {
  readonly jti?: string;
  readonly documentHash?: string;
  readonly outcome: DecisionRecord["outcome"];
  readonly decisions: readonly DecisionEntry[];
}

/** Builds the request line's `audit` of one request from its auth state. Pure. */
export function requestLineAudit(auth: RequestAuth, documentHash: string | undefined): RequestLineAudit {
  const decisions = entriesOf(auth);
  return { jti: auth.principal?.tokenId ?? undefined, documentHash, outcome: outcomeOf(decisions), decisions };
}

function outcomeOf(decisions: readonly DecisionEntry[]): DecisionRecord["outcome"] {
  let outcome: DecisionRecord["outcome"] = "allowed";
  for (const entry of decisions) {
    if (entry.decision === "deny") return "denied";
    if (entry.decision === "conceal") outcome = "concealed";
  }
  return outcome;
}

const NO_ENTRIES: readonly DecisionEntry[] = Object.freeze([]);

/** One entry per decided coordinate: denials, concealments, shadow denials, then what was allowed. */
function entriesOf(auth: RequestAuth): readonly DecisionEntry[] {
  const decided = auth.decided;
  const denials = auth.denials;
  const concealed = auth.concealed;
  const shadow = auth.shadowDenials;
  if (decided.length === 0 && denials.length === 0 && concealed.length === 0 && shadow.length === 0) return NO_ENTRIES;
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

// Records handed from Apollo's plugin to the request line (HTTP), by the request's auth state: the plugin runs
// before the line is written, and Apollo hands plugins a shallow copy of the context (the auth state is shared).
const forRequestLine = new WeakMap<RequestAuth, RequestLineAudit>();

/** Keeps `audit` for the request line of the request whose auth state is `auth` (see `requestLineRecord`). */
export function holdForRequestLine(auth: RequestAuth, audit: RequestLineAudit): void {
  forRequestLine.set(auth, audit);
}

/** The decision record the request line of `auth`'s request carries, if one is due. */
export function requestLineRecord(auth: RequestAuth): RequestLineAudit | undefined {
  return forRequestLine.get(auth);
}

/** Settles one execution of a subscription (see `subscriptionRecords`). */
/** Settles one execution for one subscriber: `principal` is the subscriber's (default: the auth state's). */
export type SubscriptionSettle = (auth: RequestAuth, requestId: string | undefined, principal?: Principal | null) => void;

/**
 * The records of one WebSocket subscription, under the same policy as a request's: its start (the subscribe message's
 * whole-operation check, `phase: "start"`) and each event's execution for this subscriber (`phase: "event"`, carrying
 * the start's request id as `subscription`). One `seen` set per subscription: under `denied`, a coordinate denied,
 * concealed or shadow-denied the same way event after event is recorded once and counted every time.
 */
export function subscriptionRecords(
  audit: DecisionAudit,
  facts: { readonly operation?: string; readonly documentHash: string; readonly startRequestId?: string },
): { readonly start: SubscriptionSettle; readonly event: SubscriptionSettle } {
  const seen = new Set<string>();
  const settle = (phase: "start" | "event") => (auth: RequestAuth, requestId: string | undefined, principal?: Principal | null) => {
    if (!audit.settle(auth, seen)) return;
    const subscription = phase === "event" ? facts.startRequestId : undefined;
    audit.write(
      decisionRecord(auth, { principal, requestId, operation: facts.operation, documentHash: facts.documentHash, phase, subscription }),
    );
  };
  return { start: settle("start"), event: settle("event") };
}
