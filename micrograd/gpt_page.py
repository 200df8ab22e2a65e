"""The GPT's training page: one offline HTML file that shows a microgpt run learning.

``Recorder(model, tokenizer, docs, steps)`` is an ``on_step`` for ``train_gpt``: it keeps
every step's loss and, at each recorded step (``every`` steps, and the last), the state
after that step's update: names sampled from the model (seeded by the step), one chosen
name's forward pass (each head's attention weights as a query × key heatmap, and each
position's loss, the probability of the right next character and the model's top guess),
a summary per weight matrix (the norms of the weights, of ∂loss/∂w and of the Adam step
just taken) and, for one chosen parameter, ∂loss/∂p of the chosen name as the chain rule
with numbers (``trace.derivation``, ``max_paths`` paths written out, the total of all).

``write(path)`` writes the page atomically. Python computes and formats every number and
draws every picture (SVG); the page's script only shows the recorded step asked for
(the slider, ← / →, ``#step=N``). Recording reads the model and never changes its floats:
the chosen name's graph is built apart and explained without a backward pass.
"""

from __future__ import annotations

import html
import math
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from micrograd._files import write_atomic
from micrograd._numbers import short
from micrograd.engine import Value
from micrograd.gpt import GPT, Inputs, Tokenizer, mean_loss, sample
from micrograd.optim import Optimizer
from micrograd.page import DOCUMENT_HEAD, asset, embed_json
from micrograd.paths import derivation

__all__ = ["MAX_PAGE_BYTES", "Recorder"]

#: The page is refused above this size (the issue's bound: it must open in seconds).
MAX_PAGE_BYTES = 5 * 2**20

CURVE_W, CURVE_H, CELL = 640, 180, 18


class Recorder:
    """train_gpt's on_step: every loss, and at recorded steps what the page shows."""

    def __init__(self, model: GPT, tokenizer: Tokenizer, docs: Sequence[str], steps: int,
                 every: int | None = None, name: str = "emma", parameter: str | None = None,
                 samples: int = 8, temperature: float = 0.5, max_paths: int = 4) -> None:
        ids = tokenizer.encode(name)
        if len(ids) - 1 > model.block_size:
            raise ValueError(f"Recorder: name {name!r} is longer than block_size "
                             f"{model.block_size}")
        named = dict(model.named_parameters())
        parameter = parameter or f"lm_head[{ids[1]}][0]"  # ∂loss/∂ it: 2 paths a position
        if parameter not in named:
            raise ValueError(f"Recorder: no parameter {parameter!r}; e.g. 'lm_head[4][0]'")
        self.model, self.tokenizer, self.docs, self.steps = model, tokenizer, docs, steps
        self.every = every or max(1, steps // 10)
        self.name, self.ids, self.parameter = name, ids, named[parameter]
        self.samples, self.temperature, self.max_paths = samples, temperature, max_paths
        self.losses: list[float] = []
        self.records: list[dict[str, Any]] = []
        self._before = [p.data for p in model.parameters()]  # the weights before this step

    def recorded(self, step: int) -> bool:
        """Whether step (0-based) is recorded: every ``every``-th, the first and the last."""
        return step % self.every == 0 or step == self.steps - 1

    def __call__(self, step: int, loss: float, optimizer: Optimizer) -> None:
        """After step's update: keep its loss; at a recorded step, what the page shows."""
        self.losses.append(loss)
        params = self.model.parameters()
        if self.recorded(step):
            self.records.append(self._record(step, loss, params))
        if self.recorded(step + 1):  # the next step's Adam step is after - before
            self._before = [p.data for p in params]

    def _record(self, step: int, loss: float, params: list[Value]) -> dict[str, Any]:
        model, tokenizer = self.model, self.tokenizer
        rng = random.Random(step)
        names = [sample(model, tokenizer, rng, self.temperature) for _ in range(self.samples)]
        before = dict(zip(params, self._before))
        matrices = []
        for matrix_name, matrix in model.weights.items():
            flat = [p for row in matrix for p in row]
            matrices.append([matrix_name, f"{len(matrix)}×{len(matrix[0])}",
                             short(_norm(p.data for p in flat)), short(_norm(p.grad for p in flat)),
                             short(_norm(p.data - before[p] for p in flat))])
        inputs = Inputs(len(self.ids) - 1, model.vocab_size)
        inputs.set(self.ids)
        attention: list[list[Value]] = []
        positions = model.position_losses(inputs.tokens, inputs.targets, attention)
        chars = [tokenizer.decode([i]) or "BOS" for i in self.ids]
        table = []
        for pos, node in enumerate(positions):
            logits = node.children[0].children  # loss_p = logsumexp(logits) − logits·target
            top = max(range(len(logits)), key=lambda i: logits[i].data)
            table.append([str(pos), chars[pos], chars[pos + 1], short(node.data),
                          short(math.exp(-node.data)), tokenizer.decode([top]) or "BOS"])
        mean = mean_loss(positions)
        found = derivation(mean, self.parameter, self.max_paths)
        per_position = model.n_layer * model.n_head  # attention: per position, layer, head
        maps = [_heatmap([attention[pos * per_position + h] for pos in range(len(positions))],
                         chars[:-1], f"head {h}") for h in range(model.n_head)]  # layer 0
        return {"step": step + 1, "loss": short(loss), "name_loss": short(mean.data),
                "samples": names, "matrices": matrices,
                "positions": table, "heatmaps": maps, "explain": found.text,
                "grad": short(found.total)}

    def data(self) -> dict[str, Any]:
        """What the page shows, as JSON: the run, the loss curve's SVG, every record."""
        return {"steps": self.steps, "name": self.name, "parameter": self.parameter.label,
                "temperature": short(self.temperature), "config": self.model.config(),
                "curve": _curve(self.losses, [r["step"] for r in self.records]),
                "records": self.records}

    def html(self) -> str:
        """The page."""
        title = f"microgpt learning names · {self.steps} steps · micrograd"
        head = DOCUMENT_HEAD.format(title=html.escape(title), css=asset("gpt_page.css"))
        return (head + _BODY.format(title=html.escape(title), data=embed_json(self.data()),
                                    js=asset("gpt_page.js")))

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page atomically; ValueError if it would pass MAX_PAGE_BYTES."""
        data = self.html().encode("utf-8")
        if len(data) > MAX_PAGE_BYTES:
            raise ValueError(f"{os.fspath(path)}: the GPT page would be {len(data):,} bytes, "
                             f"over MAX_PAGE_BYTES ({MAX_PAGE_BYTES:,}); record fewer steps")
        write_atomic(path, data)
        return Path(path)


def _norm(xs: Any) -> float:
    """√(Σ x²)."""
    return math.sqrt(math.fsum(x * x for x in xs))


def _curve(losses: Sequence[float], marked: Sequence[int]) -> str:
    """The loss per step and its mean over the last 20 steps, as an SVG; a dot per record."""
    if not losses:
        return ""
    low, high = min(losses), max(losses)
    span = (high - low) or 1.0
    last = max(1, len(losses) - 1)

    def x(i: int) -> str:
        return f"{40 + (CURVE_W - 50) * i / last:.1f}"

    def y(loss: float) -> str:
        return f"{10 + (CURVE_H - 30) * (high - loss) / span:.1f}"

    smooth = [math.fsum(losses[max(0, i - 19): i + 1]) / (i + 1 - max(0, i - 19))
              for i in range(len(losses))]
    raw = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(losses))
    mean = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(smooth))
    dots = "".join(f'<circle class="mark" data-step="{s}" r="4" cx="{x(s - 1)}" '
                   f'cy="{y(losses[s - 1])}"><title>step {s}: loss {short(losses[s - 1])}'
                   '</title></circle>' for s in marked)
    axis = (f'<text x="4" y="16">{short(round(high, 3))}</text>'
            f'<text x="4" y="{CURVE_H - 16}">{short(round(low, 3))}</text>'
            f'<text x="40" y="{CURVE_H - 2}">step 1</text>'
            f'<text x="{CURVE_W - 10}" y="{CURVE_H - 2}" text-anchor="end">step {len(losses)}'
            '</text>')
    return (f'<svg viewBox="0 0 {CURVE_W} {CURVE_H}" width="100%" '
            f'role="img" aria-label="loss per step"><polyline class="raw" points="{raw}"/>'
            f'<polyline class="smooth" points="{mean}"/>{dots}{axis}</svg>')


def _heatmap(rows: Sequence[Sequence[Value]], chars: Sequence[str], caption: str) -> str:
    """One head's attention weights, query (row) × key (column), as an SVG of shaded cells."""
    n, pad = len(rows), 34
    size = pad + CELL * n + 4
    cells = []
    for q, weights in enumerate(rows):
        for k, w in enumerate(weights):
            shade = round(255 * (1 - w.data))
            cells.append(f'<rect x="{pad + CELL * k}" y="{pad + CELL * q}" width="{CELL}" '
                         f'height="{CELL}" fill="rgb({shade},{shade},255)"><title>'
                         f'{html.escape(chars[q])} → {html.escape(chars[k])}: '
                         f'{short(w.data)}</title></rect>')
    labels = "".join(
        f'<text x="{pad - 4}" y="{pad + CELL * i + 13}" text-anchor="end">{html.escape(c)}</text>'
        f'<text x="{pad + CELL * i + CELL // 2}" y="{pad - 6}" text-anchor="middle">'
        f'{html.escape(c)}</text>' for i, c in enumerate(chars))
    return (f'<figure><svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
            f'role="img" aria-label="{caption}">{"".join(cells)}{labels}</svg>'
            f'<figcaption>{caption}</figcaption></figure>')


_BODY = """<body class="gpt">
<header>
  <h1>{title}</h1>
  <div class="controls" role="toolbar" aria-label="recorded steps">
    <button id="prev" title="previous recorded step (←)">◀</button>
    <input id="scrub" type="range" min="0" max="0" value="0" aria-label="recorded step">
    <button id="next" title="next recorded step (→)">▶</button>
    <span id="counter"></span>
  </div>
</header>
<main>
  <section id="curve-panel"><h2>Loss per step <span class="hint">(grey: each name; dark: the
  mean of the last 20)</span></h2><div id="curve"></div></section>
  <section><h2>Names sampled after this step <span class="hint" id="sample-note"></span></h2>
  <ol id="samples"></ol></section>
  <section id="attention-panel"><h2>Attention on <q id="probe"></q>, each head
  <span class="hint">(row: the query position; column: the key it reads; dark: weight
  near 1)</span></h2><div id="heatmaps"></div></section>
  <section><h2>Loss per position of <q class="probe"></q> <span id="name-loss"></span></h2>
  <table id="positions"><thead><tr><th>pos</th><th>input</th><th>target</th><th>loss</th>
  <th>p(target)</th><th>top guess</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Weights, gradients and the Adam step, per matrix</h2>
  <table id="matrices"><thead><tr><th>matrix</th><th>shape</th><th>‖w‖</th>
  <th>‖∂loss/∂w‖</th><th>‖Adam step‖</th></tr></thead><tbody></tbody></table></section>
  <section id="explain-panel"><h2>∂loss/∂<span id="parameter"></span> for <q
  class="probe"></q>, as the chain rule</h2><pre id="explain"></pre></section>
</main>
<script type="application/json" id="gpt-data">{data}</script>
<script>
{js}</script>
</body>
</html>
"""
