"""Modules, activations by name, labels, losses, state dicts and the JSON file format."""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pytest

from micrograd import ops
from micrograd.engine import Value, topological_order
from micrograd.losses import bce_with_logits, cross_entropy, half_squared_error, hinge, mse
from micrograd.nn import MLP, Layer, ModelMismatch, Module, Net221, Neuron
from micrograd.walk import walk

NET221_NAMES = ["w11", "w12", "w21", "w22", "b1", "b2", "w1", "w2", "b"]


# ---- Net221 ---------------------------------------------------------------------------


def test_net221_parameters_are_the_notes_names_in_order() -> None:
    net = Net221()
    named = net.named_parameters()
    assert [name for name, _ in named] == NET221_NAMES
    assert [p.label for _, p in named] == NET221_NAMES
    assert net.parameters() == [p for _, p in named]
    assert [id(p) for p in net.hidden_parameters()] == [id(p) for _, p in named[:6]]
    assert all(-1.0 <= p.data <= 1.0 for p in net.parameters())
    assert len({p.data for p in net.parameters()}) == 9


def test_net221_builds_the_notes_graph() -> None:
    net = Net221("tanh")
    p = net.state_dict()
    y_hat = net(0.5, -2.0)
    nodes = {node.label: node for node in topological_order(y_hat)}
    assert set(nodes) == {"x1", "x2", "a1", "a2", "z1", "z2", "ŷ", *NET221_NAMES}
    assert nodes["a1"].op == "linear"
    assert [c.label for c in nodes["a1"].children] == ["w11", "x1", "w12", "x2", "b1"]
    assert [c.label for c in nodes["a2"].children] == ["w21", "x1", "w22", "x2", "b2"]
    assert nodes["z1"].op == "tanh" and nodes["z1"].children == (nodes["a1"],)
    assert [c.label for c in y_hat.children] == ["w1", "z1", "w2", "z2", "b"]
    a1 = p["w11"] * 0.5 + p["w12"] * -2.0 + p["b1"]
    a2 = p["w21"] * 0.5 + p["w22"] * -2.0 + p["b2"]
    want = p["w1"] * math.tanh(a1) + p["w2"] * math.tanh(a2) + p["b"]
    assert y_hat.data == pytest.approx(want, rel=1e-15)


def test_net221_keeps_value_inputs_and_allows_no_activation() -> None:
    net = Net221(None)
    x1, x2 = Value(1.0, "u"), Value(2.0, "v")
    y_hat = net(x1, x2)
    labels = {node.label for node in topological_order(y_hat)}
    assert {"u", "v", "a1", "a2"} <= labels and "z1" not in labels
    assert net.activation == "linear"


def test_seeds_are_reproducible_and_use_no_global_random_state() -> None:
    random.seed(123)
    before = random.getstate()
    a, b = Net221(seed=5), Net221(seed=5)
    assert a.state_dict() == b.state_dict()
    assert Net221(seed=6).state_dict() != a.state_dict()
    assert Net221().state_dict() == Net221(seed=Net221.DEFAULT_SEED).state_dict()
    assert MLP(2, [3, 1], seed=4).state_dict() == MLP(2, [3, 1], seed=4).state_dict()
    assert random.getstate() == before
    rng = random.Random(9)
    first, second = Net221(seed=rng), Net221(seed=rng)  # a Random is used as given: it advances
    assert first.state_dict() != second.state_dict()
    assert Net221(seed=random.Random(9)).state_dict() == first.state_dict()
    with pytest.raises(TypeError, match="seed"):
        Net221(seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed"):
        Net221(seed=True)  # type: ignore[arg-type]


# ---- Neuron, Layer, MLP ---------------------------------------------------------------


def test_neuron_is_one_linear_node_then_the_activation() -> None:
    neuron = Neuron(3, "sigmoid", seed=2)
    w, b = [p.data for p in neuron.w], neuron.b.data
    out = neuron(1.0, -2.0, 0.5)
    assert out.op == "sigmoid" and out.children[0].op == "linear"
    pre = w[0] * 1.0 + w[1] * -2.0 + w[2] * 0.5 + b
    assert out.data == pytest.approx(1 / (1 + math.exp(-pre)), rel=1e-15)
    assert [name for name, _ in neuron.named_parameters()] == ["w0", "w1", "w2", "b"]
    assert all(abs(x) <= 1 / math.sqrt(3) for x in w) and b == 0.0
    with pytest.raises(TypeError, match="takes 3 inputs, got 2"):
        neuron(1.0, 2.0)


def test_layer_returns_a_list_or_its_one_value_and_labels_by_position() -> None:
    layer = Layer(2, 3, "tanh", seed=0)
    out = layer(1.0, 2.0)
    assert isinstance(out, list) and len(out) == 3 and all(v.op == "tanh" for v in out)
    assert [p.label for p in layer.parameters()] == [
        f"N{j}.{n}" for j in range(3) for n in ("w0", "w1", "b")]
    assert isinstance(Layer(2, 1)(1.0, 2.0), Value)  # one neuron: its Value, as karpathy's Layer


def test_mlp_structure_names_and_output_type() -> None:
    model = MLP(2, [4, 3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == (2 + 1) * 4 + (4 + 1) * 3 + (3 + 1) * 1
    assert names[:3] == ["L0.N0.w0", "L0.N0.w1", "L0.N0.b"]
    assert names[-1] == "L2.N0.b" and "L1.N2.w3" in names
    assert [p.label for p in model.parameters()] == names
    assert len(model.hidden_parameters()) == len(names) - 4
    out = model(0.3, -0.4)
    assert isinstance(out, Value) and out.op == "linear"  # last layer linear
    assert {c.op for c in out.children if not c.is_leaf} == {"relu"}
    inputs = {n.label for n in topological_order(out) if n.is_leaf and not n.label.startswith("L")}
    assert inputs == {"x1", "x2"}
    several = MLP(2, [3, 2], seed=0)(0.3, -0.4)
    assert isinstance(several, list) and len(several) == 2
    with pytest.raises(TypeError, match="takes 2 inputs, got 3"):
        model(1.0, 2.0, 3.0)
    for bad in ([], [2, 0], "21", [1.5]):
        with pytest.raises(ValueError, match="nouts"):
            MLP(2, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nin"):
        MLP(0, [1])


def test_mlp_forward_matches_a_hand_computation() -> None:
    model = MLP(2, [2, 1], activation="tanh", seed=3)
    p = model.state_dict()
    x = (0.7, -1.1)
    hidden = [math.tanh(p[f"L0.N{j}.w0"] * x[0] + p[f"L0.N{j}.w1"] * x[1] + p[f"L0.N{j}.b"])
              for j in range(2)]
    want = p["L1.N0.w0"] * hidden[0] + p["L1.N0.w1"] * hidden[1] + p["L1.N0.b"]
    assert model(*x).data == pytest.approx(want, rel=1e-14)


def test_unknown_activation_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*linear.*tanh.*step"):
        MLP(2, [1], activation="swish")
    with pytest.raises(ValueError, match="unknown activation 'add'"):
        Neuron(2, activation="add")  # an op, but not a one-input one
    with pytest.raises(ValueError, match="no param 'alpha'"):
        Net221("leaky_relu", activation_params={"alpha": 0.1})
    with pytest.raises(ValueError, match="'exponent' must be a finite number"):
        Neuron(1, activation="pow", activation_params={"exponent": "2"})
    with pytest.raises(ValueError, match="linear"):
        Neuron(1, activation="linear", activation_params={"slope": 1.0})


def test_an_unknown_activation_is_quoted_cut_short() -> None:
    with pytest.raises(ValueError) as caught:
        Net221(activation="x" * 100_000)
    message = str(caught.value)
    assert message.startswith("unknown activation 'xxx") and "…" in message
    assert message.count("x") < 100 and len(message) < 400


def test_activation_params_and_a_param_op() -> None:
    neuron = Neuron(1, "leaky_relu", seed=0, activation_params={"slope": 0.25})
    neuron.load_state_dict({"w0": 1.0, "b": 0.0})
    out = neuron(-2.0)
    assert out.data == -0.5 and out.op_symbol == "leaky_relu(0.25)"
    default = Neuron(1, "leaky_relu", seed=0)
    default.load_state_dict({"w0": 1.0, "b": 0.0})
    assert default(-2.0).data == -0.02 and default.activation_params == {"slope": 0.01}
    square = Neuron(1, "pow", activation_params={"exponent": 2})
    square.load_state_dict({"w0": 3.0, "b": 1.0})
    assert square(2.0).data == 49.0


def test_a_user_registered_op_is_an_activation() -> None:
    ops.register("softplus_nn_test", lambda x: math.log1p(math.exp(x)),
                 lambda x, out: 1 / (1 + math.exp(-x)))
    try:
        model = MLP(1, [2, 1], activation="softplus_nn_test", seed=0)
        out = model(0.5)
        assert {c.op for c in out.children if not c.is_leaf} == {"softplus_nn_test"}
        out.backward()
        assert any(p.grad != 0.0 for p in model.hidden_parameters())
        with pytest.raises(ValueError, match="softplus_nn_test"):
            MLP(1, [1], activation="nope")  # the message lists it too
    finally:
        ops.unregister("softplus_nn_test")


def test_zero_grad_clears_parameters_only() -> None:
    net = Net221("tanh")
    x1 = Value(1.0, "x1")
    loss = half_squared_error(net(x1, 2.0), 1.0)
    loss.backward()
    assert all(p.grad != 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0.0 for p in net.parameters())
    assert x1.grad != 0.0 and loss.grad == 1.0


# ---- losses ------------------------------------------------------------------------


def test_half_squared_error_is_the_notes_loss() -> None:
    y_hat = Value(0.25)
    e = half_squared_error(y_hat, 2.0)
    assert e.label == "E" and e.op == "half_squared_error" and e.children[0] is y_hat
    assert (e.children[1].label, e.children[1].data) == ("y", 2.0)  # the target: a leaf
    assert e.data == 0.5 * (2.0 - 0.25) ** 2
    e.backward()
    assert y_hat.grad == 0.25 - 2.0  # ∂E/∂ŷ = ŷ − y
    y = Value(2.0)
    both = half_squared_error(Value(0.25), y)
    both.backward()
    assert y.grad == 2.0 - 0.25
    with pytest.raises(TypeError):
        half_squared_error(0.25, 2.0)  # type: ignore[arg-type]


def test_mse_hinge_bce_against_hand_formulas() -> None:
    preds = [Value(0.5), Value(-1.5), Value(2.0)]
    targets = [1.0, -1.0, 3.0]
    m = mse(preds, targets)
    assert m.label == "mse"
    assert m.data == pytest.approx(((0.5 - 1) ** 2 + (-1.5 + 1) ** 2 + (2 - 3) ** 2) / 3)
    m.backward()
    assert [p.grad for p in preds] == pytest.approx([2 * (0.5 - 1) / 3, 2 * (-0.5) / 3, -2 / 3])

    scores = [Value(0.5), Value(-2.0), Value(0.2)]
    h = hinge(scores, [1.0, -1.0, -1.0])
    assert h.data == pytest.approx((0.5 + 0.0 + 1.2) / 3)
    h.backward()
    assert [s.grad for s in scores] == pytest.approx([-1 / 3, 0.0, 1 / 3])

    logits = [Value(0.3), Value(-1000.0), Value(1000.0)]
    b = bce_with_logits(logits, [1.0, 0.0, 0.0])
    want = (math.log1p(math.exp(-0.3)) + 0.0 + 1000.0) / 3
    assert b.data == pytest.approx(want, rel=1e-14)
    b.backward()
    sig = 1 / (1 + math.exp(-0.3))
    assert [z.grad for z in logits] == pytest.approx([(sig - 1) / 3, 0.0, 1 / 3])


def test_losses_take_a_single_prediction_and_check_targets() -> None:
    s = Value(0.25)
    assert hinge(s, -1.0).data == 1.25 and mse(s, 1.0).data == 0.5625
    assert bce_with_logits(Value(0.0), 1.0).data == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="hinge: target 0 must be -1 or \\+1"):
        hinge(s, 0.0)  # 0/1 labels would give a constant loss and no gradient
    with pytest.raises(ValueError, match="bce_with_logits: target 1"):
        bce_with_logits([s, s], [1.0, 2.0])
    with pytest.raises(ValueError, match="2 predictions for 1 targets"):
        mse([s, s], [1.0])
    with pytest.raises(ValueError, match="no predictions"):
        mse([], [])
    with pytest.raises(ValueError, match="finite"):
        mse(s, math.nan)


# ---- cross-entropy ---------------------------------------------------------------------

CE_BATCHES = {
    "ordinary": ([[0.3, -1.2, 2.0, 0.5], [1.5, 1.5, -0.7, 0.0], [-2.5, 0.1, 0.2, 3.0]], [2, 0, 1]),
    "±1000": ([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0], [1000.0, 1000.0, -1000.0],
               [0.0, -1000.0, 1000.0]], [1, 2, 0, 1]),
}


@pytest.mark.parametrize("batch", CE_BATCHES)
def test_cross_entropy_matches_torch_value_and_gradients(torch, batch: str) -> None:
    rows, targets = CE_BATCHES[batch]
    logits = [[Value(z) for z in row] for row in rows]
    loss = cross_entropy(logits, targets)
    loss.backward()
    theirs = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    reference = torch.nn.functional.cross_entropy(theirs, torch.tensor(targets))
    reference.backward()
    assert math.isfinite(loss.data)
    assert loss.data == pytest.approx(reference.item(), rel=1e-12)
    for row, grads in zip(logits, theirs.grad.tolist()):
        assert [z.grad for z in row] == pytest.approx(grads, rel=1e-12, abs=1e-15)
    # one sample: no mean, the same as torch's unbatched call
    one = [Value(z) for z in rows[0]]
    single = cross_entropy(one, targets[0])
    single.backward()
    vector = torch.tensor(rows[0], dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(vector, torch.tensor(targets[0]))
    expected.backward()
    assert single.data == pytest.approx(expected.item(), rel=1e-12)
    assert [z.grad for z in one] == pytest.approx(vector.grad.tolist(), rel=1e-12, abs=1e-15)


def test_cross_entropy_by_hand_and_at_the_extremes() -> None:
    z = [Value(1.0), Value(2.0), Value(3.0)]
    loss = cross_entropy(z, 0)
    total = math.exp(1) + math.exp(2) + math.exp(3)
    assert loss.data == pytest.approx(math.log(total) - 1.0, rel=1e-15)
    loss.backward()
    softmax = [math.exp(k) / total for k in (1, 2, 3)]
    assert [v.grad for v in z] == pytest.approx([softmax[0] - 1, softmax[1], softmax[2]],
                                               rel=1e-15)
    # a confident right answer costs (nearly) 0, a confident wrong one the margin
    assert cross_entropy([Value(1000.0), Value(-1000.0)], 0).data == 0.0
    wrong = [Value(1000.0), Value(-1000.0)]
    bad = cross_entropy(wrong, 1)
    bad.backward()
    assert bad.data == 2000.0 and [v.grad for v in wrong] == [1.0, -1.0]
    assert cross_entropy([Value(-1000.0)] * 4, 3).data == pytest.approx(math.log(4), rel=1e-15)
    nan = [Value(math.nan), Value(0.0)]
    out = cross_entropy(nan, 1)
    out.backward()
    assert math.isnan(out.data) and all(math.isnan(v.grad) for v in nan)


def test_cross_entropy_is_one_node_per_sample() -> None:
    z = [Value(0.1), Value(0.2), Value(0.3)]
    one = cross_entropy(z, 2)
    assert (one.op, one.children, one.label, dict(one.params)) == (
        "cross_entropy", tuple(z), "ce", {"target": 2.0})
    assert one.op_symbol == "cross_entropy(t=2)"
    batch = cross_entropy([z, z, [1.0, 2.0, 3.0]], [0, 1, 2])
    inner = [n for n in topological_order(batch) if n.op]
    assert [n.op for n in inner] == ["div", "sum", "cross_entropy", "cross_entropy",
                                     "cross_entropy"]
    assert batch.data == pytest.approx(sum(c.data for c in inner[2:]) / 3, rel=1e-15)
    # the leaves: z, three number logits, and the constant 3 of the mean
    assert len(topological_order(batch)) == len(inner) + 3 + 3 + 1


@pytest.mark.parametrize(
    ("logits", "targets", "error", "message"),
    [
        ([0.0, 1.0], 2, ValueError, "target must be an int class index in 0..1, got 2"),
        ([0.0, 1.0], -1, ValueError, "target must be an int class index in 0..1, got -1"),
        ([0.0, 1.0], True, ValueError, "targets must be an int class index or a list"),
        ([0.0, 1.0], 1.0, ValueError, "targets must be an int class index or a list"),
        ([[0.0, 1.0], [2.0, 3.0]], [0, 1.0], ValueError, "target 1 must be an int class index"),
        ([[0.0, 1.0], [2.0, 3.0]], [0, 5], ValueError, "target 1 must be .* in 0..1, got 5"),
        ([[0.0, 1.0], [2.0, 3.0]], [0, False], ValueError, "target 1 must be an int"),
        ([[0.0, 1.0]], [0, 1], ValueError, "1 rows of logits for 2 targets"),
        ([[0.0, 1.0], [0.0]], [0, 0], ValueError, "sample 1 has 1 logits, sample 0 has 2"),
        ([], [], ValueError, "no samples"),
        ([], 0, TypeError, "logits must be a non-empty list"),
        (Value(1.0), 0, TypeError, "logits must be a non-empty list"),
    ],
)
def test_cross_entropy_rejects_bad_targets_naming_them(logits, targets, error, message) -> None:
    with pytest.raises(error, match=message):
        cross_entropy(logits, targets)


# ---- state dicts ---------------------------------------------------------------------


def test_state_dict_round_trip() -> None:
    a, b = MLP(2, [3, 1], seed=1), MLP(2, [3, 1], seed=2)
    assert a.state_dict() != b.state_dict()
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert list(a.state_dict()) == [name for name, _ in a.named_parameters()]
    net = Net221()
    net.load_state_dict({name: i for i, name in enumerate(NET221_NAMES)})  # ints are numbers
    assert net.state_dict() == {name: float(i) for i, name in enumerate(NET221_NAMES)}


BAD_STATES = {
    "missing parameters: b": lambda s: {k: v for k, v in s.items() if k != "b"},
    "unexpected parameters: w3": lambda s: s | {"w3": 1.0},
    "'w11' is not a number": lambda s: s | {"w11": "0.5"},
    "'w12' is not a number: None": lambda s: s | {"w12": None},
    "'w21' is not a number: True": lambda s: s | {"w21": True},
    "'w22' is not a number: \\[1.0\\]": lambda s: s | {"w22": [1.0]},
    "'b1' is not finite": lambda s: s | {"b1": math.nan},
    "'b2' is not finite": lambda s: s | {"b2": -math.inf},
    "'w1': an int of 1329 bits is out of the float range": lambda s: s | {"w1": 10**400},
}


@pytest.mark.parametrize("problem", list(BAD_STATES))
def test_bad_state_dicts_are_rejected_and_change_nothing(problem: str) -> None:
    net = Net221("tanh")
    before = net.state_dict()
    bad = BAD_STATES[problem]({name: 0.5 for name in NET221_NAMES})
    with pytest.raises(ValueError, match=problem):
        net.load_state_dict(bad)
    assert net.state_dict() == before
    with pytest.raises(ValueError, match="mapping"):
        net.load_state_dict([("w11", 1.0)])  # type: ignore[arg-type]


# ---- files -----------------------------------------------------------------------------


def test_save_load_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    model = MLP(2, [5, 1], activation="leaky_relu", seed=7)
    model.save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "micrograd-notes/state" and document["version"] == 1
    assert document["kind"] == "MLP"
    assert document["config"] == {"nin": 2, "nouts": [5, 1], "activation": "leaky_relu",
                                  "activation_params": {"slope": 0.01}}
    assert list(document["parameters"]) == [name for name, _ in model.named_parameters()]
    other = MLP(2, [5, 1], activation="leaky_relu", seed=8)
    other.load(str(path))
    assert other.state_dict() == model.state_dict()  # floats round-trip bit for bit
    assert other(0.1, 0.2).data == model(0.1, 0.2).data
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temp file left

    net = Net221("tanh", seed=3)
    net.save(tmp_path / "net.json")
    copy = Net221("tanh", seed=4)
    copy.load(tmp_path / "net.json")
    assert copy.state_dict() == net.state_dict()
    assert "ŷ" not in (tmp_path / "net.json").read_text(encoding="utf-8")


def _document(model: Module) -> dict:
    return {"format": "micrograd-notes/state", "version": 1, "kind": type(model).__name__,
            "config": model.config(), "parameters": model.state_dict()}


def _params_text(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


BAD_FILES = {
    "not JSON": lambda d, t: b"{ not json",
    "not JSON \\(Expecting value at line 1": lambda d, t: b"",
    "not a UTF-8 text file": lambda d, t: b"\xff\xfe{}",
    "the JSON is a list": lambda d, t: b"[1, 2]",
    "format is 'pickle'": lambda d, t: json.dumps(d | {"format": "pickle"}).encode(),
    "unsupported format version 2": lambda d, t: json.dumps(d | {"version": 2}).encode(),
    "unsupported format version True": lambda d, t: json.dumps(d | {"version": True}).encode(),
    "missing keys \\['config'\\]": lambda d, t: json.dumps(
        {k: v for k, v in d.items() if k != "config"}).encode(),
    "unexpected keys \\['seed'\\]": lambda d, t: json.dumps(d | {"seed": 1}).encode(),
    "holds a 'MLP', not a 'Net221'": lambda d, t: json.dumps(d | {"kind": "MLP"}).encode(),
    "config .* does not match": lambda d, t: json.dumps(
        d | {"config": {"activation": "relu", "activation_params": {}}}).encode(),
    "'parameters' must be an object": lambda d, t: json.dumps(d | {"parameters": [1]}).encode(),
    "missing parameters: w2": lambda d, t: json.dumps(
        d | {"parameters": {k: v for k, v in d["parameters"].items() if k != "w2"}}).encode(),
    "unexpected parameters: w3": lambda d, t: json.dumps(
        d | {"parameters": d["parameters"] | {"w3": 0.0}}).encode(),
    "'w11' is not a number: '0.5'": lambda d, t: json.dumps(
        d | {"parameters": d["parameters"] | {"w11": "0.5"}}).encode(),
    "'b' is not a number: None": lambda d, t: json.dumps(
        d | {"parameters": d["parameters"] | {"b": None}}).encode(),
    "non-finite number NaN": lambda d, t: _params_text(t, '"b": 0.5', '"b": NaN').encode(),
    "non-finite number -Infinity": lambda d, t: _params_text(
        t, '"b": 0.5', '"b": -Infinity').encode(),
    "'b' is not finite: inf": lambda d, t: _params_text(t, '"b": 0.5', '"b": 1e999').encode(),
    "duplicate key 'b'": lambda d, t: _params_text(t, '"b": 0.5', '"b": 0.5, "b": 0.25').encode(),
}


@pytest.mark.parametrize("problem", list(BAD_FILES))
def test_each_kind_of_bad_file_is_rejected_and_changes_nothing(tmp_path: Path,
                                                               problem: str) -> None:
    source = Net221("tanh", seed=0)
    source.load_state_dict(dict.fromkeys(NET221_NAMES, 0.5))
    document = _document(source)
    path = tmp_path / "bad-model.json"
    path.write_bytes(BAD_FILES[problem](document, json.dumps(document)))
    model = Net221("tanh", seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=problem) as caught:
        model.load(path)
    assert str(caught.value).startswith(str(path) + ": ")
    assert model.state_dict() == before


def test_a_file_for_another_shape_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mlp.json"
    MLP(2, [4, 1], seed=0).save(path)
    model = MLP(2, [8, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"mlp.json: config .*\[4, 1\].* does not match"):
        model.load(path)
    assert model.state_dict() == before
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "missing.json")


def test_a_file_of_another_model_says_which_model_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "mlp.json"
    MLP(2, [16, 16, 3], activation="tanh").save(path)
    with pytest.raises(ModelMismatch) as caught:
        Net221().load(path)
    assert str(caught.value) == f"{path}: holds a 'MLP', not a 'Net221'"
    assert caught.value.kind == "MLP"
    assert caught.value.config == {"nin": 2, "nouts": [16, 16, 3], "activation": "tanh",
                                   "activation_params": {}}
    with pytest.raises(ModelMismatch) as caught:
        MLP(2, [16, 1]).load(path)
    assert "does not match" in str(caught.value) and caught.value.config["nouts"] == [16, 16, 3]
    assert isinstance(caught.value, ValueError)  # what load() always raised


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.json"
    model = Net221("tanh", seed=0)
    model.save(path)
    original = path.read_bytes()
    model.load_state_dict(dict.fromkeys(NET221_NAMES, 0.125))

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", broken_fsync)
        with pytest.raises(OSError, match="No space left"):
            model.save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]

    def broken_replace(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", broken_replace)
        with pytest.raises(PermissionError):
            model.save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]

    model.w1.data = math.nan  # a diverged model: refused before the file is touched
    with pytest.raises(ValueError, match=r"model\.json: cannot save: parameter 'w1' is not finite"):
        model.save(path)
    assert path.read_bytes() == original

    model.w1.data = 0.125
    model.save(path)  # and a working save does replace it
    fresh = Net221("tanh", seed=5)
    fresh.load(path)
    assert fresh.state_dict() == dict.fromkeys(NET221_NAMES, 0.125)


def test_repr_shows_the_config() -> None:
    assert repr(MLP(2, [3, 1], seed=0)) == (
        "MLP(nin=2, nouts=[3, 1], activation='relu', activation_params={})")
    assert repr(Net221("step")) == "Net221(activation='step', activation_params={})"


def test_an_mlps_nodes_are_named_by_layer_and_neuron_and_inputs_from_1() -> None:
    """The issue: inputs x0, x1 (the notes' net: x1, x2) and interior nodes v11, v20, …"""
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    out = model(0.3, -0.4)
    assert out.label == "L1.N0.a" and out.op == "linear"  # the last layer: linear, no z
    hidden = [child for child in out.children if not child.is_leaf]
    assert [z.label for z in hidden] == ["L0.N0.z", "L0.N1.z", "L0.N2.z"]
    assert all(z.op == "tanh" for z in hidden)
    pre = [z.children[0] for z in hidden]
    assert [a.label for a in pre] == ["L0.N0.a", "L0.N1.a", "L0.N2.a"]
    for j, a in enumerate(pre):  # a = w·x + b of this neuron: its own parameters, x1 and x2
        assert [c.label for c in a.children] == [
            f"L0.N{j}.w0", "x1", f"L0.N{j}.w1", "x2", f"L0.N{j}.b"]
        assert a.data == model.layers[0].neurons[j](0.3, -0.4).children[0].data
    names = walk(out).names.values()
    assert not [name for name in names if name.startswith("v")]  # every node has a name
    several = MLP(2, [2, 2], seed=0)(1.0, 2.0)
    assert [y.label for y in several] == ["L1.N0.a", "L1.N1.a"]
    layer = Layer(2, 2, "relu")
    assert [z.label for z in layer(1.0, 2.0)] == ["N0.z", "N1.z"]
    assert Neuron(2, "relu")(1.0, 2.0).label == "z" and Neuron(2, None)(1.0, 2.0).label == "a"
    inputs = [Value(1.0, "mine"), Value(2.0)]
    assert [c.label for c in model(*inputs).children[1].children[0].children[1::2]] == [
        "mine", ""]  # a Value input keeps its own label
