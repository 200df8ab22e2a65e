"""mnist: tekknolagi's MNIST network, MLP(784, [50, 10]) with softmax cross-entropy, per sample.

Random 784-pixel inputs in [0, 1) and random classes (nothing downloaded: the shapes are
MNIST's, the numbers are not). One step is one image: its pixels set, forward, backward
and the SGD update p ← p − lr·∂E/∂p of all 39,760 parameters. ms per image (and images/s).

- engine: the graph rebuilt for every image, ``loss.backward()``, ``optimizer.step()``;
- compiled: ``compiler.Trainer``, one recorded step per class with the 784 input leaves as
  ``inputs=``, each image's pixels passed in as floats, ``step(x)``; the parameters and the SGD
  update on lists (written back to the Values once, at the end);
- compiled graph + Values: ``micrograd.compile`` replayed, then SGD over the Values (what
  the package did before the Trainer);
- native Trainer (the ``[native]`` extra, llvmlite): the same with
  ``Trainer(optimizer, backend="native")``: the step and the SGD update machine-code loops over
  arrays that own the parameters. Without llvmlite its rows are skipped with a note.

Floor: the same network in floats, written by hand with the same arithmetic as the graph:
z = Σ w·x + b per neuron (``sum(map(mul, w, x))``), ReLU, the log-sum-exp loss, then
∂E/∂z₂ = softmax(z₂) − onehot(t), ∂E/∂W₂ = g·h, ∂E/∂h = Σ_j W₂ⱼ·gⱼ, the ReLU mask, ∂E/∂W₁ =
g·x, and SGD on every row (no row skipped where its gradient is 0, as the graph skips none).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import partial
from operator import mul
from time import perf_counter
from typing import Any

from benchmarks import harness
from micrograd import SGD, Value, compile
from micrograd.compiler import Trainer
from micrograd.losses import cross_entropy
from micrograd.nn import MLP

PIXELS, SIZES, CLASSES = 784, [50, 10], 10
LR, MODEL_SEED, DATA_SEED = 0.01, 0, 0

Sample = tuple[list[float], int]
Rows = tuple[list[list[float]], list[float]]  # a layer's W[j][i] and b[j]


def images(n: int, seed: int = DATA_SEED) -> list[Sample]:
    """n random images: 784 pixels uniform in [0, 1) and a class in 0..9."""
    rng = random.Random(seed)
    return [([rng.random() for _ in range(PIXELS)], rng.randrange(CLASSES)) for _ in range(n)]


def make_model() -> MLP:
    """MLP(784, [50, 10]): ReLU hidden layer, linear output, seeded."""
    return MLP(PIXELS, SIZES, seed=MODEL_SEED)


def layer_floats(model: MLP) -> list[Rows]:
    """The model's weights as floats per layer, (W[j][i], b[j])."""
    return [([[w.data for w in n.w] for n in layer.neurons], [n.b.data for n in layer.neurons])
            for layer in model.layers]


# ---- the floor -----------------------------------------------------------------------


def floor_step(layers: list[Rows], x: list[float], t: int, lr: float) -> float:
    """One image's SGD step on float weights (updated in place); the loss before it."""
    (W1, B1), (W2, B2) = layers
    z1 = [sum(map(mul, row, x)) + b for row, b in zip(W1, B1)]
    h = [z if z > 0.0 else 0.0 for z in z1]
    z2 = [sum(map(mul, row, h)) + b for row, b in zip(W2, B2)]
    m = max(z2)
    exps = [math.exp(z - m) for z in z2]
    total = math.fsum(exps)
    loss = (m - z2[t]) + math.log(total)
    g2 = [e / total for e in exps]  # ∂E/∂z₂ = softmax(z₂) − onehot(t)
    g2[t] -= 1.0
    gh = [0.0] * len(h)
    for row, g in zip(W2, g2):  # ∂E/∂h_i = Σ_j W₂[j][i]·g_j
        gh = [a + w * g for a, w in zip(gh, row)]
    g1 = [g if z > 0.0 else 0.0 for g, z in zip(gh, z1)]  # through the ReLU
    for W, B, g, inputs in ((W2, B2, g2, h), (W1, B1, g1, x)):  # ∂E/∂W[j][i] = g_j·input_i; SGD
        for j, gj in enumerate(g):
            W[j] = [w - lr * (gj * xi) for w, xi in zip(W[j], inputs)]
            B[j] -= lr * gj
    return loss


# ---- the engine ----------------------------------------------------------------------


def engine_step(model: MLP, optimizer: SGD, x: list[float], t: int) -> float:
    """One image, eagerly: the graph built, backward, the update."""
    optimizer.zero_grad()
    loss = cross_entropy(model(*x), t)
    loss.backward()
    optimizer.step()
    return loss.data


def trainer_steps(model: MLP, optimizer: SGD, classes: list[int], backend: str = "python"
                  ) -> tuple[Trainer, dict[int, Callable[[list[float]], float]]]:
    """A Trainer of the backend over the model, and per class a recorded step that takes the
    784 pixels as floats, ``step(x)`` (the input leaves are its ``inputs=``)."""
    trainer = Trainer(optimizer, backend=backend)
    xs = [Value(0.0, f"x{i}") for i in range(PIXELS)]
    return trainer, {t: trainer.compile(cross_entropy(model(*xs), t), inputs=xs)
                     for t in classes}


def set_inputs(xs: list[Value], x: list[float]) -> None:
    """The pixels into the input leaves."""
    for leaf, v in zip(xs, x):
        leaf.data = v


# ---- the workload --------------------------------------------------------------------


def run(n_images: int, steps: int, repeat: int) -> list[harness.Row]:
    """Rows: ms per image for the eager engine, the compiled Trainer, the compiled graph with
    SGD over the Values, each against the floor of the same run; images/s; compile time."""
    data = images(n_images)
    classes = sorted({t for _, t in data})  # a step compiled for each class the images have
    floor_layers = layer_floats(make_model())
    eager_model = make_model()
    eager_opt = SGD(eager_model.parameters(), LR)
    step_model = make_model()
    t0 = perf_counter()
    trainer, compiled = trainer_steps(step_model, SGD(step_model.parameters(), LR), classes)
    compile_s = (perf_counter() - t0) / len(classes)
    graph_model = make_model()
    graph_params = graph_model.parameters()
    gxs = [Value(0.0, f"x{i}") for i in range(PIXELS)]
    graphs = {t: compile(cross_entropy(graph_model(*gxs), t)) for t in classes}
    native = harness.native_available()
    if native:
        compile(Value(1.0) * 2.0, backend="native")  # once per process: not this graph's cost
        native_model = make_model()
        t0 = perf_counter()
        native_trainer, native_compiled = trainer_steps(
            native_model, SGD(native_model.parameters(), LR), classes, "native")
        native_compile_s = (perf_counter() - t0) / len(classes)
    turn = {"engine": 0, "floor": 0, "compiled": 0, "graph": 0, "native": 0}

    def sample(name: str) -> Sample:
        i = turn[name] = turn[name] + 1
        return data[i % len(data)]

    def floor() -> None:
        x, t = sample("floor")
        floor_step(floor_layers, x, t, LR)

    def engine() -> None:
        x, t = sample("engine")
        engine_step(eager_model, eager_opt, x, t)

    def step() -> None:
        x, t = sample("compiled")
        compiled[t](x)

    def graph() -> None:
        x, t = sample("graph")
        set_inputs(gxs, x)
        for p in graph_params:
            p.grad = 0.0
        graphs[t]()
        for p in graph_params:
            p.data -= LR * p.grad

    def native_step() -> None:
        x, t = sample("native")
        native_compiled[t](x)

    inner = {"floor": steps, "compiled": steps, "graph": max(1, steps // 4),
             "engine": max(1, steps // 20), "native": 10 * steps}
    runs: dict[str, Callable[[], Any]] = {"floor": floor, "compiled": step, "graph": graph,
                                          "engine": engine}
    if native:
        runs["native"] = native_step
    runners = {name: harness.steady(run, inner[name]) for name, run in runs.items()}
    for run_one in runs.values():  # warm-up: one untimed step each
        run_one()
    results = harness.interleave(runners, repeat)
    trainer.sync()
    if native:
        native_trainer.sync()
    floor_ms = harness.median(results["floor"]["ms"])
    line = partial(harness.against_floor, results, "mnist")  # line(engine, metric, target, check)

    def per_second(name: str) -> harness.Row:
        ms = harness.median(results[name]["ms"]) or math.nan
        return harness.Row("mnist", f"images/s, {LABELS[name]}", 1e3 / ms,
                           1e3 / floor_ms if floor_ms else None)

    rows = [
        line("engine", "ms per image, eager (MLP 784-50-10, cross-entropy)"),
        line("compiled", "ms per image, compiled Trainer", "ratio ≤ 1.5",
             harness.ratio_at_most(1.5)),
        line("graph", "ms per image, compiled graph + SGD over Values"),
        per_second("compiled"),
        harness.Row("mnist", "s to compile one class's step", compile_s),
    ]
    if not native:
        return [*rows, harness.skipped_native("mnist")]
    return [
        *rows,
        line("native", "ms per image, native Trainer, step(x)", "≥ 15x faster than the floor",
             harness.ratio_at_most(1 / 15)),
        per_second("native"),
        harness.Row("mnist", "s to compile one class's step, native", native_compile_s,
                    target="< 1 s", passed=native_compile_s < 1.0),
    ]


LABELS = {"compiled": "compiled Trainer", "native": "native Trainer"}
