"""Losses: the notes' ½(y − ŷ)², mean squared error, hinge, binary and softmax cross-entropy.

Each takes the model's output (a Value, or a list of them) and the target, and returns one
Value, the loss, labelled as drawings show it (``E``, ``mse``, ``hinge``, ``bce``, ``ce``).
``LOSSES`` names them; their code has no branch on Value data, so ``train()`` may record
a sample's graph once and replay it. ``TARGET_LEAF`` says which of them take the target as a
leaf, so that one recorded graph serves every target value; the others branch on the
target's value and are recorded once per target.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from micrograd._numbers import as_float, number, preview
from micrograd.engine import Operand, Value, apply

__all__ = [
    "LOSSES", "TARGET_LEAF", "bce_with_logits", "class_index", "cross_entropy",
    "half_squared_error", "hinge", "mse",
]


def half_squared_error(y_hat: Value, y: Operand) -> Value:
    """The notes' E = ½(y − ŷ)², one node labelled E with ∂E/∂ŷ = ŷ − y."""
    if not isinstance(y_hat, Value):
        raise TypeError(f"half_squared_error: ŷ must be a Value, got {type(y_hat).__name__}")
    if not isinstance(y, Value):
        y = Value(as_float(y, "half_squared_error: y"), "y")
    loss = apply("half_squared_error", y_hat, y)
    loss.label = "E"
    return loss


def _pairs(name: str, predictions: Value | Sequence[Value],
           targets: Any) -> list[tuple[Value, float | Value]]:
    """(prediction, target) pairs; a single prediction is a batch of one.

    A target is a number, or a Value whose data is the number (a leaf train() sets).
    """
    if isinstance(predictions, Value):
        predictions, targets = [predictions], [targets]
    predictions, targets = list(predictions), list(targets)
    if not predictions:
        raise ValueError(f"{name}: no predictions")
    if len(predictions) != len(targets):
        raise ValueError(f"{name}: {len(predictions)} predictions for {len(targets)} targets")
    pairs = []
    for i, (p, t) in enumerate(zip(predictions, targets)):
        if not isinstance(p, Value):
            raise TypeError(f"{name}: prediction {i} must be a Value, got {type(p).__name__}")
        y = number(t.data if isinstance(t, Value) else t)
        if y is None or not math.isfinite(y):
            raise ValueError(f"{name}: target {i} must be a finite number, got {preview(t)}")
        pairs.append((p, t if isinstance(t, Value) else y))
    return pairs


def _number(t: float | Value) -> float:
    """A target's number: its data if it is a Value."""
    return t.data if isinstance(t, Value) else t


def _mean(terms: list[Value], label: str) -> Value:
    loss = terms[0] if len(terms) == 1 else Value.sum(terms) / len(terms)
    loss.label = label
    return loss


def mse(predictions: Value | Sequence[Value],
        targets: float | Value | Sequence[float | Value]) -> Value:
    """Mean squared error: (1/n)·Σ (ŷ_i − y_i)²."""
    return _mean([(p - t) ** 2 for p, t in _pairs("mse", predictions, targets)], "mse")


def hinge(scores: Value | Sequence[Value], targets: float | Sequence[float]) -> Value:
    """Max-margin loss: (1/n)·Σ relu(1 − y_i·s_i), targets y_i ∈ {−1, +1}."""
    pairs = _pairs("hinge", scores, targets)
    for i, (_, t) in enumerate(pairs):
        if _number(t) not in (-1.0, 1.0):
            raise ValueError(f"hinge: target {i} must be -1 or +1, got {t!r}")
    return _mean([(1.0 - s * t).relu() for s, t in pairs], "hinge")


def bce_with_logits(logits: Value | Sequence[Value],
                    targets: float | Value | Sequence[float | Value]) -> Value:
    """Binary cross-entropy of logits z_i against y_i ∈ [0, 1], in the stable form, averaged."""
    pairs = _pairs("bce_with_logits", logits, targets)
    for i, (_, t) in enumerate(pairs):
        if not 0.0 <= _number(t) <= 1.0:
            raise ValueError(f"bce_with_logits: target {i} must be in [0, 1], got {t!r}")
    return _mean([apply("bce_with_logits", z, t) for z, t in pairs], "bce")


def cross_entropy(logits: Sequence[Operand] | Sequence[Sequence[Operand]],
                  targets: int | Sequence[int]) -> Value:
    """Softmax cross-entropy, mean over samples of log Σ_j e^(z_j) − z_t; one node per sample.

    One sample: logits a list of Values (or numbers), one per class, and targets an int
    class index. A batch: a list of such lists, all of one length, and a list of ints.
    Stable at any scale (log-sum-exp); the local derivative is softmax(z)_i − [i = t].
    """
    single = class_index(targets) is not None
    samples: list[Any]
    classes: list[Any]
    if single:
        samples, classes = [logits], [targets]
    elif isinstance(targets, Sequence) and not isinstance(targets, (str, bytes)):
        samples, classes = list(logits), list(targets)
        if len(samples) != len(classes):
            raise ValueError(f"cross_entropy: {len(samples)} rows of logits for "
                             f"{len(classes)} targets")
        if not samples:
            raise ValueError("cross_entropy: no samples")
    else:
        raise ValueError(f"cross_entropy: targets must be an int class index or a list of "
                         f"them, got {preview(targets)}")
    width = None
    for i, (z, t) in enumerate(zip(samples, classes)):
        where = "" if single else f" {i}"
        if isinstance(z, (Value, str, bytes)) or not isinstance(z, Sequence) or not z:
            raise TypeError(f"cross_entropy: logits{where} must be a non-empty list of Values "
                            f"(one per class), got {preview(z)}")
        if width is None:
            width = len(z)
        elif len(z) != width:
            raise ValueError(f"cross_entropy: sample {i} has {len(z)} logits, sample 0 has "
                             f"{width}")
        index = class_index(t)
        if index is None or not 0 <= index < len(z):
            raise ValueError(f"cross_entropy: target{where} must be an int class index in "
                             f"0..{len(z) - 1}, got {preview(t)}")
    return _mean([apply("cross_entropy", *z, target=int(t)) for z, t in zip(samples, classes)],
                 "ce")


def class_index(t: Any) -> int | None:
    """t as a class index if it is an int (numpy's too) and not a bool, else None."""
    return int(t) if isinstance(t, numbers.Integral) and not isinstance(t, bool) else None


#: The package's losses by name (the command line's --loss).
LOSSES: dict[str, Callable[..., Value]] = {
    "half_squared_error": half_squared_error, "mse": mse, "hinge": hinge,
    "bce_with_logits": bce_with_logits, "cross_entropy": cross_entropy,
}

#: The losses whose graph has the same shape for every target value, differentiable in the
#: target: train() makes the target a leaf whose .data each sample sets, as the inputs are,
#: so one recorded graph replays any number of distinct targets (regression). bce_with_logits
#: is one: its check of y ∈ [0, 1] raises and never changes the graph, and train() runs every
#: sample's loss eagerly before the first update. hinge (its target scales the margin, and
#: must be ±1) and cross_entropy (the target picks a logit) are recorded once per target.
TARGET_LEAF: frozenset[Callable[..., Value]] = frozenset(
    {half_squared_error, mse, bce_with_logits})
