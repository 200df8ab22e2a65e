"""Shared test helpers: optional extras skip on a user's machine and fail in CI."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st

import micrograd
from micrograd import Value

REQUIRE_EXTRAS = os.environ.get("MICROGRAD_REQUIRE_EXTRAS") == "1"
DEMOS = Path(__file__).resolve().parent.parent / "demos"
sys.path.insert(0, str(DEMOS))  # demo_common: the browser the demos use is the tests' browser
import demo_common  # noqa: E402

# CI explores the same examples every run (a failure there reproduces); a developer's runs
# draw new ones each time.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _missing(what: str) -> None:
    message = f"{what} (with MICROGRAD_REQUIRE_EXTRAS=1, as CI sets it, this is a failure)"
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's, through playwright) for the session, or a skip."""
    sync_api = require_module("playwright.sync_api")
    path = demo_common.chromium_path()
    if path is None:
        _missing(f"the Chromium browser ({demo_common.BROWSER_HINT})")
    with sync_api.sync_playwright() as playwright:
        chromium = demo_common.launch_chromium(playwright, path)
        yield chromium
        chromium.close()


# ---- random expression graphs with shared subexpressions ------------------------------

# A graph recipe: leaf values, then steps (formula, index of a, index of b) into the list
# of nodes made so far, so later steps reuse earlier nodes (shared subexpressions).
Recipe = tuple[list[float], list[tuple[str, int, int]]]
Formulas = Mapping[str, Callable[[Any, Any], Any]]


def graph_recipes(formulas: Formulas, bound: float, max_steps: int) -> st.SearchStrategy[Recipe]:
    """Recipes of 1–4 leaves in [-bound, bound] and 1–max_steps steps drawn from formulas."""

    @st.composite
    def recipes(draw: st.DrawFn) -> Recipe:
        leaves = draw(st.lists(st.floats(-bound, bound), min_size=1, max_size=4))
        steps = []
        for n in range(len(leaves), len(leaves) + draw(st.integers(1, max_steps))):
            formula = draw(st.sampled_from(sorted(formulas)))
            steps.append((formula, draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
        return leaves, steps

    return recipes()


def build_graph(formulas: Formulas, recipe: Recipe, leaves: Sequence[Any]) -> list[Any]:
    """Every node of the recipe's graph, the given leaves first; the last one is the root."""
    nodes = list(leaves)
    for formula, i, j in recipe[1]:
        nodes.append(formulas[formula](nodes[i], nodes[j]))
    return nodes


# ---- a model of one's own --------------------------------------------------------------


class Quadratic(micrograd.nn.Module):
    """A model of one's own: ŷ = a·x² + b·x + c, one input, no branch on Value data."""

    def __init__(self) -> None:
        self.a, self.b, self.c = Value(0.3, "a"), Value(-0.2, "b"), Value(0.1, "c")

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [("a", self.a), ("b", self.b), ("c", self.c)]

    def __call__(self, x: Any) -> Value:
        return self.a * x * x + self.b * x + self.c
