import { lookup } from "node:dns/promises";
import { createServer, isIP } from "node:net";
import type { Config } from "./config.js";

/**
 * Start-up failures after the configuration was read, as one line an operator can act on: the variable or file
 * at fault, the cause, and what to do. No stack: the cause is the environment, not the code.
 */

/** The step of the start that failed; it decides which variable or file a failure is about. */
export type StartupStep = "listen" | "dev-keys" | "key-sets" | "database-secret" | "database" | "revocations";

/** Node and PostgreSQL error codes found in `error` or the errors it wraps (`cause`, `errors`). */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!e || typeof e !== "object" || depth > 5) return;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    visit((e as { cause?: unknown }).cause, depth + 1);
    for (const inner of (e as { errors?: unknown }).errors instanceof Array ? (e as { errors: unknown[] }).errors : [])
      visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

/** A PostgreSQL SQLSTATE (five digits and capitals; no class starts with E, unlike Node's EROFS, EPERM): the database answered. */
const isSqlState = (code: string) => /^(?!E)[0-9A-Z]{5}$/.test(code);

/** Whether `error` says the database could not be reached at all (nothing answered). */
function unreachable(codes: string[], error: unknown): boolean {
  return (
    codes.some((c) => /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(c)) ||
    /timeout|terminated/i.test(firstLine(error))
  );
}

/** The first line of a message, shortened: some libraries (PGlite's bundle) put kilobytes in one. */
function firstLine(error: unknown, max = 160): string {
  const text = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** `postgres://user:secret@host:5432/db` without the password, for messages. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}

const FS_CAUSES: Record<string, string> = {
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is a file, not a directory",
  ENOENT: "a part of the path does not exist or cannot be created",
  ENOSPC: "no space left on the device",
  EISDIR: "a directory is in the way of a file",
};

/** One line for a failed start; `config` supplies the values the line names. */
export function describeStartupFailure(step: StartupStep, error: unknown, config: Config): string {
  const codes = codesOf(error);
  const code = codes[0];
  const fsCode = codes.find((c) => c in FS_CAUSES);
  switch (step) {
    case "listen": {
      const { host, port } = config.http;
      if (codes.includes("EADDRINUSE"))
        return `PORT: ${host}:${port} is already in use (EADDRINUSE); stop the process that holds it or set PORT to a free port`;
      if (codes.includes("EACCES"))
        return `PORT: not allowed to listen on port ${port} (EACCES); use a port above 1023 or grant the capability`;
      if (codes.some((c) => c === "ENOTFOUND" || c === "EAI_AGAIN" || c === "EAI_NONAME")) {
        return `HOST: "${host}" does not resolve to an address (${code}); set HOST to an address of this machine such as 0.0.0.0 or 127.0.0.1`;
      }
      if (codes.includes("EADDRNOTAVAIL"))
        return `HOST: ${host} is not an address of this machine (EADDRNOTAVAIL); set HOST to one of its addresses, or 0.0.0.0 for all`;
      return `PORT/HOST: cannot listen on ${host}:${port} (${firstLine(error)}); check PORT and HOST`;
    }
    case "dev-keys": {
      if ((error as { name?: string }).name === "DevKeysFileError") return (error as Error).message;
      if (fsCode)
        return `DATA_DIR: cannot keep the dev keys in ${config.dataDir} (${fsCode}: ${FS_CAUSES[fsCode]}); point DATA_DIR at a writable directory`;
      return `DATA_DIR: cannot load the dev keys from ${config.dataDir} (${firstLine(error)}); point DATA_DIR at a writable directory`;
    }
    case "key-sets": {
      const pool = (error as { userPoolId?: unknown }).userPoolId;
      if (typeof pool === "string") {
        // The detail names the pool, its Cognito key-set URL and the URL actually fetched (COGNITO_JWKS_URI).
        const line = firstLine((error as { detail?: string }).detail ?? error, 400);
        const variable = config.auth.jwksUris ? "COGNITO_JWKS_URI" : "COGNITO_USER_POOL_ID";
        return `${variable}: ${line}; check the pool id and URL and that this machine can reach it (every configured pool must load)`;
      }
      const detail = firstLine((error as { detail?: string }).detail ?? error, 300);
      const uris = config.auth.jwksUris;
      if (uris)
        return `COGNITO_JWKS_URI: the key set at ${uris.join(", ")} could not be loaded (${detail}); check the URL and that this machine can reach it`;
      return `COGNITO_USER_POOL_ID: the pools' key sets could not be loaded from Cognito (${detail}); check the pool ids and that this machine can reach cognito-idp over HTTPS`;
    }
    case "database-secret": {
      const cause = firstLine(error, 400);
      // Read but not a login, or not read at all (no such secret, no permission, no network).
      if (!cause.startsWith("cannot read"))
        return `DATABASE_SECRET_ARN: ${cause}; store the PostgreSQL login in it as RDS's JSON (username, password, host, port, dbname) or a postgres:// URL`;
      return `DATABASE_SECRET_ARN: ${cause}; check the ARN, that this role may call secretsmanager:GetSecretValue on it, and that Secrets Manager is reachable`;
    }
    case "database": {
      if (config.databaseUrl) {
        const url = redactedUrl(config.databaseUrl);
        const database = decodeURIComponent(new URL(config.databaseUrl).pathname.slice(1)) || "(default)";
        if (codes.includes("3D000"))
          return `DATABASE_URL: database "${database}" does not exist at ${url}; create it (createdb ${database}) or fix DATABASE_URL`;
        if (codes.includes("28P01") || codes.includes("28000"))
          return `DATABASE_URL: PostgreSQL at ${url} refused the login (${firstLine(error)}); fix the user or password in DATABASE_URL`;
        if (unreachable(codes, error)) {
          return `DATABASE_URL: cannot connect to PostgreSQL at ${url} (${code ?? firstLine(error)}); check that PostgreSQL runs there and that DATABASE_URL is right`;
        }
        const state = codes.find(isSqlState);
        return `DATABASE_URL: PostgreSQL at ${url} could not be prepared (${state ? `SQLSTATE ${state}: ` : ""}${firstLine(error)}); check the database and its permissions`;
      }
      const dir = `${config.dataDir}/pglite`;
      if (fsCode)
        return `DATA_DIR: cannot keep the embedded database in ${dir} (${fsCode}: ${FS_CAUSES[fsCode]}); point DATA_DIR at a writable directory`;
      return `DATA_DIR: the embedded database in ${dir} cannot be opened (${firstLine(error)}); move ${dir} aside, or delete it to start with an empty database (its data is lost)`;
    }
    case "revocations": {
      // The database was opened and migrated; loading the session revocations failed. Lost on the way: as above.
      if (config.databaseUrl && unreachable(codes, error)) return describeStartupFailure("database", error, config);
      const source = config.databaseUrl
        ? `PostgreSQL at ${redactedUrl(config.databaseUrl)}`
        : `the embedded database in ${config.dataDir}/pglite`;
      const state = codes.find(isSqlState);
      if (state) {
        return `revocations: ${source} answered with an error while the session revocations were loaded (SQLSTATE ${state}: ${firstLine(error)}); check the revocations table and that the database user may read it (a server does not start without knowing which sessions are revoked)`;
      }
      return `revocations: the session revocations could not be loaded from ${source} (${(error as Error)?.name ?? "Error"}: ${firstLine(error)}); the database reported no error, so this is likely a fault of the server: report it with this line`;
    }
  }
}

const LOOKUP_TIMEOUT_MS = 5000;

/**
 * Fails fast when the port is taken or the host does not resolve, before the slow part of the start (key sets,
 * database) instead of after it. The real listener binds later; a race with another process is still reported,
 * by `describeStartupFailure("listen", ...)`.
 */
export async function checkListenable(host: string, port: number): Promise<void> {
  if (isIP(host) === 0) {
    // A resolver that does not answer would hold the start for half a minute (the system's retries).
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`no answer from the resolver in ${LOOKUP_TIMEOUT_MS / 1000} s`), { code: "EAI_AGAIN" })),
        LOOKUP_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([lookup(host), slow]);
    } finally {
      clearTimeout(timer);
    }
  }
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
