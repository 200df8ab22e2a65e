"""Number checks and formatting shared by the package's modules (private to micrograd)."""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Sequence
from typing import Any

__all__ = ["as_float", "as_floats", "check_operands", "clip", "number", "positive", "preview",
           "same", "short"]


def as_float(x: Any, what: str = "Value") -> float:
    """x as a float if it is a real number (bool excluded); TypeError or ValueError otherwise.

    ``what`` names the argument in the message: "Value", "add: operand 1", "SGD lr".
    """
    if type(x) is float:
        return x
    if not isinstance(x, numbers.Real) or type(x).__name__ in ("bool", "bool_"):
        raise TypeError(f"{what} needs an int or float, got {type(x).__name__}: {preview(x)}")
    try:
        return float(x)
    except OverflowError:
        raise ValueError(f"{what}: {preview(x)} is out of the float range") from None


def as_floats(xs: Any, count: int, what: str) -> list[float]:
    """xs (a sequence of ``count`` real numbers) as a list of floats; ValueError for another
    length, TypeError or ValueError naming ``what[i]`` for an item as_float refuses."""
    values = xs if xs.__class__ is list else list(xs)
    if len(values) != count:
        raise ValueError(f"{what} has {len(values)} values for {count} inputs")
    for x in values:
        if x.__class__ is not float:
            return [as_float(x, f"{what}[{i}]") for i, x in enumerate(values)]
    return values


def check_operands(op: str, xs: Sequence[Any]) -> None:
    """Refuse operands an op cannot take: ValueError naming the op and the operand for an int
    past the float range (``a.data = 10**400``), TypeError for a non-number. Other ints,
    bools and floats pass as they are (.data set by hand: the op computes with them)."""
    for i, x in enumerate(xs, 1):
        if (isinstance(x, int) and not isinstance(x, bool)) or not isinstance(x, numbers.Real):
            as_float(x, f"{op}: operand {i}")


def number(x: Any) -> float | None:
    """x as a float if it is a real number in float range (bool excluded), else None."""
    try:
        return as_float(x)
    except (TypeError, ValueError):
        return None


def same(a: Sequence[float], b: Sequence[float]) -> bool:
    """a == b number by number, a NaN counting as equal to a NaN (a diverged run's grads)."""
    return len(a) == len(b) and all(x == y or (x != x and y != y) for x, y in zip(a, b))


def positive(x: Any, what: str) -> float:
    """x as a float if it is a positive finite number (a step size), else ValueError naming it."""
    rate = number(x)
    if rate is None or not 0 < rate < math.inf:
        raise ValueError(f"{what} must be a positive finite number, got {preview(x)}")
    return rate


def short(x: float) -> str:
    """x to about 4 significant digits, as drawings and explanations show numbers; -0 as 0."""
    return f"{x + 0.0:.4g}"


def clip(text: str, limit: int) -> str:
    """text cut to at most ``limit`` characters, ending in … when cut."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def preview(x: Any, limit: int = 60) -> str:
    """repr(x) cut to about ``limit`` characters, for error messages about user input.

    Whatever x holds, the work is bounded: a long string is cut before its repr is made, a
    container shows its first few items (``[1, 2, 3, 4, 5, 6, ...]``), and an int over 200
    bits (whose decimal repr Python may refuse to make) shows as its size in bits.
    """
    if isinstance(x, str):  # a 50 MB string: repr only what is shown
        return clip(repr(x[: limit + 1]), limit)
    shorter = _Shorter()
    shorter.maxstring = shorter.maxother = limit
    return clip(shorter.repr(x), limit)


class _Shorter(reprlib.Repr):
    """reprlib's short repr, with big ints shown by size (their digits may be refused)."""

    def repr_int(self, x: int, level: int) -> str:
        return f"an int of {x.bit_length()} bits" if x.bit_length() > 200 else repr(x)
