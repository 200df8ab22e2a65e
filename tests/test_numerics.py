"""The numerics contract: bad input gets a clear error, never a wrong number.

Errors are TypeError / ValueError / ZeroDivisionError whose message starts with the op's
name (and shows the operand). Overflow gives inf, never OverflowError. NaN in, NaN out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import Value, apply, ops


@contextmanager
def raises_naming(
    error: type[Exception] | tuple[type[Exception], ...], op: str, *operands: str
) -> Iterator[None]:
    """Expect `error` with a message that starts with `op` and shows each of `operands`."""
    with pytest.raises(error) as caught:
        yield
    message = str(caught.value)
    assert re.match(rf"{re.escape(op)}\b", message), f"does not start with {op!r}: {message}"
    for operand in operands:
        assert operand in message, f"message does not show {operand!r}: {message}"


@contextmanager
def temporarily_registered(name: str, forward: Callable[..., Any],
                           derivative: Callable[..., Any]) -> Iterator[None]:
    ops.register(name, forward, derivative)
    try:
        yield
    finally:
        ops.unregister(name)


# ---- what a Value accepts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "type_name"),
    [(True, "bool"), (False, "bool"), ("1", "str"), (1j, "complex"), (None, "NoneType")],
)
def test_value_accepts_only_real_numbers(data: Any, type_name: str) -> None:
    with raises_naming(TypeError, "Value", type_name):
        Value(data)


def test_value_converts_ints_to_floats() -> None:
    assert type(Value(3).data) is float
    assert Value(3).data == 3.0


def test_adding_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        Value(1.0) + "a"  # type: ignore[operator]
    with pytest.raises(TypeError, match="str"):
        "a" + Value(1.0)  # type: ignore[operator]


# ---- domain errors ---------------------------------------------------------------------

DOMAIN_ERRORS: dict[str, tuple[Callable[[], Value], type[Exception], str, tuple[str, ...]]] = {
    "log(0)": (lambda: Value(0.0).log(), ValueError, "log", ("0.0",)),
    "log(-1)": (lambda: Value(-1.0).log(), ValueError, "log", ("-1.0",)),
    "apply log(-2)": (lambda: apply("log", -2.0), ValueError, "log", ("-2.0",)),
    "Value / Value(0)": (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, "div", ()),
    "Value / 0": (lambda: Value(1.0) / 0, ZeroDivisionError, "div", ()),
    "1 / Value(0)": (lambda: 1 / Value(0.0), ZeroDivisionError, "div", ()),
    "apply div(1, 0)": (lambda: apply("div", 1.0, 0.0), ZeroDivisionError, "div", ()),
    # plain Python gives (-8.0) ** (1/3) == (1+1.7320508075688772j): a complex number
    "(-8) ** (1/3)": (lambda: Value(-8.0) ** (1 / 3), ValueError, "pow", ("-8.0",)),
    "0 ** -1": (lambda: Value(0.0) ** -1, ZeroDivisionError, "pow", ("-1",)),
    "Value(-2) ** Value(0.5)": (
        lambda: Value(-2.0) ** Value(0.5), ValueError, "pow_value", ("-2.0",)),
    "(-2) ** Value(1.0)": (lambda: (-2) ** Value(1.0), ValueError, "pow_value", ("-2",)),
    "0 ** Value(1.0)": (lambda: 0 ** Value(1.0), ValueError, "pow_value", ("0",)),
}


@pytest.mark.parametrize("case", DOMAIN_ERRORS)
def test_domain_errors_name_the_op_and_operand(case: str) -> None:
    make, error, op, operands = DOMAIN_ERRORS[case]
    with raises_naming(error, op, *operands):
        make()


# ---- overflow: inf, never OverflowError ------------------------------------------------


def test_exp_overflows_to_inf_with_an_inf_gradient() -> None:
    x = Value(1000.0)
    y = x.exp()
    y.backward()
    assert (y.data, x.grad) == (math.inf, math.inf)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Value(10.0) ** 400, math.inf),
        (lambda: Value(-10.0) ** 401, -math.inf),
        (lambda: Value(-10.0) ** 400, math.inf),
        (lambda: 2 ** Value(2000.0), math.inf),
        (lambda: Value(10.0) ** Value(400.0), math.inf),
    ],
    ids=["10**400", "(-10)**401", "(-10)**400", "2**Value(2000)", "Value(10)**Value(400)"],
)
def test_huge_powers_are_inf(make: Callable[[], Value], expected: float) -> None:
    assert make().data == expected


@pytest.mark.parametrize(("x", "expected"), [(1000.0, 1.0), (-1000.0, 0.0)])
def test_sigmoid_is_exact_far_out(x: float, expected: float) -> None:
    node = Value(x).sigmoid()
    assert node.data == expected
    assert node.local_grads == (0.0,)


FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
EPS = 2.0**-52  # the gap between 1.0 and the next float


@settings(max_examples=300, deadline=None)
@given(FINITE_FLOATS)
def test_sigmoid_and_its_gradient_are_finite_for_every_float(x: float) -> None:
    s = Value(x).sigmoid()
    assert 0.0 <= s.data <= 1.0
    assert 0.0 <= s.local_grads[0] <= 0.25
    assert abs(s.data + Value(-x).sigmoid().data - 1.0) <= 2 * EPS  # σ(x) + σ(-x) = 1, to 2 ulp


@settings(max_examples=300, deadline=None)
@given(FINITE_FLOATS)
def test_tanh_and_its_gradient_are_finite_for_every_float(x: float) -> None:
    t = Value(x).tanh()
    assert -1.0 <= t.data <= 1.0
    assert 0.0 <= t.local_grads[0] <= 1.0
    assert math.isclose(t.local_grads[0], 1.0 - t.data * t.data, rel_tol=1e-12, abs_tol=1e-15)


def exp_or_inf(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


@settings(max_examples=300, deadline=None)
@given(FINITE_FLOATS)
def test_exp_never_raises(x: float) -> None:
    y = Value(x).exp()
    assert y.data == exp_or_inf(x)
    assert y.local_grads == (y.data,)


# ---- NaN in, NaN out -----------------------------------------------------------------

NAN_PARAMS: dict[str, list[dict[str, float]]] = {
    "pow": [{"exponent": p} for p in (0.0, 1.0, 2.0, 0.5, -1.0)],
    "leaky_relu": [{"slope": 0.01}, {"slope": 0.0}],
}
ONE_INPUT_CASES = [
    (name, params)
    for name in ops.names()
    if ops.get(name).arity == 1
    for params in NAN_PARAMS.get(name, [{}])
]


@pytest.mark.parametrize(
    ("name", "params"), ONE_INPUT_CASES,
    ids=[name + "".join(f"-{v:g}" for v in params.values()) for name, params in ONE_INPUT_CASES],
)
def test_nan_in_gives_nan_out_and_nan_gradients(name: str, params: dict[str, float]) -> None:
    x = Value(math.nan)
    y = apply(name, x, **params)
    y.backward()
    assert math.isnan(y.data)
    if name in CONSTANT_DERIVATIVE:  # d(-x)/dx is -1 at every x, NaN included (as in PyTorch)
        assert y.local_grads[0] == CONSTANT_DERIVATIVE[name]
        assert x.grad == CONSTANT_DERIVATIVE[name]
        return
    assert math.isnan(y.local_grads[0]), f"{name}'(nan) = {y.local_grads[0]!r}"
    assert math.isnan(x.grad)


CONSTANT_DERIVATIVE = {"neg": -1.0}


# ---- the registry refuses bad registrations ------------------------------------------


def cube(x: float) -> float:
    return x**3


def cube_grad(x: float, out: float) -> float:
    return 3 * x * x


@pytest.mark.parametrize(
    ("name", "forward", "error"),
    [
        ("add", cube, ValueError),  # already registered
        ("backward", cube, ValueError),  # would shadow Value.backward
        ("data", cube, ValueError),  # would shadow Value.data
        ("cube", 3.0, TypeError),  # forward is not callable
        ("2x", cube, ValueError),
        ("_cube", cube, ValueError),
        ("has space", cube, ValueError),
        ("", cube, ValueError),
        (42, cube, ValueError),
    ],
)
def test_register_refuses_a_bad_op(name: Any, forward: Any, error: type[Exception]) -> None:
    before = ops.names()
    with pytest.raises(error) as caught:
        ops.register(name, forward, cube_grad)
    assert repr(name) in str(caught.value)
    assert ops.names() == before
    assert not hasattr(Value, "cube")


@pytest.mark.parametrize(
    ("name", "operands"),
    [("exp", 2), ("add", 1), ("add", 3), ("half_squared_error", 3), ("linear", 2), ("sum", 0)],
)
def test_apply_with_the_wrong_number_of_operands(name: str, operands: int) -> None:
    with raises_naming(TypeError, name):
        apply(name, *[Value(1.0) for _ in range(operands)])


def product(a: float, b: float) -> float:
    return a * b


def product_grad_with_one_value(a: float, b: float, out: float) -> float:
    return b  # wrong: a two-operand op needs (∂/∂a, ∂/∂b)


def cube_grad_with_two_values(x: float, out: float) -> tuple[float, float]:
    return (3 * x * x, 0.0)  # wrong: a one-operand op needs one value


@pytest.mark.parametrize(
    "make",
    [
        lambda: apply("bad_product", Value(2.0), Value(3.0)),
        lambda: apply("bad_product", Value(2.0), 3.0),  # the number is folded into the op
        lambda: apply("bad_product", 2.0, Value(3.0)),
    ],
    ids=["two Values", "Value and number", "number and Value"],
)
def test_derivative_with_too_few_values_names_the_op(make: Callable[[], Value]) -> None:
    with temporarily_registered("bad_product", product, product_grad_with_one_value):
        with raises_naming((TypeError, ValueError), "bad_product"):
            make()


def test_derivative_with_too_many_values_names_the_op() -> None:
    with temporarily_registered("bad_cube", cube, cube_grad_with_two_values):
        with raises_naming(ValueError, "bad_cube"):
            Value(2.0).bad_cube()  # type: ignore[attr-defined]
