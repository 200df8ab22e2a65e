"""Checking a hand derivation: ``check(root, answers)`` marks each ∂root/∂node a learner gives.

Each answer is right within ``accepted()``: ``ANSWER_TOLERANCE`` (0.1%) of the engine's
value, or of the value worked from the numbers as shown (4 digits). The report goes in
backward order and stops at the first wrong answer, writes the chain rule that makes its value
from its parents' grads, and names what the wrong number looks like: a sign, a missed path, a
local derivative left unchained or wrong.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from micrograd import ops
from micrograd._files import parse_json, read_small_file
from micrograd._numbers import number, preview, short
from micrograd.engine import Value
from micrograd.paths import Paths, as_factor, signed_sum
from micrograd.steps import local_formula, local_formula_numbers, signed
from micrograd.walk import Walk, walk_of

__all__ = ["ANSWERS_BYTES", "ANSWER_TOLERANCE", "ASCII_NAMES", "CANCELLATION", "CheckReport",
           "Mark", "Term", "accepted", "check", "local_from_shown", "read_answers", "shown"]


#: An answer is right within this fraction of the value it answers (its own magnitude, not
#: the terms it is summed from: 0.5 = 1000 - 999.5 takes 0.4995 to 0.5005), or of the value
#: worked from the numbers as drawings and pages show them (4 significant digits).
ANSWER_TOLERANCE = 1e-3
#: Where the terms cancel, this fraction of the largest is floating point's noise, and right.
CANCELLATION = 1e-12


def shown(x: float) -> float:
    """x as drawings and pages show it (4 significant digits), read back."""
    return float(short(x))


def local_from_shown(node: Value) -> tuple[float, ...] | None:
    """node's local derivatives at its operands' and output's numbers as shown (None where
    the op's derivative is not defined there, or for a leaf)."""
    if node.is_leaf:
        return None
    try:
        return tuple(ops.get(node.op).derivative(*(shown(c.data) for c in node.children),
                                                 shown(node.data), **node.params))
    except (ArithmeticError, ValueError):
        return None


def accepted(value: float, from_shown: float | None = None,
             parts: Sequence[float] = ()) -> tuple[float, float]:
    """The answers counted right for value: within ANSWER_TOLERANCE of value's magnitude of
    value, or of ``from_shown`` (the same worked from the shown numbers); ``parts`` (the
    numbers summed into value) widen it by CANCELLATION of the largest; the ends rounded
    outward to 6 significant digits."""
    if not math.isfinite(value):
        return value, value
    ends = [value, from_shown] if from_shown is not None and math.isfinite(from_shown) \
        else [value]
    low, high = min(ends), max(ends)
    noise = CANCELLATION * max((abs(p) for p in parts if math.isfinite(p)), default=0.0)
    return (_outward(low - ANSWER_TOLERANCE * abs(low) - noise, up=False),
            _outward(high + ANSWER_TOLERANCE * abs(high) + noise, up=True))


def _outward(x: float, up: bool) -> float:
    """x rounded to 6 significant digits away from the interval's inside (short on a page)."""
    if x == 0 or not math.isfinite(x):
        return x
    y = float(f"{x:.6g}")
    if y < x if up else y > x:
        step = 10.0 ** (math.floor(math.log10(abs(x))) - 5)
        y = float(f"{y + step if up else y - step:.6g}")
    return y


def _is_right(answer: float, value: float, from_shown: float | None = None,
              parts: Sequence[float] = ()) -> bool:
    """answer within accepted(value, from_shown, parts); NaN is right for NaN only."""
    if math.isnan(value):
        return math.isnan(answer)
    low, high = accepted(value, from_shown, parts)
    return low <= answer <= high


@dataclass(frozen=True)
class Term:
    """One term of the chain rule into a node: ∂root/∂parent · ∂parent/∂node (one edge)."""

    parent: str
    parent_grad: float  # ∂root/∂parent
    local_grad: float  # ∂parent/∂node along this edge
    formula: str | None  # ∂parent/∂node in the graph's names, e.g. "1 - z1²"
    numbers: str | None  # the same with the numbers in: "1 - (0.5598)²"
    local_shown: float | None = None  # ∂parent/∂node at the numbers as shown

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
    from_shown: float | None = None  # ∂root/∂node worked from the numbers as shown


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
    paths = Paths(graph, asked, 0)
    terms: dict[str, list[Term]] = {graph.names[node]: [] for node in asked}
    for parent in graph.order:  # each edge into an answered node: one term of its chain rule
        at_shown, made = None, False
        for i, (child, local) in enumerate(zip(parent.children, parent.local_grads)):
            if child in asked:
                if not made:  # once per parent
                    at_shown, made = local_from_shown(parent), True
                terms[graph.names[child]].append(Term(
                    graph.names[parent], paths.total[parent], local,
                    local_formula(parent, i, graph.names), local_formula_numbers(parent, i),
                    at_shown[i] if at_shown else None))
    marks = []
    held: dict[str, float] = {}  # the parents' grads as a learner has them: right answers
    for node in graph.order:  # (parents first) or the numbers shown
        if node in asked:
            name, value = graph.names[node], paths.total[node]
            answer = numbers[name]
            assert answer is not None
            parts = [t.value for t in terms[name]]
            locals_shown = [t.local_shown for t in terms[name]]
            worked = math.fsum(held.get(t.parent, shown(t.parent_grad)) * x for t, x in zip(
                terms[name], locals_shown) if x is not None) \
                if None not in locals_shown and terms[name] else None
            marks.append(Mark(name, answer, value, _is_right(answer, value, worked, parts),
                              worked))
            if marks[-1].right:
                held[name] = answer
    return _report(graph.names[root], marks, terms)


def _report(r: str, marks: list[Mark], terms: Mapping[str, list[Term]]) -> CheckReport:
    """The report's text: the right answers up to the first wrong one, then its chain rule."""
    lines = [f"Checking {len(marks)} answer{'s' if len(marks) != 1 else ''} for ∂{r}/∂node in "
             f"backward order (right within {ANSWER_TOLERANCE:.1%} of the value, or of "
             "the value worked from the numbers as shown):"]
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
    grads = [signed(short(t.parent_grad)) for t in terms]
    plain = all(t.numbers == short(t.local_grad) for t in terms)  # nothing to work out
    for column in ([t.formula for t in terms], [] if plain else [t.numbers for t in terms]):
        if column and all(column):
            row = " + ".join(f"{g}·{as_factor(str(f))}" for g, f in zip(grads, column))
            if row not in rows:
                rows.append(row)
    rows.append(" + ".join(f"{g}·({short(t.local_grad)})" for g, t in zip(grads, terms)))
    if len(terms) > 1:
        rows.append(signed_sum([short(t.value) for t in terms]))
    rows.append(short(mark.value))
    pad = " " * (len(head) - 2)
    return [head + rows[0]] + [f"{pad}= {row}" for row in rows[1:]]


def _diagnose(r: str, mark: Mark, terms: list[Term], right: set[str]) -> tuple[str, str]:
    """What the wrong answer looks like, and the sentence that says so."""
    a, n, values = mark.answer, mark.name, [t.value for t in terms]
    if not terms:
        return "seed", f"∂{r}/∂{r} is 1, whatever {r} is: the backward pass starts from it."
    if mark.value != 0 and _is_right(-a, mark.value, mark.from_shown, values):
        return "sign", ("A sign error: yours is minus the engine's. Check the sign of each "
                        "factor (the notes' slip: ∂E/∂ŷ is ŷ - y, not y - ŷ).")
    if len(terms) > 1:
        for subset in _proper_subsets(len(terms)):
            if _is_right(a, math.fsum(values[i] for i in subset), None, values):
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


# ---- a file of answers -----------------------------------------------------------------------

#: read_answers reads at most this many bytes; ASCII spellings it takes for a node's name.
ANSWERS_BYTES = 2**20
ASCII_NAMES = {"yhat": "ŷ", "y_hat": "ŷ"}


def read_answers(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A file of answers for check(): a JSON object of node names (ASCII_NAMES spell ŷ) and
    numbers, with at least one entry; ValueError naming the file and the problem otherwise."""
    where = f"answers file {preview(os.fspath(path), 250)}"
    try:  # a small regular file of strict JSON (a directory or a FIFO is refused unread)
        document = parse_json(read_small_file(os.fspath(path), ANSWERS_BYTES))
    except OSError as err:
        raise ValueError(f"{where}: cannot read: {err.strerror or err}") from None
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    example = '{"ŷ": -1.771, "w11": -0.3242}'
    if not isinstance(document, dict):
        raise ValueError(f"{where}: must be a JSON object of node names and your ∂E/∂node, "
                         f"like {example}; it holds a JSON {type(document).__name__}")
    if not document:
        raise ValueError(f"{where}: no answers to check: give at least one node name and your "
                         f"∂E/∂node, like {example}")
    answers: dict[str, Any] = {}
    for name, value in document.items():
        node = ASCII_NAMES[name] if name in ASCII_NAMES else name
        if node in answers:
            raise ValueError(f"{where}: two answers for {node} ({preview(name)} is its ASCII "
                             "spelling)")
        answers[node] = value
    return answers
