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
                           derivative: Callable[..., Any], **options: Any) -> Iterator[None]:
    ops.register(name, forward, derivative, **options)
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
    assert not hasattr(Value(1.0), "cube")


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
        lambda: apply("bad_product", Value(2.0), 3.0),  # the number becomes a constant leaf
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


# ---- hostile inputs: each class, not only the sample -----------------------------------


@pytest.mark.parametrize("n", [2, 3, 64, 65, 1_000, 100_000])
def test_sum_keeps_the_numerics_contract_at_every_length(n: int) -> None:
    assert Value.sum([Value(1e308)] * n).data == math.inf  # overflows to inf, never raises
    assert Value.sum([Value(-1e308)] * n).data == -math.inf
    mixed = [Value(math.inf), *[Value(1.0)] * (n - 2), Value(-math.inf)]
    assert math.isnan(Value.sum(mixed).data)  # inf - inf is nan, not ValueError
    values = [Value((-1) ** i * (1.0 + i / 7)) for i in range(n)]
    chain = values[0]
    for v in values[1:]:
        chain = chain + v
    assert Value.sum(values).data == chain.data  # left to right, as + would add them


@pytest.mark.parametrize("n", [1, 65, 1_000_000])
def test_an_error_in_a_long_sum_is_one_short_line(n: int) -> None:
    with pytest.raises(TypeError) as caught:
        Value.sum([*[1.0] * (n - 1), "x"])  # type: ignore[list-item]
    message = str(caught.value)
    assert "sum" in message and len(message) < 200 and "\n" not in message


class NeedsTwoArguments(Exception):
    def __init__(self, code: int, why: str) -> None:
        super().__init__(code, why)


def raise_two_argument_error(x: float) -> float:
    raise NeedsTwoArguments(7, "user code failed")


def raise_decode_error(x: float) -> float:
    return float(b"\xff".decode("utf-8"))


@pytest.mark.parametrize(("forward", "error"), [
    (raise_two_argument_error, NeedsTwoArguments),
    (raise_decode_error, UnicodeDecodeError),
    (lambda x: math.acosh(x), ValueError),
    (lambda x: 1 / (x - x), ZeroDivisionError),
])
def test_a_user_ops_own_exception_surfaces(forward: Callable[[float], float],
                                           error: type[Exception]) -> None:
    with temporarily_registered("fragile", forward, lambda x, out: 1.0):
        with pytest.raises(error) as caught:
            Value(0.5).fragile()  # type: ignore[attr-defined]
    assert type(caught.value) is error  # the user's own exception, not a re-made one
    if hasattr(caught.value, "__notes__"):  # Python 3.11+: where it happened
        assert caught.value.__notes__ == ["in op fragile(0.5)"]


def test_a_failing_derivative_surfaces_too() -> None:
    with temporarily_registered("fragile", lambda x: x, raise_two_argument_error_2):
        with pytest.raises(NeedsTwoArguments):
            Value(0.5).fragile()  # type: ignore[attr-defined]


def raise_two_argument_error_2(x: float, out: float) -> float:
    raise NeedsTwoArguments(8, "derivative failed")


@pytest.mark.parametrize("symbol", ["f{", "f}", "{", "f{x}", "f{0}", "{exponent"])
def test_a_symbol_that_cannot_be_drawn_is_refused_at_register(symbol: str) -> None:
    with pytest.raises(ValueError, match=r"symbol .* cannot be filled in") as caught:
        ops.register("braced", cube, cube_grad, symbol=symbol)
    assert "'braced'" in str(caught.value) and "braced" not in ops.names()


@pytest.mark.parametrize("formula", ["3·{x", "3·{y}²", "{0}{1}"])
def test_a_formula_that_cannot_be_filled_in_is_refused_at_register(formula: str) -> None:
    with pytest.raises(ValueError, match="cannot be filled in"):
        ops.register("braced", cube, cube_grad, formula=formula)
    assert "braced" not in ops.names()


def test_a_literal_brace_is_written_doubled() -> None:
    with temporarily_registered("braced", cube, cube_grad, symbol="f{{}}"):
        assert Value(2.0).braced().op_symbol == "f{}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [1, 0, -3, True])
def test_an_int_assigned_to_data_works_through_every_op(value: int) -> None:
    from micrograd import MLP, Net221

    net = Net221("tanh", seed=0)
    expected_net = Net221("tanh", seed=0)
    if value is True:
        with pytest.raises(TypeError, match="bool"):
            Value(value)
        return
    net.w11.data = value
    expected_net.w11.data = float(value)
    assert net(1.0, 0.0).data == expected_net(1.0, 0.0).data
    mlp = MLP(2, [3, 1], seed=0)
    for p in mlp.parameters():
        p.data = value
    out = mlp(2, 3)
    assert isinstance(out.data, float)
    out.backward()
    x, y = Value(2.0), Value(0.0)
    x.data, y.data = value, 2
    for op in ops.names():
        arity = ops.get(op).arity
        if arity == 1 and op not in ("log",):
            assert isinstance(apply(op, x).data, float), op
        if arity == 2 and op not in ("div", "pow_value"):
            assert isinstance(apply(op, x, y).data, float), op


HUGE = 10**400


@pytest.mark.parametrize(("make", "name"), [
    (lambda: Value(HUGE), "Value"),
    (lambda: Value(1.0) + HUGE, "add"),
    (lambda: HUGE * Value(1.0), "mul"),
    (lambda: Value(2.0) ** HUGE, "pow"),
    (lambda: Value(2.0).leaky_relu(slope=HUGE), "leaky_relu"),
    (lambda: Value.sum([Value(1.0), HUGE]), "sum"),
    (lambda: Value(10**5000), "Value"),  # beyond even repr's limit for ints
])
def test_huge_ints_raise_a_short_value_error_naming_the_op(make: Callable[[], Value],
                                                          name: str) -> None:
    with pytest.raises(ValueError) as caught:
        make()
    message = str(caught.value)
    assert message.startswith(name) and "out of the float range" in message
    assert len(message) < 200


def test_a_user_op_returning_a_huge_int_is_named() -> None:
    with temporarily_registered("huge", lambda x: HUGE, lambda x, out: 1.0):
        with raises_naming(ValueError, "huge"):
            Value(1.0).huge()  # type: ignore[attr-defined]
    with temporarily_registered("huge_grad", lambda x: x, lambda x, out: HUGE):
        with raises_naming(ValueError, "huge_grad"):
            Value(1.0).huge_grad()  # type: ignore[attr-defined]


@pytest.mark.parametrize("lr", [HUGE, 10**5000, math.nan, -1], ids=["1e400", "1e5000", "nan", "-1"])
def test_sgd_refuses_a_huge_or_bad_lr_in_one_short_line(lr: Any) -> None:
    from micrograd import SGD

    with pytest.raises(ValueError, match="lr must be a positive finite number") as caught:
        SGD([Value(1.0)], lr=lr)
    assert len(str(caught.value)) < 200


def test_an_activation_defined_only_above_one_builds_and_names_itself_when_it_fails() -> None:
    """acosh fails at 0.5: the MLP is still built; a forward at 0.5 says which op, where."""
    from micrograd import MLP

    with temporarily_registered("acosh_act", math.acosh, lambda x, out: 1 / math.sqrt(x * x - 1)):
        model = MLP(1, [1], activation="acosh_act")  # the last layer is linear: no call yet
        hidden = MLP(1, [2, 1], activation="acosh_act", seed=0)
        for p in hidden.parameters():
            p.data = 0.25  # pre-activation 0.25·x + 0.25 = 0.5 at x = 1: below acosh's domain
        with pytest.raises(ValueError, match="math domain error") as caught:
            hidden(1.0)
        if hasattr(caught.value, "__notes__"):
            assert caught.value.__notes__ == ["in op acosh_act(0.5)"]
        assert model(3.0).op == "linear"
