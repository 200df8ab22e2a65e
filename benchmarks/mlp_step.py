"""mlp_step: one full-batch training step of the classic micrograd demo.

100 two-moons points, a 2-16-16-1 MLP (ReLU hidden layers, linear output),
loss = mean_i relu(1 − y_i·score_i) + α·Σp² (α = 1e-4), then backward and an SGD
update p ← p − lr·∂loss/∂p. ms per step, and the number of graph nodes per step.

The engine side is written the way a user would write it: ``model(x1, x2)``,
Value operators, ``Value.sum``, ``loss.backward()``, ``p.data -= lr * p.grad``.
Compiled: the same loss recorded once with ``micrograd.compile`` and replayed each step;
on a ``compiler.Trainer`` (the parameters and SGD on lists); and on a native Trainer
(``backend="native"``, the ``[native]`` extra: machine-code arrays; skipped without llvmlite).

Floor: the same network in floats with the backward pass derived by hand:
∂loss/∂score_i = −y_i/n where 1 − y_i·score_i > 0 (else 0, relu'(0) = 0), back
through each layer z = W·h + b with ∂z/∂W = h, ∂z/∂h = W and the ReLU mask
(1 where z > 0), plus ∂(α·Σp²)/∂p = 2α·p.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from operator import mul
from time import perf_counter
from types import ModuleType
from typing import Any

from benchmarks import harness
from micrograd import SGD, Value, compile
from micrograd import data as datasets
from micrograd.compiler import Trainer
from micrograd.engine import topological_order
from micrograd.nn import MLP

N_POINTS, NOISE, DATA_SEED = 100, 0.1, 0
SIZES = [16, 16, 1]
MODEL_SEED = 0
ALPHA = 1e-4  # weight of the L2 term
LR = 0.05

Sample = tuple[tuple[float, float], float]
Layers = list[tuple[list[list[float]], list[float]]]  # per layer: W[j][i], b[j]


# ---- data and model ------------------------------------------------------------------


def moons(n: int = N_POINTS) -> list[Sample]:
    """n two-moons points ((x1, x2), y) with y = ±1 (micrograd.data.moons)."""
    return [((x1, x2), y) for (x1, x2), y in datasets.moons(n, NOISE, DATA_SEED)]


def make_model() -> MLP:
    """The 2-16-16-1 ReLU MLP (linear output layer), seeded."""
    return MLP(2, SIZES, activation="relu", seed=MODEL_SEED)


def layer_values(model: MLP) -> list[tuple[list[list[Value]], list[Value]]]:
    """The model's parameter Values as (W[j][i], b[j]) per layer."""
    return [([list(n.w) for n in layer.neurons], [n.b for n in layer.neurons])
            for layer in model.layers]


def layer_floats(model: MLP) -> Layers:
    """The model's weights as floats, per layer (W[j][i], b[j])."""
    return [([[w.data for w in row] for row in W], [b.data for b in B])
            for W, B in layer_values(model)]


def flatten_like(model: MLP, per_layer: Layers) -> list[float]:
    """Numbers given per layer, in the order of model.parameters() (matched by identity)."""
    where: dict[int, float] = {}
    for (W, B), (fW, fB) in zip(layer_values(model), per_layer):
        for row, frow in zip(W, fW):
            where.update((id(w), f) for w, f in zip(row, frow))
        where.update((id(b), f) for b, f in zip(B, fB))
    return [where[id(p)] for p in model.parameters()]


# ---- the engine ------------------------------------------------------------------------


def engine_loss(model: MLP, params: list[Value], data: list[Sample]) -> Value:
    """mean_i relu(1 − y_i·model(x_i)) + α·Σp², as a user writes it."""
    scores = [model(x1, x2) for (x1, x2), _ in data]
    margins = [(1 - y * score).relu() for score, (_, y) in zip(scores, data)]
    return Value.sum(margins) / len(data) + ALPHA * Value.sum(p * p for p in params)


def engine_step(model: MLP, params: list[Value], data: list[Sample], lr: float) -> Value:
    """One full-batch step: loss, zero_grad, backward, p ← p − lr·grad. Returns the loss."""
    loss = engine_loss(model, params, data)
    model.zero_grad()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss


# ---- the floor: floats and a hand-derived backward -------------------------------------


def floor_step(layers: Layers, data: list[Sample], lr: float) -> tuple[float, Layers]:
    """One full-batch step on float weights (updated in place); the loss and gradients before it."""
    n = len(data)
    last = len(layers) - 1
    grads: Layers = [([[0.0] * len(row) for row in W], [0.0] * len(B)) for W, B in layers]
    total = 0.0
    for (x1, x2), y in data:
        inputs = []  # the input h of each layer
        pre = []  # the pre-activation z = W·h + b of each layer
        h = [x1, x2]
        for k, (W, B) in enumerate(layers):
            z = [sum(map(mul, row, h)) + b for row, b in zip(W, B)]
            inputs.append(h)
            pre.append(z)
            h = [zj if zj > 0 else 0.0 for zj in z] if k < last else z
        margin = 1.0 - y * h[0]
        if margin <= 0:
            continue  # relu(margin) = 0 and relu'(margin) = 0: no gradient from this point
        total += margin
        g = [-y / n]  # ∂loss/∂score
        for k in range(last, -1, -1):
            W, _ = layers[k]
            gW, gB = grads[k]
            if k < last:  # through the ReLU: ∂h/∂z = 1 where z > 0, else 0
                g = [gj if zj > 0 else 0.0 for gj, zj in zip(g, pre[k])]
            x = inputs[k]
            gx = [0.0] * len(x)
            for j, gj in enumerate(g):
                if gj == 0.0:
                    continue
                gB[j] += gj  # ∂z_j/∂b_j = 1
                row = gW[j]
                for i, xi in enumerate(x):  # ∂z_j/∂W_ji = x_i
                    row[i] += gj * xi
                if k:
                    for i, wji in enumerate(W[j]):  # ∂z_j/∂x_i = W_ji
                        gx[i] += gj * wji
            g = gx
    squares = 0.0
    for (W, B), (gW, gB) in zip(layers, grads):  # the L2 term: ∂(α·Σp²)/∂p = 2α·p
        for row, grow in zip(W, gW):
            for i, w in enumerate(row):
                squares += w * w
                grow[i] += 2 * ALPHA * w
        for j, b in enumerate(B):
            squares += b * b
            gB[j] += 2 * ALPHA * b
    for (W, B), (gW, gB) in zip(layers, grads):  # SGD
        for row, grow in zip(W, gW):
            row[:] = [w - lr * g for w, g in zip(row, grow)]
        B[:] = [b - lr * g for b, g in zip(B, gB)]
    return total / n + ALPHA * squares, grads


# ---- PyTorch: the same scalar code on 0-d float64 tensors ------------------------------


def torch_layers(torch: ModuleType, layers: Layers) -> tuple[list[Any], list[Any]]:
    """The weights as 0-d float64 leaf tensors: per layer (W, b), and the flat parameter list."""
    def leaf(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    tl = [([[leaf(w) for w in row] for row in W], [leaf(b) for b in B]) for W, B in layers]
    flat = [p for W, B in tl for row_or_b in ([*W, B]) for p in row_or_b]
    return tl, flat


def torch_step(torch: ModuleType, tl: list[Any], params: list[Any], data: list[Sample],
               lr: float) -> Any:
    """One step with one tensor op per scalar operation (as a scalar engine does it)."""
    last = len(tl) - 1
    margins = []
    for (x1, x2), y in data:
        h: list[Any] = [x1, x2]
        for k, (W, B) in enumerate(tl):
            z = [sum((w * x for w, x in zip(row, h)), b) for row, b in zip(W, B)]
            h = [zj.relu() for zj in z] if k < last else z
        margins.append((1 - y * h[0]).relu())
    loss = sum(margins) / len(data) + ALPHA * sum(p * p for p in params)
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss


# ---- the workload --------------------------------------------------------------------


def _timed(step: Callable[[], Any], inner: int) -> Callable[[], dict[str, float]]:
    def run() -> dict[str, float]:
        t0 = perf_counter()
        for _ in range(inner):
            step()  # the step's graph is freed when it returns: part of the cost
        return {"ms": 1e3 * (perf_counter() - t0) / inner}

    return run


def run(n_points: int, inner: dict[str, int], repeat: int,
        torch: ModuleType | None) -> list[harness.Row]:
    """Rows: ms per step (target engine/floor ≤ 25), compiled, and nodes per step."""
    data = moons(n_points)
    model = make_model()
    params = model.parameters()
    layers = layer_floats(model)  # every engine starts from the same weights
    nodes = len(topological_order(engine_loss(model, params, data)))

    def engine() -> None:
        engine_step(model, params, data, LR)

    def floor() -> None:
        floor_step(layers, data, LR)

    steps: dict[str, Callable[[], Any]] = {"engine": engine, "floor": floor,
                                           "compiled": compiled_step(data),
                                           "trainer": trainer_step(data, "python")[1]}
    native = harness.native_available()
    if native:
        steps["native trainer"] = trainer_step(data, "native")[1]
    if torch is not None:
        tl, tparams = torch_layers(torch, layers)

        def torch_run() -> None:
            torch_step(torch, tl, tparams, data, LR)

        steps["torch"] = torch_run
    runners = {name: _timed(step, inner[name]) for name, step in steps.items()}
    for step in steps.values():  # warm-up: one untimed step each
        step()
    results = harness.interleave(runners, repeat)
    name = "mlp_step"
    size = f"{n_points} pts, 2-{'-'.join(map(str, SIZES))}"
    line = partial(harness.against_floor, results, name)  # line(engine, metric, target, check)
    rows = [
        harness.row(results, name, f"ms per step ({size})", "ms",
                    "ratio ≤ 25", harness.ratio_at_most(25)),
        line("compiled", "ms per step, compiled"),
        line("trainer", "ms per step, compiled Trainer"),
        line("native trainer", "ms per step, native Trainer", "≥ 5x faster than the floor",
             harness.ratio_at_most(0.2)) if native else harness.skipped_native(name),
        harness.Row(name, "graph nodes per step", float(nodes)),
    ]
    return rows


def trainer_step(data: list[Sample], backend: str,
                 lr: float = LR) -> tuple[Trainer, Callable[[], float]]:
    """engine_step on a Trainer of the given backend: a model of its own, its loss recorded
    once, each call zero grads, forward, backward and SGD on the trainer's arrays."""
    model = make_model()
    params = model.parameters()
    trainer = Trainer(SGD(params, lr), backend=backend)
    return trainer, trainer.compile(engine_loss(model, params, data))


def compiled_step(data: list[Sample], lr: float = LR) -> Callable[[], float]:
    """engine_step replayed: a model of its own, its loss compiled once."""
    model = make_model()
    params = model.parameters()
    graph = compile(engine_loss(model, params, data))

    def step() -> float:
        model.zero_grad()
        loss = graph()
        for p in params:
            p.data -= lr * p.grad
        return loss

    return step
