#!/usr/bin/env bash
# Runs a fuzz campaign: every target (or those named) in turn for SECONDS each, with the
# shared dictionary and the committed seeds and regression inputs as starting corpus, and
# prints libFuzzer's final statistics. Crashes land in fuzz/artifacts/<target>/.
#
#   bash fuzz/campaign.sh                 # every target, 300 s each
#   SECONDS_PER_TARGET=900 bash fuzz/campaign.sh stream policy
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The machine's toolchain is
# stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags. No sanitizer (the project
# has no unsafe code; panics and assertion failures are what the checks catch), with
# debug assertions and overflow checks on.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${SECONDS_PER_TARGET:-300}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(scan_input scan_output stream redact policy decoders view)
fi
cargo fuzz build -s none --debug-assertions
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds+=("seeds/$t")
  [ -d "regressions/$t" ] && seeds+=("regressions/$t")
  echo "==> $t for ${seconds}s"
  cargo fuzz run -s none --debug-assertions "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=8192 \
    -dict=dict/vallum.dict -print_final_stats=1 2>&1 |
    grep -E '^stat::|panicked|SUMMARY|Test unit written' || true
done
