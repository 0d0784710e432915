import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ApprovalsError,
  checkApprovals,
  diffManifests,
  formatDiffMarkdown,
  parseApprovals,
  type Approval,
} from "../graphql/access-diff.js";
import type { AccessManifest } from "../graphql/access-manifest.js";
import { fail, parseCommandLine, USAGE_ERROR } from "./args.js";

const MANIFEST_PATH = "src/__generated__/access-manifest.json";
const APPROVALS_PATH = "schema/access-approvals.json";

const USAGE = `Compares the access manifest with the one at a git ref and prints the change as a Markdown table
(principal class x field). Exits 1 when access widens and schema/access-approvals.json does not approve it.

  npm run auth:diff -- --base origin/main
  npm run auth:diff -- --base HEAD~1

Flags (paths relative to the repository's top level):
  --base REF         the git ref to compare with (required)
  --manifest PATH    the manifest (default: ${MANIFEST_PATH}), read from the work tree
  --approvals PATH   the reviewed approvals (default: ${APPROVALS_PATH}); absent: none

Exit codes: 0 no unapproved widening, 1 an unapproved widening, 2 bad usage, ref, manifest or approvals file.`;

function git(args: string[]): string {
  return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

function parseManifest(text: string, where: string): AccessManifest {
  try {
    const manifest = JSON.parse(text) as AccessManifest;
    if (typeof manifest?.types !== "object" || manifest.types === null) throw new Error('no "types" object');
    return manifest;
  } catch (error) {
    fail(`${where} is not an access manifest (${(error as Error).message}); run npm run codegen`, USAGE_ERROR);
  }
}

function main(): void {
  const parsed = parseCommandLine(
    {
      options: {
        base: { type: "string" },
        manifest: { type: "string" },
        approvals: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    USAGE,
  );
  if (!parsed) return;
  const { values } = parsed;
  if (!values.base) fail(`--base is required.\n\n${USAGE}`, USAGE_ERROR);
  let top: string;
  try {
    top = git(["rev-parse", "--show-toplevel"]).trim();
  } catch {
    fail("auth:diff runs inside a git repository", USAGE_ERROR);
  }
  const manifestPath = values.manifest ?? MANIFEST_PATH;
  const approvalsPath = values.approvals ?? APPROVALS_PATH;
  let commit: string;
  try {
    commit = git(["rev-parse", "--verify", "--quiet", `${values.base}^{commit}`]).trim();
  } catch {
    fail(`--base ${values.base}: not a commit of this repository`, USAGE_ERROR);
  }
  let baseText: string;
  try {
    baseText = git(["-C", top, "show", `${commit}:${manifestPath}`]);
  } catch {
    fail(`${values.base} has no ${manifestPath}: nothing to compare with`, USAGE_ERROR);
  }
  const headFile = join(top, manifestPath);
  if (!existsSync(headFile)) fail(`${manifestPath} is missing: run npm run codegen`, USAGE_ERROR);
  const base = parseManifest(baseText, `${manifestPath} at ${values.base}`);
  const head = parseManifest(readFileSync(headFile, "utf8"), manifestPath);
  let approvals: Approval[] = [];
  const approvalsFile = join(top, approvalsPath);
  if (existsSync(approvalsFile)) {
    try {
      approvals = parseApprovals(readFileSync(approvalsFile, "utf8"));
    } catch (error) {
      if (!(error instanceof ApprovalsError)) throw error;
      fail(`${approvalsPath}: ${error.message}`, USAGE_ERROR);
    }
  }
  const diff = diffManifests(base, head);
  process.stdout.write(formatDiffMarkdown(diff, approvals, `Access changes since ${values.base} (${commit.slice(0, 12)})`));
  const { unapproved } = checkApprovals(diff, approvals);
  if (unapproved.length > 0) {
    fail(`auth:diff: ${unapproved.length} widening(s) not approved in ${approvalsPath}`, 1);
  }
}

main();
