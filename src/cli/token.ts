import { DevIssuer, DevKeysFileError } from "../auth/index.js";
import { devKeysFile } from "../auth-setup.js";
import { ConfigError, loadConfig } from "../config.js";
import { DEV_FULFILLMENT_CLIENT_ID, PERSONAS } from "../dev/personas.js";
import { DevTokenOptionsError, mintDevToken } from "../dev/tokens.js";
import { fail as exitWith, parseCommandLine, USAGE_ERROR } from "./args.js";

const USAGE = `Prints a dev token that the dev server (npm start) accepts.

  npm run -s token -- <persona> [flags]
  npm run -s token -- [flags]

Personas: ${Object.keys(PERSONAS).join(", ")}
Flags (override the persona's values):
  --groups a,b        cognito:groups
  --scopes x,y        scopes (comma or space separated)
  --client            a machine token (client-credentials grant) of ${DEV_FULFILLMENT_CLIENT_ID}: no username, sub = client id
  --id                an ID token instead of an access token
  --expires-in N      lifetime in seconds (1 to 86400, default 3600)
  --sub S             the token's sub
  --username U        the username
  --email E           the email (ID tokens)`;

/** Bad usage: the message, then the usage, and exit code 2. */
const fail = (message: string): never => exitWith(`${message}\n\n${USAGE}`, USAGE_ERROR);

const splitList = (text: string) => text.split(/[\s,]+/).filter((s) => s !== "");

function main(): void {
  const parsed = parseCommandLine(
    {
      allowPositionals: true,
      options: {
        groups: { type: "string" },
        scopes: { type: "string" },
        client: { type: "boolean" },
        id: { type: "boolean" },
        "expires-in": { type: "string" },
        sub: { type: "string" },
        username: { type: "string" },
        email: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    USAGE,
  );
  if (!parsed) return;
  const { values, positionals } = parsed;
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(`Configuration error: ${error.message}`);
    throw error;
  }
  if (config.mode !== "dev")
    fail(
      "npm run token works in dev mode only, and COGNITO_USER_POOL_ID is set: unset COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID for dev tokens, or sign in to your Cognito pool for a real token (docs/cognito.md).",
    );
  if (positionals.length > 1) fail(`Give at most one persona, got: ${positionals.join(" ")}`);
  let issuer: DevIssuer;
  try {
    issuer = DevIssuer.load(devKeysFile(config));
  } catch (error) {
    // One line naming the file, the cause and the fix; no stack (the cause is the file, not this code).
    const code = (error as NodeJS.ErrnoException).code;
    console.error(
      error instanceof DevKeysFileError
        ? error.message
        : `${devKeysFile(config)}: cannot read or create the dev keys (${code ?? (error as Error).message}); check DATA_DIR (${config.dataDir}) is a writable directory`,
    );
    process.exit(1);
  }
  let minted;
  try {
    minted = mintDevToken(issuer, {
      persona: positionals[0],
      groups: values.groups !== undefined ? splitList(values.groups) : undefined,
      scopes: values.scopes !== undefined ? splitList(values.scopes) : undefined,
      client: values.client,
      id: values.id,
      expiresIn: values["expires-in"] === undefined ? undefined : Number(values["expires-in"]),
      sub: values.sub,
      username: values.username,
      email: values.email,
    });
  } catch (error) {
    if (error instanceof DevTokenOptionsError) {
      // The same rules as POST /dev/token, named as this command's flags.
      fail(error.message.replace(/^expiresIn/, "--expires-in").replace(/^id and client/, "--id and --client"));
    }
    throw error;
  }
  const { token } = minted;
  console.log(token);
}

main();
