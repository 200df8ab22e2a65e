"""The backprop page: step through backward() on one sample of the 2-2-1 network, in a browser.

``render(E, "backprop_page.html")`` writes one self-contained HTML file: the graph as
``micrograd.graph`` draws it, and a script that replays ``backward_steps(E)`` one node at a
time: the node being processed, the term each edge adds to its child (local derivative ·
grad), each child's grad before → after, the record as ``backward_steps`` prints it, and for
any node clicked its op, local derivatives and (for a leaf) ``explain()``'s chain-rule sum.
Open it from disk; it needs no server and no network. ``#step=4`` in the URL opens step 4.

Writes docs/backprop_page.html (Net221, tanh, sample x = (1, 0), y = 1) and
docs/backprop_page.png, a screenshot headless Chromium takes of step 4 with w11 clicked, in a
window of 1280×800 (the page fits one screen: the graph, the step's terms and the panels).
Needs Graphviz's ``dot`` (the layout); the screenshot needs playwright (``pip install
playwright``, the Python package only) and Debian's ``chromium``; without them the demo
says how to install them.

Run:  python demos/backprop_page.py [--out DIR] [--quick]
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import demo_common

from micrograd.graph import INSTALL_HINT, render
from micrograd.losses import half_squared_error
from micrograd.nn import Net221

STEP = 4  # a1 passes its grad to w11, x1, w12, x2, b1
CLICKED = "w11"  # the inspector shows ∂E/∂w11 as the notes' chain-rule product
VIEWPORT = {"width": 1280, "height": 800}


def screenshot(page: Path, png: Path) -> Path | None:
    """A PNG of page at STEP with CLICKED inspected, by headless Chromium; None if unavailable."""
    click = f"#graph g.node:has(text:text-is('{CLICKED}'))"
    if demo_common.screenshot(page, png, f"#step={STEP}", VIEWPORT, click) is None:
        return None
    print(f"wrote {demo_common.shown(png)} (step {STEP}, {CLICKED} clicked)")
    return png


def main(argv: Sequence[str] | None = None) -> int:
    args = demo_common.parser(__doc__, "the same (this demo takes a few seconds)").parse_args(argv)
    out = demo_common.out_dir(args.out)
    if shutil.which("dot") is None:
        print(f"Graphviz's `dot` is not installed, and the page is its layout. {INSTALL_HINT}")
        return 0
    net = Net221("tanh")
    loss = half_squared_error(net(1.0, 0.0), 1.0)
    page = render(loss, out / "backprop_page.html", show_local_grads=True,
                  parameters=net.parameters())
    print(f"wrote {demo_common.shown(page)}: open it in a browser to step through backprop "
          f"(→ next, ← previous; {page.name}#step={STEP} opens step {STEP})")
    screenshot(page, out / "backprop_page.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
