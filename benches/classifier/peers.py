#!/usr/bin/env python3
"""Peer benchmark: the same trained Vallum classifier in PyTorch (transformers) and ONNX Runtime.

Bench-only (never in CI). Runs exactly the token-id windows and batches that the Rust bench
exported (classifier_bench --export inputs.json), with the same thread count, and prints JSON.

    python benches/classifier/peers.py --model-dir ~/.cache/vallum/models/vallum-injection-v5 \
        --inputs inputs.json --threads 1 --out peers.json
Needs (a throwaway venv): torch, transformers, onnxruntime, onnx, onnxscript, safetensors, numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def batches(windows, bs):
    order = sorted(windows, key=len, reverse=True)
    for i in range(0, len(order), bs):
        chunk = order[i:i + bs]
        t = max(len(s) for s in chunk)
        ids = np.zeros((len(chunk), t), dtype=np.int64)
        mask = np.zeros((len(chunk), t), dtype=np.int64)
        for r, s in enumerate(chunk):
            ids[r, :len(s)] = s
            mask[r, :len(s)] = 1
        yield ids, mask


def timeit(fn, n, warm=3):
    for _ in range(warm):
        fn()
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - t) * 1e3)
    lat.sort()
    return {"p50_ms": lat[int(round((n - 1) * 0.5))], "p99_ms": lat[int(round((n - 1) * 0.99))], "iters": n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--onnx", default="/tmp/vallum-injection.onnx")
    ap.add_argument("--out")
    a = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(a.threads)

    import torch
    import transformers
    from safetensors.numpy import load_file

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    inputs = json.load(open(a.inputs))
    bs = inputs["batch_size"]
    report = {"threads": a.threads, "torch": torch.__version__, "transformers": transformers.__version__}

    rss0 = rss_mib()
    t0 = time.perf_counter()
    cfg = transformers.BertConfig.from_json_file(f"{a.model_dir}/config.json")
    bert = transformers.BertModel(cfg, add_pooling_layer=False)
    sd = load_file(f"{a.model_dir}/model.safetensors")
    sd.update(load_file(f"{a.model_dir}/vallum-injection.safetensors"))
    w = torch.from_numpy(sd.pop("classifier.weight").astype(np.float32))
    b = torch.from_numpy(sd.pop("classifier.bias").astype(np.float32))
    sd = {k: torch.from_numpy(v.astype(np.float32) if v.dtype == np.float16 else v) for k, v in sd.items()}
    missing, unexpected = bert.load_state_dict(sd, strict=False)
    assert not [m for m in missing if "position_ids" not in m], missing

    class Clf(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(cfg.hidden_size, 1)
            self.head.weight.data.copy_(w)
            self.head.bias.data.copy_(b)

        def forward(self, ids, mask):
            h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.sigmoid(self.head(pooled)).squeeze(-1)

    model = Clf().eval()
    report["torch_load_ms"] = (time.perf_counter() - t0) * 1e3
    report["torch_rss_after_load_mib"] = rss_mib()
    report["rss_before_load_mib"] = rss0

    # ONNX export (once) and ORT session.
    ex_ids = torch.tensor([[101, 2023, 2003, 102]])
    ex_mask = torch.ones_like(ex_ids)
    if not os.path.exists(a.onnx):
        try:
            torch.onnx.export(model, (ex_ids, ex_mask), a.onnx, input_names=["ids", "mask"],
                              output_names=["p"], opset_version=17, dynamo=False,
                              dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "p": {0: "b"}})
        except Exception as e:  # noqa: BLE001
            print("legacy exporter failed, trying dynamo:", e)
            b_, t_ = torch.export.Dim("b"), torch.export.Dim("t", max=512)
            torch.onnx.export(model, (ex_ids, ex_mask), a.onnx, input_names=["ids", "mask"],
                              output_names=["p"], dynamo=True,
                              dynamic_shapes=({0: b_, 1: t_}, {0: b_, 1: t_}))
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    report["ort_load_ms"] = (time.perf_counter() - t0) * 1e3
    report["onnxruntime"] = ort.__version__

    # Agreement check on the first case.
    first = next(iter(inputs["cases"].values()))
    ids, mask = next(batches(first, bs))
    with torch.inference_mode():
        pt = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    po = sess.run(None, {"ids": ids, "mask": mask})[0]
    report["torch_vs_ort_max_abs_diff"] = float(np.abs(pt - po).max())

    cases = {}
    for name, windows in inputs["cases"].items():
        bl = list(batches(windows, bs))
        n = max(10, a.iters // 10) if name.startswith("doc") else a.iters

        def run_torch():
            with torch.inference_mode():
                for i, m in bl:
                    model(torch.from_numpy(i), torch.from_numpy(m))

        def run_ort():
            for i, m in bl:
                sess.run(None, {"ids": i, "mask": m})

        cases[name] = {"windows": len(windows), "torch": timeit(run_torch, n), "ort": timeit(run_ort, n)}
        print(name, json.dumps(cases[name]), flush=True)
    texts = inputs["throughput_texts"]
    bl = list(batches(texts, bs))
    tokens = sum(len(t) for t in texts)
    for eng in ("torch", "ort"):
        t = time.perf_counter()
        for _ in range(3):
            if eng == "torch":
                with torch.inference_mode():
                    for i, m in bl:
                        model(torch.from_numpy(i), torch.from_numpy(m))
            else:
                for i, m in bl:
                    sess.run(None, {"ids": i, "mask": m})
        s = time.perf_counter() - t
        cases.setdefault("batch_throughput", {})[eng] = {"texts_per_s": 3 * len(texts) / s,
                                                          "tokens_per_s": 3 * tokens / s}
    report["cases"] = cases
    report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report, indent=2))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
