import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const cognito = { COGNITO_USER_POOL_ID: "us-east-1_AbC123", COGNITO_CLIENT_ID: "client1" };
const variableOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).variable;
  }
  return "accepted";
};

describe("loadConfig", () => {
  it("defaults to dev mode on 127.0.0.1:4000, accepting access and ID tokens", () => {
    const config = loadConfig({});
    expect(config.mode).toBe("dev");
    expect(config.http).toEqual({ host: "127.0.0.1", port: 4000, shutdownTimeoutSeconds: 10 });
    expect(config.auth).toMatchObject({ tokenUse: "any", clockSkewSeconds: 30, rejectPartial: false });
    expect(config).toMatchObject({ production: false, introspection: true, sandbox: true });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads a Cognito configuration with several pools and clients", () => {
    const config = loadConfig({
      COGNITO_USER_POOL_ID: "us-east-1_AbC123, eu-west-1_Xyz9",
      COGNITO_CLIENT_ID: "a1,b2",
      COGNITO_TOKEN_USE: "id",
      COGNITO_JWKS_URI: "http://127.0.0.1:9/a.json,https://keys.example/b.json",
      AUTH_CLOCK_SKEW_SECONDS: "5",
      AUTH_REJECT_PARTIAL: "true",
      AUTH_AUDIT: "all",
      PORT: "8080",
    });
    expect(config.mode).toBe("cognito");
    expect(config.auth).toEqual({
      userPoolIds: ["us-east-1_AbC123", "eu-west-1_Xyz9"],
      clientIds: ["a1", "b2"],
      tokenUse: "id",
      jwksUris: ["http://127.0.0.1:9/a.json", "https://keys.example/b.json"],
      issuers: null,
      clockSkewSeconds: 5,
      rejectPartial: true,
      jwksRefreshSeconds: 900,
      replicaRegions: [],
      accessTokenAudiences: null,
      audit: "all",
    });
    expect(config.http).toEqual({ host: "0.0.0.0", port: 8080, shutdownTimeoutSeconds: 10 });
  });

  it("defaults to access tokens with a pool configured", () => {
    expect(loadConfig(cognito).auth.tokenUse).toBe("access");
  });

  it("turns introspection and Sandbox off in production unless enabled", () => {
    expect(loadConfig({ ...cognito, NODE_ENV: "production" })).toMatchObject({ introspection: false, sandbox: false });
    expect(loadConfig({ ...cognito, NODE_ENV: "production", GRAPHQL_INTROSPECTION: "true" })).toMatchObject({
      introspection: true,
      sandbox: false,
    });
    expect(loadConfig({ ...cognito, NODE_ENV: "production", GRAPHQL_SANDBOX: "true" })).toMatchObject({
      introspection: true,
      sandbox: true,
    });
  });

  it.each([
    ["dev mode in production", { NODE_ENV: "production" }, "COGNITO_USER_POOL_ID"],
    ["a malformed pool id", { ...cognito, COGNITO_USER_POOL_ID: "AbC123" }, "COGNITO_USER_POOL_ID"],
    ["an empty list item", { ...cognito, COGNITO_USER_POOL_ID: "us-east-1_AbC123,," }, "COGNITO_USER_POOL_ID"],
    ["a pool without a client", { COGNITO_USER_POOL_ID: "us-east-1_AbC123" }, "COGNITO_CLIENT_ID"],
    ["a client without a pool", { COGNITO_CLIENT_ID: "client1" }, "COGNITO_CLIENT_ID"],
    ["a malformed client id", { ...cognito, COGNITO_CLIENT_ID: "bad id" }, "COGNITO_CLIENT_ID"],
    ["an unknown token use", { ...cognito, COGNITO_TOKEN_USE: "refresh" }, "COGNITO_TOKEN_USE"],
    ["a key-set URL that is not http(s)", { ...cognito, COGNITO_JWKS_URI: "file:///etc/passwd" }, "COGNITO_JWKS_URI"],
    ["a key-set URL that is not a URL", { ...cognito, COGNITO_JWKS_URI: "keys" }, "COGNITO_JWKS_URI"],
    ["more key-set URLs than pools", { ...cognito, COGNITO_JWKS_URI: "http://a/1,http://a/2" }, "COGNITO_JWKS_URI"],
    ["a key-set URL in dev mode", { COGNITO_JWKS_URI: "http://a/1" }, "COGNITO_JWKS_URI"],
    ["a negative leeway", { AUTH_CLOCK_SKEW_SECONDS: "-1" }, "AUTH_CLOCK_SKEW_SECONDS"],
    ["a fractional leeway", { AUTH_CLOCK_SKEW_SECONDS: "1.5" }, "AUTH_CLOCK_SKEW_SECONDS"],
    ["a leeway over five minutes", { AUTH_CLOCK_SKEW_SECONDS: "301" }, "AUTH_CLOCK_SKEW_SECONDS"],
    ["a non-boolean flag", { AUTH_REJECT_PARTIAL: "yes" }, "AUTH_REJECT_PARTIAL"],
    ["an unknown audit setting", { AUTH_AUDIT: "everything" }, "AUTH_AUDIT"],
    ["a port out of range", { PORT: "70000" }, "PORT"],
    ["a port that is not a number", { PORT: "http" }, "PORT"],
    ["a negative shutdown bound", { SHUTDOWN_TIMEOUT_SECONDS: "-5" }, "SHUTDOWN_TIMEOUT_SECONDS"],
    ["a key-set refresh of zero", { JWKS_REFRESH_SECONDS: "0" }, "JWKS_REFRESH_SECONDS"],
    ["a key-set refresh over a day", { JWKS_REFRESH_SECONDS: "86401" }, "JWKS_REFRESH_SECONDS"],
    ["a key-set refresh that is not a number", { JWKS_REFRESH_SECONDS: "15m" }, "JWKS_REFRESH_SECONDS"],
    ["an unknown log level", { LOG_LEVEL: "verbose" }, "LOG_LEVEL"],
    ["a revocation reload of zero", { REVOCATION_RELOAD_SECONDS: "0" }, "REVOCATION_RELOAD_SECONDS"],
    ["a revocation reload over an hour", { REVOCATION_RELOAD_SECONDS: "3601" }, "REVOCATION_RELOAD_SECONDS"],
    ["REVOCATION_LISTEN that is not a boolean", { REVOCATION_LISTEN: "sometimes" }, "REVOCATION_LISTEN"],
    ["Cognito sign-out in dev mode", { REVOCATION_COGNITO_SIGN_OUT: "true" }, "REVOCATION_COGNITO_SIGN_OUT"],
    ["a refresh-token validity of zero days", { COGNITO_REFRESH_TOKEN_VALIDITY_DAYS: "0" }, "COGNITO_REFRESH_TOKEN_VALIDITY_DAYS"],
    ["a refresh-token validity over ten years", { COGNITO_REFRESH_TOKEN_VALIDITY_DAYS: "3651" }, "COGNITO_REFRESH_TOKEN_VALIDITY_DAYS"],
    ["a host with a scheme", { HOST: "http://0.0.0.0" }, "HOST"],
    ["a host with a port", { HOST: "127.0.0.1:4000" }, "HOST"],
    ["a host with a space", { HOST: "my host" }, "HOST"],
  ])("refuses %s, naming the variable", (_label, env, variable) => {
    expect(variableOf(env)).toBe(variable);
  });

  it("reads the revocation settings, with their defaults", () => {
    expect(loadConfig({}).revocation).toEqual({ reloadSeconds: 10, listen: true, cognitoSignOut: false, refreshTokenValidityDays: 30 });
    expect(
      loadConfig({
        ...cognito,
        REVOCATION_RELOAD_SECONDS: "3",
        REVOCATION_LISTEN: "false",
        REVOCATION_COGNITO_SIGN_OUT: "true",
        COGNITO_REFRESH_TOKEN_VALIDITY_DAYS: "1",
      }).revocation,
    ).toEqual({ reloadSeconds: 3, listen: false, cognitoSignOut: true, refreshTokenValidityDays: 1 });
  });

  it("reads JWKS_REFRESH_SECONDS, LOG_LEVEL and HOST, with their defaults", () => {
    expect(loadConfig({}).auth.jwksRefreshSeconds).toBe(900);
    expect(loadConfig({ JWKS_REFRESH_SECONDS: "60" }).auth.jwksRefreshSeconds).toBe(60);
    expect(loadConfig({}).logLevel).toBe("info");
    expect(loadConfig({ LOG_LEVEL: "debug" }).logLevel).toBe("debug");
    for (const host of ["::", "::1", "10.0.0.5", "localhost", "api.internal.example"])
      expect(loadConfig({ HOST: host }).http.host).toBe(host);
  });

  it("says what is wrong in the message", () => {
    expect(() => loadConfig({ PORT: "x" })).toThrow('PORT: must be a whole number from 0 to 65535, got "x"');
  });
});

describe("loadConfig: refusals of dev-only settings say what to do", () => {
  it("names what to set when dev mode meets NODE_ENV=production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(
      "COGNITO_USER_POOL_ID: is required when NODE_ENV=production: set your user pool id and COGNITO_CLIENT_ID, or unset NODE_ENV for dev mode",
    );
  });

  it("says to unset an emulator's issuer in production", () => {
    expect(() => loadConfig({ ...cognito, NODE_ENV: "production", COGNITO_ISSUER: "http://localhost:9229/local_1" })).toThrow(
      /^COGNITO_ISSUER: .*; unset it$/,
    );
  });
});

describe("loadConfig: WebSocket limits (WS_*)", () => {
  it("has bounded defaults", () => {
    expect(loadConfig({}).ws).toEqual({
      connectionInitTimeoutSeconds: 10,
      maxMessageBytes: 65_536,
      maxSubscriptionsPerConnection: 20,
      maxConnectionsPerSubject: 10,
      maxAnonymousConnections: 100,
      maxAnonymousConnectionsPerAddress: 10,
      eventRetentionSeconds: 86_400,
    });
  });

  it("reads each variable", () => {
    const env = {
      WS_CONNECTION_INIT_TIMEOUT_SECONDS: "3",
      WS_MAX_MESSAGE_BYTES: "4096",
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: "5",
      WS_MAX_CONNECTIONS_PER_SUBJECT: "2",
      WS_MAX_ANONYMOUS_CONNECTIONS: "0",
      WS_MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS: "3",
      WS_EVENT_RETENTION_SECONDS: "3600",
    };
    expect(loadConfig(env).ws).toEqual({
      connectionInitTimeoutSeconds: 3,
      maxMessageBytes: 4096,
      maxSubscriptionsPerConnection: 5,
      maxConnectionsPerSubject: 2,
      maxAnonymousConnections: 0,
      maxAnonymousConnectionsPerAddress: 3,
      eventRetentionSeconds: 3600,
    });
  });

  it.each([
    ["WS_CONNECTION_INIT_TIMEOUT_SECONDS", "0"],
    ["WS_CONNECTION_INIT_TIMEOUT_SECONDS", "301"],
    ["WS_MAX_MESSAGE_BYTES", "1023"],
    ["WS_MAX_MESSAGE_BYTES", "1mb"],
    ["WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", "0"],
    ["WS_MAX_CONNECTIONS_PER_SUBJECT", "-1"],
    ["WS_MAX_ANONYMOUS_CONNECTIONS", "100001"],
    ["WS_MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS", "many"],
    ["WS_EVENT_RETENTION_SECONDS", "59"],
  ])("refuses %s=%s, naming the variable", (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: must be a whole number`));
  });
});

describe("loadConfig: METRICS_PORT and METRICS_HOST", () => {
  it("has no metrics listener by default, and one on 127.0.0.1 with METRICS_PORT", () => {
    expect(loadConfig({}).metrics).toEqual({ port: null, host: "127.0.0.1" });
    expect(loadConfig({ METRICS_PORT: "9464" }).metrics).toEqual({ port: 9464, host: "127.0.0.1" });
    expect(loadConfig({ METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0" }).metrics).toEqual({ port: 9464, host: "0.0.0.0" });
  });

  it.each([
    [{ METRICS_PORT: "x" }, /^METRICS_PORT: must be a whole number/],
    [{ METRICS_PORT: "70000" }, /^METRICS_PORT: must be a whole number/],
    [{ METRICS_PORT: "4000" }, /^METRICS_PORT: must differ from PORT/],
    [{ METRICS_PORT: "8080", PORT: "8080" }, /^METRICS_PORT: must differ from PORT/],
    [{ METRICS_HOST: "0.0.0.0" }, /^METRICS_HOST: is set without METRICS_PORT/],
  ])("refuses %j, naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe("loadConfig: CORS_ORIGINS", () => {
  it("allows any origin outside production and none in production by default", () => {
    expect(loadConfig({}).corsOrigins).toBe("*");
    expect(loadConfig(cognito).corsOrigins).toBe("*");
    expect(loadConfig({ ...cognito, NODE_ENV: "production" }).corsOrigins).toEqual([]);
  });

  it("reads exact origins, or * alone", () => {
    const config = loadConfig({ ...cognito, NODE_ENV: "production", CORS_ORIGINS: "https://app.example.com, http://localhost:5173" });
    expect(config.corsOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
    expect(loadConfig({ ...cognito, NODE_ENV: "production", CORS_ORIGINS: "*" }).corsOrigins).toBe("*");
  });

  it.each([
    ["a trailing slash", "https://app.example.com/"],
    ["a path", "https://app.example.com/app"],
    ["a host without a scheme", "app.example.com"],
    ["a scheme other than http(s)", "ftp://app.example.com"],
    ["upper-case letters, which a browser never sends", "https://App.example.com"],
    ["a default port, which a browser never sends", "https://app.example.com:443"],
    ["* next to other origins", "*,https://app.example.com"],
    ["an empty item", "https://app.example.com,,"],
  ])("refuses an origin with %s, naming CORS_ORIGINS", (_label, value) => {
    expect(variableOf({ CORS_ORIGINS: value })).toBe("CORS_ORIGINS");
  });

  it("says what an origin looks like", () => {
    expect(() => loadConfig({ CORS_ORIGINS: "https://app.example.com/" })).toThrow(
      'CORS_ORIGINS: "https://app.example.com/" is not an origin like https://app.example.com (scheme, host and port only)',
    );
  });
});

describe("loadConfig: COGNITO_REPLICA_REGIONS and COGNITO_ACCESS_TOKEN_AUDIENCE", () => {
  it("reads replica regions and audiences, comma-separated, and defaults to none", () => {
    expect(loadConfig(cognito).auth).toMatchObject({ replicaRegions: [], accessTokenAudiences: null });
    const config = loadConfig({
      ...cognito,
      COGNITO_REPLICA_REGIONS: "us-west-2, eu-central-1",
      COGNITO_ACCESS_TOKEN_AUDIENCE: "https://orders.example.com,orders-api",
    });
    expect(config.auth).toMatchObject({
      replicaRegions: ["us-west-2", "eu-central-1"],
      accessTokenAudiences: ["https://orders.example.com", "orders-api"],
    });
  });

  it("accepts EU Sovereign Cloud pool ids and regions", () => {
    const config = loadConfig({
      COGNITO_USER_POOL_ID: "eusc-de-east-1_AbC123",
      COGNITO_CLIENT_ID: "c",
      COGNITO_REPLICA_REGIONS: "eusc-de-east-1",
    });
    expect(config.auth).toMatchObject({ userPoolIds: ["eusc-de-east-1_AbC123"], replicaRegions: ["eusc-de-east-1"] });
  });

  it.each([
    [{ ...cognito, COGNITO_REPLICA_REGIONS: "us-west" }, 'COGNITO_REPLICA_REGIONS: "us-west" is not an AWS region like us-west-2'],
    [{ ...cognito, COGNITO_REPLICA_REGIONS: "us-west-2,,eu-west-1" }, "COGNITO_REPLICA_REGIONS: has an empty item"],
    [{ COGNITO_REPLICA_REGIONS: "us-west-2" }, "COGNITO_REPLICA_REGIONS: is set without COGNITO_USER_POOL_ID"],
    [
      {
        COGNITO_USER_POOL_ID: "local_1",
        COGNITO_CLIENT_ID: "c",
        COGNITO_ISSUER: "http://localhost:9229/local_1",
        COGNITO_REPLICA_REGIONS: "us-west-2",
      },
      "COGNITO_REPLICA_REGIONS: cannot be combined with COGNITO_ISSUER",
    ],
    [
      { ...cognito, COGNITO_ACCESS_TOKEN_AUDIENCE: "has space" },
      'COGNITO_ACCESS_TOKEN_AUDIENCE: "has space" is not a resource server identifier',
    ],
    [{ ...cognito, COGNITO_ACCESS_TOKEN_AUDIENCE: "x".repeat(257) }, "COGNITO_ACCESS_TOKEN_AUDIENCE: "],
    [{ COGNITO_ACCESS_TOKEN_AUDIENCE: "orders-api" }, "COGNITO_ACCESS_TOKEN_AUDIENCE: is set without COGNITO_USER_POOL_ID"],
  ])("refuses %j with one line naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    expect(variableOf(env)).toBe(message.split(":")[0]);
  });
});

describe("loadConfig: bounds on waits and load shedding", () => {
  it("has bounded defaults", () => {
    expect(loadConfig({}).bounds).toEqual({
      cognitoTimeoutMs: 3000,
      cognitoBreakerFailures: 5,
      cognitoBreakerOpenSeconds: 30,
      poolSize: 10,
      poolTimeoutMs: 5000,
      statementTimeoutMs: 10_000,
      idleInTransactionTimeoutMs: 5000,
      maxInFlight: 500,
      maxPoolWaiting: 100,
    });
  });

  it("reads each variable", () => {
    const env = {
      COGNITO_TIMEOUT_MS: "1500",
      COGNITO_BREAKER_FAILURES: "3",
      COGNITO_BREAKER_OPEN_SECONDS: "10",
      DATABASE_POOL_SIZE: "20",
      DATABASE_POOL_TIMEOUT_MS: "800",
      DATABASE_STATEMENT_TIMEOUT_MS: "2000",
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: "1000",
      SHED_MAX_IN_FLIGHT: "50",
      SHED_MAX_POOL_WAITING: "0",
    };
    expect(loadConfig(env).bounds).toEqual({
      cognitoTimeoutMs: 1500,
      cognitoBreakerFailures: 3,
      cognitoBreakerOpenSeconds: 10,
      poolSize: 20,
      poolTimeoutMs: 800,
      statementTimeoutMs: 2000,
      idleInTransactionTimeoutMs: 1000,
      maxInFlight: 50,
      maxPoolWaiting: 0,
    });
  });

  it.each([
    ["COGNITO_TIMEOUT_MS", "99"],
    ["COGNITO_TIMEOUT_MS", "30001"],
    ["COGNITO_BREAKER_FAILURES", "0"],
    ["COGNITO_BREAKER_OPEN_SECONDS", "3601"],
    ["DATABASE_POOL_SIZE", "0"],
    ["DATABASE_POOL_TIMEOUT_MS", "5s"],
    ["DATABASE_STATEMENT_TIMEOUT_MS", "0"],
    ["DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", "-1"],
    ["SHED_MAX_IN_FLIGHT", "0"],
    ["SHED_MAX_POOL_WAITING", "1.5"],
  ])("refuses %s=%s, naming the variable", (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: must be a whole number`));
  });
});
