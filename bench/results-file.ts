import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

/**
 * Writes one bench run's raw figures as `bench/results/<ISO time>-<kind>[-quick].json` (not committed), with the
 * run's context (`quick`, Node's version, the core count) before `results`, and returns the file's path. Every
 * bench mode (requests, revocations, subscriptions) writes through this, so their files read alike.
 */
export function writeResults(kind: string, quick: boolean, results: object): string {
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${kind}${quick ? "-quick" : ""}.json`);
  writeFileSync(file, JSON.stringify({ quick, node: process.version, cpus: cpus().length, ...results }, null, 2));
  return file;
}
