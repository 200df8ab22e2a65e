"""backward_steps and explain: the same numbers as backward(), the notes' chain rule in words."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import Value, apply
from micrograd._numbers import short
from micrograd.engine import topological_order
from micrograd.losses import half_squared_error
from micrograd.nn import Net221
from micrograd.trace import (
    BackwardStep,
    accepted,
    backward_steps,
    chain_paths,
    check,
    derivation,
    explain,
    explain_each,
)
from micrograd.walk import walk

PARAMS = {"w11": 0.5, "w12": -0.3, "w21": 0.8, "w22": 0.2, "b1": 0.1, "b2": -0.1,
          "w1": 0.7, "w2": -0.4, "b": 0.05}


def net221(activation: str = "tanh", x: tuple[float, float] = (1.0, -2.0), y: float = 1.0,
           params: dict[str, float] = PARAMS) -> dict[str, Value]:
    """The notes' 2-2-1 network for one sample, built as nn.Net221 builds it; every node by name."""
    n = {name: Value(v, name) for name, v in params.items()}
    n["x1"], n["x2"] = Value(x[0], "x1"), Value(x[1], "x2")
    for j in ("1", "2"):
        a = Value.linear([n[f"w{j}1"], n[f"w{j}2"]], [n["x1"], n["x2"]], n[f"b{j}"])
        a.label = f"a{j}"
        z = getattr(a, activation)()
        z.label = f"z{j}"
        n[f"a{j}"], n[f"z{j}"] = a, z
    n["ŷ"] = Value.linear([n["w1"], n["w2"]], [n["z1"], n["z2"]], n["b"])
    n["ŷ"].label = "ŷ"
    n["E"] = apply("half_squared_error", n["ŷ"], y)
    n["E"].label = "E"
    return n


F_PRIME = {
    "tanh": lambda a: 1.0 - math.tanh(a) ** 2,
    "sigmoid": lambda a: (1.0 / (1.0 + math.exp(-a))) * (1.0 - 1.0 / (1.0 + math.exp(-a))),
    "relu": lambda a: 1.0 if a > 0 else 0.0,
}


# ---- random graphs with shared subexpressions ----------------------------------------

OPS = ("add", "sub", "mul", "square", "tanh", "sigmoid", "relu", "scale", "rsub", "linear",
       "sum", "pow2", "leaky")

programs = st.tuples(
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4),  # leaf values
    st.lists(
        st.tuples(st.sampled_from(OPS), st.integers(0, 10**6), st.integers(0, 10**6),
                  st.integers(0, 10**6), st.floats(-3, 3, allow_nan=False)),
        min_size=1, max_size=20,
    ),
)


def combine(op: str, a: Value, b: Value, d: Value, c: float) -> Value:
    """One step of a random program: op applied to earlier nodes a, b, d and a number c."""
    table = {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
        "square": lambda: a * a, "tanh": a.tanh, "sigmoid": a.sigmoid, "relu": a.relu,
        "scale": lambda: a * c, "rsub": lambda: c - a,
        "linear": lambda: Value.linear([a, b], [d, a], c),
        "sum": lambda: Value.sum([a, b, d, a]), "pow2": lambda: a**2,
        "leaky": lambda: a.leaky_relu(0.1),
    }
    return table[op]()


def build(program: tuple[list[float], list[tuple]]) -> tuple[Value, list[Value]]:
    """A graph from a program: each step combines earlier nodes, so nodes are shared."""
    leaves, steps = program
    nodes = [Value(v, f"x{i}") for i, v in enumerate(leaves)]
    for op, i, j, k, c in steps:
        pick = [nodes[n % len(nodes)] for n in (i, j, k)]
        nodes.append(combine(op, *pick, c))
    root = nodes[-1] if len(nodes) < 3 else Value.sum(nodes[-3:])
    return root, nodes


def same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def explained_total(text: str) -> float:
    """The number explain() ends with (0 or 1 for the special cases)."""
    first = text.splitlines()[0]
    if " = 0: " in first:
        return 0.0
    if first.endswith(" = 1 (the seed of the backward pass)"):
        return 1.0
    return float(text.splitlines()[-1].rsplit(" = ", 1)[1])


# ---- backward_steps ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(programs)
def test_backward_steps_leave_exactly_the_grads_of_backward(program):
    root_a, nodes_a = build(program)
    root_b, nodes_b = build(program)
    for _ in range(2):  # a second pass: leaves accumulate, interior nodes are reset
        root_a.backward()
        steps = list(backward_steps(root_b))
        for a, b in zip([*nodes_a, root_a], [*nodes_b, root_b]):
            assert same_float(a.grad, b.grad), (a, b)
    interior = topological_order(root_b, leaves=False)
    assert [s.node for s in steps] == interior
    for step in steps:
        assert same_float(step.grad_output, step.node.grad)  # complete when visited
        assert [u.child for u in step.updates] == list(step.node.children)
        for u, local in zip(step.updates, step.node.local_grads):
            assert same_float(u.local_grad, local)
            assert same_float(u.contribution, local * step.grad_output)


def test_backward_steps_is_lazy_so_a_debugger_can_step_through_it():
    n = net221()
    steps = backward_steps(n["E"])
    assert n["ŷ"].grad == 0.0  # nothing runs before the first step
    first = next(steps)
    assert isinstance(first, BackwardStep) and first.node is n["E"] and first.grad_output == 1.0
    assert n["ŷ"].grad == n["ŷ"].data - 1.0  # ∂E/∂ŷ = ŷ - y
    assert n["w11"].grad == 0.0  # not reached yet
    rest = list(steps)
    assert [s.name for s in rest] == ["ŷ", "z1", "a1", "z2", "a2"]
    n2 = net221()
    n2["E"].backward()
    for name in PARAMS:
        assert n[name].grad == n2[name].grad


def test_backward_step_records_print_readably():
    n = net221()
    steps = {s.name: s for s in backward_steps(n["E"])}
    e = str(steps["E"]).splitlines()
    assert e[0] == "E (½(y-ŷ)²) grad=1:"
    d = n["ŷ"].data - 1.0
    assert e[1] == f"  ŷ += {d:.4g}·1 = {d:.4g} → grad {d:.4g}   (∂E/∂ŷ = ŷ - 1)"
    a1 = steps["a1"]
    text = str(a1)
    lines = text.splitlines()
    assert len(lines) == 1 + 5  # a header and one line per child: w11 x1 w12 x2 b1
    assert lines[0] == f"a1 (Σw·x+b) grad={a1.grad_output:.4g}:"
    g = f"{a1.grad_output:.4g}"
    g = f"({g})" if g.startswith("-") else g
    w11 = a1.updates[0]
    assert w11.name == "w11" and w11.local_grad == 1.0 and w11.contribution == a1.grad_output
    assert lines[1] == (f"  w11 += 1·{g} = {w11.contribution:.4g} → grad {w11.grad:.4g}"
                        "   (∂a1/∂w11 = x1)")
    assert "(∂a1/∂x1 = w11)" in lines[2] and "(∂a1/∂b1 = 1)" in lines[5]
    assert "Value(" not in text


def test_backward_steps_of_a_leaf_only_seeds_it():
    x = Value(2.0, "x")
    assert list(backward_steps(x)) == []
    assert x.grad == 1.0


# ---- explain ---------------------------------------------------------------------------


# The registry's formula of f'(a1) at z1 = f(a1), in a product.
FORMULAS = {"tanh": "(1 - z1²)", "sigmoid": "z1·(1 - z1)", "relu": "(1 if a1 > 0 else 0)"}


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_explain_w11_reads_like_the_notes(activation):
    n = net221(activation)
    text = explain(n["E"], n["w11"])
    n["E"].backward()
    yh, w1, a1, x1 = n["ŷ"].data, n["w1"].data, n["a1"].data, n["x1"].data
    hand = (yh - 1.0) * w1 * F_PRIME[activation](a1) * x1  # the notes' formula, sign corrected
    numbers = "·".join(f"({v:.4g})" for v in (yh - 1.0, w1, F_PRIME[activation](a1), x1))
    assert text == (
        "∂E/∂w11 = ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂w11"
        f" = (ŷ - 1)·w1·{FORMULAS[activation]}·x1 = {numbers} = {n['w11'].grad!r}"
    )
    assert explained_total(text) == n["w11"].grad
    assert explained_total(text) == pytest.approx(hand, rel=1e-12, abs=1e-15)


def test_explain_all_nine_partials_match_backward_and_the_hand_formulas():
    n = net221("sigmoid", x=(0.3, -1.2), y=0.0)
    texts = {p: explain(n["E"], n[p]) for p in PARAMS}
    n["E"].backward()
    yh, z1, z2 = n["ŷ"].data, n["z1"].data, n["z2"].data
    fa1, fa2 = F_PRIME["sigmoid"](n["a1"].data), F_PRIME["sigmoid"](n["a2"].data)
    x1, x2, w1, w2, d = 0.3, -1.2, PARAMS["w1"], PARAMS["w2"], yh - 0.0
    hand = {"w11": d * w1 * fa1 * x1, "w12": d * w1 * fa1 * x2, "b1": d * w1 * fa1,
            "w21": d * w2 * fa2 * x1, "w22": d * w2 * fa2 * x2, "b2": d * w2 * fa2,
            "w1": d * z1, "w2": d * z2, "b": d}
    for p, text in texts.items():
        assert explained_total(text) == n[p].grad, p
        assert explained_total(text) == pytest.approx(hand[p], rel=1e-12), p
    assert texts["w1"].startswith("∂E/∂w1 = ∂E/∂ŷ · ∂ŷ/∂w1 = (ŷ - 0)·z1 = ")
    assert texts["b2"].startswith("∂E/∂b2 = ∂E/∂ŷ · ∂ŷ/∂z2 · ∂z2/∂a2 · ∂a2/∂b2 = ")


def test_explain_an_input_sums_two_paths():
    n = net221()
    text = explain(n["E"], n["x1"])
    lines = text.splitlines()
    assert lines[0].startswith("∂E/∂x1 = sum over the 2 paths from E to x1")
    assert lines[1].startswith(
        "  path 1: ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂x1 = (ŷ - 1)·w1·(1 - z1²)·w11 = ")
    assert lines[2].startswith(
        "  path 2: ∂E/∂ŷ · ∂ŷ/∂z2 · ∂z2/∂a2 · ∂a2/∂x1 = (ŷ - 1)·w2·(1 - z2²)·w21 = ")
    n["E"].backward()
    assert explained_total(text) == n["x1"].grad
    products = [p.product for p in chain_paths(n["E"], n["x1"])]
    assert len(products) == 2 and sum(products) == pytest.approx(n["x1"].grad, rel=1e-12)


@settings(max_examples=150, deadline=None)
@given(programs, st.integers(0, 10**6))
def test_explain_total_equals_backward_on_random_graphs(program, pick):
    root, nodes = build(program)
    wrt = nodes[pick % len(nodes)]
    text = explain(root, wrt, max_paths=5)
    found = derivation(root, wrt, max_paths=5)  # the same text, and the total as a float
    assert str(found) == found.text == text and type(found.total) is float
    root.backward()
    expected = 1.0 if wrt is root else wrt.grad
    assert same_float(explained_total(text), expected), text
    assert same_float(found.total, expected), text
    paths = list(islice(chain_paths(root, wrt), 3001))
    if len(paths) <= 3000 and math.isfinite(expected) and wrt is not root:
        products = [p.product for p in paths]
        if all(math.isfinite(p) for p in products):
            scale = sum(abs(p) for p in products)
            assert abs(sum(products) - expected) <= 1e-12 * scale + 1e-300
        if len(paths) > 1:
            assert f"sum over the {len(paths)} paths" in text.splitlines()[0]


def test_derivation_of_the_root_and_of_a_node_outside_the_graph():
    x, stranger = Value(2.0, "x"), Value(5.0, "s")
    y = x * x
    y.label = "y"
    assert (derivation(y, y).total, str(derivation(y, y))) == (
        1.0, "∂y/∂y = 1 (the seed of the backward pass)")
    assert derivation(y, stranger).total == 0.0
    assert str(derivation(y, stranger)).startswith("∂y/∂s = 0: s is not in the graph of y")
    assert derivation(y, x).total == 4.0  # 2·x, summed over the two paths


def test_explain_caps_the_paths_shown_but_sums_them_all():
    x = Value(3.0, "x")
    y = x
    for _ in range(100):
        y = y + y  # each step doubles the number of paths: 2**100 in all
    t0 = time.perf_counter()
    text = explain(y, x, max_paths=3)
    assert time.perf_counter() - t0 < 2.0
    lines = text.splitlines()
    assert lines[0].startswith(f"∂v0/∂x = sum over the {2**100} paths from v0 to x")
    assert [ln.split(":")[0] for ln in lines[1:4]] == ["  path 1", "  path 2", "  path 3"]
    hidden = 2**100 - 3
    assert lines[4] == f"  … {hidden} more paths summed into the total but not shown (max_paths=3)"
    assert lines[5] == f"∂v0/∂x = 1 + 1 + 1 + ({hidden} more) = {2.0**100!r}"
    assert max(len(ln) for ln in lines) < 400  # a 100-edge path is shown elided
    y.backward()
    assert explained_total(text) == x.grad == 2.0**100


def test_explain_counts_both_edges_of_x_times_x():
    x = Value(3.0, "x")
    text = explain(x * x, x)
    assert text.splitlines()[1:] == [
        "  path 1: ∂v0/∂x = x = 3",
        "  path 2: ∂v0/∂x = x = 3",
        "∂v0/∂x = 3 + 3 = 6.0",
    ]


def test_unlabelled_nodes_get_stable_names():
    def graph() -> tuple[Value, Value]:
        a, b = Value(2.0), Value(-3.0)
        return (a * b + a).tanh() * a, a

    first, second = explain(*graph()), explain(*graph())
    assert first == second
    # v0 = t·a, v1 = t = tanh(v2), v2 = v3 + a, v3 = a·b, v4 = b, v5 = a; formulas write
    # the unlabelled leaves a and b as their numbers
    assert "  path 1: ∂v0/∂v1 · ∂v1/∂v2 · ∂v2/∂v3 · ∂v3/∂v5 = 2·(1 - v1²)·1·(-3) = " in first
    assert "  path 3: ∂v0/∂v5 = v1 = " in first
    assert [s.name for s in backward_steps(graph()[0])] == ["v0", "v1", "v2", "v3"]


def test_repeated_labels_are_told_apart():
    a, b = Value(2.0, "p"), Value(5.0, "p")
    text = explain(a * b, a)
    assert text == "∂v0/∂p#1 = p#2 = 5.0"


@pytest.mark.parametrize(("make", "want"), [
    (lambda x: x * 0.5, "∂v0/∂x = 0.5"),  # the issue's: was ∂v0/∂x = ∂v0/∂x = 0.5 = (0.5) = 0.5
    (lambda x: x * -0.5, "∂v0/∂x = -0.5"),
    (lambda x: x + 1.0, "∂v0/∂x = 1.0"),
    (lambda x: x * Value(4.0, "y"), "∂v0/∂x = y = 4.0"),
    (lambda x: x.tanh(), "∂v0/∂x = 1 - v0² = 0.07065082485316443"),
    (lambda x: x.log(), "∂v0/∂x = 1/x = 0.5"),
    (lambda x: (x * 3.0).exp(), "∂v0/∂x = ∂v0/∂v1 · ∂v1/∂x = v0·3 = (403.4)·(3) = "
                                "1210.2863804782053"),
])
def test_a_one_step_derivative_says_each_thing_once(make: Callable[[Value], Value],
                                                   want: str) -> None:
    x = Value(2.0, "x")
    assert explain(make(x), x) == want


def test_explain_special_cases_and_bad_arguments():
    n = net221()
    assert explain(n["E"], n["E"]) == "∂E/∂E = 1 (the seed of the backward pass)"
    stranger = Value(1.0, "s")
    assert explain(n["E"], stranger).startswith("∂E/∂s = 0: s is not in the graph of E")
    assert list(chain_paths(n["E"], stranger)) == []
    assert explain(n["E"], n["w11"], max_paths=0).splitlines()[1] == (
        "  … 1 more path summed into the total but not shown (max_paths=0)"
    )
    with pytest.raises(ValueError, match="max_paths"):
        explain(n["E"], n["w11"], max_paths=-1)
    with pytest.raises(TypeError, match="wrt must be a Value"):
        explain(n["E"], 1.0)
    with pytest.raises(TypeError, match="root must be a Value"):
        explain(2.0, n["w11"])


def test_deep_chains_need_no_recursion():
    x = Value(1.0, "x")
    y = x
    for _ in range(20_000):  # far deeper than Python's recursion limit
        y = y * 1.0000001
    t0 = time.perf_counter()
    text = explain(y, x)
    steps = sum(1 for _ in backward_steps(y))
    assert time.perf_counter() - t0 < 5.0
    assert steps == 20_000
    assert "…(19988 more)…" in text
    assert explained_total(text) == x.grad


# ---- explain_each: every node's explanation from one pass ------------------------------


def shown_by_depth_first_walk(root: Value, wrt: Value, max_paths: int) -> list[str]:
    """The paths explain shows, as chain_paths' explicit-stack walk of every path finds them."""
    return [f"  path {k}: {p}" for k, p in enumerate(islice(chain_paths(root, wrt), max_paths), 1)]


@settings(max_examples=100, deadline=None)
@given(programs, st.integers(0, 4))
def test_explain_each_is_explain_of_each_node_and_shows_the_depth_first_paths(program, k):
    root, _ = build(program)
    everything = topological_order(root)
    texts = explain_each(root, everything, max_paths=k)
    assert texts == [explain(root, node, max_paths=k) for node in everything]
    for node, text in zip(everything, texts):
        lines = text.splitlines()
        if "sum over the" in lines[0]:  # several paths: each shown is chain_paths' in its order
            assert [ln for ln in lines if ln.startswith("  path ")] == \
                shown_by_depth_first_walk(root, node, k)
        elif node is not root:
            (path,) = chain_paths(root, node)
            assert text.split(" = ", 1)[1] == path.equation(repr(path.product)) or \
                explained_total(text) == path.product


def test_explain_each_elides_long_paths_as_chain_paths_does():
    x = Value(0.5, "x")
    y = x
    for i in range(30):  # two paths of 30+ edges to x, and one to each w<i>
        y = (y * Value(0.9, f"w{i}")).tanh() + y * 0.1
    texts = explain_each(y, [x, *(n for n in topological_order(y) if n.label.startswith("w"))])
    first = [str(p) for p in islice(chain_paths(y, x), 20)]
    assert [ln.split(": ", 1)[1] for ln in texts[0].splitlines()[1:21]] == first
    assert any("more)…" in p for p in first)
    y.backward()
    assert explained_total(texts[0]) == x.grad


def test_explaining_every_leaf_of_a_long_chain_takes_linear_time():
    """The page explains every leaf: 10 times the nodes must cost about 10 times the time."""
    def chain(n: int) -> tuple[Value, list[Value]]:
        y = Value(1.0, "x")
        for _ in range(n):
            y = y * 0.999 + 0.001
        return y, [node for node in topological_order(y) if node.is_leaf]

    seconds = []
    for n in (2_000, 20_000):
        root, leaves = chain(n)
        t0 = time.perf_counter()
        texts = explain_each(root, leaves, max_paths=6)
        seconds.append(time.perf_counter() - t0)
        assert len(texts) == 2 * n + 1
    assert seconds[1] < 30 * seconds[0] + 0.5, seconds  # quadratic would be 100 times


# ---- check: a hand derivation, node by node ----------------------------------------------


def net221_loss() -> tuple[Net221, Value, dict[str, Value]]:
    """The main job's sample: Net221 (tanh), E = ½(y − ŷ)² at x = (1, 0), y = 1; nodes by name."""
    net = Net221("tanh")
    loss = half_squared_error(net(1.0, 0.0), 1.0)
    return net, loss, {name: node for node, name in walk(loss).names.items()}


def hand_221(n: dict[str, Value]) -> dict[str, float]:
    """The notes' derivation of ∂E/∂w11, sign corrected, in plain floats from the nodes' data."""
    d = n["ŷ"].data - 1.0  # ∂E/∂ŷ = ŷ − y
    dz1 = d * n["w1"].data  # ∂ŷ/∂z1 = w1
    da1 = dz1 * (1.0 - n["z1"].data ** 2)  # ∂z1/∂a1 = tanh'(a1) = 1 − z1²
    return {"E": 1.0, "ŷ": d, "z1": dz1, "a1": da1, "w11": da1 * n["x1"].data}


def test_check_passes_a_right_derivation_even_worked_from_4_digit_numbers():
    _, loss, n = net221_loss()
    hand = hand_221(n)
    before = [node.grad for node in n.values()]
    report = check(loss, hand)
    assert report.ok and report.first_wrong is None and report.mistake is None
    assert [m.name for m in report.marks] == ["E", "ŷ", "z1", "a1", "w11"]  # backward order
    assert str(report).splitlines()[1:] == [f"  ✓ ∂E/∂{k} = {short(v)}" for k, v in hand.items()] \
        + ["All right: each is the engine's value."]
    assert [node.grad for node in n.values()] == before  # no grad touched
    loss.backward()
    assert [m.value for m in report.marks] == [n[k].grad for k in hand]  # backward()'s floats
    assert check(loss, {k: float(short(v)) for k, v in hand.items()}).ok  # the page's digits
    assert not check(loss, {"w11": hand["w11"] * 1.01}).ok  # 1% off is wrong
    low, high = accepted(hand["w11"])
    assert low < float(short(hand["w11"])) < high and high - low < 0.003 * abs(hand["w11"])


def test_check_tells_a_sign_error_the_notes_y_minus_y_hat():
    _, loss, n = net221_loss()
    hand = hand_221(n)
    notes = {k: -v for k, v in hand.items() if k != "E"}  # the notes' dE/dŷ = (y − ŷ)
    report = check(loss, notes)
    assert not report.ok and report.first_wrong == "ŷ" and report.mistake == "sign"
    lines = str(report).splitlines()
    assert lines[1] == f"  ✗ ∂E/∂ŷ: yours is {short(-hand['ŷ'])}, the engine's is " \
        f"{short(hand['ŷ'])}. The chain rule from ŷ's parents:"
    assert lines[2] == "      ∂E/∂ŷ = ∂E/∂E · ∂E/∂ŷ"
    assert lines[3] == "            = 1·(ŷ - y)"
    assert "A sign error" in lines[-2] and lines[-1] == \
        "  (3 later answers not checked here: fix ∂E/∂ŷ first)"


def test_check_tells_a_wrong_local_derivative_tanh_prime_of_a1_not_z1():
    _, loss, n = net221_loss()
    hand = hand_221(n)
    slip = hand["z1"] * (1.0 - n["a1"].data ** 2)  # 1 − a1² in place of 1 − z1²
    report = check(loss, {"ŷ": hand["ŷ"], "z1": hand["z1"], "a1": slip})
    assert report.first_wrong == "a1" and report.mistake == "local derivative"
    z1, local = n["z1"].data, 1.0 - n["z1"].data ** 2
    g = short(hand["z1"])
    g = f"({g})" if g.startswith("-") else g
    assert str(report).splitlines()[3:] == [
        f"  ✗ ∂E/∂a1: yours is {short(slip)}, the engine's is {short(hand['a1'])}. "
        "The chain rule from a1's parents:",
        "      ∂E/∂a1 = ∂E/∂z1 · ∂z1/∂a1",
        f"             = {g}·(1 - z1²)",
        f"             = {g}·(1 - ({short(z1)})²)",
        f"             = {g}·({short(local)})",
        f"             = {short(hand['a1'])}",
        f"    A wrong local derivative: with ∂E/∂z1 = {short(hand['z1'])} (yours, right), yours "
        f"means ∂z1/∂a1 = {short(1.0 - n['a1'].data ** 2)}; it is 1 - z1² = "
        f"1 - ({short(z1)})² = {short(local)}.",
    ]


def test_check_tells_a_missed_path_an_input_used_by_both_hidden_units():
    net, loss, n = net221_loss()
    loss.backward()
    one_path = n["a1"].grad * net.w11.data  # ∂E/∂x1 through a1 only: a2 uses x1 too
    report = check(loss, {"a1": n["a1"].grad, "a2": n["a2"].grad, "x1": one_path})
    assert report.first_wrong == "x1" and report.mistake == "missed path"
    text = str(report)
    assert "∂E/∂x1 = ∂E/∂a1 · ∂a1/∂x1 + ∂E/∂a2 · ∂a2/∂x1" in text
    assert "yours leaves out the one through a2." in text
    assert f"= {short(n['a1'].grad * net.w11.data)} " in text  # the two terms, summed


def test_check_tells_a_missed_path_of_x_times_x():
    _, _, n = net221_loss()
    d = n["ŷ"] - 1.0  # E = ½·d·d written out: d is used twice by one node
    d.label = "d"
    square = d * d
    square.label = "d²"
    half = square * 0.5
    half.label = "E"
    report = check(half, {"d²": 0.5, "d": 0.5 * d.data})  # d(d²)/dd taken as d, not 2d
    assert report.first_wrong == "d" and report.mistake == "missed path"
    assert "∂E/∂d = ∂E/∂d² · ∂d²/∂d + ∂E/∂d² · ∂d²/∂d (use 2)" in str(report)
    assert check(half, {"d²": 0.5, "d": d.data}).ok


def test_check_tells_a_local_derivative_left_unchained():
    _, loss, n = net221_loss()
    hand = hand_221(n)
    report = check(loss, {"z1": hand["z1"], "a1": 1.0 - n["z1"].data ** 2})
    assert report.mistake == "local derivative only"
    assert f"the chain rule multiplies it by ∂E/∂z1 = {short(hand['z1'])}" in str(report)


def test_check_names_unknown_nodes_and_non_numbers_before_any_work():
    _, loss, _ = net221_loss()
    with pytest.raises(ValueError, match="no node named 'w13', 'yhat' in the graph of E; its "
                                       "nodes are E, ŷ, w1"):
        check(loss, {"w11": 0.1, "w13": 0.2, "yhat": 1.0})
    with pytest.raises(TypeError, match="answers must be numbers: 'w11' is 'abc', 'b' is True"):
        check(loss, {"w11": "abc", "b": True, "w1": 2})
    with pytest.raises(TypeError, match="answers must map node names to numbers"):
        check(loss, [("w11", 0.1)])
    with pytest.raises(TypeError, match="root must be a Value"):
        check(1.0, {})


# ---- linear in the edges: work counted as the calls the interpreter makes -----------------


def _calls(run: Callable[[], object]) -> int:
    """How many Python and C function calls run() makes (sys.setprofile's call events)."""
    import sys

    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def _wide(kind: str, n: int) -> Value:
    """An n-operand sum, or an n-input neuron (2n + 1 operands), times 2, after backward()."""
    xs = [Value(0.001 * i, f"a{i}") for i in range(n)]
    node = Value.sum(xs) if kind == "sum" else Value.linear(
        [Value(0.5, f"w{i}") for i in range(n)], xs, Value(0.1, "b"))
    root = node * 2.0
    root.backward()
    return root


def _record(root: Value) -> object:
    from micrograd.page import record

    return record(root)


def _check(root: Value) -> object:
    n = sum(1 for node in walk(root).order if node.label.startswith("a"))
    return check(root, {f"a{i}": 2.0 for i in range(0, n, 7)})


@pytest.mark.parametrize("kind", ["sum", "linear"])
@pytest.mark.parametrize("run", [lambda r: list(backward_steps(r)), _record, _check],
                         ids=["backward_steps", "record", "check"])
def test_steps_record_and_check_are_linear_in_a_nodes_operands(kind, run) -> None:
    roots = [_wide(kind, n) for n in (200, 400)]
    small, large = (_calls(lambda r=r: run(r)) for r in roots)
    assert large <= 2.3 * small, (small, large)  # quadratic work would be about 4x


# ---- one rule for check() and the quiz: the value's own magnitude, or the shown numbers ----


def _cancelling(a: float, b: float, x: float = 0.3) -> Value:
    """E = a·x − b·x: ∂E/∂x = a − b, summed from a and −b that nearly cancel."""
    xv = Value(x, "x")
    root = Value(a) * xv - Value(b) * xv
    root.label = "E"
    return root


@pytest.mark.parametrize(("a", "b"), [(1000.0, 999.5), (5000.0, 4999.0), (-20.0, -20.5),
                                      (1234.0, 1233.0), (2.0, 1.5)])
def test_check_never_calls_a_sign_error_or_an_answer_1_percent_off_right(a, b) -> None:
    value = a - b
    for wrong in (-value, 0.0, value * 1.01, value * 0.99, value * 2.98, value + abs(value)):
        assert not check(_cancelling(a, b), {"x": wrong}).ok, wrong
    for right in (value, value * 1.0009, value * 0.9991):
        assert check(_cancelling(a, b), {"x": right}).ok, right
    assert check(_cancelling(a, b), {"x": -value}).mistake == "sign"


@given(st.integers(-9949, 9949), st.integers(-50, 50).filter(bool), st.floats(0.011, 3),
       st.booleans())
@settings(max_examples=60, deadline=None)
def test_no_answer_off_by_more_than_1_percent_is_right_where_the_numbers_shown_are_exact(
        a, d, off, sign) -> None:
    """a and b = a − d have at most 4 digits (shown exactly) and nearly cancel."""
    answer = d * (1 + off) * (-1 if sign else 1)
    assert not check(_cancelling(float(a), float(a - d)), {"x": answer}).ok
    assert check(_cancelling(float(a), float(a - d)), {"x": float(d)}).ok


@pytest.mark.parametrize("true", [1.0000005, 0.99999962, 1.00004])
def test_an_answer_worked_from_the_shown_numbers_is_right(true) -> None:
    w, x = Value(true, "w"), Value(1.0, "x")
    y_hat = w * x
    y_hat.label = "ŷ"
    loss = half_squared_error(y_hat, 1.0)
    loss.label = "E"
    assert short(y_hat.data) == "1"  # the page shows ŷ = 1, y = 1: ∂E/∂ŷ = ŷ - y = 0
    assert check(loss, {"ŷ": 0.0}).ok and check(loss, {"ŷ": 0.0, "w": 0.0}).ok
    assert check(loss, {"ŷ": true - 1.0, "w": true - 1.0}).ok  # and the engine's own
    assert not check(loss, {"ŷ": 0.01}).ok and not check(loss, {"ŷ": 0.0, "w": 0.01}).ok
    if abs(true - 1) > 1e-6:
        assert check(loss, {"ŷ": 1.0 - true}).mistake == "sign"


def test_a_local_derivative_from_the_shown_data_is_right() -> None:
    for x in (5.0, -4.6, 2.2222):  # tanh near its saturation: z shown 0.9999, 1 - z² far off
        a = Value(x, "a")
        z = a.tanh()
        z.label = "z"
        shown_z = float(short(z.data))
        from_shown, true = 1 - shown_z**2, 1 - z.data**2
        assert abs(from_shown / true - 1) > 5e-4  # more than rounding to 4 digits is worth
        assert check(z, {"a": from_shown}).ok and check(z, {"a": true}).ok
        assert not check(z, {"a": -true}).ok and not check(z, {"a": 0.0}).ok
        assert not check(z, {"a": max(from_shown, true) * 1.011}).ok


@pytest.mark.parametrize("make", [lambda: net221_loss()[1], lambda: _cancelling(1000.0, 999.5),
                                  lambda: _cancelling(3.0, -2.0)])
def test_the_quiz_accepts_exactly_what_check_accepts(make) -> None:
    """Each quiz field's interval (the page's data) is check()'s: its ends right, just past
    them wrong, for every node whose grad one update makes (one parent)."""
    from micrograd.page import record

    root = make()
    graph = walk(root)
    uses: dict[Value, int] = {}
    for node in graph.order:
        for child in node.children:
            uses[child] = uses.get(child, 0) + 1
    compared = 0
    for step in record(root).data["steps"]:
        for u in step["updates"]:
            child = graph.order[u["child"]]
            if uses[child] != 1 or "accept" not in u:
                continue
            low, high = u["accept"]["grad"]
            name = graph.names[child]
            assert check(root, {name: low}).ok and check(root, {name: high}).ok
            assert not check(root, {name: math.nextafter(low, -math.inf)}).ok
            assert not check(root, {name: math.nextafter(high, math.inf)}).ok
            compared += 1
    assert compared >= 2
