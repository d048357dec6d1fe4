"""Thread safety and GIL release: one guard shared by many threads, scans running in
parallel with Python code, and scan_batch using the cores."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import vallum

SENTENCE = "The quick brown fox writes to fox.{}@example.org about Project Bluebird. "


def corpus(n: int) -> list[str]:
    return [SENTENCE.format(i) * (1 + i % 5) + "é😀" * (i % 3) for i in range(n)]


def test_shared_guard_many_threads(codename_guard: vallum.Guard) -> None:
    texts = corpus(200)
    expected = [codename_guard.scan_input(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(codename_guard.scan_input, texts))
    assert got == expected
    assert all(r.verdict == "block" for r in got)


def test_batch_equals_one_by_one(codename_guard: vallum.Guard) -> None:
    texts = corpus(300)
    assert codename_guard.scan_batch(texts) == [codename_guard.scan_input(t) for t in texts]
    assert codename_guard.scan_batch(texts, "output") == [
        codename_guard.scan_output(t) for t in texts
    ]
    assert codename_guard.scan_batch([]) == []
    assert codename_guard.scan_batch(iter(texts[:3])) == codename_guard.scan_batch(texts[:3])
    assert codename_guard.scan_batch(tuple(texts[:3])) == codename_guard.scan_batch(texts[:3])


def slow_text(guard: vallum.Guard, seconds: float) -> tuple[str, float]:
    """A text (under the default 16 MiB limit) whose scan takes at least `seconds`, or the
    largest one allowed, with the time one scan takes."""
    text = SENTENCE.format(0) * 64
    while True:
        start = time.perf_counter()
        guard.scan_input(text)
        took = time.perf_counter() - start
        if took >= seconds or len(text) * 2 > 15 * 1024 * 1024:
            return text, took
        text += text


def ticks_during(scan: Callable[[], object]) -> tuple[int, float]:
    """Runs `scan` on another thread while this one ticks in a Python loop; returns how many
    ticks fell strictly inside the scan and how long it took. With the GIL held for the
    whole call no Python code can run meanwhile, so the count would be exactly 0."""
    window: list[float] = []
    started = threading.Event()

    def scanner() -> None:
        started.set()
        window.append(time.perf_counter())
        scan()
        window.append(time.perf_counter())

    ticks: list[float] = []
    worker = threading.Thread(target=scanner)
    worker.start()
    started.wait()
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    start, end = window
    return sum(start < t < end for t in ticks), end - start


def test_scan_releases_the_gil(codename_guard: vallum.Guard) -> None:
    text, _ = slow_text(codename_guard, 0.05)
    inside, took = ticks_during(lambda: codename_guard.scan_input(text))
    assert inside > 10, (inside, took)
    inside, took = ticks_during(lambda: codename_guard.scan_output(text, "prompt"))
    assert inside > 10, (inside, took)


def test_batch_releases_the_gil(codename_guard: vallum.Guard) -> None:
    text, _ = slow_text(codename_guard, 0.02)
    result: list[list[vallum.Report]] = []
    inside, took = ticks_during(lambda: result.append(codename_guard.scan_batch([text] * 8)))
    assert inside > 10, (inside, took)
    assert len(result[0]) == 8
