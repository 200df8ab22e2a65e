"""Trainer(optimizer, backend="native"): eager's training steps, bit for bit (==), with the
parameters and the optimiser's state in arrays; inputs=, step(x) and step(); sync and load."""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from conftest import require_module

import micrograd
from micrograd import Value, apply, ops
from micrograd.compiler import Trainer
from micrograd.losses import cross_entropy
from micrograd.nn import MLP
from micrograd.optim import Optimizer

require_module("llvmlite")

from micrograd import native  # noqa: E402  (after the skip: it needs llvmlite)

INPUTS, CLASSES = 5, 3
Make = Callable[[list[Value]], Optimizer]
Loss = Callable[[Sequence[Value], int], Value]

OPTIMIZERS: dict[str, Make] = {
    "sgd": lambda ps: micrograd.SGD(ps, lr=0.1),
    "momentum": lambda ps: micrograd.SGD(ps, lr=0.05, momentum=0.9),
    "adam": lambda ps: micrograd.Adam(ps, lr=0.02, weight_decay=0.1),
    "adamw": lambda ps: micrograd.AdamW(ps, lr=0.02, weight_decay=0.05),
}


def squared_error(outputs: Sequence[Value], t: int) -> Value:
    """Σ (o_j - [j = t])**2: pow nodes (their exponent a param) in the graph."""
    return Value.sum([(o - float(j == t)) ** 2 for j, o in enumerate(outputs)])


def softplus_ce(outputs: Sequence[Value], t: int) -> Value:
    """cross_entropy of a user's op applied to the logits (a python node per logit)."""
    return cross_entropy([apply("softplus_t", o) for o in outputs], t)


MODELS: dict[str, tuple[Callable[[], MLP], Loss]] = {
    "relu+ce": (lambda: MLP(INPUTS, [4, CLASSES], seed=3), cross_entropy),
    "tanh+ce": (lambda: MLP(INPUTS, [4, CLASSES], activation="tanh", seed=4), cross_entropy),
    "leaky+pow": (lambda: MLP(INPUTS, [4, CLASSES], activation="leaky_relu", seed=5,
                              activation_params={"slope": 0.1}), squared_error),
}


@pytest.fixture(autouse=True)
def softplus_t() -> Any:
    ops.register("softplus_t", lambda x: math.log1p(math.exp(x)),
                 lambda x, out: (1.0 / (1.0 + math.exp(-x)),), formula="σ({x})")
    yield
    ops.unregister("softplus_t")


def samples(n: int, seed: int = 7) -> list[tuple[list[float], int]]:
    rng = random.Random(seed)
    return [([rng.uniform(-1, 1) for _ in range(INPUTS)], rng.randrange(CLASSES))
            for _ in range(n)]


def eager_run(model: MLP, make: Make, loss: Loss, data: list[tuple[list[float], int]]) -> tuple[
        list[float], Optimizer]:
    opt = make(model.parameters())
    losses = []
    for x, t in data:
        opt.zero_grad()
        e = loss(model([Value(v) for v in x]), t)
        e.backward()
        opt.step()
        losses.append(e.data)
    return losses, opt


def native_run(model: MLP, make: Make, loss: Loss, data: list[tuple[list[float], int]],
               backend: str = "native") -> tuple[list[float], Optimizer]:
    """One trainer, one step per class sharing its parameters; x given three ways in turn:
    step(list), step(array('d')), step() reading the input leaves."""
    opt = make(model.parameters())
    xs = [Value(0.0, f"x{i}") for i in range(INPUTS)]
    trainer = Trainer(opt, backend=backend)
    steps = {t: trainer.compile(loss(model(xs), t), inputs=xs) for t in range(CLASSES)}
    losses = []
    with trainer:
        for i, (x, t) in enumerate(data):
            if i % 3 == 0:
                losses.append(steps[t](x))
            elif i % 3 == 1:
                losses.append(steps[t](array("d", x)))
            else:
                for leaf, v in zip(xs, x):
                    leaf.data = v
                losses.append(steps[t]())
    return losses, opt


def check_same(make: Make, build: Callable[[], MLP], loss: Loss, steps: int = 9,
               backend: str = "native") -> None:
    data = samples(steps)
    eager_model, native_model = build(), build()
    eager, eager_opt = eager_run(eager_model, make, loss, data)
    replayed, native_opt = native_run(native_model, make, loss, data, backend)
    assert replayed == eager
    assert [p.data for p in native_model.parameters()] == [
        p.data for p in eager_model.parameters()]
    assert [p.grad for p in native_model.parameters()] == [
        p.grad for p in eager_model.parameters()]
    assert native_opt.state() == eager_opt.state()
    assert getattr(native_opt, "steps", None) == getattr(eager_opt, "steps", None)
    assert any(p.grad for p in native_model.parameters())


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_native_steps_are_eagers_bit_for_bit(optimizer: str, model: str) -> None:
    build, loss = MODELS[model]
    check_same(OPTIMIZERS[optimizer], build, loss)


@pytest.mark.parametrize("backend", ["python", "native"])
def test_a_users_op_in_the_graph_and_inputs_given_as_x(backend: str) -> None:
    check_same(OPTIMIZERS["adam"], MODELS["tanh+ce"][0], softplus_ce, backend=backend)


def test_a_users_update_rule_runs_on_lists() -> None:
    class Halved(micrograd.SGD):
        def update(self, data: list[float], grads: Sequence[float]) -> None:
            for i in range(len(self.params)):
                data[i] -= 0.5 * self.lr * grads[i]

    check_same(lambda ps: Halved(ps, lr=0.2), MODELS["relu+ce"][0], cross_entropy, steps=4)


def test_the_tape_shows_python_nodes_and_every_op_runs_without_a_warning(
        recwarn: pytest.WarningsRecorder) -> None:
    model = MLP(INPUTS, [2, CLASSES], seed=1)
    xs = [Value(0.0, f"x{i}") for i in range(INPUTS)]
    step = Trainer(micrograd.SGD(model.parameters(), lr=0.1), backend="native").compile(
        softplus_ce(model(xs), 1), inputs=xs)
    assert isinstance(step, native.NativeStep)
    source = step.source
    assert "cross_entropy(" in source and "target=1)  # " in source and "(Python)" in source
    assert "linear(" in source and "softplus_t(" in source
    assert source.index("= x0") < source.index("= x4") < source.index("linear(")
    assert not recwarn.list


def test_op_errors_are_eagers_and_change_nothing() -> None:
    w, x = Value(0.5, "w"), Value(1.0, "x")
    trainer = Trainer(micrograd.SGD([w], lr=0.1), backend="native")
    step = trainer.compile((w * x).log() + w / x, inputs=[x])
    assert step([2.0]) == math.log(1.0) + 0.25
    grads = trainer.grads
    with pytest.raises(ValueError, match="log"):
        step([-1.0])
    with pytest.raises(ValueError, match="log"):  # the loops meet w / 0 first; eager, log 0
        step([0.0])
    with pytest.raises(ZeroDivisionError, match="div"):
        trainer.compile(w / x, inputs=[x])([0.0])

    def fussy(x: float) -> float:
        if x >= 1.0:
            raise ArithmeticError("fussy_t: x >= 1")
        return x

    ops.register("fussy_t", fussy, lambda x, out: (1.0,))
    try:
        fussy_step = trainer.compile(apply("fussy_t", w * x), inputs=[x])
        with pytest.raises(ArithmeticError, match="fussy_t: x >= 1"):
            fussy_step([4.0])
        assert trainer.grads == grads  # nothing changed
        assert fussy_step([1.0]) == 0.5 - 0.1 * 2.5
    finally:
        ops.unregister("fussy_t")
    trainer.sync()
    assert w.data == (0.5 - 0.1 * 2.5) - 0.1 * 1.0


def test_sync_and_load() -> None:
    w, x = Value(2.0, "w"), Value(3.0, "x")
    opt = micrograd.Adam([w], lr=0.1)
    trainer = Trainer(opt, backend="native")
    step = trainer.compile(micrograd.losses.half_squared_error(w * x, 1.0))
    assert step() == 12.5
    assert (w.data, w.grad, opt.state(), opt.steps) == (2.0, 0.0, {"m": [0.0], "v": [0.0]}, 1)
    assert trainer.grads == [15.0]
    trainer.sync()
    eager_w = Value(2.0)
    eager = micrograd.Adam([eager_w], lr=0.1)
    eager_w.grad = 15.0
    eager.step()
    assert (w.data, w.grad, opt.state()) == (eager_w.data, 15.0, eager.state())
    w.data = 1.0
    opt.load_state({"m": [0.5], "v": [4.0]})
    trainer.load()  # the data and the state set by hand are taken again
    x.data = 2.0  # an input leaf: read at every step
    assert step() == 0.5
    trainer.sync()
    eager_w.data, eager_w.grad = 1.0, 2.0
    eager.load_state({"m": [0.5], "v": [4.0]})
    eager.step()
    assert (w.data, opt.state()) == (eager_w.data, eager.state())
    assert x.grad == 0.0


def test_a_native_step_whose_loss_is_a_parameter_or_reads_none() -> None:
    a, b = Value(1.0, "a"), Value(2.0, "b")
    trainer = Trainer(micrograd.SGD([a, b], lr=0.5), backend="native")
    assert trainer.compile(b)() == 2.0
    assert trainer.compile(Value(3.0) * 2.0)() == 6.0  # no parameter in the graph, larger
    trainer.sync()
    assert (a.data, a.grad, b.data, b.grad) == (1.0, 0.0, 1.5, 0.0)


@pytest.mark.parametrize("backend", ["python", "native"])
def test_inputs_and_x_are_checked(backend: str) -> None:
    w, x, y = Value(1.0, "w"), Value(1.0, "x"), Value(2.0, "y")
    trainer = Trainer(micrograd.SGD([w], lr=0.1), backend=backend)
    with pytest.raises(ValueError, match="input 0 is a parameter"):
        trainer.compile(w * x, inputs=[w])
    with pytest.raises(ValueError, match="input 1 is a parameter or an earlier input"):
        trainer.compile(w * x, inputs=[x, x])
    with pytest.raises(TypeError, match="input 0 must be a leaf Value, got made by op 'mul'"):
        trainer.compile(w * x, inputs=[w * x])
    step = trainer.compile(w * x * y, inputs=[x])  # y: another leaf, read from its Value
    with pytest.raises(ValueError, match="step: x has 2 values for 1 inputs"):
        step([1.0, 2.0])
    with pytest.raises(TypeError, match=r"step: x\[0\] needs an int or float, got bool"):
        step([True])
    assert w.data == 1.0 and trainer.grads == [0.0]
    assert step([3]) == 6.0 and x.data == 1.0  # an int is taken as a float; x not written
    y.data = 4.0
    w1 = 1.0 - 0.1 * 6.0
    assert step() == w1 * 1.0 * 4.0  # x read from its leaf
    trainer.sync()
    assert w.data == w1 - 0.1 * 4.0
    with pytest.raises(ValueError, match="backend must be 'python' or 'native'"):
        Trainer(micrograd.SGD([w], lr=0.1), backend="c")
