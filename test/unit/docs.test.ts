import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anchorsOf, brokenLinks, linksOf, type MarkdownFile } from "../helpers/markdown-links.js";

const ROOT = join(import.meta.dirname, "..", "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** README.md and every docs/*.md, as the repository has them now. */
function documentation(): MarkdownFile[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs].map((path) => ({ path, text: read(path) }));
}

/**
 * The environment variables src/config.ts reads: `env.NAME`, `env["NAME"]`, helpers called as `(env, "NAME"`, and
 * any other UPPER_SNAKE string (a name kept in a constant before it is read).
 */
function configVariables(): string[] {
  // loadConfig and the sections it reads through (src/config-sections.ts).
  const source = ["src/config.ts", "src/config-sections.ts"].map(read).join("\n");
  const names = new Set<string>();
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]*)/g,
    /\benv\[["']([A-Z][A-Z0-9_]*)["']\]/g,
    /\(env, ["']([A-Z][A-Z0-9_]*)["']/g,
    /["']([A-Z][A-Z0-9]*_[A-Z0-9_]+)["']/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) names.add(match[1]!);
  }
  return [...names].sort();
}

describe("the documentation", () => {
  it("has no broken relative link or #anchor in README.md and docs/*.md", () => {
    expect(brokenLinks(ROOT, documentation())).toEqual([]);
  });

  it("finds the broken ones: a missing file, a missing heading, an anchor of this page, outside the repository", () => {
    const files: MarkdownFile[] = [
      { path: "README.md", text: "# Top\n\n## The `@auth` directive\n\n[ok](#the-auth-directive) [gone](#nothing-here)\n" },
      {
        path: "docs/a.md",
        text: [
          "# A",
          "",
          "## Tokens: what is checked",
          "",
          "| x | y |",
          "|---|---|",
          "| [in a table](../README.md#no-such-heading) | [fine](../README.md#top) |",
          "",
          "- [missing file](missing.md) and [source line](../package.json#L2) and [bad](../package.json#section)",
          "- [outside](../../etc/passwd) [web](https://example.com/#whatever)",
          "",
          "```md",
          "[in code](nowhere.md)",
          "```",
        ].join("\n"),
      },
    ];
    expect(brokenLinks(ROOT, files).map(({ file, href }) => `${file}: ${href}`)).toEqual([
      "README.md: #nothing-here",
      "docs/a.md: ../README.md#no-such-heading",
      "docs/a.md: missing.md",
      "docs/a.md: ../package.json#section",
      "docs/a.md: ../../etc/passwd",
    ]);
  });

  it("gives headings GitHub's anchors", () => {
    const anchors = anchorsOf(
      '# Cognito GraphQL API\n## Tokens: what is checked\n## Dev tokens: `npm run token`\n## Cognito too (`REVOCATION_COGNITO_SIGN_OUT=true`)\n## Errors\n## Errors\n## What "not yours" looks like\n',
    );
    expect([...anchors]).toEqual([
      "cognito-graphql-api",
      "tokens-what-is-checked",
      "dev-tokens-npm-run-token",
      "cognito-too-revocation_cognito_sign_outtrue",
      "errors",
      "errors-1",
      "what-not-yours-looks-like",
    ]);
  });

  it("links every docs/*.md from README.md's table of contents", () => {
    const readme = linksOf(read("README.md")).map((link) => link.href.split("#")[0]);
    const docs = documentation()
      .map((file) => file.path)
      .filter((path) => path.startsWith("docs/"));
    expect(docs.filter((path) => !readme.includes(path))).toEqual([]);
  });

  it("shows the examples' code exactly as the files have it (blocks marked <!-- from FILE -->)", () => {
    const quoted = documentation().flatMap((doc) =>
      [...doc.text.matchAll(/<!-- from (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)].map((match) => ({
        doc: doc.path,
        file: match[1]!,
        code: match[2]!,
      })),
    );
    expect(quoted.length).toBeGreaterThanOrEqual(4);
    const stale = quoted.filter(({ file, code }) => !read(file).includes(code)).map(({ doc, file }) => `${doc} quotes ${file}`);
    expect(stale).toEqual([]);
  });

  it("keeps README.md an entry point: at most 300 lines", () => {
    expect(read("README.md").split("\n").length).toBeLessThanOrEqual(300);
  });

  it("names every environment variable the configuration reads in docs/configuration.md", () => {
    const variables = configVariables();
    // The extraction itself must see the config (a rename of `env` would otherwise pass with nothing to check).
    expect(variables).toEqual(expect.arrayContaining(["COGNITO_USER_POOL_ID", "DATABASE_URL", "METRICS_HOST", "GRAPHQL_MAX_COST"]));
    const reference = read("docs/configuration.md");
    expect(variables.filter((name) => !reference.includes(`\`${name}\``) && !reference.includes(`\`${name}=`))).toEqual([]);
  });
});
