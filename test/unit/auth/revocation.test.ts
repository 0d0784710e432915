import { describe, expect, it } from "vitest";
import { RevocationList } from "../../../src/auth/index.js";
import { principal } from "../../helpers/principal.js";

const at = (iso: string) => new Date(iso);
const FAR = at("2100-01-01T00:00:00Z");

describe("RevocationList", () => {
  it("revokes a subject's sessions signed in before the cut-off, not at or after it, and not other subjects", () => {
    const list = new RevocationList();
    list.add({ kind: "subject", sub: "alice", before: at("2026-11-30T10:00:00Z"), expiresAt: FAR });
    expect(list.isRevoked(principal({ sub: "alice", authTime: at("2026-11-30T09:59:59Z") }))).toBe(true);
    expect(list.isRevoked(principal({ sub: "alice", authTime: at("2026-11-30T10:00:00Z") }))).toBe(false);
    expect(list.isRevoked(principal({ sub: "bob", authTime: at("2026-11-30T09:00:00Z") }))).toBe(false);
  });

  it("revokes one session of its subject only: another session, or the same session id under another sub, is not revoked", () => {
    const list = new RevocationList();
    list.add({ kind: "session", sub: "alice", sessionId: "s1", expiresAt: FAR });
    expect(list.isRevoked(principal({ sub: "alice", sessionId: "s1" }))).toBe(true);
    expect(list.isRevoked(principal({ sub: "alice", sessionId: "s2" }))).toBe(false);
    expect(list.isRevoked(principal({ sub: "alice", sessionId: null }))).toBe(false);
    expect(list.isRevoked(principal({ sub: "mallory", sessionId: "s1" }))).toBe(false);
  });

  it("revokes a session's tokens under another origin_jti by its sign-in second (refresh-token rotation), for its subject only", () => {
    const list = new RevocationList();
    const signedIn = at("2026-11-30T10:00:00.000Z");
    list.add({ kind: "session", sub: "alice", sessionId: "s1", signedInAt: signedIn, expiresAt: FAR });
    // A rotation that issued a new origin_jti: the same sign-in, the same auth_time.
    expect(list.isRevoked(principal({ sub: "alice", sessionId: "s1-rotated", authTime: at("2026-11-30T10:00:00Z") }))).toBe(true);
    expect(list.isRevoked(principal({ sub: "alice", sessionId: null, authTime: at("2026-11-30T10:00:00Z") }))).toBe(true);
    // Another sign-in (another second), or another person signed in at the same second, is not revoked.
    expect(list.isRevoked(principal({ sub: "alice", sessionId: "s2", authTime: at("2026-11-30T10:00:01Z") }))).toBe(false);
    expect(list.isRevoked(principal({ sub: "bob", sessionId: "s1-rotated", authTime: signedIn }))).toBe(false);
    list.prune(FAR.getTime());
    expect(list.isRevoked(principal({ sub: "alice", sessionId: "s1-rotated", authTime: signedIn }))).toBe(false);
  });

  it("keeps the latest cut-off of a subject whatever order the records arrive in", () => {
    const list = new RevocationList();
    list.add({ kind: "subject", sub: "alice", before: at("2026-11-30T12:00:00Z"), expiresAt: FAR });
    list.add({ kind: "subject", sub: "alice", before: at("2026-11-30T10:00:00Z"), expiresAt: FAR });
    expect(list.isRevoked(principal({ sub: "alice", authTime: at("2026-11-30T11:00:00Z") }))).toBe(true);
  });

  it("tells its listeners once per batch that held something new, and not for what it knew", () => {
    const list = new RevocationList();
    let told = 0;
    const stop = list.onRevoked(() => told++);
    const record = { kind: "session", sub: "alice", sessionId: "s1", expiresAt: FAR } as const;
    list.add(record, { kind: "subject", sub: "bob", before: at("2026-11-30T10:00:00Z"), expiresAt: FAR });
    list.add(record);
    list.add({ kind: "subject", sub: "bob", before: at("2026-11-30T09:00:00Z"), expiresAt: FAR });
    expect(told).toBe(1);
    stop();
    list.add({ kind: "session", sub: "carol", sessionId: "s9", expiresAt: FAR });
    expect(told).toBe(1);
  });

  it("forgets records once they expire, and only those", () => {
    const list = new RevocationList();
    list.add({ kind: "session", sub: "alice", sessionId: "s1", expiresAt: at("2026-11-30T10:00:00Z") });
    list.add({ kind: "subject", sub: "bob", before: at("2026-11-29T10:00:00Z"), expiresAt: at("2026-12-30T10:00:00Z") });
    list.prune(at("2026-11-30T10:00:00Z").getTime());
    expect(list.size).toBe(1);
    expect(list.isRevoked(principal({ sub: "alice", sessionId: "s1" }))).toBe(false);
    expect(list.isRevoked(principal({ sub: "bob", authTime: at("2026-11-28T10:00:00Z") }))).toBe(true);
  });
});
