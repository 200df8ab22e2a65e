"""Shared test helpers: optional extras skip on a user's machine and fail in CI."""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest
from hypothesis import settings

REQUIRE_EXTRAS = os.environ.get("MICROGRAD_REQUIRE_EXTRAS") == "1"

# CI explores the same examples every run (a failure there reproduces); a developer's runs
# draw new ones each time.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _missing(what: str) -> None:
    message = f"{what} (set by CI: MICROGRAD_REQUIRE_EXTRAS=1 makes this a failure)"
    if REQUIRE_EXTRAS:
        pytest.fail(f"required in CI but missing: {message}")
    pytest.skip(f"optional and missing: {message}")


def require_module(name: str) -> ModuleType:
    """Import an optional module, or skip (fail in CI) saying it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"Python package {name!r}")
        raise  # unreachable: skip and fail raise


def require_dot() -> str:
    """Path of Graphviz's `dot`, or skip (fail in CI) saying how to install it."""
    path = shutil.which("dot")
    if path is None:
        _missing("Graphviz's `dot` program (apt-get install graphviz / brew install graphviz)")
    return path  # type: ignore[return-value]


@pytest.fixture
def torch() -> ModuleType:
    """PyTorch in float64 on one thread, or a skip (a failure in CI)."""
    module = require_module("torch")
    module.set_num_threads(1)
    return module


@pytest.fixture
def dot() -> str:
    return require_dot()
