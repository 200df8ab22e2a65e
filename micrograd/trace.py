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

import heapq
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from micrograd import ops
from micrograd._numbers import number, preview, short
from micrograd.engine import Value
from micrograd.walk import Walk, node_names, walk, walk_of

__all__ = [
    "ANSWER_TOLERANCE",
    "BackwardStep",
    "ChainPath",
    "CheckReport",
    "ChildUpdate",
    "Derivation",
    "Mark",
    "Term",
    "accepted",
    "backward_steps",
    "chain_paths",
    "check",
    "derivation",
    "explain",
    "explain_each",
    "local_formula_numbers",
    "node_names",
]


# ---- local derivatives as formulas ------------------------------------------------------


def local_formula(node: Value, index: int, names: Mapping[Value, str]) -> str | None:
    """∂node/∂children[index] as the registry's formula in the graph's names ("1 - z1²").

    A constant (an unlabelled leaf) is written as its number. An op registered without a
    formula shows as ``f'(x)`` if it has one operand, else None.
    """
    terms = [_term(child, names) for child in node.children]
    return _filled(node, index, terms, names.get(node, "out"))


def local_formula_numbers(node: Value, index: int) -> str | None:
    """local_formula with the operands' and the output's numbers in place of their names.

    ``1 - (0.5598)²`` for tanh's ``1 - z1²``: a number in parentheses when it is negative
    or raised to a power, so the text reads as the formula does.
    """
    count = len(node.children)
    text = _filled(node, index, [f"\x00{k}\x00" for k in range(count)], f"\x00{count}\x00")
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


def _filled(node: Value, index: int, terms: list[str], out: str) -> str | None:
    """The registry's formula of ∂node/∂children[index] with the operands written as terms."""
    op = ops.get(node.op)
    text = op.formula_text(index, len(terms))
    if text is None:
        return f"{op.name}'({terms[0]})" if len(terms) == 1 else None
    operands = dict(zip(op.operands, terms)) if op.operands else {}
    params = {k: _signed(short(v)) for k, v in node.params.items()}
    return text.format(*terms, out=out, **operands, **params)


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

    def equation(self, result: str, head: str = "") -> str:
        """``∂a/∂b · ∂b/∂c = formula·formula = (number)·(number) = result``; long paths elided.

        Each thing is said once (see ``_equation``): ``head = `` is written before it unless
        the path's own ∂a/∂b says the same.
        """
        edges = len(self.local_grads)
        keep = [*range(min(edges, _HALF)), *range(max(_HALF, edges - _HALF), edges)]
        if edges <= _SHOWN_FACTORS:
            keep = list(range(edges))
        n = self.names
        return _equation([f"∂{n[k]}/∂{n[k + 1]}" for k in keep],
                         [self.formulas[k] for k in keep] if all(self.formulas) else None,
                         [self.local_grads[k] for k in keep], edges - len(keep), result, head)


_SHOWN_FACTORS = 12  # a longer path shows its first and last few factors
_HALF = _SHOWN_FACTORS // 2


def _equation(edges: list[str], formulas: list[str | None] | None, local_grads: list[float],
              hidden: int, result: str, head: str = "") -> str:
    """A path's equation from the factors it shows: all of them, or its first and last
    _HALF with ``hidden`` left out between; ``formulas`` None when an edge has none.

    Each thing is said once: a step that only repeats the next one (``∂v0/∂x`` before the
    same chain, the formula ``0.5`` before the result 0.5) is left out, and so are the
    numbers of a one-factor product (they are the result).
    """
    several = len(local_grads) > 1 or hidden > 0
    parts = [head, _elided(edges, hidden, " · ")]
    if edges and formulas is not None:
        parts.append(_elided([_factor(f) if several else f for f in formulas if f], hidden, "·"))
    if several:
        parts.append(_elided([f"({short(x)})" for x in local_grads], hidden, "·"))
    parts.append(result)
    said = [part for part, then in zip(parts, [*parts[1:], ""])
            if part and _meaning(part) != _meaning(then)]
    return " = ".join(said)


def _meaning(part: str) -> str | float:
    """What a step of an equation says: its number if it is one ("(0.5)", "0.5"), else its text."""
    try:
        return float(part.removeprefix("(").removesuffix(")"))
    except ValueError:
        return part


def _elided(factors: list[str], hidden: int, sep: str) -> str:
    """factors joined by sep, with "…(hidden more)…" between the first and last _HALF."""
    if not hidden:
        return sep.join(factors)
    return sep.join([*factors[:_HALF], f"…({hidden} more)…", *factors[_HALF:]])


@lru_cache(maxsize=4096)
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
    return _reaching_any(order, {wrt})


def _reaching_any(order: list[Value], targets: set[Value]) -> set[Value]:
    """The nodes with a path to one of targets (targets included), one pass from the leaves up."""
    reach = set(targets)
    for node in reversed(order):
        if node not in targets and any(child in reach for child in node.children):
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
    graph = walk(root)
    if not isinstance(wrt, Value):
        raise TypeError(f"wrt must be a Value, got {type(wrt).__name__}")
    if wrt not in graph.names:
        return iter(())
    return _paths(root, wrt, _reaching(graph.order, wrt), graph.names)


class _PathEnd:
    """A path root → … → end, kept as the path before it and its last edge (a shared prefix tree).

    ``rank`` orders paths as explain lists them: the graph's child order, edge by edge from the
    root (the path's number in a depth-first walk of every path); ``product`` is math.prod of
    its local derivatives from the root, multiplied in the same order; ``anchor`` is the
    path's prefix of at most _HALF edges, the start of an elided equation.
    """

    __slots__ = ("anchor", "before", "edges", "end", "formulas", "index", "parent", "product",
                 "rank")

    def __init__(self, before: _PathEnd | None, parent: Value | None, index: int, end: Value,
                 rank: int, local: float, formula: bool) -> None:
        self.before, self.parent, self.index, self.end, self.rank = before, parent, index, end, rank
        if before is None:
            self.edges, self.product, self.formulas, self.anchor = 0, 1.0, True, self
            return
        self.edges = before.edges + 1
        self.product = before.product * local
        self.formulas = before.formulas and formula
        self.anchor = self if self.edges <= _HALF else before.anchor

    def last_edges(self, count: int) -> list[tuple[Value, int]]:
        """The path's last ``count`` edges (parent, child index), in the root-to-end order."""
        edges: list[tuple[Value, int]] = []
        at: _PathEnd | None = self
        while at is not None and at.parent is not None and len(edges) < count:
            edges.append((at.parent, at.index))
            at = at.before
        return edges[::-1]


@dataclass(frozen=True)
class _ShownPath:
    """A path as explain shows it: the product of all its local derivatives, the edges shown."""

    product: float
    edges: list[tuple[Value, int]]  # all of them, or the first and last _HALF
    hidden: int  # edges left out between
    formula: Callable[[Value, int], str | None] | None  # None: an edge has no formula
    names: Mapping[Value, str]

    def __str__(self) -> str:
        return self.equation(short(self.product))

    def equation(self, result: str, head: str = "") -> str:
        """As ChainPath.equation, from the edges shown."""
        n = self.names
        return _equation(
            [f"∂{n[p]}/∂{n[p.children[k]]}" for p, k in self.edges],
            None if self.formula is None else [self.formula(p, k) for p, k in self.edges],
            [p.local_grads[k] for p, k in self.edges], self.hidden, result, head)


class _Paths:
    """∂root/∂node, the number of paths root → node and the first ``max_paths`` of them, for
    every node with a path to one of ``targets``: one pass up, one pass down the walk.

    The totals are summed in backward()'s order (root first, children in order), so each is
    the very float backward() gives, without touching any .grad; counts are exact ints.
    """

    def __init__(self, graph: Walk, targets: set[Value], max_paths: int) -> None:
        order, root = graph.order, graph.root
        self.names = graph.names
        self._formulas: dict[tuple[Value, int], str | None] = {}
        reach = _reaching_any(order, targets)
        size: dict[Value, int] = {}  # paths from a node within reach, the empty one included
        for node in reversed(order):
            if node in reach:
                size[node] = 1 + sum(size[c] for c in node.children if c in reach)
        self.total: dict[Value, float] = {root: 1.0}
        self.count: dict[Value, int] = {root: 1}
        self.first: dict[Value, list[_PathEnd]] = {}
        waiting: dict[Value, list[_PathEnd]] = {root: [_PathEnd(None, None, 0, root, 0, 1.0,
                                                                True)]}
        for node in order:
            if node not in reach:
                continue
            ends = self.first[node] = heapq.nsmallest(max_paths, waiting.pop(node, []),
                                                      key=_rank)
            g, n, rank = self.total[node], self.count[node], 1
            for i, (child, local) in enumerate(zip(node.children, node.local_grads)):
                if child not in reach:
                    continue
                self.total[child] = self.total.get(child, 0.0) + local * g
                self.count[child] = self.count.get(child, 0) + n
                if ends:
                    formula = bool(self.formula(node, i))
                    waiting.setdefault(child, []).extend(
                        _PathEnd(e, node, i, child, e.rank + rank, local, formula) for e in ends)
                rank += size[child]

    def formula(self, node: Value, index: int) -> str | None:
        """local_formula(node, index), made once per edge (paths share their edges)."""
        key = (node, index)
        if key not in self._formulas:
            self._formulas[key] = local_formula(node, index, self.names)
        return self._formulas[key]

    def shown(self, node: Value) -> list[_ShownPath]:
        """The first paths root → node (at most max_paths), as explain shows them."""
        paths = []
        for end in self.first.get(node, []):
            if end.edges <= _SHOWN_FACTORS:
                edges, hidden = end.last_edges(end.edges), 0
            else:
                edges = end.anchor.last_edges(_HALF) + end.last_edges(_HALF)
                hidden = end.edges - _SHOWN_FACTORS
            paths.append(_ShownPath(end.product, edges, hidden,
                                    self.formula if end.formulas else None, self.names))
        return paths


def _rank(end: _PathEnd) -> int:
    return end.rank


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


def explain(root: Value, wrt: Value, max_paths: int = 20, walked: Walk | None = None) -> str:
    """∂root/∂wrt as the chain rule: Σ over paths root → wrt of the product of local derivatives.

    Shows at most ``max_paths`` paths; the total (the number backward() gives) always sums
    them all, computed by dynamic programming so it is exact however many paths there are.
    ``derivation(root, wrt)`` gives the same text with the total as a float.
    """
    return explain_each(root, [wrt], max_paths, walked)[0]


def derivation(root: Value, wrt: Value, max_paths: int = 20,
               walked: Walk | None = None) -> Derivation:
    """explain()'s derivation of ∂root/∂wrt as data: its text and its total."""
    return _derivations(root, [wrt], max_paths, walked)[0]


def explain_each(root: Value, wrts: Iterable[Value], max_paths: int = 20,
                 walked: Walk | None = None) -> list[str]:
    """explain(root, wrt) for each of wrts, from one pass each way over the graph.

    The time is linear in the graph's size (times max_paths), however many wrts: a page
    explains every leaf of a 100,000-node graph this way.
    """
    return [found.text for found in _derivations(root, wrts, max_paths, walked)]


def _derivations(root: Value, wrts: Iterable[Value], max_paths: int,
                 walked: Walk | None) -> list[Derivation]:
    """derivation(root, wrt) for each of wrts: explain_each's work."""
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 0:
        raise ValueError(f"explain: max_paths must be an int >= 0, got {preview(max_paths)}")
    graph = walk_of(root, walked)
    wrts = list(wrts)
    for wrt in wrts:
        if not isinstance(wrt, Value):
            raise TypeError(f"explain: wrt must be a Value, got {type(wrt).__name__}")
    paths = _Paths(graph, {w for w in wrts if w in graph.names and w is not root}, max_paths)
    return [_explanation(paths, root, wrt, max_paths) for wrt in wrts]


def _explanation(paths: _Paths, root: Value, wrt: Value, max_paths: int) -> Derivation:
    """explain's text of ∂root/∂wrt, and its total, from the paths of root's graph."""
    names = paths.names
    r = names[root]
    if wrt is root:
        return Derivation(f"∂{r}/∂{r} = 1 (the seed of the backward pass)", 1.0)
    if wrt not in names:
        w = wrt.label or "wrt"
        return Derivation(f"∂{r}/∂{w} = 0: {w} is not in the graph of {r}, "
                          f"so no path leads from {r} to it", 0.0)
    w = names[wrt]
    head = f"∂{r}/∂{w}"
    total, count, shown = paths.total[wrt], paths.count[wrt], paths.shown(wrt)
    if count == 1 and shown:
        return Derivation(shown[0].equation(repr(total), head), total)
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


# ---- checking a hand derivation --------------------------------------------------------

#: An answer is right within this fraction of the largest number it is summed from (the
#: value itself, or a term of it): 0.1%, twice what rounding to the 4 significant digits
#: drawings and pages show can cost, so an answer worked from the shown numbers passes.
ANSWER_TOLERANCE = 1e-3


def accepted(value: float, *parts: float) -> tuple[float, float]:
    """The answers counted right for value: value ± ANSWER_TOLERANCE · max(|value|, |parts|).

    ``parts`` are the numbers value is summed from (a grad before and the term added), so an
    answer worked from rounded parts passes even when they nearly cancel.
    """
    if not math.isfinite(value):
        return value, value
    scale = abs(value)
    for part in parts:
        if abs(part) > scale and math.isfinite(part):
            scale = abs(part)
    return value - ANSWER_TOLERANCE * scale, value + ANSWER_TOLERANCE * scale


def _is_right(answer: float, value: float, *parts: float) -> bool:
    """answer within accepted(value, *parts); NaN is right for NaN only."""
    if math.isnan(value):
        return math.isnan(answer)
    low, high = accepted(value, *parts)
    return low <= answer <= high


@dataclass(frozen=True)
class Term:
    """One term of the chain rule into a node: ∂root/∂parent · ∂parent/∂node (one edge)."""

    parent: str
    parent_grad: float  # ∂root/∂parent
    local_grad: float  # ∂parent/∂node along this edge
    formula: str | None  # ∂parent/∂node in the graph's names, e.g. "1 - z1²"
    numbers: str | None  # the same with the numbers in: "1 - (0.5598)²"

    @property
    def value(self) -> float:
        """parent_grad · local_grad, as backward() adds it."""
        return self.local_grad * self.parent_grad


@dataclass(frozen=True)
class Mark:
    """One answer checked: the learner's ∂root/∂node against the engine's."""

    name: str
    answer: float
    value: float  # the engine's ∂root/∂node, the float backward() gives
    right: bool


@dataclass(frozen=True)
class CheckReport:
    """check()'s verdict: every answer marked, in backward order, and why the first wrong one is.

    ``str()`` walks the answers in backward order and stops at the first wrong one, with the
    chain rule that makes its value from its parents' grads; ``mistake`` names what the
    wrong number looks like: "sign", "missed path", "local derivative only" or "local
    derivative" (None when all are right).
    """

    root: str
    marks: tuple[Mark, ...]
    first_wrong: str | None
    mistake: str | None
    text: str

    @property
    def ok(self) -> bool:
        """True when every answer is right."""
        return self.first_wrong is None

    def __str__(self) -> str:
        return self.text


def check(root: Value, answers: Mapping[str, float], walked: Walk | None = None) -> CheckReport:
    """Check a hand derivation: answers maps node names ("w11", "z1", "ŷ") to ∂root/∂node.

    Names are those of drawings and explain (``walk(root).names``). Each answer is right
    within ``accepted()`` of the engine's value (the float backward() gives; no .grad is
    touched). The report stops at the first wrong answer in backward order, which is the
    first whose parents' grads are all right or not given, so its own chain rule is at fault.
    """
    graph = walk_of(root, walked)
    if not isinstance(answers, Mapping):
        raise TypeError(f"check: answers must map node names to numbers, got "
                        f"{type(answers).__name__}")
    by_name = {name: node for node, name in graph.names.items()}
    unknown = [name for name in answers if name not in by_name]
    if unknown:
        known = ", ".join(list(graph.names.values())[:30])
        more = " …" if len(graph.names) > 30 else ""
        raise ValueError(f"check: no node named {', '.join(map(repr, unknown))} in the graph of "
                       f"{graph.names[root]}; its nodes are {known}{more}")
    numbers = {name: number(x) for name, x in answers.items()}
    bad = [f"{name!r} is {preview(answers[name])}" for name, x in numbers.items() if x is None]
    if bad:
        raise TypeError(f"check: answers must be numbers: {', '.join(bad)}")
    asked = {by_name[name] for name in answers}
    paths = _Paths(graph, asked, 0)
    terms: dict[str, list[Term]] = {graph.names[node]: [] for node in asked}
    for parent in graph.order:  # each edge into an answered node: one term of its chain rule
        for i, (child, local) in enumerate(zip(parent.children, parent.local_grads)):
            if child in asked:
                terms[graph.names[child]].append(Term(
                    graph.names[parent], paths.total[parent], local,
                    local_formula(parent, i, graph.names), local_formula_numbers(parent, i)))
    marks = []
    for node in graph.order:
        if node in asked:
            name, value = graph.names[node], paths.total[node]
            answer = numbers[name]
            assert answer is not None
            parts = [t.value for t in terms[name]]
            marks.append(Mark(name, answer, value, _is_right(answer, value, *parts)))
    return _report(graph.names[root], marks, terms)


def _report(r: str, marks: list[Mark], terms: Mapping[str, list[Term]]) -> CheckReport:
    """The report's text: the right answers up to the first wrong one, then its chain rule."""
    lines = [f"Checking {len(marks)} answer{'s' if len(marks) != 1 else ''} for ∂{r}/∂node in "
             f"backward order (right within {ANSWER_TOLERANCE:.1%}):"]
    first = next((m for m in marks if not m.right), None)
    right = {m.name for m in marks if m.right}
    mistake = None
    for k, mark in enumerate(marks):
        if mark.right:
            lines.append(f"  ✓ ∂{r}/∂{mark.name} = {short(mark.answer)}")
            continue
        lines.append(f"  ✗ ∂{r}/∂{mark.name}: yours is {short(mark.answer)}, the engine's is "
                     f"{short(mark.value)}. The chain rule from {mark.name}'s parents:")
        lines += ["      " + line for line in _chain_rule(r, mark, terms[mark.name])]
        mistake, why = _diagnose(r, mark, terms[mark.name], right)
        lines.append(f"    {why}")
        if k + 1 < len(marks):
            rest = len(marks) - k - 1
            lines.append(f"  ({rest} later answer{'s' if rest != 1 else ''} not checked here: "
                         f"fix ∂{r}/∂{mark.name} first)")
        break
    else:
        lines.append("All right: each is the engine's value.")
    return CheckReport(r, tuple(marks), None if first is None else first.name, mistake,
                       "\n".join(lines))


def _chain_rule(r: str, mark: Mark, terms: list[Term]) -> list[str]:
    """∂r/∂node = Σ ∂r/∂parent · ∂parent/∂node: symbols, formulas, numbers, the total."""
    n = mark.name
    if not terms:
        return [f"∂{r}/∂{r} = 1: the seed of the backward pass"]
    uses: dict[str, int] = {}
    symbols = []
    for t in terms:
        uses[t.parent] = uses.get(t.parent, 0) + 1
        again = f" (use {uses[t.parent]})" if uses[t.parent] > 1 else ""
        symbols.append(f"∂{r}/∂{t.parent} · ∂{t.parent}/∂{n}{again}")
    head = f"∂{r}/∂{n} = "
    rows = [" + ".join(symbols)]
    grads = [_signed(short(t.parent_grad)) for t in terms]
    plain = all(t.numbers == short(t.local_grad) for t in terms)  # nothing to work out
    for column in ([t.formula for t in terms], [] if plain else [t.numbers for t in terms]):
        if column and all(column):
            row = " + ".join(f"{g}·{_factor(str(f))}" for g, f in zip(grads, column))
            if row not in rows:
                rows.append(row)
    rows.append(" + ".join(f"{g}·({short(t.local_grad)})" for g, t in zip(grads, terms)))
    if len(terms) > 1:
        rows.append(_signed_sum([short(t.value) for t in terms]))
    rows.append(short(mark.value))
    pad = " " * (len(head) - 2)
    return [head + rows[0]] + [f"{pad}= {row}" for row in rows[1:]]


def _diagnose(r: str, mark: Mark, terms: list[Term], right: set[str]) -> tuple[str, str]:
    """What the wrong answer looks like, and the sentence that says so."""
    a, n, values = mark.answer, mark.name, [t.value for t in terms]
    if not terms:
        return "seed", f"∂{r}/∂{r} is 1, whatever {r} is: the backward pass starts from it."
    if mark.value != 0 and _is_right(-a, mark.value, *values):
        return "sign", ("A sign error: yours is minus the engine's. Check the sign of each "
                        "factor (the notes' slip: ∂E/∂ŷ is ŷ - y, not y - ŷ).")
    if len(terms) > 1:
        for subset in _proper_subsets(len(terms)):
            if _is_right(a, math.fsum(values[i] for i in subset), *values):
                left_out = [terms[i].parent for i in range(len(terms)) if i not in subset]
                return "missed path", (
                    f"A missed path: yours is {len(subset)} of the {len(terms)} terms. {n} is "
                    f"used {len(terms)} times, and each use adds its own term to its grad; "
                    f"yours leaves out the one{'s' if len(left_out) > 1 else ''} through "
                    f"{', '.join(left_out)}.")
    for t in terms:
        if not _is_right(1.0, t.parent_grad) and _is_right(a, t.local_grad):
            return "local derivative only", (
                f"Yours is ∂{t.parent}/∂{n} = {short(t.local_grad)}, the local derivative "
                f"alone: the chain rule multiplies it by ∂{r}/∂{t.parent} = "
                f"{short(t.parent_grad)}.")
    if len(terms) == 1:
        t = terms[0]
        given = ("yours, right" if t.parent in right else "the engine's: you did not give it")
        if t.parent_grad == 0:
            return "local derivative", (f"∂{r}/∂{t.parent} is 0 ({given}), so ∂{r}/∂{n} is 0 "
                                        "whatever the local derivative.")
        shown = " = ".join(x for x in (t.formula, t.numbers) if x)
        return "local derivative", (
            f"A wrong local derivative: with ∂{r}/∂{t.parent} = {short(t.parent_grad)} "
            f"({given}), yours means ∂{t.parent}/∂{n} = {short(a / t.parent_grad)}; it is "
            f"{shown + ' = ' if shown else ''}{short(t.local_grad)}.")
    return "local derivative", (
        f"A wrong local derivative: the parents' grads above are the engine's (check any you "
        f"gave); one of the {len(terms)} local derivatives in yours is off.")


def _proper_subsets(count: int) -> Iterator[list[int]]:
    """Index lists of the proper non-empty subsets of range(count), largest first;
    for many terms only the single ones and those missing one."""
    if count > 10:
        yield from ([j for j in range(count) if j != i] for i in range(count))
        yield from ([i] for i in range(count))
        return
    for size in range(count - 1, 0, -1):
        yield from (list(c) for c in combinations(range(count), size))
