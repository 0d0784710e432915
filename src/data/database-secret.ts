import type { Config } from "../config.js";

/**
 * DATABASE_SECRET_ARN: the PostgreSQL login kept in AWS Secrets Manager instead of a `DATABASE_URL` in the
 * environment (`infra/` deploys it so). The secret is read once at start, before the database opens, and turned
 * into the connection URL; it is never logged, and a failure names the secret's ARN, never its contents.
 *
 * The secret's value is either
 *   - the JSON that RDS keeps for a managed login: `username`, `password`, `host`, optional `port` (default
 *     5432) and `dbname` (default `postgres`), plus our optional `sslmode` (`verify-full`, `require`, ...), or
 *   - a `postgres://` (or `postgresql://`) URL as it is.
 *
 * The client is the AWS SDK's, with its standard settings (credentials from the role, `AWS_ENDPOINT_URL_SECRETS_MANAGER`
 * for an emulator); the region is the ARN's.
 */

/** The secret could not be read or is not a PostgreSQL login. The message names the ARN and the cause, never a value. */
export class DatabaseSecretError extends Error {
  override readonly name = "DatabaseSecretError";
}

/** `arn:aws:secretsmanager:<region>:<account>:secret:<name>` (any partition). */
export const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:[\w/+=.@-]{1,512}$/;

const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full", "no-verify"];
/** Bounds on the one call at start: a Secrets Manager that does not answer must not hold the start for long. */
const CONNECTION_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 5000;
const MAX_ATTEMPTS = 3;

/**
 * The connection URL in a secret's value (see the module's comment for the two shapes). Throws
 * `DatabaseSecretError` saying what is missing; the message never quotes the value.
 */
export function connectionUrlOf(secretString: string): string {
  const text = secretString.trim();
  if (/^postgres(ql)?:\/\//.test(text)) {
    if (!URL.canParse(text)) throw new DatabaseSecretError("its value starts like a postgres:// URL but is not a valid URL");
    return text;
  }
  let login: Record<string, unknown>;
  try {
    login = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new DatabaseSecretError("its value is neither JSON (username, password, host, ...) nor a postgres:// URL");
  }
  if (!login || typeof login !== "object" || Array.isArray(login)) throw new DatabaseSecretError("its value is not a JSON object");
  const field = (name: string, fallback?: string): string => {
    const value = login[name];
    if (value === undefined || value === null || value === "") {
      if (fallback !== undefined) return fallback;
      throw new DatabaseSecretError(`its JSON has no "${name}"`);
    }
    if (typeof value !== "string" && typeof value !== "number") throw new DatabaseSecretError(`its "${name}" is not a string`);
    return String(value);
  };
  const host = field("host");
  const port = field("port", "5432");
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new DatabaseSecretError(`its "port" is not a port number`);
  const sslmode = field("sslmode", "");
  if (sslmode !== "" && !SSL_MODES.includes(sslmode)) throw new DatabaseSecretError(`its "sslmode" must be one of ${SSL_MODES.join(", ")}`);
  const url = new URL("postgres://localhost");
  url.username = encodeURIComponent(field("username"));
  url.password = encodeURIComponent(field("password"));
  url.hostname = host.includes(":") ? `[${host}]` : host;
  url.port = port;
  url.pathname = `/${encodeURIComponent(field("dbname", "postgres"))}`;
  if (sslmode) url.searchParams.set("sslmode", sslmode);
  return url.toString();
}

/** Reads the secret at `arn` from Secrets Manager and returns its connection URL. Throws `DatabaseSecretError`. */
export async function readDatabaseSecret(arn: string): Promise<string> {
  const region = SECRET_ARN.exec(arn)?.[1];
  if (!region) throw new DatabaseSecretError(`${arn} is not a Secrets Manager secret ARN`);
  // Loaded only when a secret is configured: most starts never need the SDK.
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const client = new SecretsManagerClient({
    region,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  });
  let secretString: string | undefined;
  try {
    ({ SecretString: secretString } = await client.send(new GetSecretValueCommand({ SecretId: arn })));
  } catch (error) {
    const cause = error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
    throw new DatabaseSecretError(`cannot read ${arn} (${cause})`, { cause: error });
  } finally {
    client.destroy();
  }
  if (secretString === undefined) throw new DatabaseSecretError(`${arn} has no string value (a binary secret cannot be a login)`);
  try {
    return connectionUrlOf(secretString);
  } catch (error) {
    throw new DatabaseSecretError(`${arn}: ${(error as Error).message}`);
  }
}

/**
 * `config` with `databaseUrl` taken from DATABASE_SECRET_ARN's secret, or `config` itself when no secret is
 * configured. The start's one hook (src/main.ts, src/lambda.ts): called before the database opens.
 */
export async function withDatabaseSecret(config: Config): Promise<Config> {
  if (config.databaseSecretArn === null) return config;
  return Object.freeze({ ...config, databaseUrl: await readDatabaseSecret(config.databaseSecretArn) });
}
