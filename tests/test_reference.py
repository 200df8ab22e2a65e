"""Net221's backprop against the notes' corrected hand formulas (reference.py), and the
hand formulas against finite differences, so the oracle is checked on its own too."""

from __future__ import annotations

import math
import random

import pytest

from micrograd import reference
from micrograd.engine import topological_order
from micrograd.losses import half_squared_error
from micrograd.nn import Net221

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "step"]
NAMES = reference.PARAMETER_NAMES


def close(a: float, b: float, rel: float = 1e-12, floor: float = 1e-300) -> bool:
    """|a - b| <= rel·max(|a|, |b|), with an absolute floor so exact zeros compare equal."""
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), floor)


def random_point(rng: random.Random) -> tuple[dict[str, float], float, float, float]:
    params = {name: rng.uniform(-2.0, 2.0) for name in NAMES}
    return params, rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)


def engine_gradients(net: Net221, x1: float, x2: float, y: float) -> dict[str, float]:
    net.zero_grad()
    loss = half_squared_error(net(x1, x2), y)
    loss.backward()
    return {name: p.grad for name, p in net.named_parameters()}


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_net221_gradients_equal_the_corrected_formulas(activation: str) -> None:
    rng = random.Random(f"reference-{activation}")
    net = Net221(activation)
    for _ in range(300):
        params, x1, x2, y = random_point(rng)
        net.load_state_dict(params)
        got = engine_gradients(net, x1, x2, y)
        want = reference.net221_gradients(params, x1, x2, y, activation)
        assert list(got) == list(want) == list(NAMES)
        for name in NAMES:
            assert close(got[name], want[name]), (activation, name, got[name], want[name])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_net221_forward_nodes_equal_the_formulas(activation: str) -> None:
    rng = random.Random(f"forward-{activation}")
    net = Net221(activation)
    for _ in range(50):
        params, x1, x2, _ = random_point(rng)
        net.load_state_dict(params)
        nodes = {node.label: node.data for node in topological_order(net(x1, x2))}
        want = reference.net221_forward(params, x1, x2, activation)
        for label in ("a1", "a2", "z1", "z2", "ŷ"):
            assert close(nodes[label], want[label]), (label, nodes[label], want[label])


def test_leaky_relu_slope_is_the_forward_lambda() -> None:
    rng = random.Random(7)
    net = Net221("leaky_relu", activation_params={"slope": 0.2})
    for _ in range(100):
        params, x1, x2, y = random_point(rng)
        net.load_state_dict(params)
        got = engine_gradients(net, x1, x2, y)
        want = reference.net221_gradients(params, x1, x2, y, "leaky_relu", slope=0.2)
        assert all(close(got[n], want[n]) for n in NAMES)


@pytest.mark.parametrize("activation, slope_at_zero", [("relu", 0.0), ("leaky_relu", 0.01)])
def test_kink_at_zero_takes_the_x_le_0_branch(activation: str, slope_at_zero: float) -> None:
    params = dict.fromkeys(NAMES, 0.5) | {"w11": 0.0, "w12": 0.0, "b1": 0.0}  # a1 = 0 exactly
    net = Net221(activation)
    net.load_state_dict(params)
    got = engine_gradients(net, 1.5, -2.0, 3.0)
    want = reference.net221_gradients(params, 1.5, -2.0, 3.0, activation)
    y_hat = reference.net221_forward(params, 1.5, -2.0, activation)["ŷ"]
    assert got["b1"] == want["b1"] == (y_hat - 3.0) * 0.5 * slope_at_zero
    assert all(close(got[n], want[n]) for n in NAMES)


def test_step_hidden_partials_are_exactly_zero() -> None:
    rng = random.Random(3)
    net = Net221("step")
    for _ in range(100):
        params, x1, x2, y = random_point(rng)
        net.load_state_dict(params)
        got = engine_gradients(net, x1, x2, y)
        assert [got[n] for n in NAMES[:6]] == [0.0] * 6
        assert got["b"] == reference.net221_forward(params, x1, x2, "step")["ŷ"] - y != 0.0


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_reference_matches_central_differences(activation: str) -> None:
    """The oracle itself: each formula against (E(p + h) - E(p - h)) / 2h of its own forward."""
    rng = random.Random(f"fd-{activation}")
    h = 1e-6

    def loss(p: dict[str, float], x1: float, x2: float, y: float) -> float:
        return 0.5 * (y - reference.net221_forward(p, x1, x2, activation)["ŷ"]) ** 2

    for _ in range(30):
        params, x1, x2, y = random_point(rng)
        forward = reference.net221_forward(params, x1, x2, activation)
        if min(abs(forward["a1"]), abs(forward["a2"])) < 1e-3:
            continue  # too near a relu kink for a difference quotient
        grads = reference.net221_gradients(params, x1, x2, y, activation)
        for name in NAMES:
            numeric = (loss(params | {name: params[name] + h}, x1, x2, y)
                       - loss(params | {name: params[name] - h}, x1, x2, y)) / (2 * h)
            assert abs(numeric - grads[name]) <= 1e-6 * max(1.0, abs(numeric)), (name, numeric)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "leaky_relu"])
def test_the_notes_as_written_show_the_errata(activation: str) -> None:
    rng = random.Random(f"errata-{activation}")
    for _ in range(50):
        params, x1, x2, y = random_point(rng)
        corrected = reference.net221_gradients(params, x1, x2, y, activation)
        written = reference.net221_gradients_as_written(params, x1, x2, y, activation)
        for name in NAMES:
            if name != "b2":
                assert written[name] == -corrected[name]  # the sign of dE/dŷ
        a2 = reference.net221_forward(params, x1, x2, activation)["a2"]
        f_prime = {"sigmoid": reference.sigmoid_prime, "tanh": reference.tanh_prime,
                   "leaky_relu": reference.leaky_relu_prime}[activation]
        assert written["b2"] == (y - 1) * params["w2"] * f_prime(a2)  # the (y − 1) typo


def test_updating_with_the_notes_signs_climbs_the_loss() -> None:
    rng = random.Random(11)
    params, x1, x2, y = random_point(rng)

    def loss(p: dict[str, float]) -> float:
        return 0.5 * (y - reference.net221_forward(p, x1, x2, "tanh")["ŷ"]) ** 2

    lr = 1e-3
    for formulas, climbs in ((reference.net221_gradients, False),
                             (reference.net221_gradients_as_written, True)):
        g = formulas(params, x1, x2, y, "tanh")
        stepped = {n: params[n] - lr * g[n] for n in NAMES}
        assert (loss(stepped) > loss(params)) is climbs


def test_leaky_relu_beta_as_written_is_a_free_symbol() -> None:
    params = dict.fromkeys(NAMES, -1.0)  # a1 = a2 = 1·... < 0 for positive inputs
    written = reference.net221_gradients_as_written(params, 1.0, 1.0, 0.0, "leaky_relu", beta=0.5)
    y_hat = reference.net221_forward(params, 1.0, 1.0, "leaky_relu")["ŷ"]
    assert written["b1"] == (0.0 - y_hat) * -1.0 * 0.5


def test_reference_rejects_unknown_activation_and_missing_params() -> None:
    params = dict.fromkeys(NAMES, 0.1)
    with pytest.raises(ValueError, match="softsign"):
        reference.net221_forward(params, 0.0, 0.0, "softsign")
    with pytest.raises(ValueError, match="w22"):
        reference.net221_gradients({k: v for k, v in params.items() if k != "w22"}, 0, 0, 0)


def test_sigmoid_reference_is_stable_far_out() -> None:
    assert reference.sigmoid(-1000.0) == 0.0 and reference.sigmoid(1000.0) == 1.0
    assert reference.sigmoid_prime(-1000.0) == 0.0
    assert math.isclose(reference.sigmoid(-30.0), math.exp(-30.0) / (1 + math.exp(-30.0)))
