#!/usr/bin/env python3
"""Writes the inputs of the repository's own ``testdata/*.jsonl`` cases as a classifier
evaluation file (never used for training or for choosing thresholds).

A case is labelled 1 when it expects a ``prompt_injection`` finding or a ``block`` verdict,
else 0; output-direction cases and empty texts are left out. The rule-pack cases are full of
keys, identifiers, phone numbers and odd characters, which the generated held-out sets lack.

    python scripts/classifier/testdata_probe.py --out DIR
    target/release/vallum-train eval --data DIR --files test_repo_testdata.jsonl \\
        --base BASE --trained FILE --out metrics.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in sorted((ROOT / "testdata").glob("*.jsonl")):
        if path.name == "output.jsonl":  # answers, not prompts
            continue
        # Split on "\n" only: str.splitlines would also split at U+2028 inside a case's text.
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line.strip() or line.startswith("//"):
                continue
            case = json.loads(line)
            text = case.get("text", "")
            if not text.strip() or case.get("direction") == "output":
                continue
            cats = {e.get("category") for e in case.get("expect", [])}
            label = int("prompt_injection" in cats or case.get("verdict") == "block")
            rows.append({"text": text, "label": label, "source": "testdata-" + path.stem})
    out = args.out / "test_repo_testdata.jsonl"
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    pos = sum(r["label"] for r in rows)
    print(f"wrote {out}: {len(rows)} texts, {pos} with an injection")


if __name__ == "__main__":
    main()
