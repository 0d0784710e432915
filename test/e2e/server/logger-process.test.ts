import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.js";

describe("production log lines (buffered, asynchronous)", () => {
  /** Runs a script that logs through createLogger(true) in a process of its own; resolves with the child. */
  const run = (body: string) => {
    const dir = tempDir("logger-");
    const script = join(dir, "log.ts");
    writeFileSync(
      script,
      `import { createLogger } from ${JSON.stringify(join(process.cwd(), "src/logger.ts"))};\nconst logger = createLogger(true, "info");\n${body}\n`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    return { child, output: () => output, exited: new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code))) };
  };

  it("are all written when the process exits on a fatal error", async () => {
    const child = run(`for (let i = 0; i < 50; i++) logger.info({ i }, "line");\nlogger.fatal("fatal; exiting");\nprocess.exit(1);`);
    expect(await child.exited).toBe(1);
    const lines = child
      .output()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(51);
    expect(lines.at(-1)).toMatchObject({ level: 60, msg: "fatal; exiting" });
  }, 60_000);

  it("are written while the process runs, without waiting for the buffer to fill", async () => {
    const child = run(`logger.info("one short line");\nsetInterval(() => undefined, 1000);`);
    try {
      await new Promise<void>((resolve) => child.child.stdout.on("data", () => child.output().includes("one short line") && resolve()));
      expect(JSON.parse(child.output().trim())).toMatchObject({ msg: "one short line" });
    } finally {
      child.child.kill("SIGTERM");
      await child.exited;
    }
  }, 60_000);
});
