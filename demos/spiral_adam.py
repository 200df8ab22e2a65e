"""Three classes: an MLP learns the spiral with softmax cross-entropy and Adam.

MLP(2, [16, 16, 3]) with ReLU hidden layers on 300 points of three interleaved spiral arms
(``micrograd.data.spiral(100)``, classes 0, 1, 2). The model's three outputs are logits; the
loss is ``cross_entropy`` (one node per sample: log Σ e^z − z_target, computed stably), and
``train`` takes per-sample Adam steps (lr 0.01) for 50 epochs, one epoch per call so the
accuracy of each epoch is recorded. This is the run of
``micrograd train --dataset spiral --optimizer adam --loss cross_entropy``. For comparison,
the same model from the same start with plain SGD (lr 0.1, the command line's default).
Draws the decision regions (the class of the largest logit on a grid) with the points, and
the loss and accuracy per epoch of both runs, in docs/spiral_adam.png (needs matplotlib).

--quick: 20 points per class, 3 epochs and a coarse grid. The full run takes about 20 seconds.

Run:  python demos/spiral_adam.py [--out DIR] [--quick] [--epochs N] [--seed S]
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import demo_common

from micrograd import data
from micrograd.losses import cross_entropy
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam, Optimizer
from micrograd.train import train

SIZES = [16, 16, 3]
N_PER_CLASS = 100
EPOCHS = 50
ADAM_LR = 0.01
SGD_LR = 0.1
SEED = 0
GRID = (-1.15, 1.15, -1.15, 1.15)  # x min, x max, y min, y max
COLORS = ("#d95f02", "#1b9e77", "#7570b3")

Samples = list[tuple[tuple[float, ...], int]]
History = list[tuple[float, float]]  # (mean loss, accuracy after the epoch) per epoch


def fit(model: MLP, points: Samples, optimizer: Optimizer, epochs: int, name: str) -> History:
    """Per-sample steps of optimizer, one train() call per epoch; (loss, accuracy) per epoch."""
    history = []
    every = max(1, epochs // 10)
    for epoch in range(epochs):
        run = train(model, points, loss=cross_entropy, epochs=1, tol=0.0, optimizer=optimizer)
        history.append((run.losses[0], run.accuracy or 0.0))
        if epoch % every == 0 or epoch == epochs - 1:
            print(f"{name:<4} epoch {epoch + 1:>3}  loss {run.losses[0]:.6f}  "
                  f"accuracy {run.accuracy:.1%}")
    return history


def main(argv: Sequence[str] | None = None) -> int:
    p = demo_common.parser(__doc__, "20 points per class, 3 epochs, a coarse grid (for tests)")
    p.add_argument("--epochs", type=demo_common.positive_int, default=None,
                   help=f"epochs of each run (default {EPOCHS})")
    p.add_argument("--seed", type=int, default=SEED, help=f"MLP initialisation (default {SEED})")
    args = p.parse_args(argv)
    out = demo_common.out_dir(args.out)
    epochs = args.epochs if args.epochs is not None else 3 if args.quick else EPOCHS
    n = 20 if args.quick else N_PER_CLASS
    grid_step = 0.1 if args.quick else 0.015

    points = data.spiral(n, seed=0)
    adam_model = MLP(2, SIZES, activation="relu", seed=args.seed)
    sgd_model = MLP(2, SIZES, activation="relu", seed=args.seed)
    print(f"{adam_model!r}: {len(adam_model.parameters())} parameters, seed {args.seed}; "
          f"{len(points)} spiral points in 3 classes; cross-entropy, per-sample steps, "
          f"{epochs} epochs\n")
    start = time.perf_counter()
    adam = fit(adam_model, points, Adam(adam_model.parameters(), lr=ADAM_LR), epochs, "Adam")
    seconds = time.perf_counter() - start
    print()
    sgd = fit(sgd_model, points, SGD(sgd_model.parameters(), lr=SGD_LR), epochs, "SGD")
    print(f"\nAdam (lr {ADAM_LR}): trained in {seconds:.1f} s; final loss {adam[-1][0]:.6f}, "
          f"final accuracy {adam[-1][1]:.1%} ({round(adam[-1][1] * len(points))}/{len(points)})")
    print(f"SGD (lr {SGD_LR}): final loss {sgd[-1][0]:.6f}, final accuracy {sgd[-1][1]:.1%} "
          f"({round(sgd[-1][1] * len(points))}/{len(points)})")
    plot(adam_model, points, adam, sgd, grid_step, out / "spiral_adam.png")
    return 0


def classes_on_grid(model: MLP, step: float) -> tuple[list[float], list[float], list[list[int]]]:
    """The class of the largest logit at every point of a grid over GRID, spacing step."""
    x0, x1, y0, y1 = GRID
    xs = [x0 + i * step for i in range(math.ceil((x1 - x0) / step - 1e-9) + 1)]
    ys = [y0 + j * step for j in range(math.ceil((y1 - y0) / step - 1e-9) + 1)]

    def argmax(x: float, y: float) -> int:
        logits = [z.data for z in model(x, y)]
        return max(range(len(logits)), key=logits.__getitem__)

    return xs, ys, [[argmax(x, y) for x in xs] for y in ys]


def plot(model: MLP, points: Samples, adam: History, sgd: History, grid_step: float,
         path: Path) -> Path | None:
    """Left: the decision regions and the points; right: loss and accuracy per epoch."""
    plt = demo_common.pyplot()
    if plt is None:
        return None
    from matplotlib.colors import ListedColormap

    xs, ys, regions = classes_on_grid(model, grid_step)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(12, 5.2),
                                      gridspec_kw={"width_ratios": [1, 1]})
    ax.pcolormesh(xs, ys, regions, cmap=ListedColormap(COLORS), alpha=0.3, shading="nearest",
                  vmin=0, vmax=2)
    for k, color in enumerate(COLORS):
        px = [x for (x, _), t in points if t == k]
        py = [v for (_, v), t in points if t == k]
        ax.scatter(px, py, c=color, edgecolors="black", linewidths=0.5, s=22,
                   label=f"class {k}", zorder=3)
    ax.set_xlim(GRID[0], GRID[1])
    ax.set_ylim(GRID[2], GRID[3])
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"Decision regions of MLP(2, {SIZES}) after Adam: accuracy {adam[-1][1]:.0%}")
    ax.legend(loc="lower left", fontsize=8)

    epochs = range(1, len(adam) + 1)
    ax_loss.plot(epochs, [loss for loss, _ in adam], color="black", label=f"Adam lr {ADAM_LR} loss")
    ax_loss.plot(epochs, [loss for loss, _ in sgd], color="black", linestyle="--",
                 label=f"SGD lr {SGD_LR} loss")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch (one step per sample)")
    ax_loss.set_ylabel("mean cross-entropy over the epoch (log scale)")
    ax_loss.grid(True, which="major", alpha=0.3)
    acc = ax_loss.twinx()
    acc.plot(epochs, [100 * a for _, a in adam], color="#2ca02c", label="Adam accuracy")
    acc.plot(epochs, [100 * a for _, a in sgd], color="#2ca02c", linestyle="--",
             label="SGD accuracy")
    acc.set_ylabel("training accuracy after the epoch (%)", color="#2ca02c")
    acc.set_ylim(0, 105)
    handles = ax_loss.get_legend_handles_labels()[0] + acc.get_legend_handles_labels()[0]
    ax_loss.legend(handles, [h.get_label() for h in handles], loc="lower left", fontsize=8)
    ax_loss.set_title("Loss and accuracy per epoch")
    fig.suptitle("Three spiral arms: softmax cross-entropy, Adam against SGD")
    fig.tight_layout()
    return demo_common.save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
