import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationList, type CognitoSignOut } from "../../../src/auth/index.js";
import { openDatabase, type OpenDatabase } from "../../../src/data/database.js";
import { createLogger } from "../../../src/logger.js";
import { createRevoker } from "../../../src/revocations/revoker.js";
import { principal } from "../../helpers/principal.js";

const DAY = 86_400;

describe("the revoker", () => {
  let database: OpenDatabase;
  beforeAll(async () => {
    database = await openDatabase({ url: null, pgliteDir: null });
  });
  afterAll(async () => {
    await database?.close();
  });

  function revokerWith(cognito: CognitoSignOut | null) {
    const logs: Record<string, any>[] = [];
    const list = new RevocationList();
    // The product's logger, as main.ts makes it in production.
    const logger = createLogger(true, "info", { write: (line: string) => void logs.push(JSON.parse(line)) });
    const revoker = createRevoker({ list, refreshTokenValiditySeconds: 30 * DAY, clockSkewSeconds: 30, cognito, logger });
    return { revoker, list, logs };
  }

  it("still revokes when Cognito's sign-out fails: cognitoSignedOut false, a warning, and the record kept for the refresh tokens' validity", async () => {
    const failing: CognitoSignOut = {
      signOut: async () => Promise.reject(Object.assign(new Error("Rate exceeded"), { name: "TooManyRequestsException" })),
    };
    const { revoker, list, logs } = revokerWith(failing);
    const request = { sub: "sub-cognito-down", isUser: true, revokedBy: "sub-cognito-down", requestId: "r1" };
    const cognitoSignedOut = await revoker.signOutInCognito(request);
    const row = await revoker.revoke(database.db, { ...request, cognitoSignedOut }, (action) => action());
    expect(row.cognitoSignedOut).toBe(false);
    expect((row.expiresAt.getTime() - row.revokedBefore!.getTime()) / 1000).toBe(30 * DAY + DAY + 30);
    expect(list.isRevoked(principal({ sub: "sub-cognito-down", authTime: new Date(Date.now() - 60_000) }))).toBe(true);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        event: "revocation.cognito_failed",
        requestId: "r1",
        err: { type: "TooManyRequestsException", message: "Rate exceeded" },
      }),
    );
  });

  it("keeps a record a day plus the leeway once Cognito ended the refresh tokens, and never asks Cognito for a machine client or one session", async () => {
    const asked: string[] = [];
    const cognito: CognitoSignOut = { signOut: async (user) => (asked.push(user.sub), true) };
    const { revoker } = revokerWith(cognito);
    // As the resolvers do: Cognito first (before the operation's transaction), then the record with its answer.
    const revoke = async (request: Parameters<typeof revoker.signOutInCognito>[0]) =>
      revoker.revoke(database.db, { ...request, cognitoSignedOut: await revoker.signOutInCognito(request) }, (action) => action());
    const person = await revoke({ sub: "sub-person", isUser: true, revokedBy: "admin" });
    expect(person.cognitoSignedOut).toBe(true);
    expect((person.expiresAt.getTime() - person.revokedBefore!.getTime()) / 1000).toBe(DAY + 30);
    expect((await revoke({ sub: "machine", isUser: false, revokedBy: "machine" })).cognitoSignedOut).toBe(false);
    expect((await revoke({ sub: "sub-person", sessionId: "s1", isUser: true, revokedBy: "sub-person" })).cognitoSignedOut).toBe(false);
    expect(asked).toEqual(["sub-person"]);
  });

  it("adds to the list only when the caller's afterCommit runs the action (never for a rolled-back operation)", async () => {
    const { revoker, list } = revokerWith(null);
    await revoker.revoke(database.db, { sub: "sub-rolled-back", isUser: true, revokedBy: "x", cognitoSignedOut: false }, () => undefined);
    expect(list.size).toBe(0);
  });
});
