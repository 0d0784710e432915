import { execFile } from "node:child_process";
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const run = promisify(execFile);

/** Runs a command and hands back its exit code and output, whether it failed or not (bounded at 60 s). */
async function outcome(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  try {
    const { stdout, stderr } = await run(file, args, { ...options, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

// The machine's own Node, when it is older than the project's (this team's machines have Node 20 there).
const OLD_NODE = "/usr/bin/node";
const oldMajor = existsSync(OLD_NODE)
  ? Number((await outcome(OLD_NODE, ["--version"], { cwd: ROOT })).stdout.trim().slice(1).split(".")[0])
  : NaN;
const hasOldNode = oldMajor < 24;
const onOldNode = { ...process.env, PATH: `/usr/bin:${process.env.PATH}` };
const THE_LINE =
  /^This project needs Node >=24\.11 \(\.nvmrc: 24\.\d+\.\d+\); this is Node v\d+\.\d+\.\d+\. Run `nvm use` .*`source \.ci\/use-node\.sh`.*\n$/;

describe("the Node version preflight (scripts/check-node.mjs)", () => {
  it("says nothing and lets the command run on the project's Node", async () => {
    expect(await outcome(process.execPath, ["scripts/check-node.mjs"], { cwd: ROOT })).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it.skipIf(!hasOldNode)("stops an older Node with one line naming the version and how to get it", async () => {
    const result = await outcome(OLD_NODE, ["scripts/check-node.mjs"], { cwd: ROOT });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(THE_LINE);
  });

  it.skipIf(!hasOldNode)("stops `npm test` and `npm start` on an older Node before they start anything", async () => {
    for (const script of ["test", "start", "test:unit"]) {
      const result = await outcome("npm", ["run", "-s", script], { cwd: ROOT, env: onOldNode });
      expect(result.code, script).not.toBe(0);
      expect(result.stderr, script).toMatch(THE_LINE);
    }
  });

  it.skipIf(!hasOldNode)("stops `npm ci` on an older Node at once, naming the version, and installs nothing", async () => {
    const copy = tempDir("node-check-");
    for (const file of ["package.json", "package-lock.json", ".npmrc", ".nvmrc"]) copyFileSync(join(ROOT, file), join(copy, file));
    const result = await outcome("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: copy, env: onOldNode });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("EBADENGINE");
    expect(result.stderr).toContain('Required: {"node":">=24.11"}');
    expect(readdirSync(copy).sort()).toEqual([".npmrc", ".nvmrc", "package-lock.json", "package.json"]);
  });
});
