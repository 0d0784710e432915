import { existsSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import GithubSlugger from "github-slugger";
import { Lexer, type Token, type Tokens } from "marked";

/** One Markdown file: its path relative to the repository root (`docs/x.md`) and its text. */
export interface MarkdownFile {
  readonly path: string;
  readonly text: string;
}

/** A link found in a Markdown file, as written (`docs/x.md#a-heading`, `#errors`, `https://...`). */
export interface MarkdownLink {
  readonly href: string;
  /** The file's line where the link's paragraph, table or list starts (1-based). */
  readonly line: number;
}

/** A link that does not resolve, with the reason. */
export interface BrokenLink {
  readonly file: string;
  readonly line: number;
  readonly href: string;
  readonly problem: string;
}

/**
 * The anchors GitHub gives a file's headings (`## Tokens: what is checked` -> `tokens-what-is-checked`), with
 * GitHub's numbering of repeats (`-1`, `-2`), computed by github-slugger, which implements GitHub's rules.
 */
export function anchorsOf(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  walk(new Lexer().lex(text), (token) => {
    if (token.type === "heading") anchors.add(slugger.slug(plainText((token as Tokens.Heading).tokens)));
  });
  return anchors;
}

/** Every link of a file (inline links and images; links inside code blocks and code spans are not links). */
export function linksOf(text: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  let offset = 0;
  for (const block of new Lexer().lex(text)) {
    const line = text.slice(0, offset).split("\n").length;
    offset += block.raw.length;
    walk([block], (token) => {
      if (token.type === "link" || token.type === "image") links.push({ href: (token as Tokens.Link).href, line });
    });
  }
  return links;
}

/**
 * Checks every relative link and `#anchor` of `files` against the repository at `root`: the target file or
 * folder must exist, and an anchor into a Markdown file (this one or another of `files`) must be one of its
 * headings' anchors. Absolute URLs (`https:`, `mailto:`) are not checked (no network here).
 */
export function brokenLinks(root: string, files: readonly MarkdownFile[]): BrokenLink[] {
  const byPath = new Map(files.map((file) => [normalize(file.path), file]));
  const anchors = new Map<string, Set<string>>();
  const anchorsFor = (path: string, text: string) => anchors.get(path) ?? anchors.set(path, anchorsOf(text)).get(path)!;
  const broken: BrokenLink[] = [];
  for (const file of files) {
    for (const { href, line } of linksOf(file.text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue;
      const problem = (text: string) => broken.push({ file: file.path, line, href, problem: text });
      const hash = href.indexOf("#");
      const path = decodeURIComponent(hash === -1 ? href : href.slice(0, hash));
      const anchor = hash === -1 ? null : decodeURIComponent(href.slice(hash + 1));
      const target = path === "" ? normalize(file.path) : normalize(join(dirname(file.path), path));
      if (relative(".", target).startsWith("..")) {
        problem("points outside the repository");
        continue;
      }
      if (!byPath.has(target) && !existsSync(join(root, target))) {
        problem(`no file or folder ${target}`);
        continue;
      }
      if (anchor === null) continue;
      if (!target.endsWith(".md")) {
        // GitHub's line anchors (#L10, #L10-L20) on source files.
        if (!/^L\d+(-L\d+)?$/.test(anchor)) problem(`#${anchor} on a file that is not Markdown`);
        continue;
      }
      const targetFile = byPath.get(target);
      if (!targetFile) {
        problem(`${target} is not among the checked Markdown files`);
        continue;
      }
      if (!anchorsFor(target, targetFile.text).has(anchor)) problem(`${target} has no heading with the anchor #${anchor}`);
    }
  }
  return broken;
}

/** Visits every token, depth first: inline tokens, list items, table headers and cells. */
function walk(tokens: readonly Token[], visit: (token: Token) => void): void {
  for (const token of tokens) {
    visit(token);
    const nested = token as { tokens?: Token[]; items?: Token[]; header?: { tokens: Token[] }[]; rows?: { tokens: Token[] }[][] };
    if (nested.tokens) walk(nested.tokens, visit);
    if (nested.items) walk(nested.items, visit);
    for (const cell of nested.header ?? []) walk(cell.tokens, visit);
    for (const row of nested.rows ?? []) for (const cell of row) walk(cell.tokens, visit);
  }
}

/** A heading's text as GitHub renders it before making its anchor: markup gone, code spans' text kept. */
function plainText(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      const inline = token as { tokens?: Token[]; text?: string };
      if (inline.tokens) return plainText(inline.tokens);
      return token.type === "html" ? "" : decodeEntities(inline.text ?? "");
    })
    .join("");
}

/** marked escapes `&`, `<`, `>`, quotes in the text of code spans; GitHub slugs the characters themselves. */
function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[name]!);
}
