"""Code written for karpathy's micrograd, its lecture and microgpt runs on this package's Value.

The calls below are written from those projects' public API (the lecture "building micrograd",
micrograd's demo.ipynb and trace_graph.ipynb, microgpt.py), in this project's own words:
the names they use (_prev, _op, _backward(), _children, _local_grads), the call forms of their
models, micrograd 0.1.0's initial weights, and microgpt's training loop.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from conftest import build_graph, graph_recipes, require_dot, require_module
from hypothesis import given, settings

from micrograd import MLP, Layer, Net221, Neuron, Value, ops
from micrograd.engine import topological_order

# ---- the bridge names on Value ------------------------------------------------------------


def test_prev_children_and_local_grads_are_the_nodes_own() -> None:
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b + a
    assert c._prev is c.children and c._children is c.children and len(c._prev) == 2
    assert [child.op for child in c._prev] == ["mul", ""]
    assert c._prev[1] is a and c._local_grads == c.local_grads == (1.0, 1.0)
    assert (a * a)._prev == (a, a)  # a tuple, duplicates kept (micrograd's set has one a)
    assert a._prev == () and a._local_grads == () and a._op == ""


@pytest.mark.parametrize(("make", "symbol"), [
    (lambda a, b: a + b, "+"), (lambda a, b: a * b, "*"), (lambda a, b: a ** 2, "**2"),
    (lambda a, b: a ** -0.5, "**-0.5"), (lambda a, b: a.tanh(), "tanh"),
    (lambda a, b: a.exp(), "exp"), (lambda a, b: a.relu(), "ReLU"), (lambda a, b: a - b, "-"),
    (lambda a, b: a / b, "/"), (lambda a, b: -a, "-"), (lambda a, b: a.log(), "log"),
    (lambda a, b: Value.linear([a], [b], 1.0), "Σw·x+b"),
])
def test_op_is_the_symbol_the_drawings_print(make: Callable[[Value, Value], Value],
                                             symbol: str) -> None:
    out = make(Value(2.0), Value(3.0))
    assert out._op == symbol == out.op_symbol == ops.get(out.op).display(out.params)


def lecture_neuron() -> dict[str, Value]:
    """The lecture's two-input neuron o = tanh(x1·w1 + x2·w2 + b), its nodes by name."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    return {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "x1w1": x1w1, "x2w2": x2w2,
            "x1w1x2w2": x1w1x2w2, "n": n, "o": o}


def test_the_lectures_walk_by_hand_gives_backwards_grads_exactly() -> None:
    by_hand, by_backward = lecture_neuron(), lecture_neuron()
    by_hand["o"].grad = 1.0  # as the lecture does it: seed the root, then each node's step
    for name in ("o", "n", "b", "x1w1x2w2", "x2w2", "x1w1", "x1", "w1"):
        by_hand[name]._backward()  # a leaf's step does nothing
    by_backward["o"].backward()
    grads = {name: v.grad for name, v in by_hand.items()}
    assert grads == {name: v.grad for name, v in by_backward.items()}
    assert grads["n"] == pytest.approx(0.5) and grads["w1"] == pytest.approx(1.0)
    assert grads["x1"] == pytest.approx(-1.5) and grads["w2"] == 0.0


def lecture_topo(root: Value) -> list[Value]:
    """The lecture's topological sort: children first (over _prev), each node once."""
    topo: list[Value] = []
    visited: set[Value] = set()

    def build(v: Value) -> None:
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build(child)
            topo.append(v)

    build(root)
    return topo


FORMULAS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b,
    "tanh": lambda a, b: (a * b).tanh(), "square": lambda a, b: a ** 2 + b,
}


@settings(max_examples=60, deadline=None)
@given(graph_recipes(FORMULAS, bound=2.0, max_steps=12))
def test_the_lectures_topological_walk_gives_backwards_grads(recipe: Any) -> None:
    """Each node's _backward(), root first, shared nodes and x*x included: backward()'s grads,
    == in backward()'s order; the lecture's own order may round a sum of 3+ terms otherwise."""
    walked, lecture, summed = (build_graph(FORMULAS, recipe, [Value(x) for x in recipe[0]])
                               for _ in range(3))
    walked[-1].grad = lecture[-1].grad = 1.0
    for node in topological_order(walked[-1]):
        node._backward()
    for node in reversed(lecture_topo(lecture[-1])):
        node._backward()
    summed[-1].backward()
    assert [v.grad for v in walked] == [v.grad for v in summed]
    assert [v.grad for v in lecture] == pytest.approx([v.grad for v in summed], rel=1e-12,
                                                      abs=1e-12)


def test_the_lectures_own_draw_dot_runs_over_prev_and_op() -> None:
    graphviz = require_module("graphviz")
    nodes = lecture_neuron()
    nodes["o"].backward()
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    seen, stack = set(), [nodes["o"]]
    while stack:  # the lecture's trace(): every node and edge, through _prev
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        dot.node(str(id(v)), f"{{ {v.label} | data {v.data:.4f} | grad {v.grad:.4f} }}",
                 shape="record")
        if v._op:
            dot.node(str(id(v)) + v._op, v._op)
            dot.edge(str(id(v)) + v._op, str(id(v)))
        for child in v._prev:
            dot.edge(str(id(child)), str(id(v)) + v._op)
            stack.append(child)
    assert len(seen) == 10
    assert all(f"label={symbol}]" in dot.source for symbol in ('"*"', '"+"', "tanh"))


# ---- models called as karpathy's are -----------------------------------------------------


def test_models_take_one_list_as_well_as_the_inputs() -> None:
    model = MLP(2, [4, 1], seed=3)
    inputs = [[Value(0.5), Value(-1.0)], [1.5, 2.0], (0.0, 1.0)]
    scores = list(map(model, inputs))
    assert [s.data for s in scores] == [model(*x).data for x in inputs]
    for make in (lambda: Neuron(2, seed=1), lambda: Net221("tanh")):
        m = make()
        assert m([0.5, -1.0]).data == m((0.5, -1.0)).data == m(0.5, -1.0).data
    layer = Layer(2, 3, "tanh", seed=0)
    assert [v.data for v in layer([0.5, -1.0])] == [v.data for v in layer(0.5, -1.0)]
    one = Neuron(1, "tanh", seed=0)
    assert one([2.0]).data == one(2.0).data == math.tanh(one.w[0].data * 2.0)
    np = require_module("numpy")
    assert model(np.array([1.5, 2.0])).data == model(1.5, 2.0).data  # a NumPy row, as X[i]
    with pytest.raises(TypeError, match="takes 2 inputs, got 1"):
        model("ab")  # a string is one input, not two


class Doubled(Layer):
    """A user's layer with its own __call__: an MLP holding it calls it."""

    def __call__(self, *xs: Any) -> Any:
        out = super().__call__(*xs)
        return [v * 2 for v in out] if isinstance(out, list) else out * 2


def test_an_mlp_calls_its_layers() -> None:
    model = MLP(2, [3, 1], seed=0)
    plain = model(1.0, 2.0).data
    model.layers[1].__class__ = Doubled  # its one neuron's Value, doubled
    assert model(1.0, 2.0).data == 2 * plain


def test_a_wrong_number_of_inputs_says_how_to_call() -> None:
    with pytest.raises(TypeError, match=r"takes 2 inputs, got 3: call it as model\(x1, x2\) "
                                        r"or with one list, model\(\[x1, x2\]\)"):
        MLP(2, [3, 1])([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"takes 5 inputs, got 1: .*model\(\[x1, …, x5\]\)"):
        Neuron(5)(1.0)
    with pytest.raises(TypeError, match=r"Net221.* takes 2 inputs, got 1"):
        Net221()([1.0])


def test_karpathys_nonlin_keyword_and_a_one_output_layer() -> None:
    assert Neuron(2, nonlin=True).activation == "relu"
    assert Neuron(2, nonlin=False)(1.0, 2.0).op == "linear"
    assert Layer(2, 3, nonlin=False).activation == "linear"
    assert Layer(2, 3, nonlin=True)(1.0, 2.0)[0].op == "relu"
    with pytest.raises(TypeError, match="activation= or nonlin=, not both"):
        Neuron(2, "tanh", nonlin=True)
    out = Layer(2, 1, nonlin=False)([1.0, 2.0])
    assert isinstance(out, Value) and out.op == "linear"  # one neuron: its Value, as his
    narrow = MLP(2, [1, 3], seed=0)(1.0, 2.0)  # a one-neuron hidden layer feeds the next
    assert isinstance(narrow, list) and len(narrow) == 3


# ---- karpathy's numbers ----------------------------------------------------------------------


def micrograd_010_weights(nin: int, nouts: Sequence[int]) -> list[float]:
    """What micrograd 0.1.0's MLP(nin, nouts) draws from the global random: per layer, per
    neuron, one uniform(-1, 1) per input; its bias is 0 and draws nothing."""
    sizes = [nin, *nouts]
    drawn = []
    for k in range(len(nouts)):
        for _ in range(sizes[k + 1]):
            drawn += [random.uniform(-1, 1) for _ in range(sizes[k])] + [0.0]
    return drawn


def test_init_karpathy_draws_micrograd_010s_weights_from_the_global_random() -> None:
    random.seed(1337)
    expected = micrograd_010_weights(2, [16, 16, 1])
    random.seed(1337)
    model = MLP(2, [16, 16, 1], init="karpathy")
    assert [p.data for p in model.parameters()] == expected and len(expected) == 337
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    random.seed(1337)
    neuron = [p.data for p in Neuron(3, init="karpathy").parameters()]
    after = random.random()  # the global random, advanced by the three weights only
    random.seed(1337)
    assert neuron == micrograd_010_weights(3, [1]) and random.random() == after
    by_seed = MLP(2, [16, 16, 1], seed=5, init="karpathy")  # a seed given: its own stream
    assert [p.data for p in by_seed.parameters()] == [
        p.data for p in MLP(2, [16, 16, 1], seed=random.Random(5), init="karpathy").parameters()]
    assert max(abs(p.data) for p in by_seed.parameters()) > 1 / math.sqrt(2)  # ±1, not ±1/√nin
    random.seed(7)
    first = [p.data for p in MLP(2, [3, 1], seed=random).parameters()]
    random.seed(7)
    assert first == [p.data for p in MLP(2, [3, 1], seed=random).parameters()]
    assert MLP(2, [3, 1]).state_dict() == MLP(2, [3, 1]).state_dict()  # the default: no global
    with pytest.raises(ValueError, match="init must be one of scaled, karpathy"):
        MLP(2, [3, 1], init="he")
    with pytest.raises(TypeError, match=r"an int, a random\.Random, the random module or None"):
        MLP(2, [3, 1], seed=math)  # type: ignore[arg-type]  (a module, but not random)


DEMO_LOSSES = [0.8958441028683222, 1.7235905336972022, 0.7429006313851131]  # demo.ipynb prints


def test_the_demo_reproduces_karpathys_first_losses() -> None:
    """demo.ipynb's first steps, computed as it computes them, give the losses it prints."""
    np = require_module("numpy")
    datasets = require_module("sklearn.datasets")
    np.random.seed(1337)
    random.seed(1337)
    X, y = datasets.make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1], init="karpathy")
    assert len(model.parameters()) == 337

    def loss() -> tuple[Value, float]:
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        accuracy = [(yi > 0) == (score.data > 0) for yi, score in zip(y, scores)]
        return data_loss + reg_loss, sum(accuracy) / len(accuracy)

    seen = []
    for k in range(len(DEMO_LOSSES)):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        seen.append((total_loss.data, acc))
    assert seen[0][1] == 0.5 and [a for _, a in seen[1:]] == [0.81, 0.77]
    assert [s for s, _ in seen] == pytest.approx(DEMO_LOSSES, rel=1e-12)


# ---- microgpt's training loop ------------------------------------------------------------


class MiniValue:
    """A microgpt-style Value, as its published structure has it: data, grad, the children
    and their local grads in __slots__, one chain-rule loop over a topological order."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data: float, children: tuple[Any, ...] = (),
                 local_grads: tuple[float, ...] = ()) -> None:
        self.data, self.grad = data, 0
        self._children, self._local_grads = children, local_grads

    def __add__(self, other: Any) -> MiniValue:
        other = other if isinstance(other, MiniValue) else MiniValue(other)
        return MiniValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other: Any) -> MiniValue:
        other = other if isinstance(other, MiniValue) else MiniValue(other)
        return MiniValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k: float) -> MiniValue:
        return MiniValue(self.data ** k, (self,), (k * self.data ** (k - 1),))

    def log(self) -> MiniValue:
        return MiniValue(math.log(self.data), (self,), (1 / self.data,))

    def exp(self) -> MiniValue:
        return MiniValue(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self) -> MiniValue:
        return MiniValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self) -> MiniValue:
        return self * -1

    def __radd__(self, other: Any) -> MiniValue:
        return self + other

    def __sub__(self, other: Any) -> MiniValue:
        return self + (-other)

    def __rsub__(self, other: Any) -> MiniValue:
        return other + (-self)

    def __rmul__(self, other: Any) -> MiniValue:
        return self * other

    def __truediv__(self, other: Any) -> MiniValue:
        return self * other ** -1

    def __rtruediv__(self, other: Any) -> MiniValue:
        return other * self ** -1

    def backward(self) -> None:
        topo, visited, stack = [], set(), [(self, False)]
        while stack:  # (iterative: the same post-order as a recursive build)
            v, done = stack.pop()
            if done:
                topo.append(v)
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((child, False) for child in reversed(v._children))
        self.grad = 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad


DOCS = ["emma", "olivia", "ava", "isabella", "sophia", "mia"]  # microgpt trains on names


def microgpt_losses(Value: Any, steps: int,  # (Value: microgpt's name for the class)
                    docs: Sequence[str] = DOCS) -> list[float]:
    """microgpt's algorithm at a tiny size: its GPT (token and position embeddings, rmsnorm,
    one attention block and one MLP block with residuals), its Adam, its loop."""
    random.seed(42)
    uchars = sorted(set("".join(DOCS)))
    bos, vocab_size = len(uchars), len(uchars) + 1
    n_embd, n_head, n_layer, block_size = 8, 2, 1, 8
    head_dim = n_embd // n_head

    def matrix(nout: int, nin: int, std: float = 0.08) -> list[list[Any]]:
        return [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]

    state = {"wte": matrix(vocab_size, n_embd), "wpe": matrix(block_size, n_embd),
             "lm_head": matrix(vocab_size, n_embd)}
    for i in range(n_layer):
        for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
            state[f"layer{i}.{name}"] = matrix(n_embd, n_embd)
        state[f"layer{i}.mlp_fc1"] = matrix(4 * n_embd, n_embd)
        state[f"layer{i}.mlp_fc2"] = matrix(n_embd, 4 * n_embd)
    params = [p for mat in state.values() for row in mat for p in row]

    def linear(x: list[Any], w: list[list[Any]]) -> list[Any]:
        return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]

    def softmax(logits: list[Any]) -> list[Any]:
        top = max(v.data for v in logits)
        exps = [(v - top).exp() for v in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def rmsnorm(x: list[Any]) -> list[Any]:
        scale = (sum(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def gpt(token: int, pos: int, keys: list[list[Any]], values: list[list[Any]]) -> list[Any]:
        x = rmsnorm([t + p for t, p in zip(state["wte"][token], state["wpe"][pos])])
        for i in range(n_layer):
            residual, x = x, rmsnorm(x)
            q = linear(x, state[f"layer{i}.attn_wq"])
            keys[i].append(linear(x, state[f"layer{i}.attn_wk"]))
            values[i].append(linear(x, state[f"layer{i}.attn_wv"]))
            heads: list[Any] = []
            for h in range(n_head):
                s = slice(h * head_dim, (h + 1) * head_dim)
                qh, kh, vh = q[s], [k[s] for k in keys[i]], [v[s] for v in values[i]]
                weights = softmax([sum(qh[j] * kt[j] for j in range(head_dim)) / head_dim ** 0.5
                                   for kt in kh])
                heads += [sum(weights[t] * vh[t][j] for t in range(len(vh)))
                          for j in range(head_dim)]
            x = [a + b for a, b in zip(linear(heads, state[f"layer{i}.attn_wo"]), residual)]
            residual, x = x, rmsnorm(x)
            x = [xi.relu() for xi in linear(x, state[f"layer{i}.mlp_fc1"])]
            x = [a + b for a, b in zip(linear(x, state[f"layer{i}.mlp_fc2"]), residual)]
        return linear(x, state["lm_head"])

    lr, beta1, beta2, eps = 0.01, 0.85, 0.99, 1e-8
    m, v = [0.0] * len(params), [0.0] * len(params)
    seen = []
    for step in range(steps):
        tokens = [bos] + [uchars.index(c) for c in docs[step % len(docs)]] + [bos]
        n = min(block_size, len(tokens) - 1)
        keys: list[list[Any]] = [[] for _ in range(n_layer)]
        values: list[list[Any]] = [[] for _ in range(n_layer)]
        losses = [-softmax(gpt(tokens[t], t, keys, values))[tokens[t + 1]].log()
                  for t in range(n)]
        loss = (1 / n) * sum(losses)
        loss.backward()
        lr_t = lr * (1 - step / steps)
        for i, p in enumerate(params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
            m_hat, v_hat = m[i] / (1 - beta1 ** (step + 1)), v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps)
            p.grad = 0  # an int, set by hand
        seen.append(loss.data)
    return seen


def test_microgpts_loop_runs_on_this_value_and_learns_as_with_its_own() -> None:
    ours, theirs = microgpt_losses(Value, 3), microgpt_losses(MiniValue, 3)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    assert ours == pytest.approx(theirs, rel=1e-9)
    vocab = len(set("".join(DOCS))) + 1  # the letters and BOS
    assert ours[0] == pytest.approx(math.log(vocab), rel=0.1)  # about uniform at first
    # trained on one name, it learns it: the loss falls at every step, as with its own Value
    ours, theirs = microgpt_losses(Value, 4, ["emma"]), microgpt_losses(MiniValue, 4, ["emma"])
    assert all(later < sooner for sooner, later in pairwise(ours))
    assert ours == pytest.approx(theirs, rel=1e-9) and ours[-1] < 0.85 * ours[0]


# ---- Jupyter ---------------------------------------------------------------------------------


def test_a_value_displays_its_graph_as_svg_no_wider_than_the_cell(dot: str) -> None:
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b
    bundle = c._repr_mimebundle_(include=None, exclude=None)
    assert set(bundle) == {"image/svg+xml", "text/plain"} and bundle["text/plain"] == repr(c)
    svg = bundle["image/svg+xml"]
    tag = svg[svg.index("<svg"):svg.index(">", svg.index("<svg"))]
    assert 'style="max-width:100%;height:auto"' in tag and "viewBox" in tag
    assert ">a<" in svg and ">b<" in svg and ">*<" in svg


def test_the_engine_shows_what_the_notebook_module_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    from micrograd import engine, notebook

    assert engine.NOTEBOOK_VIEW is notebook.mimebundle  # set when the package is imported
    monkeypatch.setattr(engine, "NOTEBOOK_VIEW", None)  # the engine alone: its repr
    c = Value(2.0) * 3.0
    assert c._repr_mimebundle_() == {"text/plain": repr(c)}


def test_a_graph_too_large_to_read_displays_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from micrograd import notebook

    x = Value(1.0, "x")
    for _ in range(notebook.INLINE_NODES):  # x and 200 sums: 201 nodes, one over
        x = x + 1.0
    drawn = []
    monkeypatch.setattr("micrograd.graph.draw_dot", lambda root: drawn.append(root))
    bundle = x._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "\n" not in bundle["text/plain"]
    line = bundle["text/plain"]
    assert line.startswith(repr(x)) and "a graph of more than 200 nodes" in line
    assert drawn == []  # nothing laid out


def test_without_dot_a_value_displays_one_line_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    graphviz = require_module("graphviz")

    def missing(*args: Any, **kwargs: Any) -> bytes:
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    c = Value(2.0) * 3.0
    assert c._repr_mimebundle_() == {
        "text/plain": f"{c!r} (install Graphviz's `dot` program to see its graph)"}


def test_draw_dot_takes_the_lectures_format_and_rankdir(dot: str, tmp_path: Path) -> None:
    from micrograd.graph import draw_dot

    y = (Value(1.0, "x") * 2 + 1).relu()
    y.backward()
    graph = draw_dot(y, format="png", rankdir="TB")
    assert graph.format == "png" and "rankdir=TB" in graph.source
    assert draw_dot(y).source == draw_dot(y, format="pdf").source  # the drawing is the same
    written = Path(graph.render(tmp_path / "gout"))
    assert written.name == "gout.png" and written.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="draw_dot: format must be one of Graphviz's"):
        draw_dot(y, format="bogus")


def test_show_puts_a_page_in_an_inline_frame(dot: str, tmp_path: Path) -> None:
    from micrograd.graph import render
    from micrograd.notebook import show

    e = (Value(2.0, "a") * Value(-3.0, "b")).tanh()
    inline = show(e)._repr_html_()
    start = '<iframe src="data:text/html;charset=utf-8;base64,'
    assert inline.startswith(start) and "width:100%" in inline
    page = base64.b64decode(inline[len(start):inline.index('"', len(start))]).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page == show(e).html
    path = render(e, tmp_path / "e.html")
    assert show(path)._repr_html_() == inline  # the same page as render writes
    assert 'height:500px' in show(str(path), height=500)._repr_html_()
    with pytest.raises(ValueError, match="is not a page"):
        show(tmp_path / "e.svg")
    with pytest.raises(TypeError, match="a Value or a path"):
        show(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="height must be a positive int"):
        show(path, height=0)


def test_in_a_notebook_values_and_pages_display_inline(tmp_path: Path) -> None:
    """A notebook made here, run in a fresh kernel: the graph, the summary, the two pages."""
    nbformat = require_module("nbformat")
    nbclient = require_module("nbclient")
    require_module("ipykernel")
    require_dot()
    cells = [
        "from micrograd import Net221, Value, data, train\nfrom micrograd.notebook import show",
        "a, b = Value(2.0, label='a'), Value(-3.0, label='b')\nc = a * b\nc",
        "x = Value(1.0)\nfor _ in range(300):\n    x = x + 1\nx",
        "show(c)",
        "train(Net221(), data.xor, epochs=3, page='run.html')\nshow('run.html')",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    shown = [cell.outputs[-1]["data"] if cell.outputs else {} for cell in notebook.cells]
    assert "max-width:100%" in shown[1]["image/svg+xml"]
    assert "text/plain" in shown[1] and "image/svg+xml" not in shown[2]
    assert "a graph of more than 200 nodes" in shown[2]["text/plain"]
    for cell, body in ((3, "backprop"), (4, "training")):
        frame = shown[cell]["text/html"]
        assert frame.startswith('<iframe src="data:text/html;charset=utf-8;base64,')
        assert f'<body class="{body}">' in base64.b64decode(frame.split(",")[1].split('"')[0]
                                                             ).decode("utf-8")


def test_the_inline_page_steps_inside_its_frame(browser: Any, dot: str, tmp_path: Path) -> None:
    """Stepping writes #step=N into the frame's own address, never the notebook's."""
    from micrograd.notebook import show

    e = (Value(2.0, "a") * Value(-3.0, "b")).tanh()
    cell = tmp_path / "cell.html"
    cell.write_text(f"<p>a notebook cell</p>{show(e)._repr_html_()}", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    try:
        page.goto(cell.as_uri())
        frame = page.frames[1]
        frame.locator("#next").click()
        frame.locator("#next").click()
        assert frame.locator("#counter").inner_text() == "step 2 / 2"
        assert frame.evaluate("location.hash") == "#step=2"
        assert frame.url.startswith("data:text/html") and len(page.frames) == 2
    finally:
        page.close()
