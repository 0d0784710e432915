import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made = new Set<string>();

/**
 * A fresh directory under the system's temporary directory, removed after the test file (test/helpers/cleanup.ts,
 * a vitest setup file, registers the hook), also when a test fails, and at the latest when the process exits.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes `dir` now (a helper that owns it is done with it). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.delete(dir);
}

/** Removes every directory made by `tempDir` so far. */
export function removeTempDirs(): void {
  for (const dir of made) removeTempDir(dir);
}

process.once("exit", removeTempDirs);
