"""Benchmarks of the Python binding (vallum._vallum).

* Per-call cost of `Guard.scan_input` against the same scan timed inside Rust
  (`_core_scan_seconds`: no argument conversion, no GIL handling, no result objects), for
  an empty input and 1 KB inputs: the difference is what the binding adds.
* Throughput of `scan_input` from 1, 2 and 4 Python threads sharing one guard (each scan
  releases the GIL), and of `scan_batch` (one GIL release, rayon over the cores).
* `scan_input_async` (a Rust thread pool completing an asyncio future) against
  `asyncio.to_thread(guard.scan_input, ...)`: latency of one await and throughput of many
  concurrent awaits.

Run against a release build:

    VALLUM_PY_PROFILE=release scripts/python-test.sh   # or: pip install ./python
    .venv/bin/python benches/python/bench_python.py [--quick] [--out FILE.md]

It asserts the finding counts it expects, so a benchmark never times a broken scan.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import vallum
from vallum import _vallum

PROSE = (
    "The committee met on Tuesday to review the quarterly figures. Revenue grew modestly, "
    "driven by steady demand in the northern region, while costs stayed within the budget "
    "agreed in the spring. The team discussed the timeline for the new product line and "
    "agreed to revisit the launch plan after the summer. Several members asked for a "
    "clearer summary of the risks before the next meeting, and the chair promised to "
    "circulate a short note with the main points and the open questions. "
)
CHAT = (
    "Hi! Please mail the invoice to jane.doe@example.org and cc bob.smith@example.com. "
    "The card on file is 4111 1111 1111 1111; call me at +1 415 555 0132 if anything is "
    "unclear. My server is at 10.0.0.12 and the deploy key is AKIAZ7QX3RB2LJ5WMN4K. "
)


def sized(base: str, size: int) -> str:
    """`base` repeated and cut at a word boundary to about `size` bytes."""
    text = base * (size // len(base) + 1)
    return text[: text.rfind(" ", 0, size) + 1]


def loop_seconds(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - start


def calls_for(fn: Callable[[], object], min_time: float) -> int:
    """How many calls of `fn` take about `min_time`."""
    n = 1
    while (took := loop_seconds(fn, n)) < min_time / 4:
        n *= 4
    return max(1, int(n * min_time / max(took, 1e-9)))


def per_call(guard: vallum.Guard, min_time: float, repeats: int) -> list[list[str]]:
    """Python and Rust timings interleaved, best of `repeats` short loops each: on a shared
    machine the minimum is the loop least disturbed by other work."""
    rows = []
    cases = [
        ("empty", ""),
        ("1 KB prose (no findings)", sized(PROSE, 1024)),
        ("1 KB chat (PII + secrets)", sized(CHAT, 1024)),
    ]
    for name, text in cases:
        findings = len(guard.scan_input(text).findings)
        if name.startswith("1 KB chat"):
            assert findings >= 10, f"expected findings in the chat text, got {findings}"
        else:
            assert findings == 0, f"{name}: {findings} findings"

        def scan(t: str = text) -> object:
            return guard.scan_input(t)

        def scan_and_read(t: str = text) -> object:
            return [(f.category, f.kind, f.start, f.end, f.score) for f in guard.scan_input(t).findings]

        n = calls_for(scan, min_time)
        py, py_read, rust = float("inf"), float("inf"), float("inf")
        for _ in range(repeats):
            py = min(py, loop_seconds(scan, n) / n)
            rust = min(rust, _vallum._core_scan_seconds(guard, text, n) / n)
            if findings:
                py_read = min(py_read, loop_seconds(scan_and_read, n) / n)
        rows.append([
            name,
            str(findings),
            f"{rust * 1e6:.2f}",
            f"{py * 1e6:.2f}",
            f"{(py - rust) * 1e6:.2f}",
            f"{(py_read - rust) * 1e6:.2f}" if findings else "-",
        ])
    return rows


def run_threads(
    n: int, work: list[list[str]], fn: Callable[[str], object]
) -> tuple[float, float]:
    """Wall seconds for `n` threads to run `fn` over their share of the work, and the
    process CPU seconds spent meanwhile (CPU/wall above 1 means scans ran in parallel)."""
    barrier = threading.Barrier(n + 1)

    def worker(texts: list[str]) -> None:
        barrier.wait()
        for t in texts:
            fn(t)

    threads = [threading.Thread(target=worker, args=(work[i],)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    return time.perf_counter() - start, time.process_time() - cpu


def throughput(guard: vallum.Guard, count: int, repeats: int) -> list[list[str]]:
    rows = []
    for label, size in (("1 KB", 1024), ("64 KB", 64 * 1024)):
        texts = [sized(PROSE, size)] * (count if size == 1024 else max(8, count // 64))
        total = sum(len(t.encode()) for t in texts)
        assert not guard.scan_input(texts[0]).findings
        for n in (1, 2, 4):
            work = [texts[i::n] for i in range(n)]
            took, cpu = min(run_threads(n, work, guard.scan_input) for _ in range(repeats))
            rows.append([
                label, f"scan_input, {n} thread{'s' if n > 1 else ''}",
                f"{len(texts) / took:,.0f}", f"{total / took / 1e6:,.0f}", f"{cpu / took:.2f}",
            ])
        took, cpu = float("inf"), 0.0
        for _ in range(repeats):
            start, cpu0 = time.perf_counter(), time.process_time()
            reports = guard.scan_batch(texts)
            if (t := time.perf_counter() - start) < took:
                took, cpu = t, time.process_time() - cpu0
        assert len(reports) == len(texts) and not any(r.findings for r in reports)
        rows.append([
            label, "scan_batch (1 call)",
            f"{len(texts) / took:,.0f}", f"{total / took / 1e6:,.0f}", f"{cpu / took:.2f}",
        ])
    return rows


def asyncio_rows(guard: vallum.Guard, count: int, repeats: int) -> list[list[str]]:
    text = sized(PROSE, 1024)
    variants: dict[str, Callable[[str], Coroutine[Any, Any, vallum.Report]]] = {}

    async def rust_pool(t: str) -> vallum.Report:
        return await guard.scan_input_async(t)

    async def to_thread(t: str) -> vallum.Report:
        return await asyncio.to_thread(guard.scan_input, t)

    variants["scan_input_async (Rust pool)"] = rust_pool
    variants["asyncio.to_thread(scan_input)"] = to_thread

    async def latency(fn: Callable[[str], Coroutine[Any, Any, vallum.Report]]) -> float:
        for _ in range(50):
            await fn(text)
        samples = []
        for _ in range(max(200, count // 4)):
            start = time.perf_counter()
            await fn(text)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    async def concurrent(fn: Callable[[str], Coroutine[Any, Any, vallum.Report]]) -> float:
        start = time.perf_counter()
        reports = await asyncio.gather(*(fn(text) for _ in range(count)))
        took = time.perf_counter() - start
        assert len(reports) == count and not reports[0].findings
        return took

    rows = []
    for name, fn in variants.items():
        lat = min(asyncio.run(latency(fn)) for _ in range(repeats))
        took = min(asyncio.run(concurrent(fn)) for _ in range(repeats))
        rows.append([name, f"{lat * 1e6:.1f}", f"{count / took:,.0f}"])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs (load average {load:.1f} at start); "
        f"Python {platform.python_version()}; vallum {vallum.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--out", help="also write the markdown results to this file")
    args = parser.parse_args()
    if _vallum._debug_build:
        print("warning: vallum is a debug build; numbers are not representative", file=sys.stderr)
    min_time, repeats, count = (0.02, 2, 200) if args.quick else (0.05, 5, 4000)

    guard = vallum.Guard()
    start = time.perf_counter()
    vallum.Guard()
    build = time.perf_counter() - start
    out = [
        f"Machine: {machine()}. Date: {datetime.date.today().isoformat()}. "
        f"Guard() builds in {build * 1e3:.0f} ms.",
        "",
        "### Per call: `scan_input` from Python vs the same scan inside Rust",
        "",
        table(
            ["input", "findings", "Rust µs/call", "Python µs/call", "overhead µs",
             "overhead µs, reading every finding"],
            per_call(guard, min_time / 10, repeats * 16),
        ),
        "",
        "### Throughput: threads sharing one guard (GIL released on every scan)",
        "",
        table(["text size", "how", "scans/s", "MB/s", "CPU/wall"], throughput(guard, count, repeats)),
        "",
        f"### asyncio: 1 KB scans, one await at a time (latency) and {count} at once",
        "",
        table(["method", "median µs/await", "scans/s, concurrent"],
              asyncio_rows(guard, count, repeats)),
    ]
    text = "\n".join(out)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
