"""The shared cases in testdata/*.jsonl (format: testdata/README.md), run through Python.

The Rust and Node suites run the same cases, so the three languages cannot disagree.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import vallum

from conftest import REPO

TESTDATA = REPO / "testdata"


def load_cases() -> list[Any]:
    """Every case of every testdata/*.jsonl file, as a pytest param named file:line."""
    params: list[Any] = []
    for path in sorted(TESTDATA.glob("*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("//"):
                continue
            case = json.loads(stripped)
            params.append(pytest.param(case, id=f"{path.name}:{lineno}"))
    return params


CASES = load_cases()
_guards: dict[str, vallum.Guard] = {}


def guard_for(policy: dict[str, Any] | None) -> vallum.Guard:
    """One guard per distinct policy, built through the dict form of `Guard(policy)`."""
    key = json.dumps(policy, sort_keys=True)
    if key not in _guards:
        _guards[key] = vallum.Guard(policy)
    return _guards[key]


def matches(finding: vallum.Finding, text: str, expected: dict[str, Any]) -> bool:
    """Whether the finding has every field the expectation gives."""
    for field in ("category", "kind", "rule"):
        if field in expected and getattr(finding, field) != expected[field]:
            return False
    return "match" not in expected or text[finding.start : finding.end] == expected["match"]


def excluded(finding: vallum.Finding, name: str) -> bool:
    """Whether `name` ("pii" or "pii.email") covers the finding."""
    category, _, kind = name.partition(".")
    return finding.category == category and (not kind or finding.kind == kind)


def describe(report: vallum.Report, text: str) -> str:
    """The findings with the text they cover, for assertion messages."""
    return "\n".join(f"  {f!r} -> {text[f.start:f.end]!r}" for f in report.findings)


@pytest.mark.skipif(not CASES, reason=f"no shared cases in {TESTDATA}/*.jsonl yet")
@pytest.mark.parametrize("case", CASES or [None])
def test_shared_case(case: dict[str, Any]) -> None:
    text: str = case["text"]
    direction = case.get("direction", "input")
    guard = guard_for(case.get("policy"))
    if direction == "output":
        report = guard.scan_output(text, case.get("prompt"))
    else:
        report = guard.scan_input(text)
    assert report.verdict in ("allow", "flag", "block")
    for f in report.findings:
        assert 0 <= f.start <= f.end <= len(text), f
        assert 0.0 <= f.score <= 1.0, f
    for expected in case.get("expect", []):
        assert any(matches(f, text, expected) for f in report.findings), (
            f"expected {expected} in:\n{describe(report, text)}"
        )
    for name in case.get("expect_none", []):
        hits = [f for f in report.findings if excluded(f, name)]
        assert not hits, f"{name} must not be reported, got:\n{describe(report, text)}"
    if "verdict" in case:
        assert report.verdict == case["verdict"], describe(report, text)
    if "redacted" in case:
        assert guard.redact(text, direction) == case["redacted"]

