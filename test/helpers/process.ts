import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Waits (up to 30 s) until the output matches. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray | null>;
  /** The GraphQL URL once the server says it listens. */
  url(): Promise<string>;
  kill(): void;
}

/**
 * Runs the server as an operator would, in its own process: `src/main.ts` through tsx, or the built
 * `dist/main.js` with `built: true`. Prints go to output(); a fresh DATA_DIR unless one is given.
 */
export function startServerProcess(env: Record<string, string>, options: { built?: boolean } = {}): ServerProcess {
  const args = options.built ? ["dist/main.js"] : ["--import", "tsx", "src/main.ts"];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, DATA_DIR: mkdtempSync(join(tmpdir(), "server-")), PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = async (pattern: RegExp) => {
    for (let i = 0; i < 600 && !pattern.test(output) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    return pattern.exec(output);
  };
  return {
    child,
    exited,
    output: () => output,
    waitFor,
    async url() {
      // Dev mode prints a sentence; production logs a JSON line with the url.
      const match = await waitFor(/API listening on (http\S+)|"url":"(http[^"]+)"/);
      if (!match) throw new Error(`server did not start:\n${output}`);
      return match[1] ?? match[2]!;
    },
    kill: () => child.kill("SIGKILL"),
  };
}
