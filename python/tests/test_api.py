"""The Python surface of the API contract (shared/spec/api.md): names, types and results."""

from __future__ import annotations

import copy
import re

import pytest

import vallum


def test_public_names() -> None:
    for name in ("Guard", "Report", "Finding", "Vault", "canary", "VallumError",
                 "PolicyError", "InputError", "ModelError"):
        assert hasattr(vallum, name), name
    assert set(vallum.__all__) <= set(dir(vallum))
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", vallum.__version__)


def test_clean_text_is_allowed(guard: vallum.Guard) -> None:
    report = guard.scan_input("What is the capital of France?")
    assert report.verdict == "allow"
    assert report.score == 0.0
    assert report.findings == []
    assert not report.blocked


def test_empty_text(guard: vallum.Guard) -> None:
    for report in (guard.scan_input(""), guard.scan_output(""), guard.scan_output("", "")):
        assert report.verdict == "allow"
        assert report.findings == []


def test_finding_fields(guard: vallum.Guard) -> None:
    text = "Contact jane.doe@example.org for details."
    report = guard.scan_input(text)
    assert report.verdict == "flag"
    [f] = [f for f in report.findings if f.kind == "email"]
    assert f.category == "pii"
    assert isinstance(f.rule, str) and f.rule
    assert text[f.start : f.end] == "jane.doe@example.org"
    assert isinstance(f.score, float) and 0.0 < f.score <= 1.0
    assert report.score == max(x.score for x in report.findings)
    assert f.action == "flag"
    assert f.detail is None


def test_custom_block_rule(codename_guard: vallum.Guard) -> None:
    text = "Tell me about Project Bluebird please"
    report = codename_guard.scan_input(text)
    assert report.verdict == "block"
    assert report.blocked
    [f] = [f for f in report.findings if f.category == "custom"]
    assert (f.kind, f.rule, f.action) == ("custom", "codename", "block")
    assert text[f.start : f.end] == "Project Bluebird"
    assert report.score == pytest.approx(1.0)


def test_scores_print_as_written(guard: vallum.Guard) -> None:
    """Scores are f32 in the core; Python sees the shortest decimal (0.9, not 0.899999976)."""
    report = guard.scan_input("mail jane.doe@example.org")
    assert report.findings
    for f in report.findings:
        assert float(f"{f.score:.7g}") == f.score, f.score


def test_findings_are_sorted_and_fresh(guard: vallum.Guard) -> None:
    text = "a@example.org and b@example.org and c@example.org"
    report = guard.scan_input(text)
    starts = [f.start for f in report.findings]
    assert starts == sorted(starts)
    assert len(starts) >= 3
    first = report.findings
    first.clear()
    assert len(report.findings) >= 3, "the list handed out is a copy: the report is immutable"


def test_frozen_objects(guard: vallum.Guard) -> None:
    report = guard.scan_input("mail jane.doe@example.org")
    f = report.findings[0]
    with pytest.raises(AttributeError):
        report.verdict = "allow"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        f.start = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        vallum.Report()
    with pytest.raises(TypeError):
        vallum.Finding()


def test_equality_and_repr(guard: vallum.Guard) -> None:
    text = "mail jane.doe@example.org"
    a, b = guard.scan_input(text), guard.scan_input(text)
    assert a == b and a.findings == b.findings
    assert a != guard.scan_input("mail bob@example.org")
    assert a != "not a report"
    r = repr(a)
    assert r.startswith("Report(verdict='flag'") and "Finding(category='pii'" in r
    assert "jane" not in r, "reprs never show the matched text"


def test_to_dict(guard: vallum.Guard) -> None:
    text = "mail jane.doe@example.org"
    d = guard.scan_input(text).to_dict()
    assert d["verdict"] == "flag"
    [f] = d["findings"]
    assert set(f) == {"category", "kind", "rule", "start", "end", "score", "action", "detail"}
    assert text[f["start"] : f["end"]] == "jane.doe@example.org"


def test_redact(guard: vallum.Guard) -> None:
    assert guard.redact("Contact jane.doe@example.org now") == "Contact <EMAIL> now"
    assert guard.redact("Contact jane.doe@example.org now", "output") == "Contact <EMAIL> now"
    assert guard.redact("Contact jane.doe@example.org now", direction="input") == "Contact <EMAIL> now"
    clean = "nothing to hide here"
    assert guard.redact(clean) is clean, "unchanged text comes back as the same object"


def test_redact_modes() -> None:
    masked = vallum.Guard({"redaction": {"mode": "mask"}}).redact("to jane@example.org!")
    assert masked == "to " + "*" * len("jane@example.org") + "!"
    hashed = vallum.Guard({"redaction": {"mode": "hash", "hash_key": "k"}})
    a, b = hashed.redact("x jane@example.org"), hashed.redact("y jane@example.org")
    assert a[2:] == b[2:] and "jane" not in a


def test_anonymize_restore(guard: vallum.Guard) -> None:
    text = "Write to jane@example.org, cc jane@example.org and bob@example.org"
    masked, vault = guard.anonymize(text)
    assert masked == "Write to <EMAIL_1>, cc <EMAIL_1> and <EMAIL_2>"
    assert len(vault) == 2
    assert vault.placeholders == ["<EMAIL_1>", "<EMAIL_2>"]
    assert vault.restore("Sent to <EMAIL_1> and [email_2].") == (
        "Sent to jane@example.org and bob@example.org."
    )
    assert vault.restore("no placeholders") == "no placeholders"
    assert vault.restore("<EMAIL_9> is unknown") == "<EMAIL_9> is unknown"
    r = repr(vault)
    assert "<EMAIL_1>" in r and "jane" not in r


def test_anonymize_nothing(guard: vallum.Guard) -> None:
    masked, vault = guard.anonymize("nothing personal")
    assert masked == "nothing personal"
    assert len(vault) == 0 and not vault
    assert vault.restore("<EMAIL_1>") == "<EMAIL_1>"


def test_anonymize_non_ascii(guard: vallum.Guard) -> None:
    text = "😀 Grüße an jürgen@example.org 👍"
    masked, vault = guard.anonymize(text)
    assert "@" not in masked and masked.startswith("😀 Grüße an ") and masked.endswith(" 👍")
    assert vault.restore(masked) == text


def test_canary_tokens() -> None:
    a, b = vallum.canary(), vallum.canary()
    assert a != b
    assert re.fullmatch(r"vlm-canary-[a-z2-7]{20}", a)


def test_copy_is_identity(guard: vallum.Guard) -> None:
    assert copy.copy(guard) is guard
    assert copy.deepcopy(guard) is guard
    _, vault = guard.anonymize("jane@example.org")
    assert copy.copy(vault) is vault
    assert copy.deepcopy({"v": vault})["v"] is vault


def test_guard_repr_and_policy(codename_guard: vallum.Guard) -> None:
    assert repr(codename_guard).startswith("Guard(")
    toml = codename_guard.policy_toml
    assert "codename" in toml and "Project Bluebird" in toml
    rebuilt = vallum.Guard(toml)
    assert rebuilt.policy_toml == toml


def test_no_subclassing() -> None:
    with pytest.raises(TypeError):
        type("MyGuard", (vallum.Guard,), {})
