"""micrograd against PyTorch (float64, 0-d tensors): same values, same gradients.

Every graph is written once, as formulas that work on both a Value and a tensor, and
built twice. Skipped where torch is missing (a failure in CI).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from conftest import Recipe, build_graph
from conftest import graph_recipes as shared_graph_recipes
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from micrograd import Value, apply

# The `torch` fixture is a module import, the same for every example.
EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
REL_TOL = 1e-9
LEAKY_SLOPE = 0.1

Node = Any  # a Value or a 0-d torch tensor


def leaky_relu(a: Node) -> Node:
    if isinstance(a, Value):
        return a.leaky_relu(LEAKY_SLOPE)
    import torch.nn.functional

    return torch.nn.functional.leaky_relu(a, LEAKY_SLOPE)


# Each formula takes two earlier nodes (unary ones ignore b); domains are kept safe by
# construction: denominators, log arguments and fractional-power bases are ≥ 0.5.
FORMULAS: dict[str, Callable[[Node, Node], Node]] = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / (b² + 0.5)": lambda a, b: a / (b * b + 0.5),
    "1 / (a² + 0.5)": lambda a, b: 1 / (a * a + 0.5),
    "3 - a": lambda a, b: 3 - a,
    "-a": lambda a, b: -a,
    "a ** 2": lambda a, b: a**2,
    "a ** 3": lambda a, b: a**3,
    "(a² + 0.5) ** 1.5": lambda a, b: (a * a + 0.5) ** 1.5,
    "(b² + 0.5) ** a": lambda a, b: (b * b + 0.5) ** a,
    "2 ** a": lambda a, b: 2**a,
    "exp(a)": lambda a, b: a.exp(),
    "log(a² + 0.5)": lambda a, b: (a * a + 0.5).log(),
    "tanh(a)": lambda a, b: a.tanh(),
    "sigmoid(a)": lambda a, b: a.sigmoid(),
    "relu(a)": lambda a, b: a.relu(),
    "leaky_relu(a)": lambda a, b: leaky_relu(a),
}

def graph_recipes() -> st.SearchStrategy[Recipe]:
    return shared_graph_recipes(FORMULAS, bound=3.0, max_steps=12)


def build(recipe: Recipe, leaves: Sequence[Node]) -> list[Node]:
    return build_graph(FORMULAS, recipe, leaves)


def torch_leaves(torch: Any, values: Sequence[float]) -> list[Any]:
    return [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in values]


def torch_grad(leaf: Any) -> float:
    """A leaf's gradient; 0.0 for a leaf the root does not depend on (torch leaves None)."""
    return 0.0 if leaf.grad is None else leaf.grad.item()


def assert_close(ours: float, theirs: float, scale: float, what: str) -> None:
    """Relative 1e-9, with an absolute floor: rounding in a node of size M reaches the
    result multiplied by a gradient of size G, so values near 0 are compared to M·G."""
    assert math.isclose(ours, theirs, rel_tol=REL_TOL, abs_tol=REL_TOL * scale), (
        f"{what}: micrograd {ours!r}, torch {theirs!r}")


@EXAMPLES
@given(graph_recipes())
def test_random_graphs_match_torch(torch: Any, recipe: Recipe) -> None:
    ours = build(recipe, [Value(x) for x in recipe[0]])
    magnitude = max(abs(node.data) for node in ours)
    assume(magnitude < 1e8)  # also rules out inf
    ours[-1].backward()
    largest_grad = max(abs(node.grad) for node in ours)
    assume(largest_grad < 1e8)
    scale = max(1.0, magnitude) * max(1.0, largest_grad)

    leaves = torch_leaves(torch, recipe[0])
    theirs = build(recipe, leaves)
    theirs[-1].backward()

    for k, (our_node, their_node) in enumerate(zip(ours, theirs)):
        assert_close(our_node.data, their_node.item(), scale, f"value of node {k}")
    for k, leaf in enumerate(leaves):
        assert_close(ours[k].grad, torch_grad(leaf), scale, f"gradient of leaf {k}")


# ---- the notes' 2-2-1 network -------------------------------------------------------

PARAMETER_NAMES = ("w11", "w12", "w21", "w22", "b1", "b2", "w1", "w2", "b")
ACTIVATIONS = ("sigmoid", "tanh")


def net221_loss_micrograd(p: dict[str, Value], x1: Value, x2: Value, y: float,
                          activation: str) -> Value:
    """E = ½(y - ŷ)², each neuron one linear node, as the notes write the network."""
    z1 = apply(activation, Value.linear([p["w11"], p["w12"]], [x1, x2], p["b1"]))
    z2 = apply(activation, Value.linear([p["w21"], p["w22"]], [x1, x2], p["b2"]))
    y_hat = Value.linear([p["w1"], p["w2"]], [z1, z2], p["b"])
    return apply("half_squared_error", y_hat, y)


def net221_loss_torch(p: dict[str, Any], x1: Any, x2: Any, y: float, activation: str) -> Any:
    """The same network, written out term by term."""
    z1 = getattr(p["w11"] * x1 + p["w12"] * x2 + p["b1"], activation)()
    z2 = getattr(p["w21"] * x1 + p["w22"] * x2 + p["b2"], activation)()
    y_hat = p["w1"] * z1 + p["w2"] * z2 + p["b"]
    return 0.5 * (y - y_hat) ** 2


class TwoNetworks:
    """The 2-2-1 network's parameters and inputs, once as Values and once as tensors."""

    def __init__(self, torch: Any, parameters: Sequence[float]) -> None:
        self.ours = {name: Value(w, name) for name, w in zip(PARAMETER_NAMES, parameters)}
        tensors = torch_leaves(torch, parameters)
        self.theirs = dict(zip(PARAMETER_NAMES, tensors))
        self.torch = torch

    def losses(self, sample: Sequence[float], activation: str) -> tuple[Value, Any]:
        x1, x2, y = sample
        ours = net221_loss_micrograd(self.ours, Value(x1), Value(x2), y, activation)
        t1, t2 = torch_leaves(self.torch, [x1, x2])
        return ours, net221_loss_torch(self.theirs, t1, t2, y, activation)

    def assert_same_gradients(self) -> None:
        for name in PARAMETER_NAMES:
            theirs = torch_grad(self.theirs[name])
            assert_close(self.ours[name].grad, theirs, max(1.0, abs(theirs)), f"∂E/∂{name}")


WEIGHTS = st.lists(st.floats(-2.0, 2.0), min_size=9, max_size=9)
SAMPLES = st.tuples(st.floats(-2.0, 2.0), st.floats(-2.0, 2.0), st.floats(-1.0, 1.0))


@EXAMPLES
@given(WEIGHTS, SAMPLES, st.sampled_from(ACTIVATIONS))
def test_net221_matches_torch(torch: Any, weights: list[float],
                              sample: tuple[float, float, float], activation: str) -> None:
    networks = TwoNetworks(torch, weights)
    ours, theirs = networks.losses(sample, activation)
    ours.backward()
    theirs.backward()
    assert_close(ours.data, theirs.item(), 1.0, "E")
    networks.assert_same_gradients()


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(WEIGHTS, SAMPLES, SAMPLES, st.sampled_from(ACTIVATIONS))
def test_two_backward_calls_accumulate_like_torch(
    torch: Any, weights: list[float], first: tuple[float, float, float],
    second: tuple[float, float, float], activation: str,
) -> None:
    """Two samples' losses, then the first loss again: parameters sum all three gradients."""
    networks = TwoNetworks(torch, weights)
    ours_1, theirs_1 = networks.losses(first, activation)
    ours_2, theirs_2 = networks.losses(second, activation)
    ours_1.backward()
    theirs_1.backward(retain_graph=True)
    ours_2.backward()
    theirs_2.backward()
    ours_1.backward()
    theirs_1.backward()
    networks.assert_same_gradients()
