"""Backprop, one node at a time: ``backward_steps(root)`` is ``Value.backward`` unrolled.

A generator with one record per interior node, in the order the chain rule visits them,
each saying what was added to which child::

    for step in backward_steps(E):
        print(step)

Each term carries its local derivative as the registry's formula in the graph's names
(``local_formula``: ∂z1/∂a1 = "1 - z1²") and with the numbers in (``local_formula_numbers``).
Nodes are named by their label; an unlabelled node by its index in
``topological_order(root)`` ("v3"), so names are the same in every run and match the
drawings of ``micrograd.graph``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from micrograd import ops
from micrograd._numbers import short
from micrograd.engine import Value
from micrograd.walk import Walk, walk_of

__all__ = ["BackwardStep", "ChildUpdate", "backward_steps", "local_formula",
           "local_formula_numbers"]


# ---- local derivatives as formulas ------------------------------------------------------


def local_formula(node: Value, index: int, names: Mapping[Value, str]) -> str | None:
    """∂node/∂children[index] as the registry's formula in the graph's names ("1 - z1²").

    A constant (an unlabelled leaf) is written as its number. An op registered without a
    formula shows as ``f'(x)`` if it has one operand, else None.
    """
    children = node.children
    terms = _Terms(lambda k: _term(children[k], names), len(children))
    return _filled(node, index, terms, names.get(node, "out"))


def local_formula_numbers(node: Value, index: int) -> str | None:
    """local_formula with the operands' and the output's numbers in place of their names.

    ``1 - (0.5598)²`` for tanh's ``1 - z1²``: a number in parentheses when it is negative
    or raised to a power, so the text reads as the formula does.
    """
    count = len(node.children)
    text = _filled(node, index, _Terms("\x00{}\x00".format, count), f"\x00{count}\x00")
    if text is None:
        return None

    def number(m: re.Match[str]) -> str:
        k = int(m[1])
        shown = short(node.children[k].data if k < count else node.data)
        power = m[2] or ""
        return (f"({shown})" if power or shown.startswith("-") else shown) + power

    whole = _MARK.fullmatch(text)  # the formula is one number: "x1" gives "1", "(-1)" none
    return short(node.children[int(whole[1])].data) if whole and not whole[2] and int(
        whole[1]) < count else _MARK.sub(number, text)


_MARK = re.compile("\x00(\\d+)\x00(²|\\*\\*)?")  # where local_formula_numbers puts a number


class _Terms(Sequence[str]):
    """The operands' terms, each written when a formula asks for it: a formula of one of
    n operands reads one or two, so one edge's formula costs O(1), not O(n)."""

    def __init__(self, term: Callable[[int], str], count: int) -> None:
        self.term, self.size = term, count

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, k: int) -> str: ...
    @overload
    def __getitem__(self, k: slice) -> Sequence[str]: ...
    def __getitem__(self, k: int | slice) -> str | Sequence[str]:
        if isinstance(k, slice):
            return [self[i] for i in range(self.size)[k]]
        if not -self.size <= k < self.size:
            raise IndexError(k)
        return self.term(k % self.size)


_FORMATTER = string.Formatter()  # vformat indexes its args, so _Terms are never all written


def _filled(node: Value, index: int, terms: Sequence[str], out: str) -> str | None:
    """The registry's formula of ∂node/∂children[index] with the operands written as terms."""
    op = ops.get(node.op)
    text = op.formula_text(index, len(terms))
    if text is None:
        return f"{op.name}'({terms[0]})" if len(terms) == 1 else None
    operands = dict(zip(op.operands, terms)) if op.operands else {}
    params = {k: signed(short(v)) for k, v in node.params.items()}
    return _FORMATTER.vformat(text, terms, {"out": out, **operands, **params})


def _term(node: Value, names: Mapping[Value, str]) -> str:
    """How a formula writes a node: its name, or its number if it is an unlabelled leaf."""
    if node.is_leaf and not node.label:
        return signed(short(node.data))
    return names.get(node, "?")


def signed(number: str) -> str:
    """A number as a term of a formula: "-0.5" in parentheses."""
    return f"({number})" if number.startswith("-") else number


# ---- the backward pass, step by step -------------------------------------------------


@dataclass(frozen=True)
class ChildUpdate:
    """One chain-rule term: ``child.grad += local_grad · grad_output`` (= contribution)."""

    child: Value
    name: str
    local_grad: float  # ∂node/∂child
    contribution: float  # local_grad · grad_output, the amount added
    grad: float  # child.grad right after adding
    formula: str | None  # ∂node/∂child in the graph's names, e.g. "x1"


@dataclass(frozen=True)
class BackwardStep:
    """What the backward pass did at one node: its grad, and what it added to each child."""

    node: Value
    name: str
    grad_output: float  # ∂root/∂node, complete when the node is visited
    updates: tuple[ChildUpdate, ...]

    def term(self, update: ChildUpdate) -> str:
        """One chain-rule term with numbers: ``local·grad_output = contribution``."""
        times_g = signed(short(self.grad_output))
        return f"{short(update.local_grad)}·{times_g} = {short(update.contribution)}"

    def __str__(self) -> str:
        lines = [f"{self.name} ({self.node.op_symbol}) grad={short(self.grad_output)}:"]
        for u in self.updates:
            why = f"   (∂{self.name}/∂{u.name} = {u.formula})" if u.formula else ""
            lines.append(f"  {u.name} += {self.term(u)} → grad {short(u.grad)}{why}")
        return "\n".join(lines)


def backward_steps(root: Value, walked: Walk | None = None) -> Iterator[BackwardStep]:
    """Run root.backward() one interior node at a time, yielding a BackwardStep per node.

    The same pass as ``Value.backward``: interior grads reset to 0, root.grad += 1,
    leaves accumulate; consumed fully it leaves exactly the grads backward() gives.
    ``walked`` is ``walk(root)`` if the caller has it already (else it is made here).
    """
    graph = walk_of(root, walked)
    names = graph.names
    interior = graph.interior
    for node in interior:
        node.grad = 0.0
    root.grad += 1.0
    for node in interior:
        grad_output = node.grad
        updates = []
        for index, (child, local) in enumerate(zip(node.children, node.local_grads)):
            contribution = local * grad_output
            child.grad += contribution
            updates.append(
                ChildUpdate(child, names[child], local, contribution, child.grad,
                            local_formula(node, index, names))
            )
        yield BackwardStep(node, names[node], grad_output, tuple(updates))
