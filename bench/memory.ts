/**
 * `npm run bench -- --memory`: auth-on's resident memory and heap before, at and past the verified-token cache's
 * bound, read after a full collection between batches of never-seen tokens, and the heap bytes per cached token.
 */
import { memoryOf, post, startServer } from "./servers.js";
import type { BenchRun } from "./scenarios.js";

/**
 * `--memory`: the verified-token cache holds at most 10,000 tokens, so memory must stop growing there. Sends five
 * batches of 10,000 never-seen tokens and reads the server's memory after a full collection before and after each:
 * the heap must stop growing at the first, and the resident size must level off.
 */
export async function runMemory(run: BenchRun): Promise<void> {
  const perPhase = run.quick ? 1000 : 10_000;
  const server = await startServer(run, "auth-on", ["--expose-gc"]);
  try {
    const me = JSON.stringify({ query: "{ me { sub } }" });
    // Minted before any request: minting blocks this process for seconds, and a kept-alive socket left idle
    // meanwhile is closed by the server (5 s), which a blocked client notices only when it sends on it.
    const batches = Array.from({ length: 5 }, () => run.mintDistinct(perPhase));
    const sendDistinct = async (tokens: string[]) => {
      let next = 0;
      // Ten requests in flight at a time, as ten clients would.
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < tokens.length) {
            const answer = await post(server, tokens[next++]!, me);
            if (!answer.data) throw new Error(`unexpected answer ${JSON.stringify(answer).slice(0, 200)}`);
          }
        }),
      );
    };
    const phases = [{ tokens: 0, ...(await memoryOf(server)) }];
    for (const [n, batch] of batches.entries()) {
      await sendDistinct(batch);
      phases.push({ tokens: (n + 1) * perPhase, ...(await memoryOf(server)) });
    }
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    console.log(`\nNode ${process.version}, auth-on, memory after a full collection (verified-token cache bound: 10,000)`);
    console.log("distinct tokens sent          rss          heap used   heap committed");
    for (const phase of phases)
      console.log(
        `${String(phase.tokens).padEnd(28)} ${mib(phase.rss).padStart(10)} ${mib(phase.heapUsed).padStart(14)} ${mib(phase.heapTotal).padStart(16)}`,
      );
    const [start, atBound, last] = [phases[0]!, phases[1]!, phases.at(-1)!];
    const perToken = (atBound.heapUsed - start.heapUsed) / perPhase;
    console.log(
      `heap per cached token: ${perToken.toFixed(0)} bytes; past the bound (${perPhase} to ${last.tokens} tokens): heap ${mib(last.heapUsed - atBound.heapUsed)}, rss ${mib(last.rss - atBound.rss)}`,
    );
    const file = run.writeResults("memory", { perPhase, phases, heapBytesPerCachedToken: perToken });
    console.log(`raw results: ${file}`);
  } finally {
    server.child.kill("SIGKILL");
  }
}
