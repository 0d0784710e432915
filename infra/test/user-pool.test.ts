import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { synth } from "./synth.ts";

describe("the user pool", () => {
  const template = synth();
  const clients = Object.values(template.findResources("AWS::Cognito::UserPoolClient")).map(
    (r) => (r as { Properties: Record<string, unknown> }).Properties,
  );
  const publicClient = clients.find((c) => c.GenerateSecret !== true)!;
  const machineClient = clients.find((c) => c.GenerateSecret === true)!;

  it("has the groups the rules name: admin, staff and support", () => {
    const groups = Object.values(template.findResources("AWS::Cognito::UserPoolGroup")).map(
      (r) => (r as { Properties: { GroupName: string } }).Properties.GroupName,
    );
    expect(groups.sort()).toEqual(["admin", "staff", "support"]);
  });

  it("has the orders resource server with the read and write scopes", () => {
    template.hasResourceProperties("AWS::Cognito::UserPoolResourceServer", {
      Identifier: "orders",
      Scopes: [Match.objectLike({ ScopeName: "read" }), Match.objectLike({ ScopeName: "write" })],
    });
  });

  it("gives the public client the authorization code grant (PKCE: no secret), revocation, rotation and the token lifetimes", () => {
    expect(clients).toHaveLength(2);
    expect(publicClient).toMatchObject({
      AllowedOAuthFlows: ["code"],
      AllowedOAuthFlowsUserPoolClient: true,
      EnableTokenRevocation: true,
      RefreshTokenRotation: { Feature: "ENABLED", RetryGracePeriodSeconds: 10 },
      AccessTokenValidity: 60,
      IdTokenValidity: 60,
      RefreshTokenValidity: 43200,
      TokenValidityUnits: { AccessToken: "minutes", IdToken: "minutes", RefreshToken: "minutes" },
      CallbackURLs: ["http://localhost:3000/callback"],
    });
    expect(publicClient.GenerateSecret).not.toBe(true);
    // Cognito refuses REFRESH_TOKEN_AUTH on a client that rotates refresh tokens.
    expect(publicClient.ExplicitAuthFlows).toEqual(["ALLOW_USER_SRP_AUTH"]);
  });

  it("gives people no orders/* scope (scope:orders/read reads every order): they get access through groups", () => {
    expect(publicClient.AllowedOAuthScopes).toEqual(["openid", "email", "profile"]);
  });

  it("gives the machine client the client-credentials grant with orders/read and orders/write", () => {
    expect(machineClient).toMatchObject({ AllowedOAuthFlows: ["client_credentials"], EnableTokenRevocation: true });
    const scopes = JSON.stringify(machineClient.AllowedOAuthScopes);
    expect(scopes).toMatch(/"\/read"\]/);
    expect(scopes).toMatch(/"\/write"\]/);
    expect(machineClient.AllowedOAuthScopes).toHaveLength(2);
  });

  it("takes the token lifetimes and the rotation from the settings, and allows REFRESH_TOKEN_AUTH without rotation", () => {
    const custom = synth({
      accessTokenMinutes: "15",
      refreshTokenDays: "7",
      refreshTokenRotationGraceSeconds: "off",
      allowPasswordAuth: "true",
    });
    custom.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      AllowedOAuthFlows: ["code"],
      AccessTokenValidity: 15,
      RefreshTokenValidity: 7 * 24 * 60,
      RefreshTokenRotation: Match.absent(),
      ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    });
  });

  it("has a Cognito domain for the token endpoint", () => {
    template.resourceCountIs("AWS::Cognito::UserPoolDomain", 1);
    template.hasOutput("TokenEndpoint", {});
  });

  it("creates no Cognito resources with an existing pool, and configures the API with its ids", () => {
    const existing = synth({ userPoolId: "eu-west-1_Existing1", clientIds: "abc123,def456" });
    for (const type of ["AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"])
      existing.resourceCountIs(type, 0);
    existing.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: "COGNITO_USER_POOL_ID", Value: "eu-west-1_Existing1" },
            { Name: "COGNITO_CLIENT_ID", Value: "abc123,def456" },
          ]),
        }),
      ],
    });
  });
});
