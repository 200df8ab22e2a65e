"""Training microgpt: one name per step, eager or replayed from a compiled graph per length.

``train_gpt(model, docs, tokenizer)`` is microgpt's loop: name ``step % len(docs)`` each
step, the mean cross-entropy of its next tokens, backward, Adam (β1 0.85, β2 0.99, lr
0.01·(1 − step/steps)). A step is ``EagerSteps`` (build the graph, ``backward()``) or a
replay: a name's graph depends only on its length (``micrograd.gpt``), so each length's graph
is recorded once and replayed with the name's one-hot leaves set, as a ``micrograd.compile``d
graph (``CompiledSteps``) or a whole step on a ``compiler.Trainer`` (``TrainerSteps``, what
``train_gpt`` runs): the same floats as eager, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from micrograd.compiler import CompiledGraph, Step, Trainer, compile
from micrograd.gpt import GPT, Inputs, Tokenizer
from micrograd.optim import Adam

__all__ = ["CompiledSteps", "EagerSteps", "TrainerSteps", "train_gpt"]


class EagerSteps:
    """``step(ids)``: build the sequence's graph, ``backward()``, return the loss (compile off)."""

    def __init__(self, model: GPT) -> None:
        self.model = model

    def __call__(self, ids: Sequence[int]) -> float:
        """Add ∂loss/∂p into every parameter's grad; the mean cross-entropy of ids."""
        inputs = Inputs(len(ids) - 1, self.model.vocab_size)
        inputs.set(ids)
        loss = self.model.loss(inputs.tokens, inputs.targets)
        loss.backward()
        return loss.data


@dataclass
class CompiledSteps:
    """``step(ids)``: the recorded graph of ids' length, replayed once the length is common.

    A length seen fewer than ``compile_after`` times is trained eagerly (a rare length's
    compile costs more than its eager steps); from then on its graph is compiled once and
    replayed. The same floats as EagerSteps, bit for bit, either way: each length's graph is
    the graph EagerSteps builds, and the compiler replays a graph with eager's floats.
    """

    model: GPT
    compile_after: int = 1
    graphs: dict[int, tuple[Inputs, CompiledGraph]] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)

    def __call__(self, ids: Sequence[int]) -> float:
        """Add ∂loss/∂p into every parameter's grad; the mean cross-entropy of ids."""
        length = len(ids) - 1
        if length not in self.graphs:
            self.seen[length] = self.seen.get(length, 0) + 1
            if self.seen[length] < self.compile_after:
                return EagerSteps(self.model)(ids)
            inputs = Inputs(length, self.model.vocab_size)
            inputs.set(ids)
            self.graphs[length] = (inputs, compile(self.model.loss(inputs.tokens,
                                                                   inputs.targets)))
        inputs, graph = self.graphs[length]
        inputs.set(ids)
        return graph()


@dataclass
class TrainerSteps:
    """``step(ids)``: a whole training step (grads, forward, backward, Adam) on a Trainer.

    ``micrograd.compiler.Trainer`` owns the parameters as a list of floats and runs the
    optimiser's update on lists; one recorded step per length shares it. A length seen fewer
    than ``compile_after`` times is trained eagerly on the Values (synced before, loaded
    after). The same floats as zero_grad, EagerSteps and ``optimizer.step()``, bit for bit;
    the parameters' Values are current after ``sync()``.
    """

    model: GPT
    trainer: Trainer
    compile_after: int = 1
    graphs: dict[int, tuple[Inputs, Step]] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)

    def __call__(self, ids: Sequence[int]) -> float:
        """One training step on ids; the loss before the update."""
        length = len(ids) - 1
        if length not in self.graphs:
            self.seen[length] = self.seen.get(length, 0) + 1
            if self.seen[length] < self.compile_after:
                self.trainer.sync()
                self.model.zero_grad()
                loss = EagerSteps(self.model)(ids)
                self.trainer.optimizer.step()
                self.trainer.load()
                return loss
            inputs = Inputs(length, self.model.vocab_size)
            inputs.set(ids)
            self.graphs[length] = (inputs, self.trainer.compile(
                self.model.loss(inputs.tokens, inputs.targets)))
        inputs, step = self.graphs[length]
        inputs.set(ids)
        return step()


def train_gpt(model: GPT, docs: Sequence[str], tokenizer: Tokenizer, steps: int = 1000,
              lr: float = 0.01, betas: tuple[float, float] = (0.85, 0.99),
              compile: bool = True, compile_after: int = 4,
              on_step: Callable[[int, float, Adam], None] | None = None) -> list[float]:
    """microgpt's loop: name ``step % len(docs)`` per step, Adam with lr·(1 − step/steps).

    compile=True replays a recorded step per length on a Trainer (TrainerSteps, compiling a
    length at its ``compile_after``-th name: 4 runs microgpt's 1,000 steps in about 40% of
    the time of 1 here); compile=False builds each graph: the same floats. Returns the loss
    of each step; ``on_step(step, loss, optimizer)`` runs after each update, with the
    parameters' Values current.
    """
    optimizer = Adam(model.parameters(), lr=lr, betas=betas, eps=1e-8)
    eager = EagerSteps(model)
    trainer = Trainer(optimizer) if compile else None
    replay = TrainerSteps(model, trainer, compile_after) if trainer is not None else None
    losses = []
    for step in range(steps):
        ids = tokenizer.encode(docs[step % len(docs)])[: model.block_size + 1]
        optimizer.lr = lr * (1 - step / steps)
        if replay is None:
            model.zero_grad()
            loss = eager(ids)
            optimizer.step()
        else:
            loss = replay(ids)
        losses.append(loss)
        if on_step is not None:
            if trainer is not None:
                trainer.sync()
            on_step(step, loss, optimizer)
    if trainer is not None:
        trainer.sync()
    return losses
