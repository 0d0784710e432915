import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startEmulator, type RunningEmulator } from "./moto.js";

/**
 * cognito-local (npm, a dev dependency), as a team developing against it runs it, on a free loopback port. Its
 * issuer is `http://127.0.0.1:PORT/<pool>` and its pool ids look like `local_0nFa3hjY`. It keeps its data in
 * `.cognito/` under its working directory: a temporary one, removed on stop.
 */
export async function startCognitoLocal(): Promise<RunningEmulator> {
  // The one port asked of the OS and released before the child binds it: cognito-local builds its issuer URL from
  // PORT, so with port 0 its tokens would name an issuer at port 0.
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), "cognito-local-"));
  const bin = createRequire(import.meta.url).resolve("cognito-local/lib/bin/start.js");
  try {
    const emulator = await startEmulator(process.execPath, [bin], {
      port,
      cwd,
      env: { PATH: process.env.PATH, PORT: String(port), HOST: "127.0.0.1" },
      // cognito-local answers unknown GETs with 404 once it listens.
      readyPath: "/health",
    });
    return {
      ...emulator,
      async stop() {
        await emulator.stop();
        rmSync(cwd, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(cwd, { recursive: true, force: true });
    throw error;
  }
}
