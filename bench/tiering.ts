/**
 * `npm run bench -- --tiering`: what V8's compilers and collector do through each instruction cell's sequence
 * (bench/instructions.ts: priming, quiet, full collection, warm-up, count), outside callgrind, with the cell's V8
 * flags and `--trace-opt --trace-deopt --trace-gc`. Per block of units (a fifteenth of the warm-up: 1,000 `me`
 * requests), it prints the optimized compilations finished in it, and marks the blocks where V8 started a full
 * collection of its own; then how much code the forced collection sent back to be deoptimized, and what the count
 * window itself compiled and deoptimized. A count is worth reading when its window compiles little: V8 has settled.
 * The instruction counts (bench/instruction-cells.ts) run under callgrind, about 50 times slower, so timer-driven
 * work falls differently there; the compilations, driven by how often each function runs, fall alike.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "../test/helpers/database.js";
import { CELL_V8_FLAGS, cellEnv, cellsPostgres, mintCellTokens, plannedCells, type InstructionOptions } from "./instruction-cells.js";
import { runCellSequence } from "./instructions.js";
import type { BenchRun } from "./scenarios.js";

/** Markers this process writes into the server's trace (the same open file, so their order is the file's order). */
const BLOCK = "@@block";
const COLLECTED = "@@collected";
const COUNT = "@@count";
const END = "@@end";

/** Traces every request cell of `run` (not `revocation-reload` or `verify-floor`) once and prints its summary. */
export async function runTiering(run: BenchRun, options: InstructionOptions): Promise<void> {
  const postgres = cellsPostgres("--tiering");
  for (const cell of plannedCells(run, options)) {
    if (!run.scenarios.some((scenario) => scenario.name === cell.name)) continue;
    mintCellTokens(run, cell);
    const block = Math.max(1, Math.round(cell.warmup / 15));
    const database = await createTestDatabase(postgres);
    const dir = mkdtempSync(join(tmpdir(), "bench-tiering-"));
    const file = join(dir, "trace.txt");
    const fd = openSync(file, "w");
    let open = true;
    try {
      // stdbuf -oL: V8 prints its traces through C stdio, which a file would buffer by 4 KiB and so put them after
      // markers written later.
      const child = spawn(
        "stdbuf",
        [
          "-oL",
          process.execPath,
          ...CELL_V8_FLAGS,
          "--trace-opt",
          "--trace-deopt",
          "--trace-gc",
          "--import",
          "tsx",
          join(import.meta.dirname, "server.ts"),
          cell.variant,
        ],
        { env: cellEnv(run, database.url), stdio: ["ignore", fd, "inherit", "ipc"] },
      );
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const port = await new Promise<number>((resolve, reject) => {
        child.once("message", (m: { port: number }) => resolve(m.port));
        child.once("exit", (code) => reject(new Error(`${cell.variant} server exited with ${code}`)));
        child.once("error", (error) => reject(new Error(`--tiering runs the server through stdbuf (coreutils): ${error.message}`)));
      });
      try {
        await runCellSequence({ port, child }, cell.work, cell.warmup, cell.count, {
          unitDone: (n) => (n + 1) % block === 0 && writeSync(fd, `${BLOCK}\n`),
          collected: () => writeSync(fd, `${COLLECTED}\n`),
          counting: (on) => writeSync(fd, `${on ? COUNT : END}\n`),
        });
      } finally {
        child.kill("SIGINT");
        await exited;
      }
      closeSync(fd);
      open = false;
      console.log(`${cell.name} ${cell.variant}: ${summarize(readFileSync(file, "utf8"), block)}`);
    } finally {
      if (open) closeSync(fd);
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * One cell's trace, summed up: compilations per block in each phase (`*` after a block where V8 started a full
 * collection of its own), the code the forced collection marked for deoptimization, and the count window's totals.
 */
function summarize(trace: string, block: number): string {
  const phases: string[][] = [[]];
  let compiled = 0;
  // Deoptimizations since the last marker: at the collection's marker, those of the quiet and the collection.
  let deoptimized = 0;
  let fullCollection = false;
  let atCollection = 0;
  let window = { compiled: 0, deoptimized: 0, fullCollections: 0 };
  let inWindow = false;
  const closeBlock = () => {
    phases.at(-1)!.push(`${compiled}${fullCollection ? "*" : ""}`);
    compiled = 0;
    fullCollection = false;
  };
  for (const line of trace.split("\n")) {
    if (line === BLOCK) {
      closeBlock();
      deoptimized = 0;
    } else if (line === COLLECTED) {
      atCollection = deoptimized;
      deoptimized = 0;
      compiled = 0;
      phases.push([]);
    } else if (line === COUNT) {
      inWindow = true;
      window = { compiled: 0, deoptimized: 0, fullCollections: 0 };
    } else if (line === END) inWindow = false;
    else if (line.startsWith("[completed compiling")) {
      compiled++;
      if (inWindow) window.compiled++;
    } else if (/^\[(bailout|marking dependent code .* for deoptimization)/.test(line)) {
      deoptimized++;
      if (inWindow) window.deoptimized++;
    } else if (line.includes(": Mark-Compact") && !line.includes("testing")) {
      fullCollection = true;
      if (inWindow) window.fullCollections++;
    }
  }
  const [priming, warmup] = phases;
  return [
    `compilations per ${block} units: priming ${priming!.join(" ")}`,
    `forced collection: ${atCollection} deoptimized`,
    `warm-up and count ${warmup!.join(" ")}`,
    `count window: ${window.compiled} compiled, ${window.deoptimized} deoptimized, ${window.fullCollections} full collections of V8's own`,
  ].join("; ");
}
