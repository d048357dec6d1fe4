#!/usr/bin/env bash
# Vallum against presidio-analyzer (pattern recognizers), detect-secrets and a Python `re` loop
# over Vallum's rules: speed on the corpora of benches/src/lib.rs, precision and recall on
# testdata/{pii,secrets}.jsonl, in one run. Writes benches/compare/RESULTS-compare.md.
#
#   bash benches/compare/run.sh                     # 128 KiB per corpus, 5 rounds
#   bash benches/compare/run.sh --quick             # 32 KiB per corpus, 1 round (smoke test)
#   bash benches/compare/run.sh --rounds 9 --kib 512
#   bash benches/compare/run.sh --with-classifier   # also the classifier bench (benches/classifier)
#
# The peers live in a bench-only virtualenv (benches/compare/.venv, gitignored; VALLUM_COMPARE_VENV
# overrides), never in CI. Needs a Rust toolchain and Python >= 3.11.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
here=benches/compare
venv="${VALLUM_COMPARE_VENV:-$root/$here/.venv}"
python="${PYTHON:-python3}"
rounds=5 kib=128 classifier=0 out="$here/RESULTS-compare.md"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) rounds=1 kib=32 out="target/compare-quick.md" ;;
        --rounds) rounds="$2"; shift ;;
        --kib) kib="$2"; shift ;;
        --out) out="$2"; shift ;;
        --with-classifier) classifier=1 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

if [[ ! -x "$venv/bin/python" ]]; then
    echo "compare: creating $venv"
    "$python" -m venv "$venv"
fi
export PATH="$venv/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1
pip install --quiet -r "$here/requirements.txt"

echo "compare: building the Vallum Python package (release profile)"
MATURIN_PEP517_ARGS="--profile release" \
    pip install --quiet --no-build-isolation --no-deps --force-reinstall ./python

corpora=target/compare-corpora
cargo run --quiet --release -p vallum-benches --example dump_corpora -- "$corpora" "$kib"

python -m mypy --strict "$here/compare.py"
python "$here/compare.py" --corpora "$corpora" --rounds "$rounds" --out "$out"
echo "compare: wrote $out"

if [[ $classifier == 1 ]]; then
    # The model comparison (PyTorch, ONNX Runtime) is benches/classifier's; its commands, as
    # its README gives them, with the tables printed to target/compare-classifier.md.
    scripts/classifier/install_model.sh
    cargo run --release -p vallum-classifier --example classifier_bench -- --threads 1 --iters 200 \
        --export target/classifier-bench-inputs.json --out target/classifier-bench-rust.json
    if [[ ! -x .venv-bench/bin/python ]]; then
        "$python" -m venv .venv-bench
        .venv-bench/bin/pip install torch==2.15.0 transformers==5.23.0 onnxruntime==1.31.1 \
            onnx==1.23.2 onnxscript safetensors numpy
    fi
    .venv-bench/bin/python benches/classifier/peers.py \
        --model-dir ~/.cache/vallum/models/vallum-injection-v5 \
        --inputs target/classifier-bench-inputs.json --threads 1 --out target/classifier-bench-peers.json
    python benches/classifier/render_results.py target/classifier-bench-rust.json \
        target/classifier-bench-peers.json > target/compare-classifier.md
    echo "compare: classifier tables in target/compare-classifier.md (see benches/classifier/)"
fi
