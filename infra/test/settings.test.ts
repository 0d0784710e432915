import { describe, expect, it } from "vitest";
import { readSettings } from "../lib/settings.ts";

const read = (context: Record<string, unknown>) => readSettings((name) => context[name]);

describe("settings", () => {
  it("has defaults for everything: the container shape, a new pool, 60-minute tokens, 30-day refresh tokens", () => {
    expect(read({})).toMatchObject({
      api: "container",
      existingPool: null,
      accessTokenMinutes: 60,
      refreshTokenDays: 30,
      refreshTokenRotationGraceSeconds: 10,
      desiredCount: 2,
    });
  });

  it("reads strings from the command line and JSON values from cdk.json alike", () => {
    expect(read({ desiredCount: "3", databaseMultiAz: "true" })).toMatchObject({ desiredCount: 3, databaseMultiAz: true });
    expect(read({ desiredCount: 3, databaseMultiAz: true, clientIds: ["a1", "b2"], userPoolId: "us-east-1_Abc" })).toMatchObject({
      desiredCount: 3,
      existingPool: { userPoolId: "us-east-1_Abc", clientIds: ["a1", "b2"] },
    });
  });

  it.each([
    [{ api: "kubernetes" }, "Setting api: must be lambda, container or both"],
    [{ userPoolId: "us-east-1_Abc" }, "Setting userPoolId: userPoolId and clientIds go together"],
    [{ clientIds: "abc" }, "Setting clientIds: userPoolId and clientIds go together"],
    [{ userPoolId: "pool", clientIds: "abc" }, 'Setting userPoolId: "pool" is not a user pool id'],
    [{ accessTokenMinutes: "2" }, "Setting accessTokenMinutes: must be a whole number from 5 to 1440"],
    [{ refreshTokenRotationGraceSeconds: "90" }, "Setting refreshTokenRotationGraceSeconds: must be a whole number from 0 to 60"],
    [{ callbackUrls: "myapp:/cb" }, 'Setting callbackUrls: "myapp:/cb" is not an http(s) URL'],
    [{ domainPrefix: "my-aws-api" }, "Setting domainPrefix:"],
    [
      { shutdownTimeoutSeconds: "30", deregistrationDelaySeconds: "30" },
      "Setting deregistrationDelaySeconds: must be at least shutdownTimeoutSeconds + 5 (35)",
    ],
    [{ certificateArn: "arn:aws:iam::1:role/x" }, "Setting certificateArn:"],
    [{ databaseMultiAz: "yes" }, 'Setting databaseMultiAz: must be true or false, got "yes"'],
  ])("refuses %j with one line naming the setting", (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
