/**
 * `npm run bench -- --syscalls`: system calls per `me` request, auth-on against the floor (or `--variants a,b`).
 * Instruction counts see only user-space work; what a request costs the kernel (log writes, socket calls, timers) is
 * counted here instead, with `strace -c -f` attached to the server process (bench/server.ts, production mode, an
 * in-memory PGlite) for a fixed number of requests after a warm-up. strace slows the server down a lot, so read
 * the counts, not the times it prints. Needs strace (Debian package strace) and ptrace permission on own processes.
 *   --requests N   counted requests per variant (default 5000; 500 with --quick)
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { startJwksServer } from "../test/helpers/jwks-server.js";
import { generateRsaKey, jwksOf, signToken } from "../test/helpers/keys.js";
import { BENCH_CLIENT_ID, BENCH_POOL_ID, USERS } from "./fixture.js";
import { writeResults } from "./results-file.js";

const quick = process.argv.includes("--quick");
const flag = (name: string) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const REQUESTS = Number(flag("--requests") ?? (quick ? 500 : 5000));
const WARMUP = quick ? 500 : 5000;
const VARIANTS = flag("--variants")?.split(",") ?? ["auth-on", "floor"];
const CONNECTIONS = 10;
const ME = JSON.stringify({ query: "{ me { sub username groups } }" });

/** One variant's system calls over the counted requests, by name. */
interface SyscallCell {
  readonly requests: number;
  readonly calls: Record<string, number>;
}

export async function runSyscallBench(): Promise<void> {
  try {
    execFileSync("strace", ["-V"], { stdio: "ignore" });
  } catch {
    throw new Error("--syscalls needs strace on PATH (Debian package strace)");
  }
  const key = generateRsaKey();
  const jwks = await startJwksServer(jwksOf(key));
  const now = Math.floor(Date.now() / 1000);
  const token = signToken(key, {
    sub: USERS.admin.sub,
    iss: `https://cognito-idp.us-east-1.amazonaws.com/${BENCH_POOL_ID}`,
    client_id: BENCH_CLIENT_ID,
    token_use: "access",
    scope: "openid",
    username: USERS.admin.username,
    "cognito:groups": USERS.admin.groups,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
  });
  const cells: Record<string, SyscallCell> = {};
  try {
    for (const variant of VARIANTS) cells[variant] = await measure(variant, jwks.url, token);
  } finally {
    await jwks.close();
  }
  report(cells);
  console.log(`raw results: ${writeResults("syscalls", quick, { scenario: "me", warmup: WARMUP, cells })}`);
}

async function measure(variant: string, jwksUrl: string, token: string): Promise<SyscallCell> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "server.ts"), variant], {
    env: { ...process.env, BENCH_JWKS_URL: jwksUrl, NODE_ENV: "production" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const dir = mkdtempSync(join(tmpdir(), "bench-strace-"));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once("message", (m: { port: number }) => resolve(m.port));
      child.once("exit", (code) => reject(new Error(`${variant} server exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}/graphql`;
    await load(url, token, WARMUP);
    const out = join(dir, "strace.txt");
    const strace = spawn("strace", ["-c", "-f", "-o", out, "-p", String(child.pid)], { stdio: ["ignore", "ignore", "pipe"] });
    await attached(strace);
    await load(url, token, REQUESTS);
    strace.kill("SIGINT");
    await new Promise((resolve) => strace.once("exit", resolve));
    return { requests: REQUESTS, calls: parseSummary(readFileSync(out, "utf8")) };
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves once strace has attached to every thread ("Process N attached" on stderr, then a quiet moment). */
function attached(strace: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => reject(new Error("strace did not attach within 10 s")), 10_000);
    strace.stderr!.on("data", (chunk: Buffer) => {
      if (!chunk.toString("utf8").includes("attached")) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        clearTimeout(deadline);
        resolve();
      }, 500);
    });
    strace.once("exit", (code) => reject(new Error(`strace exited with ${code}`)));
  });
}

async function load(url: string, token: string, amount: number): Promise<void> {
  const result = await autocannon({
    url,
    method: "POST",
    connections: CONNECTIONS,
    amount,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: ME,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx answers and ${result.errors} errors`);
}

/** `strace -c` summary lines: `% time  seconds  usecs/call  calls  [errors]  syscall`. */
function parseSummary(text: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const name = fields.at(-1);
    if (fields.length < 5 || !name || !/^\d/.test(fields[0]!) || name === "total") continue;
    calls[name] = Number(fields[3]);
  }
  return calls;
}

function report(cells: Record<string, SyscallCell>): void {
  const variants = Object.keys(cells);
  const names = [...new Set(variants.flatMap((v) => Object.keys(cells[v]!.calls)))];
  const perRequest = (v: string, name: string) => (cells[v]!.calls[name] ?? 0) / cells[v]!.requests;
  names.sort((a, b) => Math.max(...variants.map((v) => perRequest(v, b))) - Math.max(...variants.map((v) => perRequest(v, a))));
  console.log(`\nNode ${process.version}, system calls per \`me\` request (strace -c -f, ${CONNECTIONS} connections)`);
  console.log(`syscall            ${variants.map((v) => v.padStart(10)).join(" ")}`);
  for (const name of names) {
    if (variants.every((v) => perRequest(v, name) < 0.005)) continue;
    console.log(`${name.padEnd(18)} ${variants.map((v) => perRequest(v, name).toFixed(2).padStart(10)).join(" ")}`);
  }
  const total = (v: string) => Object.values(cells[v]!.calls).reduce((a, b) => a + b, 0) / cells[v]!.requests;
  console.log(`${"total".padEnd(18)} ${variants.map((v) => total(v).toFixed(2).padStart(10)).join(" ")}`);
}
