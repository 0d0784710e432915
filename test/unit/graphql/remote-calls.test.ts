import { parse, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { RemoteCallInTransactionError, RemoteCalls, runRemoteSteps, type RemoteSteps } from "../../../src/graphql/remote-calls.js";
import { REMOTE_STEPS } from "../../../src/graphql/remote-steps.js";
import { buildSchema } from "../../../src/graphql/schema.js";

const schema = buildSchema();

/** Runs recording steps for `source`; answers the steps called, as `field args`. */
async function stepsCalled(source: string, variables?: Record<string, unknown>): Promise<string[]> {
  const called: string[] = [];
  const record = (name: string) => async (args: Record<string, unknown>) => void called.push(`${name} ${JSON.stringify(args)}`);
  const steps: RemoteSteps<unknown> = {
    placeOrder: record("placeOrder"),
    revokeSessions: record("revokeSessions"),
    signOutEverywhere: record("signOutEverywhere"),
  };
  const document = parse(source);
  const operation = document.definitions.find((d) => d.kind === "OperationDefinition") as OperationDefinitionNode;
  await runRemoteSteps(steps, { schema, document, operation, variables, context: {} });
  return called.sort();
}

describe("RemoteCalls", () => {
  it("makes each call once per key, and after seal() answers made calls and refuses new ones", async () => {
    const remote = new RemoteCalls();
    let made = 0;
    const call = async () => ++made;
    expect(await remote.call("email", call)).toBe(1);
    expect(await remote.call("email", call)).toBe(1);
    remote.seal();
    expect(await remote.call("email", call)).toBe(1);
    await expect(remote.call("sign-out", call)).rejects.toThrow(RemoteCallInTransactionError);
    expect(made).toBe(1);
  });
});

describe("runRemoteSteps", () => {
  it("runs the step of each selected root field with its coerced arguments, through aliases and fragments", async () => {
    const called = await stepsCalled(
      `mutation M($sub: ID!) {
        a: revokeSessions(sub: $sub) { sub }
        ... on Mutation { b: revokeSessions(sub: "literal") { sub } }
        ...F
      }
      fragment F on Mutation { signOutEverywhere { sub } ...G }
      fragment G on Mutation { signOut { sub } }`,
      { sub: "from-variable" },
    );
    expect(called).toEqual(['revokeSessions {"sub":"from-variable"}', 'revokeSessions {"sub":"literal"}', "signOutEverywhere {}"]);
  });

  it("skips fields left out by @skip or @include, and operations that are not mutations", async () => {
    expect(
      await stepsCalled(
        `mutation M($no: Boolean!) { signOutEverywhere @include(if: $no) { sub } revokeSessions(sub: "x") @skip(if: true) { sub } }`,
        { no: false },
      ),
    ).toEqual([]);
    expect(await stepsCalled("query Q { me { sub } }")).toEqual([]);
  });

  it("skips everything when the variables do not coerce (execution refuses the operation before any resolver)", async () => {
    expect(await stepsCalled("mutation M($sub: ID!) { revokeSessions(sub: $sub) { sub } }", {})).toEqual([]);
  });

  it("declares the product's remote calls: placeOrder's email, the revocations' Cognito sign-out", () => {
    expect(Object.keys(REMOTE_STEPS).sort()).toEqual(["placeOrder", "revokeSessions", "signOutEverywhere"]);
  });
});
