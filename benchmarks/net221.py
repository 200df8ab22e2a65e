"""net221: the lecture notes' 2-2-1 sigmoid network, trained per sample on XOR.

a1 = w11·x1 + w12·x2 + b1, a2 = w21·x1 + w22·x2 + b2, z = σ(a), ŷ = w1·z1 + w2·z2 + b,
E = ½(y − ŷ)², then p ← p − α·∂E/∂p after every sample. µs per sample step.

Floor: the notes' hand formulas in floats, corrected (∂E/∂ŷ = ŷ − y, see DESIGN.md).

Also ``train()`` itself on XOR, per sample, with compile=False (the graph rebuilt at each
sample) and compile=True (recorded once per target and replayed; the recording is timed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from time import perf_counter
from types import ModuleType
from typing import Any

from benchmarks import harness
from micrograd import Value
from micrograd import data as datasets
from micrograd.losses import half_squared_error
from micrograd.nn import Net221
from micrograd.train import train

NAMES = Net221.NAMES  # w11 w12 w21 w22 b1 b2 w1 w2 b
XOR = [((x1, x2), y) for (x1, x2), y in datasets.xor()]  # targets 0 / 1
SEED = 0
LR = 0.5


def engine_sample_step(net: Net221, params: list[Value], x1: float, x2: float, y: float,
                       lr: float) -> Value:
    """E = ½(y − ŷ)² for one sample, backward, p ← p − lr·∂E/∂p; returns E."""
    loss = half_squared_error(net(x1, x2), y)
    net.zero_grad()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))


def floor_sample_step(p: list[float], x1: float, x2: float, y: float,
                      lr: float) -> tuple[float, list[float]]:
    """The notes' formulas (corrected) on floats in NAMES order, updated in place; E and ∂E/∂p."""
    w11, w12, w21, w22, b1, b2, w1, w2, b = p
    z1 = _sigmoid(w11 * x1 + w12 * x2 + b1)
    z2 = _sigmoid(w21 * x1 + w22 * x2 + b2)
    y_hat = w1 * z1 + w2 * z2 + b
    d = y_hat - y  # ∂E/∂ŷ (the notes print y − ŷ: a sign error)
    d1 = d * w1 * z1 * (1.0 - z1)  # ∂E/∂a1 = ∂E/∂ŷ · w1 · f'(a1), f' = f(1 − f)
    d2 = d * w2 * z2 * (1.0 - z2)  # ∂E/∂a2 (the notes print (y − 1) here: a typo)
    grads = [d1 * x1, d1 * x2, d2 * x1, d2 * x2, d1, d2, d * z1, d * z2, d]
    p[:] = [pi - lr * gi for pi, gi in zip(p, grads)]
    return 0.5 * d * d, grads


def torch_sample_step(torch: ModuleType, t: dict[str, Any], x1: float, x2: float, y: float,
                      lr: float) -> Any:
    """The same on 0-d float64 tensors."""
    z1 = torch.sigmoid(t["w11"] * x1 + t["w12"] * x2 + t["b1"])
    z2 = torch.sigmoid(t["w21"] * x1 + t["w22"] * x2 + t["b2"])
    loss = 0.5 * (y - (t["w1"] * z1 + t["w2"] * z2 + t["b"])) ** 2
    for p in t.values():
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in t.values():
            p -= lr * p.grad
    return loss


def run(epochs: dict[str, int], repeat: int, torch: ModuleType | None) -> list[harness.Row]:
    """Rows: µs per sample step (epochs of 4 XOR samples per run, per engine)."""
    net = Net221(activation="sigmoid", seed=SEED)
    params = net.parameters()
    named = dict(net.named_parameters())
    floats = [named[k].data for k in NAMES]

    def engine_epoch() -> None:
        for (x1, x2), y in XOR:
            engine_sample_step(net, params, x1, x2, y, LR)

    def floor_epoch() -> None:
        for (x1, x2), y in XOR:
            floor_sample_step(floats, x1, x2, y, LR)

    epoch_of: dict[str, Callable[[], None]] = {"engine": engine_epoch, "floor": floor_epoch}
    if torch is not None:
        tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
                   for k, v in zip(NAMES, floats)}

        def torch_epoch() -> None:
            for (x1, x2), y in XOR:
                torch_sample_step(torch, tensors, x1, x2, y, LR)

        epoch_of["torch"] = torch_epoch

    def timed(epoch: Callable[[], None], count: int) -> Callable[[], dict[str, float]]:
        def run_epochs() -> dict[str, float]:
            t0 = perf_counter()
            for _ in range(count):
                epoch()
            return {"us": 1e6 * (perf_counter() - t0) / (count * len(XOR))}

        return run_epochs

    def train_run(compiled: bool, count: int) -> Callable[[], dict[str, float]]:
        def run_train() -> dict[str, float]:
            model = Net221(activation="sigmoid", seed=SEED)
            t0 = perf_counter()
            history = train(model, XOR, lr=LR, epochs=count, tol=0.0, compile=compiled)
            return {"us": 1e6 * (perf_counter() - t0) / (history.epochs * len(XOR))}

        return run_train

    for epoch in epoch_of.values():
        epoch()  # warm-up
    results = harness.interleave(
        {name: timed(epoch, epochs[name]) for name, epoch in epoch_of.items()}, repeat)
    count = epochs.get("train", epochs["engine"])
    trained = harness.interleave({"eager": train_run(False, count),
                                  "compiled": train_run(True, count),
                                  "floor": timed(floor_epoch, epochs["floor"])}, repeat)
    floor = harness.median(trained["floor"]["us"])
    return [
        harness.row(results, "net221", "µs per sample step (XOR)", "us"),
        *(harness.Row("net221", f"train() µs per sample step, compile={name == 'compiled'}",
                      harness.median(trained[name]["us"]), floor,
                      runs={"engine": trained[name]["us"]})
          for name in ("eager", "compiled")),
    ]
