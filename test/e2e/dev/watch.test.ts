import { spawn } from "node:child_process";
import { utimesSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.js";

/**
 * `npm run dev`: the dev server under `tsx watch`, restarted when a source or schema file changes. Run as a
 * developer would (npm, its own process group so the watcher and the server it starts are stopped together).
 */
const dataDir = tempDir("dev-watch-");
const child = spawn("npm", ["run", "dev"], {
  env: { ...process.env, PORT: "0", DATA_DIR: dataDir, NODE_ENV: "" },
  stdio: ["ignore", "pipe", "pipe"],
  detached: true,
});
let output = "";
child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
child.stderr!.on("data", (chunk: Buffer) => (output += chunk));

const listening = () => [...output.matchAll(/API listening on (http\S+)/g)].map((m) => m[1]!);

async function waitUntil(predicate: () => boolean, seconds: number): Promise<void> {
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${seconds} s; output so far:\n${output}`);
}

afterAll(async () => {
  if (child.exitCode === null) {
    process.kill(-child.pid!, "SIGTERM");
    await Promise.race([new Promise((r) => child.once("exit", r)), new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
  }
});

describe("npm run dev", () => {
  it("serves the API, then restarts it when a schema file changes", async () => {
    await waitUntil(() => listening().length >= 1, 120);
    const first = await fetch(new URL("/healthz", listening()[0]));
    expect(first.status).toBe(200);

    // A change of the file's time is a change to the watcher; the schema's content stays as it is.
    const now = new Date();
    utimesSync("schema/me.graphql", now, now);
    await waitUntil(() => listening().length >= 2, 120);

    const again = await fetch(new URL("/healthz", listening()[1]));
    expect(again.status).toBe(200);
    expect(output).not.toMatch(/EADDRINUSE|Error:/);
  }, 300_000);
});
