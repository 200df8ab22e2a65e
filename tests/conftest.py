"""Shared test helpers: optional extras skip on a user's machine and fail in CI."""

from __future__ import annotations

import builtins
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


@pytest.fixture
def no_llvmlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test runs as if llvmlite (the [native] extra) were not installed."""
    real = builtins.__import__

    def importing(name: str, *args: Any, **kw: Any) -> Any:
        if name.startswith("llvmlite"):
            raise ImportError("No module named 'llvmlite'")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", importing)


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


# ---- one screen per step: what the learner sees at each step, in the page ---------------

# Run in a page (page.evaluate(ONE_SCREEN, quiz)): from the step it shows, → to the last step,
# a key press each; at each, what is wrong with the screen: the node being processed (its
# record) outside the graph's view or the window, a row of the step's terms or (quiz mode) an
# answer field or button outside the window or its scrolling column, ← ▶ space's buttons not
# reachable (covered or off screen), the window scrolled, or any visible text under 12 px (an
# SVG text's size times its scale on screen). Returns {steps, bad: [[k, [what]], ...]}.
ONE_SCREEN = """async (quiz) => {
  const frame = () => new Promise((r) => requestAnimationFrame(r)); // (the view follows in it)
  const W = innerWidth, H = innerHeight, screen = [0, 0, W, H];
  const box = (e) => {
    const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  };
  const inside = (b, v) => b[0] >= v[0] - 1 && b[1] >= v[1] - 1 && b[2] <= v[2] + 1 &&
    b[3] <= v[3] + 1;
  function clipped(e) { // e's box as its scrolling ancestors show it
    let b = box(e);
    for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p);
      const scrolls = /(auto|scroll|hidden)/.test(o.overflowX + o.overflowY);
      if (o.display === "contents" || !scrolls) continue;
      const c = box(p);
      b = [Math.max(b[0], c[0]), Math.max(b[1], c[1]), Math.min(b[2], c[2]), Math.min(b[3], c[3])];
    }
    return b;
  }
  const seen = (e) => inside(box(e), clipped(e)) && inside(box(e), screen);
  const reachable = (e) => { const b = box(e);
    const t = document.elementFromPoint((b[0] + b[2]) / 2, (b[1] + b[3]) / 2);
    return inside(b, screen) && (t === e || e.contains(t)); };
  function smallest() {
    let least = Infinity, what = "";
    const graph = document.querySelector("#graph svg"); // one scale for all of its texts:
    const m = graph.querySelector("g.graph").getScreenCTM(), scale = Math.hypot(m.a, m.b);
    for (const t of graph.querySelectorAll("text")) { // every one, in view or not
      const px = parseFloat(t.getAttribute("font-size") || getComputedStyle(t).fontSize) * scale;
      if (px < least && t.textContent.trim()) { least = px; what = t.textContent.slice(0, 40); }
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const e = t.parentElement;
      if (!t.textContent.trim() || graph.contains(e)) continue;
      if (e.closest("script, style, template, title, option, [hidden]")) continue;
      const r = e.getBoundingClientRect();
      if (!r.width || !r.height || r.bottom < 0 || r.right < 0 || r.top > H || r.left > W) continue;
      if (getComputedStyle(e).visibility === "hidden") continue;
      const c = clipped(e);
      if (c[2] <= Math.max(0, c[0]) || c[3] <= Math.max(0, c[1])) continue; // scrolled away
      if (c[0] >= W || c[1] >= H) continue;
      let px = parseFloat(getComputedStyle(e).fontSize);
      if (e instanceof SVGElement) { const m = e.getScreenCTM(); px *= Math.hypot(m.a, m.b); }
      if (px < least) { least = px; what = t.textContent.slice(0, 40); }
    }
    return [least, what];
  }
  const out = [], last = Number(document.getElementById("scrub").max);
  for (let k = Number(document.body.dataset.step); k <= last; k++) {
    if (k > Number(document.body.dataset.step)) {
      document.dispatchEvent(new KeyboardEvent("keydown", {key: "ArrowRight", bubbles: true}));
    }
    await frame();
    const bad = [], view = box(document.getElementById("graph"));
    if (Number(document.body.dataset.step) !== k) bad.push("at step " + document.body.dataset.step);
    const record = [...document.querySelectorAll("#graph g.node.active")]
      .map((g) => g.querySelector("polygon")).find(Boolean);
    if (k && !record) bad.push("no node being processed");
    if (record && !(inside(box(record), view) && inside(box(record), screen))) {
      bad.push("the node being processed is out of view");
    }
    const terms = [...document.querySelectorAll("#terms li")];
    const fields = [...document.querySelectorAll("#quiz-panel input:enabled, #quiz-panel button")];
    if (k && !(quiz ? fields : terms).length) bad.push(quiz ? "no answer fields" : "no terms");
    if (terms.some((e) => !seen(e))) bad.push("a term out of view");
    if (fields.some((e) => !seen(e))) bad.push("an answer field out of view");
    for (const id of ["prev", "next", "play"]) {
      if (!reachable(document.getElementById(id))) bad.push("button " + id + " not reachable");
    }
    if (scrollX || scrollY) bad.push("the window scrolled");
    const [least, what] = smallest();
    if (least < 11.99) bad.push("text of " + least.toFixed(2) + " px: " + what);
    if (bad.length) out.push([k, bad]);
  }
  return {steps: last, bad: out};
}"""


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
