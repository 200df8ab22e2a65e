"""The notes' 2-2-1 network on XOR with each activation: which ones learn, and how often.

Trains ``Net221`` (a_j = w_j1·x1 + w_j2·x2 + b_j, z_j = f(a_j), ŷ = w1·z1 + w2·z2 + b,
E = ½(y − ŷ)²) with the notes' per-sample updates p ← p − α·∂E/∂p (α = 0.1, up to 3000
epochs, ``micrograd.train.train``) for f = sigmoid, tanh, relu, leaky_relu and step:

- the loss curve of each activation from the default initialisation
  (docs/xor_221_loss.png, needs matplotlib);
- how many of 100 random initialisations (seeds 0…99) solve XOR — all four predictions
  on the right side of 0.5 — per activation, printed and written as docs/xor_221_seeds.md;
- why step cannot learn: f'(a) = 0, so every hidden-layer partial is exactly 0 and
  train stops after one epoch saying so.

The full run trains 500 networks (a minute or two on two cores; --jobs sets the number of
worker processes). --quick: 5 seeds, 300 epochs, one process.

Run:  python demos/xor_221.py [--out DIR] [--quick] [--jobs N]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import demo_common

from micrograd import data
from micrograd.losses import half_squared_error
from micrograd.nn import Net221
from micrograd.train import StopReason, TrainHistory, train

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "step")
LR = 0.1
EPOCHS = 3000
TOL = 1e-6
SEEDS = 100
XOR = data.xor()


@dataclass(frozen=True)
class Run:
    """One training run: the activation, the seed, what train() said, and the predictions."""

    activation: str
    seed: int | None
    history: TrainHistory
    predictions: tuple[float, ...]

    @property
    def solved(self) -> bool:
        """All four predictions on the right side of 0.5."""
        return all((p > 0.5) == (y == 1.0) for p, (_, y) in zip(self.predictions, XOR))


def run(activation: str, seed: int | None, epochs: int) -> Run:
    """Train one Net221 on XOR from the given seed (None: Net221's default)."""
    net = Net221(activation, seed=seed)
    history = train(net, XOR, lr=LR, epochs=epochs, tol=TOL, progress=False)
    return Run(activation, seed, history, tuple(net(*x).data for x, _ in XOR))


def _run_args(args: tuple[str, int, int]) -> Run:
    return run(*args)


def run_seeds(seeds: int, epochs: int, jobs: int) -> dict[str, list[Run]]:
    """Every activation from seeds 0 … seeds−1, in order (jobs worker processes if > 1)."""
    tasks = [(act, seed, epochs) for act in ACTIVATIONS for seed in range(seeds)]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(_run_args, tasks, chunksize=5))
    else:
        runs = [_run_args(task) for task in tasks]
    return {act: [r for r in runs if r.activation == act] for act in ACTIVATIONS}


def seed_table(results: dict[str, list[Run]]) -> tuple[list[str], list[list[str]]]:
    """Per activation: solved, and how the runs stopped (the columns of the seed table)."""
    headers = ["activation", "solved XOR", "converged", "epoch cap", "hidden partials 0",
               "median epochs", "median final loss"]
    rows = []
    for act, runs in results.items():
        reasons = Counter(r.history.reason for r in runs)
        n = len(runs)
        rows.append([
            act,
            f"{sum(r.solved for r in runs)}/{n}",
            str(reasons[StopReason.CONVERGED]),
            str(reasons[StopReason.EPOCH_CAP]),
            str(reasons[StopReason.NO_HIDDEN_GRADIENT]),
            f"{statistics.median(r.history.epochs for r in runs):g}",
            f"{statistics.median(r.history.losses[-1] for r in runs):.3g}",
        ])
    return headers, rows


def step_cannot_learn() -> None:
    """Show that every hidden-layer partial of a step network is exactly 0."""
    net = Net221("step")
    print("Why step cannot learn: f(a) = 1 for a > 0, else 0, so f'(a) = 0 everywhere and")
    print("∂E/∂w11 = (ŷ − y)·w1·f'(a1)·x1 = 0, and so on for the whole hidden layer.")
    for (x1, x2), y in XOR:
        net.zero_grad()
        half_squared_error(net(x1, x2), y).backward()
        hidden = "  ".join(f"{p.label}={p.grad:g}" for p in net.hidden_parameters())
        output = "  ".join(f"{p.label}={p.grad:+.3f}" for p in (net.w1, net.w2, net.b))
        print(f"  x = ({x1:g}, {x2:g}): {hidden} | {output}")
    history = train(net, XOR, lr=LR, epochs=EPOCHS, tol=TOL, progress=False)
    print(f"train(step): stopped after {history.epochs} epoch: {history.reason}\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = demo_common.parser(__doc__, "5 seeds, 300 epochs, one process (for tests)")
    p.add_argument("--jobs", type=demo_common.positive_int, default=None, metavar="N",
                   help="worker processes for the seed table (default: all cores; 1 with --quick)")
    args = p.parse_args(argv)
    out = demo_common.out_dir(args.out)
    seeds, epochs = (5, 300) if args.quick else (SEEDS, EPOCHS)
    jobs = args.jobs if args.jobs is not None else 1 if args.quick else os.cpu_count() or 1

    print(f"Net221 on XOR: per-sample updates, lr {LR}, up to {epochs} epochs, tol {TOL:g}, "
          f"E = ½(y − ŷ)²\n")
    print(f"From the default initialisation (seed {Net221.DEFAULT_SEED}):")
    curves = {}
    for act in ACTIVATIONS:
        r = run(act, None, epochs)
        curves[act] = r
        preds = " ".join(f"{p:.3f}" for p in r.predictions)
        print(f"  {act:<10} {'solved' if r.solved else 'not solved':<10} "
              f"after {r.history.epochs:>4} epoch(s) ({r.history.reason}); "
              f"final loss {r.history.losses[-1]:.3g}; ŷ = {preds}")
    print()
    step_cannot_learn()

    print(f"How many of {seeds} seeds solve XOR (all four ŷ on the right side of 0.5), "
          f"lr {LR}, up to {epochs} epochs:")
    start = time.perf_counter()
    results = run_seeds(seeds, epochs, jobs)
    headers, rows = seed_table(results)
    print(demo_common.text_table(headers, rows, "lrrrrrr"))
    print(f"({len(ACTIVATIONS) * seeds} runs in {time.perf_counter() - start:.0f} s)\n")
    note = (f"Net221 on XOR, seeds 0–{seeds - 1}, per-sample gradient descent, lr {LR}, "
            f"up to {epochs} epochs, tol {TOL:g} (`python demos/xor_221.py`). "
            "*Solved*: after training, all four predictions are on the right side of 0.5. "
            "The next three columns say why `train` stopped: the largest |∂E/∂p| fell below "
            "tol (*converged*), the epochs ran out, or every hidden-layer partial was exactly 0 "
            "for a whole epoch (step always, as f′ = 0; relu when both hidden units are dead, "
            "a ≤ 0, on all four inputs). Final loss: the mean ½(y − ŷ)² of the last epoch.\n\n")
    demo_common.write_text(out / "xor_221_seeds.md",
                           note + demo_common.markdown_table(headers, rows, "lrrrrrr"))
    plot(curves, results, out / "xor_221_loss.png")
    return 0


def plot(curves: dict[str, Run], results: dict[str, list[Run]], path: Path) -> Path | None:
    """Left: the loss per epoch for each activation; right: how many seeds solve XOR."""
    plt = demo_common.pyplot()
    if plt is None:
        return None
    colors = {"sigmoid": "#1f77b4", "tanh": "#ff7f0e", "relu": "#2ca02c",
              "leaky_relu": "#9467bd", "step": "#d62728"}
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(13, 5.8), gridspec_kw={"width_ratios": [3, 2]},
                                  layout="constrained")
    for act, r in curves.items():
        losses = r.history.losses
        epochs = range(1, len(losses) + 1)
        how = {StopReason.CONVERGED: f"converged, epoch {r.history.epochs}",
               StopReason.NO_HIDDEN_GRADIENT: "stops after epoch 1: hidden partials are 0"}.get(
                   r.history.reason, str(r.history.reason))
        label = f"{act}: {'solved' if r.solved else 'not solved'} ({how})"
        if len(losses) == 1:
            ax.plot(epochs, losses, "X", ms=11, color=colors[act], label=label)
        else:
            ax.plot(epochs, losses, "--" if act == "leaky_relu" else "-", color=colors[act],
                    lw=1.5, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch (4 per-sample updates each)")
    ax.set_ylabel("mean of ½(y − ŷ)² over the 4 samples (log)")
    ax.set_title(f"Loss per epoch from seed {Net221.DEFAULT_SEED}, lr {LR}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
              frameon=False)

    names = list(results)
    solved = [sum(r.solved for r in results[a]) for a in names]
    n = len(next(iter(results.values())))
    bars = bar.bar(names, solved, color=[colors[a] for a in names])
    bar.bar_label(bars, labels=[f"{s}/{n}" for s in solved], padding=2)
    bar.set_ylim(0, n * 1.12)
    bar.yaxis.get_major_locator().set_params(integer=True)
    bar.set_ylabel(f"seeds that solve XOR (of {n})")
    bar.set_title(f"Seeds 0–{n - 1} that solve XOR")
    bar.tick_params(axis="x", labelsize=9)
    fig.suptitle("The notes' 2-2-1 network on XOR: step cannot learn (f′ = 0)")
    return demo_common.save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
