#!/usr/bin/env python3
"""FPR and recall per threshold from ``vallum-train windows`` output files.

Each text's score is the maximum over its windows (what Vallum's policy compares with
``classifier.min_score``). One row per file and label: the false-positive rate of its
benign texts, the recall of its injections, at each threshold, as a Markdown table.

    vallum-train windows --base BASE --trained FILE --file data/val.jsonl --out w/val.jsonl
    python scripts/classifier/threshold_table.py w/*.jsonl [--thresholds 0.5,0.7,0.9]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--thresholds", default="0.5,0.7,0.8,0.85,0.9,0.95")
    ap.add_argument("--by-source", action="store_true", help="one row per source as well")
    args = ap.parse_args()
    ts = [float(t) for t in args.thresholds.split(",")]
    print("| set | " + " | ".join(f"{t:g}" for t in ts) + " |")
    print("|---|" + "---|" * len(ts))
    for path in args.files:
        groups: dict[tuple[str, int], list[float]] = {}
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line:
                r = json.loads(line)
                score = max((w["score"] for w in r["windows"]), default=0.0)
                keys = [path.stem] + ([f"{path.stem} / {r['source']}"] if args.by_source else [])
                for key in keys:
                    groups.setdefault((key, int(r["label"])), []).append(score)
        for (name, label), scores in groups.items():
            what = "FPR" if label == 0 else "recall"
            cells = [100.0 * sum(s >= t for s in scores) / len(scores) for t in ts]
            print(f"| {name}, {'benign' if label == 0 else 'injections'} ({len(scores):,}) {what} | "
                  + " | ".join(f"{c:.2f}%" for c in cells) + " |")


if __name__ == "__main__":
    main()
