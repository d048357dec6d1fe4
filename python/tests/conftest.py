"""Shared fixtures for the vallum test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

import vallum

REPO = Path(__file__).resolve().parents[2]
"""The repository root (python/tests/ is two levels down)."""

CODENAME_POLICY = """
[[custom]]
id = "codename"
terms = ["Project Bluebird"]
action = "block"
"""
"""A policy whose findings do not depend on the built-in rule packs."""


@pytest.fixture(scope="session")
def guard() -> vallum.Guard:
    """A guard with the built-in default policy."""
    return vallum.Guard()


@pytest.fixture(scope="session")
def codename_guard() -> vallum.Guard:
    """A guard that blocks the banned term "Project Bluebird"."""
    return vallum.Guard(CODENAME_POLICY)
