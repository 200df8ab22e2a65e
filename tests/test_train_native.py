"""train(..., compile="native"): compile=False's floats, bit for bit, from graphs replayed natively;
the extra named before any work; the training page of a native run."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from conftest import Quadratic, require_dot, require_module
from test_compiler import assert_same_training

import micrograd
from micrograd import Value, compiler, data, losses
from micrograd.nn import MLP, Net221

training = importlib.import_module("micrograd.train")  # the module: micrograd.train is the function


def count_native(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The graphs train() compiles with backend="native" from now on (the accuracy pass's too)."""
    graphs: list[Any] = []
    original = compiler.compile

    def counting(root: Value, backend: str = "python") -> Any:
        graph = original(root, backend=backend)
        if backend == "native" and root.children:  # not train's one-leaf check of the extra
            graphs.append(graph)
        return graph

    monkeypatch.setattr(compiler, "compile", counting)
    return graphs


@pytest.mark.parametrize("per_sample", [True, False], ids=["per_sample", "full_batch"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("loss", ["half_squared_error", "cross_entropy"])
def test_native_training_is_bit_for_bit_the_eager_run(
        monkeypatch: pytest.MonkeyPatch, per_sample: bool, optimizer: str, loss: str) -> None:
    require_module("llvmlite")
    from micrograd import native

    graphs = count_native(monkeypatch)
    points = data.moons(12, noise=0.1, seed=0)
    outputs = 1
    if loss == "cross_entropy":  # two classes, int targets: one recorded graph per class
        points, outputs = [(x, int(y > 0)) for x, y in points], 2
    history = assert_same_training(lambda: MLP(2, [5, 4, outputs], activation="tanh", seed=2),
                                   points, engine="native", loss=getattr(losses, loss), lr=0.05,
                                   epochs=6, per_sample=per_sample, optimizer=optimizer)
    assert history.losses[-1] < history.losses[0]
    assert all(isinstance(g, native.NativeGraph) for g in graphs)
    if per_sample:  # one graph per class for cross_entropy; and the outputs' graph
        assert len(graphs) == (outputs if loss == "cross_entropy" else 1) + 1
    else:  # the batch's own graph, all samples' inputs among its leaves; the outputs' graph
        assert len(graphs) == 2 and [leaf.label for leaf in graphs[0].leaves].count("x1") == 12


@pytest.mark.usefixtures("no_llvmlite")
def test_without_llvmlite_native_names_the_extra_before_any_work() -> None:
    model = Net221("tanh")
    start = model.state_dict()
    bad = [(("not", "numbers"), 1.0), *data.xor()]  # the check pass would refuse data[0]
    with pytest.raises(ImportError, match=r"pip install 'micrograd-notes\[native\]'"):
        micrograd.train(model, bad, epochs=3, compile="native")
    assert model.state_dict() == start


def test_native_trains_what_auto_would_not_eagerly_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A model of one's own (no branch_free declared): compile=False's floats, a warning."""
    require_module("llvmlite")
    graphs = count_native(monkeypatch)
    points = [((0.1 * i,), 0.5 * (0.1 * i) ** 2 - 0.1 * i) for i in range(-8, 8)]
    with pytest.warns(UserWarning, match=r"train\(compile='native'\): Quadratic is not "
                      r"vouched .*; training eagerly"):
        assert_same_training(Quadratic, points, engine="native", lr=0.05, epochs=4)
    with pytest.warns(UserWarning, match="the loss is not one of losses.LOSSES"):
        assert_same_training(lambda: Net221("tanh"), data.xor(), engine="native",
                             loss=lambda y_hat, y: (y_hat - y) * (y_hat - y), epochs=4)
    assert graphs == []


@pytest.mark.parametrize("per_sample", [True, False], ids=["per_sample", "full_batch"])
def test_the_page_of_a_native_run_is_the_eager_runs(tmp_path: Path, per_sample: bool) -> None:
    """The recorder reads the Values, which the native graphs keep current: the same page."""
    require_module("llvmlite")
    require_dot()
    pages = []
    for engine in ("native", False):
        page = tmp_path / f"{engine}.html"
        micrograd.train(Net221("tanh"), data.xor(), lr=0.5, epochs=8, optimizer="adam",
                        per_sample=per_sample, compile=engine, page=page)
        pages.append(page.read_bytes())
    assert pages[0] == pages[1]


@pytest.mark.parametrize("per_sample", [True, False], ids=["per_sample", "full_batch"])
def test_the_progress_bar_counts_every_sample_of_a_native_run(
        monkeypatch: pytest.MonkeyPatch, per_sample: bool) -> None:
    require_module("llvmlite")
    counted: list[int] = []

    class Bar:
        update = counted.append

        def set_postfix_str(self, text: str, refresh: bool) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(training, "_progress_bar", lambda progress, samples: Bar())
    points = data.moons(40, noise=0.1, seed=1)  # over TICK samples: ticks and a rest
    micrograd.train(MLP(2, [3, 1], seed=1), points, loss=losses.hinge, epochs=3,
                    per_sample=per_sample, compile="native")
    assert sum(counted) == 3 * 40

