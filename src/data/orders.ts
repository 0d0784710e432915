import { randomUUID } from "node:crypto";
import type { Db } from "./database.js";
import { InvalidInputError } from "./errors.js";
import { publishOrderEvent } from "./order-events.js";
import { beforePosition, decodeCursor, pageSize, toPage, type Page, type PageArgs } from "./pagination.js";
import type { CustomerRow, OrderItemRow, OrderRow, OrderStatus } from "./tables.js";
import { inTransaction, type Trx } from "./transaction.js";

export const MAX_ORDER_LINES = 50;
export const MAX_LINE_QUANTITY = 1000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 100;

/** The status changes an order can make. Cancelling (from PENDING or PAID) puts the stock back. */
export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ["PAID", "CANCELLED"],
  PAID: ["SHIPPED", "CANCELLED"],
  SHIPPED: ["DELIVERED"],
  DELIVERED: [],
  CANCELLED: [],
};

export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
}

export interface Customer {
  readonly sub: string;
  readonly username: string | null;
  readonly email: string | null;
}

export interface OrderFilter extends PageArgs {
  /** Only this customer's orders (the caller's `sub` for `myOrders`). */
  readonly customerId?: string;
  readonly status?: OrderStatus | null;
}

/** Orders newest first, filtered in SQL, a page at a time. */
export async function listOrders(db: Db, filter: OrderFilter): Promise<Page<OrderRow>> {
  const size = pageSize(filter.first);
  const after = decodeCursor(filter.after);
  let query = db.selectFrom("orders").selectAll();
  if (filter.customerId !== undefined) query = query.where("customerId", "=", filter.customerId);
  if (filter.status) query = query.where("status", "=", filter.status);
  if (after) query = query.where(beforePosition(after));
  const rows = await query
    .orderBy("createdAt", "desc")
    .orderBy("id", "desc")
    .limit(size + 1)
    .execute();
  return toPage(rows, size);
}

export async function ordersByIds(db: Db, ids: readonly string[]): Promise<OrderRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("orders").selectAll().where("id", "in", ids).execute();
}

export async function itemsByOrderIds(db: Db, orderIds: readonly string[]): Promise<OrderItemRow[]> {
  if (orderIds.length === 0) return [];
  return db.selectFrom("orderItems").selectAll().where("orderId", "in", orderIds).orderBy("id").execute();
}

export async function customersBySubs(db: Db, subs: readonly string[]): Promise<CustomerRow[]> {
  if (subs.length === 0) return [];
  return db.selectFrom("customers").selectAll().where("sub", "in", subs).execute();
}

/**
 * Places an order for `customer` in one transaction (the caller's, when `db` is one): stock is taken with a
 * conditional update (never below zero, whatever runs concurrently) and any refusal rolls everything back. The
 * same idempotency key from the same customer returns the first order and writes nothing, also when requests
 * race: the customer's row is locked first (upsert), so racing requests of one customer queue there and each
 * then sees the orders committed before it; the unique key (`ON CONFLICT DO NOTHING`) backs this up. A new
 * order publishes a `PLACED` order event, delivered when the transaction commits.
 */
export async function placeOrder(db: Db, customer: Customer, lines: readonly OrderLine[], idempotencyKey: string): Promise<OrderRow> {
  const key = idempotencyKey.trim();
  if (key === "" || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidInputError(`idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, "idempotencyKey");
  }
  validateLines(lines);
  // A replay writes nothing, not even the customer row, and takes no lock.
  const replay = await findByIdempotencyKey(db, customer.sub, key);
  if (replay) return replay;
  return inTransaction(db, async (trx) => {
    await trx
      .insertInto("customers")
      .values({ sub: customer.sub, username: customer.username, email: customer.email })
      .onConflict((oc) =>
        oc.column("sub").doUpdateSet((eb) => ({
          username: eb.fn.coalesce("excluded.username", "customers.username"),
          email: eb.fn.coalesce("excluded.email", "customers.email"),
        })),
      )
      .execute();
    // Not a unique violation: that would abort a transaction the operation's other fields share.
    const order = await trx
      .insertInto("orders")
      .values({ id: randomUUID(), customerId: customer.sub, status: "PENDING", totalCents: 0, idempotencyKey: key })
      .onConflict((oc) => oc.columns(["customerId", "idempotencyKey"]).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!order) return (await findByIdempotencyKey(trx, customer.sub, key))!;
    let total = 0;
    // A fixed lock order (by product id) keeps concurrent orders of the same products from deadlocking.
    for (const line of [...lines].sort((a, b) => a.productId.localeCompare(b.productId))) {
      const unitPrice = await takeStock(trx, line);
      total += unitPrice * line.quantity;
      await trx
        .insertInto("orderItems")
        .values({ orderId: order.id, productId: line.productId, quantity: line.quantity, unitPriceCents: unitPrice })
        .execute();
    }
    const placed = await trx
      .updateTable("orders")
      .set({ totalCents: total })
      .where("id", "=", order.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    // Delivered to subscribers when the transaction commits; a replay (above) publishes nothing.
    await publishOrderEvent(trx, "PLACED", placed);
    return placed;
  });
}

function validateLines(lines: readonly OrderLine[]): void {
  if (lines.length === 0 || lines.length > MAX_ORDER_LINES) {
    throw new InvalidInputError(`An order has 1 to ${MAX_ORDER_LINES} lines`, "items");
  }
  const seen = new Set<string>();
  for (const line of lines) {
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_LINE_QUANTITY) {
      throw new InvalidInputError(`quantity must be from 1 to ${MAX_LINE_QUANTITY}`, "quantity");
    }
    if (seen.has(line.productId)) throw new InvalidInputError("List each product once per order", "items");
    seen.add(line.productId);
  }
}

async function findByIdempotencyKey(db: Db, customerId: string, key: string): Promise<OrderRow | undefined> {
  return db.selectFrom("orders").selectAll().where("customerId", "=", customerId).where("idempotencyKey", "=", key).executeTakeFirst();
}

/** Takes a line's quantity from stock; returns the unit price. Refuses unknown, inactive or short products. */
async function takeStock(trx: Trx, line: OrderLine): Promise<number> {
  const taken = await trx
    .updateTable("products")
    .set((eb) => ({ stock: eb("stock", "-", line.quantity) }))
    .where("id", "=", line.productId)
    .where("active", "=", true)
    .where("stock", ">=", line.quantity)
    .returning("priceCents")
    .executeTakeFirst();
  if (taken) return taken.priceCents;
  const product = await trx.selectFrom("products").select(["active", "stock"]).where("id", "=", line.productId).executeTakeFirst();
  if (!product || !product.active) throw new InvalidInputError(`No product has the id "${line.productId}"`, "productId");
  throw new InvalidInputError(`Only ${product.stock} of product "${line.productId}" left in stock`, "quantity");
}

/** The answer to an order id that matches nothing, and to one the caller may not see: the same, on purpose. */
export const noSuchOrder = (id: string) => new InvalidInputError(`No order has the id "${id}"`, "id");

/**
 * Changes an order's status inside one transaction (the caller's, when `db` is one). `authorize` runs on the
 * locked row before any write and throws to refuse (rules that depend on the row); then the transition itself
 * is checked. The change publishes a `STATUS_CHANGED` (or `CANCELLED`) order event, delivered when the transaction
 * commits.
 */
export async function changeStatus(
  db: Db,
  id: string,
  to: OrderStatus,
  options: { authorize?: (order: OrderRow) => void; internalNote?: string | null } = {},
): Promise<OrderRow> {
  return inTransaction(db, async (trx) => {
    const order = await trx.selectFrom("orders").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
    if (!order) throw noSuchOrder(id);
    options.authorize?.(order);
    if (!TRANSITIONS[order.status].includes(to)) {
      throw new InvalidInputError(`An order cannot go from ${order.status} to ${to}`, "status");
    }
    if (to === "CANCELLED") await restock(trx, order.id);
    const changed = await trx
      .updateTable("orders")
      .set({ status: to, updatedAt: new Date(), ...(options.internalNote !== undefined ? { internalNote: options.internalNote } : {}) })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await publishOrderEvent(trx, to === "CANCELLED" ? "CANCELLED" : "STATUS_CHANGED", changed);
    return changed;
  });
}

async function restock(trx: Trx, orderId: string): Promise<void> {
  const items = await trx
    .selectFrom("orderItems")
    .select(["productId", "quantity"])
    .where("orderId", "=", orderId)
    .orderBy("productId")
    .execute();
  for (const item of items) {
    await trx
      .updateTable("products")
      .set((eb) => ({ stock: eb("stock", "+", item.quantity) }))
      .where("id", "=", item.productId)
      .execute();
  }
}
