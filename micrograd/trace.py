"""Backprop, shown: the backward pass one node at a time, and ∂root/∂x as the chain rule.

``backward_steps(root)`` is ``Value.backward`` unrolled into a generator: one record per
interior node, in the order the chain rule visits them, each saying what was added to
which child::

    for step in backward_steps(E):
        print(step)

``explain(root, wrt)`` writes ∂root/∂wrt the way the lecture notes do: the sum over all
paths from root to wrt of the product of the local derivatives along the path::

    ∂E/∂w11 = ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂w11 = (ŷ - 1)·w1·tanh'(a1)·x1 = (…)·(…)·(…)·(…) = …

Nodes are named by their label; an unlabelled node by its index in
``topological_order(root)`` ("v3"), so names are the same in every run and match the
drawings of ``micrograd.graph``. Every walk here is iterative.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

from micrograd import ops
from micrograd._numbers import short
from micrograd.engine import Value, topological_order

__all__ = [
    "BackwardStep",
    "ChainPath",
    "ChildUpdate",
    "Derivation",
    "backward_steps",
    "chain_paths",
    "derivation",
    "explain",
    "node_names",
]


def node_names(order: Sequence[Value]) -> list[str]:
    """Names for the nodes of ``order``: the label, "v<i>" if none, "label#<i>" if it repeats.

    A made-up name never equals a label of the graph (a node labelled "v1" beside an
    unlabelled node 1): it gets "_" in front until it does not, so every name is unique.
    """
    seen: dict[str, int] = {}
    for node in order:
        if node.label:
            seen[node.label] = seen.get(node.label, 0) + 1
    names = []
    for i, node in enumerate(order):
        if node.label and seen[node.label] == 1:
            names.append(node.label)
            continue
        name = f"{node.label}#{i}" if node.label else f"v{i}"
        while name in seen:
            name = "_" + name
        names.append(name)
    return names


def _named_order(root: Value) -> tuple[list[Value], dict[Value, str]]:
    """topological_order(root) (root first, leaves included) and each node's name."""
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order = topological_order(root)
    return order, dict(zip(order, node_names(order)))


# ---- local derivatives as formulas ------------------------------------------------------


def local_formula(node: Value, index: int, names: Mapping[Value, str]) -> str | None:
    """∂node/∂children[index] as the registry's formula in the graph's names ("1 - z1²").

    A constant (an unlabelled leaf) is written as its number. An op registered without a
    formula shows as ``f'(x)`` if it has one operand, else None.
    """
    op = ops.get(node.op)
    terms = [_term(child, names) for child in node.children]
    text = op.formula_text(index, len(terms))
    if text is None:
        return f"{op.name}'({terms[0]})" if len(terms) == 1 else None
    operands = dict(zip(op.operands, terms)) if op.operands else {}
    params = {k: _signed(short(v)) for k, v in node.params.items()}
    return text.format(*terms, out=names.get(node, "out"), **operands, **params)


def _term(node: Value, names: Mapping[Value, str]) -> str:
    """How a formula writes a node: its name, or its number if it is an unlabelled leaf."""
    if node.is_leaf and not node.label:
        return _signed(short(node.data))
    return names.get(node, "?")


def _signed(number: str) -> str:
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
        g = short(self.grad_output)
        times_g = f"({g})" if g.startswith("-") else g
        return f"{short(update.local_grad)}·{times_g} = {short(update.contribution)}"

    def __str__(self) -> str:
        lines = [f"{self.name} ({self.node.op_symbol}) grad={short(self.grad_output)}:"]
        for u in self.updates:
            why = f"   (∂{self.name}/∂{u.name} = {u.formula})" if u.formula else ""
            lines.append(f"  {u.name} += {self.term(u)} → grad {short(u.grad)}{why}")
        return "\n".join(lines)


def backward_steps(root: Value) -> Iterator[BackwardStep]:
    """Run root.backward() one interior node at a time, yielding a BackwardStep per node.

    The same pass as ``Value.backward``: interior grads reset to 0, root.grad += 1,
    leaves accumulate; consumed fully it leaves exactly the grads backward() gives.
    """
    order, names = _named_order(root)
    interior = [node for node in order if not node.is_leaf]  # = topological_order(root, False)
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


# ---- the chain rule, path by path ----------------------------------------------------


@dataclass(frozen=True)
class ChainPath:
    """One path root → … → wrt and the local derivative on each of its edges."""

    nodes: tuple[Value, ...]
    names: tuple[str, ...]
    local_grads: tuple[float, ...]  # local_grads[k] = ∂nodes[k]/∂nodes[k+1] along this edge
    formulas: tuple[str | None, ...]

    @property
    def product(self) -> float:
        """The path's term of the chain rule: the product of its local derivatives."""
        return math.prod(self.local_grads, start=1.0)

    def __str__(self) -> str:
        return self.equation(short(self.product))

    def equation(self, result: str) -> str:
        """``∂a/∂b · ∂b/∂c = formula·formula = (number)·(number) = result``; long paths elided."""
        n = self.names
        parts = [_elide([f"∂{n[k]}/∂{n[k + 1]}" for k in range(len(n) - 1)], " · ")]
        if self.formulas and all(self.formulas):
            parts.append(_elide([_factor(f) for f in self.formulas if f], "·"))
        parts.append(_elide([f"({short(x)})" for x in self.local_grads], "·"))
        parts.append(result)
        return " = ".join(parts)


_SHOWN_FACTORS = 12  # a longer path shows its first and last few factors


def _elide(factors: list[str], sep: str) -> str:
    """factors joined by sep; a long list as its first 6, "…(k more)…", its last 6."""
    if len(factors) <= _SHOWN_FACTORS:
        return sep.join(factors)
    half = _SHOWN_FACTORS // 2
    hidden = len(factors) - 2 * half
    return sep.join([*factors[:half], f"…({hidden} more)…", *factors[-half:]])


def _factor(formula: str) -> str:
    """A formula as a factor of a product: in parentheses unless it is a single term."""
    depth, outside = 0, ""  # the characters outside any parentheses
    for c in formula:
        depth += (c == "(") - (c == ")")
        outside += c if depth == 0 else ""
    single = " " not in outside and "/" not in outside and not formula.startswith("-")
    return formula if single else f"({formula})"


def _reaching(order: list[Value], wrt: Value) -> set[Value]:
    """The nodes with a path to wrt (wrt included), by one pass from the leaves up."""
    reach = {wrt}
    for node in reversed(order):
        if node is not wrt and any(child in reach for child in node.children):
            reach.add(node)
    return reach


def _paths(
    root: Value, wrt: Value, reach: set[Value], names: dict[Value, str]
) -> Iterator[ChainPath]:
    """Every path root → wrt in the graph's child order, by an explicit-stack depth-first walk."""
    stack: list[tuple[Value, int]] = [(root, 0)]  # (node, next child index to try)
    edges: list[tuple[Value, int]] = []  # the path so far: (node, child index)
    while stack:
        node, i = stack[-1]
        if node is wrt:
            nodes = [n for n, _ in edges] + [wrt]
            yield ChainPath(
                tuple(nodes),
                tuple(names[n] for n in nodes),
                tuple(n.local_grads[k] for n, k in edges),
                tuple(local_formula(n, k, names) for n, k in edges),
            )
            i = len(node.children)  # a path ends at wrt
        children = node.children
        while i < len(children) and children[i] not in reach:
            i += 1
        if i == len(children):
            stack.pop()
            if edges:
                edges.pop()
            continue
        stack[-1] = (node, i + 1)
        edges.append((node, i))
        stack.append((children[i], 0))


def chain_paths(root: Value, wrt: Value) -> Iterator[ChainPath]:
    """Each path from root to wrt with its local derivatives; ∂root/∂wrt = Σ path.product."""
    order, names = _named_order(root)
    if not isinstance(wrt, Value):
        raise TypeError(f"wrt must be a Value, got {type(wrt).__name__}")
    if wrt not in names:
        return iter(())
    return _paths(root, wrt, _reaching(order, wrt), names)


def _total_and_count(
    order: list[Value], root: Value, wrt: Value, reach: set[Value]
) -> tuple[float, int]:
    """∂root/∂wrt and the number of paths, by dynamic programming over the DAG (exact counts).

    The derivative is accumulated in backward()'s order (root first, children in order),
    so it is the very float backward() gives, without touching any .grad.
    """
    d: dict[Value, float] = {root: 1.0}
    for node in order:
        if node is wrt or node not in reach:
            continue
        g = d[node]
        for child, local in zip(node.children, node.local_grads):
            if child in reach:
                d[child] = d.get(child, 0.0) + local * g
    count: dict[Value, int] = {wrt: 1}
    for node in reversed(order):
        if node is not wrt and node in reach:
            count[node] = sum(count[c] for c in node.children if c in reach)
    return d[wrt], count[root]


def _signed_sum(terms: list[str]) -> str:
    """'1 + -2 + 3' written as '1 - 2 + 3'."""
    text = terms[0] if terms else "0"
    for t in terms[1:]:
        text += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return text


@dataclass(frozen=True)
class Derivation:
    """∂root/∂wrt as data: ``total``, the float backward() gives; ``str()``, explain()'s text."""

    text: str
    total: float

    def __str__(self) -> str:
        return self.text


def explain(root: Value, wrt: Value, max_paths: int = 20) -> str:
    """∂root/∂wrt as the chain rule: Σ over paths root → wrt of the product of local derivatives.

    Shows at most ``max_paths`` paths; the total (the number backward() gives) always sums
    them all, computed by dynamic programming so it is exact however many paths there are.
    ``derivation(root, wrt)`` gives the same text with the total as a float.
    """
    return str(derivation(root, wrt, max_paths))


def derivation(root: Value, wrt: Value, max_paths: int = 20) -> Derivation:
    """explain()'s derivation of ∂root/∂wrt as data: its text and its total."""
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 0:
        raise ValueError(f"explain: max_paths must be an int >= 0, got {max_paths!r}")
    order, names = _named_order(root)
    if not isinstance(wrt, Value):
        raise TypeError(f"explain: wrt must be a Value, got {type(wrt).__name__}")
    r = names[root]
    if wrt is root:
        return Derivation(f"∂{r}/∂{r} = 1 (the seed of the backward pass)", 1.0)
    if wrt not in names:
        w = wrt.label or "wrt"
        return Derivation(f"∂{r}/∂{w} = 0: {w} is not in the graph of {r}, "
                          f"so no path leads from {r} to it", 0.0)
    w = names[wrt]
    head = f"∂{r}/∂{w}"
    reach = _reaching(order, wrt)
    total, count = _total_and_count(order, root, wrt, reach)
    shown = list(islice(_paths(root, wrt, reach, names), max_paths))
    if count == 1 and shown:
        return Derivation(f"{head} = {shown[0].equation(repr(total))}", total)
    plural = "path" if count == 1 else "paths"
    lines = [f"{head} = sum over the {count} {plural} from {r} to {w} of the product of the "
             "local derivatives along each path:"]
    lines += [f"  path {k}: {path}" for k, path in enumerate(shown, 1)]
    terms = [short(path.product) for path in shown]
    hidden = count - len(shown)
    if hidden:
        more = "path" if hidden == 1 else "paths"
        lines.append(f"  … {hidden} more {more} summed into the total but not shown "
                     f"(max_paths={max_paths})")
        terms.append(f"({hidden} more)")
    lines.append(f"{head} = {_signed_sum(terms)} = {total!r}")
    return Derivation("\n".join(lines), total)
