import { execFile } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { accessManifest, manifestText } from "../../../src/graphql/access-manifest.js";
import { buildSchema, SCHEMA_DIR } from "../../../src/graphql/schema.js";
import { tempDir } from "../../helpers/temp.js";

const run = promisify(execFile);
const MANIFEST_FILE = join(import.meta.dirname, "..", "..", "..", "src", "__generated__", "access-manifest.json");

/** Runs `npm run auth:report -- ...` as a user would (through tsx). */
async function authReport(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/auth-report.ts", ...args], {
      env: { PATH: process.env.PATH },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const scratch = () => tempDir("auth-report-");

describe("npm run auth:report", () => {
  it("prints the product's access table", async () => {
    const result = await authReport();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Product\.costPriceCents +NonNegativeInt +signed in\n +and group:admin$/m);
    expect(result.stdout).toMatch(/^Query\.products +ProductConnection! +public$/m);
    expect(result.stdout).toMatch(
      /^Query\.order +Order +signed in\n +and owner:customerId \| group:support .*\(owner: the returned Order\)$/m,
    );
  });

  it("keeps the checked-in manifest up to date with the schema files", async () => {
    expect(readFileSync(MANIFEST_FILE, "utf8")).toBe(manifestText(accessManifest(buildSchema())));
    const result = await authReport("--check");
    expect(result.code).toBe(0);
  });

  it("writes the manifest with --write, and --check then passes", async () => {
    const file = join(scratch(), "access-manifest.json");
    expect((await authReport("--write", "--manifest", file)).code).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(accessManifest(buildSchema()));
    expect((await authReport("--check", "--manifest", file)).code).toBe(0);
  });

  it("exits 1 with --check when the manifest is stale or missing", async () => {
    const dir = scratch();
    const stale = join(dir, "stale.json");
    writeFileSync(stale, readFileSync(MANIFEST_FILE, "utf8").replace('"group:admin"', '"group:nobody"'));
    const result = await authReport("--check", "--manifest", stale);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stale\.json is stale or missing: run npm run codegen/);
    expect((await authReport("--check", "--manifest", join(dir, "missing.json"))).code).toBe(1);
  });

  it("exits 1, listing the problems, when a root field has no decision", async () => {
    const dir = scratch();
    cpSync(SCHEMA_DIR, dir, { recursive: true });
    const me = join(dir, "me.graphql");
    writeFileSync(me, readFileSync(me, "utf8").replace("me: Principal @public", "me: Principal"));
    const result = await authReport("--schema", dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("The schema is refused by its @auth rules:\n  - Query.me: root field has no @auth or @public decision");
    expect(result.stdout).toBe("");
  });

  it("refuses unknown flags with exit code 2", async () => {
    const result = await authReport("--table");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--table'/);
  });
});
