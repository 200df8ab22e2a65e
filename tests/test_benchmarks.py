"""The benchmark suite measures what it claims: each floor computes what the engine computes.

No timing is asserted here (benchmarks are not tests). What is asserted: the
hand-written floors agree with the engine to 1e-9 (loss, gradients, the update),
``python -m benchmarks --quick`` runs and writes valid JSON, a 10^5-node chain
back-propagates, and the node's memory layout stays honest (``__slots__``, bytes
per node under tracemalloc, one object per one-child node for the garbage collector).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` is a folder of the repository, not installed
    sys.path.insert(0, str(ROOT))

from conftest import require_module  # noqa: E402

from benchmarks import (  # noqa: E402
    chain,
    compile_size,
    harness,
    karpathy,
    memory,
    mlp_step,
    mnist,
    net221,
    record,
    wide,
)
from benchmarks.run import main  # noqa: E402
from micrograd import Value  # noqa: E402
from micrograd.engine import topological_order  # noqa: E402
from micrograd.native import EXTRA  # noqa: E402


def assert_close(actual: list[float], expected: list[float], tol: float = 1e-9) -> None:
    assert len(actual) == len(expected)
    worst = max((abs(a - e) / max(1.0, abs(e)) for a, e in zip(actual, expected)), default=0.0)
    assert worst <= tol, f"largest relative difference {worst:.3g} > {tol:g}"


# ---- mnist --------------------------------------------------------------------------


def test_mnist_floor_and_trainer_take_the_engines_steps() -> None:
    """Two images: the floor to 1e-9 of the eager step, the compiled Trainer bit for bit."""
    data = mnist.images(2, seed=3)
    eager = mnist.make_model()
    opt = mnist.SGD(eager.parameters(), mnist.LR)
    layers = mnist.layer_floats(mnist.make_model())
    replayed = mnist.make_model()
    trainer, steps = mnist.trainer_steps(replayed, mnist.SGD(replayed.parameters(), mnist.LR),
                                         sorted({t for _, t in data}))
    for x, t in data:
        expected = mnist.engine_step(eager, opt, x, t)
        assert_close([mnist.floor_step(layers, x, t, mnist.LR)], [expected])
        assert steps[t](x) == expected
    trainer.sync()
    assert [p.data for p in replayed.parameters()] == [p.data for p in eager.parameters()]
    floats = [v for W, B in layers for v in [*(w for row in W for w in row), *B]]
    assert_close(floats, [v for W, B in mnist.layer_floats(eager)
                          for v in [*(w for row in W for w in row), *B]])


def test_mnist_native_trainer_takes_the_engines_steps_bit_for_bit() -> None:
    """The native rows' step, step(x) with the pixels as floats: the eager losses and, after
    sync(), the eager parameters, ==."""
    require_module("llvmlite")
    data = mnist.images(3, seed=4)
    eager = mnist.make_model()
    opt = mnist.SGD(eager.parameters(), mnist.LR)
    native = mnist.make_model()
    trainer, steps = mnist.trainer_steps(native, mnist.SGD(native.parameters(), mnist.LR),
                                         sorted({t for _, t in data}), "native")
    before = [p.data for p in native.parameters()]
    for x, t in data:
        assert steps[t](x) == mnist.engine_step(eager, opt, x, t)
    assert [p.data for p in native.parameters()] == before  # the trainer owns them until sync
    trainer.sync()
    assert [p.data for p in native.parameters()] == [p.data for p in eager.parameters()]
    assert before != [p.data for p in eager.parameters()]  # the steps moved them


# ---- mlp_step ----------------------------------------------------------------------


def _engine_and_floor(scale_output: float = 1.0):
    data = mlp_step.moons(mlp_step.N_POINTS)
    model = mlp_step.make_model()
    for n in model.layers[-1].neurons:  # a large output layer puts some points past the margin
        for w in n.w:
            w.data *= scale_output
    return data, model, model.parameters(), mlp_step.layer_floats(model)


@pytest.mark.parametrize("scale_output", [1.0, 30.0])
def test_mlp_floor_computes_the_engines_loss_gradients_and_update(scale_output: float) -> None:
    data, model, params, layers = _engine_and_floor(scale_output)
    scores = [model(x1, x2).data for (x1, x2), _ in data]
    active = sum(1.0 - y * s > 0 for s, (_, y) in zip(scores, data))
    assert 0 < active <= len(data)
    if scale_output > 1:  # both branches of relu(1 − y·s) are exercised
        assert active < len(data)

    loss = mlp_step.engine_step(model, params, data, mlp_step.LR)
    floor_loss, floor_grads = mlp_step.floor_step(layers, data, mlp_step.LR)

    assert floor_loss == pytest.approx(loss.data, rel=1e-9, abs=1e-12)
    engine_grads = [p.grad for p in params]
    assert sum(g != 0.0 for g in engine_grads) > len(params) // 2  # not a vacuous comparison
    assert_close(mlp_step.flatten_like(model, floor_grads), engine_grads)
    # the same SGD update: both hold the same weights afterwards
    assert_close(mlp_step.flatten_like(model, layers), [p.data for p in params])


def test_mlp_floor_tracks_the_engine_over_several_steps() -> None:
    data, model, params, layers = _engine_and_floor()
    losses = []
    for _ in range(3):
        loss = mlp_step.engine_step(model, params, data, mlp_step.LR)
        floor_loss, _ = mlp_step.floor_step(layers, data, mlp_step.LR)
        assert floor_loss == pytest.approx(loss.data, rel=1e-9)
        losses.append(loss.data)
    assert losses[-1] < losses[0]  # it is training, not standing still
    assert_close(mlp_step.flatten_like(model, layers), [p.data for p in params])


@pytest.mark.parametrize("backend", ["python", "native"])
def test_mlp_trainer_steps_are_the_engines(backend: str) -> None:
    """The Trainer rows' step (each backend): the eager step's loss and parameters, ==."""
    if backend == "native":
        require_module("llvmlite")
    data, model, params, _ = _engine_and_floor()
    data = data[:12]
    trainer, step = mlp_step.trainer_step(data, backend)
    for _ in range(3):
        assert step() == mlp_step.engine_step(model, params, data, mlp_step.LR).data
    trainer.sync()
    assert [p.data for p in trainer.params] == [p.data for p in params]


def test_mlp_workload_shape() -> None:
    model = mlp_step.make_model()
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    data = mlp_step.moons()
    assert len(data) == 100 and {y for _, y in data} == {-1.0, 1.0}


def test_mlp_torch_step_matches_the_engine(torch) -> None:
    data, model, params, layers = _engine_and_floor()
    data = data[:20]
    tl, tparams = mlp_step.torch_layers(torch, layers)
    loss = mlp_step.engine_step(model, params, data, mlp_step.LR)
    tloss = mlp_step.torch_step(torch, tl, tparams, data, mlp_step.LR)
    assert tloss.item() == pytest.approx(loss.data, rel=1e-9)
    updated = [([[w.item() for w in row] for row in W], [b.item() for b in B]) for W, B in tl]
    assert_close(mlp_step.flatten_like(model, updated), [p.data for p in params])


# ---- karpathy: one graph for every engine ----------------------------------------------


def karpathy_weights(model: karpathy.Model) -> list[float]:
    return [float(p.data) if not hasattr(p, "item") else p.item() for p in model.params]


def floor_weights(layers: karpathy.Layers) -> list[float]:
    return [x for W, B in layers for row, b in zip(W, B) for x in (*row, b)]


def test_karpathy_floor_compiled_and_eager_take_the_same_steps() -> None:
    data, layers = karpathy.moons(10), karpathy.weights()
    eager = karpathy.value_model(Value, layers, data)
    replayed = karpathy.value_model(Value, layers, data)
    floats = json.loads(json.dumps(layers))
    step = karpathy.compiled_step(replayed)
    losses = []
    for _ in range(3):
        loss = karpathy.value_step(eager)
        assert step() == loss  # compiled: bit for bit
        assert karpathy_weights(replayed) == karpathy_weights(eager)
        floor_loss, _ = mlp_step.floor_step(floats, data, karpathy.LR)
        assert floor_loss == pytest.approx(loss, rel=1e-9)
        assert_close(floor_weights(floats), karpathy_weights(eager))
        losses.append(loss)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("backend", ["python", "native"])
def test_karpathy_trainer_steps_are_the_engines(backend: str) -> None:
    """The Trainer rows' step (each backend): the eager step's loss and weights, ==."""
    if backend == "native":
        require_module("llvmlite")
    data, layers = karpathy.moons(6), karpathy.weights()
    eager = karpathy.value_model(Value, layers, data)
    replayed = karpathy.value_model(Value, layers, data)
    trainer, step = karpathy.trainer_step(replayed, backend)
    for _ in range(3):
        assert step() == karpathy.value_step(eager)
    trainer.sync()
    assert karpathy_weights(replayed) == karpathy_weights(eager)


def test_karpathy_graph_has_no_linear_or_sum_node() -> None:
    model = karpathy.value_model(Value, karpathy.weights(), karpathy.moons(3))
    order = topological_order(karpathy.build_loss(model))
    assert {node.op for node in order} == {"", "add", "mul", "relu"}
    assert len(model.params) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    assert karpathy.moons() == karpathy.moons() and len(karpathy.moons()) == 100


def test_karpathy_torch_takes_the_same_step(torch) -> None:
    data, layers = karpathy.moons(5), karpathy.weights()
    eager = karpathy.value_model(Value, layers, data)
    tensors = karpathy.torch_model(torch, layers, data)
    assert karpathy.torch_step(torch, tensors) == pytest.approx(karpathy.value_step(eager),
                                                                rel=1e-12)
    assert_close(karpathy_weights(tensors), karpathy_weights(eager), 1e-12)


def test_karpathy_versus_times_the_engine_in_a_directory() -> None:
    """The subprocess imports micrograd from the directory given: here, this checkout."""
    result = karpathy.versus(ROOT, steps=2, n_points=3)
    model = karpathy.value_model(Value, karpathy.weights(), karpathy.moons(3))
    assert result["losses"] == [karpathy.value_step(model) for _ in range(5)]  # warm-up, 2, 2
    assert result["ms"] > 0 and result["clean_ms"] > 0
    assert result["engine"] == str(ROOT / "micrograd" / "engine.py")
    chained = karpathy.versus(ROOT, steps=3, mode="chain")
    assert chained["grad"] == pytest.approx(0.999**karpathy.CHAIN_N, rel=1e-12)
    assert chained["ns_per_op"] > 0
    with pytest.raises(FileNotFoundError, match=r"no micrograd/engine\.py"):
        karpathy.versus(ROOT / "tests", steps=1)


# ---- chain and wide ------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 200, 2_000])
def test_chain_floor_gradient_is_the_engines(n: int) -> None:
    _, engine_grad = chain.engine_chain(n)
    _, floor_grad = chain.floor_chain(n)
    assert floor_grad == pytest.approx(engine_grad, rel=1e-12)
    assert engine_grad == pytest.approx(0.999**n, rel=1e-12)


def test_chain_torch_gradient_is_the_engines(torch) -> None:
    _, torch_grad = chain.torch_chain(torch, 200)
    assert torch_grad == pytest.approx(chain.engine_chain(200)[1], rel=1e-12)


def test_a_100k_node_chain_back_propagates() -> None:
    limit = sys.getrecursionlimit()
    x = Value(1.0)
    y = x
    for _ in range(50_000):
        y = y * chain.A + chain.C
    # 100,000 op nodes, each * and + with its number as a constant leaf, and x
    assert len(topological_order(y, leaves=False)) == 100_000
    assert len(topological_order(y)) == 200_001
    y.backward()
    assert x.grad == pytest.approx(chain.floor_chain(50_000)[1], rel=1e-12)
    assert x.grad > 0 and sys.getrecursionlimit() == limit


@pytest.mark.parametrize("n", [1, 2, 7, 64, 1_001])
def test_wide_floor_sum_and_gradients_are_the_engines(n: int) -> None:
    a, b = wide.inputs(n, seed=n)
    va, vb = [Value(x) for x in a], [Value(y) for y in b]
    root = wide.pairwise_sum([x * y for x, y in zip(va, vb)])
    root.backward()
    _, total, grad_a, grad_b = wide.floor_wide(a, b)
    assert total == pytest.approx(root.data, rel=1e-12, abs=1e-12)
    assert total == pytest.approx(math.fsum(x * y for x, y in zip(a, b)), rel=1e-9, abs=1e-12)
    assert_close(grad_a, [v.grad for v in va], 1e-15)
    assert_close(grad_b, [v.grad for v in vb], 1e-15)
    assert grad_a == b and grad_b == a  # ∂Σ a·b/∂a_i = b_i


def test_wide_tree_uses_binary_adds() -> None:
    va = [Value(float(i)) for i in range(10)]
    root = wide.pairwise_sum([x * 1.0 for x in va])
    adds = [v for v in topological_order(root) if v.op == "add"]
    assert len(adds) == 9 and all(len(v.children) == 2 for v in adds)
    assert root.data == 45.0


# ---- net221 ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_net221_floor_is_the_notes_gradients_of_the_engine(seed: int) -> None:
    net = net221.Net221(activation="sigmoid", seed=seed)
    params = net.parameters()
    floats = [p.data for p in params]
    assert [name for name, _ in net.named_parameters()] == list(net221.NAMES)
    for _ in range(3):  # a few epochs: gradients and updates stay in step
        for (x1, x2), y in net221.XOR:
            loss = net221.engine_sample_step(net, params, x1, x2, y, net221.LR)
            floor_loss, grads = net221.floor_sample_step(floats, x1, x2, y, net221.LR)
            assert floor_loss == pytest.approx(loss.data, rel=1e-12, abs=1e-15)
            assert_close(grads, [p.grad for p in params], 1e-12)
            assert_close(floats, [p.data for p in params], 1e-12)
    assert any(g != 0.0 for g in grads[:6])  # the hidden layer's partials are not trivially 0


def test_net221_torch_matches_the_floor(torch) -> None:
    net = net221.Net221(activation="sigmoid", seed=0)
    floats = [p.data for p in net.parameters()]
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for k, v in zip(net221.NAMES, floats)}
    for (x1, x2), y in net221.XOR:
        tloss = net221.torch_sample_step(torch, tensors, x1, x2, y, net221.LR)
        floor_loss, _ = net221.floor_sample_step(floats, x1, x2, y, net221.LR)
        assert tloss.item() == pytest.approx(floor_loss, rel=1e-12)
    assert_close([t.item() for t in tensors.values()], floats, 1e-12)


# ---- memory structure ----------------------------------------------------------------


def test_value_has_slots_and_no_instance_dict() -> None:
    x = Value(1.0, "x")
    nodes = [x, x * 2.0, x + x, x.relu(), Value.sum([x, 1.0]), Value.linear([x], [x], 0.5)]
    for node in nodes:
        assert not hasattr(node, "__dict__"), node
    for cls in Value.__mro__[:-1]:  # every class but object declares __slots__
        assert "__slots__" in cls.__dict__, cls
    with pytest.raises(AttributeError):
        x.scratch = 1  # type: ignore[attr-defined]


def test_bytes_per_node_of_a_chain_stay_structural() -> None:
    held, nodes = memory.engine_bytes(5_000)
    assert nodes == 20_001  # 10,000 ops, 10,000 constant leaves, and the start
    per_node = held / nodes
    assert 56 < per_node <= 200, per_node  # a node is at least its object header and slots
    floor_held, floats = memory.floor_bytes(5_000)
    assert floats == 10_000 and 24 <= floor_held / floats < 48  # one float and a list slot


# ---- the harness and the command -----------------------------------------------------


def test_interleave_runs_engines_in_turn_and_caps_rounds() -> None:
    calls: list[str] = []

    def runner(name: str, value: float):
        def run() -> dict[str, float]:
            calls.append(name)
            return {"t": value + len(calls)}
        return run

    results = harness.interleave(
        {"engine": runner("engine", 0.0), "floor": runner("floor", 0.0),
         "torch": runner("torch", 0.0)}, 3, {"torch": 1})
    assert calls == ["engine", "floor", "torch", "engine", "floor", "engine", "floor"]
    assert results["engine"]["t"] == [1.0, 4.0, 6.0] and results["torch"]["t"] == [3.0]
    line = harness.row(results, "w", "m", "t", "ratio ≤ 1", harness.ratio_at_most(1))
    assert line.engine == 4.0 and line.floor == 5.0 and line.torch == 3.0
    assert line.ratio == pytest.approx(0.8) and line.passed is True
    assert harness.row(results, "w", "m", "t", "", harness.ratio_at_most(0.5)).passed is False
    with pytest.raises(ValueError, match="repeat"):
        harness.interleave({}, 0)


def test_record_floor_writes_the_pages_numbers() -> None:
    root = record.chain(1_001)
    data = record.record(root).data
    assert len(data["nodes"]) == 1_001
    texts = record.floor_texts(1_001)
    x = [n["name"] for n in data["nodes"]].index("x")
    assert data["grads"][x][-1][1] == texts[-1] == f"{0.999 ** 250:.4g}"
    grads = [s["grad"] for s in data["steps"]]  # each step's grad, root first
    assert grads[0::2] == texts[0:-1:4] and grads[1::2] == texts[2:-1:4]


def test_quick_run_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for word in ("machine:", "engine/floor", "karpathy", "compiled", "mlp_step", "chain N=200",
                 "wide", "memory", "net221", "record N=", "PASS", "steady", "clean heap",
                 "compile chain 4,000 nodes", "peak MB"):
        assert word in proc.stdout, word
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["config"]["quick"] is True
    assert report["machine"]["cpu_count"] == os.cpu_count() and report["machine"]["gc_enabled"]
    workloads = {row["workload"].split()[0] for row in report["rows"]}
    assert workloads == {"karpathy", "mlp_step", "mnist", "chain", "wide", "memory", "net221",
                         "compile", "record", "gpt"}
    native = [row for row in report["rows"] if "native" in row["metric"]]
    if harness.native_available():  # every native row ran: mnist, the moons steps, compile
        assert {r["workload"].split()[0] for r in native} == {"karpathy", "mlp_step", "mnist",
                                                             "compile"}
        assert not any("skipped" in r["metric"] for r in native)
        assert "native Trainer" in proc.stdout and "≥ 15x faster than the floor" in proc.stdout
    else:
        assert {r["metric"] for r in native} == {f"native rows skipped: they need {EXTRA}"}
    for row in report["rows"]:
        if row["metric"].startswith("native rows skipped"):
            assert row["engine"] is None
            continue
        assert row["engine"] is not None and math.isfinite(row["engine"])
        # a small run may see no garbage collection at all, and the gpt's losses may agree
        # with the reference's exactly; every other figure is a cost
        zero_allowed = "in gc" in row["metric"] or row["metric"].startswith("same math")
        assert row["engine"] >= 0 if zero_allowed else row["engine"] > 0
        if row["floor"] is not None and row["floor"] > 0:
            assert row["ratio"] == pytest.approx(row["engine"] / row["floor"])
    same = [r for r in report["rows"] if r["metric"].startswith("same math")]
    assert len(same) == 2 and all(r["passed"] for r in same)
    nodes = next(r for r in report["rows"] if r["metric"] == "graph nodes per step")
    assert nodes["engine"] > 10 * 65  # at least the neurons of 10 samples


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--repeat", "0"])
    assert exc.value.code == 2
    assert "--repeat" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--versus", "old=/nonexistent"])
    assert exc.value.code == 2
    assert "NAME=DIR" in capsys.readouterr().err


# ---- harness: steady state and clean heap; compile sizes ------------------------------


def test_steady_includes_the_closing_collection_and_clean_heap_leaves_it_out() -> None:
    import gc

    calls = []

    def collect_count() -> None:
        calls.append(gc.get_count()[0])

    collections: list[str] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            collections.append("full")

    gc.callbacks.append(watch)
    try:
        result = harness.steady(collect_count, 5)()
        assert len(calls) == 5 and result["ms"] > 0 and collections  # it ran gc.collect()
        collections.clear()
        result = harness.clean_heap(collect_count, 3)()
        assert len(calls) == 8 and result["ms"] > 0 and len(collections) == 3
    finally:
        gc.callbacks.remove(watch)


def test_compile_size_measures_a_chain() -> None:
    root = compile_size.chain(1_000)
    assert len(topological_order(root, leaves=False)) == 1_000
    measured = compile_size.measure(compile_size.chain(2_000))
    assert measured["seconds"] > 0 and 0 < measured["kept_mb"] < measured["peak_mb"]
    wide = compile_size.wide(3)
    assert (wide.op, len(wide.children)) == ("linear", 7)
    assert wide.data == 1.0 * 0 + 0.5 * 1 + (1 / 3) * 2 + 0.5
    rows = compile_size.run([1_000], [500])
    assert [r.passed for r in rows if r.target] == [True]
    assert {r.workload for r in rows} == {"compile linear 500 pairs", "compile chain 1,000 nodes"}


def test_compile_size_native_rows_and_their_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    require_module("llvmlite")
    first, *rows = compile_size.native_rows([1_000, 3_000])
    assert first.workload == "compile native" and first.engine is not None
    assert [r.workload for r in rows] == [
        "compile native chain 1,000 nodes", "compile native chain 1,000 nodes",
        "compile native chain 3,000 nodes", "compile native chain 3,000 nodes",
        "compile native chain 1,000→3,000"]
    seconds, per_node = rows[2].engine, rows[3].engine
    assert seconds and per_node == pytest.approx(1e6 * seconds / 3_000)
    assert rows[4].engine == pytest.approx(per_node / rows[1].engine)
    monkeypatch.setattr(harness, "native_available", lambda: False)
    (skipped,) = compile_size.native_rows([1_000])
    assert skipped.engine is None and EXTRA in skipped.metric
