"""∂root/∂x as the chain rule: the sum over every path root → x of the product of the local
derivatives along it.

``explain(root, wrt)`` writes it the way the lecture notes do::

    ∂E/∂w11 = ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂w11 = (ŷ - 1)·w1·tanh'(a1)·x1 = (…)·(…)·(…)·(…) = …

``chain_paths`` gives the paths as data, ``derivation`` the text with its total as a float,
``explain_each`` each of many nodes' text from one pass each way over the graph (``Paths``:
every total, every path count, the first paths). Every walk here is iterative.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from micrograd._numbers import preview, short
from micrograd.engine import Value
from micrograd.steps import local_formula
from micrograd.walk import Walk, walk, walk_of

__all__ = ["ChainPath", "Derivation", "chain_paths", "derivation", "explain", "explain_each"]


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
        parts.append(_elided([as_factor(f) if several else f for f in formulas if f], hidden, "·"))
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
def as_factor(formula: str) -> str:
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


class Paths:
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


def signed_sum(terms: list[str]) -> str:
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
    paths = Paths(graph, {w for w in wrts if w in graph.names and w is not root}, max_paths)
    return [_explanation(paths, root, wrt, max_paths) for wrt in wrts]


def _explanation(paths: Paths, root: Value, wrt: Value, max_paths: int) -> Derivation:
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
    lines.append(f"{head} = {signed_sum(terms)} = {total!r}")
    return Derivation("\n".join(lines), total)
