"""The notes' hand-derived partials for one sample, beside the engine's: the errata, in numbers.

For the 2-2-1 network and one sample (x1, x2, y), prints the nine partials ∂E/∂p three ways:
- the engine: ``Net221`` + ``half_squared_error`` + ``backward()``;
- the notes' chain rule, corrected (``micrograd.reference.net221_gradients``): the same;
- the notes as printed (``micrograd.reference.net221_gradients_as_written``): every entry
  has the wrong sign, because the notes take dE/dŷ = (y − ŷ) where d/dŷ ½(y − ŷ)² = ŷ − y,
  and ∂E/∂b2 also has a typo, (y − 1) for (y − ŷ).
Then takes one step p ← p − α·∂E/∂p with each, showing the printed formulas climb the loss.
Writes the table to docs/seed_formulas.md for the README.

Run:  python demos/seed_formulas.py [--out DIR] [--quick] [--activation NAME]
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import demo_common

from micrograd.losses import half_squared_error
from micrograd.nn import Net221
from micrograd.reference import (
    ACTIVATIONS,
    PARAMETER_NAMES,
    net221_forward,
    net221_gradients,
    net221_gradients_as_written,
)

SAMPLE = ((1.0, 1.0), 0.0)  # XOR's fourth sample: every one of the nine partials is non-zero
LR = 0.1

# The notes' formulas as printed (f' for the activation's derivative).
PRINTED = {
    "w11": "(y − ŷ)·w1·f′(a1)·x1",
    "w12": "(y − ŷ)·w1·f′(a1)·x2",
    "w21": "(y − ŷ)·w2·f′(a2)·x1",
    "w22": "(y − ŷ)·w2·f′(a2)·x2",
    "b1": "(y − ŷ)·w1·f′(a1)",
    "b2": "(y − 1)·w2·f′(a2)",
    "w1": "(y − ŷ)·z1",
    "w2": "(y − ŷ)·z2",
    "b": "(y − ŷ)",
}
HEADERS = ["∂E/∂p", "engine (backward)", "notes, corrected", "notes as printed",
           "printed formula", "notes differ"]


def _num(x: float) -> str:
    return f"{x:+.6f}"


def difference(engine: float, printed: float, name: str) -> str:
    """How the printed value relates to the true one: 'sign', 'sign and typo', or 'none'."""
    if name == "b2":
        return "sign, and (y − 1) for (y − ŷ)"
    if printed == -engine:
        return "sign" if engine != 0 else "sign (both 0 here)"
    return "differs"


def rows(engine: Mapping[str, float], corrected: Mapping[str, float],
         printed: Mapping[str, float]) -> list[list[str]]:
    """One table row per parameter."""
    return [[p, _num(engine[p]), _num(corrected[p]), _num(printed[p]), PRINTED[p],
             difference(engine[p], printed[p], p)] for p in PARAMETER_NAMES]


def loss_after_step(params: Mapping[str, float], grads: Mapping[str, float],
                    activation: str) -> float:
    """E at the sample after p ← p − LR·grads[p]."""
    stepped = {p: params[p] - LR * grads[p] for p in PARAMETER_NAMES}
    (x1, x2), y = SAMPLE
    return 0.5 * (y - net221_forward(stepped, x1, x2, activation)["ŷ"]) ** 2


def main(argv: Sequence[str] | None = None) -> int:
    p = demo_common.parser(__doc__, "the same (this demo is instant)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid",
                   help="the hidden activation f (default sigmoid)")
    args = p.parse_args(argv)
    out = demo_common.out_dir(args.out)

    net = Net221(args.activation)
    (x1, x2), y = SAMPLE
    loss = half_squared_error(net(x1, x2), y)
    loss.backward()
    params = net.state_dict()
    engine = {name: p.grad for name, p in net.named_parameters()}
    corrected = net221_gradients(params, x1, x2, y, args.activation)
    printed = net221_gradients_as_written(params, x1, x2, y, args.activation)
    y_hat = loss.children[0].data

    print(f"Net221 ({args.activation}, seed {Net221.DEFAULT_SEED}), one sample x = "
          f"({x1:g}, {x2:g}), y = {y:g}: ŷ = {y_hat:.6f}, E = ½(y − ŷ)² = {loss.data:.6f}\n")
    table = rows(engine, corrected, printed)
    print(demo_common.text_table(HEADERS, table, "lrrrll"))
    print()
    same = sum(engine[p] == corrected[p] for p in PARAMETER_NAMES)
    worst = max(abs(engine[p] - corrected[p]) for p in PARAMETER_NAMES)
    flipped = sum(printed[p] == -engine[p] for p in PARAMETER_NAMES)
    print(f"engine vs notes corrected: {same}/9 identical (largest difference {worst:.1e})")
    print(f"notes as printed: {flipped}/9 are exactly the negative of the true partial; "
          f"∂E/∂b2 = (y − 1)·w2·f′(a2) = {printed['b2']:+.6f} against the true "
          f"{engine['b2']:+.6f} (the negative would be {-engine['b2']:+.6f})")

    before = loss.data
    down = loss_after_step(params, corrected, args.activation)
    up = loss_after_step(params, printed, args.activation)
    print(f"one step p ← p − {LR}·∂E/∂p: with the true partials E goes {before:.6f} → "
          f"{down:.6f} ({'down' if down < before else 'UP'}); with the printed ones "
          f"{before:.6f} → {up:.6f} ({'down' if up < before else 'up: gradient ascent'})")

    note = (f"One sample of the notes' 2-2-1 network (`Net221`, {args.activation}, seed "
            f"{Net221.DEFAULT_SEED}), x = ({x1:g}, {x2:g}), y = {y:g}, ŷ = {y_hat:.6f}; "
            "E = ½(y − ŷ)². *engine*: `backward()`; *notes, corrected*: "
            "`micrograd.reference.net221_gradients`; *notes as printed*: "
            "`net221_gradients_as_written` (`python demos/seed_formulas.py`). "
            f"One step p ← p − {LR}·∂E/∂p takes E from {before:.6f} to {down:.6f} with the true "
            f"partials and to {up:.6f} with the printed ones.\n\n")
    demo_common.write_text(out / "seed_formulas.md",
                       note + demo_common.markdown_table(HEADERS, table, "lrrrll"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
