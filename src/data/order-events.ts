import type { Db } from "./database.js";
import { publish } from "./notifications.js";
import type { OrderRow } from "./tables.js";

/** The notification channel of order events (PostgreSQL `LISTEN order_events`). */
export const ORDER_EVENTS_CHANNEL = "order_events";

export type OrderEventKind = "PLACED" | "STATUS_CHANGED" | "CANCELLED";
const KINDS: ReadonlySet<string> = new Set<OrderEventKind>(["PLACED", "STATUS_CHANGED", "CANCELLED"]);

/**
 * What travels between replicas for one order event: ids, the kind and the time, never the order's data. Each
 * subscriber reads the order again with its own token, so nothing is delivered that its rules were not applied to.
 * `customerId` (the customer's `sub`, which never changes for an order) lets a replica skip the events of other
 * customers' orders without reading them; the rules are still applied to the order as read.
 */
export interface OrderEventMessage {
  readonly orderId: string;
  readonly customerId: string;
  readonly kind: OrderEventKind;
  /** When the change was made (the order's `updatedAt`, in the writing transaction). */
  readonly occurredAt: Date;
}

/**
 * Publishes an event about `order` through `db`. Inside a transaction (a mutation operation's) it is delivered to
 * every replica when that transaction commits, and never if it rolls back. Throws if the database fails.
 */
export async function publishOrderEvent(db: Db, kind: OrderEventKind, order: Pick<OrderRow, "id" | "customerId" | "updatedAt">): Promise<void> {
  const payload = { orderId: order.id, customerId: order.customerId, kind, occurredAt: order.updatedAt.toISOString() };
  await publish(db, ORDER_EVENTS_CHANNEL, JSON.stringify(payload));
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
  const { orderId, customerId, kind, occurredAt } = value as Record<string, unknown>;
  if (typeof orderId !== "string" || orderId === "" || typeof customerId !== "string" || customerId === "") return null;
  if (typeof kind !== "string" || !KINDS.has(kind) || typeof occurredAt !== "string") return null;
  const time = new Date(occurredAt);
  if (Number.isNaN(time.getTime())) return null;
  return { orderId, customerId, kind: kind as OrderEventKind, occurredAt: time };
}
