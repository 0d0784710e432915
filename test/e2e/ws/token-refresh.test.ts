import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { openSocket } from "../../helpers/ws.js";

const expOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp as number;

describe("token refresh on an open connection (a ping with Authorization)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ AUTH_CLOCK_SKEW_SECONDS: "0" });
  });
  afterAll(() => app?.close());

  it("moves the connection's expiry to the new token's: the socket outlives the old token and keeps delivering", async () => {
    const first = app.devIssuer!.mint({ ...PERSONAS.alice, expiresInSeconds: 2 });
    const socket = await openSocket(app.wsUrl);
    await socket.init({ Authorization: `Bearer ${first}` });
    // A witness holding only the first token: the server closes it with 4401 once it takes that token for expired.
    const witness = await openSocket(app.wsUrl);
    witness.send({ type: "connection_init", payload: { Authorization: `Bearer ${first}` } });
    socket.subscribe("1", "subscription { myOrderEvents { kind order { id } } }");
    const fresh = app.devIssuer!.mint({ ...PERSONAS.alice, expiresInSeconds: 600 });
    socket.send({ type: "ping", payload: { Authorization: `Bearer ${fresh}` } });
    const pong = await socket.waitFor((m) => m.type === "pong");
    // The new expiry, never the token back.
    expect(pong.payload).toEqual({ expiresAt: expOf(fresh) });
    await app.waitForSubscribers(1);
    // Wait until the server takes the first token for expired (no leeway), then use the socket.
    expect(await witness.closed).toEqual({ code: 4401, reason: expect.stringMatching(/^(Token expired|Invalid token: TOKEN_EXPIRED)$/) });
    const placed = await app.graphql(
      `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
      {
        headers: bearer(fresh),
      },
    );
    const id = placed.body.data.placeOrder.id;
    await socket.waitFor((m) => m.type === "next" && m.payload.data.myOrderEvents.order.id === id);
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
    // An ordinary ping is still answered with its own payload.
    socket.send({ type: "ping", payload: { n: 1 } });
    expect((await socket.waitFor((m) => m.type === "pong" && m.payload?.n === 1)).payload).toEqual({ n: 1 });
    socket.close();
  });

  it("closes with 4401 for a token of another subject; an anonymous connection never gets to hand one", async () => {
    const socket = await openSocket(app.wsUrl);
    await socket.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.alice)}` });
    socket.send({ type: "ping", payload: { authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.bob)}` } });
    expect(await socket.closed).toEqual({ code: 4401, reason: "Token is for another subject" });
    // The shop has no @public Subscription field: an anonymous socket is closed at connection_init (#23), before
    // it could send a token in a ping.
    const anonymous = await openSocket(app.wsUrl);
    anonymous.send({ type: "connection_init" });
    expect(await anonymous.closed).toEqual({ code: 4401, reason: "Authentication required" });
  });

  it("closes with 4401 and the reason code for an expired or forged token, with 4400 for a malformed Authorization", async () => {
    const expired = await openSocket(app.wsUrl);
    await expired.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.alice)}` });
    expired.send({
      type: "ping",
      payload: {
        Authorization: `Bearer ${app.devIssuer!.mint({ ...PERSONAS.alice, issuedAt: Math.floor(Date.now() / 1000) - 3600, expiresInSeconds: 60 })}`,
      },
    });
    expect(await expired.closed).toEqual({ code: 4401, reason: "Invalid token: TOKEN_EXPIRED" });
    const forged = await openSocket(app.wsUrl);
    await forged.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.alice)}` });
    const token = app.devIssuer!.mint(PERSONAS.alice);
    forged.send({ type: "ping", payload: { Authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    expect((await forged.closed).code).toBe(4401);
    const malformed = await openSocket(app.wsUrl);
    await malformed.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.alice)}` });
    malformed.send({ type: "ping", payload: { Authorization: "Basic abc" } });
    expect(await malformed.closed).toEqual({ code: 4400, reason: "Bad request" });
  });

  it("closes with 4401 TOKEN_REVOKED for a token of a revoked session, the connection's own session being live", async () => {
    const socket = await openSocket(app.wsUrl);
    // The socket's session signed in a minute earlier: one signed in within the same second as the revoked one would
    // be refused with it (docs/revoking-sessions.md#refresh-token-rotation).
    const ownSession = app.devIssuer!.mint({ ...PERSONAS.bob, issuedAt: Math.floor(Date.now() / 1000) - 60 });
    await socket.init({ Authorization: `Bearer ${ownSession}` });
    // Another session of bob's, signed out (one session: its origin_jti), then offered to the open socket.
    const other = app.devIssuer!.mint(PERSONAS.bob);
    const signedOut = await app.graphql("mutation { signOut { sessionId } }", { headers: bearer(other) });
    expect(signedOut.body.errors, signedOut.text).toBeUndefined();
    socket.send({ type: "ping", payload: { Authorization: `Bearer ${other}` } });
    expect(await socket.closed).toEqual({ code: 4401, reason: "Invalid token: TOKEN_REVOKED" });
  });
});
