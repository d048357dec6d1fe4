#!/usr/bin/env python3
"""Renders the tables of RESULTS-classifier.md from the Rust and peer bench JSON files.

    python benches/classifier/render_results.py RUST.json PEERS.json
"""

import json
import sys

rust = json.load(open(sys.argv[1]))
peers = json.load(open(sys.argv[2]))
cases = ["16_tokens", "64_tokens", "256_tokens", "512_tokens", "doc_4000_tokens"]
print(f"Threads: {rust['threads']}, window {rust['window_tokens']} tokens (overlap {rust['stride_tokens']}), "
      f"batch {rust['batch_size']}; torch {peers['torch']}, transformers {peers['transformers']}, "
      f"onnxruntime {peers['onnxruntime']}.\n")
print("| input | windows | Vallum end-to-end p50 / p99 (ms) | Vallum encoder p50 / p99 | PyTorch p50 / p99 | ONNX Runtime p50 / p99 | Vallum enc. / ORT | PyTorch / Vallum enc. |")
print("|---|---|---|---|---|---|---|---|")
for c in cases:
    r = rust["cases"][c]
    p = peers["cases"][c]
    print(f"| {c.replace('_', ' ')} | {r['windows']} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} | "
          f"{r['encoder_p50_ms']:.2f} / {r['encoder_p99_ms']:.2f} | {p['torch']['p50_ms']:.2f} / {p['torch']['p99_ms']:.2f} | "
          f"{p['ort']['p50_ms']:.2f} / {p['ort']['p99_ms']:.2f} | {r['encoder_p50_ms'] / p['ort']['p50_ms']:.2f}x | "
          f"{p['torch']['p50_ms'] / r['encoder_p50_ms']:.2f}x |")
bt = rust["cases"]["batch_throughput"]
pb = peers["cases"]["batch_throughput"]
print("\n| batch throughput (256 prompts of 16-64 tokens, batch 16) | texts/s | tokens/s |")
print("|---|---|---|")
print(f"| Vallum (score_batch, end to end) | {bt['texts_per_s']:.1f} | {bt['tokens_per_s']:.0f} |")
print(f"| PyTorch | {pb['torch']['texts_per_s']:.1f} | {pb['torch']['tokens_per_s']:.0f} |")
print(f"| ONNX Runtime | {pb['ort']['texts_per_s']:.1f} | {pb['ort']['tokens_per_s']:.0f} |")
print("\n| load and memory | Vallum | PyTorch | ONNX Runtime |")
print("|---|---|---|---|")
print(f"| load time (ms) | {rust['load_ms']:.0f} (incl. SHA-256 of 91 MB) | {peers['torch_load_ms']:.0f} | {peers['ort_load_ms']:.0f} (session only) |")
print(f"| RSS after load (MiB) | {rust['rss_after_load_mib']:.0f} | {peers['torch_rss_after_load_mib']:.0f} (process, incl. torch) | — |")
print(f"| peak RSS (MiB) | {rust['peak_rss_mib']:.0f} | {peers['peak_rss_mib']:.0f} (torch + ORT in one process) | |")
print(f"\nPyTorch vs ONNX Runtime max |Δp| on one batch: {peers['torch_vs_ort_max_abs_diff']:.2e}")
