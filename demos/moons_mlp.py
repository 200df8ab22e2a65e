"""The classic micrograd demo: an MLP learns the two-moons boundary with a max-margin loss.

MLP(2, [16, 16, 1]) with ReLU hidden layers on 100 points of two interleaved half circles
(``micrograd.data.moons``, labels ±1). Loss: the hinge (max-margin) loss
mean(relu(1 − y·score)) plus α·Σp² (α = 1e-4), full batch; plain SGD whose learning rate
decays linearly from 1.0 to 0.1, as in Karpathy's micrograd demo. A progress bar shows on
a terminal. Prints the loss and accuracy every few steps; draws the decision boundary (the
sign of the score on a grid) with the points in docs/moons_mlp.png (needs matplotlib).

--quick: 5 steps and a coarse grid. The full run takes about 15–30 seconds.

Run:  python demos/moons_mlp.py [--out DIR] [--quick] [--steps N] [--seed S]
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import demo_common
from tqdm import tqdm

from micrograd import data
from micrograd.engine import Value
from micrograd.losses import hinge
from micrograd.nn import MLP
from micrograd.optim import SGD

ALPHA = 1e-4
SIZES = [16, 16, 1]
STEPS = 200
SEED = 1
GRID = (-1.6, 2.6, -1.1, 1.6)  # x min, x max, y min, y max


def total_loss(model: MLP, points: list[tuple[tuple[float, ...], float]]) -> tuple[Value, float]:
    """hinge(scores, y) + α·Σp², and the accuracy (fraction with sign(score) = y)."""
    scores = [model(*x) for x, _ in points]
    targets = [y for _, y in points]
    data_loss = hinge(scores, targets)
    reg_loss = ALPHA * Value.sum([p * p for p in model.parameters()])
    right = sum((s.data > 0) == (y > 0) for s, y in zip(scores, targets))
    return data_loss + reg_loss, right / len(points)


def fit(model: MLP, points: list[tuple[tuple[float, ...], float]], steps: int) -> list[tuple[
        int, float, float]]:
    """Full-batch SGD, lr 1.0 → 0.1 linearly; (step, loss, accuracy) at every step."""
    optimizer = SGD(model.parameters(), lr=1.0)
    history = []
    every = max(1, steps // 10)
    bar = tqdm(range(steps), desc="training", unit="step", disable=None, leave=False)
    for k in bar:
        loss, accuracy = total_loss(model, points)
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = 1.0 - 0.9 * k / steps
        optimizer.step()
        history.append((k, loss.data, accuracy))
        bar.set_postfix_str(f"loss {loss.data:.4f}, accuracy {accuracy:.0%}", refresh=False)
        if k % every == 0 or k == steps - 1:
            bar.write(f"step {k:>4}  lr {optimizer.lr:.3f}  loss {loss.data:.6f}  "
                      f"accuracy {accuracy:.0%}", file=sys.stdout)
    return history


def main(argv: Sequence[str] | None = None) -> int:
    p = demo_common.parser(__doc__, "5 steps and a coarse grid (for tests)")
    p.add_argument("--steps", type=demo_common.positive_int, default=None,
                   help=f"SGD steps (default {STEPS})")
    p.add_argument("--seed", type=int, default=SEED, help=f"MLP initialisation (default {SEED})")
    args = p.parse_args(argv)
    out = demo_common.out_dir(args.out)
    steps = args.steps if args.steps is not None else 5 if args.quick else STEPS
    grid_step = 0.25 if args.quick else 0.02

    points = data.moons(100, noise=0.1, seed=0)
    model = MLP(2, SIZES, activation="relu", seed=args.seed)
    print(f"{model!r}: {len(model.parameters())} parameters, seed {args.seed}; "
          f"{len(points)} moons points; hinge loss + {ALPHA:g}·Σp², full batch, "
          f"{steps} steps, lr 1.0 → 0.1\n")
    start = time.perf_counter()
    history = fit(model, points, steps)
    seconds = time.perf_counter() - start
    _, accuracy = total_loss(model, points)
    print(f"\ntrained in {seconds:.1f} s; final loss {history[-1][1]:.6f}, "
          f"final accuracy {accuracy:.0%} ({round(accuracy * len(points))}/{len(points)})")
    plot(model, points, history, accuracy, grid_step, out / "moons_mlp.png")
    return 0


def scores_on_grid(model: MLP, step: float) -> tuple[list[float], list[float], list[list[float]]]:
    """The model's score at every point of a grid over GRID, spacing step."""
    x0, x1, y0, y1 = GRID
    xs = [x0 + i * step for i in range(math.ceil((x1 - x0) / step - 1e-9) + 1)]
    ys = [y0 + j * step for j in range(math.ceil((y1 - y0) / step - 1e-9) + 1)]
    return xs, ys, [[model(x, y).data for x in xs] for y in ys]


def plot(model: MLP, points: list[tuple[tuple[float, ...], float]],
         history: list[tuple[int, float, float]], accuracy: float, grid_step: float,
         path: Path) -> Path | None:
    """Left: the score's sign on a grid, the zero contour and the points; right: the loss."""
    plt = demo_common.pyplot()
    if plt is None:
        return None
    xs, ys, zs = scores_on_grid(model, grid_step)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(13, 5.2),
                                      gridspec_kw={"width_ratios": [3, 2]})
    clipped = [[max(-3.0, min(3.0, z)) for z in row] for row in zs]
    filled = ax.contourf(xs, ys, clipped, levels=[-3, -2, -1, 0, 1, 2, 3], cmap="RdBu", alpha=0.55)
    ax.contour(xs, ys, zs, levels=[0.0], colors="black", linewidths=1.5)
    colorbar = fig.colorbar(filled, ax=ax)
    colorbar.set_label("score (clipped to ±3); black line: score = 0")
    for label, color, marker in ((-1.0, "#b2182b", "o"), (1.0, "#2166ac", "s")):
        px = [x for (x, _), y in points if y == label]
        py = [v for (_, v), y in points if y == label]
        ax.scatter(px, py, c=color, marker=marker, edgecolors="black", linewidths=0.6, s=36,
                   label=f"y = {label:+g}".replace("-", "−"), zorder=3)
    ax.set_xlim(GRID[0], GRID[1])
    ax.set_ylim(GRID[2], GRID[3])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"Decision boundary of MLP(2, {SIZES}): accuracy {accuracy:.0%}")
    ax.legend(loc="lower left")

    steps = [k for k, _, _ in history]
    ax_loss.plot(steps, [loss for _, loss, _ in history], color="black", label="loss")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("SGD step (full batch)")
    ax_loss.set_ylabel("hinge loss + α·Σp²  (log scale)")
    ax_loss.grid(True, which="major", alpha=0.3)
    acc = ax_loss.twinx()
    acc.plot(steps, [100 * a for _, _, a in history], color="#2ca02c", label="accuracy")
    acc.set_ylabel("training accuracy (%)", color="#2ca02c")
    acc.set_ylim(0, 105)
    ax_loss.set_title("Loss and accuracy per step")
    handles = ax_loss.get_legend_handles_labels()[0] + acc.get_legend_handles_labels()[0]
    ax_loss.legend(handles, ["loss", "accuracy"], loc="center right")
    fig.suptitle("Two moons, the classic micrograd demo: hinge loss, SGD with lr 1.0 → 0.1")
    fig.tight_layout()
    return demo_common.save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
