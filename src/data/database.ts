import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type Dialect, type LogEvent } from "kysely";
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
  /** Whether the database answers a trivial query within a second (readiness). */
  ping(): Promise<boolean>;
  /** The `pg` pool's connections; `null` for PGlite. */
  poolStats(): PoolStats | null;
  close(): Promise<void>;
}

export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/** Opens the database and migrates it to the latest version. One code path for PGlite and PostgreSQL. */
export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  const kind: OpenDatabase["kind"] = options.url ? "postgres" : "pglite";
  let pool: import("pg").Pool | undefined;
  let dialect: Dialect;
  if (options.url) {
    const { default: pg } = await import("pg");
    pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    dialect = new PostgresDialect({ pool });
  } else {
    dialect = await pgliteDialect(options.pgliteDir);
  }
  const db = new Kysely<Database>({ dialect, plugins: [new CamelCasePlugin()], log: options.onQuery });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    db,
    kind,
    ping: async () => {
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 1000).unref());
      const answer = sql`select 1`.execute(db).then(() => true, () => false);
      return Promise.race([answer, timeout]);
    },
    poolStats: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null),
    close: () => db.destroy(),
  };
}

// PGlite is loaded only when used: its WebAssembly build is large, and a Lambda cold start on PostgreSQL
// should not pay for it.
async function pgliteDialect(dir: string | null): Promise<Dialect> {
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import("@electric-sql/pglite"), import("kysely-pglite-dialect")]);
  if (dir) mkdirSync(dir, { recursive: true });
  return new PGliteDialect(new PGlite(dir ?? undefined));
}

export const pgliteDirOf = (dataDir: string) => join(dataDir, "pglite");
