"""Graph semantics of Value: shared nodes, topological order, backward, memory, determinism."""

from __future__ import annotations

import copy
import gc
import io
import math
import os
import pickle
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout

import pytest
from conftest import Recipe, build_graph
from conftest import graph_recipes as shared_graph_recipes
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from micrograd import Value, gradcheck, ops
from micrograd.engine import topological_order


def assert_parents_before_children(order: list[Value]) -> None:
    """Each node appears once, before every one of its children."""
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    for node in order:
        for child in node.children:
            assert position[id(node)] < position[id(child)], (node, child)


# ---- shared nodes ------------------------------------------------------------------


def test_x_times_x_has_two_edges_to_x() -> None:
    x = Value(3.0)
    y = x * x
    assert len(y.children) == 2
    assert all(child is x for child in y.children)
    assert y.local_grads == (3.0, 3.0)
    y.backward()
    assert x.grad == 6.0  # 2x: both edges count


def test_a_node_used_twice_twice_over() -> None:
    a = Value(1.5)
    b = a + a
    c = b + b
    c.backward()
    assert (c.data, b.grad, a.grad) == (6.0, 2.0, 4.0)


def test_diamond() -> None:
    """d = tanh(a) · e**a: a reaches d by two paths, and the two contributions add."""
    a = Value(0.3)
    d = a.tanh() * a.exp()
    d.backward()
    t, e = math.tanh(0.3), math.exp(0.3)
    assert math.isclose(a.grad, (1 - t * t) * e + t * e, rel_tol=1e-15)


@pytest.mark.parametrize("shortcut_first", [True, False])
def test_diamond_with_a_shortcut_edge(shortcut_first: bool) -> None:
    """R = A + f(A), f(A) = exp(tanh(A·A)): A must get all of f's contribution, not part of it.

    A wrong topological sort visits A from the short edge before f(A) has passed its
    gradient down, and misses the long path.
    """
    a = Value(0.7)
    f = (a * a).tanh().exp()
    r = a + f if shortcut_first else f + a
    r.backward()
    t = math.tanh(0.49)
    assert math.isclose(a.grad, 1 + math.exp(t) * (1 - t * t) * 2 * 0.7, rel_tol=1e-15)
    assert_parents_before_children(topological_order(r))


# ---- random expression graphs against central differences ----------------------------

FORMULAS: dict[str, Callable[[Value, Value], Value]] = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / (1 + b²)": lambda a, b: a / (1 + b * b),
    "-a": lambda a, b: -a,
    "a ** 3": lambda a, b: a**3,
    "tanh(a)": lambda a, b: a.tanh(),
    "sigmoid(a)": lambda a, b: a.sigmoid(),
    "exp(a)": lambda a, b: a.exp(),
    "log(1 + a²)": lambda a, b: (1 + a * a).log(),
    "sum(a, b, a)": lambda a, b: Value.sum([a, b, a]),
    "linear(a·b + b·a + a)": lambda a, b: Value.linear([a, b], [b, a], a),
}

def graph_recipes() -> st.SearchStrategy[Recipe]:
    return shared_graph_recipes(FORMULAS, bound=2.0, max_steps=10)


def build(recipe: Recipe, leaf_values: Sequence[float]) -> list[Value]:
    """Every node of the recipe's graph, leaves first; the last one is the root."""
    return build_graph(FORMULAS, recipe, [Value(x) for x in leaf_values])


@settings(max_examples=150, deadline=None)
@given(graph_recipes())
def test_random_graphs_match_central_differences(recipe: Recipe) -> None:
    leaf_values = recipe[0]
    nodes = build(recipe, leaf_values)
    scale = max(1.0, *(abs(node.data) for node in nodes))
    assume(scale < 1e3)  # keeps the difference quotient accurate

    def root(*leaves: Value) -> Value:
        return build_graph(FORMULAS, recipe, list(leaves))[-1]

    assert gradcheck(root, leaf_values, eps=1e-6, atol=1e-6 * scale, rtol=1e-5)


# ---- deep graphs -------------------------------------------------------------------


def test_a_million_node_chain_backpropagates_at_the_default_recursion_limit() -> None:
    n = 10**6
    factor = 1 - 1 / n
    limit = sys.getrecursionlimit()
    x, f = Value(1.0), Value(factor)  # f: one leaf, shared by every node of the chain
    y = x
    for _ in range(n):
        y = y * f
    y.backward()
    expected = factor**n  # ≈ 1/e
    assert math.isclose(y.data, expected, rel_tol=1e-9)
    assert math.isclose(x.grad, expected, rel_tol=1e-9)
    assert y.grad == 1.0
    assert sys.getrecursionlimit() == limit


# ---- repeated backward and zero_grad -----------------------------------------------


def small_graph() -> tuple[Value, Value, Value]:
    """x (a leaf), y = x·x (interior), z = tanh(y) (the root)."""
    x = Value(0.5)
    y = x * x
    return x, y, y.tanh()


def test_repeated_backward_accumulates_in_leaves_only() -> None:
    x, y, z = small_graph()
    dz_dy = 1 - math.tanh(0.25) ** 2
    z.backward()
    assert (z.grad, y.grad, x.grad) == (1.0, dz_dy, dz_dy * 2 * 0.5)
    z.backward()
    assert (z.grad, y.grad) == (1.0, dz_dy)  # interior nodes hold the latest pass
    assert x.grad == 2 * dz_dy * 2 * 0.5  # leaves accumulate, like PyTorch


def test_zero_grad_clears_every_node() -> None:
    x, y, z = small_graph()
    z.backward()
    assert all(node.grad != 0.0 for node in (x, y, z))
    z.zero_grad()
    assert [node.grad for node in topological_order(z)] == [0.0, 0.0, 0.0]
    z.backward()
    assert x.grad == (1 - math.tanh(0.25) ** 2) * 2 * 0.5  # a fresh pass, not a second one


# ---- determinism -------------------------------------------------------------------

DESCRIBE_A_GRAPH = """
from micrograd import Value, gradcheck
from micrograd.engine import topological_order

def named(node, label):
    node.label = label
    return node

x = [Value(float(i), f"x{i}") for i in range(5)]
s = named(x[0] * x[1], "s")
t = named(s + x[2] * x[3], "t")
u = named((s * t).tanh() - x[4], "u")
root = named(Value.sum([u, t, s, x[0], u]), "root")
root.backward()
for node in topological_order(root):
    print(node.label, [child.label for child in node.children], node.grad)
"""


def describe_in_this_process() -> str:
    output = io.StringIO()
    with redirect_stdout(output):
        exec(DESCRIBE_A_GRAPH, {})
    return output.getvalue()


def describe_in_a_new_process(hash_seed: str) -> str:
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", DESCRIBE_A_GRAPH],
        env=environment, capture_output=True, text=True, check=True, timeout=60,
    )
    return done.stdout


def test_order_is_the_same_in_every_run_and_every_process() -> None:
    here = describe_in_this_process()
    assert here.splitlines()[0].startswith("root ['u', 't', 's', 'x0', 'u']")
    assert describe_in_this_process() == here
    assert describe_in_a_new_process("0") == here
    assert describe_in_a_new_process("12345") == here


def test_topological_order_lists_each_node_once_before_its_children() -> None:
    x = Value(2.0)
    shared = x * x
    root = (shared + x) * shared
    order = topological_order(root)
    assert order[0] is root
    assert len(order) == 4  # root, shared + x, shared, x
    assert_parents_before_children(order)
    assert x not in topological_order(root, leaves=False)


def recursive_order(root: Value, leaves: bool) -> list[Value]:
    """The docstring's order, written recursively: enter the children last first, post-order
    reversed."""
    order: list[Value] = []
    visited: set[Value] = set()

    def enter(node: Value) -> None:
        if node in visited or not (leaves or node.children):
            return
        visited.add(node)
        for child in reversed(node.children):
            enter(child)
        order.append(node)

    enter(root)
    return order[::-1]


@settings(max_examples=300, deadline=None)
@given(graph_recipes(), st.booleans())
def test_topological_order_is_the_recursive_depth_first_order(recipe: Recipe,
                                                              leaves: bool) -> None:
    nodes = build(recipe, recipe[0])
    for root in nodes:  # every node as a root: leaves, shared nodes, x * x
        assert topological_order(root, leaves) == recursive_order(root, leaves)


# ---- memory ------------------------------------------------------------------------


def chain_with_shared_nodes(length: int) -> Value:
    """h ← tanh(h·w + x), each step reusing the leaves x and w."""
    x, w = Value(0.1), Value(0.9)
    h = x
    for _ in range(length):
        h = (h * w + x).tanh()
    return h


def test_a_dropped_graph_is_freed_by_reference_counting_alone() -> None:
    chain_with_shared_nodes(10).backward()  # warm up anything cached once per process
    gc_was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        root = chain_with_shared_nodes(20_000)
        root.backward()
        with_graph = tracemalloc.get_traced_memory()[0]
        del root
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        if gc_was_enabled:
            gc.enable()
    graph_bytes = with_graph - baseline
    assert graph_bytes > 3_000_000  # 60 000 nodes and their tuples
    # What stays is CPython's free lists of tuples and floats (a few hundred kB at most),
    # not the graph: a graph kept alive by reference cycles would keep all of graph_bytes.
    assert after - baseline < 0.05 * graph_bytes


# ---- what a debugger shows -----------------------------------------------------------


def test_repr_shows_label_op_data_and_grad() -> None:
    x = Value(2.5, "x")
    y = x * x
    y.label = "y"
    y.backward()
    assert all(part in repr(y) for part in ("'y'", "'mul'", "data=6.25", "grad=1"))
    assert all(part in repr(x) for part in ("'x'", "data=2.5", "grad=5"))


def test_values_have_slots_and_no_dict() -> None:
    x = Value(1.0)
    assert not hasattr(x, "__dict__")
    with pytest.raises(AttributeError):
        x.colour = "red"  # type: ignore[attr-defined]
    assert not hasattr(x * x, "__dict__")


# ---- params ----------------------------------------------------------------------------


def test_params_are_read_only_and_copy() -> None:
    x = Value(2.0, "x")
    y = x.leaky_relu(0.1) ** 3
    defaults = dict(ops.get("pow").params)
    for params in (y.params, y.children[0].params, x.params, ops.get("pow").params):
        for change in (lambda p: p.__setitem__("slope", 1.0), lambda p: p.update(slope=1.0),
                       lambda p: p.pop("slope"), lambda p: p.popitem(), lambda p: p.clear(),
                       lambda p: p.setdefault("slope", 1.0), lambda p: p.__delitem__("slope"),
                       lambda p: p.__ior__({"slope": 1.0})):
            with pytest.raises(TypeError, match="read-only"):
                change(params)
    assert dict(y.params) == {"exponent": 3.0} and dict(ops.get("pow").params) == defaults
    y.backward()
    for twin in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert (twin.params, twin.children[0].params) == ({"exponent": 3.0}, {"slope": 0.1})
        assert twin.data == y.data and twin.children[0].children[0].grad == x.grad
        with pytest.raises(TypeError, match="read-only"):
            twin.params["exponent"] = 2.0  # type: ignore[index]
