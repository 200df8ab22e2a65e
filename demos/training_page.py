"""The training page: watch the notes' 2-2-1 network learn XOR, epoch by epoch, sample by sample.

``train(net, xor, ..., page="training_page.html")`` trains exactly as without ``page`` and
writes one self-contained HTML file that replays the run: the loss curve, the update of each
parameter as the notes' formula with numbers, the model's output over the input plane, the
network's weights, and each sample's graph stepping through the very backward pass train()
ran. It is the page the main job (``python -m micrograd``) writes as net221.html.

Writes docs/training_page.html and docs/training_page.png, a headless Chromium screenshot at
epoch 0, sample 0, step 0 (the random weights, real gradients, the first update to come).
Needs Graphviz's ``dot``; the screenshot needs playwright and Debian's ``chromium``.

Run:  python demos/training_page.py [--out DIR] [--quick]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import demo_common

from micrograd import data, train
from micrograd.nn import Net221

HASH = "#epoch=0&sample=0&step=0"
VIEWPORT = {"width": 1400, "height": 1000}


def screenshot(page: Path, png: Path) -> Path | None:
    """A PNG of the page's first screen at HASH; None without playwright or Chromium."""
    if demo_common.screenshot(page, png, HASH, VIEWPORT) is None:
        return None
    print(f"wrote {demo_common.shown(png)} ({HASH})")
    return png


def main(argv: Sequence[str] | None = None) -> int:
    args = demo_common.parser(__doc__, "the same run (it is short already)").parse_args(argv)
    out = demo_common.out_dir(args.out)
    page = out / "training_page.html"
    history = train(Net221("tanh"), data.xor(), lr=data.LR["sgd"], tol=1e-6, progress=False,
                    epochs=data.DATASETS["xor"].epochs, page=page)  # the main job's run
    print(f"trained {history.epochs} epochs ({history.reason}); wrote "
          f"{demo_common.shown(page)}: open it in a browser")
    screenshot(page, out / "training_page.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
