// Stops `npm start`, `npm test` and friends at once on a Node older than this project's, with one line saying
// which Node is needed and how to get it (an old Node otherwise gets far and then fails obscurely, e.g. vitest's
// "Map.groupBy is not a function" on Node 20). Plain JavaScript that any Node since 12 parses: it must run on the
// Node it refuses. `npm ci` is stopped earlier by `engine-strict=true` in .npmrc.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const engines = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines || {};
const range = String(engines.node || "");
const minimum = /^>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
if (!minimum) {
  process.stderr.write(`scripts/check-node.mjs: package.json's engines.node must read ">=MAJOR.MINOR", not "${range}"\n`);
  process.exit(1);
}
const want = minimum.slice(1).map((part) => Number(part || 0));
const have = process.versions.node.split(".").map(Number);
const older = want[0] !== have[0] ? have[0] < want[0] : want[1] !== have[1] ? have[1] < want[1] : have[2] < want[2];
if (older) {
  const pinned = readFileSync(join(root, ".nvmrc"), "utf8").trim();
  process.stderr.write(
    `This project needs Node ${range} (.nvmrc: ${pinned}); this is Node ${process.version}. ` +
      `Run \`nvm use\` (or \`fnm use\`, volta), or \`source .ci/use-node.sh\` to put Node ${pinned} first on PATH, then run the command again.\n`,
  );
  process.exit(1);
}
