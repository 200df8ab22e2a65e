"""The training page's pictures, as SVG: the loss curve, the model's output over the input plane,
the network, and each sample's graph as Graphviz lays it out.

``loss_svg`` draws the mean loss per epoch with a cursor; ``Plane`` evaluates the model over
a grid of the input plane (on floats, with the registry's forwards) and ``Heat`` turns its
outputs into colour codes, which ``heat_svg`` lays out with the data points and the colour
bar; ``network_layout`` and ``network_svg`` draw the neurons and weights, ``edge_styles``
the weights of one epoch; ``graph_svg`` is a sample graph drawn by ``micrograd.graph``. The
page (``micrograd.training_page``) decides what is drawn and holds the drawings.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from micrograd import ops
from micrograd._numbers import short
from micrograd.engine import Value
from micrograd.nn import MLP, Module, Net221
from micrograd.record import evenly
from micrograd.walk import walk

__all__ = ["BINS", "Heat", "Plane", "Sample", "edge_styles", "graph_svg", "heat_legend",
           "heat_svg", "loss_svg", "network_layout", "network_svg", "sample_text"]

Sample = tuple[tuple[Any, ...], Any]


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
        xs = [float(x[0]) for x, _ in samples if math.isfinite(x[0])] or [0.0]  # (an inf
        ys = [float(x[1]) for x, _ in samples if math.isfinite(x[1])] or [0.0]  # input: off)
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
        numbers = [float(t) for t in targets if math.isfinite(t)] or [0.0]  # (a NaN target)
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
        t = ((y - self.lo) / (self.hi - self.lo) + 1.0) * 10  # inf if y - lo overflows
        bin_ = math.floor(t) if math.isfinite(t) else (0 if t < 0 else BINS - 1)
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
    parts = [f'<svg id="heat" viewBox="-54 -4 {size + 58} {size + 62}" width="{size + 58}" '
             f'height="{size + 62}" role="img" aria-label="the model\'s output over the '
             f'input plane">']
    for j in range(g):
        for i in range(g):
            parts.append(f'<rect class="cell" x="{i * cell:.2f}" y="{j * cell:.2f}" '
                         f'width="{cell + 0.3:.2f}" height="{cell + 0.3:.2f}"/>')
    for s, (x, target) in enumerate(samples):
        if not (math.isfinite(x[0]) and math.isfinite(x[1])):
            continue  # a point off the plane
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


# ---- a sample's graph --------------------------------------------------------------------


def graph_svg(root: Value, data_at: list[float], grad_at: list[float],
              params: list[Value]) -> str:
    """Graphviz's SVG of the graph, each record sized for the widest data and grad it shows
    (data_at, grad_at: per node, the value whose text is widest)."""
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
