import DataLoader from "dataloader";
import type { Db } from "./database.js";
import { customersBySubs, itemsByOrderIds, ordersByIds } from "./orders.js";
import { productsByIds } from "./products.js";
import type { CustomerRow, OrderItemRow, OrderRow, ProductRow } from "./tables.js";

/** Per-request batching: a page of orders with items and products costs one query per kind, whatever its size. */
export interface Loaders {
  readonly productById: DataLoader<string, ProductRow | null>;
  readonly itemsByOrderId: DataLoader<string, OrderItemRow[]>;
  readonly customerBySub: DataLoader<string, CustomerRow | null>;
  readonly orderById: DataLoader<string, OrderRow | null>;
}

/** Each loader is made on first use: most requests (`me`, the catalogue) never need one. */
export function createLoaders(db: Db): Loaders {
  let productById: Loaders["productById"] | undefined;
  let itemsByOrderId: Loaders["itemsByOrderId"] | undefined;
  let customerBySub: Loaders["customerBySub"] | undefined;
  let orderById: Loaders["orderById"] | undefined;
  return {
    get productById() {
      return (productById ??= new DataLoader(async (ids) => byKey(ids, await productsByIds(db, ids), (p) => p.id)));
    },
    get itemsByOrderId() {
      return (itemsByOrderId ??= new DataLoader(async (ids) => {
        const groups = new Map<string, OrderItemRow[]>(ids.map((id) => [id, []]));
        for (const item of await itemsByOrderIds(db, ids)) groups.get(item.orderId)?.push(item);
        return ids.map((id) => groups.get(id)!);
      }));
    },
    get customerBySub() {
      return (customerBySub ??= new DataLoader(async (subs) => byKey(subs, await customersBySubs(db, subs), (c) => c.sub)));
    },
    get orderById() {
      return (orderById ??= new DataLoader(async (ids) => byKey(ids, await ordersByIds(db, ids), (o) => o.id)));
    },
  };
}

function byKey<T>(keys: readonly string[], rows: readonly T[], keyOf: (row: T) => string): (T | null)[] {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
}
