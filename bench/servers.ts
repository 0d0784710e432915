/**
 * The server variants of the wall-clock and `--memory` modes: each a child process of bench/server.ts, told the
 * run's JWKS URL and pinned to core 0 when the run pins, and the requests and IPC questions the bench puts to it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { askServer } from "./instructions.js";
import type { BenchRun, Variant } from "./scenarios.js";

export interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

/** Starts one variant (with `nodeFlags` for node) and resolves once it listens. */
export async function startServer(
  run: Pick<BenchRun, "jwks" | "pinning">,
  variant: Variant,
  nodeFlags: readonly string[] = [],
): Promise<Server> {
  const node = [process.execPath, ...nodeFlags, "--import", "tsx", join(import.meta.dirname, "server.ts"), variant];
  // taskset execs node in place, so the IPC channel that spawn sets up reaches the server.
  const [command, ...args] = run.pinning ? ["taskset", "-c", "0", ...node] : node;
  const child = spawn(command!, args, {
    env: { ...process.env, BENCH_JWKS_URL: run.jwks.url, NODE_ENV: "production" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { type: string; port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`${variant} server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}

function ask<T>(server: Server, type: "stats" | "memory"): Promise<T> {
  return askServer<T>(server.child, type);
}

/** The server's CPU time so far (user + system) and the SQL statements it has run. */
export function stats(server: Server): Promise<{ cpuMicros: number; queries: number }> {
  return ask(server, "stats");
}

/** The server's memory after a full collection (it must run with --expose-gc). */
export function memoryOf(server: Server): Promise<{ rss: number; heapUsed: number; heapTotal: number }> {
  return ask(server, "memory");
}

/** POSTs one GraphQL request with `token` and resolves with the answer's JSON. */
export async function post(server: Server, token: string, body: string) {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body,
  });
  return (await response.json()) as { data?: unknown; errors?: unknown[] };
}
