import { randomUUID } from "node:crypto";
import type { Db } from "./database.js";
import { InvalidInputError, isUniqueViolation } from "./errors.js";
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
  const rows = await query.orderBy("createdAt", "desc").orderBy("id", "desc").limit(size + 1).execute();
  return toPage(rows, size);
}

export async function productsByIds(db: Db, ids: readonly string[]): Promise<ProductRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("products").selectAll().where("id", "in", ids).execute();
}

export async function createProduct(db: Db, input: NewProduct): Promise<ProductRow> {
  const sku = requireText(input.sku, "sku", 64);
  const name = requireText(input.name, "name", 200);
  try {
    return await db
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
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error)) throw new InvalidInputError(`A product with SKU "${sku}" already exists`, "sku");
    throw error;
  }
}

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
