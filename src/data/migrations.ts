import { inspect } from "node:util";
import { sql, type Kysely } from "kysely";
// Kysely 0.29 moved the migrator to its own entry point.
import { Migrator, type Migration, type MigrationProvider } from "kysely/migration";

/** The advisory lock (one bigint key) that orders writes to `revocations` by their `seq`. */
export const REVOCATIONS_WRITE_LOCK = 7_240_022_001;

/**
 * Migrations as code, applied in name order. Kysely's Migrator takes a database lock (an advisory lock on
 * PostgreSQL) around the run, so replicas starting together apply each migration once.
 */
const migrations: Record<string, Migration> = {
  "2026-11-28-001-shop": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("products")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("sku", "text", (c) => c.notNull().unique())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("description", "text")
        .addColumn("price_cents", "integer", (c) => c.notNull().check(sql`price_cents >= 0`))
        .addColumn("cost_price_cents", "integer", (c) => c.notNull().check(sql`cost_price_cents >= 0`))
        .addColumn("stock", "integer", (c) => c.notNull().check(sql`stock >= 0`))
        .addColumn("active", "boolean", (c) => c.notNull().defaultTo(true))
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable("customers")
        .addColumn("sub", "text", (c) => c.primaryKey())
        .addColumn("username", "text")
        .addColumn("email", "text")
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable("orders")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("customer_id", "text", (c) => c.notNull().references("customers.sub"))
        .addColumn("status", "text", (c) => c.notNull().check(sql`status in ('PENDING', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED')`))
        .addColumn("total_cents", "integer", (c) => c.notNull().check(sql`total_cents >= 0`))
        .addColumn("internal_note", "text")
        .addColumn("idempotency_key", "text", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint("orders_customer_idempotency_key", ["customer_id", "idempotency_key"])
        .execute();
      await db.schema.createIndex("orders_customer_created").on("orders").columns(["customer_id", "created_at", "id"]).execute();
      await db.schema.createIndex("orders_created").on("orders").columns(["created_at", "id"]).execute();
      await db.schema
        .createTable("order_items")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("order_id", "text", (c) => c.notNull().references("orders.id").onDelete("cascade"))
        .addColumn("product_id", "text", (c) => c.notNull().references("products.id"))
        .addColumn("quantity", "integer", (c) => c.notNull().check(sql`quantity > 0`))
        .addColumn("unit_price_cents", "integer", (c) => c.notNull().check(sql`unit_price_cents >= 0`))
        .execute();
      await db.schema.createIndex("order_items_order").on("order_items").column("order_id").execute();
    },
  },
  "2026-11-30-001-revocations": {
    async up(db: Kysely<any>) {
      // Session revocations (src/data/revocations.ts): every session of `sub` signed in before `revoked_before`,
      // or the one session `session_id` (Cognito's origin_jti). Kept until `expires_at`, then deleted.
      await db.schema
        .createTable("revocations")
        .addColumn("id", "bigserial", (c) => c.primaryKey())
        .addColumn("sub", "text", (c) => c.notNull())
        .addColumn("session_id", "text")
        .addColumn("revoked_before", "timestamptz")
        .addColumn("expires_at", "timestamptz", (c) => c.notNull())
        .addColumn("revoked_by", "text", (c) => c.notNull())
        .addColumn("cognito_signed_out", "boolean", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint("revocations_one_kind", sql`(session_id is null) <> (revoked_before is null)`)
        .execute();
      await db.schema.createIndex("revocations_expires_at").on("revocations").column("expires_at").execute();
    },
  },
  "2026-12-06-001-revocations-cursor": {
    async up(db: Kysely<any>) {
      // The cursor replicas sync by (src/revocations/sync.ts): a number the database assigns, indexed, so "anything
      // new?" is one index lookup and a reload reads only the rows after it. Existing rows get numbers here.
      await sql`alter table revocations add column seq bigint generated always as identity`.execute(db);
      await db.schema.createIndex("revocations_seq").on("revocations").column("seq").unique().execute();
      // Numbers are taken at insert but become visible at commit: two writers could commit out of order, and a
      // replica that read the later one would step over the earlier. Every statement writing the table takes this
      // transaction-long lock before its rows are numbered, so revocations commit in `seq` order whoever writes
      // them (sign-outs are rare; the lock is held for the rest of the writer's transaction). An update takes a
      // new number, so a changed record is read again.
      await sql`
        create function revocations_in_seq_order() returns trigger language plpgsql as $$
        begin
          perform pg_advisory_xact_lock(${sql.lit(REVOCATIONS_WRITE_LOCK)});
          return null;
        end $$`.execute(db);
      await sql`
        create trigger revocations_in_seq_order before insert or update on revocations
        for each statement execute function revocations_in_seq_order()`.execute(db);
      await sql`
        create function revocations_renumber() returns trigger language plpgsql as $$
        begin
          new.seq := nextval(pg_get_serial_sequence('revocations', 'seq'));
          return new;
        end $$`.execute(db);
      await sql`
        create trigger revocations_renumber before update on revocations
        for each row execute function revocations_renumber()`.execute(db);
    },
  },
  "2026-12-06-002-order-events": {
    async up(db: Kysely<any>) {
      // The durable log of order events (src/data/order-event-log.ts): written in the mutation's transaction with
      // its NOTIFY, read to resume a subscription after a cursor, pruned after WS_EVENT_RETENTION_SECONDS.
      await db.schema
        .createTable("order_events")
        .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn("order_id", "text", (c) => c.notNull())
        .addColumn("customer_id", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('PLACED', 'STATUS_CHANGED', 'CANCELLED')`))
        .addColumn("occurred_at", "timestamptz", (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
        .execute();
      await db.schema.createIndex("order_events_customer").on("order_events").columns(["customer_id", "id"]).execute();
      await db.schema.createIndex("order_events_occurred_at").on("order_events").column("occurred_at").execute();
    },
  },
  "2026-12-06-003-revocations-session-sign-in": {
    async up(db: Kysely<any>) {
      // A session record also keeps its session's sign-in time (auth_time), which tokens refreshed from the session
      // keep: the revoked session's tokens are still matched if refresh-token rotation gives them a new origin_jti.
      await db.schema.alterTable("revocations").addColumn("session_signed_in_at", "timestamptz").execute();
      await db.schema
        .alterTable("revocations")
        .addCheckConstraint("revocations_sign_in_of_session", sql`session_signed_in_at is null or session_id is not null`)
        .execute();
    },
  },
};

/** The migrations' names, in the order they apply. */
export const MIGRATION_NAMES = Object.keys(migrations).sort();

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the database to the latest migration; throws with the failing migration's name. A database that is
 * already up to date (every start but the first after a deploy) costs one query; only otherwise does the migrator
 * run, with its lock and its reads of the migration tables (several round trips, which a Lambda cold start pays).
 */
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  if (await isUpToDate(db)) return;
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`Migration ${failed} failed: ${error instanceof Error ? error.message : inspect(error)}`, { cause: error });
  }
}

/**
 * Whether the database has applied exactly this code's migrations, no more, no fewer. A database with no
 * migration table yet, one behind or one ahead (a newer deploy's migration) is left to the migrator, which
 * migrates or refuses as it always did; so is a database that cannot be read (its error is the migrator's to say).
 */
async function isUpToDate(db: Kysely<any>): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    const ours = Object.keys(migrations).sort();
    return rows.length === ours.length && rows.every((row, i) => row.name === ours[i]);
  } catch {
    return false;
  }
}
