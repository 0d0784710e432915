import { randomUUID } from "node:crypto";
import type { Db } from "./database.js";
import { InvalidInputError } from "./errors.js";
import { beforePosition, decodeCursor, pageSize, toPage, type Page, type PageArgs } from "./pagination.js";
import type { ProductRow } from "./tables.js";

export interface NewProduct {
  readonly sku: string;
  readonly name: string;
  readonly description?: string | null;
  readonly priceCents: number;
  readonly costPriceCents: number;
  readonly stock: number;
}

export interface ProductChanges {
  readonly name?: string | null;
  readonly description?: string | null;
  readonly priceCents?: number | null;
  readonly costPriceCents?: number | null;
  readonly stock?: number | null;
  readonly active?: boolean | null;
}

/** Active products, newest first, a page at a time. */
export async function listProducts(db: Db, args: PageArgs): Promise<Page<ProductRow>> {
  const size = pageSize(args.first);
  const after = decodeCursor(args.after);
  let query = db.selectFrom("products").selectAll().where("active", "=", true);
  if (after) query = query.where(beforePosition(after));
  const rows = await query
    .orderBy("createdAt", "desc")
    .orderBy("id", "desc")
    .limit(size + 1)
    .execute();
  return toPage(rows, size);
}

export async function productsByIds(db: Db, ids: readonly string[]): Promise<ProductRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("products").selectAll().where("id", "in", ids).execute();
}

/**
 * Creates a product; a SKU already taken is refused as bad input. The conflict is detected without a unique
 * violation, which would abort a transaction that other fields of the operation share.
 */
export async function createProduct(db: Db, input: NewProduct): Promise<ProductRow> {
  const sku = requireText(input.sku, "sku", 64);
  const name = requireText(input.name, "name", 200);
  const row = await db
    .insertInto("products")
    .values({
      id: randomUUID(),
      sku,
      name,
      description: input.description ?? null,
      priceCents: input.priceCents,
      costPriceCents: input.costPriceCents,
      stock: input.stock,
    })
    .onConflict((oc) => oc.column("sku").doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new InvalidInputError(`A product with SKU "${sku}" already exists`, "sku");
  return row;
}

/** Changes the given fields of a product; an unknown id is bad input. */
export async function updateProduct(db: Db, id: string, changes: ProductChanges): Promise<ProductRow> {
  const values = {
    ...(changes.name != null ? { name: requireText(changes.name, "name", 200) } : {}),
    ...(changes.description !== undefined ? { description: changes.description } : {}),
    ...(changes.priceCents != null ? { priceCents: changes.priceCents } : {}),
    ...(changes.costPriceCents != null ? { costPriceCents: changes.costPriceCents } : {}),
    ...(changes.stock != null ? { stock: changes.stock } : {}),
    ...(changes.active != null ? { active: changes.active } : {}),
  };
  if (Object.keys(values).length === 0) throw new InvalidInputError("Give at least one field to change", "input");
  const row = await db
    .updateTable("products")
    .set({ ...values, updatedAt: new Date() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new InvalidInputError(`No product has the id "${id}"`, "id");
  return row;
}

function requireText(value: string, field: string, maxLength: number): string {
  const text = value.trim();
  if (text === "" || text.length > maxLength) throw new InvalidInputError(`${field} must be 1 to ${maxLength} characters`, field);
  return text;
}
