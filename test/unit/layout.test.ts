import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

/** Every file under `dir`, as paths relative to the repository. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(join(ROOT, path)).isFile())
    .sort();
}

/**
 * Checks of the repository itself rather than of a module of src/: the docs' links and quoted code, and this rule.
 * A new entry here needs a reason as good.
 */
const REPOSITORY_CHECKS = ["test/unit/docs.test.ts", "test/unit/layout.test.ts"];

/**
 * What `test/unit/<dir>/<name>[.<aspect>].test.ts` tests: `src/<dir>/<name>.ts`, or the folder `src/<dir>/<name>/`;
 * null when neither exists.
 */
function mirroredSource(testPath: string): string | null {
  const inner = relative("test/unit", testPath);
  const match = /^(?:(.*)\/)?([^/.]+)(?:\.[^/]+)?\.test\.ts$/.exec(inner);
  if (!match) return null;
  const base = join("src", match[1] ?? "", match[2]!);
  if (existsSync(join(ROOT, `${base}.ts`))) return `${base}.ts`;
  if (existsSync(join(ROOT, base)) && statSync(join(ROOT, base)).isDirectory()) return `${base}/`;
  return null;
}

describe("the tests' layout (docs/testing.md)", () => {
  it("mirrors src/ under test/unit: each file tests a module or folder of src/ that exists", () => {
    const unit = filesUnder("test/unit").filter((path) => !REPOSITORY_CHECKS.includes(path));
    expect(unit.length).toBeGreaterThan(20);
    expect(unit.filter((path) => mirroredSource(path) === null)).toEqual([]);
  });

  it("keeps every other test file under test/e2e/<topic>/", () => {
    const misplaced = filesUnder("test")
      .filter((path) => path.endsWith(".test.ts"))
      .filter((path) => !path.startsWith("test/unit/") && !/^test\/e2e\/[^/]+\/[^/]+\.test\.ts$/.test(path));
    expect(misplaced).toEqual([]);
  });

  it("reads a test's module from its path, aspect and all", () => {
    expect(mirroredSource("test/unit/auth/verifier.test.ts")).toBe("src/auth/verifier.ts");
    expect(mirroredSource("test/unit/auth/verifier.2026.test.ts")).toBe("src/auth/verifier.ts");
    expect(mirroredSource("test/unit/config.test.ts")).toBe("src/config.ts");
    expect(mirroredSource("test/unit/graphql/resolvers.test.ts")).toBe("src/graphql/resolvers/");
    expect(mirroredSource("test/unit/auth/no-such-module.test.ts")).toBeNull();
    expect(mirroredSource("test/unit/nowhere/config.test.ts")).toBeNull();
  });
});
