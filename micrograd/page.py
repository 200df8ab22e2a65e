"""The backprop page: one self-contained HTML file that steps through backward() in a browser.

``micrograd.graph.render(root, "x.html")`` writes it. The graph is Graphviz's layout of
``graph.draw_dot`` (the same drawing as ``render(root, "x.svg")``), inline; the forward values
and the ``trace.backward_steps(root)`` records sit beside it as JSON; a small script replays
them. Python is the only engine: every number on the page was formatted here, and the
script does no arithmetic on them but the quiz's: whether a typed answer is inside the
interval Python wrote for it (``grading.accepted``, the rule check() uses).
No network: no CDN, no web fonts, no server.

Step 0 is the graph after the forward pass, every grad 0; step k is the state after the k-th
``backward_steps`` record. ``#step=N`` (or ``#step=end``) in the URL opens a step.

The page always shows ``backward()`` run from zero grads; the graph's own grads are left as
they were (``record`` restores them).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from micrograd._numbers import clip, short
from micrograd.engine import Value
from micrograd.grading import accepted, local_from_shown, shown
from micrograd.trace import (
    ANSWER_TOLERANCE,
    ChildUpdate,
    backward_steps,
    explain_each,
    local_formula_numbers,
)
from micrograd.walk import Walk, walk

__all__ = ["EXPLAIN_MAX_PATHS", "KEYS", "Recording", "asset", "embed_json", "record"]

EXPLAIN_MAX_PATHS = 6  # paths written out per leaf's explain() text (the total sums them all)

# Written as \uXXXX escapes in the embedded JSON: < > & (so no label can close the script
# element or open a tag), U+2028/9 (line ends to older JavaScript), lone surrogates (no UTF-8).
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")


class Recording:
    """``backward_steps(root)`` run from zero grads, as the page's JSON; see ``record``."""

    def __init__(self, walked: Walk, data: dict[str, Any], widest: list[float]) -> None:
        self.walk = walked  # walk(root): node i is draw_dot's v<i>
        self.root = walked.root
        self.order = walked.order
        self.data = data  # what the page script reads (JSON: dicts, lists, strings, ints)
        self._widest = widest  # per node, the grad whose text is the longest the page shows

    @contextmanager
    def widest_grads(self) -> Iterator[None]:
        """Within the block every node's grad is the one with the widest text the page shows.

        Graphviz sizes each record for its text, so a drawing made here has room for every
        step's grad. The grads are put back on exit.
        """
        saved = [node.grad for node in self.order]
        try:
            for node, grad in zip(self.order, self._widest):
                node.grad = grad
            yield
        finally:
            for node, grad in zip(self.order, saved):
                node.grad = grad

    def html(self, svg: str) -> str:
        """The page: svg (Graphviz's SVG of draw_dot(root)), the records and the script."""
        start = svg.find("<svg")
        if start < 0:
            raise ValueError("page: the Graphviz output has no <svg> element")
        payload = embed_json(self.data)
        root = clip(self.data["nodes"][0]["name"], 60)
        root = html.escape(root.encode("utf-8", "replace").decode("utf-8"))  # no lone surrogate
        return _TEMPLATE.format(
            controls=STEPPER_CONTROLS, panels=STEPPER_PANELS,
            title=f"backprop through {root} · micrograd",
            heading=f"Backprop through {root}, node by node", keys=html.escape(KEYS),
            css=asset("page.css"), svg=svg[start:].strip(), data=payload, js=asset("page.js"),
        )


def record(root: Value, explained: bool = True) -> Recording:
    """Replay backward() on root from zero grads, one ``backward_steps`` record per step.

    Every node's grad is what it was before the call (restored even on error).
    ``explained=False`` leaves out the leaves' ``explain`` texts (a large graph's pages).
    """
    if not isinstance(root, Value):
        raise TypeError(f"page: root must be a Value, got {type(root).__name__}")
    graph = walk(root)
    order, index = graph.order, graph.index
    saved = [node.grad for node in order]
    # history[i]: (step, grad) each time node i's grad changes; every grad is 0 at step 0
    history: list[list[tuple[int, float]]] = [[(0, 0.0)] for _ in order]
    steps: list[dict[str, Any]] = []
    try:
        for node in order:
            node.grad = 0.0
        for k, step in enumerate(backward_steps(root, graph), 1):
            i = index[step.node]
            if history[i][-1][1] != step.grad_output:  # the root, seeded with 1
                history[i].append((k, step.grad_output))
            updates = []
            at_shown = local_from_shown(step.node)
            for n, u in enumerate(step.updates):
                c = index[u.child]
                before = history[c][-1][1]
                history[c].append((k, u.grad))
                updates.append({
                    "child": c, "local": short(u.local_grad), "term": short(u.contribution),
                    "edge": step.term(u),
                    "before": short(before), "after": short(u.grad), "formula": u.formula,
                    **_plugged(step.node, n, u),
                    **_accept(u, before, step.grad_output, at_shown[n] if at_shown else None),
                })
            steps.append({"node": i, "grad": short(step.grad_output), "text": str(step),
                          "updates": updates})
    finally:
        for node, grad in zip(order, saved):
            node.grad = grad

    leaves = [node for node in order if node.is_leaf and node is not root] if explained else []
    texts = dict(zip(leaves, explain_each(root, leaves, EXPLAIN_MAX_PATHS, graph)))
    nodes = []
    for node in order:
        entry: dict[str, Any] = {"name": graph.names[node], "op": node.op,
                                 "symbol": node.op_symbol, "data": short(node.data)}
        if node in texts:
            entry["explain"] = texts[node]
        nodes.append(entry)
    grads = [[[k, short(g)] for k, g in h] for h in history]
    widest = [max((g for _, g in h), key=lambda g: len(short(g))) for h in history]
    data = {"nodes": nodes, "grads": grads, "steps": steps, "tolerance": ANSWER_TOLERANCE}
    return Recording(graph, data, widest)


def embed_json(data: Any) -> str:
    """data as JSON that can sit inside a <script> element (no < > &, no lone surrogate)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(
        data, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


def _plugged(node: Value, n: int, u: ChildUpdate) -> dict[str, str]:
    """The local derivative's formula with the numbers in, for the quiz's wrong answers,
    when it says more than the formula and the number do."""
    plugged = local_formula_numbers(node, n)
    return {} if plugged in (None, u.formula, short(u.local_grad)) else {"plugged": plugged}


def _accept(u: ChildUpdate, before: float, grad_output: float,
            local_shown: float | None) -> dict[str, Any]:
    """The quiz's answers counted right, check()'s rule (grading.accepted): the new grad, worked
    from before + local · grad_output, and the local derivative, each from the engine's numbers
    or the shown ones. Left out where an end is not finite (the quiz does not ask)."""
    grad_shown = None if local_shown is None else shown(before) + local_shown * shown(
        grad_output)
    accept = {"grad": list(accepted(u.grad, grad_shown, (before, u.contribution))),
              "local": list(accepted(u.local_grad, local_shown))}
    if not all(math.isfinite(x) for ends in accept.values() for x in ends):
        return {}
    return {"accept": accept}


def asset(name: str) -> str:
    """The text of a file shipped beside this module (a page's script, style or markup)."""
    text = resources.files("micrograd").joinpath(name).read_text(encoding="utf-8")
    if name.endswith((".js", ".css")) and "</" in text:  # inlined into <script> / <style>
        raise ValueError(f"page: {name} must not contain '</'")
    return text


#: The stepper's markup, which page.js finds by id: its controls, and the panels beside the
#: drawing. The backprop page and the training page both hold them.
STEPPER_CONTROLS = """  <div class="controls" role="toolbar" aria-label="backward pass">
    <span class="row-label">Backward pass</span>
    <button id="first" title="first step (Home)">|◀</button>
    <button id="prev" title="previous step (←)">◀</button>
    <button id="play" class="play" title="play (space)">play</button>
    <button id="next" title="next step (→)">▶</button>
    <button id="last" title="last step (End)">▶|</button>
    <input id="scrub" type="range" min="0" max="0" value="0" aria-label="step">
    <span id="counter">step 0 / 0</span>
    <span class="zoom" role="group" aria-label="zoom the graph">
      <button id="zoom-out" title="zoom out (−, or the wheel)">−</button><button id="fit"
        title="fit the graph to the view, its text kept at 12 px or more (0)">fit</button><button
        id="zoom-in" title="zoom in (+, or the wheel)">+</button>
      <span id="zoom-level" class="hint">100%</span>
    </span>
  </div>
  <div id="status"></div>"""
STEPPER_PANELS = """  <aside>
    <section id="step-box">
      <h2>This step <span class="hint">(the numbers are the edges')</span></h2>
      <ol id="terms" hidden></ol>
      <h4>As <code>backward_steps</code> prints it</h4>
      <pre id="step-text"></pre>
    </section>
    <section>
      <h2>Node <span class="hint">(click one)</span></h2>
      <div id="node-info"><p class="hint">Click a node of the graph to see its op, data,
      grad and local derivatives.</p></div>
    </section>
  </aside>"""
#: What the keys and the mouse do, as both pages say it.
KEYS = "Keys: → ← step, space plays, + − 0 zoom (or the wheel), a drag pans."

#: The start of every page this package writes, up to its <body>: fields {title} and {css}.
DOCUMENT_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}</style>
</head>
"""

_TEMPLATE = DOCUMENT_HEAD + """<body class="backprop">
<header>
  <h1>{heading}</h1>
  <p class="lede">The graph after the forward pass. Press → (or ▶) to run backward() one node
  at a time: the orange node passes its grad to its children (green), one numbered term per
  edge. Tick <b>check yourself</b> to work each step out first. {keys}</p>
{controls}
</header>
<main>
  <div id="graph">
{svg}
  </div>
{panels}
</main>
<script type="application/json" id="backprop-data">{data}</script>
<script>
{js}</script>
</body>
</html>
"""
