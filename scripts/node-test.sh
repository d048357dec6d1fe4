#!/usr/bin/env bash
# Builds and tests the Node package (node/, native addon from bindings/node):
#   1. npm install in node/ (dev dependencies: @napi-rs/cli, typescript, @types/node)
#   2. builds the addon with the napi CLI and regenerates the TypeScript declarations from
#      the Rust doc comments into a scratch folder; the committed node/index.d.ts must equal
#      them
#   3. tsc --noEmit on a usage file (node/test/types/usage.ts)
#   4. node --test over the shared testdata and the Node-specific tests
# Usage: bash scripts/node-test.sh   (VALLUM_NODE_PROFILE=debug for a quicker build; the
# default is release: a debug guard takes seconds to compile its rules, which the suite's
# many guards would pay over and over)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "node >= 20 is required, found $(node --version)" >&2
  exit 1
fi

cd node
echo "--> npm install (from package-lock.json)"
# `npm install`, not `npm ci`: the registry mirror lacks some other platforms' optional
# packages of the napi CLI, which `npm ci` treats as a lock file out of sync. Scripts are
# skipped: `prepare` would build the release addon, which the next step does instead.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error

profile_flag=(--release)
if [ "${VALLUM_NODE_PROFILE:-release}" = debug ]; then
  profile_flag=()
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "--> napi build ${profile_flag[*]:-(debug)}"
npx --no-install napi build --platform "${profile_flag[@]}" \
  --manifest-path ../bindings/node/Cargo.toml --package vallum-node \
  --output-dir "$scratch" --no-js --no-const-enum --dts index.d.ts
cp "$scratch"/vallum.*.node .

echo "--> index.d.ts is up to date"
if ! diff -u index.d.ts "$scratch/index.d.ts"; then
  echo "node/index.d.ts differs from the declarations generated from bindings/node;" >&2
  echo "run 'npm run build' in node/ and commit node/index.d.ts" >&2
  exit 1
fi

echo "--> tsc --noEmit"
npx --no-install tsc --noEmit -p tsconfig.json

echo "--> node --test"
node --test test/*.test.js test/*.test.mjs
