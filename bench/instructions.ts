/**
 * Instruction counts per request: one server variant at a time in a fresh process under
 * `valgrind --tool=callgrind`, instrumentation off while it starts and warms up, on for a fixed number of
 * sequential requests over one kept-alive connection, then off again. Instructions are what the CPU executes,
 * not how long it takes, so other load on this shared machine does not move them (two runs agree within 1%).
 * Counts cover every thread of the server process (V8's compiler and GC threads included); the load generator
 * is a separate process and is not counted.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { functionCosts } from "./callgrind-functions.js";

export interface InstructionCell {
  /** Instructions per unit of work (a request, or a reload), all threads of the server process. */
  readonly instructionsPerRequest: number;
  /**
   * Of those, V8's optimizing compilers (Maglev and Turbofan, `Compiler::CompileOptimized`, which `--predictable`
   * runs on the main thread): code still being optimized during the count. A server that has run for hours has paid
   * it long ago, so `instructionsPerRequest - compilerPerRequest` is the steady state's estimate.
   */
  readonly compilerPerRequest: number;
  /**
   * Of those, V8's garbage collector (`Heap::CollectGarbage`: scavenges and full collections, on the main thread
   * under `--predictable`). A window of 2,000 `me` requests holds about three scavenges, and what one costs depends on
   * how much is alive at that moment, so it moves from run to run of one commit (docs/performance.md).
   * `instructionsPerRequest - compilerPerRequest - collectorPerRequest` (the code's own work) moves less: compare
   * code changes with it, and allocation with the collector column over several runs.
   */
  readonly collectorPerRequest: number;
  readonly requests: number;
}

/** The server under count: its HTTP port and its process (for IPC questions). */
export interface CountedServer {
  readonly port: number;
  readonly child: ChildProcess;
}

/** Unit of work number `n` of a cell, done against the server; resolves when it is complete and correct. */
export type WorkOf = (n: number, server: CountedServer) => Promise<void>;

/**
 * Milliseconds of quiet after the priming units. Whatever a timer closes in the server (idle pool connections after
 * pg's 10 s, idle keep-alive sockets) closes now rather than at some point of the count: under callgrind a request
 * takes about 50 times longer than without, so where such a timer fires depends on the machine's speed, and it moved
 * counts between runs.
 */
const SETTLE_MS = 11_000;

/** Whether `valgrind` and `callgrind_control` are on PATH. */
export function hasCallgrind(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    execFileSync("callgrind_control", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Uncounted units done before the quiet and the full collection (`runCellSequence`): a fifth of `warmup`. */
const primingOf = (warmup: number): number => Math.ceil(warmup / 5);

/** Units of work `runCellSequence` does in all (priming, warm-up and count): unit numbers run from 0 to this, less 1. */
export const unitsOf = (warmup: number, requests: number): number => primingOf(warmup) + warmup + requests;

/**
 * Starts `serverArgs` (a Node command line, without `node`) under callgrind, waits for its `{ type: "ready",
 * port }` IPC message, does a fifth of `warmup` uncounted units of `work` (the priming), waits `SETTLE_MS`, asks it
 * for a full garbage collection (`{ type: "gc" }`, answered once done), does `warmup` more uncounted units (the
 * warm-up), then `requests` counted units, and returns the count per unit. Throws when the server fails or a unit of
 * work does.
 *
 * Why the collection comes before the warm-up and not just before the count: it clears weak references held by
 * optimized code, which deoptimizes the whole request path (about 150 functions on `me`), and V8 then tiers it up
 * again as it did from the start, its large functions reaching Turbofan only after about 10,000 more requests. A
 * count started a few thousand requests after the collection measured that re-optimization, which went differently
 * for two builds of the same request path (docs/performance.md, Method).
 */
export async function countInstructions(
  serverArgs: readonly string[],
  env: NodeJS.ProcessEnv,
  work: WorkOf,
  warmup: number,
  requests: number,
): Promise<InstructionCell> {
  const outDir = mkdtempSync(join(tmpdir(), "bench-callgrind-"));
  // BENCH_PROFILE=1: V8 lists the code it compiles (/tmp/perf-<pid>.map), so the profile can name JavaScript
  // functions (callgrind-functions.ts). The listing changes what V8 does a little: counts move by up to 5%.
  const profiling = process.env.BENCH_PROFILE === "1";
  const perfFlags = profiling ? ["--perf-basic-prof", "--no-logfile-per-isolate", `--logfile=${join(outDir, "v8.log")}`] : [];
  const child = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      "--instr-atstart=no",
      `--callgrind-out-file=${join(outDir, "callgrind.%p")}`,
      process.execPath,
      ...perfFlags,
      ...serverArgs,
    ],
    {
      env,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once("message", (m: { type: string; port: number }) => resolve(m.port));
      child.once("exit", (code) => reject(new Error(`server under callgrind exited with ${code}: ${stderr}`)));
    });
    await runCellSequence({ port, child }, work, warmup, requests, {
      counting: (on) => control(child.pid!, [on ? "--instr=on" : "--instr=off"]),
    });
    // SIGINT lets the server exit cleanly, and callgrind writes its totals at exit.
    child.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    const files = readdirSync(outDir)
      .filter((name) => name.startsWith("callgrind."))
      .map((name) => join(outDir, name));
    const total = files
      .map((file) => /^totals: (\d+)/m.exec(readFileSync(file, "utf8"))?.[1])
      .reduce((sum, value) => sum + Number(value ?? 0), 0);
    if (total === 0) throw new Error(`callgrind counted nothing: ${stderr}`);
    const v8Work = files.map(v8WorkInstructions);
    const compiler = v8Work.reduce((sum, work) => sum + work.compiler, 0);
    const collector = v8Work.reduce((sum, work) => sum + work.collector, 0);
    if (profiling) writeFunctionCosts(outDir, child.pid!, requests);
    return {
      instructionsPerRequest: total / requests,
      compilerPerRequest: compiler / requests,
      collectorPerRequest: collector / requests,
      requests,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (profiling) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
    // BENCH_KEEP_CALLGRIND=1 keeps the profiles for callgrind_annotate (where the instructions go).
    if (process.env.BENCH_KEEP_CALLGRIND || profiling) console.log(`callgrind profiles kept in ${outDir}`);
    else rmSync(outDir, { recursive: true, force: true });
  }
}

/** What `runCellSequence` tells its caller as it goes. */
export interface SequenceHooks {
  /** The count starts (`true`) or ends (`false`). */
  readonly counting?: (on: boolean) => void;
  /** Unit number `n` (from 0, over the whole sequence) is done. */
  readonly unitDone?: (n: number) => void;
  /** The full collection after the quiet is done. */
  readonly collected?: () => void;
}

/**
 * A cell's sequence against a started server: the priming (`primingOf(warmup)` units), `SETTLE_MS` of quiet, a full
 * collection (`{ type: "gc" }`, answered once done), `warmup` units, then `requests` counted units between
 * `hooks.counting(true)` and `hooks.counting(false)`. Rejects as soon as a unit of work does.
 */
export async function runCellSequence(
  server: CountedServer,
  work: WorkOf,
  warmup: number,
  requests: number,
  hooks: SequenceHooks = {},
): Promise<void> {
  let n = 0;
  const unit = async () => {
    await work(n, server);
    // Not `unitDone?.(n++)`: optional chaining skips its arguments when there is no hook.
    hooks.unitDone?.(n);
    n++;
  };
  for (let i = 0; i < primingOf(warmup); i++) await unit();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  await new Promise<void>((resolve) => {
    server.child.once("message", () => resolve());
    server.child.send({ type: "gc" });
  });
  hooks.collected?.();
  for (let i = 0; i < warmup; i++) await unit();
  hooks.counting?.(true);
  for (let i = 0; i < requests; i++) await unit();
  hooks.counting?.(false);
}

/** Writes `functions.txt` beside the profile: the 80 costliest functions, in instructions per unit of work. */
function writeFunctionCosts(outDir: string, pid: number, units: number): void {
  const costs = functionCosts(join(outDir, `callgrind.${pid}`), `/tmp/perf-${pid}.map`);
  const total = costs.reduce((sum, cost) => sum + cost.selfInstructions, 0);
  const lines = costs.slice(0, 80).map(
    ({ name, selfInstructions }) =>
      `${Math.round(selfInstructions / units)
        .toLocaleString("en-US")
        .padStart(10)} ${((100 * selfInstructions) / total).toFixed(2).padStart(6)}%  ${name}`,
  );
  writeFileSync(
    join(outDir, "functions.txt"),
    [`self instructions per unit of work (of ${Math.round(total / units).toLocaleString("en-US")}), costliest first`, ...lines, ""].join(
      "\n",
    ),
  );
}

/**
 * The inclusive counts of `v8::internal::Compiler::CompileOptimized` (the optimizing compilers) and
 * `v8::internal::Heap::CollectGarbage` (the collector) in a callgrind profile (0 when absent).
 */
function v8WorkInstructions(file: string): { compiler: number; collector: number } {
  const annotated = execFileSync("callgrind_annotate", ["--inclusive=yes", "--threshold=100", file], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const inclusive = (pattern: RegExp) => {
    const line = pattern.exec(annotated);
    return line ? Number(line[1]!.replaceAll(",", "")) : 0;
  };
  return {
    compiler: inclusive(/^\s*([\d,]+) .*v8::internal::Compiler::CompileOptimized\(/m),
    collector: inclusive(/^\s*([\d,]+) .*:v8::internal::Heap::CollectGarbage\(/m),
  };
}

function control(pid: number, args: string[]): void {
  execFileSync("callgrind_control", [...args, String(pid)], { stdio: "ignore" });
}

/**
 * Work of one HTTP request each: POSTs `requestOf(n)` to /graphql over one kept-alive connection; each must answer
 * 200 with `data`.
 */
export function httpRequests(requestOf: (n: number) => { token: string | null; body: string }): WorkOf {
  const agents = new WeakMap<ChildProcess, Agent>();
  return (n, { port, child }) => {
    let agent = agents.get(child);
    if (!agent) {
      const created = new Agent({ keepAlive: true, maxSockets: 1 });
      child.once("exit", () => created.destroy());
      agents.set(child, (agent = created));
    }
    return send(agent, port, requestOf(n));
  };
}

/**
 * Asks a server process (bench/server.ts) one IPC question, `{ type }`, and resolves with its first answer of the
 * same type.
 */
export function askServer<T>(child: ChildProcess, type: string): Promise<{ type: string } & T> {
  return new Promise((resolve) => {
    const onMessage = (m: { type: string } & T) => {
      if (m.type !== type) return;
      child.off("message", onMessage);
      resolve(m);
    };
    child.on("message", onMessage);
    child.send({ type });
  });
}

/** Work of one IPC round trip each: sends `{ type }` to the server and waits for its answer `{ type, ok: true }`. */
export function ipcQuestions(type: string): WorkOf {
  return async (_n, { child }) => {
    const { ok } = await askServer<{ ok?: boolean }>(child, type);
    if (!ok) throw new Error(`the server failed ${type}`);
  };
}

function send(agent: Agent, port: number, { token, body }: { token: string | null; body: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = request({ host: "127.0.0.1", port, path: "/graphql", method: "POST", agent, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        if (res.statusCode !== 200 || !text.includes('"data"'))
          reject(new Error(`unexpected answer ${res.statusCode}: ${text.slice(0, 300)}`));
        else resolve();
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}
