import type { ShadowGuard } from "./guard.js";
import type { RequestAuth } from "./request-auth.js";
import { ownerHolds, type Requirement } from "./requirements.js";

/** The shadow side of a type or field's declaration (see `applyAuthDirectives`). */
interface ShadowDeclared {
  readonly shadowAuth: boolean;
  readonly shadowRequirements: readonly Requirement[];
}

const sameEntry = (a: Requirement, b: Requirement) => a.text === b.text && a.on === b.on;

/**
 * What a field's shadow rules add to its enforced rule: the shadow entries of its own, inherited (type, interfaces)
 * and return-type declarations that the enforced rule does not already have, and "signed in" where only a shadow rule
 * asks for it. Undefined when they add nothing (then enforcing them would change nothing either).
 */
export function shadowOf(
  parent: readonly ShadowDeclared[],
  result: readonly ShadowDeclared[],
  authenticated: boolean,
  enforced: readonly Requirement[],
): Omit<ShadowGuard, "id"> | undefined {
  const candidates = [
    ...parent.flatMap((d) => d.shadowRequirements),
    ...result.flatMap((d) => d.shadowRequirements.map((r) => ({ ...r, on: "result" as const }))),
  ];
  const requirements: Requirement[] = [];
  for (const r of candidates)
    if (!enforced.some((e) => sameEntry(e, r)) && !requirements.some((e) => sameEntry(e, r))) requirements.push(r);
  const shadowAuthenticated = !authenticated && [...parent, ...result].some((d) => d.shadowAuth);
  if (requirements.length === 0 && !shadowAuthenticated) return undefined;
  return { authenticated: shadowAuthenticated || requirements.length > 0, requirements };
}

/**
 * Evaluates a field's shadow rule, records a would-be denial (once per coordinate and request) and then runs the
 * field as the enforced rule decides: a shadow rule never refuses, never changes an answer.
 */
export function shadowed(shadow: ShadowGuard, coordinate: string, auth: RequestAuth, source: unknown, run: () => unknown): unknown {
  const decision = auth.decideShadow(shadow);
  if (decision.outcome === "deny") {
    auth.shadowDeny(coordinate, shadow, decision.missing);
    return run();
  }
  if (decision.outcome === "allow") return run();
  const pending = decision.pending;
  if (!ownerHolds(pending, "parent", source, auth.principal!)) {
    auth.shadowDeny(
      coordinate,
      shadow,
      pending.map((r) => r.text),
    );
    return run();
  }
  if (!pending.some((r) => r.on === "result")) return run();
  const check = (value: unknown) => {
    const items = Array.isArray(value) ? value.flat(Infinity) : [value];
    if (!items.every((item) => item == null || ownerHolds(pending, "result", item, auth.principal!))) {
      auth.shadowDeny(
        coordinate,
        shadow,
        pending.map((r) => r.text),
      );
    }
    return value;
  };
  // The enforced rule may refuse (throw or reject): that answer goes out unchanged.
  const value = run();
  return value instanceof Promise ? value.then(check) : check(value);
}

/**
 * Evaluates the shadow rule a union or interface member adds (see `FieldGuard.members`) on one object the field
 * resolved to, and records a would-be denial (once per coordinate and request). Never refuses.
 */
export function shadowOnResult(shadow: ShadowGuard, coordinate: string, auth: RequestAuth, item: unknown): void {
  const decision = auth.decideShadow(shadow);
  if (decision.outcome === "deny") auth.shadowDeny(coordinate, shadow, decision.missing);
  else if (decision.outcome === "owner" && !ownerHolds(decision.pending, "result", item, auth.principal!))
    auth.shadowDeny(
      coordinate,
      shadow,
      decision.pending.map((r) => r.text),
    );
}
