import { randomBytes } from "node:crypto";
import pg from "pg";

/** PostgreSQL for the suite, when `TEST_DATABASE_URL` is set (`.ci/run` sets it); otherwise those tests skip. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;

export interface ScratchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh database on the server of `serverUrl`, so test files never see each other's rows. */
export async function createTestDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * The databases a suite runs on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set (`skip` otherwise, so
 * those tests are reported as skipped, never passed silently). Use with `describe.each(BACKENDS)`.
 */
export const BACKENDS = [
  { name: "PGlite", postgresUrl: undefined, skip: false },
  { name: "PostgreSQL", postgresUrl: TEST_DATABASE_URL, skip: !TEST_DATABASE_URL },
] as const;
