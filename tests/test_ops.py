"""Every registered op against central differences: a new op is checked without a new test.

The test cases are read from ``ops.names()`` when this module is collected, so a built-in
or a user op added later is gradient-checked automatically. Two user ops are registered
here (``softplus`` with one operand, ``hypot`` with two) to show that user ops go through
exactly the same checks as built-ins; they are unregistered when the module's tests end.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from micrograd import Value, apply, gradcheck, ops

STEP = 1e-6  # central-difference step
REL_TOL = 1e-6
POINTS_PER_CASE = 40
KINK_MARGIN = 1e-3  # sample points stay this far (much more than STEP) from every kink

Params = dict[str, float]
Sampler = Callable[[random.Random, Params], list[float]]


# ---- two user ops, registered the way a user would --------------------------------


def softplus(x: float) -> float:
    """log(1 + e**x), in the form that never overflows."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def softplus_grad(x: float, out: float) -> float:
    """∂/∂x = σ(x) = e**(x - out)."""
    return math.exp(x - out)


def hypot(a: float, b: float) -> float:
    """√(a² + b²)."""
    return math.hypot(a, b)


def hypot_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = a / out, ∂/∂b = b / out."""
    return (a / out, b / out)


USER_OPS = {"softplus": (softplus, softplus_grad), "hypot": (hypot, hypot_grad)}


@contextmanager
def user_ops_registered() -> Iterator[None]:
    """USER_OPS are registered inside the block and removed after it."""
    for name, (forward, derivative) in USER_OPS.items():
        ops.register(name, forward, derivative)
    try:
        yield
    finally:
        for name in USER_OPS:
            ops.unregister(name)


with user_ops_registered():  # collect while the user ops exist: they are checked like built-ins
    OP_NAMES = ops.names()
    ARITY = {name: ops.get(name).arity for name in OP_NAMES}
    KINKS = {name: ops.get(name).kinks for name in OP_NAMES}


@pytest.fixture(autouse=True, scope="module")
def _user_ops() -> Iterator[None]:
    with user_ops_registered():
        yield


# ---- where each op is sampled -----------------------------------------------------


def anywhere(rng: random.Random) -> float:
    return rng.uniform(-3.0, 3.0)


def positive(rng: random.Random) -> float:
    return rng.uniform(0.2, 3.0)


def nonzero(rng: random.Random) -> float:
    """|x| in [0.5, 3], either sign."""
    return rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 3.0)


def pow_base(rng: random.Random, params: Params) -> list[float]:
    """Integer exponents take a base of either sign; fractional ones a positive base."""
    if float(params["exponent"]).is_integer():
        return [nonzero(rng)]
    return [positive(rng)]


def odd_count(rng: random.Random, params: Params) -> list[float]:
    """linear's operands (w1, x1, …, wn, xn, b): 1, 3 or 5 of them."""
    return [anywhere(rng) for _ in range(2 * rng.randint(0, 2) + 1)]


def generic(name: str) -> Sampler:
    """Any op not listed in DOMAINS: its arity of operands in [-3, 3]; variadic: 1 to 5."""

    def sample(rng: random.Random, params: Params) -> list[float]:
        count = ARITY[name] or rng.randint(1, 5)
        return [anywhere(rng) for _ in range(count)]

    return sample


DOMAINS: dict[str, Sampler] = {
    "div": lambda rng, params: [anywhere(rng), nonzero(rng)],
    "pow": pow_base,
    "pow_value": lambda rng, params: [positive(rng), anywhere(rng)],
    "log": lambda rng, params: [positive(rng)],
    "linear": odd_count,
    "bce_with_logits": lambda rng, params: [anywhere(rng), rng.uniform(0.0, 1.0)],
    # logits: at least target + 1 of them, up to 5
    "cross_entropy": lambda rng, params: [
        anywhere(rng) for _ in range(rng.randint(int(params["target"]) + 1, 5))],
}

PARAMS: dict[str, list[Params]] = {
    "pow": [{"exponent": p} for p in (2.0, 3.0, 1.0, 0.0, -1.0, -2.0, 0.5, 1.5, -0.5)],
    "leaky_relu": [{"slope": s} for s in (0.01, 0.2, 1.0, 0.0, -0.5)],
    "cross_entropy": [{"target": t} for t in (0, 2)],
}


def sample_operands(name: str, params: Params, rng: random.Random) -> list[float]:
    """A point inside the op's domain, farther than KINK_MARGIN from each of its kinks."""
    sampler = DOMAINS.get(name, generic(name))
    while True:
        xs = sampler(rng, params)
        if all(abs(x - kink) > KINK_MARGIN for x in xs for kink in KINKS[name]):
            return xs


CASES = [(name, params) for name in OP_NAMES for params in PARAMS.get(name, [{}])]
CASE_IDS = [name + "".join(f"-{k}={v:g}" for k, v in params.items()) for name, params in CASES]


# ---- numbers -----------------------------------------------------------------------


def evaluate(name: str, xs: Sequence[float], params: Params) -> float:
    """The op's value at xs, through the public API."""
    return apply(name, *[Value(x) for x in xs], **params).data


def check(f: Callable[..., Value], xs: Sequence[float]) -> bool:
    """micrograd.gradcheck at REL_TOL, with an absolute floor for the difference's rounding."""
    scale = max(1.0, abs(f(*[Value(x) for x in xs]).data))
    return gradcheck(f, xs, eps=STEP, atol=1e-8 * scale, rtol=REL_TOL)


# ---- every op, at many points -----------------------------------------------------


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_local_grads_match_central_differences(name: str, params: Params) -> None:
    rng = random.Random(f"{name} {params}")
    for _ in range(POINTS_PER_CASE):
        xs = sample_operands(name, params, rng)
        assert check(lambda *leaves: apply(name, *leaves, **params), xs)


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_backward_through_an_op_gives_its_local_grads(name: str, params: Params) -> None:
    xs = sample_operands(name, params, random.Random(name))
    leaves = [Value(x) for x in xs]
    node = apply(name, *leaves, **params)
    node.backward()
    assert node.grad == 1.0
    assert [leaf.grad for leaf in leaves] == list(node.local_grads)


BINARY = [name for name in OP_NAMES if ARITY[name] == 2]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("name", BINARY)
def test_a_number_operand_becomes_a_constant_leaf(name: str, side: str) -> None:
    """op(x, c) and op(c, x) for a number c: c is an unlabelled leaf child, as in micrograd."""
    rng = random.Random(f"{name} {side}")
    variable = 0 if side == "right" else 1
    for _ in range(POINTS_PER_CASE):
        xs = sample_operands(name, {}, rng)
        x = Value(xs[variable])
        operands: list[Any] = list(xs)
        operands[variable] = x
        node = apply(name, *operands)
        constant = node.children[1 - variable]
        assert node.children[variable] is x
        assert (constant.data, constant.label, constant.is_leaf) == (xs[1 - variable], "", True)
        assert node.data == evaluate(name, xs, {})
        assert node.local_grads == apply(name, *[Value(v) for v in xs]).local_grads


# ---- the operators with a number on either side --------------------------------------

NUMBER_EXPRESSIONS: dict[str, tuple[Callable[[Any], Any], str, int | None]] = {
    # expression: (the expression, its op, where the number's constant leaf stands)
    "x + 3": (lambda x: x + 3, "add", 1),
    "3 + x": (lambda x: 3 + x, "add", 0),
    "x - 3": (lambda x: x - 3, "sub", 1),
    "3 - x": (lambda x: 3 - x, "sub", 0),
    "x * 2": (lambda x: x * 2, "mul", 1),
    "2 * x": (lambda x: 2 * x, "mul", 0),
    "x / 4": (lambda x: x / 4, "div", 1),
    "1 / x": (lambda x: 1 / x, "div", 0),
    "x ** 3": (lambda x: x**3, "pow", None),  # the exponent is pow's param, not an operand
    "x ** -2": (lambda x: x**-2, "pow", None),
    "x ** 0.5": (lambda x: x**0.5, "pow", None),
    "2 ** x": (lambda x: 2**x, "pow_value", 0),
}


@pytest.mark.parametrize("expression", NUMBER_EXPRESSIONS)
def test_operator_with_a_number(expression: str) -> None:
    """The same expression on floats and on a Value: same value, derivative by differences."""
    formula, op, constant = NUMBER_EXPRESSIONS[expression]
    rng = random.Random(expression)
    for _ in range(POINTS_PER_CASE):
        x0 = positive(rng)
        x = Value(x0)
        node = formula(x)
        assert node.op == op
        assert x in node.children and len(node.children) == (1 if constant is None else 2)
        if constant is not None:
            assert node.children[constant].is_leaf and node.children[constant] is not x
        assert math.isclose(node.data, formula(x0), rel_tol=1e-15)
        assert check(formula, [x0])


@pytest.mark.parametrize(
    ("call", "operator"),
    [
        (lambda x: apply("mul", x, 2), lambda x: x * 2),
        (lambda x: apply("mul", 2, x), lambda x: 2 * x),
        (lambda x: apply("sub", 3, x), lambda x: 3 - x),
        (lambda x: apply("div", 1, x), lambda x: 1 / x),
        (lambda x: apply("pow", x, exponent=2), lambda x: x**2),
        (lambda x: apply("pow_value", 2, x), lambda x: 2**x),
    ],
    ids=["x*2", "2*x", "3-x", "1/x", "x**2", "2**x"],
)
def test_apply_with_a_number_equals_the_operator(
    call: Callable[[Value], Value], operator: Callable[[Value], Value]
) -> None:
    x = Value(1.7)
    by_apply, by_operator = call(x), operator(x)
    assert (by_apply.op, dict(by_apply.params), by_apply.op_symbol) == (
        by_operator.op, dict(by_operator.params), by_operator.op_symbol)
    assert [c.data for c in by_apply.children] == [c.data for c in by_operator.children]
    assert (by_apply.data, by_apply.local_grads) == (by_operator.data, by_operator.local_grads)


def test_integer_powers_of_negative_numbers() -> None:
    x = Value(-1.5)
    assert ((x**3).data, (x**3).local_grads) == (-3.375, (3 * 2.25,))
    assert ((x**2).data, (x**2).local_grads) == (2.25, (-3.0,))
    assert ((x**-1).data, (x**-1).local_grads) == (-1 / 1.5, (-1 / 2.25,))


# ---- kinks: the notes' conventions -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("relu", {}, 0.0),
        ("leaky_relu", {}, 0.01),  # default slope
        ("leaky_relu", {"slope": 0.2}, 0.2),
        ("leaky_relu", {"slope": 1.0}, 1.0),
        ("step", {}, 0.0),
    ],
)
@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_derivative_at_zero_follows_the_notes(
    name: str, params: Params, expected: float, zero: float
) -> None:
    """relu'(0) = 0 and leaky_relu'(0) = slope: the x ≤ 0 branch, as the notes write."""
    assert apply(name, Value(zero), **params).local_grads == (expected,)


def test_step_has_zero_derivative_everywhere() -> None:
    points = [0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 1e300, -1e300, math.inf, -math.inf]
    for x in points:
        node = Value(x).step()
        assert node.local_grads == (0.0,), x
        assert node.data == (1.0 if x > 0 else 0.0), x


KINKED = [(name, kink) for name in OP_NAMES if ARITY[name] == 1 for kink in KINKS[name]]


@pytest.mark.parametrize(("name", "kink"), KINKED)
def test_derivative_at_a_kink_is_a_one_sided_derivative(name: str, kink: float) -> None:
    """Whatever convention an op picks at a kink, it is the derivative from one side."""
    for params in PARAMS.get(name, [{}]):
        local = apply(name, Value(kink), **params).local_grads[0]
        here = evaluate(name, [kink], params)
        from_left = (here - evaluate(name, [kink - STEP], params)) / STEP
        from_right = (evaluate(name, [kink + STEP], params) - here) / STEP
        assert min(abs(local - from_left), abs(local - from_right)) <= REL_TOL * max(
            1.0, abs(local)), (name, params, local, from_left, from_right)


# ---- formulas: the derivative as text, held to the derivative -------------------------

def softmax(*zs: float) -> list[float]:
    """e^(z_i) / Σ_j e^(z_j), written directly (the op computes it shifted by max z)."""
    exps = [math.exp(z) for z in zs]
    return [e / math.fsum(exps) for e in exps]


# What a formula's text may call, besides arithmetic: · is *, ² is **2, a subscript ₖ is
# [k] (softmax(…)₀), an Iverson bracket [i = t] is (i == t).
FORMULA_FUNCTIONS = {"exp": math.exp, "log": math.log, "σ": ops.sigmoid, "tanh": math.tanh,
                     "softmax": softmax}
SUBSCRIPT = re.compile("[₀₁₂₃₄₅₆₇₈₉]+")
IVERSON = re.compile(r"\[([^\[\]=]+) = ([^\[\]=]+)\]")


def evaluate_formula(op: ops.Op, index: int, xs: Sequence[float], params: Params) -> float:
    """The op's formula for operand ``index`` with numbers in place of names, evaluated."""
    out = op.forward(*xs, **params)
    numbers = [f"({x!r})" for x in xs]
    text = op.formula_text(index, len(xs))
    assert text is not None
    filled = text.format(*numbers, out=f"({out!r})", **dict(zip(op.operands or (), numbers)),
                         **{k: f"({v!r})" for k, v in {**op.params, **params}.items()})
    code = filled.replace("·", "*").replace("²", "**2")
    code = IVERSON.sub(r"(\1 == \2)", code)
    code = SUBSCRIPT.sub(lambda m: f"[{m[0].translate(str.maketrans('₀₁₂₃₄₅₆₇₈₉', '0123456789'))}]",
                         code)
    return float(eval(code, {"__builtins__": {}}, FORMULA_FUNCTIONS))


BUILTINS = [name for name in OP_NAMES if name not in USER_OPS]


@pytest.mark.parametrize(("name", "params"), [c for c in CASES if c[0] in BUILTINS],
                         ids=[i for c, i in zip(CASES, CASE_IDS) if c[0] in BUILTINS])
def test_each_builtin_formula_is_its_derivative(name: str, params: Params) -> None:
    op = ops.get(name)
    rng = random.Random(f"formula {name} {params}")
    for _ in range(8):
        xs = sample_operands(name, params, rng)
        local_grads = op.derivative(*xs, op.forward(*xs, **params), **params)
        for i, local in enumerate(local_grads):
            by_text = evaluate_formula(op, i, xs, params)
            assert math.isclose(by_text, local, rel_tol=1e-12, abs_tol=1e-12), (
                name, op.formula_text(i, len(xs)), xs, by_text, local)


def test_every_builtin_op_has_a_formula() -> None:
    assert BUILTINS and all(ops.get(name).formula is not None for name in BUILTINS)


def test_a_formula_is_one_text_per_operand() -> None:
    with pytest.raises(ValueError, match="one text per operand"):
        ops.register("two_formulas", lambda a, b: a * b, lambda a, b, out: (b, a), formula=("{b}",))
    assert "two_formulas" not in ops.names()


# ---- the registry itself -------------------------------------------------------------


def test_user_ops_are_registered_for_this_module() -> None:
    assert {"softplus", "hypot"} <= set(ops.names())
    assert {"softplus", "hypot"} <= set(OP_NAMES)


def test_a_registered_one_input_op_becomes_a_method_that_backpropagates() -> None:
    ops.register("cube", lambda x: x**3, lambda x, out: 3 * x * x)
    try:
        x = Value(0.5)
        y = x.cube() * 2  # type: ignore[attr-defined]
        y.backward()
        assert (y.data, x.grad) == (0.25, 1.5)
        assert x.softplus().data == softplus(0.5)  # type: ignore[attr-defined]
        assert {"cube", "softplus", "tanh"} <= set(dir(x))  # tab completion finds them
    finally:
        ops.unregister("cube")
    assert not hasattr(Value(1.0), "cube") and "cube" not in dir(Value(1.0))
    assert "cube" not in ops.names()


@pytest.mark.parametrize("name", ["hypot", "add", "pow_value", "colour", "__array__"])
def test_only_one_operand_ops_are_methods(name: str) -> None:
    """A two-operand or variadic op, or no op at all, is not an attribute of a Value."""
    with pytest.raises(AttributeError, match=f"'Value' object has no attribute '{name}'"):
        getattr(Value(1.0), name)
    assert name not in dir(Value(1.0))


@pytest.mark.parametrize("name", OP_NAMES)
def test_every_op_has_a_printable_repr(name: str) -> None:
    """A debugger shows repr(op): it must not raise, and it must name the op."""
    text = repr(ops.get(name))
    assert text.startswith("Op(")
    assert ops.get(name).symbol


def scaled_softplus(x: float, beta: float = 1.0) -> float:
    return math.log1p(math.exp(beta * x)) / beta


def scaled_softplus_grad(x: float, out: float, beta: float = 1.0) -> float:
    return 1.0 / (1.0 + math.exp(-beta * x))


def test_a_forward_parameter_with_a_default_is_a_param_not_an_operand() -> None:
    op = ops.register("scaled_softplus", scaled_softplus, scaled_softplus_grad)
    try:
        assert op.arity == 1
        x = Value(0.5)
        y = x.scaled_softplus(beta=2.0)
        y.backward()
        assert y.params == {"beta": 2.0}
        assert y.data == pytest.approx(math.log1p(math.exp(1.0)) / 2.0, rel=1e-15)
        assert x.grad == pytest.approx(1.0 / (1.0 + math.exp(-1.0)), rel=1e-15)
    finally:
        ops.unregister("scaled_softplus")


def test_a_forward_without_operands_is_refused() -> None:
    with pytest.raises(TypeError, match="no operand"):
        ops.register("constant_one", lambda: 1.0, lambda out: 0.0)
    assert "constant_one" not in ops.names()
