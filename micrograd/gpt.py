"""A GPT from Values: karpathy's microgpt algorithm, built on this package's engine.

A character-level, decoder-only transformer trained on one name per step: token and
position embeddings, RMSNorm, multi-head causal self-attention over a key/value cache, a
ReLU MLP, residuals and an lm head (``GPT.__call__``, one position at a time, as microgpt
writes it); softmax cross-entropy per position; Adam (β1 0.85, β2 0.99, lr 0.01 decaying
linearly to 0); then names sampled with a temperature.

Two choices make a sequence's graph the same for every name of its length, so the compiler
can record it once per length and replay it (``micrograd.gpt_train``): the token and the target
are one-hot vectors of leaves whose ``.data`` is set (``table · one_hot`` is the lookup,
exactly: ``0·w + 1·w' + 0·w''`` adds zeros to ``w'``), and the softmax is the registered
op ``logsumexp``, ``softmax(z)_i = e^(z_i − logsumexp(z))``, with no ``max(v.data)`` read
into a constant. The names come from ``micrograd/names.txt`` (see ``names()``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from micrograd.engine import Value, apply
from micrograd.nn import Module

__all__ = ["GPT", "Inputs", "Tokenizer", "mean_loss", "names", "one_hot", "rmsnorm", "sample",
           "softmax"]

Operand = Value | float
Matrix = list[list[Value]]
Cache = list[list[list[Value]]]  # per layer, per position so far: a key (or value) vector


def names(seed: int | None = 42) -> list[str]:
    """The 32,033 names of micrograd/names.txt, shuffled by ``seed`` (None: in file order).

    Source: the most common names given in the US in 2018, from the Social Security
    Administration's baby-name data (a work of the US government, public domain), as
    karpathy/makemore ships them (MIT licence); see docs/gpt.md.
    """
    text = resources.files("micrograd").joinpath("names.txt").read_text(encoding="utf-8")
    docs = [line.strip() for line in text.splitlines() if line.strip()]
    if seed is not None:
        random.Random(seed).shuffle(docs)
    return docs


@dataclass(frozen=True)
class Tokenizer:
    """Characters as token ids 0 … n−1, and one more id, ``bos``, that begins and ends a name."""

    chars: str

    @classmethod
    def from_docs(cls, docs: Sequence[str]) -> Tokenizer:
        """The sorted set of characters in docs."""
        return cls("".join(sorted(set("".join(docs)))))

    @property
    def bos(self) -> int:
        """The id of the begin/end-of-sequence token."""
        return len(self.chars)

    @property
    def vocab_size(self) -> int:
        """The characters and BOS."""
        return len(self.chars) + 1

    def encode(self, doc: str) -> list[int]:
        """[bos, id(c1), …, id(cn), bos]; ValueError naming a character not in the vocabulary."""
        ids = [self.bos]
        for ch in doc:
            index = self.chars.find(ch)
            if index < 0:
                raise ValueError(f"Tokenizer: character {ch!r} of {doc[:40]!r} is not in the "
                                 f"vocabulary {self.chars!r}")
            ids.append(index)
        return [*ids, self.bos]

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of ids (BOS left out)."""
        return "".join(self.chars[i] for i in ids if i != self.bos)


def one_hot(index: int, size: int) -> list[float]:
    """[0.0, …, 1.0 at index, …, 0.0]."""
    return [1.0 if i == index else 0.0 for i in range(size)]


# ---- the model: microgpt's helpers and forward, on Values -------------------------------


def linear(x: Sequence[Operand], w: Matrix) -> list[Value]:
    """W·x, one node per row (no bias): Σ_j w_ij·x_j."""
    return [Value.linear(row, x, 0.0) for row in w]


def lookup(table: Matrix, index: Sequence[Operand]) -> list[Value]:
    """Row ``index`` of table, for a one-hot index: Σ_i index_i·table_i (exactly that row)."""
    return [Value.linear(column, index, 0.0) for column in zip(*table)]


def softmax(logits: Sequence[Value]) -> list[Value]:
    """e^(z_i − logsumexp(z)): stable, and no ``.data`` read (a recorded graph stays true)."""
    total = apply("logsumexp", *logits)
    return [(z - total).exp() for z in logits]


def rmsnorm(x: Sequence[Value]) -> list[Value]:
    """x / √(mean(x²) + 1e-5)."""
    scale = (Value.linear(x, x, 0.0) / len(x) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def mean_loss(losses: Sequence[Value]) -> Value:
    """(loss0 + … + loss(n−1)) / n, labelled loss_sum and loss."""
    total = Value.sum(losses)
    mean = total / len(losses)
    total.label, mean.label = "loss_sum", "loss"
    return mean


class GPT(Module):
    """microgpt: embeddings, n_layer blocks of causal self-attention and a ReLU MLP, an lm head."""

    DEFAULT_SEED = 42

    def __init__(self, vocab_size: int, n_embd: int = 16, n_head: int = 4, n_layer: int = 1,
                 block_size: int = 16, seed: int | random.Random | None = None,
                 std: float = 0.08) -> None:
        for what, n in (("vocab_size", vocab_size), ("n_embd", n_embd), ("n_head", n_head),
                        ("n_layer", n_layer), ("block_size", block_size)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"GPT {what} must be a positive int, got {n!r}")
        if n_embd % n_head:
            raise ValueError(f"GPT n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        self.vocab_size, self.n_embd, self.n_head = vocab_size, n_embd, n_head
        self.n_layer, self.block_size, self.std = n_layer, block_size, float(std)
        rng = seed if isinstance(seed, random.Random) else random.Random(
            self.DEFAULT_SEED if seed is None else seed)
        shapes = {"wte": (vocab_size, n_embd), "wpe": (block_size, n_embd),
                  "lm_head": (vocab_size, n_embd)}
        for i in range(n_layer):
            shapes |= {f"layer{i}.attn_wq": (n_embd, n_embd), f"layer{i}.attn_wk": (n_embd, n_embd),
                       f"layer{i}.attn_wv": (n_embd, n_embd), f"layer{i}.attn_wo": (n_embd, n_embd),
                       f"layer{i}.mlp_fc1": (4 * n_embd, n_embd),
                       f"layer{i}.mlp_fc2": (n_embd, 4 * n_embd)}
        #: microgpt's state_dict: each matrix as rows of parameters, drawn from N(0, std²)
        self.weights: dict[str, Matrix] = {
            name: [[Value(rng.gauss(0.0, std), f"{name}[{r}][{c}]") for c in range(cols)]
                   for r in range(rows)] for name, (rows, cols) in shapes.items()}

    def __call__(self, token: Sequence[Operand], pos: int, keys: Cache, values: Cache,
                 attention: list[list[Value]] | None = None) -> list[Value]:
        """The logits of the token after ``token`` (one-hot) at position ``pos``.

        Appends this position's key and value to the cache (keys[layer], values[layer]);
        each head's attention weights over positions 0 … pos go to ``attention`` if given.
        """
        w, head_dim = self.weights, self.n_embd // self.n_head
        x = [t + p for t, p in zip(lookup(w["wte"], token), w["wpe"][pos])]
        x = rmsnorm(x)
        for li in range(self.n_layer):
            x_residual = x  # 1) multi-head causal self-attention
            x = rmsnorm(x)
            q = linear(x, w[f"layer{li}.attn_wq"])
            keys[li].append(linear(x, w[f"layer{li}.attn_wk"]))
            values[li].append(linear(x, w[f"layer{li}.attn_wv"]))
            x_attn: list[Value] = []
            for h in range(self.n_head):
                hs = slice(h * head_dim, (h + 1) * head_dim)
                scores = [Value.linear(q[hs], k[hs], 0.0) / head_dim**0.5 for k in keys[li]]
                weights = softmax(scores)
                if attention is not None:
                    attention.append(weights)
                x_attn += [Value.linear(weights, [v[hs][j] for v in values[li]], 0.0)
                           for j in range(head_dim)]
            x = [a + b for a, b in zip(linear(x_attn, w[f"layer{li}.attn_wo"]), x_residual)]
            x_residual = x  # 2) the MLP
            x = [h.relu() for h in linear(rmsnorm(x), w[f"layer{li}.mlp_fc1"])]
            x = [a + b for a, b in zip(linear(x, w[f"layer{li}.mlp_fc2"]), x_residual)]
        return linear(x, w["lm_head"])

    def position_losses(self, tokens: Sequence[Sequence[Operand]],
                        targets: Sequence[Sequence[Operand]],
                        attention: list[list[Value]] | None = None) -> list[Value]:
        """−log softmax(logits)[target] = logsumexp(logits) − logits·target, per position."""
        if not 0 < len(tokens) <= self.block_size or len(targets) != len(tokens):
            raise ValueError(f"GPT: {len(tokens)} tokens and {len(targets)} targets; it takes "
                             f"1 to block_size {self.block_size} of each, as many of one as "
                             "of the other")
        keys: Cache = [[] for _ in range(self.n_layer)]
        values: Cache = [[] for _ in range(self.n_layer)]
        losses = []
        for pos, (token, target) in enumerate(zip(tokens, targets)):
            logits = self(token, pos, keys, values, attention)
            for i, z in enumerate(logits):
                z.label = f"logit{pos}[{i}]"  # names for explain() and the compiled source
            total, picked = apply("logsumexp", *logits), Value.linear(logits, target, 0.0)
            total.label, picked.label = f"logsumexp{pos}", f"logit{pos}[target]"
            losses.append(total - picked)
            losses[-1].label = f"loss{pos}"
        return losses

    def loss(self, tokens: Sequence[Sequence[Operand]],
             targets: Sequence[Sequence[Operand]]) -> Value:
        """The mean over positions of the cross-entropy of the next token."""
        return mean_loss(self.position_losses(tokens, targets))

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every weight as ``matrix[row][col]``, matrices in microgpt's order."""
        return [(p.label, p) for matrix in self.weights.values() for row in matrix for p in row]

    def config(self) -> dict[str, Any]:
        return {"vocab_size": self.vocab_size, "n_embd": self.n_embd, "n_head": self.n_head,
                "n_layer": self.n_layer, "block_size": self.block_size}


# ---- a sequence's inputs, and sampling ---------------------------------------------------


class Inputs:
    """The leaves one sequence reads: per position a one-hot token and a one-hot target."""

    def __init__(self, length: int, vocab_size: int) -> None:
        self.tokens = [[Value(0.0, f"token{p}[{i}]") for i in range(vocab_size)]
                       for p in range(length)]
        self.targets = [[Value(0.0, f"target{p}[{i}]") for i in range(vocab_size)]
                        for p in range(length)]

    def set(self, ids: Sequence[int]) -> None:
        """Tokens ids[0 … n−1], targets ids[1 … n]: each leaf's .data 1.0 or 0.0."""
        for p, (token, target) in enumerate(zip(self.tokens, self.targets)):
            for i, (t, y) in enumerate(zip(token, target)):
                t.data = 1.0 if i == ids[p] else 0.0
                y.data = 1.0 if i == ids[p + 1] else 0.0


def sample(model: GPT, tokenizer: Tokenizer, rng: random.Random,
           temperature: float = 0.5) -> str:
    """A name drawn token by token from softmax(logits / temperature), until BOS or block_size."""
    keys: Cache = [[] for _ in range(model.n_layer)]
    values: Cache = [[] for _ in range(model.n_layer)]
    token, out = tokenizer.bos, []
    for pos in range(model.block_size):
        logits = [z.data / temperature for z in
                  model(one_hot(token, model.vocab_size), pos, keys, values)]
        top = max(logits)
        token = rng.choices(range(model.vocab_size), [math.exp(z - top) for z in logits])[0]
        if token == tokenizer.bos:
            break
        out.append(token)
    return tokenizer.decode(out)
