"""Small deterministic data sets as lists of ``(inputs, target)`` pairs, ready for ``train``.

``inputs`` is a tuple of floats and ``target`` a float. The logic gates (xor, and_, or_)
have targets 0.0 / 1.0, as fits the notes' loss ½(y − ŷ)². The point clouds (moons,
circles) have targets −1.0 / +1.0 by default, as fits ``hinge``; pass
``labels=(0.0, 1.0)`` for ``bce_with_logits``, or int class labels ``labels=(0, 1)`` for
``cross_entropy`` (int labels stay ints). The spiral's targets are int classes
0 … classes − 1, as fits ``cross_entropy``. Same arguments, same list: randomness comes
only from ``seed`` (an int, or a ``random.Random`` that is used as given).

``DATASETS`` names each data set with how to train on it by default, and ``FUNCTIONS``
names the functions of the notes' part 1 (gradient descent) with a start and a step size
that converge; the command line reads both.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from micrograd._numbers import number, preview

__all__ = ["DATASETS", "FUNCTIONS", "LR", "MAX_SAMPLES", "TARGETS", "Dataset", "Function",
           "and_", "circles", "moons", "or_", "spiral", "xor"]

Sample = tuple[tuple[float, ...], float]
ClassSample = tuple[tuple[float, ...], int]
Seed = int | random.Random

_CORNERS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))

#: The most points a point cloud has (moons and circles: n; the spiral: n_per_class).
MAX_SAMPLES = 100_000


def _gate(rule: Any) -> list[Sample]:
    return [((x1, x2), float(rule(x1 == 1.0, x2 == 1.0))) for x1, x2 in _CORNERS]


def xor() -> list[Sample]:
    """x1 XOR x2 on the four corners of the unit square: targets 0, 1, 1, 0."""
    return _gate(lambda a, b: a != b)


def and_() -> list[Sample]:
    """x1 AND x2 on the four corners: targets 0, 0, 0, 1."""
    return _gate(lambda a, b: a and b)


def or_() -> list[Sample]:
    """x1 OR x2 on the four corners: targets 0, 1, 1, 1."""
    return _gate(lambda a, b: a or b)


def _check(n: Any, noise: Any, seed: Any, labels: Any,
           name: str) -> tuple[random.Random, float, float, float]:
    """(the Random, noise as a float, the two labels); ValueError naming the bad one.

    An int label (a class index) stays an int; any other number becomes a float.
    """
    rng, sigma = _check_size_noise_seed(n, noise, seed, name)
    try:
        first, second = (int(label) if isinstance(label, numbers.Integral)
                         and not isinstance(label, bool) else float(label) for label in labels)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}: labels must be two numbers, got {preview(labels)}") from None
    return rng, sigma, first, second


def _check_size_noise_seed(n: Any, noise: Any, seed: Any, name: str,
                           n_name: str = "n") -> tuple[random.Random, float]:
    """(the Random, noise as a float); ValueError (TypeError for the seed) naming the bad one."""
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= MAX_SAMPLES:
        raise ValueError(f"{name}: {n_name} must be an int from 2 to {MAX_SAMPLES:,} "
                         f"(MAX_SAMPLES), got {preview(n)}")
    sigma = number(noise)
    if sigma is None or not 0.0 <= sigma < math.inf:
        raise ValueError(f"{name}: noise must be a finite number >= 0, got {preview(noise)}")
    if isinstance(seed, random.Random):
        rng = seed
    elif isinstance(seed, int) and not isinstance(seed, bool):
        rng = random.Random(seed)
    else:
        raise TypeError(f"{name}: seed must be an int or a random.Random, "
                        f"got {type(seed).__name__}")
    return rng, sigma


def _noisy(points: list[tuple[float, float, float]], noise: float,
           rng: random.Random) -> list[Sample]:
    if noise:
        points = [(x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise), label)
                  for x, y, label in points]
    samples: list[Sample] = [((x, y), label) for x, y, label in points]
    rng.shuffle(samples)
    return samples


def moons(n: int = 100, noise: float = 0.1, seed: Seed = 0,
          labels: tuple[float, float] = (-1.0, 1.0)) -> list[Sample]:
    """Two interleaved half circles: n//2 points on (cos t, sin t) with target labels[0],
    the rest on (1 − cos t, 0.5 − sin t) with labels[1], t evenly in [0, π]; Gaussian
    noise of standard deviation noise on each coordinate; shuffled."""
    rng, sigma, first, second = _check(n, noise, seed, labels, "moons")
    n_outer = n // 2
    n_inner = n - n_outer
    points = []
    for i in range(n_outer):
        t = math.pi * i / max(n_outer - 1, 1)
        points.append((math.cos(t), math.sin(t), first))
    for i in range(n_inner):
        t = math.pi * i / max(n_inner - 1, 1)
        points.append((1.0 - math.cos(t), 0.5 - math.sin(t), second))
    return _noisy(points, sigma, rng)


def circles(n: int = 100, noise: float = 0.05, seed: Seed = 0, factor: float = 0.5,
            labels: tuple[float, float] = (-1.0, 1.0)) -> list[Sample]:
    """Two concentric circles: n//2 points on the unit circle with target labels[0], the
    rest on the circle of radius factor (0 < factor < 1) with labels[1], evenly spaced;
    Gaussian noise of standard deviation noise on each coordinate; shuffled."""
    rng, sigma, first, second = _check(n, noise, seed, labels, "circles")
    inner = number(factor)
    if inner is None or not 0 < inner < 1:
        raise ValueError(f"circles: factor must be between 0 and 1, got {preview(factor)}")
    n_outer = n // 2
    n_inner = n - n_outer
    points = []
    for count, radius, label in ((n_outer, 1.0, first), (n_inner, inner, second)):
        for i in range(count):
            t = 2.0 * math.pi * i / count
            points.append((radius * math.cos(t), radius * math.sin(t), label))
    return _noisy(points, sigma, rng)


def spiral(n_per_class: int, classes: int = 3, noise: float = 0.2,
           seed: Seed = 0) -> list[ClassSample]:
    """Interleaved spiral arms, one per class (the CS231n data set): arm k has n_per_class
    points at radius r evenly in [0, 1] and angle θ = 2πk/classes + 4r + noise·N(0, 1),
    at (r·sin θ, r·cos θ), target k (an int); shuffled."""
    rng, sigma = _check_size_noise_seed(n_per_class, noise, seed, "spiral", "n_per_class")
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 2:
        raise ValueError(f"spiral: classes must be an int >= 2, got {preview(classes)}")
    samples: list[ClassSample] = []
    for k in range(classes):
        for i in range(n_per_class):
            r = i / (n_per_class - 1)
            theta = 2.0 * math.pi * k / classes + 4.0 * r
            if sigma:
                theta += rng.gauss(0.0, sigma)
            samples.append(((r * math.sin(theta), r * math.cos(theta)), k))
    rng.shuffle(samples)
    return samples


# ---- the named data sets and functions, with their training defaults ----------------------


@dataclass(frozen=True)
class Dataset:
    """A named data set and its training defaults: loss, epochs, noise, model (the CLI's)."""

    name: str
    make: Callable[[int, float, Seed], list[Any]]  # (n, noise, seed) -> targets 0/1 or classes
    classes: int
    loss: str  # the default loss: "half_squared_error", "hinge" or "cross_entropy"
    epochs: int = 1000
    noise: float = 0.1
    sized: bool = True  # n and noise shape it (the gates have four fixed corners)
    model: str = "mlp"  # "net221" (the notes' 2-2-1, enough for a gate) or "mlp" (16-16 relu)

    def samples(self, n: int = 100, noise: float | None = None, seed: Seed = 0,
                labels: tuple[Any, Any] = (0.0, 1.0)) -> list[tuple[tuple[float, ...], Any]]:
        """The data (noise None: the default); two classes get the targets labels[0], labels[1].

        n, noise and seed are checked for every data set, used or not (ValueError, TypeError).
        """
        noise = self.noise if noise is None else noise
        _check_size_noise_seed(n, noise, seed, self.name)
        data = self.make(n, noise, seed)
        if self.classes > 2:
            return data
        return [(x, labels[int(t)]) for x, t in data]


def _fixed(name: str, gate: Callable[[], list[Sample]], epochs: int = 1000) -> Dataset:
    return Dataset(name, lambda n, noise, seed: gate(), 2, "half_squared_error", epochs,
                   sized=False, model="net221")


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    _fixed("xor", xor, epochs=3000),  # the main job's run: the notes' net on XOR
    _fixed("and", and_),
    _fixed("or", or_),
    Dataset("moons", lambda n, noise, seed: moons(n, noise, seed, (0.0, 1.0)), 2, "hinge"),
    Dataset("circles", lambda n, noise, seed: circles(n, noise, seed, labels=(0.0, 1.0)), 2,
            "hinge"),
    Dataset("spiral", lambda n, noise, seed: spiral(n, noise=noise, seed=seed), 3,
            "cross_entropy", epochs=50, noise=0.2),
)}

#: The default step size of each optimiser on these data sets.
LR: dict[str, float] = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}

#: The targets of two classes that each loss wants (``Dataset.samples(labels=...)``).
TARGETS: dict[str, tuple[Any, Any]] = {
    "half_squared_error": (0.0, 1.0), "hinge": (-1.0, 1.0), "cross_entropy": (0, 1)}


@dataclass(frozen=True)
class Function:
    """f(w) for gradient descent, with a start w0, and an lr and step cap that converge from it."""

    title: str
    f: Callable[[Any], Any]  # Values in, a Value out
    w0: tuple[float, ...]  # one number: f takes one Value; more: a tuple of Values
    lr: float = 0.1
    max_steps: int = 10_000


FUNCTIONS: dict[str, Function] = {
    "quadratic": Function("f(w) = (w − 3)² + 1", lambda w: (w - 3) * (w - 3) + 1, (0.0,)),
    "quartic": Function("f(w) = w⁴ − 3w² + w (two local minima)",
                        lambda w: w**4 - 3 * w * w + w, (2.0,)),
    # lr 0.0014: f falls at every step and reaches |f'| < 1e-8 in about 31,000 steps (lr 0.002
    # oscillates across the valley, lr 0.1 diverges in 6 steps).
    "rosenbrock": Function("f(x, y) = (1 − x)² + 100·(y − x²)²",
                           lambda w: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2, (-1.0, 1.0),
                           lr=0.0014, max_steps=50_000),
}
