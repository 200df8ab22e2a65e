"""karpathy: the original micrograd demo's training step, one graph for every engine.

A 2-16-16-1 MLP on 100 two-moons points, full batch, written the way the original
micrograd's demo writes it: each neuron is ``w0*x0 + w1*x1 + … + b`` folded left with
``+``, ReLU on the hidden layers, and the loss

    (relu(1 − y_1·s_1) + relu(1 − y_2·s_2) + … , left to right) * (1/100)
    + 1e-4 · (p_1·p_1 + p_2·p_2 + … , left to right)

then backward and SGD p ← p − lr·∂loss/∂p. No ``linear`` or ``sum`` node: the step is
written once (``build_loss``) over whatever ``Value`` class it is given, so micrograd
0.1.0, the engine before the teaching core, this engine and PyTorch's 0-d tensors all
build the same graph of about 65,000 nodes, and ``micrograd.compile`` replays it.

Floor: ``mlp_step.floor_step``, the same loss with a hand-derived backward in floats.

Every engine is timed as a training loop runs it: steps back to back, the collector on,
the collection of what they leave included; clean-heap figures beside. Other engines
importable as ``micrograd`` (micrograd 0.1.0 from PyPI, an older checkout) run in a
subprocess with their directory first on sys.path, as does this one for the comparison::

    python -m benchmarks --versus micrograd-0.1.0=DIR

This module imports nothing from micrograd at load time, so that the subprocess
(``python benchmarks/karpathy.py DIR STEPS``) times the engine in DIR.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from statistics import median
from time import perf_counter
from types import ModuleType
from typing import Any

N_POINTS, NOISE, SEED = 100, 0.1, 0
SIZES = [2, 16, 16, 1]
ALPHA = 1e-4  # weight of the L2 term (mlp_step.ALPHA)
LR = 0.01

Sample = tuple[tuple[float, float], int]
Layers = list[tuple[list[list[float]], list[float]]]  # per layer: W[j][i], b[j]


def moons(n: int = N_POINTS, seed: int = SEED) -> list[Sample]:
    """n two-moons points ((x1, x2), y), y = ±1, alternating, with Gaussian noise."""
    rng = random.Random(seed)
    points = []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2:
            x1, x2, y = math.cos(t), math.sin(t), 1
        else:
            x1, x2, y = 1 - math.cos(t), 0.5 - math.sin(t), -1
        points.append(((x1 + rng.gauss(0, NOISE), x2 + rng.gauss(0, NOISE)), y))
    return points


def weights(seed: int = SEED) -> Layers:
    """Weights uniform in [-1, 1] and biases 0, per layer (W[j][i], b[j])."""
    rng = random.Random(seed)
    return [([[rng.uniform(-1, 1) for _ in range(SIZES[k])] for _ in range(SIZES[k + 1])],
             [0.0] * SIZES[k + 1]) for k in range(len(SIZES) - 1)]


# ---- the step, written once over a Value class -----------------------------------------


class Model:
    """The network's parameters and the inputs as leaves of one engine."""

    def __init__(self, leaf: Callable[[float], Any], constant: Callable[[float], Any],
                 layers: Layers, data: Sequence[Sample]) -> None:
        self.layers = [([[leaf(w) for w in row] for row in W], [leaf(b) for b in B])
                       for W, B in layers]
        self.params = [p for W, B in self.layers for row, b in zip(W, B) for p in (*row, b)]
        self.inputs = [[constant(x) for x in xy] for xy, _ in data]
        self.targets = [y for _, y in data]


def build_loss(model: Model) -> Any:
    """The loss graph, with operators and relu() only: the same nodes in every engine."""
    last = len(model.layers) - 1
    losses = []
    for x, y in zip(model.inputs, model.targets):
        for k, (W, B) in enumerate(model.layers):
            outputs = []
            for row, b in zip(W, B):
                act = row[0] * x[0]
                for wi, xi in zip(row[1:], x[1:]):
                    act = act + wi * xi
                act = act + b
                outputs.append(act.relu() if k < last else act)
            x = outputs
        losses.append((1 + -y * x[0]).relu())
    total = losses[0]
    for term in losses[1:]:
        total = total + term
    data_loss = total * (1.0 / len(losses))
    reg = model.params[0] * model.params[0]
    for p in model.params[1:]:
        reg = reg + p * p
    return data_loss + ALPHA * reg


def value_step(model: Model, lr: float = LR) -> float:
    """One eager step of a micrograd-like engine: loss, zero grads, backward, SGD."""
    loss = build_loss(model)
    for p in model.params:
        p.grad = 0.0
    loss.backward()
    for p in model.params:
        p.data -= lr * p.grad
    return float(loss.data)


def value_model(value_class: Any, layers: Layers, data: Sequence[Sample]) -> Model:
    """The Model on a micrograd-like Value class."""
    return Model(value_class, value_class, layers, data)


def torch_model(torch: ModuleType, layers: Layers, data: Sequence[Sample]) -> Model:
    """The Model on 0-d float64 tensors (weights require grad, inputs do not)."""
    def leaf(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    return Model(leaf, lambda x: torch.tensor(x, dtype=torch.float64), layers, data)


def torch_step(torch: ModuleType, model: Model, lr: float = LR) -> float:
    """One step on tensors: the same loss, backward, SGD."""
    loss = build_loss(model)
    for p in model.params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in model.params:
            p -= lr * p.grad
    return float(loss.item())


def compiled_step(model: Model, lr: float = LR, backend: str = "python") -> Callable[[], float]:
    """The step replayed: micrograd.compile(loss, backend) once, then zero grads, g(), SGD."""
    from micrograd import compile

    graph = compile(build_loss(model), backend=backend)
    params = model.params

    def step() -> float:
        for p in params:
            p.grad = 0.0
        loss = graph()
        for p in params:
            p.data -= lr * p.grad
        return loss

    return step


def trainer_step(model: Model, backend: str, lr: float = LR) -> tuple[Any, Callable[[], float]]:
    """The step on a Trainer: compiled once, each call zero grads, forward, backward, SGD on
    arrays the trainer owns (``trainer.sync()`` writes them back into the Values)."""
    from micrograd import SGD
    from micrograd.compiler import Trainer

    trainer = Trainer(SGD(model.params, lr), backend=backend)
    return trainer, trainer.compile(build_loss(model))


# ---- the workload --------------------------------------------------------------------


def run(n_points: int, inner: dict[str, int], repeat: int, torch: ModuleType | None,
        others: dict[str, str] | None = None, compile_runs: int = 3) -> list[Any]:
    """Rows: ms per step of each engine beside the floor, compile time, nodes per step.

    Every engine is timed as a training loop runs it: ``inner[name]`` steps back to back,
    the collector on, and the collection of what they leave included (harness.steady);
    clean-heap figures beside them. ``others`` maps a name to a directory holding another
    ``micrograd`` (see versus()): its eager step and chain are timed against this one's.
    """
    from benchmarks import harness, mlp_step
    from micrograd import Value, compile
    from micrograd.engine import topological_order

    data, layers = moons(n_points), weights()
    fresh: Callable[[], Layers] = lambda: json.loads(json.dumps(layers))  # noqa: E731
    eager, replayed = value_model(Value, layers, data), value_model(Value, layers, data)
    floats = fresh()
    nodes = len(topological_order(build_loss(eager)))
    steps: dict[str, Callable[[], Any]] = {
        "engine": lambda: value_step(eager),
        "compiled": compiled_step(replayed),
        "floor": lambda: mlp_step.floor_step(floats, data, LR),
    }
    if torch is not None:
        tensors = torch_model(torch, layers, data)
        steps["torch"] = lambda: torch_step(torch, tensors)
    steps["trainer"] = trainer_step(value_model(Value, layers, data), "python")[1]
    native = harness.native_available()  # the [native] extra
    if native:
        steps["native"] = compiled_step(value_model(Value, layers, data), backend="native")
        steps["native trainer"] = trainer_step(value_model(Value, layers, data), "native")[1]

    def compile_once() -> dict[str, float]:
        loss = build_loss(value_model(Value, layers, data))
        t0 = perf_counter()
        compile(loss)
        return {"ms": 1e3 * (perf_counter() - t0)}

    for step in steps.values():  # warm-up: one untimed step each
        step()
    results = harness.interleave(
        {name: harness.steady(step, inner.get(name, 1)) for name, step in steps.items()},
        repeat, {"torch": min(repeat, 3)})
    clean = harness.interleave(
        {name: harness.clean_heap(steps[name], inner.get(name, 1))
         for name in ("engine", "compiled", "floor")}, max(1, min(repeat, 3)))
    ms = {name: harness.median(result["ms"]) for name, result in results.items()}
    clean_ms = {name: harness.median(result["ms"]) for name, result in clean.items()}
    compile_ms = harness.median(harness.interleave({"c": compile_once}, compile_runs)["c"]["ms"])
    name = "karpathy mlp_step"
    size = f"{n_points} pts, 2-16-16-1, no linear/sum nodes"
    count = inner.get("compiled", 1)
    rows = [
        harness.Row(name, f"ms per step, eager, steady ({size})", ms["engine"], ms["floor"],
                    ms.get("torch"), runs={k: results[k]["ms"] for k in results}),
        harness.Row(name, f"ms per step, compiled, steady ({count} steps back to back)",
                    ms["compiled"], ms["floor"], target="ratio ≤ 1.5",
                    runs={"engine": results["compiled"]["ms"], "floor": results["floor"]["ms"]}),
        harness.Row(name, "ms per step, eager, clean heap", clean_ms["engine"],
                    clean_ms["floor"], runs={"engine": clean["engine"]["ms"]}),
        harness.Row(name, "ms per step, compiled, clean heap", clean_ms["compiled"],
                    clean_ms["floor"], runs={"engine": clean["compiled"]["ms"]}),
    ]
    rows[1].passed = harness.ratio_at_most(1.5)(rows[1])

    line = partial(harness.against_floor, results, name)  # line(engine, metric, target, check)
    rows.append(line("trainer", "ms per step, compiled Trainer, steady"))
    if native:
        rows += [line("native", "ms per step, native graph + SGD over Values, steady"),
                 line("native trainer", "ms per step, native Trainer, steady",
                      "≥ 5x faster than the floor", harness.ratio_at_most(0.2))]
    else:
        rows.append(harness.skipped_native(name))
    for label, directory in (others or {}).items():
        rows += versus_rows(label, directory, repeat, n_points, ms["floor"])
    assert compile_ms is not None and ms["engine"] is not None
    steps_worth = compile_ms / ms["engine"]
    graph_bytes, compiled_bytes = memory(value_model(Value, layers, data))
    rows += [
        harness.Row(name, "compile time, ms", compile_ms),
        harness.Row(name, "compile time, in eager steps (steady)", steps_worth, target="≤ 5",
                    passed=steps_worth <= 5),
        harness.Row(name, "graph nodes per step", float(nodes)),
        harness.Row(name, "bytes per node of the recorded graph", graph_bytes / nodes),
        harness.Row(name, "bytes per node that compile() adds", compiled_bytes / nodes),
    ]
    return rows


CHAIN_N = 200  # the chain of the eager guard: y ← y·0.999 + 0.001, 200 times (400 ops)


def versus_rows(label: str, directory: str, repeat: int, n_points: int,
                floor_ms: float | None) -> list[Any]:
    """The eager guard against another micrograd: the moons step and the 200-repetition
    chain, each engine in its own subprocess running the same code, interleaved, steady."""
    from benchmarks import harness

    here = str(Path(__file__).resolve().parents[1])
    runs: dict[str, dict[str, list[float]]] = {"this": {}, "other": {}}
    for _ in range(max(1, min(repeat, 3))):
        for who, where in (("this", here), ("other", directory)):
            moons_run = versus(where, STEADY_STEPS, n_points)
            chain_run = versus(where, CHAIN_CHAINS, mode="chain")
            for key, value in (("ms", moons_run["ms"]), ("clean_ms", moons_run["clean_ms"]),
                               ("chain_ns", chain_run["ns_per_op"])):
                runs[who].setdefault(key, []).append(value)
    med = {who: {k: harness.median(v) for k, v in r.items()} for who, r in runs.items()}
    name = "karpathy mlp_step"
    speedup = med["other"]["ms"] / med["this"]["ms"]
    clean_speedup = med["other"]["clean_ms"] / med["this"]["clean_ms"]
    chain = med["other"]["chain_ns"] / med["this"]["chain_ns"]
    target = label == ORIGINAL
    return [
        harness.Row(name, f"ms per step, {label}, steady", med["other"]["ms"], floor_ms,
                    runs={"engine": runs["other"]["ms"]}),
        harness.Row(name, f"eager speed-up over {label}, steady (subprocesses)", speedup,
                    target="≥ 3.5x" if target else "", passed=speedup >= 3.5 if target else None),
        harness.Row(name, f"eager speed-up over {label}, clean heap", clean_speedup),
        harness.Row(f"chain N={CHAIN_N}", f"fwd+bwd ns/op, {label}, steady",
                    med["other"]["chain_ns"], runs={"engine": runs["other"]["chain_ns"]}),
        harness.Row(f"chain N={CHAIN_N}", "fwd+bwd ns/op, eager, steady (subprocess)",
                    med["this"]["chain_ns"], runs={"engine": runs["this"]["chain_ns"]}),
        harness.Row(f"chain N={CHAIN_N}", f"eager speed-up over {label}, steady", chain,
                    target="≥ 1x" if target else "", passed=chain >= 1.0 if target else None),
    ]


STEADY_STEPS = 10  # eager moons steps back to back per versus run
CHAIN_CHAINS = 2000  # chains back to back per versus run


ORIGINAL = "micrograd 0.1.0"  # the --versus name whose row carries the eager engine's target


def memory(model: Model) -> tuple[int, int]:
    """Bytes (tracemalloc) held by the step's graph, and what compiling it holds on top."""
    import gc
    import tracemalloc

    from micrograd import compile

    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        loss = build_loss(model)
        built = tracemalloc.get_traced_memory()[0]
        graph = compile(loss)
        gc.collect()
        compiled = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del graph
    return built - start, compiled - built


# ---- other engines, in a subprocess ---------------------------------------------------


def versus(directory: str | Path, steps: int, n_points: int = N_POINTS,
           timeout: float = 1800, mode: str = "moons") -> dict[str, Any]:
    """Time ``steps`` eager steps (moons) or chains (chain) of the micrograd in directory.

    Steady state: back to back, the collector on, the closing collection included; moons
    also reports clean-heap ms. Returns {"ms", "clean_ms", "losses", "engine"} (moons) or
    {"ns_per_op", "grad", "engine"} (chain); RuntimeError if it fails.
    """
    directory = Path(directory)
    if not (directory / "micrograd" / "engine.py").is_file():
        raise FileNotFoundError(f"{directory}: no micrograd/engine.py there")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(directory), mode, str(steps),
         str(n_points)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"karpathy {mode} with {directory} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def _worker(argv: Sequence[str]) -> int:
    import gc

    directory, mode, steps, n_points = argv[0], argv[1], int(argv[2]), int(argv[3])
    sys.path.insert(0, directory)
    from micrograd.engine import Value  # the engine in directory

    engine = str(sys.modules["micrograd.engine"].__file__)
    if mode == "chain":
        def chain() -> float:
            x = Value(1.0)
            y = x
            for _ in range(CHAIN_N):
                y = y * 0.999 + 0.001
            y.backward()
            return float(x.grad)

        grad = chain()  # warm-up
        gc.collect()
        t0 = perf_counter()
        for _ in range(steps):
            chain()
        gc.collect()
        seconds = perf_counter() - t0
        print(json.dumps({"ns_per_op": 1e9 * seconds / (steps * 2 * CHAIN_N), "grad": grad,
                          "engine": engine}))
        return 0
    model = value_model(Value, weights(), moons(n_points))
    losses = [value_step(model)]  # warm-up
    gc.collect()
    t0 = perf_counter()
    for _ in range(steps):
        losses.append(value_step(model))
    gc.collect()
    steady_ms = 1e3 * (perf_counter() - t0) / steps
    clean = []
    for _ in range(steps):
        gc.collect()
        t0 = perf_counter()
        losses.append(value_step(model))
        clean.append(1e3 * (perf_counter() - t0))
    print(json.dumps({"ms": steady_ms, "clean_ms": median(clean), "losses": losses,
                      "engine": engine}))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
