import type { Principal } from "./principal.js";

/**
 * The `requires` grammar of `@auth`, and its evaluation. Pure functions: no GraphQL, no I/O.
 *
 *   requires := entry*            every entry must hold (AND)
 *   entry    := atom ("|" atom)*  any one atom suffices (OR)
 *   atom     := "group:" NAME     NAME is in `cognito:groups` (exact, case-sensitive)
 *             | "scope:" NAME     NAME is one of the space-separated `scope` values (exact)
 *             | "owner:" FIELD    the object's FIELD equals the caller's `sub`
 */
export type Atom = { readonly kind: "group" | "scope"; readonly name: string } | { readonly kind: "owner"; readonly field: string };

/** One AND-ed entry: its atoms are OR-ed. `on` says which object `owner:` atoms are read from. */
export interface Requirement {
  readonly atoms: readonly Atom[];
  /** The entry as written, for explanations. */
  readonly text: string;
  /** `parent`: the object whose field is resolved; `result`: the object the field returns. */
  readonly on: "parent" | "result";
}

export class RuleSyntaxError extends Error {
  override readonly name = "RuleSyntaxError";
}

// Cognito group names and OAuth scopes contain no whitespace; `|` separates atoms.
const NAME = /^[^\s|]+$/;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Parses one `requires` list. Throws `RuleSyntaxError` naming the offending entry. */
export function parseRequires(requires: readonly string[], on: Requirement["on"] = "parent"): Requirement[] {
  if (requires.length === 0) {
    throw new RuleSyntaxError("requires: [] is empty; omit `requires` to allow any verified caller");
  }
  return requires.map((text) => ({ atoms: parseEntry(text), text, on }));
}

function parseEntry(text: string): Atom[] {
  if (text.trim() === "") throw new RuleSyntaxError(`empty entry "${text}"`);
  return text.split("|").map((raw) => {
    const atom = raw.trim();
    if (atom === "") throw new RuleSyntaxError(`empty atom in entry "${text}"`);
    const colon = atom.indexOf(":");
    const kind = colon === -1 ? atom : atom.slice(0, colon);
    const value = colon === -1 ? "" : atom.slice(colon + 1);
    if (kind === "group" || kind === "scope") {
      if (!NAME.test(value)) throw new RuleSyntaxError(`"${atom}" in entry "${text}" needs a name without spaces`);
      return { kind, name: value };
    }
    if (kind === "owner") {
      if (!GRAPHQL_NAME.test(value)) throw new RuleSyntaxError(`"${atom}" in entry "${text}" needs a field name`);
      return { kind, field: value };
    }
    throw new RuleSyntaxError(`unknown atom "${atom}" in entry "${text}"; use group:, scope: or owner:`);
  });
}

/** What the token alone decides. `owner` means: holds only if `pending` hold on the objects. */
export type Decision =
  | { readonly outcome: "allow" }
  | { readonly outcome: "deny"; readonly missing: readonly string[] }
  | { readonly outcome: "owner"; readonly pending: readonly Requirement[] };

export const ALLOW: Decision = Object.freeze({ outcome: "allow" });

/**
 * Decides a guard from the caller's claims. `authenticated` with no requirements means "any verified caller".
 * An anonymous caller is denied by any guard; `owner:` atoms are deferred to `ownerHolds` unless a group or
 * scope atom of the same entry already holds.
 */
export function decide(principal: Principal | null, authenticated: boolean, requirements: readonly Requirement[]): Decision {
  if (principal === null) {
    return authenticated || requirements.length > 0
      ? { outcome: "deny", missing: requirements.length > 0 ? requirements.map((r) => r.text) : ["a verified caller"] }
      : ALLOW;
  }
  const missing: string[] = [];
  const pending: Requirement[] = [];
  for (const requirement of requirements) {
    if (requirement.atoms.some((atom) => atomHolds(atom, principal))) continue;
    if (requirement.atoms.some((atom) => atom.kind === "owner")) pending.push(requirement);
    else missing.push(requirement.text);
  }
  if (missing.length > 0) return { outcome: "deny", missing };
  if (pending.length > 0) return { outcome: "owner", pending };
  return ALLOW;
}

function atomHolds(atom: Atom, principal: Principal): boolean {
  switch (atom.kind) {
    case "group":
      return principal.groups.includes(atom.name);
    case "scope":
      return principal.scopes.includes(atom.name);
    case "owner":
      return false;
  }
}

/** Whether every pending requirement aimed at `on` holds for `object`: one of its `owner:` fields equals `sub`. */
export function ownerHolds(pending: readonly Requirement[], on: Requirement["on"], object: unknown, principal: Principal): boolean {
  for (const requirement of pending) {
    if (requirement.on !== on) continue;
    const holds = requirement.atoms.some((atom) => atom.kind === "owner" && ownerValue(object, atom.field) === principal.sub);
    if (!holds) return false;
  }
  return true;
}

function ownerValue(object: unknown, field: string): string | undefined {
  if (typeof object !== "object" || object === null) return undefined;
  const value = (object as Record<string, unknown>)[field];
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}
