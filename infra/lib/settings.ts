/**
 * The deployment's settings, read once from CDK context (`cdk.json`'s `context`, or `-c name=value` on the
 * command line) and checked: a bad value stops the synthesis with one line naming the setting.
 */

/** Which shape of the API to deploy. */
export type ApiShape = "lambda" | "container" | "both";

export interface Settings {
  /**
   * `lambda`: the `npm run build:lambda` bundle behind an API Gateway HTTP API (queries and mutations only);
   * `container`: the server on ECS Fargate behind an Application Load Balancer (everything, subscriptions too);
   * `both`: the two, on one user pool and one database. Context `api`. @default "container"
   */
  readonly api: ApiShape;
  /**
   * An existing user pool instead of a new one (context `userPoolId` and `clientIds`, both or neither): the
   * stack then creates no Cognito resources and wires these ids into the API. `null`: a new pool.
   */
  readonly existingPool: { readonly userPoolId: string; readonly clientIds: readonly string[] } | null;
  /** Prefix of the pool's Cognito domain (`<prefix>.auth.<region>.amazoncognito.com`). @default "orders-api-<account id>" */
  readonly domainPrefix: string | null;
  /** The public client's sign-in callback URLs (context `callbackUrls`, comma-separated). @default ["http://localhost:3000/callback"] */
  readonly callbackUrls: readonly string[];
  /** The public client's sign-out URLs (context `logoutUrls`, comma-separated). @default ["http://localhost:3000/"] */
  readonly logoutUrls: readonly string[];
  /** Access token lifetime in minutes, 5 to 1440 (context `accessTokenMinutes`). @default 60 */
  readonly accessTokenMinutes: number;
  /** ID token lifetime in minutes, 5 to 1440 (context `idTokenMinutes`). @default 60 */
  readonly idTokenMinutes: number;
  /** Refresh token lifetime in days, 1 to 3650 (context `refreshTokenDays`); also the API's COGNITO_REFRESH_TOKEN_VALIDITY_DAYS. @default 30 */
  readonly refreshTokenDays: number;
  /**
   * Seconds the old refresh token stays valid after rotation, 0 to 60 (context `refreshTokenRotationGraceSeconds`);
   * `null` (`off`): no rotation, refresh with `REFRESH_TOKEN_AUTH` allowed. @default 10
   */
  readonly refreshTokenRotationGraceSeconds: number | null;
  /** Allow `USER_PASSWORD_AUTH` on the public client, for trying the API from a terminal (context `allowPasswordAuth`). @default false */
  readonly allowPasswordAuth: boolean;
  /** Container tasks kept running, 1 to 100 (context `desiredCount`). @default 2 */
  readonly desiredCount: number;
  /** Seconds the server drains after SIGTERM, 1 to 90 (context `shutdownTimeoutSeconds`, the API's SHUTDOWN_TIMEOUT_SECONDS). @default 10 */
  readonly shutdownTimeoutSeconds: number;
  /** Seconds the load balancer keeps a deregistered task's connections, 0 to 3600 (context `deregistrationDelaySeconds`). @default 30 */
  readonly deregistrationDelaySeconds: number;
  /** An ACM certificate for the load balancer's HTTPS listener (context `certificateArn`); `null`: plain HTTP. */
  readonly certificateArn: string | null;
  /** The Lambda bundle's folder, relative to the repository (context `lambdaBundle`). @default "build/lambda" */
  readonly lambdaBundle: string;
  /** NAT gateways of the VPC, 1 to 3 (context `natGateways`). @default 1 */
  readonly natGateways: number;
  /** RDS instance class (context `databaseInstanceType`, e.g. `t4g.micro`, `r7g.large`). @default "t4g.micro" */
  readonly databaseInstanceType: string;
  /** A standby in a second zone (context `databaseMultiAz`). @default false */
  readonly databaseMultiAz: boolean;
  /** Refuse deleting the database (context `databaseDeletionProtection`); `cdk destroy` then fails until it is turned off. @default false */
  readonly databaseDeletionProtection: boolean;
}

export class SettingsError extends Error {
  override readonly name = "SettingsError";
  constructor(setting: string, problem: string) {
    super(`Setting ${setting}: ${problem}`);
  }
}

/** Looks a context value up (`node.tryGetContext`); values from the command line are strings, from cdk.json any JSON. */
export type ContextLookup = (name: string) => unknown;

const USER_POOL_ID = /^(?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d_[a-zA-Z0-9]+$/;
const CLIENT_ID = /^[\w+]{1,128}$/;
// Cognito domain prefixes: lowercase letters, digits and hyphens, not starting or ending with a hyphen.
const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Reads and checks every setting; throws `SettingsError` naming the first bad one. */
export function readSettings(context: ContextLookup): Settings {
  const api = text(context, "api") ?? "container";
  if (api !== "lambda" && api !== "container" && api !== "both")
    throw new SettingsError("api", `must be lambda, container or both, got "${api}"`);
  const userPoolId = text(context, "userPoolId");
  const clientIds = list(context, "clientIds");
  if ((userPoolId === null) !== (clientIds.length === 0)) {
    throw new SettingsError(
      userPoolId === null ? "clientIds" : "userPoolId",
      "userPoolId and clientIds go together: set both to use an existing pool, or neither",
    );
  }
  if (userPoolId !== null && !USER_POOL_ID.test(userPoolId))
    throw new SettingsError("userPoolId", `"${userPoolId}" is not a user pool id like us-east-1_AbC123`);
  for (const id of clientIds) if (!CLIENT_ID.test(id)) throw new SettingsError("clientIds", `"${id}" is not an app client id`);
  const domainPrefix = text(context, "domainPrefix");
  if (domainPrefix !== null && (!DOMAIN_PREFIX.test(domainPrefix) || /aws|amazon|cognito/.test(domainPrefix))) {
    throw new SettingsError(
      "domainPrefix",
      `"${domainPrefix}" must be lowercase letters, digits and inner hyphens, without aws, amazon or cognito`,
    );
  }
  const callbackUrls = urls(context, "callbackUrls", ["http://localhost:3000/callback"]);
  const logoutUrls = urls(context, "logoutUrls", ["http://localhost:3000/"]);
  const accessTokenMinutes = integer(context, "accessTokenMinutes", 60, 5, 1440);
  const idTokenMinutes = integer(context, "idTokenMinutes", 60, 5, 1440);
  const refreshTokenDays = integer(context, "refreshTokenDays", 30, 1, 3650);
  const rotation = text(context, "refreshTokenRotationGraceSeconds");
  const refreshTokenRotationGraceSeconds = rotation === "off" ? null : integer(context, "refreshTokenRotationGraceSeconds", 10, 0, 60);
  const shutdownTimeoutSeconds = integer(context, "shutdownTimeoutSeconds", 10, 1, 90);
  const deregistrationDelaySeconds = integer(context, "deregistrationDelaySeconds", 30, 0, 3600);
  if (deregistrationDelaySeconds < shutdownTimeoutSeconds + 5) {
    throw new SettingsError(
      "deregistrationDelaySeconds",
      `must be at least shutdownTimeoutSeconds + 5 (${shutdownTimeoutSeconds + 5}), so a task's drain ends before the load balancer drops its connections`,
    );
  }
  const certificateArn = text(context, "certificateArn");
  if (certificateArn !== null && !/^arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate\/[\w-]+$/.test(certificateArn)) {
    throw new SettingsError("certificateArn", `"${certificateArn}" is not an ACM certificate ARN`);
  }
  const databaseInstanceType = text(context, "databaseInstanceType") ?? "t4g.micro";
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(databaseInstanceType))
    throw new SettingsError("databaseInstanceType", `"${databaseInstanceType}" is not an instance type like t4g.micro`);
  return Object.freeze({
    api,
    existingPool: userPoolId === null ? null : Object.freeze({ userPoolId, clientIds }),
    domainPrefix,
    callbackUrls,
    logoutUrls,
    accessTokenMinutes,
    idTokenMinutes,
    refreshTokenDays,
    refreshTokenRotationGraceSeconds,
    allowPasswordAuth: flag(context, "allowPasswordAuth", false),
    desiredCount: integer(context, "desiredCount", 2, 1, 100),
    shutdownTimeoutSeconds,
    deregistrationDelaySeconds,
    certificateArn,
    lambdaBundle: text(context, "lambdaBundle") ?? "build/lambda",
    natGateways: integer(context, "natGateways", 1, 1, 3),
    databaseInstanceType,
    databaseMultiAz: flag(context, "databaseMultiAz", false),
    databaseDeletionProtection: flag(context, "databaseDeletionProtection", false),
  });
}

function text(context: ContextLookup, name: string): string | null {
  const value = context(name);
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
    throw new SettingsError(name, "must be a string");
  return String(value).trim() || null;
}

function list(context: ContextLookup, name: string): string[] {
  const value = context(name);
  const items = Array.isArray(value) ? value.map(String) : (text(context, name)?.split(",") ?? []);
  return items.map((item) => item.trim()).filter((item) => item !== "");
}

function urls(context: ContextLookup, name: string, fallback: string[]): readonly string[] {
  const items = list(context, name);
  for (const item of items) {
    if (!URL.canParse(item) || !/^https?:$/.test(new URL(item).protocol)) throw new SettingsError(name, `"${item}" is not an http(s) URL`);
  }
  return Object.freeze(items.length > 0 ? items : fallback);
}

function integer(context: ContextLookup, name: string, fallback: number, min: number, max: number): number {
  const raw = text(context, name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new SettingsError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  return Number(raw);
}

function flag(context: ContextLookup, name: string, fallback: boolean): boolean {
  const raw = text(context, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new SettingsError(name, `must be true or false, got "${raw}"`);
}
