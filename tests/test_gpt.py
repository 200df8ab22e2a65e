"""micrograd.gpt: microgpt's algorithm on Values, held to a reference class, PyTorch and itself.

The reference (benchmarks/gpt.py, a plain microgpt-style scalar class) gives the same losses
from the same weights; PyTorch (float64) gives the same loss and gradients; the compiled
path (a recorded graph per sequence length) gives eager's floats, compared with ==. A small
configuration keeps this file to a few seconds.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` is a folder of the repository, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks.gpt import reference_for, same_math, weights_of  # noqa: E402
from micrograd import Value, apply, compile  # noqa: E402
from micrograd.engine import topological_order  # noqa: E402
from micrograd.gpt import GPT, Inputs, Tokenizer, names, one_hot, sample, softmax  # noqa: E402
from micrograd.gpt_train import CompiledSteps, EagerSteps, train_gpt  # noqa: E402

SMALL = {"n_embd": 8, "n_head": 2, "n_layer": 1, "block_size": 8}


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return names()


@pytest.fixture(scope="module")
def tokenizer(docs: list[str]) -> Tokenizer:
    return Tokenizer.from_docs(docs)


def small(tokenizer: Tokenizer, seed: int = 42) -> GPT:
    return GPT(tokenizer.vocab_size, seed=seed, **SMALL)  # type: ignore[arg-type]


# ---- data and tokens -------------------------------------------------------------------


def test_names_are_the_shipped_list_shuffled_by_the_seed(docs: list[str]) -> None:
    in_file = names(seed=None)
    assert len(in_file) == 32_033 and in_file[:3] == ["emma", "olivia", "ava"]
    assert sorted(docs) == sorted(in_file) and docs != in_file
    assert names(seed=42) == docs and names(seed=7) != docs
    assert all(name.isascii() and name.isalpha() and name.islower() for name in in_file)


def test_tokenizer_round_trips_and_names_a_foreign_character(tokenizer: Tokenizer) -> None:
    assert tokenizer.chars == "abcdefghijklmnopqrstuvwxyz" and tokenizer.bos == 26
    ids = tokenizer.encode("emma")
    assert ids == [26, 4, 12, 12, 0, 26] and tokenizer.decode(ids) == "emma"
    with pytest.raises(ValueError, match="'É'"):
        tokenizer.encode("Émile")


def test_a_bad_size_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="n_head"):
        GPT(5, n_embd=6, n_head=4)
    with pytest.raises(ValueError, match="block_size"):
        GPT(5, block_size=0)


# ---- the softmax op and the one-hot lookup ------------------------------------------------


def test_softmax_by_logsumexp_is_stable_and_sums_to_one() -> None:
    for zs in ([1.0, 2.0, 3.0], [1000.0, 999.0, -1000.0], [-750.0, -751.0]):
        weights = softmax([Value(z) for z in zs])
        top = max(zs)
        expected = [math.exp(z - top) / sum(math.exp(y - top) for y in zs) for z in zs]
        assert all(math.isclose(w.data, e, rel_tol=1e-12) for w, e in zip(weights, expected))
    assert apply("logsumexp", Value(1e308), Value(1e308)).data == 1e308 + math.log(2.0)


def test_the_softmax_reads_no_data_a_compiled_graph_would_freeze() -> None:
    """Recorded at one set of logits, replayed at another far away: still the softmax."""
    zs = [Value(0.0), Value(1.0), Value(2.0)]
    graph = compile(softmax(zs)[2] * 1.0)
    for z, x in zip(zs, (500.0, 800.0, 900.0)):
        z.data = x
    assert math.isclose(graph(), 1.0 / (1.0 + math.exp(-100.0) + math.exp(-400.0)),
                        rel_tol=1e-15)


def test_a_one_hot_lookup_is_exactly_the_row(tokenizer: Tokenizer) -> None:
    model = small(tokenizer)
    inputs = Inputs(3, tokenizer.vocab_size)
    inputs.set([26, 4, 12, 26])
    logits = model(inputs.tokens[1], 0, [[]], [[]])
    direct = model([Value(x) for x in one_hot(4, tokenizer.vocab_size)], 0, [[]], [[]])
    assert [z.data for z in logits] == [z.data for z in direct]


# ---- same math as the reference class -----------------------------------------------------


def test_same_losses_as_the_reference_class_over_50_steps(docs: list[str],
                                                          tokenizer: Tokenizer) -> None:
    diffs = same_math(small(tokenizer), docs, tokenizer, 50)
    assert diffs[0] <= 1e-12, diffs[0]
    assert max(diffs) <= 1e-6, max(diffs)


def test_the_reference_would_notice_another_model(docs: list[str],
                                                  tokenizer: Tokenizer) -> None:
    """The check can fail: other initial weights give losses far apart."""
    reference = reference_for(small(tokenizer, seed=1), 10)
    theirs = reference.train_step(tokenizer.encode(docs[0]))
    ours = train_gpt(small(tokenizer), docs, tokenizer, steps=1, compile=False)[0]
    assert abs(ours - theirs) / theirs > 1e-6


# ---- compiled replay per length == eager ----------------------------------------------------


def test_compiled_training_is_eager_training_bit_for_bit(docs: list[str],
                                                         tokenizer: Tokenizer) -> None:
    eager, compiled = small(tokenizer), small(tokenizer)
    states: list[dict[str, float]] = []
    compiled_losses = train_gpt(compiled, docs, tokenizer, steps=12, compile=True, compile_after=2,
                                on_step=lambda s, loss, opt: states.append(compiled.state_dict()))
    eager_states: list[dict[str, float]] = []
    eager_losses = train_gpt(eager, docs, tokenizer, steps=12, compile=False,
                             on_step=lambda s, loss, opt: eager_states.append(eager.state_dict()))
    lengths = {min(len(d) + 1, 8) for d in docs[:12]}
    assert len(lengths) >= 3  # several graphs, some replayed for another name of their length
    assert compiled_losses == eager_losses
    assert states == eager_states


def test_compiled_steps_keep_one_graph_per_length(docs: list[str],
                                                  tokenizer: Tokenizer) -> None:
    model = small(tokenizer)
    steps, eager = CompiledSteps(model), EagerSteps(small(tokenizer))
    for doc in ("ava", "mia", "emma", "zoe"):
        ids = tokenizer.encode(doc)
        assert steps(ids) == eager(ids)
        assert [p.grad for p in model.parameters()] == [
            p.grad for p in eager.model.parameters()]
    assert sorted(steps.graphs) == [4, 5]
    later = CompiledSteps(small(tokenizer), compile_after=3)
    for doc in ("ava", "mia", "zoe", "eva"):
        later.model.zero_grad()
        eager.model.zero_grad()
        assert later(tokenizer.encode(doc)) == eager(tokenizer.encode(doc))
        assert later.model.state_dict() == eager.model.state_dict()
        assert [p.grad for p in later.model.parameters()] == [
            p.grad for p in eager.model.parameters()]
    assert sorted(later.graphs) == [4] and later.seen == {4: 3}
    with pytest.raises(ValueError, match="block_size 8"):
        steps(tokenizer.encode("isabella"))


# ---- against PyTorch ------------------------------------------------------------------------


def torch_loss(torch: ModuleType, weights: dict[str, Any], ids: list[int],
               config: dict[str, int]) -> Any:
    """microgpt's loss in float64 tensors (whole-sequence causal attention)."""
    w = weights
    n, hd = len(ids) - 1, config["n_embd"] // config["n_head"]

    def rms(x: Any) -> Any:
        return x * ((x * x).mean(-1, keepdim=True) + 1e-5) ** -0.5

    x = rms(w["wte"][ids[:-1]] + w["wpe"][:n])
    for li in range(config["n_layer"]):
        res, h = x, rms(x)
        q, k, v = (h @ w[f"layer{li}.attn_{m}"].T for m in ("wq", "wk", "wv"))
        heads = []
        mask = torch.ones(n, n, dtype=torch.bool).tril()
        for i in range(config["n_head"]):
            s = slice(i * hd, (i + 1) * hd)
            scores = (q[:, s] @ k[:, s].T / hd**0.5).masked_fill(~mask, -math.inf)
            heads.append(torch.softmax(scores, -1) @ v[:, s])
        x = torch.cat(heads, -1) @ w[f"layer{li}.attn_wo"].T + res
        res = x
        x = torch.relu(rms(x) @ w[f"layer{li}.mlp_fc1"].T) @ w[f"layer{li}.mlp_fc2"].T + res
    logits = x @ w["lm_head"].T
    return torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]))


def test_loss_and_gradients_equal_pytorchs(torch: ModuleType, tokenizer: Tokenizer) -> None:
    model = GPT(tokenizer.vocab_size, seed=3, **SMALL)  # type: ignore[arg-type]
    tensors = {name: torch.tensor(m, dtype=torch.float64, requires_grad=True)
               for name, m in weights_of(model).items()}
    for doc in ("zoe", "isabella"):
        ids = tokenizer.encode(doc)[:9]  # block_size 8: at most 8 positions
        model.zero_grad()
        ours = EagerSteps(model)(ids)
        for t in tensors.values():
            t.grad = None
        theirs = torch_loss(torch, tensors, ids, SMALL)
        theirs.backward()
        assert math.isclose(ours, theirs.item(), rel_tol=1e-12)
        for name, matrix in model.weights.items():
            grads = tensors[name].grad.tolist()
            for row, grad_row in zip(matrix, grads):
                for p, g in zip(row, grad_row):
                    assert math.isclose(p.grad, g, rel_tol=1e-9, abs_tol=1e-13), (p.label, g)


# ---- sampling ------------------------------------------------------------------------------


def test_sampling_is_seeded_and_stops_at_bos_or_the_block(tokenizer: Tokenizer) -> None:
    model = small(tokenizer)
    first = [sample(model, tokenizer, random.Random(0)) for _ in range(3)]
    again = [sample(model, tokenizer, random.Random(0)) for _ in range(3)]
    assert first == again
    many = [sample(model, tokenizer, random.Random(i), temperature=1.0) for i in range(10)]
    assert all(len(s) <= 8 and set(s) <= set(tokenizer.chars) for s in many)
    assert len(set(many)) > 1


def test_the_graph_of_a_step_is_one_per_length(tokenizer: Tokenizer) -> None:
    """Two names of one length make graphs of the same shape (the ops, in order)."""
    model = small(tokenizer)

    def shape(doc: str) -> list[tuple[str, int]]:
        inputs = Inputs(len(doc) + 1, tokenizer.vocab_size)
        inputs.set(tokenizer.encode(doc))
        loss = model.loss(inputs.tokens, inputs.targets)
        return [(node.op, len(node.children)) for node in topological_order(loss)]

    assert shape("ava") == shape("zoe") != shape("emma")


def test_the_trainer_path_ends_with_eagers_parameters(docs: list[str],
                                                      tokenizer: Tokenizer) -> None:
    """No on_step: the Trainer's lists are written back to the Values once, at the end."""
    replayed, eager = small(tokenizer), small(tokenizer)
    losses = train_gpt(replayed, docs, tokenizer, steps=10, compile_after=2)
    assert losses == train_gpt(eager, docs, tokenizer, steps=10, compile=False)
    assert replayed.state_dict() == eager.state_dict()
