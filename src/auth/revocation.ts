import type { Principal } from "./principal.js";

/**
 * One revocation record:
 * - `subject`: every session of `sub` that signed in before `before` (compared with the token's `auth_time`, or its
 *   `iat` when it has none: `Principal.authTime`); tokens of a later sign-in are not affected.
 * - `session`: the one sign-in session `sessionId` (Cognito's `origin_jti`) of `sub`, with all its access and ID
 *   tokens and the tokens refreshed from it. `signedInAt` (the session's `auth_time`, whole seconds; `null` when not
 *   recorded) also catches the session's tokens under another `origin_jti`: a refresh keeps the sign-in's
 *   `auth_time`, so should refresh-token rotation ever issue a new `origin_jti`, the rotated tokens of `sub` still
 *   carry this `auth_time` (docs/revoking-sessions.md#refresh-token-rotation). Another session of `sub` signed in
 *   within the same second is refused too.
 *
 * `expiresAt`: when no token it could match can still be accepted, so the record may be forgotten.
 */
export type Revocation =
  | { readonly kind: "subject"; readonly sub: string; readonly before: Date; readonly expiresAt: Date }
  | {
      readonly kind: "session";
      readonly sub: string;
      readonly sessionId: string;
      readonly signedInAt?: Date | null;
      readonly expiresAt: Date;
    };

/** What the authenticator asks of every verified token, cached or not: a map lookup, no I/O. */
export interface RevocationCheck {
  /** Whether the token that `principal` came from has been revoked. */
  isRevoked(principal: Principal): boolean;
  /**
   * Calls `listener` after each revocation this replica learns (made here, notified, or reloaded), so long-lived
   * connections (subscriptions) can check their principal again at once. Returns the function that stops it.
   */
  onRevoked(listener: () => void): () => void;
}

/**
 * The revocations a replica knows, in memory. Records are never withdrawn, only forgotten once expired, so the list
 * is the union of everything it was told (at start, on each reload, by each notification) minus what expired: a
 * reload racing a notification loses nothing, and a replica that cannot reach the database keeps refusing what it
 * knew.
 */
export class RevocationList implements RevocationCheck {
  /** sub -> the latest cut-off and when it may be forgotten, in milliseconds since the epoch. */
  private readonly subjects = new Map<string, { before: number; expiresAt: number }>();
  /** `sub` and `sessionId` joined by a NUL, which neither can contain -> when it may be forgotten. */
  private readonly sessions = new Map<string, number>();
  /** `sub` and a revoked session's sign-in second (`auth_time`) joined by a NUL -> when it may be forgotten. */
  private readonly signIns = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  isRevoked(principal: Principal): boolean {
    if (this.subjects.size > 0) {
      const subject = this.subjects.get(principal.sub);
      if (subject !== undefined && principal.authTime.getTime() < subject.before) return true;
    }
    if (this.sessions.size === 0) return false;
    if (principal.sessionId !== null && this.sessions.has(sessionKey(principal.sub, principal.sessionId))) return true;
    return this.signIns.size > 0 && this.signIns.has(signInKey(principal.sub, principal.authTime));
  }

  onRevoked(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds a few revocations (as `addAll`). */
  add(...revocations: Revocation[]): void {
    this.addAll(revocations);
  }

  /**
   * Adds revocations, any number (a loop, never a spread: a page of a million records is fine); a subject's later
   * cut-off replaces an earlier one (it revokes everything the earlier did). Tells the `onRevoked` listeners once,
   * when anything was new.
   */
  addAll(revocations: Iterable<Revocation>): void {
    let changed = false;
    for (const revocation of revocations) changed = this.addOne(revocation) || changed;
    if (!changed) return;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the others are still told.
      }
    }
  }

  private addOne(revocation: Revocation): boolean {
    const expiresAt = revocation.expiresAt.getTime();
    if (revocation.kind === "session") {
      const key = sessionKey(revocation.sub, revocation.sessionId);
      const known = this.sessions.get(key);
      this.sessions.set(key, Math.max(expiresAt, known ?? -Infinity));
      if (revocation.signedInAt) {
        const signIn = signInKey(revocation.sub, revocation.signedInAt);
        this.signIns.set(signIn, Math.max(expiresAt, this.signIns.get(signIn) ?? -Infinity));
      }
      return known === undefined;
    }
    const known = this.subjects.get(revocation.sub);
    const before = revocation.before.getTime();
    this.subjects.set(revocation.sub, {
      before: Math.max(before, known?.before ?? -Infinity),
      expiresAt: Math.max(expiresAt, known?.expiresAt ?? -Infinity),
    });
    return known === undefined || before > known.before;
  }

  /** Forgets the records that expired before `now` (milliseconds since the epoch). */
  prune(now: number): void {
    for (const [sub, subject] of this.subjects) if (subject.expiresAt <= now) this.subjects.delete(sub);
    for (const [key, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(key);
    for (const [key, expiresAt] of this.signIns) if (expiresAt <= now) this.signIns.delete(key);
  }

  /** How many subjects and sessions are revoked (metrics, tests). */
  get size(): number {
    return this.subjects.size + this.sessions.size;
  }
}

const sessionKey = (sub: string, sessionId: string) => `${sub}\u0000${sessionId}`;
/** `auth_time` is whole seconds (JWT NumericDate): the key is the second, whatever milliseconds a Date carries. */
const signInKey = (sub: string, signedInAt: Date) => `${sub}\u0000${Math.floor(signedInAt.getTime() / 1000)}`;
