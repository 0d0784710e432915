import { sql } from "kysely";
import type { Db } from "./database.js";
import type { OrderStatus } from "./tables.js";

/** The people the seed's orders belong to; their `sub`s are the dev personas' (src/dev/personas.ts). */
export interface SeedCustomer {
  readonly sub: string;
  readonly username: string;
  readonly email: string;
}

const PRODUCTS = [
  {
    id: "prd-keyboard",
    sku: "KB-01",
    name: "Mechanical keyboard",
    description: "Tenkeyless, brown switches",
    priceCents: 8900,
    costPriceCents: 5200,
    stock: 25,
  },
  { id: "prd-mouse", sku: "MS-01", name: "Wireless mouse", description: null, priceCents: 3500, costPriceCents: 1400, stock: 40 },
  {
    id: "prd-monitor",
    sku: "MN-27",
    name: "27-inch monitor",
    description: "1440p, 144 Hz",
    priceCents: 32900,
    costPriceCents: 24100,
    stock: 8,
  },
  { id: "prd-cable", sku: "CB-USBC", name: "USB-C cable", description: "2 m, braided", priceCents: 1200, costPriceCents: 300, stock: 200 },
  { id: "prd-stand", sku: "ST-01", name: "Laptop stand", description: "Aluminium", priceCents: 4500, costPriceCents: 1900, stock: 1 },
] as const;

interface SeedOrder {
  readonly id: string;
  readonly customer: "alice" | "bob";
  readonly status: OrderStatus;
  readonly note: string | null;
  readonly lines: readonly { productId: string; quantity: number }[];
}

const ORDERS: readonly SeedOrder[] = [
  {
    id: "ord-alice-1",
    customer: "alice",
    status: "PENDING",
    note: null,
    lines: [
      { productId: "prd-keyboard", quantity: 1 },
      { productId: "prd-cable", quantity: 2 },
    ],
  },
  {
    id: "ord-alice-2",
    customer: "alice",
    status: "SHIPPED",
    note: "Left with the neighbour",
    lines: [{ productId: "prd-mouse", quantity: 1 }],
  },
  { id: "ord-bob-1", customer: "bob", status: "PAID", note: "Gift wrap requested", lines: [{ productId: "prd-monitor", quantity: 1 }] },
];

/**
 * Creates the dev data once: every row has a fixed id and conflicting inserts do nothing, so a restart (or two
 * replicas starting together) keeps what was written since.
 */
export async function seed(
  db: Db,
  customers: Readonly<Record<"alice" | "bob", SeedCustomer>> & Readonly<Record<string, SeedCustomer>>,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // Seeding runs once per database: the marker row of the first product says whether it did.
    const seeded = await trx.selectFrom("products").select("id").where("id", "=", PRODUCTS[0].id).executeTakeFirst();
    if (seeded) return;
    await trx
      .insertInto("products")
      .values(PRODUCTS.map((p) => ({ ...p })))
      .onConflict((oc) => oc.doNothing())
      .execute();
    await trx
      .insertInto("customers")
      .values(Object.values(customers).map((c) => ({ sub: c.sub, username: c.username, email: c.email })))
      .onConflict((oc) => oc.doNothing())
      .execute();
    const prices = new Map<string, number>(PRODUCTS.map((p) => [p.id, p.priceCents]));
    for (const [index, order] of ORDERS.entries()) {
      const total = order.lines.reduce((sum, line) => sum + prices.get(line.productId)! * line.quantity, 0);
      await trx
        .insertInto("orders")
        .values({
          id: order.id,
          customerId: customers[order.customer].sub,
          status: order.status,
          totalCents: total,
          internalNote: order.note,
          idempotencyKey: `seed-${order.id}`,
          // Distinct times give the seed a stable newest-first order.
          createdAt: sql<Date>`now() - make_interval(days => ${ORDERS.length - index})`,
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
      await trx
        .insertInto("orderItems")
        .values(
          order.lines.map((line) => ({
            orderId: order.id,
            productId: line.productId,
            quantity: line.quantity,
            unitPriceCents: prices.get(line.productId)!,
          })),
        )
        .execute();
    }
  });
}
