"""micrograd.owners: what state_dict(), save(), load_state_dict() and train() read of a model whose
parameters a Trainer holds is current, bit for bit; the registry holds its trainers weakly."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path
from typing import Any

import pytest
from conftest import Quadratic, require_module

import micrograd
from micrograd import MLP, Value, owners
from micrograd.compiler import Trainer
from micrograd.losses import half_squared_error
from micrograd.optim import OPTIMIZERS

BACKENDS = ["python", "native"]  # the Trainer's: where it holds the parameters
SAMPLES = [((0.5, -1.0, 0.25), 1.0), ((-0.3, 0.8, 1.5), -0.5), ((1.2, 0.1, -0.7), 0.25)]
EPOCHS = 2


def make_trainer(opt: Any, backend: str) -> Trainer:
    if backend == "native":
        require_module("llvmlite")
    return Trainer(opt, backend=backend)


def model() -> MLP:
    return MLP(3, [4, 1], activation="tanh", seed=5)


def eager(optimizer: str, then: int = 0) -> MLP:
    """The notes' loop on the Values (zero_grad, backward, step, per sample) for EPOCHS, then
    train() for then epochs with the same optimiser, then EPOCHS again."""
    net = model()
    opt = OPTIMIZERS[optimizer](net.parameters(), lr=0.05)

    def epochs() -> None:
        for _ in range(EPOCHS):
            for x, y in SAMPLES:
                opt.zero_grad()
                half_squared_error(net(*x), y).backward()
                opt.step()

    epochs()
    if then:
        micrograd.train(net, SAMPLES, epochs=then, tol=0.0, optimizer=opt, compile=False)
        epochs()
    return net


def replayed(optimizer: str, backend: str) -> tuple[MLP, Trainer, Any]:
    """The same EPOCHS by a Trainer (which holds the parameters): the model, the trainer, and
    a function that runs EPOCHS more of its steps."""
    net = model()
    opt = OPTIMIZERS[optimizer](net.parameters(), lr=0.05)
    trainer = make_trainer(opt, backend)
    xs, y = [Value(0.0, f"x{i + 1}") for i in range(3)], Value(0.0, "y")
    step = trainer.compile(half_squared_error(net(*xs), y))

    def epochs() -> None:
        for _ in range(EPOCHS):
            for x, t in SAMPLES:
                for leaf, v in zip(xs, x):
                    leaf.data = v
                y.data = t
                step()

    epochs()
    return net, trainer, epochs


def values(net: MLP) -> tuple[list[float], list[float]]:
    return [p.data for p in net.parameters()], [p.grad for p in net.parameters()]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_state_dict_syncs_the_trainer_first(optimizer: str, backend: str) -> None:
    start = model().state_dict()
    net, trainer, _ = replayed(optimizer, backend)
    assert values(net)[0] == list(start.values())  # the Values are stale: the trainer holds them
    state = net.state_dict()
    expected = eager(optimizer)
    assert state == expected.state_dict() != start  # the eager run's numbers, bit for bit
    assert values(net) == values(expected)  # the grads of the latest step too
    trainer.sync()
    assert {name: p.data for name, p in net.named_parameters()} == state


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_writes_the_current_numbers(tmp_path: Path, backend: str) -> None:
    net, _, _epochs = replayed("adam", backend)  # its step kept, not the trainer
    net.save(tmp_path / "net.json")
    saved = json.loads((tmp_path / "net.json").read_text(encoding="utf-8"))["parameters"]
    assert saved == eager("adam").state_dict() != model().state_dict()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_dropped_trainer_leaves_the_registry_and_keeps_no_model(backend: str) -> None:
    net, trainer, epochs = replayed("sgd", backend)
    params = net.parameters()
    assert len(owners.owners(params)) == 1 and owners.owners([Value(1.0)]) == []
    dead_net, dead_trainer = weakref.ref(net), weakref.ref(trainer)
    del net
    gc.collect()
    assert dead_net() is None  # the registry holds no model (the trainer holds its Values)
    del trainer
    gc.collect()
    assert len(owners.owners(params)) == 1  # its step still steps the numbers it holds
    del epochs
    gc.collect()
    assert dead_trainer() is None and owners.owners(params) == []


def two_models(backend: str, steps: int) -> tuple[Quadratic, Quadratic, Trainer, Any]:
    """One Trainer over two models' parameters, after steps steps (the Values as made)."""
    first, second = Quadratic(), Quadratic()
    opt = OPTIMIZERS["sgd"]([*first.parameters(), *second.parameters()], lr=0.05)
    trainer = make_trainer(opt, backend)
    x = Value(0.7, "x")
    step = trainer.compile(half_squared_error(first(x) + second(x), 2.0))
    for _ in range(steps):
        step()
    return first, second, trainer, step


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_state_dict_hands_the_numbers_to_the_trainer(backend: str) -> None:
    """A Trainer over two models: loading one takes its numbers, the other keeps the trainer's."""
    first, second, trainer, step = two_models(backend, 4)
    start = Quadratic().state_dict()
    assert second.state_dict() != start  # (synced: the Values are current)
    step()  # and stale again
    _, expected, other, _ = two_models(backend, 5)
    other.sync()
    first.load_state_dict(start)
    trainer.sync()  # without the reload, this would write the trained numbers back
    assert first.state_dict() == start and second.state_dict() == expected.state_dict()
    step()  # the next step from the loaded numbers
    assert first.state_dict() != start


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_starts_from_the_trainers_numbers_and_hands_its_own_back(backend: str) -> None:
    net, trainer, _ = replayed("sgd", backend)
    expected = eager("sgd")
    micrograd.train(net, SAMPLES, lr=0.05, epochs=2, compile=False)
    micrograd.train(expected, SAMPLES, lr=0.05, epochs=2, compile=False)
    assert values(net)[0] == values(expected)[0]
    trainer.sync()  # the trainer took train()'s numbers at its end
    assert values(net)[0] == values(expected)[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_with_the_trainers_adam_hands_its_moments_over_and_back(backend: str) -> None:
    """Trainer steps, train(optimizer=the trainer's Adam), the trainer's steps again: the eager
    run's numbers, bit for bit (Adam's moments and step count carried over both ways)."""
    net, trainer, epochs = replayed("adam", backend)
    micrograd.train(net, SAMPLES, epochs=3, tol=0.0, optimizer=trainer.optimizer,
                    compile=False)
    epochs()
    assert net.state_dict() == eager("adam", then=3).state_dict()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_new_trainer_reads_the_current_numbers(backend: str) -> None:
    net, _, _epochs = replayed("sgd", backend)  # the first trainer, kept by its step
    again = make_trainer(OPTIMIZERS["sgd"](net.parameters(), lr=0.05), backend)  # first syncs
    expected = eager("sgd").state_dict()
    again.sync()  # writes what it read when it was made
    assert {name: p.data for name, p in net.named_parameters()} == expected
    assert len(owners.owners(net.parameters())) == 2

