import type { AccessManifest, FieldAccess, RequirementEntry } from "./access-manifest.js";

/**
 * What a change of the access manifest does to access: per field, whether each principal class can reach it before
 * and after, and every widening (a rule removed or weakened, an OR that gained an atom, a field made public or
 * added). Narrowing (an entry added, an atom removed, a shadow rule enforced, a field removed) never needs approval.
 * Pure: manifests in, a diff out.
 */

/** Whether a principal class reaches a field: always, only on rows it owns (`owner:` atoms), or not at all. */
export type Reach = "yes" | "own" | "no";

/** One widening of one field, as `schema/access-approvals.json` names it. */
export interface Widening {
  /** `Type.field`. */
  readonly field: string;
  /** `added`, `public`, `removed: ENTRY` or `weakened: ENTRY -> ENTRY` (entries as `a|b`), prefixed `when MEMBER: ` for an abstract member's rule. */
  readonly widening: string;
}

export interface FieldChange {
  readonly field: string;
  /** By principal class name, the reach before and after. */
  readonly reach: Readonly<Record<string, { readonly before: Reach; readonly after: Reach }>>;
  readonly widenings: readonly Widening[];
  /** A shadow rule appeared, changed or went (not an access change: nothing is refused by it). */
  readonly shadowChanged: boolean;
}

export interface AccessDiff {
  /** The principal classes of the table: anonymous, signed in, owner, then every group and scope either manifest names. */
  readonly classes: readonly string[];
  readonly changes: readonly FieldChange[];
}

/** One approval of `schema/access-approvals.json`. */
export interface Approval extends Widening {
  readonly reason: string;
}

/** The approvals file breaks its format; the message names the place. */
export class ApprovalsError extends Error {
  override readonly name = "ApprovalsError";
}

/** Parses the approvals file's JSON text: `{ "approvals": [{ "field", "widening", "reason" }] }`. Throws `ApprovalsError`. */
export function parseApprovals(text: string): Approval[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApprovalsError(`is not JSON (${(error as Error).message})`);
  }
  const list = (parsed as { approvals?: unknown } | null)?.approvals;
  if (!Array.isArray(list)) throw new ApprovalsError('needs an "approvals" array');
  return list.map((item, i) => {
    const entry = item as Record<string, unknown> | null;
    for (const key of ["field", "widening", "reason"]) {
      if (typeof entry?.[key] !== "string" || (entry[key] as string).trim() === "") {
        throw new ApprovalsError(`approvals[${i}] needs a non-empty string "${key}"`);
      }
    }
    return { field: entry!.field as string, widening: entry!.widening as string, reason: entry!.reason as string };
  });
}

const ANONYMOUS = "anonymous";
const SIGNED_IN = "signed in";
const OWNER = "owner";

export function diffManifests(base: AccessManifest, head: AccessManifest): AccessDiff {
  const classes = [ANONYMOUS, SIGNED_IN, OWNER, ...atomClasses(base, head)];
  const fields = new Set([...coordinates(base), ...coordinates(head)]);
  const changes: FieldChange[] = [];
  for (const field of [...fields].sort()) {
    const before = accessAt(base, field);
    const after = accessAt(head, field);
    const widenings = wideningsOf(field, before, after);
    const shadowChanged = JSON.stringify(shadowsOf(before)) !== JSON.stringify(shadowsOf(after));
    if (JSON.stringify(stripShadow(before)) === JSON.stringify(stripShadow(after)) && !shadowChanged) continue;
    const reach: Record<string, { before: Reach; after: Reach }> = {};
    for (const name of classes) reach[name] = { before: reachOf(before, name), after: reachOf(after, name) };
    changes.push({ field, reach, widenings, shadowChanged });
  }
  return { classes, changes };
}

function stripShadow(access: FieldAccess | undefined) {
  if (!access) return undefined;
  const { shadow: _shadow, memberShadows: _memberShadows, type: _type, ...rest } = access;
  return rest;
}

/** A field's shadow rules, its own and its members': they refuse nobody, so they change no reach. */
const shadowsOf = (access: FieldAccess | undefined) => (access ? [access.shadow, access.memberShadows] : undefined);

const coordinates = (manifest: AccessManifest) =>
  Object.entries(manifest.types).flatMap(([type, fields]) => Object.keys(fields).map((field) => `${type}.${field}`));

function accessAt(manifest: AccessManifest, coordinate: string): FieldAccess | undefined {
  const dot = coordinate.indexOf(".");
  return manifest.types[coordinate.slice(0, dot)]?.[coordinate.slice(dot + 1)];
}

function atomClasses(...manifests: AccessManifest[]): string[] {
  const atoms = new Set<string>();
  for (const manifest of manifests) {
    for (const fields of Object.values(manifest.types)) {
      for (const access of Object.values(fields)) {
        for (const entry of entriesOf(access)) for (const atom of entry.anyOf) if (!atom.startsWith("owner:")) atoms.add(atom);
      }
    }
  }
  return [...atoms].sort();
}

function entriesOf(access: FieldAccess): RequirementEntry[] {
  const own = "public" in access ? [] : access.requires;
  return [
    ...own,
    ...(access.shadow?.requires ?? []),
    ...Object.values(access.members ?? {}).flatMap((m) => m.requires),
    ...Object.values(access.memberShadows ?? {}).flatMap((m) => m.requires),
  ];
}

/**
 * The reach of a caller who holds exactly one thing: nothing (anonymous), a verified token (signed in), the row
 * (owner), one group or one scope. Enforced rules only: a shadow rule refuses nobody.
 */
export function reachOf(access: FieldAccess | undefined, principalClass: string): Reach {
  if (!access) return "no";
  if ("public" in access) return "yes";
  if (principalClass === ANONYMOUS) return "no";
  let reach: Reach = "yes";
  for (const entry of access.requires) {
    if (entry.anyOf.includes(principalClass)) continue;
    if (principalClass === OWNER && entry.anyOf.some((atom) => atom.startsWith("owner:"))) reach = "own";
    else return "no";
  }
  return reach;
}

/** An entry's atoms as comparable keys (an `owner:` atom with the object it is read from). */
const atomKeys = (entry: RequirementEntry) =>
  new Set(entry.anyOf.map((atom) => (atom.startsWith("owner:") ? `${atom}@${entry.ownerFrom}` : atom)));
const entryText = (entry: RequirementEntry) => entry.anyOf.join("|");

/**
 * Every way `after` lets in someone `before` did not. A head rule is at least as strict as the base's when each
 * base entry is implied by some head entry whose atoms are a subset of its atoms (fewer ways to satisfy it).
 */
function wideningsOf(field: string, before: FieldAccess | undefined, after: FieldAccess | undefined): Widening[] {
  if (!after) return [];
  if (!before) return [{ field, widening: "added" }];
  const out: Widening[] = [];
  if ("public" in before) {
    // Nothing to widen on the field itself; its members' rules below still count.
  } else if ("public" in after) out.push({ field, widening: "public" });
  else out.push(...entryWidenings(before.requires, after.requires).map((widening) => ({ field, widening })));
  for (const [member, rule] of Object.entries(before.members ?? {})) {
    const now = after.members?.[member];
    const lost = now ? entryWidenings(rule.requires, now.requires) : ["rule removed"];
    for (const widening of lost) out.push({ field, widening: `when ${member}: ${widening}` });
  }
  return out;
}

function entryWidenings(before: readonly RequirementEntry[], after: readonly RequirementEntry[]): string[] {
  const out: string[] = [];
  for (const entry of before) {
    const keys = atomKeys(entry);
    const implied = after.some((candidate) => [...atomKeys(candidate)].every((k) => keys.has(k)));
    if (implied) continue;
    // The head entry that kept all of this one's atoms and added some: the OR that gained an atom.
    const superset = after.find((candidate) => [...keys].every((k) => atomKeys(candidate).has(k)));
    out.push(superset ? `weakened: ${entryText(entry)} -> ${entryText(superset)}` : `removed: ${entryText(entry)}`);
  }
  return out;
}

/** Splits a diff's widenings into those the approvals cover and those they do not, and lists approvals that match nothing. */
export function checkApprovals(diff: AccessDiff, approvals: readonly Approval[]) {
  const key = (w: Widening) => `${w.field}\u0000${w.widening}`;
  const byKey = new Map(approvals.map((a) => [key(a), a]));
  const widenings = diff.changes.flatMap((c) => c.widenings);
  const approved = widenings.filter((w) => byKey.has(key(w))).map((w) => byKey.get(key(w))!);
  const unapproved = widenings.filter((w) => !byKey.has(key(w)));
  const used = new Set(widenings.map(key));
  const unused = approvals.filter((a) => !used.has(key(a)));
  return { approved, unapproved, unused };
}

const ARROW = " → ";

/**
 * The diff as Markdown for a pull-request comment: one row per changed field, one column per principal class
 * (`yes`, `own` rows only, `no`; a change shows `before → after`, a widening in bold), then what each widening is
 * and whether it is approved.
 */
export function formatDiffMarkdown(diff: AccessDiff, approvals: readonly Approval[], title: string): string {
  const lines = [`### ${title}`, ""];
  if (diff.changes.length === 0) return `${[...lines, "No access changes."].join("\n")}\n`;
  const { approved, unapproved, unused } = checkApprovals(diff, approvals);
  const reasons = new Map(approved.map((a) => [`${a.field}\u0000${a.widening}`, a.reason]));
  lines.push(`| field | ${diff.classes.join(" | ")} | change |`, `|---|${diff.classes.map(() => "---").join("|")}|---|`);
  for (const change of diff.changes) {
    const cells = diff.classes.map((name) => {
      const { before, after } = change.reach[name]!;
      if (before === after) return before;
      return RANK[after] > RANK[before] ? `**${before}${ARROW}${after}**` : `${before}${ARROW}${after}`;
    });
    const notes = change.widenings.map((w) => {
      const reason = reasons.get(`${w.field}\u0000${w.widening}`);
      return `widening \`${w.widening}\` ${reason ? `(approved: ${reason})` : "(**not approved**)"}`;
    });
    if (change.widenings.length === 0) notes.push("narrowing or same reach");
    if (change.shadowChanged) notes.push("shadow rule changed");
    lines.push(`| \`${change.field}\` | ${cells.join(" | ")} | ${notes.join("; ").replaceAll("|", "\\|")} |`);
  }
  lines.push("", `${approved.length + unapproved.length} widening(s): ${approved.length} approved, ${unapproved.length} not approved.`);
  if (unapproved.length > 0) {
    lines.push("", "To approve, add to `schema/access-approvals.json` (reviewed like code), with the reason:", "", "```json");
    lines.push(
      JSON.stringify(
        unapproved.map((w) => ({ field: w.field, widening: w.widening, reason: "..." })),
        null,
        2,
      ),
      "```",
    );
  }
  for (const stale of unused) lines.push("", `Approval for \`${stale.field}\` \`${stale.widening}\` matches no widening of this change.`);
  return `${lines.join("\n")}\n`;
}

const RANK: Record<Reach, number> = { no: 0, own: 1, yes: 2 };
