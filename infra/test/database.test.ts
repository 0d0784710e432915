import { describe, expect, it } from "vitest";
import { apiFunction, fixtureBundle, only, synth } from "./synth.ts";

describe("the database", () => {
  const template = synth({ api: "both", lambdaBundle: fixtureBundle() });
  const db = only(template, "AWS::RDS::DBInstance").properties as Record<string, any>;

  it("is PostgreSQL, encrypted and not publicly accessible", () => {
    expect(db).toMatchObject({
      Engine: "postgres",
      PubliclyAccessible: false,
      StorageEncrypted: true,
      DBName: "orders",
      DBInstanceClass: "db.t4g.micro",
      Port: "5432",
    });
    expect(String(db.EngineVersion)).toMatch(/^17\./);
  });

  it("lives in the isolated subnets, which have no route to the internet", () => {
    const group = only(template, "AWS::RDS::DBSubnetGroup").properties as { SubnetIds: Array<{ Ref: string }> };
    expect(group.SubnetIds.map((s) => s.Ref).sort()).toEqual([
      expect.stringMatching(/^VpcdataSubnet1/),
      expect.stringMatching(/^VpcdataSubnet2/),
    ]);
    const routes = Object.values(template.findResources("AWS::EC2::Route")).map((r) =>
      JSON.stringify((r as { Properties: unknown }).Properties),
    );
    expect(routes.filter((route) => route.includes("dataSubnet"))).toEqual([]);
  });

  it("accepts connections on 5432 only from the API's security groups", () => {
    const ingress = Object.values(template.findResources("AWS::EC2::SecurityGroupIngress"))
      .map((r) => (r as { Properties: Record<string, any> }).Properties)
      .filter((rule) => JSON.stringify(rule.GroupId).includes("DatabaseInstance"));
    expect(ingress).toHaveLength(2);
    for (const rule of ingress) {
      // The instance's own port (5432, set on the instance), as CloudFormation reports it.
      const port = { "Fn::GetAtt": [expect.stringMatching(/^DatabaseInstance/), "Endpoint.Port"] };
      expect(rule).toMatchObject({ IpProtocol: "tcp", FromPort: port, ToPort: port });
      expect(rule.CidrIp).toBeUndefined();
      expect(JSON.stringify(rule.SourceSecurityGroupId)).toMatch(/LambdaApiHandlerSecurityGroup|ContainerApiServiceSecurityGroup/);
    }
  });
});

describe("secrets", () => {
  const template = synth({ api: "both", lambdaBundle: fixtureBundle() });
  const json = JSON.stringify(template.toJSON());

  it("generates the database password in Secrets Manager: the template holds no secret value", () => {
    const secret = only(template, "AWS::SecretsManager::Secret").properties as Record<string, any>;
    expect(secret.SecretString).toBeUndefined();
    expect(JSON.parse(secret.GenerateSecretString.SecretStringTemplate)).toEqual({ username: "orders_api", sslmode: "verify-full" });
    expect(secret.GenerateSecretString.GenerateStringKey).toBe("password");
    const db = only(template, "AWS::RDS::DBInstance").properties as Record<string, any>;
    // Resolved by CloudFormation at deploy time, never written into the template.
    expect(JSON.stringify(db.MasterUserPassword)).toMatch(/\{\{resolve:secretsmanager:.*:SecretString:password::\}\}/);
    expect(json).not.toMatch(/"(SecretString|Password|MasterUserPassword)":"[^{]/);
  });

  it("gives the API the secret's ARN, never a password or a connection URL, and lets only the API read it", () => {
    const fn = apiFunction(template);
    const task = only(template, "AWS::ECS::TaskDefinition").properties as Record<string, any>;
    const names = [
      ...Object.keys(fn.Environment.Variables),
      ...task.ContainerDefinitions[0].Environment.map((e: { Name: string }) => e.Name),
    ];
    expect(names).toContain("DATABASE_SECRET_ARN");
    expect(names.filter((name) => /PASSWORD|DATABASE_URL|SECRET(?!_ARN)/.test(name))).toEqual([]);
    const readers = Object.values(template.findResources("AWS::IAM::Policy"))
      .map((r) => (r as { Properties: Record<string, any> }).Properties)
      .filter((policy) => JSON.stringify(policy.PolicyDocument).includes("secretsmanager:GetSecretValue"));
    expect(readers.map((policy) => JSON.stringify(policy.Roles)).sort()).toEqual([
      expect.stringMatching(/ContainerApiServiceTaskDefTaskRole/),
      expect.stringMatching(/LambdaApiHandlerServiceRole/),
    ]);
  });
});
