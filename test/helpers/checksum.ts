import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../../src/data/database.js";

/**
 * A checksum over every row of every table of the database (found in the catalogue, so tables added later count
 * too), each row as PostgreSQL prints it, in a fixed order: equal before and after means nothing was written.
 */
export async function tableChecksum(db: Db): Promise<string> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db);
  const hash = createHash("sha256");
  for (const { name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} t order by 1`.execute(db);
    hash.update(`${name}\n${rows.rows.map((r) => r.row).join("\n")}\n`);
  }
  return hash.digest("hex");
}
