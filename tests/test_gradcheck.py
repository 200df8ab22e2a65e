"""micrograd.gradcheck: backward() against central differences, and what it says if they differ."""

from __future__ import annotations

import math
import re

import pytest

from micrograd import GradcheckError, Value, apply, gradcheck, ops


def test_a_right_derivative_passes() -> None:
    assert gradcheck(lambda a, b: (a * b).tanh() + a**3 / b, [0.3, 1.2]) is True
    assert gradcheck(lambda x: x.sigmoid().log(), [Value(-2.0, "x")]) is True


def test_a_wrong_derivative_is_named_with_both_numbers() -> None:
    ops.register("cube_wrong", lambda x: x**3, lambda x, out: 2 * x * x)  # should be 3x²
    try:
        with pytest.raises(GradcheckError) as caught:
            gradcheck(lambda x: x.cube_wrong(), [Value(1.5, "x")])
    finally:
        ops.unregister("cube_wrong")
    message = str(caught.value)
    assert "∂f/∂x at x = 1.5" in message
    analytic, numerical = (float(v) for v in re.findall(r"give[s]? (\S+?),? ", message)[:2])
    assert analytic == 2 * 1.5**2
    assert numerical == pytest.approx(3 * 1.5**2, rel=1e-6)


def test_only_the_wrong_input_is_named() -> None:
    """∂/∂a is right (b), ∂/∂b is wrong (2a, not a): the error names the second input."""
    ops.register("half_wrong", lambda a, b: a * b, lambda a, b, out: (b, 2 * a))
    try:
        with pytest.raises(GradcheckError, match=r"∂f/∂inputs\[1\] at inputs\[1\] = 3.0"):
            gradcheck(lambda a, b: apply("half_wrong", a, b), [2.0, 3.0])
    finally:
        ops.unregister("half_wrong")


def test_the_inputs_grads_are_left_alone() -> None:
    x = Value(0.7, "x")
    x.grad = 5.0
    assert gradcheck(lambda v: v * v, [x])
    assert (x.data, x.grad) == (0.7, 5.0)


def test_a_kink_is_reported_not_hidden() -> None:
    """At relu's kink backward() gives the notes' 0; the central difference gives 1/2."""
    with pytest.raises(GradcheckError, match=r"gives 0.0, central differences give 0.5"):
        gradcheck(lambda x: x.relu(), [0.0])


def test_nan_fails() -> None:
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: x * math.nan, [1.0])


def test_tolerances_are_used() -> None:
    f = lambda x: x**3  # noqa: E731  (central difference error is eps², ~1e-12 here)
    assert gradcheck(f, [1.0], eps=1e-3, atol=1e-5, rtol=0.0)
    with pytest.raises(GradcheckError):
        gradcheck(f, [1.0], eps=1e-3, atol=1e-9, rtol=0.0)  # the eps² term is 1e-6


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"eps": 0.0}, ValueError), ({"eps": math.inf}, ValueError), ({"atol": -1.0}, ValueError),
     ({"rtol": math.nan}, ValueError), ({"eps": "1e-6"}, TypeError)],
)
def test_bad_settings_are_refused(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        gradcheck(lambda x: x * x, [1.0], **kwargs)


def test_f_must_return_a_value() -> None:
    with pytest.raises(TypeError, match="f must return a Value, got float"):
        gradcheck(lambda x: x.data, [1.0])
    with pytest.raises(TypeError, match=r"gradcheck inputs\[0\] needs an int or float"):
        gradcheck(lambda x: x, ["1"])  # type: ignore[list-item]
