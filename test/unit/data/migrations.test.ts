import { describe, expect, it } from "vitest";
import { openDatabase } from "../../../src/data/database.js";
import { MIGRATION_NAMES, migrateToLatest } from "../../../src/data/migrations.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../../helpers/database.js";

describe.skipIf(!TEST_DATABASE_URL)("migrations on PostgreSQL", () => {
  it("run once when several replicas start together", async () => {
    const scratch = await createTestDatabase(TEST_DATABASE_URL!);
    try {
      const replicas = await Promise.all([1, 2, 3].map(() => openDatabase({ url: scratch.url, pgliteDir: null, poolSize: 2 })));
      const applied = await replicas[0]!.db
        .selectFrom("kysely_migration" as never)
        .select("name" as never)
        .execute();
      expect(applied).toHaveLength(MIGRATION_NAMES.length);
      await Promise.all(replicas.map((r) => r.close()));
    } finally {
      await scratch.drop();
    }
  });
});

describe("migrations on PGlite", () => {
  it("cost one query on a database that is up to date, and run when a migration is missing", async () => {
    const statements: string[] = [];
    const database = await openDatabase({ url: null, pgliteDir: null, onQuery: (event) => statements.push(event.query.sql) });
    try {
      statements.length = 0;
      await migrateToLatest(database.db);
      expect(statements).toEqual(["select name from kysely_migration order by name"]);

      // As if the database were one migration behind: the migrator runs (and finds the tables already there).
      await database.db.deleteFrom("kysely_migration" as never).execute();
      statements.length = 0;
      await expect(migrateToLatest(database.db)).rejects.toThrow(/^Migration 2026-11-28-001-shop failed: /);
      expect(statements.length).toBeGreaterThan(1);
    } finally {
      await database.close();
    }
  });

  it("leave an already migrated database as it is", async () => {
    const first = await openDatabase({ url: null, pgliteDir: null });
    try {
      await migrateToLatest(first.db);
      const tables = await first.db.introspection.getTables();
      expect(tables.map((t) => t.name).sort()).toEqual(["customers", "order_events", "order_items", "orders", "products", "revocations"]);
    } finally {
      await first.close();
    }
  });
});
