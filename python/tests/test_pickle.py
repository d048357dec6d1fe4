"""Guards pickle (they rebuild from their policy), so they can go to worker processes;
reports and findings pickle so results can come back."""

from __future__ import annotations

import multiprocessing
import pickle

import pytest

import vallum

TEXTS = [
    "Project Bluebird ships in May",
    "mail jane.doe@example.org 😀",
    "nothing to see",
    "😀 project bluebird and bob@example.org",
]


_worker_guard: vallum.Guard | None = None


def init_worker(guard: vallum.Guard) -> None:
    """Runs once in each worker process: the guard arrives pickled and is rebuilt there."""
    global _worker_guard
    _worker_guard = guard


def scan_in_worker(text: str) -> vallum.Report:
    """Runs in a worker process; the report goes back pickled."""
    assert _worker_guard is not None
    return _worker_guard.scan_input(text)


def test_guard_round_trip(codename_guard: vallum.Guard) -> None:
    data = pickle.dumps(codename_guard)
    assert b"Project Bluebird" in data, "a guard pickles as its policy"
    again = pickle.loads(data)
    assert isinstance(again, vallum.Guard) and again is not codename_guard
    assert again.policy_toml == codename_guard.policy_toml
    for text in TEXTS:
        assert again.scan_input(text) == codename_guard.scan_input(text)
    assert pickle.loads(pickle.dumps(again)).policy_toml == codename_guard.policy_toml


def test_protocols_and_dict_policies() -> None:
    guard = vallum.Guard({"allow": {"terms": ["ok@example.org"]}, "min_score": 0.25})
    for protocol in (0, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        again = pickle.loads(pickle.dumps(guard, protocol=protocol))
        assert again.policy_toml == guard.policy_toml
        assert again.scan_input("ok@example.org").verdict == "allow"
        assert again.scan_input("no@example.org").verdict == "flag"


def test_an_optional_classifier_stays_optional() -> None:
    # The classifier on without requiring its model: the unpickled guard must not start
    # requiring it (which fails where no model is installed).
    guard = vallum.Guard(
        {"detectors": {"classifier": True}, "classifier": {"require_model": False}}
    )
    again = pickle.loads(pickle.dumps(guard))
    assert again.policy_toml == guard.policy_toml
    assert "require_model = false" in again.policy_toml


def test_report_round_trip(codename_guard: vallum.Guard) -> None:
    text = "Project Bluebird: mail jane.doe@example.org 😀"
    report = codename_guard.scan_input(text)
    assert len(report.findings) >= 2
    again = pickle.loads(pickle.dumps(report))
    assert again == report
    assert (again.verdict, again.score, again.blocked) == ("block", report.score, True)
    assert [text[f.start : f.end] for f in again.findings] == [
        text[f.start : f.end] for f in report.findings
    ]
    f = report.findings[0]
    assert pickle.loads(pickle.dumps(f)) == f


def test_vault_refuses_pickle(guard: vallum.Guard) -> None:
    _, vault = guard.anonymize("jane@example.org")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(vault)


def test_worker_processes(codename_guard: vallum.Guard) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2, initializer=init_worker, initargs=(codename_guard,)) as pool:
        remote = pool.map(scan_in_worker, TEXTS)
    assert remote == [codename_guard.scan_input(t) for t in TEXTS]
    assert [r.verdict for r in remote][0] == "block"

