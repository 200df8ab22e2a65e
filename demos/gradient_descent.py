"""Gradient descent, the notes' part 1: a small step converges, a large one diverges.

The notes find a local minimum of f(w) by w_{k+1} = w_k − a·f'(w_k), justified by Taylor:
f(w_{k+1}) = f(w_k) − a·f'(w_k)² + o(Δw), which decreases f only if the step a is small
enough. On f(w) = (w − 3)² + 1 this is exact: w_k − 3 = (1 − 2a)^k·(w0 − 3), so the run
converges for 0 < a < 1, oscillates for ever at a = 1 and diverges beyond. A second
function, f(w) = w⁴ − 3w² + w, has two local minima: which one you reach depends on w0.

Prints the first steps of a converging (a = 0.1) and a diverging (a = 1.1) run, and why
each of several runs stopped; draws docs/gradient_descent.png (needs matplotlib).

Run:  python demos/gradient_descent.py [--out DIR] [--quick]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import demo_common

from micrograd.engine import Value
from micrograd.train import DescentResult, gradient_descent

W0 = 0.0
GOOD, BAD = 0.1, 1.1  # the step sizes drawn: |1 − 2a| = 0.8 and 1.2
RATES = (0.1, 0.5, 0.9, 1.0, 1.1, 1.5)  # the step sizes tabulated
QUARTIC_LR = 0.01
QUARTIC_STARTS = (-2.0, 2.0)
TOL = 1e-8


def quadratic(w: Value) -> Value:
    """f(w) = (w − 3)² + 1, minimum 1 at w = 3; f'(w) = 2(w − 3)."""
    return (w - 3) ** 2 + 1


def quartic(w: Value) -> Value:
    """f(w) = w⁴ − 3w² + w: local minima near w = −1.30 and w = 1.13."""
    return w**4 - 3 * w**2 + w


def descend(f: Callable[[Value], Value], w0: float, lr: float, max_steps: int) -> DescentResult:
    """micrograd.train.gradient_descent with this demo's tolerance."""
    return gradient_descent(f, w0, lr=lr, tol=TOL, max_steps=max_steps)


def _num(x: float) -> str:
    return f"{x:.6g}"


def summary(lr: float, result: DescentResult) -> str:
    """One line: the step size, whether and why the run stopped, and where."""
    where = f"w = {result.w:.10g}, f(w) = {_num(result.value)}"
    if result.converged:
        return f"a = {lr:g}: converged after {result.steps} steps: |f'(w)| < {TOL:g} at {where}"
    if result.reason == "diverged":
        return (f"a = {lr:g}: diverged after {result.steps} steps: f(w) is no longer finite "
                f"({where})")
    return f"a = {lr:g}: did not converge: {result.reason} after {result.steps} steps ({where})"


def first_steps(runs: Sequence[tuple[float, DescentResult]], count: int) -> str:
    """The first count steps of each run side by side."""
    headers = ["k"]
    for lr, _ in runs:
        headers += [f"w_k (a = {lr:g})", "f(w_k)", "f'(w_k)"]
    rows = []
    for k in range(count):
        row = [str(k)]
        for _, result in runs:
            if k < len(result.path):
                w, value, grad = result.path[k]
                row += [_num(w), _num(value), _num(grad)]
            else:
                row += ["", "", ""]
        rows.append(row)
    return demo_common.text_table(headers, rows, "r" * len(headers))


def main(argv: Sequence[str] | None = None) -> int:
    args = demo_common.parser(__doc__, "cap the runs at 2500 steps (a = 1.1 still diverges)"
                              ).parse_args(argv)
    out = demo_common.out_dir(args.out)
    max_steps = 2_500 if args.quick else 10_000

    print("Gradient descent w ← w − a·f'(w) on f(w) = (w − 3)² + 1 from w0 = 0, stopping "
          f"when |f'(w)| < {TOL:g} or after {max_steps} steps.")
    print("f'(w) = 2(w − 3), so w_k − 3 = (1 − 2a)^k·(w0 − 3): the error shrinks only if "
          "|1 − 2a| < 1, i.e. 0 < a < 1.\n")
    runs = {lr: descend(quadratic, W0, lr, max_steps) for lr in RATES}
    print(first_steps([(GOOD, runs[GOOD]), (BAD, runs[BAD])], 8))
    print()
    rows = [[f"{lr:g}", f"{abs(1 - 2 * lr):g}", result.steps, str(result.reason),
             _num(result.w), _num(result.value)] for lr, result in runs.items()]
    print(demo_common.text_table(["a", "|1 − 2a|", "steps", "stopped because", "w", "f(w)"],
                             rows, "rrrlrr"))
    print()
    for lr in (GOOD, 1.0, BAD):
        print(summary(lr, runs[lr]))
    print("The notes' 'stop when f'(w) = 0' never happens in floating point; the tolerance "
          "and the step cap do the stopping.\n")

    print(f"f(w) = w⁴ − 3w² + w, a = {QUARTIC_LR:g}: two local minima, the start decides.")
    quartic_runs = [(w0, descend(quartic, w0, QUARTIC_LR, max_steps)) for w0 in QUARTIC_STARTS]
    for w0, result in quartic_runs:
        print(f"  from w0 = {w0:g}: {result.reason} after {result.steps} steps at "
              f"w = {_num(result.w)}, f(w) = {_num(result.value)}")
    print()
    plot(runs, quartic_runs, out / "gradient_descent.png")
    return 0


def plot(runs: dict[float, DescentResult], quartic_runs: list[tuple[float, DescentResult]],
         path: Path) -> Path | None:
    """Three panels: the two quadratic paths on f, the error per step (log), the quartic."""
    plt = demo_common.pyplot()
    if plt is None:
        return None
    colors = {GOOD: "#1f77b4", 1.0: "#7f7f7f", BAD: "#d62728"}
    fig, (ax_f, ax_err, ax_q) = plt.subplots(1, 3, figsize=(16, 4.8))

    ws = [-5 + 17 * i / 400 for i in range(401)]
    ax_f.plot(ws, [(w - 3) ** 2 + 1 for w in ws], color="black", lw=1.2,
              label="f(w) = (w − 3)² + 1")
    for lr, steps in ((GOOD, 12), (BAD, 6)):
        points = runs[lr].path[:steps]
        xs = [w for w, _, _ in points]
        ys = [v for _, v, _ in points]
        ax_f.plot(xs, ys, "o", color=colors[lr], ms=5,
                  label=f"a = {lr:g}: {'converges' if runs[lr].converged else 'diverges'}")
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            ax_f.annotate("", xy=(x1, y1), xytext=(x0, y0),
                          arrowprops={"arrowstyle": "->", "color": colors[lr], "lw": 1.1})
    ax_f.annotate("w0 = 0", (W0, (W0 - 3) ** 2 + 1), xytext=(8, 6), textcoords="offset points")
    ax_f.set_xlim(-5, 12)
    ax_f.set_ylim(-5, 100)
    ax_f.set_xlabel("w")
    ax_f.set_ylabel("f(w)")
    ax_f.set_title("The first steps on f(w)")
    ax_f.legend(loc="upper center")

    for lr in (GOOD, 1.0, BAD):
        visited = runs[lr].path[:121]
        errors = [(w - 3) ** 2 for w, _, _ in visited]
        steps = [k for k, e in enumerate(errors) if e > 0 and math.isfinite(e)]
        ax_err.semilogy(steps, [errors[k] for k in steps], color=colors[lr],
                        label=f"a = {lr:g}: |1 − 2a| = {abs(1 - 2 * lr):g}")
    ax_err.set_xlabel("step k")
    ax_err.set_ylabel("f(w_k) − f(3) = (w_k − 3)²  (log scale)")
    ax_err.set_title("The loss per step: geometric, factor (1 − 2a)²")
    ax_err.legend()
    ax_err.grid(True, which="major", alpha=0.3)

    ws = [-2.2 + 4.4 * i / 400 for i in range(401)]
    ax_q.plot(ws, [w**4 - 3 * w**2 + w for w in ws], color="black", lw=1.2,
              label="f(w) = w⁴ − 3w² + w")
    for (w0, result), color in zip(quartic_runs, ("#2ca02c", "#9467bd")):
        xs = [w for w, _, _ in result.path]
        ys = [v for _, v, _ in result.path]
        ax_q.plot(xs, ys, ".-", color=color, ms=4, lw=0.8,
                  label=f"from w0 = {w0:g} → w = {result.w:.3f}")
        ax_q.plot([xs[-1]], [ys[-1]], "*", color=color, ms=14)
    ax_q.set_xlabel("w")
    ax_q.set_ylabel("f(w)")
    ax_q.set_title(f"Two local minima (a = {QUARTIC_LR:g}): the start decides")
    ax_q.legend(loc="upper center")

    fig.suptitle("Gradient descent w ← w − a·f′(w): the Taylor argument needs a small step a")
    fig.tight_layout()
    return demo_common.save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
