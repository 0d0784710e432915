import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import httpApiFixture from "../../fixtures/http-api-v2-event.json" with { type: "json" };
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { stashEnv } from "../../helpers/env.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";
import { motoUnavailableReason, startMoto, type RunningEmulator } from "../../helpers/moto.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";

/**
 * DATABASE_SECRET_ARN end to end, as infra/ deploys the API: the login is a Secrets Manager secret in RDS's JSON
 * shape (served by moto, software nobody here wrote), the server process reads it at start through the AWS SDK,
 * opens PostgreSQL with it, migrates, and answers an authenticated request from the database.
 */
const unavailable = !TEST_DATABASE_URL ? "TEST_DATABASE_URL is not set" : motoUnavailableReason();

describe.skipIf(unavailable !== null)("a server whose database login is in Secrets Manager", () => {
  const key = generateRsaKey();
  let moto: RunningEmulator;
  let jwks: JwksServer;
  let database: ScratchDatabase;
  let secretArn: string | undefined;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    [moto, jwks, database] = await Promise.all([startMoto(), startJwksServer(jwksOf(key)), createTestDatabase(TEST_DATABASE_URL!)]);
    const url = new URL(database.url);
    const client = new SecretsManagerClient({
      endpoint: moto.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    // The shape RDS keeps for a managed login. The local server trusts loopback logins, so the password only has to
    // survive the trip (its characters need escaping in a URL).
    const login = {
      engine: "postgres",
      host: url.hostname,
      port: Number(url.port || 5432),
      username: decodeURIComponent(url.username),
      password: "p@ss:w/rd% 1",
      dbname: url.pathname.slice(1),
    };
    ({ ARN: secretArn } = await client.send(new CreateSecretCommand({ Name: "orders-api/db", SecretString: JSON.stringify(login) })));
    client.destroy();
  });

  afterAll(async () => {
    for (const server of servers) server.kill();
    await Promise.all(servers.map((server) => server.exited));
    await Promise.all([moto?.stop(), jwks?.close(), database?.drop()]);
  });

  const env = () => ({
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    COGNITO_USER_POOL_ID: TEST_POOL_ID,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    COGNITO_JWKS_URI: jwks.url,
    DATABASE_SECRET_ARN: secretArn!,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_EC2_METADATA_DISABLED: "true",
    LOG_LEVEL: "info",
  });

  it("starts on the secret's database and answers an authenticated request from it", async () => {
    expect(secretArn).toMatch(/^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:orders-api\/db-/);
    const server = startServerProcess(env());
    servers.push(server);
    const url = await server.url();
    // Migrated at start: the tables are in the database the secret names.
    const check = new pg.Client({ connectionString: database.url });
    await check.connect();
    const { rows } = await check.query("select count(*)::int as n from information_schema.tables where table_name = 'products'");
    await check.end();
    expect(rows[0].n).toBe(1);

    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${signToken(key, accessClaims({ sub: "secret-reader" }))}` },
      body: JSON.stringify({ query: "{ me { sub kind } products(first: 1) { edges { node { id } } } }" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { me: { sub: "secret-reader", kind: "USER" }, products: { edges: [] } } });
    const ready = await fetch(url.replace(/\/graphql$/, "/readyz"));
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { database: true } });
    // The password never reaches the logs.
    expect(server.output()).not.toContain("p@ss");
  });

  it("is read by the Lambda handler at its cold start too", async () => {
    const vars = env();
    const restore = stashEnv([...Object.keys(vars), "DATABASE_URL", "DATA_DIR"]);
    let lambda: typeof import("../../../src/lambda.js") | undefined;
    try {
      Object.assign(process.env, { ...vars, LOG_LEVEL: "silent" });
      delete process.env.DATABASE_URL;
      vi.resetModules();
      lambda = await import("../../../src/lambda.js");
      const body = JSON.stringify({ query: "{ me { sub } products(first: 1) { edges { node { id } } } }" });
      const fixture = structuredClone(httpApiFixture) as unknown as APIGatewayProxyEventV2;
      const event = {
        ...fixture,
        body,
        headers: {
          ...fixture.headers,
          "content-length": String(body.length),
          authorization: `Bearer ${signToken(key, accessClaims({ sub: "lambda-user" }))}`,
        },
      };
      const result = await lambda.handler(event, { awsRequestId: "secret-test" } as Context);
      expect(JSON.parse(result.body!)).toEqual({ data: { me: { sub: "lambda-user" }, products: { edges: [] } } });
      expect((await lambda.lambdaInstance()).config.databaseUrl).toMatch(/^postgres:\/\/postgres:p%40ss%3Aw%2Frd%25%201@/);
    } finally {
      await (await lambda?.lambdaInstance().catch(() => undefined))?.database.close();
      restore();
    }
  });

  /** Runs src/main.ts with `env()` and these overrides until it exits; returns its code and output. */
  async function failedStart(overrides: Record<string, string>): Promise<{ code: number; output: string }> {
    try {
      await promisify(execFile)(process.execPath, ["--import", "tsx", "src/main.ts"], {
        env: { PATH: process.env.PATH, PORT: "0", ...env(), ...overrides },
        timeout: 120_000,
      });
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, output: (failed.stdout + failed.stderr).trim() };
    }
    throw new Error("the server started");
  }

  it("refuses to start with one line when the secret does not exist", async () => {
    const missing = secretArn!.replace(/orders-api\/db-\w+$/, "orders-api/none-AbCdEf");
    const { code, output } = await failedStart({ DATABASE_SECRET_ARN: missing });
    expect(code).toBe(1);
    expect(output).toMatch(
      /^Cannot start: DATABASE_SECRET_ARN: cannot read arn:aws:secretsmanager:eu-west-1:\d{12}:secret:orders-api\/none-AbCdEf \(ResourceNotFoundException: [^\n]*\); check the ARN, that this role may call secretsmanager:GetSecretValue on it, and that Secrets Manager is reachable$/,
    );
  });

  it("refuses to start with one line when the secret holds no login, without quoting it", async () => {
    const client = new SecretsManagerClient({
      endpoint: moto.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const { ARN } = await client.send(
      new CreateSecretCommand({ Name: "orders-api/not-a-login", SecretString: '{"user":"orders","pass":"hunter2"}' }),
    );
    client.destroy();
    const { code, output } = await failedStart({ DATABASE_SECRET_ARN: ARN! });
    expect(code).toBe(1);
    expect(output).toBe(
      `Cannot start: DATABASE_SECRET_ARN: ${ARN}: its JSON has no "host"; store the PostgreSQL login in it as RDS's JSON (username, password, host, port, dbname) or a postgres:// URL`,
    );
  });
});
