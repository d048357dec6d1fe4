#!/usr/bin/env python3
"""Builds a *validation* set of documents with an inserted injection, from the validation
split alone (never from a test split), for choosing how long texts are scored.

The held-out ``test_embedded.jsonl`` inserts a test-split injection at a paragraph boundary
of a held-out document. This file is built the other way round from validation material, so
that a scoring choice made on it is not made on the test set: each multi-paragraph benign
validation document gets one validation injection (under 600 characters), at a paragraph
boundary for half of them and after a sentence inside a paragraph for the other half, so
that a choice that only helps paragraph-aligned injections shows as such. The benign
documents themselves are written too, for the false-positive side.

    python scripts/classifier/val_embedded.py --data target/vallum-classifier/data \\
        --out target/vallum-classifier/val-docs
    vallum-train eval --data target/vallum-classifier/val-docs --files val_docs.jsonl,val_embedded.jsonl ...

Writes ``val_docs.jsonl`` (label 0) and ``val_embedded.jsonl`` (label 1, ``span`` = the
injection's bytes). Deterministic for a given dataset and ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def insert(doc: str, inj: str, rng: random.Random, inside: bool) -> tuple[str, int]:
    """``doc`` with ``inj`` inserted; returns the text and the injection's char offset."""
    paras = doc.split("\n\n")
    if inside:
        k = rng.randrange(len(paras))
        cuts = [m.start() for m in SENTENCE_END.finditer(paras[k])]
        if cuts:
            cut = rng.choice(cuts)
            before = "\n\n".join(paras[:k] + [paras[k][:cut]]) + " "
            after = " " + paras[k][cut:].lstrip() + "".join("\n\n" + p for p in paras[k + 1:])
            return before + inj + after, len(before)
    k = rng.randrange(len(paras) + 1)
    before = "\n\n".join(paras[:k])
    before += "\n\n" if before else ""
    after = "\n\n".join(paras[k:])
    return before + inj + ("\n\n" + after if after else ""), len(before)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True, help="prepare_data.py's output folder")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    val = read(args.data / "val.jsonl")
    docs = [(r["text"], r["source"]) for r in val if r["label"] == 0
            and "\n\n" in r["text"].strip() and len(r["text"]) >= 1000]
    injections = [r["text"] for r in val if r["label"] == 1 and len(r["text"]) < 600
                  and not r["source"].startswith("pyrit")]
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "val_docs.jsonl", "w", encoding="utf-8") as f:
        for d, source in docs:
            f.write(json.dumps({"text": d, "label": 0, "source": source}, ensure_ascii=False) + "\n")
    with open(args.out / "val_embedded.jsonl", "w", encoding="utf-8") as f:
        for i, (d, source) in enumerate(docs):
            inj = rng.choice(injections)
            inside = i % 2 == 1
            text, at = insert(d, inj, rng, inside)
            start = len(text[:at].encode("utf-8"))
            row = {"text": text, "label": 1, "source": f"{source}+val-injection"
                   + ("-in-paragraph" if inside else "-own-paragraph"),
                   "span": [start, start + len(inj.encode("utf-8"))]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(docs)} validation documents, {len(injections)} validation injections")


if __name__ == "__main__":
    main()
