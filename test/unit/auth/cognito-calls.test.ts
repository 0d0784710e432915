import { describe, expect, it } from "vitest";
import {
  cognitoCallGuard,
  CognitoCircuitOpenError,
  CognitoTimeoutError,
  isCognitoFailure,
  type CognitoCallOutcome,
  type CognitoCircuitState,
} from "../../../src/auth/cognito-calls.js";

const serverFault = () => Object.assign(new Error("Internal error"), { name: "InternalErrorException", $fault: "server" });
const clientFault = (name: string) => Object.assign(new Error(name), { name, $fault: "client" });

describe("cognitoCallGuard", () => {
  it("answers what the call answers and reports ok", async () => {
    const outcomes: CognitoCallOutcome[] = [];
    const guard = cognitoCallGuard({ onOutcome: (_operation, outcome) => outcomes.push(outcome) });
    expect(await guard.run("GetUser", async () => "answer")).toBe("answer");
    expect(outcomes).toEqual(["ok"]);
  });

  it("cuts a call off at its deadline with CognitoTimeoutError, aborting its request, even when the call ignores the abort", async () => {
    let aborted = false;
    const outcomes: string[] = [];
    const guard = cognitoCallGuard({ timeoutMs: 50, onOutcome: (operation, outcome) => outcomes.push(`${operation} ${outcome}`) });
    const never = (signal: AbortSignal) => {
      signal.addEventListener("abort", () => (aborted = true));
      return new Promise<never>(() => undefined);
    };
    await expect(guard.run("GetUser", never)).rejects.toThrow(CognitoTimeoutError);
    expect(aborted).toBe(true);
    expect(outcomes).toEqual(["GetUser timeout"]);
  });

  it("opens the circuit after breakerFailures failures in a row: the next call is not made, and one trial goes through after breakerOpenMs", async () => {
    const states: CognitoCircuitState[] = [];
    const outcomes: CognitoCallOutcome[] = [];
    const guard = cognitoCallGuard({
      breakerFailures: 3,
      breakerOpenMs: 50,
      onCircuitChange: (state) => states.push(state),
      onOutcome: (_o, outcome) => outcomes.push(outcome),
    });
    for (let i = 0; i < 3; i++)
      await expect(guard.run("GetUser", async () => Promise.reject(serverFault()))).rejects.toThrow("Internal error");
    expect(guard.state()).toBe("open");
    let called = false;
    await expect(guard.run("GetUser", async () => (called = true))).rejects.toThrow(CognitoCircuitOpenError);
    expect(called).toBe(false);
    expect(outcomes).toEqual(["failed", "failed", "failed", "short_circuited"]);
    // A bound on the wait, not a timing: the first call let through after the open period closes the circuit.
    const deadline = Date.now() + 5000;
    let answer: string | undefined;
    while (answer === undefined && Date.now() < deadline) {
      answer = await guard.run("GetUser", async () => "back").catch(() => undefined);
      if (answer === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(answer).toBe("back");
    expect(guard.state()).toBe("closed");
    expect(states).toEqual(["open", "half_open", "closed"]);
  });

  it("does not count refusals of one request (client faults) toward opening the circuit, but counts throttling", async () => {
    const guard = cognitoCallGuard({ breakerFailures: 2 });
    for (let i = 0; i < 5; i++)
      await expect(guard.run("GetUser", async () => Promise.reject(clientFault("NotAuthorizedException")))).rejects.toThrow();
    expect(guard.state()).toBe("closed");
    for (let i = 0; i < 2; i++)
      await expect(guard.run("GetUser", async () => Promise.reject(clientFault("TooManyRequestsException")))).rejects.toThrow();
    expect(guard.state()).toBe("open");
  });

  it.each([
    [serverFault(), true],
    [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
    [clientFault("UserNotFoundException"), false],
    [clientFault("NotAuthorizedException"), false],
    [clientFault("ThrottlingException"), true],
  ])("isCognitoFailure(%s) is %s", (error, expected) => {
    expect(isCognitoFailure(error)).toBe(expected);
  });
});
