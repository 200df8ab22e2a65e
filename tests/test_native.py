"""compile(root, backend="native"): backward()'s floats, bit for bit, python nodes among the
native ones; errors as eager's; libm; the extra."""

from __future__ import annotations

import math
import random
import re
import struct
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from conftest import Recipe, build_graph, graph_recipes, require_module
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd
from micrograd import Value, apply, ops
from micrograd.losses import half_squared_error
from micrograd.nn import MLP
from micrograd.walk import walk

require_module("llvmlite")

from micrograd import native  # noqa: E402  (after the skip: it needs llvmlite)

FORMULAS: dict[str, Callable[[Any, Any], Any]] = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / (b² + 0.5)": lambda a, b: a / (b * b + 0.5),
    "3 - a": lambda a, b: 3 - a,
    "-a": lambda a, b: -a,
    "exp(a)": lambda a, b: a.exp(),
    "log(a² + 0.5)": lambda a, b: (a * a + 0.5).log(),
    "tanh(a)": lambda a, b: a.tanh(),
    "sigmoid(a)": lambda a, b: a.sigmoid(),
    "relu(a - b)": lambda a, b: (a - b).relu(),
    "sum(a, b, a)": lambda a, b: Value.sum([a, b, a]),
    "linear": lambda a, b: Value.linear([a, b], [b, 2.0], a),
    "linear1": lambda a, b: Value.linear([], [], a),
    "½(a - b)²": lambda a, b: apply("half_squared_error", a, b),
    "a³": lambda a, b: a**3,
    "step(a) + a": lambda a, b: a.step() + a,
    "leaky_relu(a)": lambda a, b: a.leaky_relu(0.1),
    # python nodes: computed by Python in the middle of the native forward
    "ce(a, b)": lambda a, b: apply("cross_entropy", a, b, target=1),
    "logsumexp(a, b)": lambda a, b: apply("logsumexp", a, b),
}


def bits(xs: Sequence[float]) -> list[str]:
    """Each float's exact bits (so -0.0 differs from 0.0 and NaN equals NaN)."""
    return [x.hex() for x in xs]


def check(build: Callable[[Sequence[Value]], Value], data: list[float],
          grads: list[float]) -> None:
    """A native replay's loss and leaf grads are backward()'s, bit for bit."""
    leaves = [Value(x) for x in data]
    root = build(leaves)
    graph = micrograd.compile(root, backend="native")
    assert isinstance(graph, native.NativeGraph)
    for leaf, g in zip(leaves, grads):
        leaf.grad = g
    for leaf in graph.leaves:
        if leaf not in leaves:
            leaf.grad = 0.0
    before = [leaf.grad for leaf in graph.leaves]
    loss = graph()
    replayed = [leaf.grad for leaf in graph.leaves]
    for leaf, g in zip(graph.leaves, before):
        leaf.grad = g
    root.backward()
    assert bits([loss]) == bits([root.data])
    assert bits(replayed) == bits([leaf.grad for leaf in graph.leaves])


@settings(max_examples=150, deadline=None)
@given(graph_recipes(FORMULAS, bound=3.0, max_steps=14),
       st.lists(st.sampled_from([0.0, -0.0]) | st.floats(-2, 2), min_size=4, max_size=4))
def test_random_graphs_native_bit_for_bit(recipe: Recipe, grads: list[float]) -> None:
    n = len(recipe[0])
    check(lambda leaves: build_graph(FORMULAS, recipe, leaves)[-1], recipe[0], grads[:n])


def test_mlp_sgd_steps_native_equal_eager() -> None:
    random.seed(3)
    eager_net, native_net = MLP(4, [8, 6, 1]), MLP(4, [8, 6, 1])
    for p, q in zip(eager_net.parameters(), native_net.parameters()):
        q.data = p.data
    xs = [Value(0.0) for _ in range(4)]
    y = Value(0.0)
    graph = micrograd.compile(half_squared_error(native_net(xs), y), backend="native")
    assert isinstance(graph, native.NativeGraph)
    for _ in range(5):
        sample = [random.uniform(-1, 1) for _ in range(4)]
        target = random.uniform(-1, 1)
        loss = half_squared_error(eager_net([Value(x) for x in sample]), target)
        eager_net.zero_grad()
        loss.backward()
        for x, v in zip(xs, sample):
            x.data = v
        y.data = target
        native_net.zero_grad()
        replayed = graph()
        assert replayed == loss.data
        for net in (eager_net, native_net):
            for p in net.parameters():
                p.data -= 0.1 * p.grad
        assert bits([p.data for p in native_net.parameters()]) == bits(
            [p.data for p in eager_net.parameters()])
        assert any(p.grad for p in native_net.parameters())


def test_sync_writes_interior_nodes() -> None:
    a, b = Value(0.7, "a"), Value(-1.3, "b")
    root = (a * b).tanh() + a
    graph = micrograd.compile(root, backend="native")
    graph()
    graph.sync()
    seen = [(n.data, n.grad, n.local_grads) for n in (root, root.children[0])]
    a.grad = b.grad = 0.0
    root.backward()
    assert seen == [(n.data, n.grad, n.local_grads) for n in (root, root.children[0])]
    assert "tanh(" in graph.source and "mul(" in graph.source


def test_the_tape_text_is_the_chain_rule_the_loops_run() -> None:
    # the backward lines of source, run as Python over the eager local grads, give backward()'s
    # leaf grads, bit for bit: the text is the loops' own order, not a paraphrase of it
    a, b = Value(0.7, "a"), Value(-1.3, "b")
    root = Value.sum([(a * b).tanh(), a.exp() / (b * b + 1.0), a * a]).relu()
    text = micrograd.compile(root, backend="native").source
    named = {name: node for node, name in walk(root).names.items()}
    L: dict[int, float] = {}
    for line in text.splitlines():
        found = re.fullmatch(r"D\[\d+\] = \w+\(.*\)  # (\S+), L\[(\d+)(?::(\d+))?\]", line)
        if found:
            name, s, e = found[1], int(found[2]), int(found[3] or int(found[2]) + 1)
            L.update(zip(range(s, e), named[name].local_grads))
    slot = {named[m[2]]: int(m[1]) for m in re.finditer(r"^D\[(\d+)\] = (\w+)$", text, re.M)}
    G: defaultdict[int, float] = defaultdict(float)
    exec(text[text.index("# backward"):], {"L": L, "G": G})
    root.backward()
    assert {a, b} < set(slot) and len(L) == sum(len(n.children) for n in named.values())
    assert bits([G[slot[a]], G[slot[b]]]) == bits([a.grad, b.grad]) and a.grad and b.grad


def test_op_errors_come_from_the_python_backend() -> None:
    x = Value(1.0)
    graph = micrograd.compile(Value(2.0) / x, backend="native")
    x.data = 0.0
    with pytest.raises(ZeroDivisionError, match="div"):
        graph()
    y = Value(1.0)
    graph = micrograd.compile(y.log(), backend="native")
    y.data = -1.0
    with pytest.raises(ValueError, match="log"):
        graph()


def test_a_user_op_is_a_python_node_in_the_native_graph() -> None:
    ops.register("cube_n", lambda x: x * x * x, lambda x, out: (3 * x * x,), formula="3{x}²")
    try:
        x, y = Value(0.5), Value(-1.25)
        root = ((apply("cube_n", x * y) + x) ** 3).leaky_relu(0.2) * y
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no whole-graph fallback
            graph = micrograd.compile(root, backend="native")
        assert isinstance(graph, native.NativeGraph)
        assert "cube_n(" in graph.source and "(Python)" in graph.source
        assert "exponent=3" in graph.source and "slope=0.2" in graph.source
        for a, b in ((0.5, -1.25), (0.9, 2.0), (-0.3, 0.7)):
            x.data, y.data = a, b
            x.grad = y.grad = 0.0
            loss = graph()
            replayed = (x.grad, y.grad)
            fx, fy = Value(a), Value(b)
            eager = ((apply("cube_n", fx * fy) + fx) ** 3).leaky_relu(0.2) * fy
            eager.backward()
            assert bits([loss, *replayed]) == bits([eager.data, fx.grad, fy.grad])
    finally:
        ops.unregister("cube_n")


def test_a_python_nodes_error_is_the_eager_engines() -> None:
    def fussy(x: float) -> float:
        if x > 1.0:
            raise ArithmeticError("fussy: x > 1")
        return x

    ops.register("fussy", fussy, lambda x, out: (1.0,))
    try:
        x = Value(0.5)
        graph = micrograd.compile(apply("fussy", x) * 2.0, backend="native")
        x.data = 3.0
        with pytest.raises(ArithmeticError, match="fussy: x > 1"):
            graph()
        x.data = 0.25
        assert graph() == 0.5 and x.grad == 2.0
    finally:
        ops.unregister("fussy")


def ulps(a: float, b: float) -> int:
    """How many doubles lie between a and b."""
    def key(x: float) -> int:
        n = struct.unpack("<q", struct.pack("<d", x))[0]
        return n if n >= 0 else -(n & 0x7FFFFFFFFFFFFFFF)
    return abs(key(a) - key(b))


def test_exp_log_tanh_zero_ulps_against_cpython_math() -> None:
    rng = random.Random(5)
    xs = [rng.uniform(-30, 30) for _ in range(3000)] + [rng.uniform(0, 2) for _ in range(1000)]
    leaves = [Value(x) for x in xs]
    nodes = [f(v) for v in leaves for f in (Value.exp, Value.tanh)]
    nodes += [v.log() for v in leaves if v.data > 0]
    graph = micrograd.compile(Value.sum(nodes), backend="native")
    graph()
    graph.sync()
    wanted = [f(x) for x in xs for f in (math.exp, math.tanh)] + [math.log(x) for x in xs if x > 0]
    assert sum(ulps(n.data, w) for n, w in zip(nodes, wanted)) == 0


@pytest.mark.usefixtures("no_llvmlite")
def test_missing_llvmlite_names_the_extra() -> None:
    with pytest.raises(ImportError, match=r"backend='native' needs llvmlite: pip install "
                       r"'micrograd-notes\[native\]'"):
        micrograd.compile(Value(1.0) * Value(2.0), backend="native")
    with pytest.raises(ImportError, match=r"micrograd-notes\[native\]"):
        micrograd.compiler.Trainer(micrograd.SGD([Value(1.0)], lr=0.1), backend="native")


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="backend"):
        micrograd.compile(Value(1.0) * Value(2.0), backend="fortran")


def test_int_leaf_data_take_the_python_path() -> None:
    x = Value(1.5)
    root = (x * x).tanh()
    graph = micrograd.compile(root, backend="native")
    x.data = 2  # an int: the eager engine's arithmetic
    x.grad = 0.0
    loss = graph()
    replayed = x.grad
    x.grad = 0.0
    eager = (Value(2) * Value(2)).tanh()
    assert loss == math.tanh(4.0) == eager.data
    root.backward()
    assert replayed == x.grad


def test_an_op_registered_anew_after_compile_is_refused() -> None:
    from micrograd.compiler import RegistryChanged, Trainer
    ops.register("twice_n", lambda x: 2.0 * x, lambda x, out: (2.0,))
    w = Value(1.0)
    graph = micrograd.compile(apply("twice_n", w), backend="native")
    step = Trainer(micrograd.SGD([w], lr=0.1), backend="native").compile(apply("twice_n", w))
    ops.unregister("twice_n")
    with pytest.raises(RegistryChanged, match="'twice_n' was unregistered"):
        graph()
    ops.register("twice_n", lambda x: 2.0 * x, lambda x, out: (2.0,))
    try:
        with pytest.raises(RegistryChanged, match="'twice_n' was registered anew"):
            step()
    finally:
        ops.unregister("twice_n")


def test_a_leaf_root() -> None:
    x = Value(2.5)
    x.grad = 1.0
    graph = micrograd.compile(x, backend="native")
    assert graph() == 2.5 and x.grad == 2.0  # backward() on a leaf: grad += 1
    assert graph.leaves == (x,)


@settings(max_examples=60, deadline=None)
@given(graph_recipes(FORMULAS, bound=3.0, max_steps=10), st.integers(1, 4))
def test_random_graphs_native_training_steps_are_eagers(recipe: Recipe, params: int) -> None:
    """A native Trainer's step on a random graph (its first leaves parameters, the others
    inputs given as x): the loss, the grads and the SGD update of eager's, bit for bit."""
    from micrograd.compiler import Trainer
    data = recipe[0]
    params = min(params, len(data))
    leaves = [Value(x) for x in data]
    root = build_graph(FORMULAS, recipe, leaves)[-1]
    trainer = Trainer(micrograd.SGD(leaves[:params], lr=0.25), backend="native")
    inputs = [leaf for leaf in leaves[params:] if leaf is not root]
    step = trainer.compile(root, inputs=inputs)
    loss = step([leaf.data for leaf in inputs])
    trainer.sync()
    replayed = [(p.data, p.grad) for p in leaves[:params]]
    for p, x in zip(leaves, data):
        p.data, p.grad = x, 0.0
    root.backward()
    micrograd.SGD(leaves[:params], lr=0.25).step()
    assert bits([loss]) == bits([root.data])
    assert bits([x for pair in replayed for x in pair]) == bits(
        [x for p in leaves[:params] for x in (p.data, p.grad)])


@pytest.mark.parametrize("x", [math.nan, -0.0, 0.0, math.inf, -math.inf, 1e-300, -2.5, 3.0])
def test_leaky_relu_and_step_in_the_loops_at_the_kink_and_nan(x: float) -> None:
    """leaky_relu has a native form, its slope read per node, and step: eager's floats."""
    def build(leaves: Sequence[Value]) -> Value:
        return (leaves[0].leaky_relu(0.3) * 2.0 + leaves[0].leaky_relu(0.05)
                + leaves[0].step() * 3.0)
    leaves = [Value(x)]
    assert "(Python)" not in micrograd.compile(build(leaves), backend="native").source
    check(build, [x], [0.0])


SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.5, -0.5, 1e-300,
           -1e-300, 1e300, -1e300, 7.0, -3.0]


@pytest.mark.parametrize("exponent", [0.0, -0.0, 1.0, 2.0, 3.0, -1.0, -2.0, -3.0, 0.5, -0.5,
                                      2.5, 1e300, -1e300, math.inf, -math.inf, math.nan,
                                      5e-324, 1023.0, 1025.0])
def test_pow_in_the_loops_is_eagers_everywhere(exponent: float) -> None:
    """pow has a native form (its exponent per node; libm's pow, as CPython's float ** calls
    it): its value and local grad are eager's on special values, and the same errors."""
    x = Value(2.0)
    graph = micrograd.compile(x**exponent, backend="native")
    assert "(Python)" not in graph.source
    for value in SPECIAL:
        x.data, x.grad = value, 0.0
        try:
            eager = Value(value) ** exponent
        except (ValueError, ZeroDivisionError) as err:
            with pytest.raises(type(err), match=re.escape(str(err))):
                graph()
            continue
        eager.backward()
        assert bits([graph(), x.grad]) == bits([eager.data, eager.children[0].grad]), value
