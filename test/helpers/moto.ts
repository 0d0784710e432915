import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  AdminUserGlobalSignOutCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
  type AuthenticationResultType,
} from "@aws-sdk/client-cognito-identity-provider";

/**
 * moto's Cognito user pools (Python `moto` with Flask, `python3 -m moto.server`), driven with the AWS SDK for
 * JavaScript: software nobody on this team wrote, issuing tokens in Cognito's format.
 */

/** Why moto cannot run here, or `null` when `python3 -c "import moto"` (and its server's Flask) works. */
export function motoUnavailableReason(python = "python3"): string | null {
  const result = spawnSync(python, ["-c", "import moto, flask"], { encoding: "utf8", timeout: 20_000 });
  if (result.error) return `${python} -c "import moto" failed: ${result.error.message}`;
  if (result.status !== 0) return `${python} -c "import moto" failed: ${(result.stderr || "").trim().split("\n").at(-1)}`;
  return null;
}

/**
 * A free TCP port on 127.0.0.1 (asked of the OS, then released for the child to bind): only for a child that must
 * know its port before it listens (cognito-local builds its issuer from PORT). Racy; prefer port 0 and an
 * announced port (`startEmulator`'s `announced`).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningEmulator {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** Everything the emulator printed (for failure messages). */
  output(): string;
  /** Stops the emulator by its pid and waits (bounded) for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a child process that serves HTTP on `port` and waits (up to `timeoutMs`) until `ready` answers.
 * Shared by the moto and cognito-local helpers. With `announced` instead of a port, the child listens on port 0
 * and the port is read from the first line of its output that matches (group 1).
 */
export async function startEmulator(
  command: string,
  args: readonly string[],
  options: { port?: number; announced?: RegExp; env?: NodeJS.ProcessEnv; cwd?: string; readyPath?: string; timeoutMs?: number },
): Promise<RunningEmulator> {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let announce: (port: number) => void = () => undefined;
  const announcedPort = new Promise<number>((resolve) => (announce = resolve));
  const collect = (chunk: Buffer) => {
    output += chunk;
    const port = options.announced && output.match(options.announced)?.[1];
    if (port) announce(Number(port));
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(0), options.timeoutMs ?? 30_000)));
  // 0: the child exited or never announced a port (the loop below is skipped and the output reported).
  const port = options.port ?? (await Promise.race([announcedPort, exited.then(() => 0), gaveUp]));
  clearTimeout(timer);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (port !== 0 && Date.now() < deadline && child.exitCode === null) {
    try {
      await fetch(endpoint + (options.readyPath ?? "/"), { signal: AbortSignal.timeout(1000) });
      return { endpoint, output: () => output, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`${command} ${args.join(" ")} did not answer on ${endpoint}:\n${output}`);
}

/** Starts `python3 -m moto.server` on loopback port 0; the port is the one its server announces. */
export async function startMoto(): Promise<RunningEmulator> {
  return startEmulator("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], {
    announced: /Running on http:\/\/127\.0\.0\.1:(\d+)/,
    readyPath: "/moto-api/",
  });
}

/** An SDK client for an emulator: its endpoint, a region, dummy credentials (emulators check none). */
export function emulatorClient(endpoint: string, region = "us-east-1"): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({ endpoint, region, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
}

export const PASSWORD = "Correct-horse-9";

export interface PoolUser {
  readonly username: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly groups: readonly string[];
}

/** The shop's personas as users of a real pool; bob's email is not verified. */
export const POOL_USERS: readonly PoolUser[] = [
  { username: "alice", email: "alice@example.com", emailVerified: true, groups: [] },
  { username: "bob", email: "bob@example.com", emailVerified: false, groups: [] },
  { username: "sam", email: "sam@example.com", emailVerified: true, groups: ["support"] },
  { username: "stella", email: "stella@example.com", emailVerified: true, groups: ["staff"] },
  { username: "ada", email: "ada@example.com", emailVerified: true, groups: ["admin"] },
];

export interface TestPool {
  readonly client: CognitoIdentityProviderClient;
  readonly userPoolId: string;
  /** The web app's client: no secret; ID tokens carry email and email_verified. */
  readonly webClientId: string;
  /** A confidential client (with a secret), as a server-side web app has. */
  readonly secretClientId: string;
  readonly clientSecret: string;
  /** The pool's key set, as moto serves it. */
  readonly jwksUri: string;
  /** Signs a user in with USER_PASSWORD_AUTH on `clientId` (default: the web client). */
  signIn(
    username: string,
    clientId?: string,
  ): Promise<Required<Pick<AuthenticationResultType, "AccessToken" | "IdToken" | "RefreshToken">>>;
  /** REFRESH_TOKEN_AUTH: new access and ID tokens for a refresh token. */
  refresh(username: string, refreshToken: string, clientId?: string): Promise<{ AccessToken: string; IdToken: string }>;
  /** AdminUserGlobalSignOut: the user's tokens stop working at Cognito (GetUser), not at JWT verification. */
  signOutEverywhere(username: string): Promise<void>;
}

/** Creates a pool with groups, two app clients and `users` (passwords set, so they are CONFIRMED). */
export async function createTestPool(endpoint: string, users: readonly PoolUser[] = POOL_USERS): Promise<TestPool> {
  const client = emulatorClient(endpoint);
  const pool = (await client.send(new CreateUserPoolCommand({ PoolName: "shop" }))).UserPool!;
  const userPoolId = pool.Id!;
  const flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] as const;
  const web = (
    await client.send(
      new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: "web",
        ExplicitAuthFlows: [...flows],
        ReadAttributes: ["email", "email_verified"],
      }),
    )
  ).UserPoolClient!;
  const confidential = (
    await client.send(
      new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: "server-side",
        ExplicitAuthFlows: [...flows],
        GenerateSecret: true,
      }),
    )
  ).UserPoolClient!;
  for (const group of new Set(users.flatMap((u) => u.groups))) {
    await client.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: group }));
  }
  for (const user of users) {
    await client.send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: user.username,
        MessageAction: "SUPPRESS",
        UserAttributes: [
          { Name: "email", Value: user.email },
          { Name: "email_verified", Value: String(user.emailVerified) },
        ],
      }),
    );
    await client.send(
      new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: user.username, Password: PASSWORD, Permanent: true }),
    );
    for (const group of user.groups) {
      await client.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: user.username, GroupName: group }));
    }
  }
  const secretHash = (username: string, clientId: string): Record<string, string> =>
    clientId === confidential.ClientId
      ? {
          SECRET_HASH: createHmac("sha256", confidential.ClientSecret!)
            .update(username + clientId)
            .digest("base64"),
        }
      : {};
  return {
    client,
    userPoolId,
    webClientId: web.ClientId!,
    secretClientId: confidential.ClientId!,
    clientSecret: confidential.ClientSecret!,
    jwksUri: `${endpoint}/${userPoolId}/.well-known/jwks.json`,
    async signIn(username, clientId = web.ClientId!) {
      const result = await client.send(
        new InitiateAuthCommand({
          ClientId: clientId,
          AuthFlow: "USER_PASSWORD_AUTH",
          AuthParameters: { USERNAME: username, PASSWORD, ...secretHash(username, clientId) },
        }),
      );
      const tokens = result.AuthenticationResult;
      if (!tokens?.AccessToken || !tokens.IdToken || !tokens.RefreshToken) throw new Error(`sign-in of ${username} gave no tokens`);
      return { AccessToken: tokens.AccessToken, IdToken: tokens.IdToken, RefreshToken: tokens.RefreshToken };
    },
    async refresh(username, refreshToken, clientId = web.ClientId!) {
      const result = await client.send(
        new InitiateAuthCommand({
          ClientId: clientId,
          AuthFlow: "REFRESH_TOKEN_AUTH",
          AuthParameters: { REFRESH_TOKEN: refreshToken, ...secretHash(username, clientId) },
        }),
      );
      const tokens = result.AuthenticationResult;
      if (!tokens?.AccessToken || !tokens.IdToken) throw new Error(`refresh of ${username} gave no tokens`);
      return { AccessToken: tokens.AccessToken, IdToken: tokens.IdToken };
    },
    async signOutEverywhere(username) {
      await client.send(new AdminUserGlobalSignOutCommand({ UserPoolId: userPoolId, Username: username }));
    },
  };
}

/** The payload of a JWT, unverified (to look at what the emulator issued). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}
