"""train.py: the notes' gradient descent and the training loop, against hand-written loops."""

from __future__ import annotations

import importlib
import io
import math
import sys
import time
from itertools import pairwise

import pytest

from micrograd import reference
from micrograd.data import moons, spiral, xor
from micrograd.engine import Value
from micrograd.losses import cross_entropy, hinge, mse
from micrograd.nn import MLP, Net221
from micrograd.optim import SGD, Adam, AdamW
from micrograd.train import StopReason, accuracy, correct, gradient_descent, train

training = importlib.import_module("micrograd.train")  # the module: micrograd.train is the function

NAMES = reference.PARAMETER_NAMES


def solves(net: Net221, data: list) -> bool:
    return all(abs(net(*x).data - y) < 0.5 for x, y in data)


# ---- gradient descent --------------------------------------------------------------


def test_gradient_descent_converges_on_a_quadratic_to_the_tolerance() -> None:
    result = gradient_descent(lambda w: (w - 3) ** 2 + 1, 0.0, lr=0.1, tol=1e-8)
    assert result.converged and result.reason == StopReason.CONVERGED
    assert result.reason == "gradient below tolerance" and str(result.reason) == result.reason
    assert isinstance(result.w, float)
    assert abs(2 * (result.w - 3)) < 1e-8 <= abs(2 * (result.path[-2][0] - 3))
    assert result.value == (result.w - 3) ** 2 + 1
    assert len(result.path) == result.steps + 1
    assert result.path[0] == (0.0, 10.0, -6.0)
    for (w, fw, g), (w_next, _, _) in pairwise(result.path):
        assert fw == (w - 3) ** 2 + 1 and g == 2 * (w - 3)  # f'(w) by the engine, exact here
        assert w_next == w - 0.1 * g  # the notes' update
    # |w_k - 3| shrinks by 0.8 a step: |f'| = 6·0.8^k < 1e-8 first at k = 91
    assert result.steps == math.ceil(math.log(6e8) / math.log(1.25))


def test_too_large_a_step_diverges_and_never_claims_convergence() -> None:
    result = gradient_descent(lambda w: (w - 3) ** 2 + 1, 0.0, lr=1.5, tol=1e-8)
    assert not result.converged and result.reason == StopReason.DIVERGED
    assert not math.isfinite(result.value)
    values = [fw for _, fw, _ in result.path]
    assert all(b > a for a, b in pairwise(values))  # f rises at every step
    oscillating = gradient_descent(lambda w: (w - 3) ** 2 + 1, 0.0, lr=1.0, max_steps=50)
    assert not oscillating.converged and oscillating.reason == "step cap reached"
    assert oscillating.steps == 50 and {w for w, _, _ in oscillating.path} == {0.0, 6.0}


def test_a_sequence_start_gives_a_tuple_rosenbrock() -> None:
    def rosenbrock(w: tuple[Value, Value]) -> Value:
        x, y = w
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    result = gradient_descent(rosenbrock, [-1.2, 1.0], lr=1e-3, max_steps=3000)
    assert result.reason == StopReason.STEP_CAP and not result.converged
    assert isinstance(result.w, tuple) and len(result.w) == 2
    assert result.steps == 3000 and len(result.path) == 3001
    w0, f0, g0 = result.path[0]
    assert w0 == (-1.2, 1.0) and f0 == pytest.approx(24.2)
    assert g0 == pytest.approx((-2 * (1 + 1.2) - 400 * -1.2 * (1.0 - 1.44), 200 * (1.0 - 1.44)))
    assert result.value < 0.05 and result.w[0] > 0.75  # well along the valley toward (1, 1)
    longer = gradient_descent(rosenbrock, (-1.2, 1.0), lr=1e-3, tol=1e-4, max_steps=100_000)
    assert longer.converged and longer.w == pytest.approx((1.0, 1.0), abs=1e-3)


def test_gradient_descent_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="f must return a Value"):
        gradient_descent(lambda w: 3.0, 1.0)  # type: ignore[arg-type,return-value]
    for bad in (True, "1", [], [1.0, "x"], None):
        with pytest.raises(TypeError, match="w0"):
            gradient_descent(lambda w: w * w, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lr"):
        gradient_descent(lambda w: w * w, 1.0, lr=-0.1)
    with pytest.raises(ValueError, match="max_steps"):
        gradient_descent(lambda w: w * w, 1.0, max_steps=-1)


def test_a_nan_start_is_reported_as_diverged() -> None:
    result = gradient_descent(lambda w: w * w, math.nan)
    assert result.reason == StopReason.DIVERGED and result.steps == 0


# ---- train ---------------------------------------------------------------------------


def test_one_per_sample_epoch_is_the_notes_updates_in_order() -> None:
    net = Net221("sigmoid", seed=4)
    params = net.state_dict()
    data = xor()
    lr = 0.3
    want_losses = []
    for (x1, x2), y in data:  # the notes' loop, by hand, with the corrected formulas
        y_hat = reference.net221_forward(params, x1, x2, "sigmoid")["ŷ"]
        want_losses.append(0.5 * (y - y_hat) ** 2)
        grads = reference.net221_gradients(params, x1, x2, y, "sigmoid")
        params = {n: params[n] - lr * grads[n] for n in NAMES}
    history = train(net, data, lr=lr, epochs=1)
    assert history.epochs == 1 and history.reason == StopReason.EPOCH_CAP
    assert history.losses[0] == pytest.approx(sum(want_losses) / 4, rel=1e-12)
    got = net.state_dict()
    assert all(got[n] == pytest.approx(params[n], rel=1e-12, abs=1e-300) for n in NAMES)


def test_a_full_batch_epoch_steps_on_the_mean_gradient() -> None:
    net = Net221("tanh", seed=2)
    params = net.state_dict()
    data = xor()
    grads = [reference.net221_gradients(params, x1, x2, y, "tanh") for (x1, x2), y in data]
    mean = {n: sum(g[n] for g in grads) / 4 for n in NAMES}
    history = train(net, data, lr=0.5, epochs=1, per_sample=False)
    got = net.state_dict()
    assert all(got[n] == pytest.approx(params[n] - 0.5 * mean[n], rel=1e-12) for n in NAMES)
    assert history.max_grad == pytest.approx(max(abs(v) for v in mean.values()), rel=1e-12)


def test_step_cannot_learn_and_train_stops_after_one_epoch_saying_so() -> None:
    net = Net221("step", seed=0)
    before = net.state_dict()
    history = train(net, xor(), lr=0.1, epochs=3000)
    assert history.reason == StopReason.NO_HIDDEN_GRADIENT and not history.converged
    assert str(history.reason) == "hidden-layer gradients are exactly zero"
    assert history.epochs == 1 and history.max_grad > 0.0  # w1, w2, b still had gradients
    after = net.state_dict()
    assert [after[n] for n in NAMES[:6]] == [before[n] for n in NAMES[:6]]
    assert any(after[n] != before[n] for n in NAMES[6:])  # the output layer had its epoch
    batch = train(Net221("step", seed=0), xor(), epochs=100, per_sample=False)
    assert batch.reason == StopReason.NO_HIDDEN_GRADIENT and batch.epochs == 1


def test_the_default_tanh_net_solves_xor_deterministically() -> None:
    histories, states = [], []
    for _ in range(2):
        net = Net221("tanh")
        histories.append(train(net, xor(), lr=0.1, epochs=3000))
        states.append(net.state_dict())
        assert solves(net, xor())
    first, second = histories
    assert first.reason == StopReason.CONVERGED and first.converged
    assert first.max_grad < 1e-6 and first.losses[-1] < 1e-10
    assert first.losses == second.losses and states[0] == states[1]
    assert first.epochs == len(first.losses) < 3000


def test_the_default_sigmoid_net_solves_xor() -> None:
    net = Net221()
    history = train(net, xor(), lr=0.1, epochs=3000)
    assert solves(net, xor()) and history.converged


def test_a_huge_step_is_reported_as_diverged() -> None:
    model = MLP(2, [1], seed=0)  # linear regression: nothing saturates, the error just grows
    history = train(model, xor(), lr=10.0, epochs=500)
    assert history.reason == StopReason.DIVERGED and not history.converged
    assert not (math.isfinite(history.losses[-1]) and math.isfinite(history.max_grad))
    assert history.epochs < 500


def test_saturated_tanh_units_freeze_the_hidden_layer() -> None:
    """Too large a step drives tanh to exactly ±1, where 1 - tanh² is exactly 0."""
    history = train(Net221("tanh"), xor(), lr=10.0, epochs=500)
    assert history.reason == StopReason.NO_HIDDEN_GRADIENT and history.epochs < 10


def test_mlp_learns_moons() -> None:
    data = moons(100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], seed=0)
    start = time.perf_counter()
    history = train(model, data, loss=hinge, lr=0.1, epochs=30)
    elapsed = time.perf_counter() - start
    accuracy = sum((model(*x).data > 0) == (y > 0) for x, y in data) / len(data)
    assert accuracy >= 0.95, (accuracy, history.losses[-1])
    assert history.losses[-1] < history.losses[0] / 5
    assert elapsed < 30  # a few seconds on a laptop; generous for a loaded CI machine


def test_train_with_mse_on_a_multi_output_mlp() -> None:
    data = [((0.0,), (0.0, 1.0)), ((1.0,), (1.0, 0.0))]
    model = MLP(1, [4, 2], activation="tanh", seed=1)
    history = train(model, data, loss=mse, lr=0.1, epochs=2000, tol=1e-5)
    assert history.converged
    assert [v.data for v in model(1.0)] == pytest.approx([1.0, 0.0], abs=1e-3)


def test_progress_bar_only_when_asked_or_long_on_a_terminal(capsys: pytest.CaptureFixture) -> None:
    train(Net221("tanh"), xor(), epochs=3)
    assert capsys.readouterr() == ("", "")  # stderr is not a terminal here: silent
    train(Net221("tanh"), xor(), epochs=3, progress=False)
    assert capsys.readouterr() == ("", "")
    train(Net221("tanh"), xor(), epochs=3, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "training" in captured.err and "/12" in captured.err


def test_progress_shows_on_a_terminal_once_the_run_has_taken_long_run_seconds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 29: a 4-minute run showed no bar (it took 200,000 sample-updates); now any run on a
    terminal shows one once it has taken LONG_RUN_SECONDS, counted in samples, a full batch's
    too."""
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for per_sample in (True, False):
        monkeypatch.setattr(training, "LONG_RUN_SECONDS", 0.0)
        monkeypatch.setattr(sys, "stderr", Terminal())
        train(Net221("tanh"), xor(), epochs=3, per_sample=per_sample)
        shown = sys.stderr.getvalue()
        assert "training" in shown and "/12 " in shown and "sample" in shown
        monkeypatch.setattr(training, "LONG_RUN_SECONDS", 60.0)  # a short run stays silent
        monkeypatch.setattr(sys, "stderr", Terminal())
        train(Net221("tanh"), xor(), epochs=3, per_sample=per_sample)
        assert sys.stderr.getvalue() == ""


def test_train_rejects_bad_data_and_arguments() -> None:
    net = Net221()
    with pytest.raises(ValueError, match="empty"):
        train(net, [])
    with pytest.raises(TypeError, match=r"data\[1\] must be a pair"):
        train(net, [((0.0, 1.0), 1.0), (1.0,)])
    with pytest.raises(TypeError, match=r"data\[0\] inputs"):
        train(net, [(0.5, 1.0)])
    with pytest.raises(ValueError, match="lr"):
        train(net, xor(), lr=math.inf)
    with pytest.raises(ValueError, match="epochs"):
        train(net, xor(), epochs=-1)
    with pytest.raises(ValueError, match="tol"):
        train(net, xor(), tol=math.nan)
    by_function = train(Net221(seed=3), xor, epochs=5)  # the data set's function is accepted
    assert by_function.losses == train(Net221(seed=3), xor(), epochs=5).losses
    history = train(net, xor(), epochs=0)
    assert history.epochs == 0 and history.losses == [] and history.reason == "epoch cap reached"


# ---- train with an optimizer, multi-class models, accuracy ----------------------------


def test_train_with_an_optimizer_is_the_hand_written_loop() -> None:
    data = spiral(6, seed=0)
    model, twin = MLP(2, [4, 3], seed=0), MLP(2, [4, 3], seed=0)
    history = train(model, data, loss=cross_entropy, epochs=3, tol=0.0,
                    optimizer=Adam(model.parameters(), lr=0.01))
    opt = Adam(twin.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        total = 0.0
        for x, t in data:
            opt.zero_grad()
            loss = cross_entropy(twin(*x), t)
            loss.backward()
            opt.step()
            total += loss.data
        losses.append(total / len(data))
    assert history.losses == losses
    assert model.state_dict() == twin.state_dict()


def test_train_takes_an_optimizer_by_name() -> None:
    def run(**options):
        net = Net221("tanh", seed=2)
        return train(net, xor(), epochs=20, tol=0.0, **options).losses, net.state_dict()

    assert run(optimizer="sgd") == run()  # SGD's step is the notes' update
    assert run(optimizer="Adam", lr=0.05) != run(lr=0.05)
    net = Net221("tanh", seed=2)
    by_instance = train(net, xor(), epochs=20, tol=0.0,
                        optimizer=AdamW(net.parameters(), lr=0.05)).losses
    assert run(optimizer="adamw", lr=0.05)[0] == by_instance
    batch = Net221("tanh", seed=2)
    history = train(batch, xor(), epochs=5, per_sample=False, optimizer="adam")
    assert history.epochs == 5 and all(map(math.isfinite, history.losses))


def test_train_rejects_a_bad_optimizer() -> None:
    net = Net221()
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'; known: sgd, adam, adamw"):
        train(net, xor(), optimizer="rmsprop")
    with pytest.raises(ValueError, match="Adam's parameters are not the model's"):
        train(net, xor(), optimizer=Adam(Net221().parameters()))
    with pytest.raises(ValueError, match="parameters are not the model's"):
        train(net, xor(), optimizer=SGD(net.parameters()[:3], lr=0.1))
    with pytest.raises(TypeError, match="optimizer must be"):
        train(net, xor(), optimizer=0.1)  # type: ignore[arg-type]
    twice = [*net.parameters(), net.w11]  # the model's set, but w11 would step twice
    with pytest.raises(ValueError, match="Adam: parameter 9 is parameter 0 again"):
        train(net, xor(), optimizer=Adam(twice))


def test_an_optimizer_may_hold_the_parameters_in_another_order() -> None:
    """The hidden-layer check follows the optimizer's order: a step network still stops."""
    net = Net221("step")
    history = train(net, xor(), optimizer=Adam(net.parameters()[::-1], lr=0.01))
    assert history.reason == StopReason.NO_HIDDEN_GRADIENT and history.epochs == 1


def test_a_multi_class_mlp_learns_the_spiral_with_cross_entropy_and_adam() -> None:
    data = spiral(30, seed=0)
    model = MLP(2, [16, 16, 3], seed=0)
    history = train(model, data, loss=cross_entropy, optimizer="adam", lr=0.01, epochs=40)
    assert history.losses[-1] < history.losses[0] / 5
    assert history.accuracy == accuracy(model, data) >= 0.9
    right = sum(max(range(3), key=lambda k: model(*x)[k].data) == t for x, t in data)
    assert history.accuracy == right / len(data)


def test_correct_and_accuracy_follow_the_targets_kind() -> None:
    class Fixed(Net221):
        """A 'model' whose output is given per input."""

        def __init__(self, outputs):
            super().__init__()
            self.outputs = outputs

        def __call__(self, x1, x2):
            out = self.outputs[(x1, x2)]
            return [Value(z) for z in out] if isinstance(out, tuple) else Value(out)

    corners = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    scores = Fixed(dict(zip(corners, [0.4, 0.6, -0.2, 0.2])))
    # targets 0/1: right when ŷ > 0.5 is the target; targets ±1: when ŷ > 0 is
    assert correct(scores, list(zip(corners, [0.0, 1.0, 0.0, 1.0]))) == [True, True, True, False]
    assert correct(scores, list(zip(corners, [-1, 1, -1, 1]))) == [False, True, True, True]
    assert accuracy(scores, list(zip(corners, [-1.0, 1.0, -1.0, 1.0]))) == 0.75
    assert correct(scores, list(zip(corners, [0.5, 1.0, 0.0, 1.0]))) is None  # regression
    logits = Fixed(dict(zip(corners, [(1.0, 2.0, 0.0), (3.0, -1.0, 2.9), (0.0, 0.0, 5.0),
                                      (-1.0, -2.0, -3.0)])))
    assert correct(logits, list(zip(corners, [1, 0, 2, 1]))) == [True, True, True, False]
    assert accuracy(logits, list(zip(corners, [1, 0, 2, 1]))) == 0.75
    assert correct(logits, list(zip(corners, [1.0, 0, 2, 1]))) is None  # not class indices
    assert correct(logits, list(zip(corners, [(0.0, 1.0, 0.0)] * 4))) is None


def test_the_history_reports_accuracy_when_the_targets_are_classes() -> None:
    history = train(Net221("tanh"), xor(), epochs=3000)
    assert history.accuracy == 1.0
    regression = [((0.0,), 0.25), ((1.0,), 0.75)]
    assert train(MLP(1, [2, 1], seed=0), regression, epochs=3).accuracy is None
