import { spawn, type ChildProcess } from "node:child_process";
import { removeTempDir, tempDir } from "./temp.js";

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Waits (up to 120 s, a loaded machine's start) until the output matches or the process exits. */
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
  const ownDir = env.DATA_DIR === undefined ? tempDir("server-") : undefined;
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, DATA_DIR: ownDir ?? "", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The directory made here goes with the process (a given one belongs to the test).
  if (ownDir) child.once("exit", () => removeTempDir(ownDir));
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = async (pattern: RegExp) => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !pattern.test(output) && child.exitCode === null && child.signalCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
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
