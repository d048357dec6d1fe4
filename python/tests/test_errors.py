"""Errors: the VallumError hierarchy, clear messages, and refusals of unusable input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest

import vallum


def test_hierarchy() -> None:
    assert issubclass(vallum.VallumError, Exception)
    for sub in (vallum.PolicyError, vallum.InputError, vallum.ModelError):
        assert issubclass(sub, vallum.VallumError)
        assert sub.__module__ == "vallum"
        assert sub.__doc__


@pytest.mark.parametrize(
    ("policy", "needle"),
    [
        ("min_score = 2.0", "min_score"),
        ("[thresholds]\nprompt_injection = -1", "thresholds.prompt_injection"),
        ("no_such_key = 1", "no_such_key"),
        ("[[custom]]\nid = 'x'\npattern = '('\n", "custom rule `x`"),
        ("[[custom]]\nid = 'x'\n", "needs `terms` or `pattern`"),
        ("this is [not toml", "TOML"),
        ({"min_score": 5}, "min_score"),
        ({"actions": {"pii": "explode"}}, "explode"),
        ({"redaction": {"mode": "hash"}}, "redaction.hash_key"),
    ],
)
def test_bad_policy(policy: Any, needle: str) -> None:
    with pytest.raises(vallum.PolicyError, match=None) as err:
        vallum.Guard(policy)
    assert needle in str(err.value)


def test_policy_dict_not_json() -> None:
    with pytest.raises(vallum.PolicyError, match="cannot be written as JSON") as err:
        vallum.Guard({"allow": {"terms": [object()]}})
    assert isinstance(err.value.__cause__, TypeError)


def test_policy_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(vallum.PolicyError, match="missing.toml"):
        vallum.Guard(str(missing))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"min_score": 3}))
    with pytest.raises(vallum.PolicyError, match="min_score"):
        vallum.Guard(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(vallum.PolicyError, match="JSON"):
        vallum.Guard(str(broken))


def test_policy_wrong_type() -> None:
    with pytest.raises(TypeError, match="policy must be"):
        vallum.Guard(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be"):
        vallum.Guard([("min_score", 0.1)])  # type: ignore[arg-type]


SURROGATE = "fine text \ud800 and more"


def test_lone_surrogates_are_input_errors(guard: vallum.Guard) -> None:
    calls: list[Callable[[], object]] = [
        lambda: guard.scan_input(SURROGATE),
        lambda: guard.scan_output(SURROGATE),
        lambda: guard.scan_output("ok", SURROGATE),
        lambda: guard.scan_batch(["ok", SURROGATE]),
        lambda: guard.redact(SURROGATE),
        lambda: guard.anonymize(SURROGATE),
        lambda: guard.anonymize("jane@example.org")[1].restore(SURROGATE),
    ]
    for call in calls:
        with pytest.raises(vallum.InputError, match="lone surrogate at index 10") as err:
            call()
        assert isinstance(err.value.__cause__, UnicodeEncodeError)


def test_batch_error_names_the_text(guard: vallum.Guard) -> None:
    with pytest.raises(vallum.InputError, match=r"texts\[1\]"):
        guard.scan_batch(["ok", SURROGATE])
    with pytest.raises(TypeError, match=r"texts\[2\] must be a str, not int"):
        guard.scan_batch(["a", "b", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a str"):
        guard.scan_batch("a single string")


def test_input_over_the_limit() -> None:
    small = vallum.Guard({"limits": {"max_input_bytes": 16}})
    assert small.scan_input("x" * 16).verdict == "allow"
    # 9 code points, 18 bytes: the limit is in UTF-8 bytes, as the policy says.
    with pytest.raises(vallum.InputError, match="18 bytes, over the policy limit of 16"):
        small.scan_input("é" * 9)
    with pytest.raises(vallum.InputError):
        small.scan_output("y" * 17)
    with pytest.raises(vallum.InputError):
        small.scan_batch(["ok", "z" * 17])
    with pytest.raises(vallum.InputError):
        small.redact("z" * 17)
    with pytest.raises(vallum.InputError):
        small.anonymize("z" * 17)


def test_wrong_argument_types(guard: vallum.Guard) -> None:
    with pytest.raises(TypeError):
        guard.scan_input(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        guard.scan_input(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        guard.scan_output("x", prompt=3)  # type: ignore[arg-type]


def test_bad_direction(guard: vallum.Guard) -> None:
    with pytest.raises(ValueError, match="unknown direction `sideways`"):
        guard.scan_batch(["x"], direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown direction"):
        guard.redact("x", "both")  # type: ignore[arg-type]


def test_errors_pickle() -> None:
    try:
        vallum.Guard("min_score = 7")
    except vallum.PolicyError as e:
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is vallum.PolicyError and str(again) == str(e)
    else:
        pytest.fail("no PolicyError")


def test_catch_all_with_base_class() -> None:
    with pytest.raises(vallum.VallumError):
        vallum.Guard("min_score = 7")
