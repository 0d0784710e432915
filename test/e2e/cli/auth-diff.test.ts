import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { AccessManifest, FieldAccess } from "../../../src/graphql/access-manifest.js";
import { tempDir } from "../../helpers/temp.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "..", "..", "src", "cli", "auth-diff.ts");
const TSX = import.meta.resolve("tsx");

/** Runs `npm run auth:diff -- ...` as a user would, inside `repo`. */
async function authDiff(repo: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", TSX, CLI, ...args], { cwd: repo, env: { PATH: process.env.PATH } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const git = (repo: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", ...args], {
    cwd: repo,
    encoding: "utf8",
  });

const signedIn = (...entries: (string[] | { anyOf: string[]; ownerFrom: "parent" | "result" })[]): FieldAccess => ({
  type: "String",
  authenticated: true,
  requires: entries.map((e) => (Array.isArray(e) ? { anyOf: e } : e)),
});
const open: FieldAccess = { type: "String", public: true };

const BASE: AccessManifest = {
  description: "test",
  types: {
    Order: {
      customerEmail: signedIn({ anyOf: ["owner:customerId", "group:support"], ownerFrom: "parent" }),
      internalNote: signedIn(["group:staff"]),
      total: signedIn(),
    },
    Query: { orders: signedIn(["group:admin", "scope:orders/read"]), products: open },
  },
};

/** A git repository whose first commit has `base`; the work tree then gets `head` (and approvals, if given). */
function repoWith(base: AccessManifest, head: AccessManifest, approvals?: unknown): string {
  const repo = tempDir("auth-diff-");
  git(repo, "init", "-q", "-b", "main");
  mkdirSync(join(repo, "src", "__generated__"), { recursive: true });
  mkdirSync(join(repo, "schema"), { recursive: true });
  const manifest = join(repo, "src", "__generated__", "access-manifest.json");
  writeFileSync(manifest, JSON.stringify(base, null, 2));
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "base");
  writeFileSync(manifest, JSON.stringify(head, null, 2));
  if (approvals !== undefined)
    writeFileSync(join(repo, "schema", "access-approvals.json"), typeof approvals === "string" ? approvals : JSON.stringify(approvals));
  return repo;
}

const withField = (manifest: AccessManifest, type: string, field: string, access: FieldAccess | undefined): AccessManifest => {
  const fields = { ...manifest.types[type] };
  if (access) fields[field] = access;
  else delete fields[field];
  return { ...manifest, types: { ...manifest.types, [type]: fields } };
};

describe("npm run auth:diff", () => {
  it("reports no change and exits 0 when the manifest is the base's", async () => {
    const result = await authDiff(repoWith(BASE, BASE), "--base", "main");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("No access changes.");
  });

  it("exits 1 when an OR gains an atom, showing the class that gains access in bold and the approval to add", async () => {
    const head = withField(BASE, "Order", "internalNote", signedIn(["group:staff", "group:support"]));
    const result = await authDiff(repoWith(BASE, head), "--base", "main");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "| field | anonymous | signed in | owner | group:admin | group:staff | group:support | scope:orders/read | change |",
    );
    expect(result.stdout).toContain(
      "| `Order.internalNote` | no | no | no | no | yes | **no → yes** | no | widening `weakened: group:staff -> group:staff\\|group:support` (**not approved**) |",
    );
    expect(result.stdout).toContain('"widening": "weakened: group:staff -> group:staff|group:support"');
    expect(result.stderr).toContain("1 widening(s) not approved in schema/access-approvals.json");
  });

  it("exits 0 for the same widening once schema/access-approvals.json approves it, printing the reason", async () => {
    const head = withField(BASE, "Order", "internalNote", signedIn(["group:staff", "group:support"]));
    const approvals = {
      approvals: [
        {
          field: "Order.internalNote",
          widening: "weakened: group:staff -> group:staff|group:support",
          reason: "support answers delivery questions (#123)",
        },
      ],
    };
    const result = await authDiff(repoWith(BASE, head, approvals), "--base", "main");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("(approved: support answers delivery questions (#123))");
    expect(result.stdout).toContain("1 widening(s): 1 approved, 0 not approved.");
  });

  it("needs no approval to narrow: an entry added, an atom removed, a field removed", async () => {
    let head = withField(BASE, "Order", "customerEmail", signedIn({ anyOf: ["owner:customerId"], ownerFrom: "parent" }));
    head = withField(head, "Order", "total", signedIn(["group:staff"]));
    head = withField(head, "Query", "orders", undefined);
    const result = await authDiff(repoWith(BASE, head), "--base", "main");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("| `Order.customerEmail` | no | no | own | no | no | yes → no | no | narrowing or same reach |");
    expect(result.stdout).toMatch(/\| `Order\.total` \| no \| yes → no \|/);
    expect(result.stdout).toMatch(/\| `Query\.orders` \| no \| no \| no \| yes → no \|/);
  });

  it("exits 1 when a rule is removed, a field made public or a field added", async () => {
    let head = withField(BASE, "Query", "orders", signedIn());
    head = withField(head, "Order", "total", open);
    head = withField(head, "Query", "customers", signedIn(["group:admin"]));
    const result = await authDiff(repoWith(BASE, head), "--base", "main");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("widening `removed: group:admin\\|scope:orders/read`");
    expect(result.stdout).toContain("widening `public`");
    expect(result.stdout).toContain("widening `added`");
    expect(result.stdout).toContain("3 widening(s): 0 approved, 3 not approved.");
  });

  it("treats enforcing a shadow rule as narrowing, and moving an enforced rule to shadow as widening", async () => {
    const shadowed: FieldAccess = {
      ...signedIn(["group:staff"]),
      shadow: { authenticated: true, requires: [{ anyOf: ["scope:orders/read"] }] },
    };
    const base = withField(BASE, "Order", "internalNote", shadowed);
    const enforced = withField(BASE, "Order", "internalNote", signedIn(["group:staff"], ["scope:orders/read"]));
    const toEnforced = await authDiff(repoWith(base, enforced), "--base", "main");
    expect(toEnforced.code, toEnforced.stdout).toBe(0);
    expect(toEnforced.stdout).toContain(
      "| `Order.internalNote` | no | no | no | no | yes → no | no | no | narrowing or same reach; shadow rule changed |",
    );
    const toShadow = await authDiff(repoWith(enforced, base), "--base", "main");
    expect(toShadow.code).toBe(1);
    expect(toShadow.stdout).toContain("widening `removed: scope:orders/read` (**not approved**)");
  });

  it("refuses a bad ref, a base without a manifest and a malformed approvals file with exit code 2", async () => {
    const repo = repoWith(BASE, BASE);
    expect((await authDiff(repo, "--base", "no-such-ref")).stderr).toContain("--base no-such-ref: not a commit of this repository");
    expect((await authDiff(repo)).code).toBe(2);
    git(repo, "checkout", "-q", "--orphan", "empty");
    git(repo, "rm", "-q", "-r", "--cached", ".");
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty");
    const noManifest = await authDiff(repo, "--base", "empty");
    expect(noManifest.code).toBe(2);
    expect(noManifest.stderr).toContain("empty has no src/__generated__/access-manifest.json");
    const badApprovals = await authDiff(
      repoWith(BASE, BASE, { approvals: [{ field: "Order.total", widening: "public" }] }),
      "--base",
      "main",
    );
    expect(badApprovals.code).toBe(2);
    expect(badApprovals.stderr).toContain('schema/access-approvals.json: approvals[0] needs a non-empty string "reason"');
  });
});
