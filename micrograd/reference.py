"""The notes' hand-derived 2-2-1 network, forward pass and gradients, in plain floats.

An oracle independent of the engine (only ``math``): the tests hold ``Net221``'s
backprop against ``net221_gradients``, and a demo prints the notes' formulas as printed
(``net221_gradients_as_written``) beside the corrected ones.

    a1 = w11·x1 + w12·x2 + b1      z1 = f(a1)
    a2 = w21·x1 + w22·x2 + b2      z2 = f(a2)
    ŷ  = w1·z1 + w2·z2 + b         E  = ½(y − ŷ)²

Activations: sigmoid, tanh, relu, leaky_relu (slope λ, default 0.01) and step, each
with f and f' as in the notes; at x = 0 the notes' x ≤ 0 branch (relu'(0) = 0,
leaky_relu'(0) = λ).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from micrograd._numbers import preview

__all__ = [
    "ACTIVATIONS",
    "PARAMETER_NAMES",
    "net221_forward",
    "net221_gradients",
    "net221_gradients_as_written",
]

PARAMETER_NAMES = ("w11", "w12", "w21", "w22", "b1", "b2", "w1", "w2", "b")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "step")

Function = Callable[[float], float]


# ---- activations and their derivatives, as in the notes ---------------------------


def step(x: float) -> float:
    """f(x) = 1 for x > 0, 0 for x ≤ 0."""
    return 1.0 if x > 0 else 0.0


def step_prime(x: float) -> float:
    """f'(x) = 0: backprop gets nothing through a step."""
    return 0.0


def sigmoid(x: float) -> float:
    """f(x) = 1 / (1 + e^(−x)), written so that e^(−x) never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sigmoid_prime(x: float) -> float:
    """f'(x) = f(x)·[1 − f(x)]."""
    f = sigmoid(x)
    return f * (1.0 - f)


def tanh(x: float) -> float:
    """f(x) = (e^x − e^(−x)) / (e^x + e^(−x)), computed by math.tanh (no overflow)."""
    return math.tanh(x)


def tanh_prime(x: float) -> float:
    """f'(x) = 1 − f(x)²."""
    f = math.tanh(x)
    return 1.0 - f * f


def relu(x: float) -> float:
    """f(x) = x for x > 0, 0 for x ≤ 0 = max(x, 0)."""
    return x if x > 0 else 0.0


def relu_prime(x: float) -> float:
    """f'(x) = 1 for x > 0, 0 for x ≤ 0."""
    return 1.0 if x > 0 else 0.0


def leaky_relu(x: float, slope: float = 0.01) -> float:
    """f(x) = x for x > 0, λx for x ≤ 0 (λ = slope)."""
    return x if x > 0 else slope * x


def leaky_relu_prime(x: float, slope: float = 0.01) -> float:
    """f'(x) = 1 for x > 0, λ for x ≤ 0."""
    # The notes write β for x ≤ 0: a slip. The derivative of λx is λ, the forward's slope.
    return 1.0 if x > 0 else slope


def _activation(name: str, slope: float) -> tuple[Function, Function]:
    """(f, f') for an activation name."""
    if name == "sigmoid":
        return sigmoid, sigmoid_prime
    if name == "tanh":
        return tanh, tanh_prime
    if name == "relu":
        return relu, relu_prime
    if name == "leaky_relu":
        return (lambda x: leaky_relu(x, slope)), (lambda x: leaky_relu_prime(x, slope))
    if name == "step":
        return step, step_prime
    raise ValueError(f"unknown activation {preview(name)}; known: {', '.join(ACTIVATIONS)}")


def _params(params: Mapping[str, float]) -> list[float]:
    """The nine parameters as floats, in PARAMETER_NAMES order."""
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise ValueError(f"net221: missing parameters {', '.join(missing)}")
    return [float(params[name]) for name in PARAMETER_NAMES]


def _output_weights(params: Mapping[str, float]) -> tuple[float, float]:
    """(w1, w2)."""
    values = _params(params)
    return values[6], values[7]


# ---- forward and gradients ---------------------------------------------------------


def net221_forward(params: Mapping[str, float], x1: float, x2: float,
                   activation: str = "sigmoid", slope: float = 0.01) -> dict[str, float]:
    """{a1, a2, z1, z2, ŷ} of the 2-2-1 network at (x1, x2)."""
    w11, w12, w21, w22, b1, b2, w1, w2, b = _params(params)
    f, _ = _activation(activation, slope)
    a1 = w11 * x1 + w12 * x2 + b1
    a2 = w21 * x1 + w22 * x2 + b2
    z1 = f(a1)
    z2 = f(a2)
    y_hat = w1 * z1 + w2 * z2 + b
    return {"a1": a1, "a2": a2, "z1": z1, "z2": z2, "ŷ": y_hat}


def net221_gradients(params: Mapping[str, float], x1: float, x2: float, y: float,
                     activation: str = "sigmoid", slope: float = 0.01) -> dict[str, float]:
    """∂E/∂p for the nine parameters, E = ½(y − ŷ)²: the notes' chain rule, corrected."""
    w1, w2 = _output_weights(params)
    _, f_prime = _activation(activation, slope)
    forward = net221_forward(params, x1, x2, activation, slope)
    a1, a2, z1, z2, y_hat = forward["a1"], forward["a2"], forward["z1"], forward["z2"], forward["ŷ"]

    # The notes: dE/dy = (y − ŷ). Wrong sign (and y stands for ŷ): d/dŷ ½(y − ŷ)² =
    # −(y − ŷ) = ŷ − y. Every partial below inherits this, so the notes' update
    # p ← p − α·∂E/∂p would climb the loss instead of descending it.
    dE_dy_hat = y_hat - y
    dE_da1 = dE_dy_hat * w1 * f_prime(a1)  # notes: (y − ŷ)·w1·f'(a1) — sign, as above
    dE_da2 = dE_dy_hat * w2 * f_prime(a2)  # notes: (y − ŷ)·w2·f'(a2) — sign, as above
    return {
        "w11": dE_da1 * x1,  # notes: (y − ŷ)·w1·f'(a1)·x1 — sign
        "w12": dE_da1 * x2,  # notes: (y − ŷ)·w1·f'(a1)·x2 — sign
        "w21": dE_da2 * x1,  # notes: (y − ŷ)·w2·f'(a2)·x1 — sign
        "w22": dE_da2 * x2,  # notes: (y − ŷ)·w2·f'(a2)·x2 — sign
        "b1": dE_da1,  # notes: (y − ŷ)·w1·f'(a1) — sign
        # notes: (y − 1)·w2·f'(a2): a typo, 1 for ŷ (compare ∂E/∂b1), besides the sign.
        "b2": dE_da2,
        "w1": dE_dy_hat * z1,  # notes: (y − ŷ)·z1 — sign
        "w2": dE_dy_hat * z2,  # notes: (y − ŷ)·z2 — sign
        "b": dE_dy_hat,  # notes: (y − ŷ) — sign
    }


def net221_gradients_as_written(params: Mapping[str, float], x1: float, x2: float, y: float,
                                activation: str = "sigmoid", slope: float = 0.01,
                                beta: float | None = None) -> dict[str, float]:
    """The notes' formulas exactly as printed: dE/dŷ = (y − ŷ), ∂E/∂b2 = (y − 1)·w2·f'(a2).

    For leaky_relu the notes' f' uses β for x ≤ 0; beta (default: the slope λ) sets it.
    For demonstrating the errata only: these are not the gradients of E.
    """
    w1, w2 = _output_weights(params)
    _, f_prime = _activation(activation, slope)
    if activation == "leaky_relu":
        beta_ = slope if beta is None else beta

        def f_prime(x: float) -> float:
            return 1.0 if x > 0 else beta_

    forward = net221_forward(params, x1, x2, activation, slope)
    a1, a2, z1, z2, y_hat = forward["a1"], forward["a2"], forward["z1"], forward["z2"], forward["ŷ"]
    dE_dy = y - y_hat
    return {
        "w11": dE_dy * w1 * f_prime(a1) * x1,
        "w12": dE_dy * w1 * f_prime(a1) * x2,
        "w21": dE_dy * w2 * f_prime(a2) * x1,
        "w22": dE_dy * w2 * f_prime(a2) * x2,
        "b1": dE_dy * w1 * f_prime(a1),
        "b2": (y - 1) * w2 * f_prime(a2),
        "w1": dE_dy * z1,
        "w2": dE_dy * z2,
        "b": dE_dy,
    }
