"""Offsets are code points: `text[f.start:f.end]` is the match, whatever comes before it."""

from __future__ import annotations

import random

import pytest

import vallum

PREFIXES = [
    "",
    "é",
    "Grüße, ",
    "😀",
    "😀👍🏽 ",
    "日本語のテキスト ",
    "e\u0301\u0301 combining ",
    "\u200b\u200b zero width ",
    "𝕳𝖊𝖑𝖑𝖔 ",
    "مرحبا ",
    "\U0010fffd private ",
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("suffix", ["", " 😀", " ñ", "\n"])
def test_email_after_non_ascii(guard: vallum.Guard, prefix: str, suffix: str) -> None:
    email = "jane.doe@example.org"
    text = f"{prefix}mail {email}{suffix}"
    report = guard.scan_input(text)
    hits = [f for f in report.findings if f.kind == "email"]
    assert hits, report
    assert text[hits[0].start : hits[0].end] == email
    assert hits[0].start == len(prefix) + len("mail ")


def test_many_findings_among_emoji(guard: vallum.Guard) -> None:
    """Random non-ASCII filler between many matches: every offset is exact."""
    rng = random.Random(7)
    filler = ["😀", "é", "日本", "  ", "ß", "🇫🇷", "\u0301", "x"]
    parts: list[str] = []
    emails: list[str] = []
    for i in range(60):
        parts.append("".join(rng.choice(filler) for _ in range(rng.randint(1, 6))))
        emails.append(f"user{i}@example{i % 7}.org")
        parts.append(f" {emails[-1]} ")
    text = "".join(parts)
    report = guard.scan_input(text)
    found = [text[f.start : f.end] for f in report.findings if f.kind == "email"]
    assert found == emails


def test_custom_rule_in_normalised_view_maps_back(codename_guard: vallum.Guard) -> None:
    """A match found in the normalised view (look-alike letters, zero-width space) reports
    the span of the original text, in code points."""
    text = "😀 Prоject Blue\u200bbird 😀"  # Cyrillic о, zero-width space
    report = codename_guard.scan_input(text)
    [f] = [f for f in report.findings if f.rule == "codename"]
    assert text[f.start : f.end] == "Prоject Blue\u200bbird"
    assert report.verdict == "block"


def test_batch_offsets(guard: vallum.Guard) -> None:
    texts = [f"{'😀' * i}é mail u{i}@example.org" for i in range(50)]
    for text, report in zip(texts, guard.scan_batch(texts), strict=True):
        [f] = [f for f in report.findings if f.kind == "email"]
        assert text[f.start : f.end] == text.split()[-1]


def test_output_offsets(guard: vallum.Guard) -> None:
    text = "Ответ: напишите на ivan@example.org 👍"
    report = guard.scan_output(text, "Как связаться?")
    [f] = [f for f in report.findings if f.kind == "email"]
    assert text[f.start : f.end] == "ivan@example.org"
