import { sql } from "kysely";
import type { Db } from "./database.js";
import type { OrderRow } from "./tables.js";
import { beforeCommit } from "./transaction.js";

/** The notification channel of order events (PostgreSQL `LISTEN order_events`). */
export const ORDER_EVENTS_CHANNEL = "order_events";

export type OrderEventKind = "PLACED" | "STATUS_CHANGED" | "CANCELLED";
const KINDS: ReadonlySet<string> = new Set<OrderEventKind>(["PLACED", "STATUS_CHANGED", "CANCELLED"]);

/**
 * What travels between replicas for one order event: its place in the log, ids, the kind and the time, never the
 * order's data. Each replica reads the order once and every subscriber's rules are applied to that row, so nothing
 * is delivered that its rules were not applied to. `customerId` (the customer's `sub`, which never changes for an
 * order) lets a replica skip the events of other customers' orders without reading them.
 */
export interface OrderEventMessage {
  /** The event's id in the durable log (`order_events.id`, a bigint as a decimal string): commit order. */
  readonly seq: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly kind: OrderEventKind;
  /** `clock_timestamp()` when the event was written, under the log's lock, just before its transaction commits. */
  readonly occurredAt: Date;
}

/**
 * The advisory lock that orders the log's writers: taken (transaction-scoped) before an event gets its id and held
 * until its transaction commits, so ids are assigned in commit order and a reader that has seen id N has seen or
 * will replay every id below N. The write is deferred to the transaction's last step (`beforeCommit`), so the lock
 * serialises only the event's write and the commit: an operation waiting on a row lock holds no event lock.
 */
export const ORDER_EVENT_LOCK = 7_240_024_001;

/**
 * Publishes an event about `order` through `db`, in one statement: the log's lock, the event's row in
 * `order_events` (its id and `occurred_at` assigned by the database) and the `NOTIFY` carrying both. Inside a
 * transaction (a mutation operation's) the statement runs as the transaction's last step, right before its commit
 * (`beforeCommit`); the row and the notification become visible when it commits, and never if it rolls back.
 * Throws if the database fails (at once outside a transaction; at the commit's last step inside one).
 */
export async function publishOrderEvent(db: Db, kind: OrderEventKind, order: Pick<OrderRow, "id" | "customerId">): Promise<void> {
  await beforeCommit(db, () => writeOrderEvent(db, kind, order));
}

async function writeOrderEvent(db: Db, kind: OrderEventKind, order: Pick<OrderRow, "id" | "customerId">): Promise<void> {
  await sql`
    with locked as (select pg_advisory_xact_lock(${ORDER_EVENT_LOCK}::bigint)),
    logged as (
      insert into order_events (order_id, customer_id, kind)
      select ${order.id}, ${order.customerId}, ${kind} from locked
      returning id, order_id, customer_id, kind, occurred_at
    )
    select pg_notify(${ORDER_EVENTS_CHANNEL}, json_build_object(
      'seq', id::text, 'orderId', order_id, 'customerId', customer_id, 'kind', kind,
      'occurredAt', to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    )::text) from logged`.execute(db);
}

/**
 * Reads a notification's payload back; `null` for anything that is not an order event in the shape
 * `publishOrderEvent` writes (another writer on the channel, a newer replica's format): such payloads are skipped.
 */
export function parseOrderEvent(payload: string): OrderEventMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { seq, orderId, customerId, kind, occurredAt } = value as Record<string, unknown>;
  if (typeof seq !== "string" || !/^[1-9][0-9]{0,18}$/.test(seq)) return null;
  if (typeof orderId !== "string" || orderId === "" || typeof customerId !== "string" || customerId === "") return null;
  if (typeof kind !== "string" || !KINDS.has(kind) || typeof occurredAt !== "string") return null;
  const time = new Date(occurredAt);
  if (Number.isNaN(time.getTime())) return null;
  return { seq, orderId, customerId, kind: kind as OrderEventKind, occurredAt: time };
}
