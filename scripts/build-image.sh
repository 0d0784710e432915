#!/usr/bin/env bash
# Builds the production server into OUT_DIR: the steps of the Dockerfile's build stage, runnable on any machine
# with Node 24 and npm (test/e2e/server/image.test.ts runs it here, then starts the result, since no image can be built
# where there is no Docker daemon).
#
#   scripts/build-image.sh OUT_DIR
#
# OUT_DIR gets dist/ (the compiled server), schema/, package.json, package-lock.json and node_modules/ with the
# production dependencies only; `node dist/main.js` in OUT_DIR starts the API. The repository is not touched: the
# sources are copied to a scratch folder, installed (`npm ci`, exactly the lock file), compiled (`npm run build`)
# and pruned (`npm prune --omit=dev`) there.
set -euo pipefail
out="${1:?usage: scripts/build-image.sh OUT_DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp -R "$root/package.json" "$root/package-lock.json" "$root/tsconfig.json" "$root/tsconfig.build.json" "$root/src" "$root/schema" "$work/"
cd "$work"
npm ci --no-audit --no-fund --loglevel=error
npm run -s build
npm prune --omit=dev --no-audit --no-fund --loglevel=error
mkdir -p "$out"
mv dist schema node_modules package.json package-lock.json "$out/"
echo "Built the server into $out (start: NODE_ENV=production node dist/main.js)"
