import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { connectionUrlOf, DatabaseSecretError, withDatabaseSecret } from "../../../src/data/database-secret.js";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-db-AbCdEf";
const production = { NODE_ENV: "production", COGNITO_USER_POOL_ID: "eu-west-1_Pool1", COGNITO_CLIENT_ID: "client1" };

describe("connectionUrlOf", () => {
  it("turns RDS's JSON into a URL, escaping the login and keeping sslmode", () => {
    const url = connectionUrlOf(
      JSON.stringify({
        username: "orders api",
        password: "p@ss:w/rd%",
        host: "db.example.internal",
        port: 5433,
        dbname: "orders",
        engine: "postgres",
        sslmode: "verify-full",
      }),
    );
    expect(url).toBe("postgres://orders%20api:p%40ss%3Aw%2Frd%25@db.example.internal:5433/orders?sslmode=verify-full");
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.password)).toBe("p@ss:w/rd%");
  });

  it("defaults the port to 5432 and the database to postgres", () => {
    expect(connectionUrlOf('{"username":"u","password":"p","host":"10.0.0.5"}')).toBe("postgres://u:p@10.0.0.5:5432/postgres");
  });

  it("takes a postgres:// URL as it is", () => {
    expect(connectionUrlOf(" postgresql://u:p@h:5432/d?sslmode=require\n")).toBe("postgresql://u:p@h:5432/d?sslmode=require");
  });

  it.each([
    ["not json", "neither JSON"],
    ["[1]", "not a JSON object"],
    ['{"username":"u","password":"p"}', 'no "host"'],
    ['{"username":"u","host":"h"}', 'no "password"'],
    ['{"username":"u","password":"p","host":"h","port":"x"}', '"port" is not a port number'],
    ['{"username":"u","password":"p","host":"h","sslmode":"always"}', '"sslmode" must be one of'],
  ])("refuses %s, naming what is wrong and never the value", (value, message) => {
    const error = (() => {
      try {
        connectionUrlOf(value);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error("accepted");
    })();
    expect(error).toBeInstanceOf(DatabaseSecretError);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('"p"');
  });
});

describe("DATABASE_SECRET_ARN", () => {
  it("is read into the configuration", () => {
    expect(loadConfig({ ...production, DATABASE_SECRET_ARN: ARN })).toMatchObject({ databaseSecretArn: ARN, databaseUrl: null });
    expect(loadConfig(production).databaseSecretArn).toBeNull();
  });

  it("is exclusive with DATABASE_URL", () => {
    expect(() => loadConfig({ ...production, DATABASE_SECRET_ARN: ARN, DATABASE_URL: "postgres://h/d" })).toThrow(
      "DATABASE_SECRET_ARN: is set together with DATABASE_URL; set one of them",
    );
  });

  it("must be a Secrets Manager ARN", () => {
    expect(() => loadConfig({ ...production, DATABASE_SECRET_ARN: "orders-db" })).toThrow(
      'DATABASE_SECRET_ARN: "orders-db" is not a Secrets Manager secret ARN',
    );
    expect(() => loadConfig({ ...production, DATABASE_SECRET_ARN: "arn:aws:ssm:eu-west-1:123456789012:parameter/db" })).toThrow(
      "is not a Secrets Manager secret ARN",
    );
  });

  it("leaves a configuration without it as it is", async () => {
    const config = loadConfig(production);
    expect(await withDatabaseSecret(config)).toBe(config);
  });
});
