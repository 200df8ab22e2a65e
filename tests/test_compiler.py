"""micrograd.compile: replaying a recorded graph gives backward()'s floats, bit for bit.

"Bit for bit" here means equal floats with equal signs of zero (-0.0 is not 0.0), and NaN
where eager gives NaN. Each check builds the graph twice: once to compile, and once more
from the same leaf values to call backward() on, as a training loop would.
"""

from __future__ import annotations

import importlib
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import Quadratic, Recipe, build_graph, graph_recipes
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd
from micrograd import CompiledGraph, Value, apply, compile, compiler, ops
from micrograd.engine import topological_order
from micrograd.losses import half_squared_error, hinge
from micrograd.nn import MLP, Module, Net221

Build = Callable[[Sequence[Value]], Value]

# points where ops change branch, and the awkward floats
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, -1e-300, 5e-324, 1e300, -1e300,
           700.0, 710.0, -745.0, math.inf, -math.inf, math.nan]

training = importlib.import_module("micrograd.train")  # the module: micrograd.train is the function


def same(a: float, b: float) -> bool:
    """a and b are the same float: equal with the same sign (so 0.0 is not -0.0), or both NaN."""
    if a != a or b != b:
        return a != a and b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def assert_same(actual: Sequence[float], expected: Sequence[float], what: str) -> None:
    assert len(actual) == len(expected), what
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert type(a) is float, f"{what}[{i}] is {type(a).__name__}"
        assert same(a, e), f"{what}[{i}]: compiled {a!r}, eager {e!r}"


def leaves_of(root: Value) -> list[Value]:
    """The leaves in the order compile() keeps them (first use in the forward pass)."""
    return list(compile(root).leaves)


def check_replay(build: Build, first: Sequence[float], second: Sequence[float],
                 grads: Sequence[float] | None = None) -> CompiledGraph | None:
    """Compile build(first), replay it at `second`: the same as eager at `second`, bit for bit.

    Leaf grads start at `grads` (accumulation) in both. If eager raises at `second`, the
    replay raises the same type and leaves every grad as it was. Checks sync() too.
    """
    inputs = [Value(x, f"x{i}") for i, x in enumerate(first)]
    root = build(inputs)
    graph = compile(root)
    for x, v in zip(inputs, second):
        x.data = v
    start = list(grads) if grads is not None else [0.0] * len(inputs)
    for x, g in zip(inputs, start):
        x.grad = g

    fresh = [Value(v, f"x{i}") for i, v in enumerate(second)]
    for x, g in zip(fresh, start):
        x.grad = g
    try:
        expected = build(fresh)
    except Exception as err:  # a domain error at the new point: the replay raises it too
        before = [leaf.grad for leaf in graph.leaves]
        with pytest.raises(type(err)):
            graph()
        assert [leaf.grad for leaf in graph.leaves] == before
        return None
    expected.backward()

    result = graph()
    assert_same([result], [expected.data], "root")
    assert_same([x.grad for x in inputs], [x.grad for x in fresh], "input grads")
    eager_leaves = leaves_of(expected)
    assert len(eager_leaves) == len(graph.leaves)
    assert_same([leaf.grad for leaf in graph.leaves], [leaf.grad for leaf in eager_leaves],
                "leaf grads")

    graph.sync()  # every node now holds what backward() left in the fresh graph
    ours, theirs = topological_order(root), topological_order(expected)
    assert [n.op for n in ours] == [n.op for n in theirs]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if not a.is_leaf:
            assert_same([a.data, a.grad, *a.local_grads], [b.data, b.grad, *b.local_grads],
                        f"node {i} ({a.op}) data, grad, local grads")
    return graph


@contextmanager
def small_parts(lines: int = 4, registers_above: int = 0) -> Iterator[None]:
    """Generated functions of a few lines each (every value and grad crosses parts), and
    unlabelled nodes in registers however few there are."""
    saved = compiler.PART_LINES, compiler.REGISTERS_ABOVE
    compiler.PART_LINES, compiler.REGISTERS_ABOVE = lines, registers_above
    try:
        yield
    finally:
        compiler.PART_LINES, compiler.REGISTERS_ABOVE = saved


# ---- random graphs -------------------------------------------------------------------

FORMULAS: dict[str, Callable[[Any, Any], Any]] = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / (b² + 0.5)": lambda a, b: a / (b * b + 0.5),
    "1 / (a² + 0.5)": lambda a, b: 1 / (a * a + 0.5),
    "3 - a": lambda a, b: 3 - a,
    "-a": lambda a, b: -a,
    "a * 0.5": lambda a, b: a * 0.5,
    "a ** 2": lambda a, b: a**2,
    "(a² + 0.5) ** 1.5": lambda a, b: (a * a + 0.5) ** 1.5,
    "(b² + 0.5) ** a": lambda a, b: (b * b + 0.5) ** a,
    "exp(a)": lambda a, b: a.exp(),
    "log(a² + 0.5)": lambda a, b: (a * a + 0.5).log(),
    "tanh(a)": lambda a, b: a.tanh(),
    "sigmoid(a)": lambda a, b: a.sigmoid(),
    "relu(a)": lambda a, b: a.relu(),
    "relu(a - b)": lambda a, b: (a - b).relu(),
    "leaky_relu(a)": lambda a, b: a.leaky_relu(0.1),
    "step(a)": lambda a, b: a.step() * b,
    "sum(a, b, a)": lambda a, b: Value.sum([a, b, a]),
    "linear": lambda a, b: Value.linear([a, b], [b, 2.0], a),
    "½(a - b)²": lambda a, b: apply("half_squared_error", a, b),
    "bce(a, 0.25)": lambda a, b: apply("bce_with_logits", a, 0.25),
}


@settings(max_examples=150, deadline=None)
@given(graph_recipes(FORMULAS, bound=3.0, max_steps=14),
       st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0]) | st.floats(-3, 3), min_size=4,
                max_size=4),
       st.lists(st.sampled_from([0.0, -0.0]) | st.floats(-2, 2), min_size=4, max_size=4))
def test_random_graphs_replay_bit_for_bit(recipe: Recipe, second: list[float],
                                          grads: list[float]) -> None:
    n = len(recipe[0])

    def build(leaves: Sequence[Value]) -> Value:
        return build_graph(FORMULAS, recipe, leaves)[-1]

    check_replay(build, recipe[0], second[:n], grads[:n])
    with small_parts():
        check_replay(build, recipe[0], second[:n], grads[:n])
    with small_parts(lines=10_000):  # one part, registers reused
        check_replay(build, recipe[0], second[:n], grads[:n])


# ---- every registered op -------------------------------------------------------------


def softsign(x: float) -> float:
    """x / (1 + |x|)."""
    return x / (1.0 + abs(x))


def softsign_grad(x: float, out: float) -> float:
    """1 / (1 + |x|)²."""
    return 1.0 / (1.0 + abs(x)) ** 2


def scaled_diff(a: float, b: float, scale: float = 2.0) -> float:
    """scale · (a − b): a user op with two operands and a param."""
    return scale * (a - b)


def scaled_diff_grad(a: float, b: float, out: float, scale: float = 2.0) -> tuple[float, float]:
    """∂/∂a = scale, ∂/∂b = −scale."""
    return (scale, -scale)


@pytest.fixture(scope="module", autouse=True)
def user_ops() -> Any:
    ops.register("softsign", softsign, softsign_grad, formula="1/(1 + |{x}|)²")
    ops.register("scaled_diff", scaled_diff, scaled_diff_grad)
    yield
    ops.unregister("softsign")
    ops.unregister("scaled_diff")


PARAMS = {"pow": [{"exponent": 2.0}, {"exponent": 3.0}, {"exponent": 0.5}, {"exponent": -1.0},
                  {"exponent": 0.0}],
          "leaky_relu": [{}, {"slope": 0.2}, {"slope": -1.0}],
          "scaled_diff": [{}, {"scale": -0.5}]}
POINTS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, 20.0, -20.0, math.inf, -math.inf,
          math.nan]


def op_cases() -> list[tuple[str, int]]:
    """(op, operand count): every built-in (1, 3, 5 operands for sum and linear), the user ops."""
    cases = []
    for name in ops.names():
        arity = ops.get(name).arity
        if ops.get(name).builtin:
            cases += [(name, n) for n in ([1, 3, 5] if arity is None else [arity])]
    return [*cases, ("softsign", 1), ("scaled_diff", 2)]


@pytest.mark.parametrize(("name", "count"), op_cases())
def test_every_op_replays_bit_for_bit(name: str, count: int) -> None:
    rng = random.Random(f"{name}/{count}")
    checked = 0
    cases = PARAMS.get(name, [{}])
    if name == "cross_entropy":  # its param is the target class: 0 .. count - 1
        cases = [{"target": 0.0}, {"target": float(count - 1)}]
    for params in cases:
        for _ in range(12):
            first = [rng.choice([0.7, 1.5, -0.3, 2.0]) for _ in range(count)]
            second = [rng.choice(POINTS) for _ in range(count)]

            def build(leaves: Sequence[Value], params: dict[str, float] = params) -> Value:
                node = apply(name, *leaves, **params)
                return node * leaves[0] + node  # a node used twice, and an op after it

            try:
                build([Value(x) for x in first])
            except (ValueError, ZeroDivisionError):
                continue  # not a point of this op's domain: nothing to record
            grads = [rng.uniform(-1, 1) for _ in range(count)]
            check_replay(build, first, second, grads)
            with small_parts(lines=10_000):
                check_replay(build, first, second, grads)
            checked += 1
    assert checked >= 6  # most first points are in the op's domain


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "step"])
@pytest.mark.parametrize("x", [0.0, -0.0])
def test_kinks_follow_new_inputs(name: str, x: float) -> None:
    """Recorded at x = 1 (above the kink), replayed exactly at 0 and -0: the x ≤ 0 branch."""
    inputs = Value(1.0, "x")
    y = apply(name, inputs) * 3.0
    graph = compile(y)
    inputs.data = x
    graph()
    eager = Value(x)
    (apply(name, eager) * 3.0).backward()
    assert same(inputs.grad, eager.grad)
    assert inputs.grad == {"relu": 0.0, "leaky_relu": 0.03, "step": 0.0}[name]


@pytest.mark.parametrize("build", [
    lambda x: -((x * 2.0) * 0.0),  # m = x·2 gets 0.0·(-1) = -0.0 as its first term
    lambda x: -(x * 2.0) * 0.0,  # m gets -g of a grad g = +0.0
], ids=["product", "negation"])
def test_an_interior_grad_starts_at_zero_so_signed_zeros_match(
        build: Callable[[Value], Value]) -> None:
    """backward() starts each interior grad at 0.0 and 0.0 + (-0.0) is 0.0; a leaf starting at
    -0.0 shows the difference: -0.0 + 2·0.0 is 0.0, but -0.0 + 2·(-0.0) would be -0.0."""
    check_replay(lambda xs: build(xs[0]), [1.0], [3.0], [-0.0])
    x = Value(3.0)
    x.grad = -0.0
    build(x).backward()
    assert same(x.grad, 0.0)


def test_terms_into_one_leaf_add_in_backwards_order() -> None:
    """a is operand 0 and 4 of one linear node: a.grad = (g0 + b·g) + 1·g, in that order."""
    rng = random.Random(7)
    sensitive = 0
    for _ in range(200):
        first = [rng.uniform(-2, 2) for _ in range(3)]
        second = [rng.uniform(-2, 2) for _ in range(3)]
        start = [rng.uniform(-2, 2) for _ in range(3)]

        def build(xs: Sequence[Value]) -> Value:
            a, b, c = xs
            return Value.linear([a, b], [b, c], a) * c

        check_replay(build, first, second, start)
        with small_parts(lines=10_000):
            check_replay(build, first, second, start)
        _, b, g = second  # ∂y/∂node = c; the node's local grads for a: b, then 1
        sensitive += (start[0] + b * g) + g != (start[0] + g) + b * g
    assert sensitive > 10  # the other order would round differently that often


def test_two_calls_accumulate_as_two_backward_calls() -> None:
    def build(xs: Sequence[Value]) -> Value:
        a, b = xs
        return (a * b + a.tanh() * 0.1 + (a - b).relu()).sigmoid()

    a, b = Value(0.3, "a"), Value(-1.7, "b")
    graph = compile(build([a, b]))
    graph()
    graph()
    c, d = Value(0.3), Value(-1.7)
    build([c, d]).backward()
    build([c, d]).backward()
    assert_same([a.grad, b.grad], [c.grad, d.grad], "grads after two calls")
    assert a.grad != 0.0


def test_constant_leaves_accumulate_too() -> None:
    x = Value(2.0, "x")
    y = x * 3.0 + 1.0
    graph = compile(y)
    constants = [leaf for leaf in graph.leaves if leaf is not x]
    assert sorted(c.data for c in constants) == [1.0, 3.0]
    graph()
    graph()
    assert x.grad == 6.0
    assert {c.data: c.grad for c in constants} == {3.0: 4.0, 1.0: 2.0}  # ∂y/∂3 = x


def test_replay_reads_the_leaves_current_data() -> None:
    net = Net221(activation="tanh")
    x1, x2 = Value(0.0, "x1"), Value(0.0, "x2")
    y = Value(0.0, "y")
    graph = compile(half_squared_error(net(x1, x2), y))
    for (a, b), target in micrograd.data.xor():
        x1.data, x2.data, y.data = a, b, target  # ints: converted, as Value(a) would
        net.zero_grad()
        loss = graph()
        got = [p.grad for p in net.parameters()]
        net.zero_grad()
        e = half_squared_error(net(float(a), float(b)), float(target))
        e.backward()
        assert_same([loss, *got], [e.data, *(p.grad for p in net.parameters())], "sample")


def test_an_mlp_batch_replays_bit_for_bit() -> None:
    """Inputs of 6 points as leaves; the model's parameters are leaves of the graph too."""
    points = micrograd.data.moons(6, noise=0.1, seed=1)
    targets = [y for _, y in points]

    def build(xs: Sequence[Value]) -> Value:
        model = MLP(2, [4, 4, 1], seed=0)  # the same parameter values in every build
        scores = [model(xs[2 * i], xs[2 * i + 1]) for i in range(len(points))]
        return hinge(scores, targets)

    first = [c for x, _ in points for c in x]
    second = [c * 1.5 - 0.25 for c in first]
    assert check_replay(build, first, second) is not None
    with small_parts(40):
        assert check_replay(build, first, second) is not None


# ---- the code texts: each op as Python text, held to its function bit for bit -----------

# Every float class an op can meet: kinks, signed zeros, tiny and huge values, the edges of
# exp's range, infinities and NaN.
CODE_POINTS = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.5, 3.0, 1e-300, -1e-300, 5e-324,
               -5e-324, 1e16, -1e16, 1e300, -1e300, 1.7976931348623157e308, 709.0, 710.0,
               -745.0, -746.0, 36.0, -36.0, math.inf, -math.inf, math.nan]
CODE_PARAMS = {"leaky_relu": [{}, {"slope": 0.2}, {"slope": -1.0}, {"slope": 0.0}]}


def run_code(op: ops.Op, text: str, xs: Sequence[float], out: float,
             params: dict[str, float]) -> Any:
    """A code text evaluated with xs, out and the params bound to names, as compile() does."""
    names = [f"x{i}" for i in range(len(xs))]
    filled = text.format(*names, out="out", **dict(zip(op.operands or (), names)),
                         **{k: f"({v!r})" for k, v in {**op.params, **params}.items()})
    functions = {f"{name}_forward": ops.get(name).forward for name in compiler.CODE}
    return eval(filled, {"math": math, **functions}, {"out": out, **dict(zip(names, xs))})


def code_cases() -> list[tuple[str, int]]:
    cases = []
    for name in compiler.CODE:
        op = ops.get(name)
        counts = [1, 2, 3, 5] if op.arity is None else [op.arity]
        cases += [(name, n) for n in counts if name != "linear" or n % 2]  # w·x pairs + b
    return cases


@pytest.mark.parametrize(("name", "count"), code_cases())
def test_code_texts_give_the_functions_floats_bit_for_bit(name: str, count: int) -> None:
    """Forward and each derivative text at every combination of CODE_POINTS (or a sample);
    where the function raises, the text raises the same error (it calls the function)."""
    op, code = ops.get(name), compiler.CODE[name]
    assert op.builtin
    if count == 1:
        points = [[x] for x in CODE_POINTS]
    elif count == 2:
        points = [[x, y] for x in CODE_POINTS for y in CODE_POINTS]
    else:
        rng = random.Random(f"code {name} {count}")
        points = [[rng.choice(CODE_POINTS) for _ in range(count)] for _ in range(800)]
    checked = 0
    for params in CODE_PARAMS.get(name, [{}]):
        fixed = {**op.params, **params}
        for xs in points:
            try:
                out = op.forward(*xs, **fixed)
            except (ValueError, ZeroDivisionError, TypeError) as err:
                with pytest.raises(type(err), match=re.escape(str(err))):
                    run_code(op, code.forward_text(count), xs, math.nan, params)
                continue
            by_text = run_code(op, code.forward_text(count), xs, math.nan, params)
            assert same(by_text, out) and type(by_text) is float, (name, xs, params, by_text)
            local = op.derivative(*xs, out, **fixed)
            for i in range(count):
                text = code.derivative_text(i, count)
                got = run_code(op, text, xs, out, params)
                assert same(got, local[i]) and type(got) is float, (name, i, text, xs, got)
            checked += 1
    assert checked >= len(points) // 2  # most points are in the op's domain


def test_the_compiler_owns_the_code_texts() -> None:
    """ops.py holds each op's math once; the texts only compile reads are in compiler.CODE."""
    assert not hasattr(ops, "Code") and not hasattr(ops.get("mul"), "code")
    assert compiler.CODE["mul"] == compiler.Code("{a} * {b}", ("{b}", "{a}"))
    assert set(compiler.CODE) <= {name for name in ops.names() if ops.get(name).builtin}
    for name in ("add", "sub", "mul", "div", "neg", "tanh", "sigmoid", "relu", "sum", "linear"):
        assert name in compiler.CODE, name
    assert compiler.CODE["sum"].forward_text(3) == "{0} + {1} + {2}"
    assert compiler.CODE["linear"].forward_text(5) == "{0} * {1} + {2} * {3} + {4}"


# ---- size, source, sync --------------------------------------------------------------


def test_a_100k_node_chain_compiles_and_replays() -> None:
    limit = sys.getrecursionlimit()
    x, a, c = Value(1.0, "x"), Value(0.999, "a"), Value(0.001, "c")
    y = x
    for _ in range(50_000):
        y = y * a + c
    graph = compile(y)
    assert len(graph.leaves) == 3
    assert len(topological_order(y, leaves=False)) == 100_000
    parts = graph.source.split("\ndef part")  # parts of at most about PART_LINES lines
    assert len(parts) >= 5 and max(part.count("\n") for part in parts) < compiler.PART_LINES
    x.data = 2.0
    result = graph()
    eager = Value(2.0)
    z = eager
    for _ in range(50_000):
        z = z * a + c
    z.backward()
    assert same(result, z.data) and same(x.grad, eager.grad)
    assert x.grad == pytest.approx(0.999**50_000, rel=1e-9)
    assert sys.getrecursionlimit() == limit


def test_the_source_reads_as_the_chain_rule() -> None:
    net = Net221(activation="tanh")
    graph = compile(half_squared_error(net(1.0, 0.0), 1.0))
    lines = [line.strip() for line in graph.source.splitlines()]
    for line in ["z1 = math.tanh(a1)", "a1 = w11 * x1 + w12 * x2 + b1", "g_w11 += x1 * g_a1",
                 "g_z1 = 0.0 + w1 * g_ŷ", "g_a1 = 0.0 + (1.0 - z1 * z1) * g_z1",
                 "E = 0.5 * (y - ŷ) * (y - ŷ)", "g_b1 += g_a1"]:
        assert line in lines, line
    forward = lines[lines.index("def part0(D, G):"):lines.index("yield")]
    assert sum(" = " in line and "D[" not in line for line in forward) == 6  # one per node
    backward = lines[lines.index("yield"):]
    terms = [line for line in backward if line.startswith("g_") and "G[" not in line]
    assert len(terms) == 1 + 2 + 5 + 2 * 1 + 2 * 5  # root, E's 2 operands, ŷ's 5, z's 1, a's 5


def test_names_that_are_not_identifiers_become_v_i() -> None:
    a = Value(1.0, "L0.N1.w0")
    b = Value(2.0, "print")
    c = Value(3.0, "g_x")
    d = Value(4.0, "x")
    e = Value(5.0, "x")  # a repeated label
    y = (a * b + c * a) * d * e + (b * c) * (d + e)  # each leaf used twice: loaded
    y.label = "for"
    source = compile(y).source
    assert "print =" not in source and "for =" not in source and "g_x =" not in source
    order = topological_order(y)
    for node in (a, b, c, d, e, y):
        assert re.search(rf"\bv{order.index(node)} = ", source), node


def test_user_ops_are_called_through_the_registry() -> None:
    x = Value(0.5, "x")
    graph = compile(apply("softsign", x) * x)
    assert "softsign_forward(x)" in graph.source and "softsign_derivative(x, " in graph.source
    check_replay(lambda xs: apply("softsign", xs[0]) * xs[0], [0.5], [-2.0])
    check_replay(lambda xs: apply("scaled_diff", xs[0], xs[1], scale=-0.5).tanh(), [1.0, 2.0],
                 [-3.0, 0.0])


def test_sync_restores_what_backward_leaves() -> None:
    def build(xs: Sequence[Value]) -> Value:
        a, b = xs
        h = (a * b).relu() + a.tanh()
        return h * h - b

    check_replay(build, [1.0, 2.0], [-0.5, 3.0], [0.0, 0.0])  # sync() is checked in there


def test_sync_before_a_call_changes_nothing() -> None:
    x = Value(2.0, "x")
    y = x * x
    graph = compile(y)
    x.data = 5.0
    graph.sync()
    assert (y.data, y.grad, y.local_grads) == (4.0, 0.0, (2.0, 2.0))


def test_a_leaf_root() -> None:
    x = Value(3.0, "x")
    graph = compile(x)
    assert graph() == 3.0 and x.grad == 1.0
    assert graph() == 3.0 and x.grad == 2.0  # as x.backward() twice


# ---- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [3.0, None, "x", [Value(1.0)]])
def test_compile_of_a_non_value_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="compile: root must be a Value"):
        compile(bad)


@pytest.mark.parametrize("bad", ["1.0", None, 1j, [1.0]])
def test_a_leaf_set_to_a_non_number_names_the_leaf(bad: Any) -> None:
    w, x = Value(0.5, "w"), Value(2.0, "x")
    y = (w * x).tanh() + w
    graph = compile(y)
    graph()
    before = (w.grad, x.grad)
    x.data = bad
    with pytest.raises(TypeError, match="leaf 'x'"):
        graph()
    assert (w.grad, x.grad) == before  # no grad half-updated


def test_a_domain_error_at_replay_is_the_ops_own() -> None:
    x = Value(2.0, "x")
    graph = compile(x.log() * x + x)
    x.data = 0.0
    with pytest.raises(ValueError, match="log: argument must be > 0"):
        graph()
    x.data = -0.0
    with pytest.raises(ValueError, match="log"):
        graph()
    assert x.grad == 0.0


def test_a_division_by_zero_at_replay() -> None:
    x, y = Value(2.0, "x"), Value(1.0, "y")
    graph = compile(y / x)
    x.data = 0.0
    with pytest.raises(ZeroDivisionError, match="div: division by zero"):
        graph()


def test_the_package_exports_compile() -> None:
    assert micrograd.compile is compile and micrograd.CompiledGraph is CompiledGraph
    graph = compile(Value(1.0) * 2.0)
    assert "CompiledGraph" in repr(graph)


# ---- train(compile=True) --------------------------------------------------------------


def train_both(make: Callable[[], Any], data: Any, engine: bool | str = True,
               **options: Any) -> tuple[Any, Any]:
    """train() with compile=engine and with compile=False from the same model: both results."""
    results = []
    for compiled in (engine, False):
        model = make()
        history = micrograd.train(model, data, compile=compiled, **options)
        results.append((history, [p.data for p in model.parameters()]
                        + [p.grad for p in model.parameters()]))
    return results[0], results[1]


def assert_same_training(make: Callable[[], Any], data: Any, **options: Any) -> Any:
    (history, params), (eager_history, eager_params) = train_both(make, data, **options)
    assert_same(history.losses, eager_history.losses, "losses")
    assert (history.epochs, history.reason) == (eager_history.epochs, eager_history.reason)
    assert same(history.max_grad, eager_history.max_grad)
    assert history.accuracy == eager_history.accuracy  # the accuracy pass is replayed too
    assert_same(params, eager_params, "parameters, then their grads")
    return history


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "step"])
def test_train_per_sample_is_bit_for_bit_the_eager_run(activation: str) -> None:
    history = assert_same_training(lambda: Net221(activation=activation), micrograd.data.xor,
                                   lr=0.5, epochs=300)
    assert history.epochs > 1 or activation == "step"


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("loss", ["hinge", "mse", "bce_with_logits"])
def test_train_an_mlp_is_bit_for_bit_the_eager_run(per_sample: bool, loss: str) -> None:
    points = micrograd.data.moons(16, noise=0.1, seed=0)
    if loss == "bce_with_logits":
        points = [(x, (y + 1) / 2) for x, y in points]
    history = assert_same_training(lambda: MLP(2, [6, 1], activation="relu", seed=3), points,
                                   loss=getattr(micrograd.nn, loss), lr=0.05, epochs=20,
                                   per_sample=per_sample)
    assert history.losses[-1] < history.losses[0]


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("optimizer", [None, "adam"])
def test_train_cross_entropy_on_classes_is_bit_for_bit_the_eager_run(
        per_sample: bool, optimizer: str | None) -> None:
    """Int class targets: cross_entropy picks the target's logit, one recording per class."""
    points = micrograd.data.spiral(6, classes=3, seed=1)
    history = assert_same_training(lambda: MLP(2, [8, 3], activation="tanh", seed=2), points,
                                   loss=micrograd.losses.cross_entropy, lr=0.05, epochs=15,
                                   per_sample=per_sample, optimizer=optimizer)
    assert history.losses[-1] < history.losses[0]


def count_recordings(monkeypatch: pytest.MonkeyPatch) -> list[Value]:
    """The roots train() records for its steps from now on (compiler.compile still compiles
    them; the accuracy pass's graph of the outputs, labelled "outputs", is not counted)."""
    recorded: list[Value] = []
    original = compiler.compile

    def counting(root: Value) -> CompiledGraph:
        if root.label != "outputs":
            recorded.append(root)
        return original(root)

    monkeypatch.setattr(compiler, "compile", counting)
    return recorded


def test_train_records_one_graph_per_target_and_rebuilds_past_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A loss not in TARGET_LEAF, all targets different: the first MAX_RECORDED are replayed,
    the rest rebuilt. XOR's two targets: two recordings."""
    recorded = count_recordings(monkeypatch)

    def squared(y_hat: Value, y: float) -> Value:
        return (y_hat - y) ** 2

    points = [((0.1 * i, 0.05 * i), 0.3 * i - 1.0) for i in range(30)]
    assert_same_training(lambda: Net221(activation="tanh"), points, loss=squared, lr=0.1,
                         epochs=5)
    assert len(recorded) == training.MAX_RECORDED
    recorded.clear()
    assert_same_training(lambda: Net221(activation="tanh"), micrograd.data.xor, lr=0.1,
                         epochs=50, loss=squared)
    assert len(recorded) == 2  # XOR has two targets, 0 and 1, each with its own graph


@pytest.mark.parametrize("loss", ["half_squared_error", "mse", "bce_with_logits"])
def test_regression_on_a_thousand_targets_replays_one_graph(
        monkeypatch: pytest.MonkeyPatch, loss: str) -> None:
    """A loss of TARGET_LEAF takes the target as a leaf: 1,000 distinct targets, one
    recording, bit for bit the eager run."""
    assert getattr(micrograd.losses, loss) in micrograd.losses.TARGET_LEAF
    recorded = count_recordings(monkeypatch)
    rng = random.Random(5)
    points = [((rng.uniform(-1, 1), rng.uniform(-1, 1)), rng.random()) for _ in range(1000)]
    assert len({t for _, t in points}) == 1000
    history = assert_same_training(lambda: MLP(2, [3, 1], activation="tanh", seed=4), points,
                                   loss=getattr(micrograd.losses, loss), lr=0.05, epochs=2)
    assert len(recorded) == 1
    assert history.losses[-1] < history.losses[0]
    leaves = {leaf.label for leaf in compiler.compile(recorded[0]).leaves}
    assert {"x1", "x2", "y"} <= leaves


def test_regression_with_list_targets_replays_one_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """mse on a model with two outputs and [y1, y2] targets: the targets are two leaves."""
    recorded = count_recordings(monkeypatch)
    rng = random.Random(6)
    points = [((rng.uniform(-1, 1),), [rng.uniform(-1, 1), rng.uniform(-1, 1)])
              for _ in range(40)]
    assert_same_training(lambda: MLP(1, [4, 2], activation="tanh", seed=1), points,
                         loss=micrograd.losses.mse, lr=0.05, epochs=3)
    assert len(recorded) == 1


def test_compile_true_trains_a_model_of_ones_own_bit_for_bit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """compile=True replays a user's Module (their promise: no branch on Value data);
    "auto" trains it eagerly, as it does not declare itself branch free."""
    recorded = count_recordings(monkeypatch)
    rng = random.Random(2)
    points = [((x,), 0.5 * x * x - x + 0.25) for x in (rng.uniform(-2, 2) for _ in range(50))]
    for per_sample in (True, False):
        history = assert_same_training(Quadratic, points, lr=0.05, epochs=30,
                                       per_sample=per_sample)
        assert history.losses[-1] < history.losses[0] / 10
    assert len(recorded) == 2  # one graph per sample (the target a leaf), one batch
    recorded.clear()
    assert_same_training(Quadratic, points, engine="auto", lr=0.05, epochs=3)
    assert recorded == []


def test_compile_true_replays_a_branch_free_loss_of_ones_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = count_recordings(monkeypatch)

    def absolute_ish(y_hat: Value, y: float) -> Value:
        return ((y_hat - y) * (y_hat - y) + 1e-3) ** 0.5

    assert_same_training(lambda: Net221(activation="tanh"), micrograd.data.xor,
                         loss=absolute_ish, lr=0.1, epochs=20)
    assert len(recorded) == 2


@pytest.mark.parametrize("bad", ["yes", 1, "AUTO", "NATIVE"])
def test_train_compile_takes_auto_true_false_or_native(bad: Any) -> None:
    with pytest.raises(ValueError, match="compile must be 'auto', True, False or 'native', got"):
        micrograd.train(Net221(), micrograd.data.xor, epochs=1, compile=bad)


@pytest.mark.parametrize("per_sample", [True, False])
def test_train_with_value_inputs_is_the_eager_run(per_sample: bool) -> None:
    """Inputs given as Values are leaves of the graph: their grads accumulate as eagerly."""
    def run(compiled: bool) -> tuple[list[float], list[float], list[float]]:
        inputs = [(Value(a, "a"), Value(b, "b")) for (a, b), _ in micrograd.data.xor()]
        points = [(x, y) for x, (_, y) in zip(inputs, micrograd.data.xor())]
        net = Net221(activation="tanh")
        history = micrograd.train(net, points, lr=0.1, epochs=10, per_sample=per_sample,
                                  compile=compiled)
        return (history.losses, [p.data for p in net.parameters()],
                [v.grad for x in inputs for v in x])

    replayed, eager = run(True), run(False)
    for got, expected, what in zip(replayed, eager, ["losses", "parameters", "input grads"]):
        assert_same(got, expected, what)
    assert any(g != 0.0 for g in eager[2])


def test_a_wide_batch_trains_as_eagerly() -> None:
    """The issue's crash: hinge over 3,000 points in one batch is one sum of 3,000 operands."""
    points = micrograd.data.moons(3000, noise=0.1, seed=0)
    assert_same_training(lambda: MLP(2, [2, 1], seed=0), points, loss=hinge, lr=0.1,
                         epochs=2, per_sample=False)


def test_train_with_a_loss_of_ones_own_rebuilds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A recorded graph would not follow this loss's branch on ŷ.data: "auto" rebuilds it."""
    monkeypatch.setattr(compiler, "compile", None)  # any recording would fail

    def branchy(y_hat: Value, y: float) -> Value:
        return (y_hat - y) ** 2 if y_hat.data > y else (y_hat - y) * 0.5

    assert_same_training(lambda: Net221(activation="tanh"), micrograd.data.xor, loss=branchy,
                         engine="auto", lr=0.1, epochs=20)


def test_train_a_bad_input_is_the_eager_error() -> None:
    for compiled in (True, False):
        with pytest.raises(TypeError, match="Value needs an int or float, got str"):
            micrograd.train(Net221(), [((0.0, 1.0), 1.0), ((0.0, "1"), 0.0)], epochs=2,
                            compile=compiled)
        with pytest.raises(TypeError, match="x2"):
            micrograd.train(Net221(), [((0.0, 1.0), 1.0), ((0.0,), 0.0)], epochs=2,
                            compile=compiled)


# ---- the command line ------------------------------------------------------------------


def test_explain_code_prints_the_generated_source(capsys: pytest.CaptureFixture[str]) -> None:
    from micrograd.__main__ import main

    assert main(["explain", "--code", "--activation", "sigmoid"]) == 0
    out = capsys.readouterr().out
    net = Net221(activation="sigmoid")
    assert compile(half_squared_error(net(1.0, 0.0), 1.0)).source in out
    assert "z1 = 1.0 / (1.0 + math.exp(-a1)) if a1 >= 0.0 else" in out
    assert "g_a1 = 0.0 + (z1 * (1.0 - z1)) * g_z1" in out
    assert out.rstrip().endswith("gives backward()'s gradient (largest difference 0.0e+00)")


def test_registers_are_reused_in_large_parts() -> None:
    """y = a·b + a·b + …: no sum or product is needed by the backward pass (+ passes its
    grad on, a·b's local grads are the leaves a and b), so a few registers hold them all."""
    a, b = Value(0.5, "a"), Value(-1.5, "b")
    y = a * b
    for _ in range(500):
        y = y + a * b
    source = compile(y).source.split("def part0")[1]
    registers = set(re.findall(r"\br\d+\b", source))
    assert 0 < len(registers) < 10
    assert not re.search(r"\bv\d+\b", source)
    check_replay(lambda xs: xs[0] * xs[1] + (xs[0] * xs[1] + xs[0] * xs[1]) * 0.5, [1.0, 2.0],
                 [3.0, -1.0])
    x = Value(1.0, "x")
    small = compile(x.tanh() * 2.0).source  # a small graph keeps the drawings' names
    assert "v0 = " in small and not re.search(r"\br\d+\b", small)


def test_compile_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    x = Value(1.0, "x")
    assert gc.isenabled()
    compile(x * 2.0)
    assert gc.isenabled()
    gc.disable()
    try:
        compile(x * 2.0)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_traceback_shows_the_generated_line() -> None:
    """A user op's derivative that raises at replay: the traceback quotes the generated code."""
    import traceback

    def fragile_grad(x: float, out: float) -> float:
        if x > 10:
            raise ArithmeticError("fragile: no derivative above 10")
        return 2.0

    ops.register("fragile", lambda x: 2.0 * x, fragile_grad)
    try:
        x = Value(1.0, "x")
        graph = compile(apply("fragile", x) * x)
        x.data = 11.0
        with pytest.raises(ArithmeticError) as info:
            graph()
        text = "".join(traceback.format_exception(info.value))
        assert "micrograd-compiled-" in text
        assert "d_v1 = fragile_derivative(x, v1)" in text  # called beside its forward
        assert x.grad == 0.0
    finally:
        ops.unregister("fragile")


# ---- the edges: any graph backward() handles, with its numbers and its errors -------------


def test_a_sum_of_100k_operands_compiles_and_replays() -> None:
    xs = [Value(0.001 * (i % 997) - 0.4, f"x{i}") for i in range(100_000)]
    y = Value.sum(xs) * 0.5
    graph = compile(y)
    xs[0].data, xs[-1].data = 3.0, -2.0
    result = graph()
    fresh = [Value(x.data) for x in xs]
    z = Value.sum(fresh) * 0.5
    z.backward()
    assert same(result, z.data)
    assert all(x.grad == 0.5 for x in xs) and all(f.grad == 0.5 for f in fresh)


def test_a_linear_node_of_100k_operands_compiles_and_replays() -> None:
    rng = random.Random(3)
    ws = [Value(rng.uniform(-1, 1)) for _ in range(50_000)]
    xs = [Value(rng.uniform(-1, 1)) for _ in range(50_000)]
    b = Value(0.25, "b")
    y = Value.linear(ws, xs, b).tanh()
    graph = compile(y)
    result = graph()
    fw, fx, fb = [Value(w.data) for w in ws], [Value(x.data) for x in xs], Value(0.25)
    z = Value.linear(fw, fx, fb).tanh()
    z.backward()
    assert same(result, z.data)
    assert_same([w.grad for w in ws] + [x.grad for x in xs] + [b.grad],
                [w.grad for w in fw] + [x.grad for x in fx] + [fb.grad], "grads")


def test_cross_entropy_over_30k_logits_compiles_and_replays() -> None:
    rng = random.Random(4)
    logits = [Value(rng.gauss(0, 3)) for _ in range(30_000)]
    graph = compile(micrograd.losses.cross_entropy(logits, 12_345))
    result = graph()
    fresh = [Value(z.data) for z in logits]
    e = micrograd.losses.cross_entropy(fresh, 12_345)
    e.backward()
    assert same(result, e.data)
    assert_same([z.grad for z in logits], [z.grad for z in fresh], "logit grads")


@pytest.mark.parametrize("name", ["ℯxp", "ｓｏｆｔ", "ﬁt", "café"])
def test_an_op_name_must_be_plain_ascii(name: str) -> None:
    """Python reads identifiers after NFKC: ℯxp would call exp, ｓｏｆｔ a NameError."""
    with pytest.raises(ValueError, match="plain ASCII"):
        ops.register(name, lambda x: 3.0 * x, lambda x, out: 3.0)
    assert name not in ops.names()


def test_labels_that_read_alike_after_nfkc_keep_apart() -> None:
    """ℌ and H, ﬁ and fi name different nodes; the code must not merge them."""
    def build(xs: Sequence[Value]) -> Value:
        a, b, c, d = xs
        a.label, b.label, c.label, d.label = "ℌ", "H", "ﬁ", "fi"
        return (a * 2.0 + b) * (c - d * 3.0)

    check_replay(build, [1.0, 2.0, 3.0, 4.0], [0.5, -1.5, 2.5, -3.5])
    x = [Value(1.0, "ℌ"), Value(2.0, "H")]
    assert "H = " not in compile(x[0] * x[1]).source


def test_int_leaf_data_give_the_eager_products() -> None:
    """2**53 + 1 has no float: eagerly, an op gets the int itself (int arithmetic)."""
    def build(a: Value, b: Value) -> Value:
        return (a * a + a * b).tanh() * 0.5 + a * b

    a, b = Value(1.0, "a"), Value(1.0, "b")
    graph = compile(build(a, b))
    a.data, b.data = 2**53 + 1, 3
    result = graph()
    c, d = Value(1.0), Value(1.0)
    c.data, d.data = 2**53 + 1, 3  # as a user sets them, then builds: eager
    e = build(c, d)
    e.backward()
    assert result == e.data and (a.grad, b.grad) == (c.grad, d.grad)
    assert result != build(Value(float(2**53 + 1)), Value(3.0)).data  # the int mattered
    graph.sync()
    assert_same([n.data for n in topological_order(graph.root)][:3],
                [n.data for n in topological_order(e)][:3], "synced data")


def test_bool_leaf_data_work_as_eagerly() -> None:
    a, b = Value(0.5, "a"), Value(2.0, "b")
    graph = compile((a * b).sigmoid() + a)
    a.data = True
    result = graph()
    c = Value(0.5)
    c.data = True
    e = (c * Value(2.0)).sigmoid() + c
    e.backward()
    assert result == e.data and a.grad == c.grad
    a.data = 0.25  # back to floats: the generated code again
    assert graph() == ((Value(0.25) * 2.0).sigmoid() + 0.25).data


@pytest.mark.parametrize(("build", "error"), [
    (lambda x, y, z: x.log() + y / z, ValueError),  # the log is made first: its error
    (lambda x, y, z: y / z + x.log(), ZeroDivisionError),
    (lambda x, y, z: (y / z).tanh() * x.log(), ZeroDivisionError),
    (lambda x, y, z: Value.sum([x.log() * y, y / z]), ValueError),
])
def test_when_two_ops_fail_the_first_made_raises_as_eagerly(build: Any, error: type) -> None:
    x, y, z = Value(1.0, "x"), Value(2.0, "y"), Value(4.0, "z")
    graph = compile(build(x, y, z))
    x.data, z.data = 0.0, 0.0
    with pytest.raises(error) as compiled_error:
        graph()
    with pytest.raises(error) as eager_error:
        a, c = Value(1.0), Value(1.0)
        a.data, c.data = 0.0, 0.0
        build(a, Value(2.0), c)
    assert str(compiled_error.value) == str(eager_error.value)
    assert (x.grad, y.grad, z.grad) == (0.0, 0.0, 0.0)


class Refused(Exception):
    pass


def test_a_user_op_runs_once_per_node_and_its_error_surfaces_unchanged() -> None:
    calls: Counter[str] = Counter()
    failure = Refused("no")

    def forward(x: float) -> float:
        calls["forward"] += 1
        if x > 5:
            raise failure
        return 2.0 * x

    def derivative(x: float, out: float) -> float:
        calls["derivative"] += 1
        return 2.0

    ops.register("counted", forward, derivative)
    try:
        x = Value(1.0, "x")
        graph = compile(apply("counted", x) * apply("counted", x * 3.0))
        calls.clear()
        graph()
        assert calls == {"forward": 2, "derivative": 2}
        calls.clear()
        x.data = 2.0  # the second node fails: 6 > 5
        with pytest.raises(Refused) as info:
            graph()
        assert info.value is failure
        assert calls == {"forward": 2, "derivative": 1}  # as eagerly: each made node once
        assert x.grad == 2.0 * 2.0 * 3.0 * 2.0  # the first call's only
    finally:
        ops.unregister("counted")


@pytest.mark.parametrize("where", ["forward", "derivative"])
def test_a_user_ops_stop_iteration_surfaces_as_it_is(where: str) -> None:
    """Generated parts are generators, which turn StopIteration into RuntimeError: not here."""
    stop = StopIteration("done")

    def forward(x: float) -> float:
        if where == "forward" and x > 1:
            raise stop
        return x

    def derivative(x: float, out: float) -> float:
        if where == "derivative" and x > 1:
            raise stop
        return 1.0

    ops.register("stopping", forward, derivative)
    try:
        x = Value(0.5, "x")
        graph = compile(apply("stopping", x).tanh())
        x.data = 2.0
        with pytest.raises(StopIteration) as info:
            graph()
        assert info.value is stop
        with pytest.raises(StopIteration):
            apply("stopping", Value(2.0))  # eagerly too
    finally:
        ops.unregister("stopping")


def test_a_registry_change_after_compile_is_refused() -> None:
    ops.register("triple", lambda x: 3.0 * x, lambda x, out: 3.0)
    try:
        x = Value(1.0, "x")
        graph = compile(apply("triple", x) + x)
        assert graph() == 4.0
        ops.unregister("triple")
        with pytest.raises(compiler.RegistryChanged, match="'triple' was unregistered"):
            graph()
        ops.register("triple", lambda x: 4.0 * x, lambda x, out: 4.0)
        with pytest.raises(compiler.RegistryChanged, match=r"registered anew.*compile the graph"):
            graph()
        with pytest.raises(compiler.RegistryChanged):
            graph.sync()
        assert x.grad == 4.0  # the first call's only: 3 + 1
        assert compile(apply("triple", x) + x)() == 5.0
    finally:
        ops.unregister("triple")


def test_compiling_is_linear_in_width() -> None:
    """A wide node's code grows with its operands, not their square (the old cost: 14 s)."""
    def source_size(n: int) -> int:
        return len(compile(Value.sum([Value(float(i)) for i in range(n)])).source)

    small, large = source_size(5_000), source_size(50_000)
    assert large < 12 * small


# ---- "auto" vouches for what runs, not for the class that defines __call__ (issue 29) ----


def branchy(a: Value) -> Value:
    """An activation of one's own that branches on Value data: a recorded graph freezes it."""
    return a.tanh() if a.data > 0 else a * 0.25


class Helped(Module):
    """Declares branch_free for its own code: __call__ delegates to a helper method."""

    branch_free = True

    def __init__(self) -> None:
        self.net = Net221(activation="tanh")

    def named_parameters(self) -> list[tuple[str, Value]]:
        return self.net.named_parameters()

    def helper(self, y: Value) -> Value:
        return y

    def __call__(self, x1: Any, x2: Any) -> Value:
        return self.helper(self.net(x1, x2))


class HelperOverridden(Helped):
    """Overrides only the helper, with a branch on Value data, and declares nothing."""

    def helper(self, y: Value) -> Value:
        return y * 2.0 if y.data > 0.5 else y


class BranchyLayer(micrograd.nn.Layer):
    """A layer of one's own whose __call__ branches on its outputs' data."""

    def __call__(self, *xs: Any) -> list[Value]:
        return [branchy(z) for z in super().__call__(*xs)]


def with_activation(make: Callable[[], Any]) -> Callable[[], Any]:
    def build() -> Any:
        net = make()
        for neuron in [net] if isinstance(net, Net221) else net.layers[0].neurons:
            neuron._activate = branchy  # an instance attribute: the code the call reaches
        return net
    return build


def with_layer() -> MLP:
    mlp = MLP(2, [4, 1], activation="tanh", seed=2)
    mlp.layers[0] = BranchyLayer(2, 4, "linear", seed=3)
    mlp.layers[0]._label("L0.")
    return mlp


class BranchyNeuron(micrograd.nn.Neuron):
    def __call__(self, *xs: Any) -> Value:
        return branchy(super().__call__(*xs))


def with_neuron() -> MLP:
    mlp = MLP(2, [3, 1], activation="tanh", seed=2)
    mlp.layers[0].neurons[1] = BranchyNeuron(2, "linear", seed=5)
    return mlp


UNVOUCHED: dict[str, Callable[[], Module]] = {
    "helper overridden": HelperOverridden,
    "Net221 activation attribute": with_activation(lambda: Net221(activation="tanh")),
    "MLP neurons' activation attribute": with_activation(
        lambda: MLP(2, [3, 1], activation="tanh", seed=1)),
    "sub-module replaced": with_layer,
    "one neuron replaced": with_neuron,
}


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("name", list(UNVOUCHED))
def test_auto_trains_unvouched_code_as_compile_false(name: str, per_sample: bool) -> None:
    """The code each call reaches branches on Value data, but no class that runs it declares
    branch_free: "auto" must give compile=False's floats (a replay gives others)."""
    make = UNVOUCHED[name]
    assert not micrograd.nn.vouched(make())
    points = [((math.cos(0.7 * i), math.sin(1.3 * i)), (i % 3) / 2) for i in range(12)]
    options = dict(lr=0.2, epochs=8, per_sample=per_sample)
    assert_same_training(make, points, engine="auto", **options)
    if per_sample:  # what a replay of this model would train: each branch frozen at sample 0
        replayed, eager = train_both(make, points, engine=True, **options)
        assert replayed[0].losses != eager[0].losses


class Declared(Helped):
    """Overrides the helper without a branch, and vouches for it."""

    branch_free = True

    def helper(self, y: Value) -> Value:
        return y * 0.5


def test_auto_replays_what_is_vouched_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package's models, a subclass overriding only what no call runs, a class that declares
    its own code, and an activation that is a user's registered op (a node: evaluated again)."""
    class Configured(MLP):
        def config(self) -> dict[str, Any]:
            return {**super().config(), "note": "mine"}

    ops.register("kinked", lambda x: x if x > 0 else 0.1 * x,
                 lambda x, out: (1.0 if x > 0 else 0.1,))
    try:
        points = [((math.cos(0.7 * i), math.sin(1.3 * i)), (i % 3) / 2) for i in range(12)]
        makes = [lambda: MLP(2, [3, 1], seed=1), lambda: Configured(2, [3, 1], seed=1),
                 Declared, lambda: MLP(2, [3, 1], activation="kinked", seed=1),
                 lambda: Net221(activation="kinked")]
        for make in makes:
            recorded = count_recordings(monkeypatch)
            assert micrograd.nn.vouched(make())
            assert_same_training(make, points, engine="auto", lr=0.2, epochs=4)
            assert recorded, make
    finally:
        ops.unregister("kinked")


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_a_full_batch_replays_one_samples_graph(monkeypatch: pytest.MonkeyPatch,
                                                loss: str) -> None:
    """Full batch under "auto" records a sample's graph (one per class for cross_entropy),
    never the batch's, whose recording cost many eager epochs (issue 29: 172 s vs 12 s), and
    replays it sample after sample: the batch graph's floats, bit for bit."""
    recorded = count_recordings(monkeypatch)
    points = micrograd.data.spiral(30, noise=0.1, seed=1)  # 3 classes, 90 points
    nouts = [5, 3] if loss == "cross_entropy" else [5, 1]
    if loss == "mse":
        points = [(x, float(y) - 1.0) for x, y in points]
    assert_same_training(lambda: MLP(2, nouts, activation="tanh", seed=2), points,
                         engine="auto", loss=getattr(micrograd.losses, loss), lr=0.1, epochs=4,
                         per_sample=False)
    assert len(recorded) == (3 if loss == "cross_entropy" else 1)
    one_sample = len(topological_order(micrograd.losses.mse(MLP(2, [5, 1])(0.0, 0.0), 0.0)))
    assert all(len(topological_order(root)) < 3 * one_sample for root in recorded)


@pytest.mark.parametrize("per_sample", [True, False])
def test_auto_runs_the_model_eagerly_only_to_record(monkeypatch: pytest.MonkeyPatch,
                                                    per_sample: bool) -> None:
    """The check pass before training and the accuracy pass after it are replayed too (issue
    29: they ran eagerly, so the first compiled epoch was no faster than an eager one): the
    model's Python runs once per recording, not once per sample."""
    calls = []
    original = MLP.__call__

    def counting(self: MLP, *xs: Any) -> Any:
        calls.append(xs)
        return original(self, *xs)

    monkeypatch.setattr(MLP, "__call__", counting)
    points = micrograd.data.spiral(20, noise=0.1, seed=2)  # 60 points, 3 classes
    history = micrograd.train(MLP(2, [4, 3], seed=1), points, loss=micrograd.losses.cross_entropy,
                              lr=0.1, epochs=2, per_sample=per_sample)
    assert history.accuracy is not None
    assert len(calls) == 3 + 1  # a graph per class, and the outputs' graph for the accuracy


BAD_LATER_SAMPLE = {
    "bce target out of [0, 1]": (micrograd.losses.bce_with_logits, ((1.0, 1.0), 2.0)),
    "bce target NaN": (micrograd.losses.bce_with_logits, ((1.0, 1.0), math.nan)),
    "a target that is text": (half_squared_error, ((1.0, 1.0), "1")),
    "a list target of the wrong length": (micrograd.losses.mse, ((1.0, 1.0), [0.0, 1.0])),
    "an input that is text": (half_squared_error, ((1.0, "1"), 0.0)),
    "one input too many": (half_squared_error, ((1.0, 1.0, 1.0), 0.0)),
    "a hinge target of 0": (hinge, ((1.0, 1.0), 0.0)),
}


@pytest.mark.parametrize("name", list(BAD_LATER_SAMPLE))
def test_the_replayed_check_pass_raises_as_the_eager_one(name: str) -> None:
    """The check pass before the first update replays (issue 29): a bad sample after good ones
    still raises the eager check's error, naming its index, with the model unchanged."""
    loss, bad = BAD_LATER_SAMPLE[name]
    good = [((0.1 * i, -0.2 * i), 1.0 if loss is hinge else 0.5) for i in range(5)]
    errors = []
    for engine in ("auto", False):
        model = MLP(2, [3, 1], activation="tanh", seed=1)
        before = model.state_dict()
        with pytest.raises((TypeError, ValueError)) as caught:
            micrograd.train(model, [*good, bad], loss=loss, epochs=2, compile=engine)
        assert model.state_dict() == before and all(p.grad == 0.0 for p in model.parameters())
        assert "train: raised by data[5], before any update" in caught.value.__notes__
        errors.append((type(caught.value), str(caught.value)))
    assert errors[0] == errors[1]


# ---- wide linear nodes, written as C loops over slices ----------------------------------


def _awkward(rng: random.Random, n: int) -> list[float]:
    return [rng.choice(SPECIAL) if rng.random() < 0.2 else rng.uniform(-2, 2) for _ in range(n)]


@pytest.mark.parametrize("pairs", [compiler.WIDE, 40])
def test_a_wide_linear_node_replays_bit_for_bit(pairs: int) -> None:
    """Weights and inputs as slices: values, every leaf's grad (accumulated), -0.0 and NaN."""
    rng = random.Random(pairs)

    def build(xs: Sequence[Value]) -> Value:
        w, x = xs[:pairs], xs[pairs:2 * pairs]
        a = Value.linear(w, x, xs[-1])
        b = Value.linear(w[::-1], x, 0.5)  # the inputs shared with a, read by a second node
        return (a.relu() * b + x[0] * 2.0).tanh()

    n = 2 * pairs + 1
    for _ in range(20):
        graph = check_replay(build, _awkward(rng, n), _awkward(rng, n), _awkward(rng, n))
    assert graph is not None and "_dot(D[" in graph.source and "_accumulate(G[" in graph.source


def test_a_linear_node_that_repeats_a_leaf_is_written_term_by_term() -> None:
    def build(xs: Sequence[Value]) -> Value:
        return Value.linear([xs[0]] * 20, xs[1:21], xs[21])

    graph = check_replay(build, [0.5] * 22, [float(i) for i in range(22)])
    assert graph is not None and "_dot" not in graph.source


@pytest.mark.parametrize("form", ["sum", "reduce"])
def test_dot_adds_left_to_right_as_linear_does(form: str) -> None:
    """Both forms of _dot (sum below 3.12, reduce from 3.12) give ops.linear's floats."""
    from functools import reduce
    from operator import add, mul
    rng = random.Random(1)
    for _ in range(200):
        w, x = _awkward(rng, 30), _awkward(rng, 30)
        dot = (sum(map(mul, w, x), -0.0) if form == "sum" else reduce(add, map(mul, w, x), -0.0))
        expected = ops.linear(*[v for pair in zip(w, x) for v in pair], -0.0)
        assert same(dot + -0.0, expected)
        assert same(compiler._dot(w, x) + -0.0, expected)
    assert same(compiler._dot([-0.0], [1.0]), -0.0)  # the product's sign of zero kept


# ---- the Trainer: a training step on lists --------------------------------------------------


def _trainer_run(optimizer: Callable[[list[Value]], micrograd.optim.Optimizer], compiled: bool,
                 samples: list[tuple[list[float], int]]) -> tuple[list[float], list[float],
                                                                  list[float], dict[str, Any]]:
    from micrograd.losses import cross_entropy
    model = MLP(20, [6, 3], seed=4)
    extra = Value(0.25, "unused")  # a parameter no graph reads: its grad is 0, still updated
    opt = optimizer([*model.parameters(), extra])
    losses = []
    if compiled:
        xs = [Value(0.0, f"x{i}") for i in range(20)]
        trainer = compiler.Trainer(opt)
        steps = {t: trainer.compile(cross_entropy(model(*xs), t)) for t in range(3)}
        with trainer:
            for x, t in samples:
                for leaf, v in zip(xs, x):
                    leaf.data = v
                losses.append(steps[t]())
    else:
        for x, t in samples:
            opt.zero_grad()
            loss = cross_entropy(model(*x), t)
            loss.backward()
            opt.step()
            losses.append(loss.data)
    params = opt.params
    return losses, [p.data for p in params], [p.grad for p in params], opt.state()


@pytest.mark.parametrize("make", [
    lambda ps: micrograd.SGD(ps, lr=0.1),
    lambda ps: micrograd.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: micrograd.Adam(ps, lr=0.01, weight_decay=0.1),
    lambda ps: micrograd.AdamW(ps, lr=0.01),
], ids=["sgd", "momentum", "adam", "adamw"])
def test_a_trainer_takes_the_eager_steps_bit_for_bit(make: Any) -> None:
    rng = random.Random(7)
    samples = [([rng.uniform(-1, 1) for _ in range(20)], rng.randrange(3)) for _ in range(12)]
    eager, replayed = _trainer_run(make, False, samples), _trainer_run(make, True, samples)
    for what, a, e in zip(("loss", "data", "grad"), replayed, eager):
        assert_same(a, e, what)
    assert replayed[3] == eager[3]  # the optimiser's state


def test_trainer_values_are_current_after_sync_and_not_before() -> None:
    from micrograd.losses import half_squared_error
    w, x = Value(2.0, "w"), Value(3.0, "x")
    trainer = compiler.Trainer(micrograd.SGD([w], lr=0.1))
    step = trainer.compile(half_squared_error(w * x, 1.0))
    assert step() == 12.5  # ½(1 - 6)²
    assert (w.data, w.grad) == (2.0, 0.0)  # the trainer owns w until sync()
    assert trainer.grads == [15.0]  # (ŷ - y)·x
    trainer.sync()
    assert (w.data, w.grad) == (2.0 - 0.1 * 15.0, 15.0)
    w.data = 1.0
    trainer.load()  # a value set by hand is taken again
    x.data = 2.0  # an input leaf: read at every step
    assert step() == 0.5
    trainer.sync()
    assert w.data == 1.0 - 0.1 * 2.0 and x.grad == 0.0  # an input's grad is not computed
    assert "G[0] = _first" not in step.source  # (a narrow graph keeps its per-term code)


def test_a_trainer_step_whose_loss_is_a_parameter_or_reads_none() -> None:
    """The loss a leaf: its grad is 1 (the second parameter here, not the first slot)."""
    a, b = Value(1.0, "a"), Value(2.0, "b")
    trainer = compiler.Trainer(micrograd.SGD([a, b], lr=0.5))
    assert trainer.compile(b)() == 2.0
    assert trainer.compile(Value(3.0) * 2.0)() == 6.0  # no parameter in the graph
    trainer.sync()
    assert (a.data, a.grad, b.data, b.grad) == (1.0, 0.0, 1.5, 0.0)  # b took 2.0 - 0.5·1


def test_a_trainer_refuses_what_it_cannot_replay() -> None:
    w = Value(1.0, "w")

    class Halving(micrograd.SGD):
        def step(self) -> None:
            for p in self.params:
                p.data /= 2

    with pytest.raises(TypeError, match="Halving must define update"):
        compiler.Trainer(Halving([w], lr=0.1))
    with pytest.raises(ValueError, match="parameter 1 is made by op 'mul'"):
        compiler.Trainer(micrograd.SGD([w, w * 2.0], lr=0.1))
    x = Value(1.0, "x")
    step = compiler.Trainer(micrograd.SGD([w], lr=0.1)).compile(w * x)
    x.data = "one"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="compiled step: leaf 'x'"):
        step()
    assert w.data == 1.0
