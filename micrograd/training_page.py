"""The training page: one self-contained HTML file that replays a run ``train(..., page=...)`` made.

A timeline over the recorded epochs (``micrograd.record``): the loss curve with a cursor,
the parameter table of the selected sample's update (the notes' p ← p − lr·∂E/∂p with
numbers; Adam's m, v and step), the model's output over the input plane for 2-input
models with the data points, a network view (neurons and weight edges) for Net221 and MLP,
and the selected sample's graph stepping through backward with the backprop page's own
stepper (page.js): the very forward and backward pass train() ran for that sample in that
epoch, rebuilt here at the parameters recorded just before its update and checked to give
the grads train() used, bit for bit.

What a page holds: the frames ``history.recording`` kept; the updates and sample graphs of
its detail samples on its detail frames (the page lists both); on a large graph (more than
``EXPLAIN_LEAVES`` leaves) no explain() texts, and graphs on at most ``GRAPH_NODES``
recorded nodes. Python formats every number; the script does no arithmetic on values.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from micrograd import ops
from micrograd._files import check_writable, write_atomic
from micrograd._numbers import preview, short
from micrograd.engine import Value
from micrograd.nn import MLP, Module, Net221
from micrograd.optim import SGD, Adam, AdamW
from micrograd.page import (
    DOCUMENT_HEAD,
    KEYS,
    STEPPER_CONTROLS,
    STEPPER_PANELS,
    asset,
    embed_json,
    record,
)
from micrograd.record import Frame, Recording, Update, evenly
from micrograd.train import TrainHistory
from micrograd.walk import walk

__all__ = ["BINS", "EXPLAIN_LEAVES", "GRAPH_FRAMES", "GRAPH_NODES", "HEAT_EVALS", "Packer",
           "check_page", "unpack", "write_page"]

#: A sample graph with more leaves than this has no explain() texts on the page.
EXPLAIN_LEAVES = 40
#: The sample graphs on a page hold at most this many nodes in all (records × nodes).
GRAPH_NODES = 12_000
#: Graphs go to as few samples as leave room for this many epochs of each (if the run has them).
GRAPH_FRAMES = 5
#: The heatmaps of a page evaluate at most about this many op nodes (grid × frames × nodes).
HEAT_EVALS = 1_000_000

Sample = tuple[tuple[Any, ...], Any]

# A number inside the JSON text of a record: what pack() takes out into a record's values.
# A negative number in a formula is written in parentheses, "(-0.5)": taken out whole, so a
# record whose numbers change sign keeps its template.
_NUMBER = re.compile(r"\(-\d+(?:\.\d+)?(?:e[-+]?\d+)?\)"
                     r"|(?<![\w.#])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


def check_page(path: str | os.PathLike[str]) -> None:
    """ValueError or OSError, before training, if path cannot take the training page."""
    if Path(path).suffix.lower() != ".html":
        raise ValueError(f"train: page must be an .html file, got {preview(str(path), 200)}")
    check_writable(path)


# ---- packing: records of one shape share their text, and keep only their numbers --------


class Packer:
    """Records as (template, numbers): a template is records' JSON text with their numbers out.

    Records of one graph at other epochs differ only in their numbers, so they share their
    text. ``pack`` files a record under its number-free text and returns its reference, an
    empty list; ``templates()`` then fills every reference in with [template index, "n0|n1|…"]:
    a number that is the same in every record of a template stays in its text, and positions
    whose numbers are equal in every record share one slot. The page puts the numbers back
    (string joining, no arithmetic): see ``unpack``.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, ...], list[tuple[list[Any], list[str]]]] = {}

    def pack(self, data: Any) -> list[Any]:
        """data's reference, filled in by templates()."""
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        ref: list[Any] = []
        self._groups.setdefault(tuple(_NUMBER.split(text)), []).append(
            (ref, _NUMBER.findall(text)))
        return ref

    def templates(self) -> list[dict[str, Any]]:
        """The templates: {"pieces": texts between slots, "same": [position, slot, …]}.

        Slot k of a record's numbers fills position k of its template unless "same" names an
        earlier slot for that position: a number equal to an earlier one in every record, or
        (slot −1 − j) to slot j's number with the other sign.
        """
        out: list[dict[str, Any]] = []
        for pieces, members in self._groups.items():
            texts, same = [pieces[0]], []
            slot_of: dict[tuple[str, ...], int] = {}
            for column, after in zip(zip(*(numbers for _, numbers in members)), pieces[1:]):
                if len(set(column)) == 1:  # one number in every record: part of the text
                    texts[-1] += column[0] + after
                    continue
                negated = tuple(map(_negated, column))
                if column in slot_of:
                    same += [len(texts) - 1, slot_of[column]]
                elif negated in slot_of:
                    same += [len(texts) - 1, -1 - slot_of[negated]]
                else:
                    slot_of[column] = len(slot_of)
                texts.append(after)
            for m, (ref, _) in enumerate(members):
                ref[:] = [len(out), "|".join(column[m] for column in slot_of)]
            out.append({"pieces": texts, "same": same})
        return out


def _negated(number: str) -> str:
    """The number's text with the other sign ("" for a number in parentheses: none)."""
    if number.startswith("("):
        return ""
    return number[1:] if number.startswith("-") else f"-{number}"


def unpack(template: dict[str, Any], ref: list[Any]) -> Any:
    """A packed record back (as the page's unpack does it): its template with its numbers in."""
    values, same, texts = ref[1].split("|"), template["same"], template["pieces"]
    text, new, r = texts[0], 0, 0
    for i, after in enumerate(texts[1:]):
        if r < len(same) and same[r] == i:
            slot, r = same[r + 1], r + 2
        else:
            slot, new = new, new + 1
        text += (values[slot] if slot >= 0 else _negated(values[-1 - slot])) + after
    return json.loads(text)


# ---- the parameter table: each update as the notes' formula with numbers ----------------


def _signed(x: float) -> str:
    text = short(x)
    return f"({text})" if text.startswith("-") else text


def table_columns(recording: Recording) -> list[str]:
    """The table's column heads for this optimiser."""
    head = ["parameter", "before", "∂E/∂p", "update", "after"]
    opt = recording.optimizer
    if isinstance(opt, Adam):
        return [*head, "m", "v"]
    if isinstance(opt, SGD) and opt.momentum:
        return [*head, "velocity v"]
    return head


def update_rule(recording: Recording) -> str:
    """The optimiser's update, as the page's caption writes it."""
    opt = recording.optimizer
    if isinstance(opt, Adam):
        b1, b2 = opt.betas
        decay = ""
        if opt.weight_decay:
            decay = (f"; first p ← p·(1 − lr·λ), λ = {short(opt.weight_decay)}"
                     if isinstance(opt, AdamW) else
                     f"; g = ∂E/∂p + λ·p, λ = {short(opt.weight_decay)}")
        return (f"{type(opt).__name__}, lr = {short(opt.lr)}: m ← {short(b1)}·m + "
                f"{short(1 - b1)}·g, v ← {short(b2)}·v + {short(1 - b2)}·g², "
                f"p ← p − lr/(1 − β1ᵗ)·m/(√v/√(1 − β2ᵗ) + ε), ε = {short(opt.eps)}{decay}")
    if isinstance(opt, SGD) and opt.momentum:
        return (f"SGD with momentum {short(opt.momentum)}, lr = {short(opt.lr)}: "
                f"v ← {short(opt.momentum)}·v + ∂E/∂p, p ← p − lr·v")
    return f"the notes' gradient descent, lr = {short(opt.lr)}: p ← p − lr·∂E/∂p"


def table_rows(recording: Recording, update: Update) -> list[list[str]]:
    """One row per parameter: name, before, grad, the update with numbers, after (+ state)."""
    opt = recording.optimizer
    rows = []
    for i, name in enumerate(recording.names):
        before, grad, after = update.before[i], update.grads[i], update.after[i]
        if isinstance(opt, Adam):
            m, v = update.state["m"][i], update.state["v"][i]
            b1, b2 = opt.betas
            step = opt.lr / (1.0 - b1 ** update.t)
            root = math.sqrt(1.0 - b2 ** update.t)
            start = short(before)
            if opt.weight_decay and isinstance(opt, AdamW):
                start = f"{short(before)}·{short(1.0 - opt.lr * opt.weight_decay)}"
            rule = (f"{name} ← {start} − {short(step)}·{_signed(m)}/(√{short(v)}/"
                    f"{short(root)} + {short(opt.eps)}) = {short(after)}")
            rows.append([short(before), short(grad), rule, short(after), short(m), short(v)])
        elif isinstance(opt, SGD) and opt.momentum:
            v = update.state["velocity"][i]
            rule = f"{name} ← {short(before)} − {short(opt.lr)}·{_signed(v)} = {short(after)}"
            rows.append([short(before), short(grad), rule, short(after), short(v)])
        else:
            rule = f"{name} ← {short(before)} − {short(opt.lr)}·{_signed(grad)} = {short(after)}"
            rows.append([short(before), short(grad), rule, short(after)])
    return rows


# ---- the model's output over the input plane -----------------------------------------------


class Plane:
    """The model's output at a grid of points, on floats with the registry's forwards.

    One graph of model(x1, x2) is walked once; each point replays its ops in order
    (``ops.get(op).forward``, as the engine's forward does), reading the parameters'
    current ``data``: the same floats as ``model(x1, x2)``, without building a graph.
    """

    def __init__(self, model: Module, samples: list[Sample], grid: int) -> None:
        self.x1, self.x2 = Value(0.0, "x1"), Value(0.0, "x2")
        out = model(self.x1, self.x2)
        self.outputs: list[Value] = list(out) if isinstance(out, list) else [out]
        root = self.outputs[0] if len(self.outputs) == 1 else Value.sum(self.outputs)
        order = list(reversed(walk(root).order))  # children first
        self.slot = {node: i for i, node in enumerate(order)}
        self.leaves = [node for node in order if node.is_leaf]
        self.program = [(self.slot[n], ops.get(n.op).forward, [self.slot[c] for c in n.children],
                         dict(n.params)) for n in order if not n.is_leaf]
        xs = [float(x[0]) for x, _ in samples]
        ys = [float(x[1]) for x, _ in samples]
        pad_x = 0.15 * ((max(xs) - min(xs)) or 1.0)
        pad_y = 0.15 * ((max(ys) - min(ys)) or 1.0)
        self.box = (min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y)
        self.grid = grid
        x0, x1, y0, y1 = self.box
        self.points = [(x0 + (i + 0.5) * (x1 - x0) / grid, y1 - (j + 0.5) * (y1 - y0) / grid)
                       for j in range(grid) for i in range(grid)]  # rows from the top

    def values(self) -> list[list[float]]:
        """Per grid point, the model's outputs at the parameters' current data."""
        base = [0.0] * len(self.slot)
        for leaf in self.leaves:
            base[self.slot[leaf]] = leaf.data
        s1, s2 = self.slot.get(self.x1), self.slot.get(self.x2)
        outs = [self.slot[o] for o in self.outputs]
        result = []
        for a, b in self.points:
            vals = list(base)
            if s1 is not None:
                vals[s1] = a
            if s2 is not None:
                vals[s2] = b
            for i, forward, kids, params in self.program:
                if params:
                    vals[i] = forward(*[vals[k] for k in kids], **params)
                else:
                    vals[i] = forward(*[vals[k] for k in kids])
            result.append([vals[k] for k in outs])
        return result


# Colours: one output shades from blue (low) through white (between the targets) to orange
# (high); more classes have a hue each, paler where the model is less sure.
_BLUE, _WHITE, _ORANGE = (0x1c, 0x3f, 0x8c), (0xf8, 0xf9, 0xfa), (0xc2, 0x41, 0x0c)
_HUES = [("#d0ebff", "#74c0fc", "#1c7ed6"), ("#ffe8cc", "#ffc078", "#f76707"),
         ("#d3f9d8", "#8ce99a", "#37b24d"), ("#f3d9fa", "#e599f7", "#ae3ec9"),
         ("#fff3bf", "#ffe066", "#f59f00"), ("#ffe3e3", "#ffa8a8", "#f03e3e")]
_CODES = "0123456789abcdefghijklmnopqrstuvwxyz"
#: One output's scale: BINS bins a tenth of (hi − lo) wide, from lo − (hi − lo) to hi + (hi − lo).
BINS = 30


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


class Heat:
    """Colour codes of the plane's points: the page paints cell i with palette[code[i]].

    One output (ŷ against targets lo and hi): BINS bins of a tenth of hi − lo each, from
    lo − (hi − lo) to hi + (hi − lo), white at the middle of the targets; ŷ beyond takes the
    end bins. Classes: the hue of the class with the largest output, three shades of sure.
    """

    def __init__(self, samples: list[Sample], outputs: int) -> None:
        targets = [t for _, t in samples]
        self.classes = outputs if outputs > 1 else 0
        if self.classes:
            self.palette = [c for hue in _HUES[: self.classes] for c in hue]
            return
        numbers = [float(t) for t in targets]
        self.lo, self.hi = min(numbers), max(numbers)
        if self.lo == self.hi:
            self.lo, self.hi = self.lo - 1.0, self.hi + 1.0
        half = BINS / 2
        self.palette = [_mix(_WHITE, _BLUE if k < half else _ORANGE,
                             (abs(k + 0.5 - half) / half) ** 0.75) for k in range(BINS)]

    def code(self, outs: list[float]) -> str:
        if self.classes:
            top = max(range(len(outs)), key=outs.__getitem__)
            exps = [math.exp(o - outs[top]) for o in outs]
            p = 1.0 / sum(exps) if all(map(math.isfinite, exps)) else 0.0
            level = 0 if p < 0.5 else 1 if p < 0.8 else 2
            return _CODES[3 * (top % len(_HUES)) + level]
        y = outs[0]
        if math.isnan(y):
            return _CODES[BINS // 2]
        bin_ = math.floor(((y - self.lo) / (self.hi - self.lo) + 1.0) * 10) if math.isfinite(y) \
            else (0 if y < 0 else BINS - 1)
        return _CODES[min(BINS - 1, max(0, bin_))]

    def point_colour(self, target: Any) -> str:
        if self.classes:
            return _HUES[int(target) % len(_HUES)][2]
        return self.palette[2] if float(target) <= (self.lo + self.hi) / 2 else self.palette[-3]

    def spread(self, values: list[list[float]]) -> str:
        """What the colours say at one epoch: ŷ's range over the plane (one output)."""
        if self.classes:
            return ""
        ys = [outs[0] for outs in values]
        return f"At this epoch ŷ runs from {short(min(ys))} to {short(max(ys))} over the plane."

    def legend_svg(self, width: float) -> str:
        """A colour bar with its numbers (one output), or a swatch per class."""
        parts = []
        if self.classes:
            for c in range(self.classes):
                x = c * 70
                parts.append(f'<rect x="{x}" y="0" width="12" height="12" '
                             f'fill="{self.palette[3 * c + 2]}"/><text x="{x + 16}" y="10">'
                             f'class {c}</text>')
            return "".join(parts)
        step = width / BINS
        for k, colour in enumerate(self.palette):
            parts.append(f'<rect x="{k * step:.2f}" y="0" width="{step + 0.3:.2f}" height="10" '
                         f'fill="{colour}"/>')
        span = self.hi - self.lo
        for k, value in ((0, self.lo - span), (10, self.lo), (15, (self.lo + self.hi) / 2),
                         (20, self.hi), (30, self.hi + span)):
            anchor = "start" if k == 0 else "end" if k == BINS else "middle"
            parts.append(f'<line x1="{k * step:.2f}" y1="0" x2="{k * step:.2f}" y2="13" '
                         f'class="tick"/><text x="{k * step:.2f}" y="23" '
                         f'text-anchor="{anchor}">{short(value)}</text>')
        return "".join(parts)


def heat_svg(plane: Plane, heat: Heat, samples: list[Sample], size: int = 210) -> str:
    """The plane's SVG: grid cells (painted per epoch by the page), the data points, the
    colour bar."""
    g = plane.grid
    cell = size / g
    x0, x1, y0, y1 = plane.box
    parts = [f'<svg id="heat" viewBox="-44 -4 {size + 48} {size + 62}" width="{size + 48}" '
             f'height="{size + 62}" role="img" aria-label="the model\'s output over the '
             f'input plane">']
    for j in range(g):
        for i in range(g):
            parts.append(f'<rect class="cell" x="{i * cell:.2f}" y="{j * cell:.2f}" '
                         f'width="{cell + 0.3:.2f}" height="{cell + 0.3:.2f}"/>')
    for s, (x, target) in enumerate(samples):
        px = (float(x[0]) - x0) / (x1 - x0) * size
        py = (y1 - float(x[1])) / (y1 - y0) * size
        parts.append(f'<circle class="point {"big" if len(samples) <= 20 else "small"}" '
                     f'data-sample="{s}" cx="{px:.2f}" cy="{py:.2f}" '
                     f'r="{7 if len(samples) <= 20 else 3.5}" fill="{heat.point_colour(target)}">'
                     f'<title>sample {s}: {html.escape(sample_text(x, target))}</title></circle>')
    parts.append(f'<text x="0" y="{size + 14}">{short(x0)}</text>'
                 f'<text x="{size}" y="{size + 14}" text-anchor="end">{short(x1)}</text>'
                 f'<text x="{size / 2}" y="{size + 14}" text-anchor="middle">x1</text>'
                 f'<text x="-4" y="{size}" text-anchor="end">{short(y0)}</text>'
                 f'<text x="-4" y="10" text-anchor="end">{short(y1)}</text>'
                 f'<text x="-4" y="{size / 2}" text-anchor="end">x2</text>'
                 f'<g class="bar" transform="translate(0 {size + 24})">'
                 f'{heat.legend_svg(size)}</g></svg>')
    return "".join(parts)


def heat_legend(heat: Heat, samples: list[Sample]) -> str:
    """The plane's legend in words: what the colours and the points mean."""
    if heat.classes:
        return ("Colour: the class with the largest output, paler where less sure (softmax "
                "under 0.8, under 0.5). Points: the samples, in their class's colour; ringed: "
                "the selected one.")
    targets = sorted({float(t) for _, t in samples})
    points = (f"blue y = {short(targets[0])}, orange y = {short(targets[-1])}"
              if len(targets) == 2 else "blue: y in the lower half, orange: the upper")
    return (f"Colour: ŷ on the bar's scale. Points: the samples, {points}; ringed: the "
            "selected one.")


def sample_text(x: Sequence[Any], target: Any) -> str:
    """x = (1, 0), y = 1"""
    y = short(float(target)) if isinstance(target, (int, float)) else str(target)
    return f"x = ({', '.join(short(float(v)) for v in x)}), y = {y}"


# ---- the loss curve ------------------------------------------------------------------------


def loss_svg(losses: list[float], width: int = 360, height: int = 160) -> tuple[str, Callable[
        [int], str]]:
    """The mean loss per epoch as an SVG (log scale when every loss is positive), and the
    cursor's x for an epoch."""
    n = len(losses)
    left, right, top, bottom = 64, width - 10, 10, height - 26
    finite = [v for v in losses if math.isfinite(v)] or [0.0]
    log = all(v > 0 for v in finite)
    ys = [math.log10(v) if log else v for v in finite]
    lo, hi = min(ys), max(ys)
    if hi == lo:
        lo, hi = lo - 1, hi + 1

    def x_of(epoch: int) -> float:
        return left + (right - left) * (epoch / (n - 1) if n > 1 else 0.0)

    def y_of(v: float) -> float:
        if not math.isfinite(v):
            return top
        y = math.log10(v) if log else v
        return bottom - (bottom - top) * (y - lo) / (hi - lo)

    keep = evenly(n, 600)
    path = " ".join(f"{'M' if k == 0 else 'L'}{x_of(e):.1f},{y_of(losses[e]):.1f}"
                    for k, e in enumerate(keep))
    low, high = (10 ** lo, 10 ** hi) if log else (lo, hi)
    svg = (f'<svg id="loss" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="mean loss per epoch">'
           f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
           f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>'
           f'<path class="curve" d="{path}"/>'
           f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{short(high)}</text>'
           f'<text x="{left - 4}" y="{bottom}" text-anchor="end">{short(low)}</text>'
           f'<text x="{left}" y="{height - 10}">epoch 1</text>'
           f'<text x="{right}" y="{height - 10}" text-anchor="end">{n}</text>'
           f'<text x="{(left + right) / 2}" y="{height - 10}" text-anchor="middle">'
           f'mean loss{" (log scale)" if log else ""}</text>'
           f'<line id="cursor" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>'
           f'<circle id="cursor-dot" cx="{left}" cy="{bottom}" r="3.5"/></svg>')
    return svg, lambda e: f"{x_of(e):.1f},{y_of(losses[e]):.1f}"


# ---- the network view: neurons in layers, weights as edges ----------------------------------


def network_layout(model: Module) -> list[list[dict[str, Any]]] | None:
    """Per layer, its neurons: [{"bias": param index or None, "in": [(from, param index)]}].

    Net221 and MLP; None for a model of another kind (its layers are not known here).
    """
    names = [name for name, _ in model.named_parameters()]
    index = {name: i for i, name in enumerate(names)}
    if isinstance(model, Net221):
        return [
            [{"name": "x1", "bias": None, "in": []}, {"name": "x2", "bias": None, "in": []}],
            [{"name": "z1", "bias": index["b1"], "in": [(0, index["w11"]), (1, index["w12"])]},
             {"name": "z2", "bias": index["b2"], "in": [(0, index["w21"]), (1, index["w22"])]}],
            [{"name": "ŷ", "bias": index["b"], "in": [(0, index["w1"]), (1, index["w2"])]}],
        ]
    if isinstance(model, MLP):
        layers: list[list[dict[str, Any]]] = [
            [{"name": f"x{i}", "bias": None, "in": []} for i in range(model.nin)]]
        for k, layer in enumerate(model.layers):
            layers.append([
                {"name": f"L{k}.N{j}", "bias": index[f"L{k}.N{j}.b"],
                 "in": [(i, index[f"L{k}.N{j}.w{i}"]) for i in range(neuron.nin)]}
                for j, neuron in enumerate(layer.neurons)])
        return layers
    return None


def network_svg(layers: list[list[dict[str, Any]]], width: int = 320, height: int = 250) -> str:
    """The network's SVG: a circle per neuron, a line per weight (styled per epoch)."""
    pos: list[list[tuple[float, float]]] = []
    for k, layer in enumerate(layers):
        x = 24 + (width - 48) * k / max(1, len(layers) - 1)
        gap = (height - 30) / len(layer)
        pos.append([(x, 15 + gap * (j + 0.5)) for j in range(len(layer))])
    big = max(len(layer) for layer in layers) > 8
    parts = [f'<svg id="net" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="the network: neurons and weights">']
    hits: list[str] = []
    for k, layer in enumerate(layers[1:], 1):
        for j, neuron in enumerate(layer):
            x2, y2 = pos[k][j]
            for i, p in neuron["in"]:
                x1, y1 = pos[k - 1][i]
                ends = f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
                parts.append(f'<line class="w" data-p="{p}" {ends}/>')
                hits.append(f'<line class="hit" data-p="{p}" {ends}/>')  # a wide hover target
    parts += hits
    for k, layer in enumerate(layers):
        for j, neuron in enumerate(layer):
            x, y = pos[k][j]
            bias = "" if neuron["bias"] is None else f' data-p="{neuron["bias"]}"'
            parts.append(f'<circle class="n" data-name="{html.escape(neuron["name"])}"{bias} '
                         f'cx="{x:.1f}" cy="{y:.1f}" r="{5 if big else 13}"/>')
            if not big:
                parts.append(f'<text class="n" x="{x:.1f}" y="{y + 4:.1f}" '
                             f'text-anchor="middle">{html.escape(neuron["name"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


_EDGE_CODES = "abcde"  # positive weights, thin to thick; upper case: negative


def edge_styles(values: list[float], scale: float) -> str:
    """A code per parameter: its sign (case) and |value| relative to scale (a to e)."""
    out = []
    for v in values:
        level = 0 if not (math.isfinite(v) and scale > 0) else min(4, int(5 * abs(v) / scale))
        c = _EDGE_CODES[level]
        out.append(c.upper() if v < 0 else c)
    return "".join(out)


# ---- the page --------------------------------------------------------------------------------


def write_page(path: str | os.PathLike[str], history: TrainHistory, model: Module,
               samples: list[Sample], loss: Callable[[Any, Any], Value]) -> Path:
    """Write the training page of a recorded run to path (atomically); returns the path."""
    recording = history.recording
    if recording is None or not recording.frames:
        raise ValueError("training page: the run recorded no epoch (epochs=0?)")
    params = [p for _, p in model.named_parameters()]
    saved = [(p.data, p.grad) for p in params]
    try:
        data, drawings = _page_data(history, recording, model, params, samples, loss)
    finally:
        for p, (d, g) in zip(params, saved):
            p.data, p.grad = d, g
    title = f"training run · {type(model).__name__} · micrograd"
    page = _TEMPLATE.format(
        controls=STEPPER_CONTROLS, panels=STEPPER_PANELS, title=html.escape(title),
        heading=html.escape(f"Watch {_model_text(model)} learn, epoch by epoch"),
        lede=_LEDE, keys=html.escape(KEYS),
        css=asset("page.css") + asset("training_page.css"),
        loss=data.pop("loss_svg_markup"), heat=data.pop("heat_svg_markup"),
        net=data.pop("net_svg_markup"), data=embed_json(data),
        drawings="".join(f'<template id="drawing-{k}">{svg}</template>'
                         for k, svg in enumerate(drawings)),
        js=asset("page.js"), tjs=asset("training_page.js"))
    path = Path(path)
    write_atomic(path, page.encode("utf-8"))
    return path


def _page_data(history: TrainHistory, recording: Recording, model: Module, params: list[Value],
               samples: list[Sample], loss: Callable[[Any, Any], Value]
               ) -> tuple[dict[str, Any], list[str]]:
    frames = recording.frames
    packer = Packer()
    curve, cursor = loss_svg(history.losses)
    layers = network_layout(model)
    scale = max((abs(v) for f in frames for v in f.start if math.isfinite(v)), default=1.0)
    two_inputs = all(len(x) == 2 for x, _ in samples)
    plane = heat = None
    heat_markup = ""
    if two_inputs:
        probe = Plane(model, samples, 2)
        nodes = max(1, len(probe.program))
        grid = max(8, min(24, int(math.sqrt(HEAT_EVALS / (nodes * len(frames))))))
        plane = Plane(model, samples, grid)
        heat = Heat(samples, len(plane.outputs))
        heat_markup = heat_svg(plane, heat, samples)

    # which (frame, sample) pairs get a graph: within GRAPH_NODES, as many detail samples as
    # leave room for GRAPH_FRAMES epochs, then as many detail epochs as fit
    detail_frames = [i for i, f in enumerate(frames) if f.updates]
    pool = recording.samples if recording.per_sample else evenly(len(samples), 4)
    probe_root = loss(model(*samples[0][0]), samples[0][1])
    probe_nodes = walk(probe_root).order
    graph_nodes = len(probe_nodes)
    fit = max(1, GRAPH_NODES // (graph_nodes * GRAPH_FRAMES))
    graph_samples = [pool[i] for i in evenly(len(pool), fit)]
    per_frame = max(1, graph_nodes * len(graph_samples))
    graph_frames = sorted({detail_frames[i] for i in evenly(len(detail_frames),
                                                            max(2, GRAPH_NODES // per_frame))})
    graph_set = set(graph_frames)
    explained = sum(1 for n in probe_nodes if n.is_leaf) <= EXPLAIN_LEAVES

    nearest = [min(graph_frames, key=lambda g: (abs(frames[g].epoch - f.epoch), g))
               for f in frames] if graph_frames else []
    drawings: list[tuple[Any, Value, list[str], list[str], list[float], list[float]]] = []
    out_frames = []
    columns = table_columns(recording)
    widths = [max(len(c) for c in (columns[0], *recording.names)), *map(len, columns[1:])]
    moved: dict[int, int] = {}  # per sample of the first graphs, how many grads are not 0
    for i, frame in enumerate(frames):
        for p, v in zip(params, frame.start):
            p.data = v
        start, end = [short(v) for v in frame.start], [short(v) for v in frame.end]
        widths[1] = max(widths[1], *map(len, start))
        widths[4] = max(widths[4], *map(len, end))
        entry: dict[str, Any] = {"epoch": frame.epoch, "loss": short(frame.loss),
                                 "cursor": cursor(frame.epoch),
                                 "values": packer.pack(start + end),
                                 "edges": edge_styles(frame.start, scale), "details": {}}
        if graph_frames:  # the frame whose graphs this epoch shows: the nearest that has them
            entry["graph"] = nearest[i]
        if plane is not None and heat is not None:
            outputs = plane.values()
            entry["heat"] = "".join(heat.code(outs) for outs in outputs)
            entry["spread"] = heat.spread(outputs)
        updates = {u.sample: u for u in frame.updates}
        for s in (recording.samples if recording.per_sample else graph_samples):
            update = updates.get(s) if recording.per_sample else updates.get(None)
            detail: dict[str, Any] = {}
            if update is not None:
                detail["rows"] = table_rows(recording, update)
                for row in detail["rows"]:
                    widths[1:] = [max(w, len(t)) for w, t in zip(widths[1:], row)]
                detail["sample_loss"] = short(update.loss)
                detail["edges"] = edge_styles(update.before, scale)
            if i in graph_set and s in graph_samples:
                before = update.before if (update is not None and recording.per_sample) \
                    else frame.start
                detail["graph"], detail["drawing"] = _graph(
                    model, params, samples[s], loss, before, drawings, explained,
                    update.grads if (update is not None and recording.per_sample) else None)
                if i == graph_frames[0]:
                    moved[s] = sum(h[-1][1] != "0" for h in detail["graph"]["grads"])
            if detail:
                entry["details"][str(s)] = _pack_detail(packer, detail)
        out_frames.append(entry)

    svgs = [_draw(root, wide_data, wide_grad, data_at, grad_at, params)
            for _, root, wide_data, wide_grad, data_at, grad_at in drawings]
    held = _held_text(recording, frames, detail_frames, graph_frames, graph_samples,
                      len(samples), explained)
    names = recording.names
    data: dict[str, Any] = {
        "names": names,
        "columns": columns,
        "widths": widths,  # each column's widest text, in characters: the table's fixed layout
        "rule": update_rule(recording),
        "per_sample": recording.per_sample,
        "last_epoch": recording.epochs - 1,
        # the page opens on the sample whose first graph has the most grads that are not 0
        "open_sample": max(moved, key=lambda s: (moved[s], -s)) if moved else 0,
        "kept": "" if len(frames) == recording.epochs else (
            f"The page keeps {len(frames)} of the {recording.epochs} epochs, evenly spaced "
            "(◀ ▶ move between them)."),
        "reason": str(history.reason),
        "frames": out_frames,
        "templates": packer.templates(),
        "samples": [sample_text(x, t) for x, t in samples],
        "detail_samples": recording.samples if recording.per_sample else pool,
        "graph_samples_text": _list(graph_samples),
        "held": held,
        "heat_svg_markup": heat_markup,
        "palette": heat.palette if heat else [],
        "legend": heat_legend(heat, samples) if heat else "",
        "net_svg_markup": network_svg(layers) if layers else "",
        "summary": (f"{type(model).__name__} on {len(samples)} samples, "
                    f"{'per-sample' if recording.per_sample else 'full-batch'} updates; "
                    f"{recording.epochs} epochs run, stopped: {history.reason}"),
        "loss_svg_markup": curve,
    }
    return data, svgs


def _pack_detail(packer: Packer, detail: dict[str, Any]) -> dict[str, Any]:
    """The detail's numbers packed (its graph's with its table's: they share many); its edge
    codes and drawing index (-1: no graph) beside them."""
    out: dict[str, Any] = {"edges": detail.pop("edges", ""), "drawing": detail.pop("drawing", -1)}
    out["packed"] = packer.pack(detail)
    return out


def _graph(model: Module, params: list[Value], sample: Sample, loss: Callable[[Any, Any], Value],
           before: list[float], drawings: list[Any], explained: bool,
           grads: list[float] | None) -> tuple[dict[str, Any], int]:
    """The sample's graph at the parameters ``before``, recorded for the stepper.

    With ``grads`` (train()'s, per sample), the rebuilt graph's backward() must give them
    bit for bit, or RuntimeError.
    """
    for p, v in zip(params, before):
        p.data = v
    inputs, target = sample
    root = loss(model(*inputs), target)
    rec = record(root, explained)
    if grads is not None:
        for p in params:
            p.grad = 0.0
        root.backward()
        if [p.grad for p in params] != grads:
            raise RuntimeError("training page: the rebuilt sample graph's grads differ from "
                               "the ones train() used")
    order = rec.order
    key = tuple((rec.walk.names[n], n.op_symbol, tuple(rec.walk.index[c] for c in n.children))
                for n in order)
    k = next((i for i, entry in enumerate(drawings) if entry[0] == key), len(drawings))
    if k == len(drawings):
        drawings.append((key, root, [""] * len(order), [""] * len(order),
                         [0.0] * len(order), [0.0] * len(order)))
    _, _, wide_data, wide_grad, data_at, grad_at = drawings[k]
    for i, node in enumerate(order):
        text = short(node.data)
        if len(text) > len(wide_data[i]):
            wide_data[i], data_at[i] = text, node.data
        for _, g in rec.data["grads"][i]:
            if len(g) > len(wide_grad[i]):
                wide_grad[i], grad_at[i] = g, float(g)
    drawings[k] = (key, drawings[k][1], wide_data, wide_grad, data_at, grad_at)
    return rec.data, k


def _draw(root: Value, wide_data: list[str], wide_grad: list[str], data_at: list[float],
          grad_at: list[float], params: list[Value]) -> str:
    """Graphviz's SVG of the graph, each record sized for the widest data and grad it shows."""
    from micrograd.graph import draw_dot

    walked = walk(root)
    saved = [(n.data, n.grad) for n in walked.order]
    try:
        for node, d, g in zip(walked.order, data_at, grad_at):
            node.data, node.grad = d, g
        svg = draw_dot(root, parameters=params, walked=walked).pipe(format="svg", quiet=True)
    finally:
        for node, (d, g) in zip(walked.order, saved):
            node.data, node.grad = d, g
    text = svg.decode("utf-8")
    return _slim(text[text.find("<svg"):].strip())


def _slim(svg: str) -> str:
    """Graphviz's SVG without what the page does not need: comments, the font family on every
    text (the page's style sets it), the closing point that repeats a polygon's first."""
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    svg = svg.replace(' font-family="DejaVu Sans"', "")
    return re.sub(r'points="(\S+)( [^"]*) \1"', r'points="\1\2"', svg)


_LEDE = ("The run train() made, replayed. First press → (or ▶ of the backward pass): the "
         "sample's graph runs backward() one node at a time; then move the epochs (↑ ↓) and "
         "watch the loss, the plane and the weights change.")


def _model_text(model: Module) -> str:
    """ "MLP 2-8-8-1 (relu)": the model's kind, sizes and activation, for the heading."""
    if isinstance(model, Net221):
        return f"the notes' 2-2-1 network ({model.activation})"
    if isinstance(model, MLP):
        return f"MLP {'-'.join(map(str, [model.nin, *model.nouts]))} ({model.activation})"
    return type(model).__name__


def _held_text(recording: Recording, frames: list[Frame], detail_frames: list[int],
               graph_frames: list[int], graph_samples: list[int], n_samples: int,
               explained: bool) -> str:
    """What the page holds, in words: its epochs, samples, updates and graphs."""
    epochs = [f.epoch + 1 for f in frames]  # counted from 1, as train() prints them
    if len(epochs) == recording.epochs:
        text = f"This page holds every epoch of the run (1 to {epochs[-1]})."
    else:
        text = (f"This page holds {len(epochs)} of the {recording.epochs} epochs, evenly "
                f"spaced, the first and the last included: {_list(epochs)}.")

    def which(chosen: list[int]) -> str:
        return "every sample" if len(chosen) == n_samples else (
            f"samples {_list(chosen)} (of {n_samples})")

    def when(chosen: list[int]) -> str:
        return "on every epoch it holds" if len(chosen) == len(frames) else (
            f"on epochs {_list([frames[i].epoch + 1 for i in chosen])}")

    if recording.per_sample:
        text += f" Parameter updates: {which(recording.samples)}, {when(detail_frames)}."
    else:
        text += f" Parameter updates (one full-batch step per epoch): {when(detail_frames)}."
    text += (f" Backward step-through: {which(graph_samples)}, {when(graph_frames)}; another "
             "epoch shows the nearest of these.")
    if not explained:
        text += (f" The graph has more than {EXPLAIN_LEAVES} leaves: the node panel leaves "
                 "out explain()'s path-by-path texts.")
    return text


def _list(xs: list[int], limit: int = 14) -> str:
    if len(xs) <= limit:
        return ", ".join(map(str, xs))
    return ", ".join(map(str, xs[: limit - 4])) + ", …, " + ", ".join(map(str, xs[-3:]))


_TEMPLATE = DOCUMENT_HEAD + """<body class="training">
<header>
  <h1>{heading}</h1>
  <p class="lede">{lede} {keys}</p>
  <div class="controls" role="toolbar" aria-label="epochs">
    <span class="row-label">Epochs</span>
    <button id="epoch-first" title="first epoch">|◀</button>
    <button id="epoch-prev" title="previous recorded epoch (↑)">◀</button>
    <button id="epoch-play" class="play" title="play the epochs">play</button>
    <button id="epoch-next" title="next recorded epoch (↓)">▶</button>
    <button id="epoch-last" title="last epoch">▶|</button>
    <input id="epoch-scrub" type="range" min="0" max="0" value="0" aria-label="epoch">
    <span id="epoch-counter">epoch 1</span>
    <label class="pick">sample <select id="sample" aria-label="sample"></select></label>
  </div>
  <div id="epoch-status"></div>
  <div id="stepper-controls">
{controls}
  </div>
</header>
<div class="app">
<section id="stepper-box">
  <h2 id="graph-title">The sample's graph</h2>
  <p id="no-graph" class="hint" hidden></p>
  <div id="stepper">
    <div id="graph"></div>
  </div>
</section>
<div class="side">
{panels}
<div class="run">
<section class="panels">
  <figure><figcaption>Loss</figcaption>{loss}</figure>
  <figure id="plane-box"><figcaption>The model's output over the input plane
    <span class="hint">(click a point: its sample)</span></figcaption>{heat}
    <p id="spread" class="hint"></p><p id="legend" class="hint"></p></figure>
  <figure id="net-box"><figcaption>The network <span class="hint">(hover a weight or a
    neuron; blue weights are positive, red negative, thicker is larger)</span></figcaption>{net}
    <pre id="net-info" class="hint">Hover an edge (a weight) or a neuron (its bias).</pre>
  </figure>
</section>
<section class="box" id="table-box">
  <h2 id="table-title">The update</h2>
  <p id="rule" class="hint"></p>
  <div class="scroll"><table id="params"><thead></thead><tbody></tbody></table></div>
</section>
<p id="held" class="hint"></p>
</div>
</div>
</div>
<script type="application/json" id="training-data">{data}</script>
{drawings}
<script>
{js}</script>
<script>
{tjs}</script>
</body>
</html>
"""
