import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { CamelCasePlugin, Kysely, PostgresDialect, type LogEvent } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import { migrateToLatest } from "./migrations.js";
import type { Database } from "./tables.js";

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** `postgres://...`: PostgreSQL through a `pg` pool. `null`: embedded PGlite. */
  readonly url: string | null;
  /** Where embedded PGlite keeps its files; `null` keeps it in memory (tests). */
  readonly pgliteDir: string | null;
  /** Largest `pg` pool. Default 10. */
  readonly poolSize?: number;
  /** Called for every SQL statement (tests count them). */
  readonly onQuery?: (event: LogEvent) => void;
}

export interface OpenDatabase {
  readonly db: Db;
  readonly kind: "postgres" | "pglite";
  close(): Promise<void>;
}

/** Opens the database and migrates it to the latest version. One code path for PGlite and PostgreSQL. */
export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  let db: Db;
  let kind: OpenDatabase["kind"];
  const log = options.onQuery;
  if (options.url) {
    kind = "postgres";
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()], log });
  } else {
    kind = "pglite";
    if (options.pgliteDir) mkdirSync(options.pgliteDir, { recursive: true });
    const pglite = new PGlite(options.pgliteDir ?? undefined);
    db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), plugins: [new CamelCasePlugin()], log });
  }
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, kind, close: () => db.destroy() };
}

export const pgliteDirOf = (dataDir: string) => join(dataDir, "pglite");
