import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CamelCasePlugin, Kysely, PostgresDialect, type Dialect, type LogEvent } from "kysely";
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
  const kind: OpenDatabase["kind"] = options.url ? "postgres" : "pglite";
  const dialect = options.url ? await postgresDialect(options.url, options.poolSize ?? 10) : await pgliteDialect(options.pgliteDir);
  const db = new Kysely<Database>({ dialect, plugins: [new CamelCasePlugin()], log: options.onQuery });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, kind, close: () => db.destroy() };
}

// Each driver is loaded only when used: PGlite's WebAssembly build is large, and a Lambda cold start on
// PostgreSQL should not pay for it.
async function postgresDialect(url: string, max: number): Promise<Dialect> {
  const { default: pg } = await import("pg");
  return new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max }) });
}

async function pgliteDialect(dir: string | null): Promise<Dialect> {
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import("@electric-sql/pglite"), import("kysely-pglite-dialect")]);
  if (dir) mkdirSync(dir, { recursive: true });
  return new PGliteDialect(new PGlite(dir ?? undefined));
}

export const pgliteDirOf = (dataDir: string) => join(dataDir, "pglite");
