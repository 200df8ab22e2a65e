"""The training page: watch the notes' 2-2-1 network learn XOR, epoch by epoch, sample by sample.

``train(net, xor, ..., page="training_page.html")`` trains exactly as without ``page`` and
writes one self-contained HTML file that replays the run: the loss curve, the update of each
parameter as the notes' formula with numbers, the model's output over the input plane, the
network's weights, and each sample's graph stepping through the very backward pass train()
ran. It is the page the main job (``python -m micrograd``) writes as net221.html.

Writes docs/training_page.html and two headless Chromium screenshots in a window of 1280×800:
docs/training_page.png, the page as it opens (epoch 1, the random weights, on the sample whose
gradients are all nonzero, step 0), and docs/training_page_quiz.png, the same sample at step 4
of its backward pass in quiz mode (a1 passes its grad to its five children: the answer fields
beside the graph). Needs Graphviz's ``dot``; the screenshots need playwright and Debian's
``chromium``.

Run:  python demos/training_page.py [--out DIR] [--quick]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import demo_common

from micrograd import data, train
from micrograd.nn import Net221

VIEWPORT = {"width": 1280, "height": 800}
QUIZ = "#quiz&step=4"  # the opening epoch and sample, step 4, in quiz mode


def screenshot(page: Path, png: Path, hash: str = "") -> Path | None:
    """A PNG of the page's screen at hash; None without playwright or Chromium."""
    if demo_common.screenshot(page, png, hash, VIEWPORT) is None:
        return None
    print(f"wrote {demo_common.shown(png)} ({hash or 'as it opens'})")
    return png


def main(argv: Sequence[str] | None = None) -> int:
    args = demo_common.parser(__doc__, "the same run (it is short already)").parse_args(argv)
    out = demo_common.out_dir(args.out)
    page = out / "training_page.html"
    history = train(Net221("tanh"), data.xor(), lr=data.LR["sgd"], tol=1e-6, progress=False,
                    epochs=data.DATASETS["xor"].epochs, page=page)  # the main job's run
    print(f"trained {history.epochs} epochs ({history.reason}); wrote "
          f"{demo_common.shown(page)}: open it in a browser")
    if screenshot(page, out / "training_page.png") is not None:
        screenshot(page, out / "training_page_quiz.png", QUIZ)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
