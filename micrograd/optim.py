"""Optimisers: the update rules only. SGD (the notes' p ← p − lr·∂E/∂p, with momentum), Adam, AdamW.

Each holds its parameters and its state. ``update(data, grads)`` is the rule, on lists of
floats (parameter i's data and grad at index i), so a replayed training step
(``micrograd.compiler.Trainer``) updates its own lists with it; ``step()`` runs it on the
Values' ``data`` and ``grad``. The training loop that calls them is in ``micrograd.train``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import ClassVar

from micrograd._numbers import as_float, number, positive, preview
from micrograd.engine import Value

__all__ = ["OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer"]


class Optimizer:
    """What every optimiser shares: its parameters, its ``lr``, ``step()`` and ``zero_grad()``."""

    params: list[Value]
    lr: float

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        name = type(self).__name__
        self.params = list(params)
        if not self.params:  # torch: "optimizer got an empty parameter list"
            raise ValueError(f"{name}: got an empty parameter list")
        first: dict[Value, int] = {}
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{name}: parameter {i} must be a Value, got {type(p).__name__}")
            if p in first:  # each step() would update it twice
                raise ValueError(f"{name}: parameter {i} is parameter {first[p]} again; "
                                 "give each parameter once")
            first[p] = i
        self.lr = positive(lr, "lr")

    def step(self) -> None:
        """One update of every parameter from its current grad: update() on the Values."""
        params = self.params
        data = [p.data for p in params]
        self.update(data, [p.grad for p in params])
        for p, x in zip(params, data):
            p.data = x

    def update(self, data: list[float], grads: Sequence[float]) -> None:
        """data[i] ← parameter i's update from grads[i], for each parameter i (in place)."""
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    def zero_grad(self) -> None:
        """grad = 0 on every parameter."""
        for p in self.params:
            p.grad = 0.0

    def state(self) -> dict[str, list[float]]:
        """The optimiser's state per parameter, as copies (none for plain SGD)."""
        return {}

    def load_state(self, state: dict[str, Sequence[float]]) -> None:
        """Take the state per parameter that state() gives (its keys, one float per parameter)."""
        name, mine = type(self).__name__, self.state()
        if set(state) != set(mine):
            raise ValueError(f"{name}.load_state: state must have the keys {sorted(mine)}, "
                             f"got {preview(sorted(state))}")
        taken = {}
        for key, values in state.items():
            if len(values) != len(self.params):
                raise ValueError(f"{name}.load_state: {key!r} has {len(values)} values for "
                                 f"{len(self.params)} parameters")
            taken[key] = [as_float(x, f"{name}.load_state: {key!r}") for x in values]
        for key, floats in taken.items():  # all checked first: a bad state changes nothing
            self._set_state(key, floats)

    def _set_state(self, key: str, values: list[float]) -> None:
        """Store one of state()'s lists (a subclass with state defines it)."""
        raise NotImplementedError(f"{type(self).__name__} has no state {key!r}")


class SGD(Optimizer):
    """p ← p − lr·v with v ← momentum·v + ∂E/∂p (plain p ← p − lr·∂E/∂p for momentum 0)."""

    momentum: float
    _velocity: list[float]

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        mu = number(momentum)
        if mu is None or not 0.0 <= mu < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {preview(momentum)}")
        self.momentum = mu
        self._velocity = [0.0] * len(self.params)

    def state(self) -> dict[str, list[float]]:
        """{"velocity": v per parameter} with momentum, {} without."""
        return {"velocity": list(self._velocity)} if self.momentum else {}

    def _set_state(self, key: str, values: list[float]) -> None:
        self._velocity = values

    def update(self, data: list[float], grads: Sequence[float]) -> None:
        """p ← p − lr·g (with momentum: v ← μ·v + g, p ← p − lr·v), in place."""
        lr, count = self.lr, len(self.params)
        if self.momentum == 0.0:
            data[:count] = [p - lr * g for p, g in zip(data[:count], grads)]
            return
        mu, velocity = self.momentum, self._velocity
        for i in range(count):
            v = velocity[i] = mu * velocity[i] + grads[i]
            data[i] -= lr * v


class Adam(Optimizer):
    """torch.optim.Adam: g ← ∂E/∂p + weight_decay·p (L2), m ← β1·m + (1 − β1)·g,
    v ← β2·v + (1 − β2)·g², p ← p − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + eps) at step t."""

    decoupled: ClassVar[bool] = False  # AdamW: the decay shrinks p, not the gradient
    betas: tuple[float, float]
    eps: float
    weight_decay: float
    steps: int  # step() calls so far (t of the last one)

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        name = type(self).__name__
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise ValueError(f"{name} betas must be a pair of numbers in [0, 1), "
                             f"got {preview(betas)}")
        for i, beta in enumerate(betas):
            b = number(beta)
            if b is None or not 0.0 <= b < 1.0:
                raise ValueError(f"{name} betas[{i}] must be in [0, 1), got {preview(beta)}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = positive(eps, f"{name} eps")
        decay = number(weight_decay)
        if decay is None or not 0.0 <= decay < math.inf:
            raise ValueError(f"{name} weight_decay must be a finite number >= 0, "
                             f"got {preview(weight_decay)}")
        self.weight_decay = decay
        self.steps = 0
        self._m = [0.0] * len(self.params)  # first moment (mean of g)
        self._v = [0.0] * len(self.params)  # second moment (mean of g²)

    def state(self) -> dict[str, list[float]]:
        """{"m": first moments, "v": second moments}, one per parameter."""
        return {"m": list(self._m), "v": list(self._v)}

    def _set_state(self, key: str, values: list[float]) -> None:
        if key == "m":
            self._m = values
        else:
            self._v = values

    def advance(self) -> tuple[float, float]:
        """t ← t + 1, and that step's schedule: lr/(1 − β1ᵗ) and √(1 − β2ᵗ)."""
        beta1, beta2 = self.betas
        self.steps += 1
        return self.lr / (1.0 - beta1**self.steps), (1.0 - beta2**self.steps) ** 0.5

    def update(self, data: list[float], grads: Sequence[float]) -> None:
        """The Adam step above on every parameter, in place (t counts the calls: advance())."""
        lr, (beta1, beta2), eps, decay = self.lr, self.betas, self.eps, self.weight_decay
        step_size, root_correction = self.advance()
        m, v = self._m, self._v
        for i in range(len(self.params)):
            g = grads[i]
            if decay:
                if self.decoupled:
                    data[i] *= 1.0 - lr * decay
                else:
                    g = g + decay * data[i]
            m[i] += (1.0 - beta1) * (g - m[i])
            v[i] = v[i] * beta2 + (1.0 - beta2) * g * g
            data[i] -= step_size * m[i] / (math.sqrt(v[i]) / root_correction + eps)


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay, p ← p·(1 − lr·weight_decay) first,
    the gradient left alone."""

    decoupled = True

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
