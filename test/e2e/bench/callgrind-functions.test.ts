import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { functionCosts } from "../../../bench/callgrind-functions.js";

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "callgrind-functions-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const hasValgrind = (() => {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("functionCosts", () => {
  it("sums each function's own cost, leaves calls' inclusive costs to the callee, and names JIT addresses from the perf map", () => {
    const dir = scratch();
    const profile = join(dir, "callgrind.1");
    // callgrind's format with name compression: `fn=(id) name` once, `fn=(id)` after; the line after `calls=` is
    // the inclusive cost of that call.
    writeFileSync(
      profile,
      [
        "version: 1",
        "positions: line",
        "events: Ir",
        "fn=(1) main",
        "0 100",
        "cfn=(2) 0x0000000000001010",
        "calls=3 0",
        "0 5000",
        "+1 20",
        "fn=(2)",
        "0 3000",
        "cfn=(3) Builtins_LoadIC",
        "calls=1 0",
        "0 2000",
        "fn=(3)",
        "0 2000",
        "fn=(4) 0x0000000000009999",
        "0 7",
        "totals: 5127",
        "",
      ].join("\n"),
    );
    const perfMap = join(dir, "perf.map");
    writeFileSync(perfMap, ["2000 10 JS:*other file.js:1:1", "1000 40 JS:*hot file.js:2:3", ""].join("\n"));

    expect(functionCosts(profile, perfMap)).toEqual([
      { name: "JS:*hot file.js:2:3", selfInstructions: 3000 },
      { name: "Builtins_LoadIC", selfInstructions: 2000 },
      { name: "main", selfInstructions: 120 },
      // Outside every mapped range: kept as its address.
      { name: "0x0000000000009999", selfInstructions: 7 },
    ]);
  });

  it.skipIf(!hasValgrind)("names a hot JavaScript function of a real Node process under callgrind", () => {
    const dir = scratch();
    const script =
      "function hotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * 7) % 1000003; return s; } let t = 0; for (let k = 0; k < 200; k++) t += hotLoop(50000); console.log(t);";
    execFileSync(
      "valgrind",
      [
        "--tool=callgrind",
        `--callgrind-out-file=${join(dir, "callgrind.%p")}`,
        process.execPath,
        "--predictable",
        "--perf-basic-prof",
        "-e",
        script,
      ],
      { cwd: dir, stdio: "ignore" },
    );
    const file = readdirSync(dir).find((name) => name.startsWith("callgrind."))!;
    const pid = file.slice("callgrind.".length);
    try {
      const costs = functionCosts(join(dir, file), `/tmp/perf-${pid}.map`);
      const total = costs.reduce((sum, cost) => sum + cost.selfInstructions, 0);
      const hot = costs.filter((cost) => /^JS:\S*hotLoop /.test(cost.name)).reduce((sum, cost) => sum + cost.selfInstructions, 0);
      // The loop (10 million iterations, two thirds of the count) stands out from Node's start-up; without the names
      // it would be bare addresses. --predictable, as in the bench: V8 compiles on the main thread, so the loop is
      // compiled code in every run (with background compilers, a run under load once ran it all in the interpreter).
      expect(hot / total).toBeGreaterThan(0.1);
      expect(costs.find((cost) => cost.name.startsWith("JS:"))?.name).toMatch(/hotLoop/);
    } finally {
      rmSync(`/tmp/perf-${pid}.map`, { force: true });
    }
  });
});
