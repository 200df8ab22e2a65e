"""The optimisers: SGD against its formula, Adam and AdamW against torch.optim step for step."""

from __future__ import annotations

import math

import pytest

from micrograd.engine import Value
from micrograd.optim import SGD, Adam, AdamW, Optimizer

# ---- SGD ------------------------------------------------------------------------------


def test_sgd_step_is_p_minus_lr_grad() -> None:
    a, b = Value(1.0), Value(-2.0)
    a.grad, b.grad = 0.5, -4.0
    opt = SGD([a, b], lr=0.1)
    opt.step()
    assert (a.data, b.data) == (1.0 - 0.1 * 0.5, -2.0 - 0.1 * -4.0)
    opt.zero_grad()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_sgd_momentum_accumulates_velocity() -> None:
    p = Value(0.0)
    opt = SGD([p], lr=0.5, momentum=0.9)
    v, want = 0.0, 0.0
    for g in (1.0, 2.0, -1.0):
        p.grad = g
        opt.step()
        v = 0.9 * v + g
        want -= 0.5 * v
        assert p.data == want


def test_sgd_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="lr"):
        SGD([Value(1.0)], lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        SGD([Value(1.0)], lr=0.1, momentum=1.0)
    with pytest.raises(TypeError, match="parameter 0"):
        SGD([1.0], lr=0.1)  # type: ignore[list-item]


# ---- Adam and AdamW against torch.optim -------------------------------------------------


def bowl(a, b, c):
    """A curved loss of three parameters; the same formula on Values and on torch tensors."""
    return (1 - a) ** 2 + 5 * (b - a * a) ** 2 + (c * b).tanh() + 0.1 * c**4


START = (-0.8, 1.3, 0.4)
ADAM_CASES = [
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1, "betas": (0.0, 0.5)}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.5}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.0}),
]


@pytest.mark.parametrize(("name", "options"), ADAM_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(ADAM_CASES)])
def test_adam_and_adamw_match_torch_step_for_step(torch, name: str, options: dict) -> None:
    ours = [Value(x) for x in START]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt = {"Adam": Adam, "AdamW": AdamW}[name](ours, **options)
    reference_opt = getattr(torch.optim, name)(theirs, **options)
    for step in range(20):
        if step == 10:  # lr is a plain attribute, as param_groups' lr is in torch
            opt.lr *= 0.5
            reference_opt.param_groups[0]["lr"] *= 0.5
        opt.zero_grad()
        bowl(*ours).backward()
        opt.step()
        reference_opt.zero_grad()
        bowl(*theirs).backward()
        reference_opt.step()
        for p, q in zip(ours, theirs):
            assert p.data == pytest.approx(q.item(), rel=1e-12, abs=1e-12), (step, p, q)
    moved = max(abs(p.data - x) for p, x in zip(ours, START))
    assert moved > 10 * opt.lr  # the runs went somewhere: 20 steps of about lr each
    assert opt.steps == 20


def test_adam_defaults_are_torchs() -> None:
    adam, adamw = Adam([Value(1.0)]), AdamW([Value(1.0)])
    for opt in (adam, adamw):
        assert (opt.lr, opt.betas, opt.eps) == (1e-3, (0.9, 0.999), 1e-8)
    assert (adam.weight_decay, adamw.weight_decay) == (0.0, 0.01)
    assert isinstance(adamw, Adam) and isinstance(adam, Optimizer)


def test_adam_first_step_is_lr_times_the_sign_of_the_gradient() -> None:
    """m̂ = g, v̂ = g² at t = 1, so the step is lr·g/(|g| + eps)."""
    p, q = Value(2.0), Value(-1.0)
    p.grad, q.grad = 3.0, -1e-3
    Adam([p, q], lr=0.1, eps=1e-300).step()
    assert p.data == pytest.approx(2.0 - 0.1, rel=1e-15, abs=0.0)
    assert q.data == pytest.approx(-1.0 + 0.1, rel=1e-15, abs=0.0)


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"lr": 0.0}, "lr"), ({"lr": -1e-3}, "lr"), ({"lr": math.inf}, "lr"),
        ({"lr": math.nan}, "lr"), ({"lr": "0.1"}, "lr"),
        ({"betas": (1.0, 0.999)}, r"betas\[0\]"), ({"betas": (0.9, -0.1)}, r"betas\[1\]"),
        ({"betas": (math.nan, 0.9)}, r"betas\[0\]"), ({"betas": (0.9, math.inf)}, r"betas\[1\]"),
        ({"betas": (0.9,)}, "betas"), ({"betas": 0.9}, "betas"),
        ({"eps": 0.0}, "eps"), ({"eps": -1e-8}, "eps"), ({"eps": math.nan}, "eps"),
        ({"weight_decay": -0.1}, "weight_decay"), ({"weight_decay": math.inf}, "weight_decay"),
        ({"weight_decay": math.nan}, "weight_decay"),
    ],
)
@pytest.mark.parametrize("make", [Adam, AdamW])
def test_adam_rejects_bad_hyperparameters_naming_them(make, options: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        make([Value(1.0)], **options)


def test_optimizers_reject_a_parameter_that_is_not_a_value() -> None:
    with pytest.raises(TypeError, match="AdamW: parameter 1"):
        AdamW([Value(1.0), 2.0])  # type: ignore[list-item]


def test_load_state_takes_what_state_gives() -> None:
    a, b = Value(1.0), Value(-2.0)
    adam, twin = Adam([a, b], lr=0.1), Adam([Value(1.0), Value(-2.0)], lr=0.1)
    for opt in (adam, twin):
        for p, g in zip(opt.params, (0.5, -1.5)):
            p.grad = g
        opt.step()
    fresh = Adam([Value(1.0), Value(-2.0)], lr=0.1)
    fresh.load_state(adam.state())
    fresh.steps = adam.steps
    for p, q in zip(fresh.params, adam.params):
        p.data, p.grad = q.data, 0.25
    for opt in (fresh, twin):
        for p in opt.params:
            p.grad = 0.25
        opt.step()
    assert [p.data for p in fresh.params] == [p.data for p in twin.params]
    assert fresh.state() == twin.state() != adam.state()
    momentum = SGD([a], lr=0.1, momentum=0.5)
    momentum.load_state({"velocity": [3]})
    assert momentum.state() == {"velocity": [3.0]}
    SGD([a], lr=0.1).load_state({})  # plain SGD: no state
    with pytest.raises(ValueError, match=r"Adam.load_state: state must have the keys \['m', 'v'\]"):
        fresh.load_state({"m": [0.0, 0.0]})
    with pytest.raises(ValueError, match="'velocity' has 2 values for 1 parameters"):
        momentum.load_state({"velocity": [0.0, 1.0]})
    with pytest.raises(TypeError, match="'velocity'"):
        momentum.load_state({"velocity": ["fast"]})
    assert momentum.state() == {"velocity": [3.0]}
    with pytest.raises(TypeError, match="'v'"):
        fresh.load_state({"m": [1.0, 2.0], "v": [1.0, None]})
    assert fresh.state() == twin.state()  # a bad state changes nothing


def test_advance_is_adams_schedule() -> None:
    opt = Adam([Value(1.0)], lr=0.1, betas=(0.8, 0.9))
    assert opt.advance() == (0.1 / (1.0 - 0.8), (1.0 - 0.9) ** 0.5) and opt.steps == 1
    assert opt.advance() == (0.1 / (1.0 - 0.8**2), (1.0 - 0.9**2) ** 0.5) and opt.steps == 2
