import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { apiFunction, fixtureBundle, only, synth, synthesize } from "./synth.ts";

/** The environment of the one container or function of a template, as a name -> value map. */
function containerEnvironment(properties: Record<string, unknown>): Record<string, unknown> {
  const [container] = properties.ContainerDefinitions as Array<{ Environment: Array<{ Name: string; Value: unknown }> }>;
  return Object.fromEntries(container!.Environment.map(({ Name, Value }) => [Name, Value]));
}

describe("the Lambda shape", () => {
  const bundle = fixtureBundle();
  const { template, outdir } = synthesize({ api: "lambda", lambdaBundle: bundle });
  const fn = apiFunction(template);

  it("runs the build:lambda bundle on nodejs24.x with the index.handler entry", () => {
    expect(fn).toMatchObject({ Runtime: "nodejs24.x", Handler: "index.handler", Timeout: 29 });
    // The code is the bundle folder, staged as it is: the S3 key names the staged copy in the cloud assembly.
    const key = String(fn.Code.S3Key);
    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    const staged = join(outdir, `asset.${key.replace(/\.zip$/, "")}`);
    expect(readdirSync(staged)).toEqual(readdirSync(bundle));
    expect(readFileSync(join(staged, "index.mjs"), "utf8")).toBe(readFileSync(join(bundle, "index.mjs"), "utf8"));
  });

  it("is behind an HTTP API with payload format 2.0, in the private subnets", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Api", 1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Integration", { IntegrationType: "AWS_PROXY", PayloadFormatVersion: "2.0" });
    expect(fn.VpcConfig.SubnetIds).toHaveLength(2);
    expect(JSON.stringify(fn.VpcConfig.SubnetIds)).toMatch(/appSubnet/);
  });

  it("is configured from the stack: production, the pool and its clients, the database secret's ARN", () => {
    const env = fn.Environment.Variables;
    expect(env).toMatchObject({
      NODE_ENV: "production",
      COGNITO_TOKEN_USE: "access",
      NODE_EXTRA_CA_CERTS: "/var/runtime/ca-cert.pem",
      COGNITO_REFRESH_TOKEN_VALIDITY_DAYS: "30",
    });
    expect(env.COGNITO_USER_POOL_ID).toEqual({ Ref: expect.stringMatching(/^AuthPool/) });
    expect(JSON.stringify(env.COGNITO_CLIENT_ID)).toMatch(/AuthPoolPublicClient.*AuthPoolMachineClient/);
    expect(env.DATABASE_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^DatabaseLoginAttachment/) });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it("refuses to synthesize without the bundle, saying what to run", () => {
    expect(() => synth({ api: "lambda", lambdaBundle: join(bundle, "missing") })).toThrow(
      /index\.mjs does not exist; run npm run build:lambda first/,
    );
  });

  it("has no container service", () => {
    template.resourceCountIs("AWS::ECS::Service", 0);
    template.resourceCountIs("AWS::ElasticLoadBalancingV2::LoadBalancer", 0);
  });
});

describe("the container shape", () => {
  const template = synth({ api: "container" });
  const task = only(template, "AWS::ECS::TaskDefinition").properties as Record<string, any>;
  const container = task.ContainerDefinitions[0];
  const env = containerEnvironment(task);

  it("runs several tasks on Fargate in the private subnets behind a public load balancer", () => {
    template.hasResourceProperties("AWS::ECS::Service", {
      LaunchType: "FARGATE",
      DesiredCount: 2,
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: "DISABLED" }) },
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", { Scheme: "internet-facing" });
    expect(container.PortMappings).toEqual([{ ContainerPort: 4000, Protocol: "tcp" }]);
  });

  it("sends traffic only to ready tasks: the target group checks /readyz", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/readyz",
      Matcher: { HttpCode: "200" },
      Port: 80,
      Protocol: "HTTP",
      TargetType: "ip",
    });
    expect(container.HealthCheck.Command.join(" ")).toContain("/healthz");
  });

  it("drains within the deregistration delay, and SIGKILL waits for the server's own bound", () => {
    const tg = only(template, "AWS::ElasticLoadBalancingV2::TargetGroup").properties as {
      TargetGroupAttributes: Array<{ Key: string; Value: string }>;
    };
    const delay = Number(tg.TargetGroupAttributes.find((a) => a.Key === "deregistration_delay.timeout_seconds")!.Value);
    const shutdown = Number(env.SHUTDOWN_TIMEOUT_SECONDS);
    expect(shutdown).toBe(10);
    // The server exits within SHUTDOWN_TIMEOUT_SECONDS + 5 s (docs/deploying.md, "Shutdown").
    expect(delay).toBeGreaterThanOrEqual(shutdown + 5);
    expect(container.StopTimeout).toBeGreaterThanOrEqual(shutdown + 5);
    expect(container.StopTimeout).toBeLessThanOrEqual(120);
  });

  it("is configured from the stack: production, metrics on their own port, the pool, the database secret's ARN", () => {
    expect(env).toMatchObject({ NODE_ENV: "production", METRICS_PORT: "9464", PORT: "4000", HOST: "0.0.0.0", COGNITO_TOKEN_USE: "access" });
    expect(env.COGNITO_USER_POOL_ID).toEqual({ Ref: expect.stringMatching(/^AuthPool/) });
    expect(env.DATABASE_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^DatabaseLoginAttachment/) });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(container.Secrets).toBeUndefined();
  });

  it("builds its image from the repository's Dockerfile", () => {
    expect(JSON.stringify(container.Image)).toMatch(/cdk-hnb659fds-container-assets/);
  });

  it("uses HTTPS with a certificate, redirecting HTTP", () => {
    const https = synth({ certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0f8e3c55-1111-2222-3333-444455556666" });
    https.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", { Protocol: "HTTPS", Port: 443 });
    https.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Protocol: "HTTP",
      DefaultActions: [Match.objectLike({ Type: "redirect" })],
    });
  });
});

describe("both shapes", () => {
  it("share one user pool and one database", () => {
    const template = synth({ api: "both", lambdaBundle: fixtureBundle() });
    expect(apiFunction(template).Runtime).toBe("nodejs24.x");
    template.resourceCountIs("AWS::ECS::Service", 1);
    template.resourceCountIs("AWS::Cognito::UserPool", 1);
    template.resourceCountIs("AWS::RDS::DBInstance", 1);
  });
});
