import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PoolStats } from "./data/database.js";

/** Distinct operation names kept as label values; later ones are counted as "other" (clients choose names). */
const MAX_OPERATION_LABELS = 200;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

/** The Prometheus instruments of one server, on a registry of its own (served at `/metrics`). */
export class Metrics {
  readonly registry = new Registry();
  private readonly operations = new Set<string>();

  // Per-request counts are kept in plain maps (`countRequest`, `countAuthentication`) and handed to prom-client when
  // it collects (a scrape): its `inc` builds and looks up a label string on every call (the saving is measured in
  // docs/performance.md#measurements-behind-code-choices).
  // Series come out in the order they were first counted, as prom-client's own would.
  private readonly requestCounts = new Map<string, Map<number, CountedSeries<"operation" | "status">>>();
  private readonly requestSeries: CountedSeries<"operation" | "status">[] = [];
  private readonly authenticationCounts = new Map<string, CountedSeries<"reason">>();

  /** Published from `countRequest`'s counts; do not `inc` it directly (a collection would overwrite it). */
  readonly requests = new Counter({
    name: "graphql_requests_total",
    help: "HTTP requests to /graphql by operation name and HTTP status",
    labelNames: ["operation", "status"] as const,
    registers: [this.registry],
    collect: publish(() => this.requestSeries),
  });

  readonly duration = new Histogram({
    name: "graphql_request_duration_seconds",
    help: "Time from request to response, by operation name",
    labelNames: ["operation"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** Published from `countAuthentication`'s counts; do not `inc` it directly (a collection would overwrite it). */
  readonly authentications = new Counter({
    name: "auth_outcomes_total",
    help: "Authentication outcomes per request: VERIFIED, ANONYMOUS, or the refusal's reason code",
    labelNames: ["reason"] as const,
    registers: [this.registry],
    collect: publish(() => this.authenticationCounts.values()),
  });

  /** Would-be denials of shadow rules (`@auth(enforce: false)`), once per field and request; nothing was refused. */
  readonly shadowDenials = new Counter({
    name: "auth_shadow_denials_total",
    help: "Requests a shadow @auth rule would have refused, by schema coordinate (Type.field); nothing was refused",
    labelNames: ["coordinate"] as const,
    registers: [this.registry],
  });

  readonly keySetFetches = new Counter({
    name: "jwks_fetches_total",
    help: "Key-set fetches by result: ok, failed, or skipped while backing off after a failure",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  private keySetSource: () => readonly { readonly userPoolId: string; readonly ready: boolean }[] = () => [];

  /** Per configured user pool: 1 while its key set is loaded, 0 while not (then `/readyz` answers 503). */
  readonly keySetReady = new Gauge({
    name: "auth_key_set_ready",
    help: "1 when the user pool's key set is loaded and its tokens can be verified, 0 when not (the server is then not ready)",
    labelNames: ["user_pool"] as const,
    registers: [this.registry],
    collect: () => {
      this.keySetReady.reset();
      for (const { userPoolId, ready } of this.keySetSource()) this.keySetReady.set({ user_pool: userPoolId }, ready ? 1 : 0);
    },
  });

  /** Where `auth_key_set_ready` reads the pools' key sets at each scrape (the verifier's `keySets`). */
  observeKeySets(source: () => readonly { readonly userPoolId: string; readonly ready: boolean }[]): void {
    this.keySetSource = source;
  }

  readonly wsConnections = new Gauge({
    name: "graphql_ws_connections",
    help: "WebSocket connections open on /graphql (graphql-ws), acknowledged or not",
    registers: [this.registry],
  });

  readonly wsSubscriptions = new Gauge({
    name: "graphql_ws_subscriptions",
    help: "Subscriptions active on this replica's WebSocket connections",
    registers: [this.registry],
  });

  readonly wsCloses = new Counter({
    name: "graphql_ws_closes_total",
    help: "WebSocket connections closed by the server, by close code (see the close code table in docs/subscriptions.md)",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });

  readonly wsEvents = new Counter({
    name: "graphql_ws_events_total",
    help: "Subscription events by outcome: delivered, withheld (the subscriber may not see it) or failed",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly dependencyCalls = new Counter({
    name: "dependency_calls_total",
    help: "Calls to remote dependencies by dependency, API operation and outcome: ok, failed, timeout, short_circuited (circuit open)",
    labelNames: ["dependency", "operation", "outcome"] as const,
    registers: [this.registry],
  });

  readonly boundsExceeded = new Counter({
    name: "bounded_waits_exceeded_total",
    help: "Waits cut off by their bound: pool_timeout, statement_timeout, lock_timeout, idle_in_transaction_timeout, cognito_call",
    labelNames: ["bound"] as const,
    registers: [this.registry],
  });

  readonly shed = new Counter({
    name: "http_requests_shed_total",
    help: "Requests to /graphql answered 503 at once because the replica was saturated, by reason: in_flight or pool_waiting",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  constructor(poolStats?: () => PoolStats | null) {
    collectDefaultMetrics({ register: this.registry });
    if (poolStats) {
      new Gauge({
        name: "db_pool_connections",
        help: "PostgreSQL pool connections by state",
        labelNames: ["state"] as const,
        registers: [this.registry],
        collect() {
          const stats = poolStats();
          if (!stats) return;
          this.set({ state: "total" }, stats.total);
          this.set({ state: "idle" }, stats.idle);
          this.set({ state: "waiting" }, stats.waiting);
        },
      });
    }
  }

  /** Counts one answered `/graphql` request in `graphql_requests_total`; `operation` comes from `operationLabel`. */
  countRequest(operation: string, status: number): void {
    let byStatus = this.requestCounts.get(operation);
    if (byStatus === undefined) this.requestCounts.set(operation, (byStatus = new Map()));
    const series = byStatus.get(status);
    if (series !== undefined) series.value++;
    else {
      const added = { labels: { operation, status: String(status) }, value: 1 };
      byStatus.set(status, added);
      this.requestSeries.push(added);
    }
  }

  /** Counts one authentication outcome in `auth_outcomes_total`: VERIFIED, ANONYMOUS or a refusal's reason code. */
  countAuthentication(reason: string): void {
    const series = this.authenticationCounts.get(reason);
    if (series !== undefined) series.value++;
    else this.authenticationCounts.set(reason, { labels: { reason }, value: 1 });
  }

  /** A bounded label value for a client-chosen operation name. */
  operationLabel(name: unknown): string {
    if (typeof name !== "string" || !OPERATION_NAME.test(name)) return "anonymous";
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATION_LABELS) return "other";
    this.operations.add(name);
    return name;
  }
}

/** One labelled series of a counter whose counts are kept outside prom-client. */
interface CountedSeries<L extends string> {
  readonly labels: Record<L, string>;
  value: number;
}

/** A counter's `collect`: replaces its series with `series`, in their order. */
function publish<L extends string>(series: () => Iterable<CountedSeries<L>>) {
  return function (this: Counter<L>) {
    this.reset();
    for (const { labels, value } of series()) this.inc(labels, value);
  };
}
