"""The small data sets: exact gates, deterministic point clouds on the right curves."""

from __future__ import annotations

import importlib
import itertools
import math
import random

import pytest

from micrograd import data
from micrograd.data import DATASETS, FUNCTIONS, TARGETS, and_, circles, moons, or_, spiral, xor
from micrograd.train import StopReason, gradient_descent


def test_logic_gates() -> None:
    corners = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    assert xor() == list(zip(corners, [0.0, 1.0, 1.0, 0.0]))
    assert and_() == list(zip(corners, [0.0, 0.0, 0.0, 1.0]))
    assert or_() == list(zip(corners, [0.0, 1.0, 1.0, 1.0]))
    data = xor()
    data.clear()  # each call returns a fresh list
    assert len(xor()) == 4
    assert all(type(t) is float and all(type(v) is float for v in x) for x, t in or_())


def test_moons_without_noise_lie_on_the_two_half_circles() -> None:
    data = moons(51, noise=0.0, seed=0)
    assert len(data) == 51
    outer = [x for x, t in data if t == -1.0]
    inner = [x for x, t in data if t == 1.0]
    assert (len(outer), len(inner)) == (25, 26)
    for x, y in outer:
        assert math.hypot(x, y) == pytest.approx(1.0) and y >= -1e-15
    for x, y in inner:
        assert math.hypot(x - 1.0, y - 0.5) == pytest.approx(1.0) and y <= 0.5 + 1e-15
    assert min(x for x, _ in outer) == pytest.approx(-1.0)
    assert max(x for x, _ in inner) == pytest.approx(2.0)


def test_circles_without_noise_have_the_two_radii() -> None:
    data = circles(40, noise=0.0, seed=0, factor=0.3)
    radii = {t: {round(math.hypot(*x), 12) for x, tt in data if tt == t} for t in (-1.0, 1.0)}
    assert radii == {-1.0: {1.0}, 1.0: {0.3}}
    angles = sorted(math.atan2(y, x) % (2 * math.pi) for (x, y), t in data if t == -1.0)
    assert angles == pytest.approx([2 * math.pi * i / 20 for i in range(20)], abs=1e-12)


@pytest.mark.parametrize("make", [moons, circles])
def test_point_clouds_are_deterministic_noisy_shuffled(make) -> None:
    a, b = make(60, noise=0.2, seed=3), make(60, noise=0.2, seed=3)
    assert a == b
    assert make(60, noise=0.2, seed=4) != a
    assert make(60, noise=0.2, seed=random.Random(3)) == a
    state = random.getstate()
    make(60, noise=0.2, seed=5)
    assert random.getstate() == state  # no global random state
    labels = [t for _, t in a]
    assert sorted(set(labels)) == [-1.0, 1.0] and labels.count(1.0) == 30
    assert labels != sorted(labels)  # shuffled: per-sample training sees both classes
    # the noise is there, of about the size asked for: distance off each point's curve
    if make is moons:
        centre = {-1.0: (0.0, 0.0), 1.0: (1.0, 0.5)}
        off = [abs(math.dist(x, centre[t]) - 1.0) for x, t in make(400, noise=0.2, seed=1)]
    else:
        off = [abs(math.hypot(*x) - (1.0 if t < 0 else 0.5))
               for x, t in make(400, noise=0.2, seed=1)]
    assert 0.08 < sum(off) / len(off) < 0.25  # E|N(0, 0.2)| ≈ 0.16 in the radial direction
    zero_one = make(20, seed=0, labels=(0.0, 1.0))
    assert {t for _, t in zero_one} == {0.0, 1.0}
    assert all(isinstance(x, tuple) and len(x) == 2 for x, _ in a)


def test_spiral_without_noise_lies_on_its_arms() -> None:
    data = spiral(11, classes=3, noise=0.0, seed=0)
    assert len(data) == 33
    assert sorted({t for _, t in data}) == [0, 1, 2]
    assert all(type(t) is int for _, t in data)
    for k in range(3):
        arm = sorted((math.hypot(*x), x) for x, t in data if t == k)
        assert [r for r, _ in arm] == pytest.approx([i / 10 for i in range(11)], abs=1e-15)
        for r, (x, y) in arm[1:]:  # θ = 2πk/3 + 4r, point (r·sin θ, r·cos θ)
            theta = 2 * math.pi * k / 3 + 4 * r
            assert (x, y) == pytest.approx((r * math.sin(theta), r * math.cos(theta)), abs=1e-15)


def test_spiral_is_deterministic_noisy_and_shuffled() -> None:
    a = spiral(50, seed=3)
    assert a == spiral(50, seed=3) == spiral(50, seed=random.Random(3))
    assert a != spiral(50, seed=4)
    labels = [t for _, t in a]
    assert [labels.count(k) for k in range(3)] == [50, 50, 50]
    assert labels != sorted(labels)
    assert sorted(x for x, _ in a) != sorted(x for x, _ in spiral(50, noise=0.0, seed=3))
    # the noise is on the angle: radii are exact, angles off by about E|N(0, 0.2)| ≈ 0.16
    offsets = []
    for (x, y), t in spiral(400, noise=0.2, seed=1):
        r = math.hypot(x, y)
        want = 2 * math.pi * t / 3 + 4 * r
        offsets.append(abs((math.atan2(x, y) - want + math.pi) % (2 * math.pi) - math.pi))
    assert 0.13 < sum(offsets) / len(offsets) < 0.19
    assert {t for _, t in spiral(5, classes=5)} == {0, 1, 2, 3, 4}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="spiral: n_per_class"):
        spiral(1)
    with pytest.raises(ValueError, match="spiral: classes"):
        spiral(10, classes=1)
    with pytest.raises(ValueError, match="spiral: classes"):
        spiral(10, classes=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="spiral: noise"):
        spiral(10, noise=math.nan)
    with pytest.raises(TypeError, match="spiral: seed"):
        spiral(10, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="moons: n"):
        moons(1)
    with pytest.raises(ValueError, match="circles: noise"):
        circles(10, noise=-0.1)
    with pytest.raises(ValueError, match="noise"):
        moons(10, noise=math.inf)
    with pytest.raises(TypeError, match="seed"):
        moons(10, seed=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="factor"):
        circles(10, factor=1.0)
    with pytest.raises(ValueError, match="labels"):
        moons(10, labels=(1.0,))  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [moons, circles])
def test_int_class_labels_come_out_as_ints_for_cross_entropy(make) -> None:
    """labels=(0, 1) gives int targets (the issue: floats, so cross_entropy needed int())."""
    from micrograd.losses import cross_entropy
    from micrograd.nn import MLP

    classes = make(20, seed=0, labels=(0, 1))
    floats = make(20, seed=0)
    assert [type(t) for _, t in classes] == [int] * 20
    assert [x for x, _ in classes] == [x for x, _ in floats]  # the same points
    assert [t for _, t in classes] == [int(t > 0) for _, t in floats]
    model = MLP(2, [4, 2], seed=0)
    loss = cross_entropy([model(*x) for x, _ in classes], [t for _, t in classes])
    assert math.isfinite(loss.data)
    assert [type(t) for _, t in make(20, seed=0, labels=(0.0, 1.0))] == [float] * 20
    assert [type(t) for _, t in make(20, seed=0, labels=(True, False))] == [float] * 20


def test_every_data_set_gives_the_target_types_its_docstring_says() -> None:
    for gate in (xor, and_, or_):  # the notes' loss ½(y − ŷ)²: float targets
        assert {type(t) for _, t in gate()} == {float}
    assert {type(t) for _, t in spiral(5)} == {int}  # classes for cross_entropy
    assert {type(t) for _, t in moons(6)} == {float}  # ±1 for hinge


def test_point_clouds_are_bounded_by_max_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    assert data.MAX_SAMPLES == 100_000
    monkeypatch.setattr(data, "MAX_SAMPLES", 12)
    assert len(moons(12)) == 12 and len(circles(12)) == 12 and len(spiral(12)) == 36
    for make, n_name in ((moons, "n"), (circles, "n"), (spiral, "n_per_class")):
        with pytest.raises(ValueError, match=rf"{n_name} must be an int from 2 to 12 "
                                             r"\(MAX_SAMPLES\), got 13"):
            make(13)
    with pytest.raises(ValueError, match="an int of 16610 bits"):  # not 5,000 digits
        moons(10**5000)


def test_the_named_data_sets_with_the_targets_each_loss_wants() -> None:
    assert list(DATASETS) == ["xor", "and", "or", "moons", "circles", "spiral"]
    assert DATASETS["xor"].samples() == xor()  # half_squared_error's 0/1
    assert DATASETS["or"].samples(labels=TARGETS["hinge"]) == [
        (x, 2.0 * t - 1.0) for x, t in or_()]
    assert DATASETS["moons"].samples(60, 0.2, 3, TARGETS["hinge"]) == moons(60, 0.2, 3)
    classes = DATASETS["circles"].samples(40, 0.0, 0, TARGETS["cross_entropy"])
    assert [t for _, t in classes] == [int(t) for _, t in circles(40, 0.0, 0, labels=(0, 1))]
    assert {type(t) for _, t in classes} == {int}
    assert DATASETS["spiral"].samples(10) == spiral(10, noise=0.2)  # its default noise
    assert (DATASETS["spiral"].loss, DATASETS["spiral"].epochs, DATASETS["spiral"].classes) == (
        "cross_entropy", 50, 3)
    assert [d.loss for d in DATASETS.values()][:5] == ["half_squared_error"] * 3 + ["hinge"] * 2
    with pytest.raises(ValueError, match=r"xor: n must be an int from 2 to 100,000"):
        DATASETS["xor"].samples(100_001)  # checked even where the four corners ignore it
    with pytest.raises(ValueError, match="moons: noise must be a finite number >= 0"):
        DATASETS["moons"].samples(noise=-1.0)


def test_rosenbrock_default_falls_at_every_step_to_the_minimum(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its lr (0.0014) and step cap converge from (-1, 1); the global 0.1 diverges."""
    rosenbrock = FUNCTIONS["rosenbrock"]
    monkeypatch.setattr(importlib.import_module("micrograd.train"), "PATH_NUMBERS", 10**6)
    result = gradient_descent(rosenbrock.f, list(rosenbrock.w0), rosenbrock.lr,
                              max_steps=rosenbrock.max_steps)
    assert result.reason is StopReason.CONVERGED
    assert 30_000 < result.steps < rosenbrock.max_steps
    assert result.w == pytest.approx((1.0, 1.0), abs=1e-7) and result.value < 1e-15
    values = [value for _, value, _ in result.path]
    assert len(values) == result.steps + 1 and values[0] == 4.0
    assert all(b < a for a, b in itertools.pairwise(values))  # f falls at every step
    diverged = gradient_descent(rosenbrock.f, list(rosenbrock.w0), 0.1)
    assert diverged.reason is StopReason.DIVERGED and diverged.steps <= 6
    for name, function in FUNCTIONS.items():  # every default run converges
        if name != "rosenbrock":
            done = gradient_descent(function.f, function.w0[0], function.lr,
                                    max_steps=function.max_steps)
            assert done.converged, name
