"""gpt: microgpt's training step, this package's GPT (eager and compiled) against a reference.

The reference is the same algorithm written in this file on a plain microgpt-style scalar
class (``RefValue``: ``__slots__``, children, local grads, no registry), its softmax the
usual ``max(v.data)``-shifted one, its Adam written out. Given the same initial weights
(``weights_of(model)``) it computes the same losses as ``micrograd.gpt`` (``same_math``:
within 1e-12 relative at step 1, 1e-6 at every step of 50); tests/test_gpt.py holds that
on a small configuration, and this benchmark on the full one.

Rows (steps back to back, the collector on, medians over interleaved rounds, each round
the next names of the shuffled list, so lengths vary as in training):

- steady training step: compiled on a ``compiler.Trainer`` (train_gpt's path), compiled with
  Adam on the Values (every length of the round already compiled, both), eager
  (compile off) and microgpt's own code run on ``micrograd.Value`` (the reference's code with
  this engine's node: no linear nodes), each beside the reference in the same rounds;
- the whole run including every compile, in a fresh subprocess (``python
  benchmarks/gpt.py whole STEPS``), with its peak resident memory; the reference's run is
  its steady step times the steps (1,000 of its steps take minutes here): an estimate,
  named as one.

There is no hand-written float floor for this workload (a GPT's backward written by hand
in floats is a project of its own): the reference class is the comparison.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

Weights = dict[str, list[list[float]]]


# ---- the reference: microgpt's algorithm on a plain scalar class ------------------------


class RefValue:
    """A microgpt-style node: data, grad, children and the local grads, made with the node."""

    __slots__ = ("data", "grad", "children", "local_grads")

    def __init__(self, data: float, children: tuple[RefValue, ...] = (),
                 local_grads: tuple[float, ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self.children = children
        self.local_grads = local_grads

    def __add__(self, other: Any) -> RefValue:
        other = other if isinstance(other, RefValue) else RefValue(other)
        return RefValue(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other: Any) -> RefValue:
        other = other if isinstance(other, RefValue) else RefValue(other)
        return RefValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k: float) -> RefValue:
        return RefValue(self.data**k, (self,), (k * self.data ** (k - 1),))

    def log(self) -> RefValue:
        return RefValue(math.log(self.data), (self,), (1.0 / self.data,))

    def exp(self) -> RefValue:
        e = math.exp(self.data)
        return RefValue(e, (self,), (e,))

    def relu(self) -> RefValue:
        return RefValue(max(0.0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self) -> RefValue:
        return self * -1.0

    def __radd__(self, other: Any) -> RefValue:
        return self + other

    def __sub__(self, other: Any) -> RefValue:
        return self + (-other)

    def __rmul__(self, other: Any) -> RefValue:
        return self * other

    def __truediv__(self, other: Any) -> RefValue:
        return self * other**-1

    def backward(self) -> None:
        """Each node's grad += ∂self/∂node, children after parents (an iterative sort)."""
        order: list[RefValue] = []
        seen: set[RefValue] = set()
        stack: list[tuple[RefValue, bool]] = [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node.children)
        self.grad = 1.0
        for node in reversed(order):
            for child, local in zip(node.children, node.local_grads):
                child.grad += local * node.grad


def _linear(x: Sequence[RefValue], w: list[list[RefValue]]) -> list[RefValue]:
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]  # type: ignore[misc]


def _softmax(logits: Sequence[RefValue]) -> list[RefValue]:
    top = max(z.data for z in logits)
    exps = [(z - top).exp() for z in logits]
    total = sum(exps)
    return [e / total for e in exps]


def _rmsnorm(x: Sequence[RefValue]) -> list[RefValue]:
    scale = (sum(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


class Reference:
    """microgpt's model and loop on RefValue (or another scalar class with its operators,
    ``value=micrograd.Value``), from given weights and hyperparameters."""

    def __init__(self, weights: Weights, n_head: int, n_layer: int, block_size: int,
                 lr: float = 0.01, betas: tuple[float, float] = (0.85, 0.99),
                 steps: int = 1000, value: Any = RefValue) -> None:
        self.w = {name: [[value(x) for x in row] for row in m] for name, m in weights.items()}
        self.params = [p for m in self.w.values() for row in m for p in row]
        self.n_head, self.n_layer, self.block_size = n_head, n_layer, block_size
        self.n_embd = len(self.w["wte"][0])
        self.lr, self.betas, self.steps = lr, betas, steps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)
        self.step_count = 0

    def gpt(self, token: int, pos: int, keys: list[list[Any]],
            values: list[list[Any]]) -> list[RefValue]:
        w, hd = self.w, self.n_embd // self.n_head
        x = _rmsnorm([t + p for t, p in zip(w["wte"][token], w["wpe"][pos])])
        for li in range(self.n_layer):
            res = x
            x = _rmsnorm(x)
            q = _linear(x, w[f"layer{li}.attn_wq"])
            keys[li].append(_linear(x, w[f"layer{li}.attn_wk"]))
            values[li].append(_linear(x, w[f"layer{li}.attn_wv"]))
            out: list[RefValue] = []
            for h in range(self.n_head):
                s = slice(h * hd, (h + 1) * hd)
                att = _softmax([sum(a * b for a, b in zip(q[s], k[s])) / hd**0.5  # type: ignore
                                for k in keys[li]])
                out += [sum(att[t] * v[s][j] for t, v in enumerate(values[li]))  # type: ignore
                        for j in range(hd)]
            x = [a + b for a, b in zip(_linear(out, w[f"layer{li}.attn_wo"]), res)]
            res = x
            hidden = [h.relu() for h in _linear(_rmsnorm(x), w[f"layer{li}.mlp_fc1"])]
            x = [a + b for a, b in zip(_linear(hidden, w[f"layer{li}.mlp_fc2"]), res)]
        return _linear(x, w["lm_head"])

    def train_step(self, ids: Sequence[int]) -> float:
        """One name: the mean cross-entropy, backward, Adam with the linearly decayed lr."""
        n = min(self.block_size, len(ids) - 1)
        keys: list[list[Any]] = [[] for _ in range(self.n_layer)]
        values: list[list[Any]] = [[] for _ in range(self.n_layer)]
        losses = [-_softmax(self.gpt(ids[p], p, keys, values))[ids[p + 1]].log()
                  for p in range(n)]
        loss = (1.0 / n) * sum(losses)  # type: ignore[operator]
        loss.backward()
        b1, b2 = self.betas
        t = self.step_count
        lr = self.lr * (1 - t / self.steps)
        for i, p in enumerate(self.params):
            self.m[i] = b1 * self.m[i] + (1 - b1) * p.grad
            self.v[i] = b2 * self.v[i] + (1 - b2) * p.grad**2
            m_hat = self.m[i] / (1 - b1 ** (t + 1))
            v_hat = self.v[i] / (1 - b2 ** (t + 1))
            p.data -= lr * m_hat / (v_hat**0.5 + 1e-8)
            p.grad = 0.0
        self.step_count += 1
        return float(loss.data)


def weights_of(model: Any) -> Weights:
    """A micrograd.gpt.GPT's weights as floats, matrix by matrix."""
    return {name: [[p.data for p in row] for row in m] for name, m in model.weights.items()}


def reference_for(model: Any, steps: int) -> Reference:
    """A Reference starting from model's current weights, with its sizes."""
    return Reference(weights_of(model), model.n_head, model.n_layer, model.block_size,
                     steps=steps)


def same_math(model: Any, docs: Sequence[str], tokenizer: Any, steps: int) -> list[float]:
    """Relative differences, step by step, between the reference's losses and train_gpt's
    (eager) from the same weights."""
    from micrograd.gpt_train import train_gpt

    reference = reference_for(model, steps)
    ours = train_gpt(model, docs, tokenizer, steps=steps, compile=False)
    theirs = [reference.train_step(tokenizer.encode(docs[s % len(docs)]))
              for s in range(steps)]
    return [abs(a - b) / abs(b) for a, b in zip(ours, theirs)]


# ---- the timed runs -----------------------------------------------------------------


def whole_run(steps: int) -> dict[str, float]:
    """A fresh process trains ``steps`` steps compiled: seconds (compiles included), peak RSS."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "whole", str(steps)],
                         capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _worker(steps: int) -> None:
    import resource

    from micrograd.gpt import GPT, Tokenizer, names
    from micrograd.gpt_train import train_gpt

    docs = names()
    tokenizer = Tokenizer.from_docs(docs)
    t0 = perf_counter()
    model = GPT(tokenizer.vocab_size)
    losses = train_gpt(model, docs, tokenizer, steps=steps, compile=True)
    seconds = perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"s": seconds, "peak_mb": peak_kb / 1024, "last_loss": losses[-1]}))


def run(steps_per_round: int, repeat: int, whole_steps: int,
        check_steps: int = 50) -> list[Any]:
    """The rows: steady compiled and eager steps beside the reference, the whole run, memory."""
    from benchmarks import harness
    from micrograd import Value
    from micrograd.compiler import Trainer
    from micrograd.gpt import GPT, Tokenizer, names
    from micrograd.gpt_train import CompiledSteps, EagerSteps, TrainerSteps
    from micrograd.optim import Adam

    docs = names()
    tokenizer = Tokenizer.from_docs(docs)
    diffs = same_math(GPT(tokenizer.vocab_size), docs, tokenizer, check_steps)
    compiled_model, eager_model = GPT(tokenizer.vocab_size), GPT(tokenizer.vocab_size)
    reference = reference_for(GPT(tokenizer.vocab_size), 10**6)
    start = GPT(tokenizer.vocab_size)  # microgpt's own code, on this package's Value
    on_value = Reference(weights_of(start), start.n_head, start.n_layer, start.block_size,
                         steps=10**6, value=Value)
    compiled, eager = CompiledSteps(compiled_model), EagerSteps(eager_model)
    optimizers = {m: Adam(m.parameters(), lr=0.01, betas=(0.85, 0.99)) for m in
                  (compiled_model, eager_model)}
    sequences = [tokenizer.encode(d)[: compiled_model.block_size + 1] for d in docs]
    trainer_model = GPT(tokenizer.vocab_size)
    trained = TrainerSteps(trainer_model, Trainer(Adam(trainer_model.parameters(), lr=0.01,
                                                       betas=(0.85, 0.99))))
    for ids in sequences[: steps_per_round * repeat]:  # every length the rounds meet, compiled
        compiled(ids)
        trained(ids)
    lengths = {len(ids) - 1 for ids in sequences[: steps_per_round * repeat]}
    cursor = {"trainer": 0, "compiled": 0, "eager": 0, "reference": 0, "on_value": 0}

    def steps_of(name: str, step: Callable[[Sequence[int]], float], model: Any
                 ) -> Callable[[], dict[str, float]]:
        def one() -> None:
            ids = sequences[cursor[name] % len(sequences)]
            cursor[name] += 1
            if model is not None:
                model.zero_grad()
            step(ids)
            if model is not None:
                optimizers[model].step()
        return harness.steady(one, steps_per_round)

    results = harness.interleave({
        "trainer": steps_of("trainer", trained, None),  # (its update is part of the step)
        "compiled": steps_of("compiled", compiled, compiled_model),
        "eager": steps_of("eager", eager, eager_model),
        "reference": steps_of("reference", reference.train_step, None),
        "on_value": steps_of("on_value", on_value.train_step, None),
    }, repeat)
    ms = {name: harness.median(r["ms"]) for name, r in results.items()}
    whole = whole_run(whole_steps)
    assert ms["reference"] is not None and ms["compiled"] is not None
    reference_whole = ms["reference"] * whole_steps / 1e3
    name = "gpt (microgpt)"
    rows = [
        harness.Row(name, f"same math: max relative loss difference over {check_steps} steps",
                    max(diffs), target="≤ 1e-6", passed=max(diffs) <= 1e-6),
        harness.Row(name, "same math: relative loss difference at step 1", diffs[0],
                    target="≤ 1e-12", passed=diffs[0] <= 1e-12),
        harness.Row(name, f"ms per step, compiled graph + Adam on the Values, steady "
                    f"({steps_per_round} names a round; floor: the reference class)",
                    ms["compiled"], ms["reference"],
                    runs={"engine": results["compiled"]["ms"],
                          "floor": results["reference"]["ms"]}),
        harness.Row(name, "ms per step, compiled on a Trainer (train_gpt's path: parameters and "
                    "Adam as lists), steady; floor: the reference", ms["trainer"],
                    ms["reference"], target="ratio ≤ 1/30",
                    passed=ms["trainer"] * 30 <= ms["reference"],
                    runs={"engine": results["trainer"]["ms"],
                          "floor": results["reference"]["ms"]}),
        harness.Row(name, "ms per step, eager (compile off), steady; floor: the reference",
                    ms["eager"], ms["reference"], target="ratio ≤ 1",
                    passed=(ms["eager"] or math.inf) <= ms["reference"],
                    runs={"engine": results["eager"]["ms"], "floor": results["reference"]["ms"]}),
        harness.Row(name, "ms per step, microgpt's own code on micrograd.Value (no linear "
                    "nodes); floor: the reference", ms["on_value"], ms["reference"],
                    runs={"engine": results["on_value"]["ms"],
                          "floor": results["reference"]["ms"]}),
        harness.Row(name, f"s for the whole {whole_steps}-step run, every compile included "
                    "(floor: the reference's steady step × steps, an estimate)", whole["s"],
                    reference_whole, target="ratio ≤ 1/10",
                    passed=whole["s"] * 10 <= reference_whole),
        harness.Row(name, f"peak MB (RSS) of the whole {whole_steps}-step compiled run",
                    whole["peak_mb"], target="< 1024", passed=whole["peak_mb"] < 1024),
        harness.Row(name, f"lengths compiled before the steady rounds ({sorted(lengths)})",
                    float(len(compiled.graphs))),
    ]
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) == 3 and sys.argv[1] == "whole":
        _worker(int(sys.argv[2]))
    else:
        quick = "--quick" in sys.argv  # (also: python -m benchmarks --only gpt)
        for line in run(2 if quick else 20, 1 if quick else 5, 5 if quick else 1000,
                        3 if quick else 50):
            print(json.dumps(line.as_json()))
