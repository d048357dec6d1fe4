"""The *_async methods: the scan runs off the event loop, which stays responsive."""

from __future__ import annotations

import asyncio
import time

import pytest

import vallum

from test_threads import slow_text


def test_async_equals_sync(codename_guard: vallum.Guard) -> None:
    texts = [f"{i} 😀 mail u{i}@example.org about Project Bluebird" for i in range(64)]

    async def main() -> list[vallum.Report]:
        return await asyncio.gather(*(codename_guard.scan_input_async(t) for t in texts))

    assert asyncio.run(main()) == [codename_guard.scan_input(t) for t in texts]


def test_scan_output_async(guard: vallum.Guard) -> None:
    text = "Sure! Write to jane@example.org 👍"
    prompt = "How do I reach Jane?"

    async def main() -> tuple[vallum.Report, vallum.Report]:
        return (
            await guard.scan_output_async(text, prompt),
            await guard.scan_output_async(text, prompt=None),
        )

    with_prompt, without = asyncio.run(main())
    assert with_prompt == guard.scan_output(text, prompt)
    assert without == guard.scan_output(text)
    [f] = [f for f in with_prompt.findings if f.kind == "email"]
    assert text[f.start : f.end] == "jane@example.org"


def test_returns_a_future(guard: vallum.Guard) -> None:
    async def main() -> None:
        fut = guard.scan_input_async("hello")
        assert isinstance(fut, asyncio.Future)
        assert (await fut).verdict == "allow"

    asyncio.run(main())


def test_event_loop_stays_responsive(codename_guard: vallum.Guard) -> None:
    """A ticker coroutine keeps ticking while a long scan is awaited. Were the scan run on
    the loop's thread, no tick could happen before the await completes."""
    text, took = slow_text(codename_guard, 0.05)

    async def main() -> tuple[int, float]:
        stop = asyncio.Event()
        ticks: list[float] = []

        async def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        start = time.perf_counter()
        await codename_guard.scan_input_async(text)
        end = time.perf_counter()
        stop.set()
        await task
        return sum(start < t < end for t in ticks), end - start

    inside, waited = asyncio.run(main())
    assert inside > 10, (inside, waited, took)


def test_errors_come_through_await() -> None:
    small = vallum.Guard({"limits": {"max_input_bytes": 8}})

    async def main() -> None:
        with pytest.raises(vallum.InputError, match="over the policy limit"):
            await small.scan_input_async("x" * 9)
        with pytest.raises(vallum.InputError, match="over the policy limit"):
            await small.scan_output_async("y" * 9, prompt="ok")
        with pytest.raises(vallum.InputError, match="lone surrogate"):
            await small.scan_input_async("\udfff")

    asyncio.run(main())


def test_needs_a_running_loop(guard: vallum.Guard) -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        guard.scan_input_async("x")


def test_cancelled_await_is_quiet(codename_guard: vallum.Guard) -> None:
    """Cancelling the awaiting task leaves no error behind when the scan finishes later."""
    text, _ = slow_text(codename_guard, 0.02)
    errors: list[dict[str, object]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        task = asyncio.ensure_future(codename_guard.scan_input_async(text))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Let the worker finish and its completion run on this loop.
        await codename_guard.scan_input_async(text)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert errors == []


def test_many_loops(guard: vallum.Guard) -> None:
    """Each asyncio.run gets its own loop; futures go to the loop that asked."""
    for i in range(5):
        report = asyncio.run(_scan(guard, f"u{i}@example.org"))
        assert report.findings[0].end == len(f"u{i}@example.org")


async def _scan(guard: vallum.Guard, text: str) -> vallum.Report:
    return await guard.scan_input_async(text)


SHUTDOWN_SCRIPT = """
import asyncio, sys, vallum
guard = vallum.Guard()
text = "mail jane@example.org " * 50  # with the classifier on, scans are still running at exit

async def main():
    await asyncio.gather(*(guard.scan_input_async(text) for _ in range(32)))
    # Leave some scans running when the loop and then the interpreter shut down.
    for _ in range(8):
        guard.scan_input_async(text)

asyncio.run(main())
print("done")
"""


def test_interpreter_exit_with_scans_in_flight() -> None:
    """Results that arrive while Python shuts down are dropped, never delivered into a
    finalizing interpreter (which would abort the process)."""
    import subprocess
    import sys

    for _ in range(8):
        result = subprocess.run(
            [sys.executable, "-c", SHUTDOWN_SCRIPT],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "done"
        assert "Fatal Python error" not in result.stderr
