"""Pictures of computation graphs: one sample of the notes' 2-2-1 network, and a tiny expression.

Each record shows a Value's name, data and grad (after ``backward()``); the ellipse before
it is the op that made it; each edge carries the local derivative ∂(op output)/∂(input),
the number the backward loop multiplies by. Parameters (blue) are set apart from the
inputs x1, x2 (grey); the root E is yellow. Read a gradient off the picture: multiply the
edge labels along every path from E to a parameter and add the paths (``demos/step_through.py``
prints this walk, ``micrograd.trace.explain`` writes it as a formula).

Writes docs/net221_graph.svg and .png (Net221, tanh, sample x = (1, 0), y = 1) and
docs/expression.svg (y = tanh(w·x + b), the README's worked example). Needs Graphviz's
``dot`` program for SVG/PNG; without it the DOT source is written instead (.dot) with a
hint on installing ``dot``.

Run:  python demos/render_graph.py [--out DIR] [--quick]
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import demo_common

from micrograd.engine import Value
from micrograd.graph import INSTALL_HINT, render
from micrograd.losses import half_squared_error
from micrograd.nn import Net221

SAMPLE = ((1.0, 0.0), 1.0)


def net221_sample() -> tuple[Net221, Value]:
    """Net221 (tanh, default seed) and E = ½(y − ŷ)² of SAMPLE, gradients filled in."""
    net = Net221("tanh")
    (x1, x2), y = SAMPLE
    loss = half_squared_error(net(x1, x2), y)
    loss.backward()
    return net, loss


def expression() -> tuple[Value, Value, Value, Value]:
    """The README's example y = tanh(w·x + b) with x = 0.5, w = −1.5, b = 0.25, backpropagated."""
    x = Value(0.5, label="x")
    w = Value(-1.5, label="w")
    b = Value(0.25, label="b")
    wx = w * x
    wx.label = "w·x"
    n = wx + b
    n.label = "n"
    y = n.tanh()
    y.label = "y"
    y.backward()
    return x, w, b, y


def write(root: Value, paths: Sequence[Path], parameters: list[Value]) -> list[Path]:
    """Render root to each path; without Graphviz's dot, write one .dot file and say how."""
    options = {"show_local_grads": True, "parameters": parameters}
    if shutil.which("dot") is None:
        written = render(root, paths[0].with_suffix(".dot"), **options)
        print(f"wrote {demo_common.shown(written)} (DOT source: Graphviz's `dot` is not "
              f"installed, so no {', '.join(p.suffix for p in paths)}). {INSTALL_HINT}")
        return [written]
    written = [render(root, path, **options) for path in paths]
    for path in written:
        print(f"wrote {demo_common.shown(path)}")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = demo_common.parser(__doc__, "the same (this demo takes a second)").parse_args(argv)
    out = demo_common.out_dir(args.out)

    net, loss = net221_sample()
    (x1, x2), y = SAMPLE
    y_hat = loss.children[0]
    print(f"Net221 (tanh, seed {Net221.DEFAULT_SEED}), sample x = ({x1:g}, {x2:g}), y = {y:g}: "
          f"ŷ = {y_hat.data:.4f}, E = {loss.data:.4f}. The gradients in the picture:")
    print("  " + "  ".join(f"{name}={p.grad:+.4f}" for name, p in net.named_parameters()))
    print("  (w12 and w22 are 0 because x2 = 0: their edge into a1/a2 carries x2.)")
    write(loss, [out / "net221_graph.svg", out / "net221_graph.png"], net.parameters())

    x, w, b, root = expression()
    print(f"\ny = tanh(w·x + b) at x = {x.data:g}, w = {w.data:g}, b = {b.data:g}: "
          f"y = {root.data:.6f}; ∂y/∂x = {x.grad:.6f}, ∂y/∂w = {w.grad:.6f}, "
          f"∂y/∂b = {b.grad:.6f}")
    write(root, [out / "expression.svg"], [w, b])
    print("\nHow to read them: blue records are parameters, grey ones inputs, the yellow one "
          "the root; an edge label is the local derivative ∂(op output)/∂(input).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
