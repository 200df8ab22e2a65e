"""compile(root): record a graph once, replay its forward and backward as generated Python.

Every training step of the eager engine rebuilds the graph as Python objects. When the
graph has the same shape every time (a network on one sample, or on a fixed batch), it
can be recorded once and replayed: ``compile(loss)`` writes the graph as straight-line
Python, one line per node forward and one line per chain-rule term backward::

    a1 = w11 * x1 + w12 * x2 + b1          # forward: one line per node
    z1 = math.tanh(a1)
    ...
    g_z1 = 0.0 + w1 * g_ŷ                   # backward: child.grad += local · node.grad
    g_a1 = 0.0 + (1.0 - z1 * z1) * g_z1
    g_w11 += x1 * g_a1

``g = compile(loss)``; ``g()`` recomputes every node from the leaves' current ``.data``,
adds ∂loss/∂leaf into each leaf's ``.grad`` and returns the loss as a float: the same
floats, bit for bit, as rebuilding the graph and calling ``backward()``, and the same
errors (the op's own exception, raised by the node the eager engine would have failed at).
``g.source`` is that code; ``g.sync()`` writes every node's data, local grads and grad back
into the Value objects, for drawing or a debugger after compiled steps.

What is recorded is the graph, not the Python that built it (as with torch.jit.trace):
every op is evaluated again at each call, so relu's kink follows the new inputs, but an
``if x.data > 0:`` in the building code was decided once, for the values it saw. Inputs
and targets that change between calls are leaves whose ``.data`` is set::

    x1, x2 = Value(0.0, "x1"), Value(0.0, "x2")
    step = compile(half_squared_error(net(x1, x2), 1.0))
    for (a, b) in samples:
        x1.data, x2.data = a, b
        net.zero_grad()
        loss = step()

The generated code works on floats. A leaf whose ``.data`` is another number (an int, a
bool, numpy's float64) makes ``g()`` take the eager engine's own path for that call (each
op's function on the data as they are, then ``backward()``), so ints and bools give the
eager engine's results too. The compiler reads the graph through the Value's public
attributes, ``walk(root)`` and the op registry; the code texts of the built-in ops it
writes inline are in ``CODE`` below. Any other op (a user's, or ``pow``) is called through
its registered forward and derivative, once per node, in the order the eager engine calls
them, and its exceptions surface as they are. An op unregistered or registered anew after
``compile`` makes ``g()`` and ``sync()`` raise RegistryChanged: compile the graph again.
"""

from __future__ import annotations

import builtins
import gc
import heapq
import itertools
import keyword
import linecache
import math
import numbers
import re
import sys
import unicodedata
import weakref
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import add, mul
from typing import TYPE_CHECKING, Any, TypeAlias

from micrograd import ops, owners
from micrograd._numbers import as_float, as_floats, check_operands
from micrograd.engine import Value
from micrograd.optim import Optimizer
from micrograd.walk import Walk, walk

if TYPE_CHECKING:
    from micrograd.native import NativeStep, NativeTrainer

__all__ = ["CODE", "Code", "CompiledGraph", "CompiledStep", "RegistryChanged", "Step", "Trainer",
           "compile"]

#: Lines per generated function (a "part"). CPython's memory for compiling a function grows
#: with its length, so each part is compiled on its own and its text kept compressed (a
#: 200k-node chain peaks under 200 MB). Each part loads the leaves it reads more than once
#: and stores their grads, so fewer, longer parts have fewer such lines (and compile faster).
PART_LINES = 40_000

#: A part with more unlabelled nodes than this names them by registers r0, r1, …, each
#: reused once its value is dead, and writes an unlabelled node read once, whose value the
#: backward pass does not need, inside the expression that reads it: far fewer live floats,
#: locals and lines, so the replay stays in the processor's caches.
REGISTERS_ABOVE = 100

#: Terms per statement of a wide sum or linear node (and at most this many pieces in an
#: expression written inline): CPython's compiler recurses once per operator.
CHUNK = 64

#: A linear node of at least this many (w, x) pairs, all of them distinct leaves whose
#: slots step evenly (a first layer's neuron), is written as one line per pass over its
#: operands (``_dot`` forward, ``_accumulate`` backward), C loops over slices of D and G,
#: instead of one line per product: the same operations in the same order.
WIDE = 16

Part = Callable[[list[float], list[float]], Generator[None, None, None]]

_AUTO = re.compile(r"v\d+")  # the name of an unlabelled node
_GENERATED = re.compile(r"[vr]\d+|[gd]_.*|_.*|[DG]")
_RESERVED = frozenset(dir(builtins)) | {"math"}
_FIELD = re.compile(r"\{(\d+)\}")
_NAMED = re.compile(r"\{(\w+)\}")
_filenames = itertools.count()


#: A Trainer's step, of either backend: ``step(x)`` or ``step()``, ``step.source``.
Step: TypeAlias = "CompiledStep | NativeStep"


class RegistryChanged(RuntimeError):
    """An op a compiled graph calls was unregistered or registered anew after compile()."""


# ---- the code texts of the built-in ops ----------------------------------------------


@dataclass(frozen=True)
class Code:
    """An op as Python expression text: ``forward`` gives out, ``derivative`` each ∂out/∂x_i.

    Placeholders as in the registry's formulas: operands ``{a}``, the output ``{out}``,
    params ``{slope}``. An op of any number of operands has instead a ``forward(count)``
    giving the terms its output adds left to right, and a ``derivative(index, count)``,
    naming operands ``{0}``, ``{1}``, …. The texts may use ``math``, Python's built-ins and
    ``<op>_forward`` (the registered function, which raises the op's own error), and give
    the op's floats bit for bit (tests/test_compiler.py holds each one to its function).
    """

    forward: str | Callable[[int], list[str]]
    derivative: tuple[str, ...] | Callable[[int, int], str]

    def terms(self, count: int) -> list[str]:
        """The forward as terms added left to right (one term for a fixed-arity op)."""
        return [self.forward] if isinstance(self.forward, str) else self.forward(count)

    def forward_text(self, count: int) -> str:
        """The forward expression for ``count`` operands, placeholders unfilled."""
        return " + ".join(self.terms(count))

    def derivative_text(self, index: int, count: int) -> str:
        """∂out/∂operand[index] as an expression, placeholders unfilled."""
        if callable(self.derivative):
            return self.derivative(index, count)
        return self.derivative[index]


def _sum_terms(count: int) -> list[str]:
    """x1 + x2 + … + xn: Python adds it left to right, as ops.sum_ does."""
    return [f"{{{i}}}" for i in range(count)]


def _linear_terms(count: int) -> list[str]:
    """w1 * x1 + … + wn * xn + b, added left to right as ops.linear does."""
    if count == 1:
        return ["0.0", "{0}"]
    return [*(f"{{{i}}} * {{{i + 1}}}" for i in range(0, count - 1, 2)), f"{{{count - 1}}}"]


#: The ops written inline, by name. The others are called through the registry.
CODE: dict[str, Code] = {
    "add": Code("{a} + {b}", ("1.0", "1.0")),
    "sub": Code("{a} - {b}", ("1.0", "-1.0")),
    "mul": Code("{a} * {b}", ("{b}", "{a}")),
    # b = 0 (either sign) goes through div itself, for its own ZeroDivisionError
    "div": Code("{a} / {b} if {b} else div_forward({a}, {b})", ("1.0 / {b}", "-{out} / {b}")),
    "neg": Code("-{a}", ("-1.0",)),
    "log": Code("math.log({x}) if {x} > 0.0 else log_forward({x})", ("1.0 / {x}",)),
    "tanh": Code("math.tanh({x})", ("1.0 - {out} * {out}",)),
    "sigmoid": Code("1.0 / (1.0 + math.exp(-{x})) if {x} >= 0.0 else "
                    "math.exp({x}) / (1.0 + math.exp({x}))", ("{out} * (1.0 - {out})",)),
    "relu": Code("0.0 if {x} <= 0.0 else {x}",
                 ("1.0 if {out} > 0.0 else (0.0 if {out} <= 0.0 else math.nan)",)),
    "leaky_relu": Code("{x} if {x} > 0.0 else {slope} * {x}",
                       ("1.0 if {x} > 0.0 else ({slope} if {x} <= 0.0 else math.nan)",)),
    "step": Code("1.0 if {x} > 0.0 else (0.0 if {x} <= 0.0 else math.nan)",
                 ("0.0 if {x} == {x} else math.nan",)),
    "sum": Code(_sum_terms, lambda i, n: "1.0"),
    "linear": Code(_linear_terms, lambda i, n: "1.0" if i == n - 1 else f"{{{i ^ 1}}}"),
    "half_squared_error": Code("0.5 * ({y} - {y_hat}) * ({y} - {y_hat})",
                               ("{y_hat} - {y}", "{y} - {y_hat}")),
}


if sys.version_info >= (3, 12):  # sum() of floats is compensated (Neumaier) from 3.12 on

    def _dot(w: list[float], x: list[float]) -> float:
        """w1·x1 + … + wn·xn added left to right, as ops.linear adds it (-0.0 + a is a)."""
        return reduce(add, map(mul, w, x), -0.0)

else:

    def _dot(w: list[float], x: list[float]) -> float:
        """w1·x1 + … + wn·xn added left to right, as ops.linear adds it (-0.0 + a is a)."""
        return sum(map(mul, w, x), -0.0)


def _accumulate(grads: list[float], locals_: list[float], g: float) -> list[float]:
    """grad_i + local_i · g for each i: child.grad += local_grad * node.grad, per operand."""
    return [a + x * g for a, x in zip(grads, locals_)]


def _first(locals_: list[float], g: float) -> list[float]:
    """0.0 + local_i · g for each i: _accumulate into grads that are 0.0 (and read once)."""
    return [0.0 + x * g for x in locals_]


# ---- the compiled graph ----------------------------------------------------------------


class CompiledGraph:
    """A recorded graph: ``g()`` replays forward and backward; ``g.source`` is the code."""

    __slots__ = ("root", "_texts", "_leaves", "_names", "_parts", "_zeros", "_root_slot",
                 "_forward", "_ops", "_data", "__weakref__")

    root: Value

    def __init__(self, root: Value, texts: Sequence[bytes], leaves: Sequence[Value],
                 names: Sequence[str], parts: Sequence[Part], slots: int, root_slot: int,
                 forward: Sequence[Value], used: dict[str, ops.Op]) -> None:
        self.root = root
        self._texts = tuple(texts)  # each part's code, zlib-compressed
        self._leaves = tuple(leaves)
        self._names = tuple(names)  # the leaves' names, for error messages
        self._parts = tuple(parts)
        self._zeros = [0.0] * slots
        self._root_slot = root_slot
        self._forward = tuple(forward)  # the op nodes in the order the code evaluates them
        self._ops = tuple(used.items())  # the registry entries the code was made from
        self._data: list[Any] | None = None  # the leaf values of the latest call

    @property
    def source(self) -> str:
        """The generated Python: forward one line per node, backward one line per term."""
        return "\n\n".join(zlib.decompress(text).decode("utf-8") for text in self._texts)

    @property
    def leaves(self) -> tuple[Value, ...]:
        """The leaves the graph reads (parameters, inputs, constants), in slot order."""
        return self._leaves

    def __call__(self) -> float:
        """Recompute every node from the leaves' .data, add ∂root/∂leaf into each leaf's .grad.

        Returns the root's value. A leaf whose .data or .grad is not a number raises
        TypeError naming it, before any grad changes.
        """
        self._check_registry()
        leaves = self._leaves
        data = [leaf.data for leaf in leaves]
        for x in data:
            if x.__class__ is not float:
                return self._eager(data)
        grads = [leaf.grad for leaf in leaves]
        for x in grads:
            if x.__class__ is not float:
                grads = self._floats(grads, "grad")
                break
        values = data + self._zeros  # D: leaf data, then values passed between parts
        grads += self._zeros  # G: leaf grads, then grads passed between parts
        self._run(values, grads)
        for leaf, g in zip(leaves, grads):
            leaf.grad = g
        self._data = data
        return values[self._root_slot]

    def _run(self, values: list[float], grads: list[float]) -> None:
        """The generated parts on D = values and G = grads: forward, then backward."""
        parts = [part(values, grads) for part in self._parts]
        error = None
        try:
            for part in parts:  # forward: each part up to its yield
                next(part)
            for part in reversed(parts):  # backward, in backward()'s order
                next(part, None)
        except _Escaped as escaped:  # a user op's StopIteration, carried out of the generator
            error = escaped.error
        if error is not None:
            raise error

    def _floats(self, xs: list[Any], what: str) -> list[float]:
        """xs as floats (an int becomes a float); TypeError naming the leaf otherwise."""
        return [x if type(x) is float else as_float(x, f"compiled graph: leaf {name!r} {what}")
                for x, name in zip(xs, self._names)]

    def _eager(self, data: list[Any]) -> float:
        """The call for leaf data that are not all floats: the eager engine's own arithmetic."""
        for x, name in zip(data, self._names):
            if not isinstance(x, numbers.Real):
                as_float(x, f"compiled graph: leaf {name!r} data")  # raises TypeError
        self._floats([leaf.grad for leaf in self._leaves], "grad")
        _evaluate(self._forward, self._leaves, data)
        self.root.backward()  # leaves accumulate, as backward() on a rebuilt graph does
        self._data = data
        return self.root.data

    def _check_registry(self) -> None:
        _check_ops(self._ops)

    def sync(self) -> None:
        """Write into every node what backward() would have left after the latest call.

        Interior nodes get their data, local_grads and grad of that call (leaves already
        hold their grads; their data is left as it is now), by calling each op's functions
        again. Before any call, does nothing.
        """
        if self._data is None:
            return
        self._check_registry()
        _evaluate(self._forward, self._leaves, self._data)
        held = [leaf.grad for leaf in self._leaves]  # leaves hold their grads of the call
        self.root.backward()  # the interior grads, by the chain rule's one loop
        for leaf, grad in zip(self._leaves, held):
            leaf.grad = grad

    def __repr__(self) -> str:
        return (f"<CompiledGraph of {self.root!r}: {len(self._leaves)} leaves, "
                f"{len(self._parts)} part(s)>")


def _check_ops(used: Iterable[tuple[str, ops.Op]]) -> None:
    """RegistryChanged if an op of used (name, entry) was unregistered or registered anew."""
    for name, op in used:
        try:
            now: ops.Op | None = ops.get(name)
        except KeyError:
            now = None
        if now is not op:
            change = "unregistered" if now is None else "registered anew"
            raise RegistryChanged(f"compiled graph: op {name!r} was {change} after "
                                  "compile(); compile the graph again")


class _Escaped(Exception):
    """Carries a user op's StopIteration out of a generated part (a generator would turn it
    into RuntimeError), to be raised again as it is."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


def _escaping(function: Callable[..., Any]) -> Callable[..., Any]:
    """function, with a StopIteration it raises carried out by _Escaped."""

    def call(*args: Any, **params: Any) -> Any:
        try:
            return function(*args, **params)
        except StopIteration as err:
            raise _Escaped(err) from None

    return call


def _evaluate(forward: Sequence[Value], leaves: Sequence[Value], data: Sequence[Any]) -> None:
    """Write into each node of forward the data and local grads apply() gives it from data.

    Each op's registered functions, on the leaf data as they are, in the order given; a
    failing op raises its own error before any node is written.
    """
    value: dict[Value, Any] = dict(zip(leaves, data))
    results = []
    for node in forward:
        op = ops.get(node.op)
        xs = [value[child] for child in node.children]
        check_operands(op.name, xs)  # as apply() checks them
        out = op.forward(*xs, **node.params)
        value[node] = as_float(out)  # as Value(out) does
        results.append((node, value[node], op.derivative(*xs, out, **node.params)))
    for node, out, local in results:
        node.data, node.local_grads = out, local


def compile(root: Value, backend: str = "python") -> Any:
    """Record root's graph and generate the Python that replays its forward and backward.

    backend="native" replays it by machine code loops over a tape (micrograd.native; the
    extra ``pip install 'micrograd-notes[native]'``).
    """
    if backend == "native":
        from micrograd.native import compile_native
        return compile_native(root, compile, _check_ops)
    if backend != "python":
        raise ValueError(f"compile: backend must be 'python' or 'native', got {backend!r}")
    return _compiled(root, (), None)


def _compiled(root: Value, first: Sequence[Value], wanted: set[Value] | None) -> CompiledGraph:
    if not isinstance(root, Value):
        raise TypeError(f"compile: root must be a Value, got {type(root).__name__}")
    collecting = gc.isenabled()
    gc.disable()  # the code is made of many small objects, none in a cycle: no need to scan
    try:
        return _compile(root, first, wanted)
    finally:
        if collecting:
            gc.enable()


# ---- a replayed training step: the parameters owned as lists -----------------------------


class Trainer:
    """A replayed training run: its parameters owned as floats, and its steps.

    ``trainer = Trainer(optimizer)``; ``step = trainer.compile(loss, inputs=xs)`` records
    loss's graph (several graphs may share a trainer: one per target class, say); each
    ``step(x)`` (x: the inputs' values, in order) or ``step()`` (the inputs read from their
    leaves) is one training step: every grad set to 0, forward, backward (the parameters'
    grads) and the optimiser's update, the same floats as ``zero_grad()``, ``loss.backward()``
    and ``optimizer.step()`` on the Values, bit for bit.

    backend="python": the parameters in a list, the step generated Python, the update
    ``optimizer.update`` on lists. backend="native" (micrograd.native; the extra
    ``pip install 'micrograd-notes[native]'``): the parameters, their grads and the optimiser's
    state (SGD's velocity, Adam's m and v) in double arrays, the step and the update (SGD,
    Adam, AdamW; a user's ``update`` is called on lists) machine code loops.

    When the Values are current: the trainer reads the parameters' data (and, native, the
    optimiser's state) when it is made and at ``load()``, and writes them, with the grads of
    the latest step, at ``sync()``, when a ``with trainer:`` block ends, and before a
    model's ``state_dict()``, ``save()`` or ``train()`` reads the Values (micrograd.owners);
    what a model's ``load_state_dict()``, ``load()`` or ``train()`` writes there, it reads
    back. Between, the parameters' Values (and a native trainer's optimiser's state; Adam's
    step count is kept at once) hold what they held before, and a value set on one by hand
    is not seen until ``load()``. ``step(x)`` does not write x into the input leaves. Other
    leaves (targets, constants) are read at every step, as floats; the grads of inputs and
    other leaves are not written.
    """

    def __init__(self, optimizer: Optimizer, backend: str = "python") -> None:
        kind = type(optimizer)
        if kind.step is not Optimizer.step or kind.update is Optimizer.update:
            raise TypeError(f"Trainer: {kind.__name__} must define update(data, grads) and "
                            "not step(), so a replay runs the same rule")
        if backend not in ("python", "native"):
            raise ValueError(f"Trainer: backend must be 'python' or 'native', got {backend!r}")
        params = optimizer.params
        for i, p in enumerate(params):
            if p.op:
                raise ValueError(f"Trainer: parameter {i} is made by op {p.op!r}; "
                                 "parameters are leaves, Value(...)")
        self.optimizer = optimizer
        self.params: list[Value] = list(params)
        self.backend = backend
        self._data: list[float] = []  # the parameters' data, then one step's other slots
        self._grads: list[float] | None = None  # the latest step's G (parameters first)
        self._native: NativeTrainer | None = None
        owners.sync(self.params)  # another trainer's numbers into the Values, to read them
        if backend == "native":
            from micrograd.native import NativeTrainer
            self._native = NativeTrainer(optimizer, _replayer, _check_ops)
        else:
            self.load()
        owners.own(self._native or self, self.params)  # what state_dict() and save() sync first

    def compile(self, loss: Value,
                inputs: Sequence[Value] | None = None) -> Step:
        """Record loss's graph as one training step over this trainer's parameters.

        inputs: leaves whose values each ``step(x)`` takes from x, in order (not parameters).
        """
        xs = list(inputs or ())
        seen = set(self.params)
        for i, x in enumerate(xs):
            if not isinstance(x, Value) or x.op:
                what = f"made by op {x.op!r}" if isinstance(x, Value) else type(x).__name__
                raise TypeError(f"Trainer.compile: input {i} must be a leaf Value, got {what}")
            if x in seen:
                raise ValueError(f"Trainer.compile: input {i} is a parameter or an earlier "
                                 "input; give each input once, parameters not")
            seen.add(x)
        if self._native is not None:
            if not isinstance(loss, Value):
                raise TypeError(f"compile: root must be a Value, got {type(loss).__name__}")
            return self._native.compile(loss, xs)
        return CompiledStep(self, _compiled(loss, [*self.params, *xs], set(self.params)),
                            len(xs))

    @property
    def grads(self) -> list[float]:
        """The parameters' grads of the latest step (zeros before the first)."""
        if self._native is not None:
            return self._native.grads
        count = len(self.params)
        return [0.0] * count if self._grads is None else self._grads[:count]

    def load(self) -> None:
        """Take the parameters' data from their Values again (native: the optimiser's state)."""
        if self._native is not None:
            self._native.load()
            return
        self._data[:len(self.params)] = [
            as_float(p.data, f"Trainer: parameter {i} data") for i, p in enumerate(self.params)]

    def sync(self) -> None:
        """Write each parameter's data, and its grad of the latest step, into its Value
        (native: the optimiser's state into the optimiser)."""
        if self._native is not None:
            self._native.sync()
            return
        grads = self._grads
        for i, (p, x) in enumerate(zip(self.params, self._data)):
            p.data = x
            if grads is not None:
                p.grad = grads[i]

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sync()


class CompiledStep:
    """One recorded training step of a Trainer: ``step(x)`` or ``step()`` returns the loss
    before the update."""

    __slots__ = ("trainer", "graph", "_inputs", "_others", "_names", "_zeros", "_slots")

    def __init__(self, trainer: Trainer, graph: CompiledGraph, inputs: int = 0) -> None:
        count = len(trainer.params)
        self.trainer, self.graph = trainer, graph
        self._inputs = inputs  # the leaves after the parameters that x gives
        self._others = graph.leaves[count:]  # inputs, targets, constants: read at each step
        self._names = graph._names[count:]
        self._zeros = graph._zeros  # the values passed between parts
        self._slots = len(graph.leaves) + len(graph._zeros)

    @property
    def source(self) -> str:
        """The generated Python (parameters first in D and G; only their grads computed)."""
        return self.graph.source

    def __call__(self, x: Sequence[float] | None = None) -> float:
        """Grads to 0, forward, backward, the optimiser's update; the loss (before it).

        x: the inputs' values, in order (a list of floats, or array('d')); without it, the
        inputs' leaves are read.
        """
        trainer, graph = self.trainer, self.graph
        graph._check_registry()
        data = trainer._data
        given = [] if x is None else as_floats(x, self._inputs, "step: x")
        inputs = [leaf.data for leaf in self._others[len(given):]]
        for v in inputs:
            if v.__class__ is not float:
                names = self._names[len(given):]
                inputs = [v if type(v) is float else as_float(v, f"compiled step: leaf {name!r}")
                          for v, name in zip(inputs, names)]
                break
        data[len(trainer.params):] = given + inputs + self._zeros
        grads = [0.0] * self._slots
        graph._run(data, grads)
        trainer._grads = grads
        loss = data[graph._root_slot]
        trainer.optimizer.update(data, grads)
        return loss

    def __repr__(self) -> str:
        return (f"<CompiledStep of {self.graph.root!r}: {len(self.trainer.params)} parameters, "
                f"{len(self._others)} other leaves>")


def _replayer(root: Value, first: list[Value]) -> Callable[[list[float]], float]:
    """root's forward by the Python backend as a function of the data of the leaves first
    (the other leaves read from their Values): a native step's errors, raised by the node
    the eager engine raises them at."""
    graph = _compiled(root, first, set())
    count = len(first)

    def forward(data: list[float]) -> float:
        values = [*data, *[leaf.data for leaf in graph.leaves[count:]], *graph._zeros]
        graph._run(values, [0.0] * len(values))
        return values[graph._root_slot]

    return forward


def _compile(root: Value, first: Sequence[Value] = (),
             wanted: set[Value] | None = None) -> CompiledGraph:
    """compile(root); the leaves ``first`` take the first slots, in order (whether the graph
    reads them or not). With ``wanted`` (a Trainer's steps), only those leaves' grads are
    computed, and every leaf grad is 0.0 when the replay starts."""
    walked = walk(root)  # root first, leaves included: the drawings' order and names
    backward = walked.interior  # backward()'s order
    used: dict[str, ops.Op] = {}
    functions: dict[str, Callable[..., Any]] = {}
    for node in backward:
        if node.op not in used:
            op = used[node.op] = ops.get(node.op)
            wrap = (lambda f: f) if op.builtin else _escaping
            functions[f"{op.name}_forward"] = wrap(op.forward)
            functions[f"{op.name}_derivative"] = wrap(op.derivative)
    names = _identifiers(walked, set(functions))

    # Parts: consecutive runs of the reversed walk, so backward() runs part by part.
    part_of: dict[Value, int] = {}
    members: list[list[Value]] = [[]]
    lines = 0
    for node in reversed(backward):
        size = 2 + len(node.children)
        if lines and lines + size > PART_LINES:
            members.append([])
            lines = 0
        part_of[node] = len(members) - 1
        members[-1].append(node)
        lines += size
    forward_order = [_evaluation_order(nodes, walked) for nodes in members]

    leaves = list(dict.fromkeys([*first, *(child for nodes in forward_order for node in nodes
                                           for child in node.children if not child.op),
                                 *(() if backward else (root,))]))  # (a root that is a leaf)
    slot = {leaf: i for i, leaf in enumerate(leaves)}
    needs = None if wanted is None else _needing_grads(reversed(backward), wanted)
    wide = _wide(backward, slot)
    edges = Counter(child for node in backward for child in node.children)  # edges into each
    parent: dict[Value, Value] = {}  # a node's parent (its only one, where that matters)
    crossing: set[Value] = set()  # interior nodes that a later part reads
    for node in backward:
        part = part_of[node]
        for child in node.children:
            parent[child] = node
            if part_of.get(child, part) != part:  # (a leaf has no part)
                crossing.add(child)
    for nodes in forward_order:
        for node in nodes:
            if node is root or node in crossing:
                slot[node] = len(slot)

    count = len(members) if backward else 1
    number = next(_filenames)
    namespace: dict[str, Any] = {"math": math, "_dot": _dot, "_accumulate": _accumulate,
                                 "_first": _first, **functions}
    template = _templates(backward)
    unlabelled = {node for node in walked.order
                  if not node.label or _AUTO.fullmatch(names[node])}
    texts, parts = [], []
    for i in range(count):
        if backward:
            generator = _Part(i, members[i], forward_order[i], root, names, slot, crossing,
                              edges, parent, template, unlabelled, wide, needs)
            text = generator.text()
        else:  # the root is a leaf: backward() adds 1 to its grad
            text = f"def part0(D, G):\n    yield\n    G[{slot[root]}] += 1.0\n"
        if i == 0:
            text = _header(root, names, len(backward), len(leaves), count) + text
        filename = f"micrograd-compiled-{number}-part{i}.py"
        exec(builtins.compile(text, filename, "exec"), namespace)
        parts.append(namespace.pop(f"part{i}"))
        texts.append(zlib.compress(text.encode("utf-8"), 1))  # a fifth of the size
    forward = [node for nodes in forward_order for node in nodes]
    graph = CompiledGraph(root, texts, leaves, [names.get(leaf, leaf.label) for leaf in leaves],
                          parts, len(slot) - len(leaves), slot[root], forward, used)
    _show_in_tracebacks(graph, number)
    return graph


def _needing_grads(upward: Iterable[Value], wanted: set[Value]) -> set[Value]:
    """The wanted leaves and every node with one of them below it (upward: children first)."""
    needs = set(wanted)
    for node in upward:
        if any(child in needs for child in node.children):
            needs.add(node)
    return needs


def _wide(nodes: list[Value], slot: dict[Value, int]) -> dict[Value, tuple[str, str]]:
    """The linear nodes written as C loops (WIDE), each with its weights' and inputs' slices."""
    wide = {}
    for node in nodes:
        operands = node.children[:-1]
        if (node.op != "linear" or len(operands) < 2 * WIDE or not ops.get("linear").builtin
                or any(child.op for child in operands) or len(set(operands)) < len(operands)):
            continue
        weights = _slice([slot[w] for w in operands[0::2]])
        inputs = _slice([slot[x] for x in operands[1::2]])
        if weights and inputs:
            wide[node] = (weights, inputs)
    return wide


def _slice(slots: list[int]) -> str:
    """slots as the text of a slice a:b(:step) of D or G if they step evenly upward, else ""."""
    step = slots[1] - slots[0]
    if step <= 0 or any(b - a != step for a, b in itertools.pairwise(slots)):
        return ""
    stop = slots[-1] + 1
    return f"{slots[0]}:{stop}" if step == 1 else f"{slots[0]}:{stop}:{step}"


def _evaluation_order(nodes: list[Value], walked: Walk) -> list[Value]:
    """The part's nodes in the order code evaluates them: the order the graph was built in.

    Derived from the walk: each node as soon as its operands are made, the one first in the
    walk's order first (the walk puts the first operand's branch before the second's), so
    ``x.log() + y / z`` computes the log before the division, as Python built it.
    """
    index = walked.index
    inside = set(nodes)
    waiting: dict[Value, int] = {}  # edges from operands of this part not yet made
    users: dict[Value, list[Value]] = {}  # a user once per edge (x * x: twice)
    ready = []
    for node in nodes:
        operands = 0
        for child in node.children:
            if child in inside:
                operands += 1
                users.setdefault(child, []).append(node)
        waiting[node] = operands
        if not operands:
            ready.append(index[node])
    heapq.heapify(ready)  # the walk's indices of the nodes ready to be made
    order = []
    while ready:
        node = walked.order[heapq.heappop(ready)]
        order.append(node)
        for user in users.get(node, ()):
            waiting[user] -= 1
            if not waiting[user]:
                heapq.heappush(ready, index[user])
    return order


# ---- generating the code -------------------------------------------------------------


def _identifiers(graph: Walk, functions: set[str]) -> dict[Value, str]:
    """Each node's Python name: its label where that is a free identifier, else v<i>.

    v<i> is the node's index in the walk, as in drawings and explanations. A label is used
    as Python reads it (NFKC), only when no other name reads the same.
    """
    taken = _RESERVED | functions
    normal = [name if name.isascii() else unicodedata.normalize("NFKC", name)
              for name in graph.names.values()]
    repeats = {name for name, n in Counter(normal).items() if n > 1}
    names = {}
    for i, (node, name) in enumerate(zip(graph.order, normal)):
        if not node.label:  # the walk named it v<i> (or _v<i>): a generated name
            names[node] = f"v{i}"
            continue
        usable = (name.isidentifier() and not keyword.iskeyword(name) and name not in taken
                  and name not in repeats and not _GENERATED.fullmatch(name)
                  and (name.isascii() or unicodedata.normalize("NFKC", f"g_{name}")
                       == f"g_{name}"))
        names[node] = name if usable else f"v{i}"
    return names


def _header(root: Value, names: dict[Value, str], nodes: int, leaves: int, parts: int) -> str:
    split = (f", in {parts} parts run forward in order, then backward in reverse order"
             if parts > 1 else "")
    return (
        f"# micrograd.compile: the graph of {names[root]} as Python: {nodes} op nodes, "
        f"{leaves} leaves{split}.\n"
        "# D[i] is leaf i's data and G[i] its grad (then values and grads that pass between\n"
        "# parts). Up to `yield`, the forward pass; after it, the backward pass, each term\n"
        "# child.grad += local_grad * node.grad. An interior grad starts at 0.0, as in\n"
        "# backward(), so its first term reads g = 0.0 + ... (or = g when the local grad is 1).\n\n"
    )


# A part is written as lines of text. A variable is written by its name, except in a part
# that uses registers, where an unlabelled node's variable is written as a field "{k}" (k
# its number in the part) until _registers has chosen its register; one str.format then
# fills them all. The generated code has no braces of its own (a Code text's braces are
# its placeholders, filled before, and names are identifiers), so the fields are the only
# ones. The op templates are format strings too: ``"{0} * {1}".format(x, y)``.


class _Template:
    """One op's code for a count of operands and fixed params, as format strings.

    Fields: the operands {0} … {n-1}, the node's value {n}, its derivative's result {n+1}
    (for an op called rather than written inline). ``chunks``: the forward as sums of at
    most CHUNK terms, added left to right (one chunk, ``single`` term, for most ops);
    ``call``: the derivative's call; ``locals``: per operand (kind, factor), kind "+" for
    a local grad of exactly 1.0 (the term is g), "-" for -1.0 (the term is -g), "*" for
    factor·g; ``products``: whether any is "*". ``once``: the operands read once, by the
    forward only (one may be written inline there); ``movable``: whether the node itself
    may be (it cannot raise and its derivative does not read its value); ``fields``: the
    operand fields of a single term, in order (for its size in pieces).
    """

    __slots__ = ("called", "single", "chunks", "fields", "call", "locals", "products", "once",
                 "movable")

    def __init__(self, op: ops.Op, count: int, params: tuple[tuple[str, float], ...]) -> None:
        fixed = {k: _literal(v) for k, v in params}
        code = CODE.get(op.name) if op.builtin else None
        self.called = code is None
        if code is not None:
            fill = _positional(op, count, fixed)
            terms = [fill(term) for term in code.terms(count)]
            texts = [fill(code.derivative_text(i, count)) for i in range(count)]
            pure = not any("_forward(" in term for term in terms)  # cannot raise
            self.call = ""
        else:
            args = ", ".join(f"{{{i}}}" for i in range(count))
            keywords = "".join(f", {k}={v}" for k, v in fixed.items())
            terms = [f"{op.name}_forward({args}{keywords})"]
            self.call = f"{op.name}_derivative({args}, {{{count}}}{keywords})"
            texts = [f"{{{count + 1}}}[{i}]" for i in range(count)]
            pure = False
        self.single = len(terms) == 1
        self.chunks = [" + ".join(terms[start:start + CHUNK])
                       for start in range(0, len(terms), CHUNK)]
        self.fields = [int(field) for field in _FIELD.findall(terms[0])]
        self.locals = [_kind(text) for text in texts]
        reads: Counter[int] = Counter()
        for term in terms:
            reads.update(int(field) for field in _FIELD.findall(term))
        derivative_reads = {int(field) for _, factor in self.locals
                            for field in _FIELD.findall(factor)}
        for field in derivative_reads:
            reads[field] += count + 2  # read by the backward pass: never written inline
        self.products = any(kind == "*" for kind, _ in self.locals)
        self.once = set() if self.called else {i for i, n in reads.items() if n == 1}
        self.movable = pure and count not in derivative_reads  # (count: the value field)

    def size(self, node: Value, size: dict[Value, int]) -> int:
        """The pieces of node's single term: its text pieces and its operands' (size)."""
        total = len(self.fields) + 1
        for i in self.fields:
            total += size.get(node.children[i], 1)
        return total


def _templates(nodes: list[Value]) -> dict[Value, _Template]:
    """Each node's _Template, made once per (op, operand count, params) of the graph."""
    made: dict[tuple[str, int, tuple[tuple[str, float], ...]], _Template] = {}
    template = {}
    for node in nodes:
        key = (node.op, len(node.children), tuple(node.params.items()) if node.params else ())
        if key not in made:
            made[key] = _Template(ops.get(node.op), key[1], key[2])
        template[node] = made[key]
    return template


class _Part:
    """The generator function of one part: loads, forward, yield, backward, stores.

    A leaf or earlier node this part reads through several edges, or one with a label, is
    loaded into a local once; an unlabelled one read through one edge (a constant, say)
    is written in place as D[i] and G[i]. A node reached by one edge only, with local grad
    1 (an operand of +), has the grad of its parent: the code uses the parent's variable.
    """

    def __init__(self, index: int, nodes: list[Value], order: list[Value], root: Value,
                 names: dict[Value, str], slot: dict[Value, int], crossing: set[Value],
                 edges: Counter[Value], parent: dict[Value, Value],
                 template: dict[Value, _Template], unlabelled: set[Value],
                 wide: dict[Value, tuple[str, str]], needs: set[Value] | None) -> None:
        self.index, self.nodes, self.order, self.root = index, nodes, order, root
        self.names, self.slot, self.crossing = names, slot, crossing
        self.edges, self.parent, self.template = edges, parent, template
        self.unlabelled = unlabelled  # the nodes named v<i>
        self.wide = wide  # the linear nodes written as C loops: (weights, inputs) slices
        self.needs = needs  # the nodes whose grads are computed (None: all)
        self.registers = False
        self.lines: list[str] = []
        self.first: list[int] = []  # the line that writes field {k} first, by k

    def variable(self, kind: str, node: Value) -> str:
        """A new variable of node, kind "v" (value), "g" (grad) or "d" (derivative result).

        Its name ("v3", "g_v3", "d_v3"), or the field of a register to be chosen: the
        caller adds the line that writes it next.
        """
        if self.registers and node in self.unlabelled:
            self.first.append(len(self.lines))
            return f"{{{len(self.first) - 1}}}"
        name = self.names[node]
        return name if kind == "v" else f"{kind}_{name}"

    def text(self) -> str:
        slot, template_of, auto = self.slot, self.template, self.unlabelled
        variable = self.variable
        inside = set(self.nodes)
        outer: dict[Value, int] = {}  # the leaves and earlier nodes this part reads: edges
        for node in self.nodes:
            for child in node.children:
                if child not in inside:
                    outer[child] = outer.get(child, 0) + 1
        registers = self.registers = sum(1 for node in self.nodes
                                         if node in auto) > REGISTERS_ABOVE
        wide, needs = self.wide, self.needs
        sliced = {child for node in self.nodes if node in wide for child in node.children[:-1]}
        loaded = [child for child, n in outer.items()  # labelled: by name, in a small part
                  if (n > 1 or not (registers or child in auto)) and child not in sliced]
        value: dict[Value, str] = {}  # a node's value as the code reads it
        grad: dict[Value, str] = {}
        lines = self.lines
        add = lines.append
        for child in loaded:
            value[child] = variable("v", child)
            add(f"    {value[child]} = D[{slot[child]}]")
        for child in outer:
            if child not in value:
                value[child], grad[child] = f"D[{slot[child]}]", f"G[{slot[child]}]"
        size: dict[Value, int] = {}  # the pieces of a value written inline (others: 1)
        result: dict[Value, str] = {}  # the variable of a called derivative's result

        add("    # forward: one line per node")
        for node in self.order:
            if node in wide:  # one C loop over the slices of D
                weights, inputs = wide[node]
                var = value[node] = variable("v", node)
                add(f"    {var} = _dot(D[{weights}], D[{inputs}]) + {value[node.children[-1]]}")
                continue
            template = template_of[node]
            args = tuple([value[child] for child in node.children])  # format(*a tuple): no copy
            if template.called:
                var = value[node] = variable("v", node)
                add(f"    {var} = {template.chunks[0].format(*args)}")
                d = result[node] = variable("d", node)
                add(f"    {d} = {template.call.format(*args, var)}")
                continue
            if template.single:
                expression = template.chunks[0].format(*args)
                pieces = self._inline(node, template, size) if registers else 0
                if pieces:
                    value[node] = f"({expression})"
                    size[node] = pieces + 2
                    continue
                var = value[node] = variable("v", node)
                add(f"    {var} = {expression}")
                continue
            var = value[node] = variable("v", node)  # a sum or linear node: CHUNK terms
            add(f"    {var} = {template.chunks[0].format(*args)}")  # per statement
            for chunk in template.chunks[1:]:
                add(f"    {var} = {var} + {chunk.format(*args)}")
        for node in self.nodes:
            if node in slot:
                add(f"    D[{slot[node]}] = {value[node]}")
        add("    yield")

        started = set(outer)
        if needs is not None:
            loaded = [child for child in loaded if child in needs]
        for child in loaded:
            grad[child] = variable("g", child)
            add(f"    {grad[child]} = G[{slot[child]}]")
        add("    # backward: one line per chain-rule term")
        for node in reversed(self.nodes):
            if node is self.root:
                grad[node] = variable("g", node)
                add(f"    {grad[node]} = 1.0")
                started.add(node)
            elif node in self.crossing and (needs is None or node in needs):
                grad[node] = variable("g", node)
                add(f"    {grad[node]} = G[{slot[node]}]")
                started.add(node)
        for node in reversed(self.nodes):  # backward()'s order
            if needs is not None and node not in needs:
                continue
            template = template_of[node]
            g = grad[node]
            terms: Any = zip(node.children, template.locals)
            if node in wide:  # each weight's grad += its input · g, each input's += weight · g
                weights, inputs = wide[node]
                for into, local, group in ((weights, inputs, node.children[0:-1:2]),
                                           (inputs, weights, node.children[1:-1:2])):
                    if needs is None or not needs.isdisjoint(group):
                        first = needs is not None and all(self.edges[c] == 1 for c in group)
                        add(f"    G[{into}] = _first(D[{local}], {g})" if first else
                            f"    G[{into}] = _accumulate(G[{into}], D[{local}], {g})")
                terms = [(node.children[-1], template.locals[-1])]  # the bias: as any node's
            args = ()  # the factors' fields: operands, value, its result (a tuple, so that
            if template.products and node not in wide:  # format(*args) does not copy it)
                args = (*[value[child] for child in node.children], value[node],
                        result.get(node, ""))
            for child, (kind, factor) in terms:
                if needs is not None and child not in needs:
                    continue
                if child in started:
                    add(f"    {grad[child]} += {g}" if kind == "+" else
                        f"    {grad[child]} -= {g}" if kind == "-" else
                        f"    {grad[child]} += {factor.format(*args)} * {g}")
                    continue
                if kind == "+" and self.edges[child] == 1 and child not in self.crossing:
                    grad[child] = g  # its grad is its parent's: one variable
                    continue
                grad[child] = variable("g", child)
                add(f"    {grad[child]} = {g}" if kind == "+" else
                    f"    {grad[child]} = 0.0 - {g}" if kind == "-" else
                    f"    {grad[child]} = 0.0 + {factor.format(*args)} * {g}")
                started.add(child)
        for child in loaded:
            add(f"    G[{slot[child]}] = {grad[child]}")

        text = "\n".join([f"def part{self.index}(D, G):", *lines]) + "\n"
        return text.format(*_registers(lines, self.first)) if registers else text

    def _inline(self, node: Value, template: _Template, size: dict[Value, int]) -> int:
        """The size of node's expression if it is written inside its one reader's, else 0.

        So for an unlabelled node read once, by a node of this part written inline too,
        that reads it once and whose derivative does not: its value is needed nowhere
        else. Only ops that cannot raise move, so errors keep their order.
        """
        if (not template.movable or node not in self.unlabelled or node is self.root
                or node in self.crossing or self.edges.get(node) != 1):
            return 0
        reader = self.parent[node]  # in this part, as node is not crossing
        position = reader.children.index(node)  # its one edge
        if position not in self.template[reader].once:
            return 0
        pieces = template.size(node, size)
        return pieces if pieces <= 2 * CHUNK else 0


def _registers(lines: list[str], first: list[int]) -> list[str]:
    """Registers r0, r1, … for the fields {k} of lines, each reused once it is dead.

    Linear scan: field k is live from its first line, first[k] (where it is written;
    ascending in k) to the last that names it; a line's reads come before its write, so a
    variable may take the register of one whose last line is its first.
    """
    last = {field: i for i, line in enumerate(lines) for field in _FIELD.findall(line)}
    ending: list[tuple[int, int]] = []  # (last line, register) of the live variables
    free: list[int] = []
    count = 0
    register = []
    for k, start in enumerate(first):
        while ending and ending[0][0] <= start:
            heapq.heappush(free, heapq.heappop(ending)[1])
        if free:
            number = heapq.heappop(free)
        else:
            number, count = count, count + 1
        heapq.heappush(ending, (last[str(k)], number))
        register.append(f"r{number}")
    return register


def _positional(op: ops.Op, count: int, params: dict[str, str]) -> Callable[[str], str]:
    """A function filling a code text: params put in, operands as {0}…, the output as {count}.

    Linear in the text's length, whatever the count of operands.
    """
    fields = {name: f"{{{i}}}" for i, name in enumerate(op.operands or ())}
    fields.update(params, out=f"{{{count}}}")

    def field(match: re.Match[str]) -> str:
        name = match[1]
        return match[0] if name.isdigit() else fields[name]

    def fill(text: str) -> str:
        return _NAMED.sub(field, text)

    return fill


def _kind(text: str) -> tuple[str, str]:
    """A local grad's text as (kind, factor): "+" for exactly 1.0, "-" for -1.0, else "*".

    ``1.0 * g`` is g and ``-1.0 * g`` is -g exactly, so those are written without the
    product. An interior grad is never -0.0 (it starts at 0.0, and 0.0 + x is not -0.0),
    so a first term of plain g needs no ``0.0 +``; ``-g`` and products do.
    """
    try:
        constant: float | None = float(text)
    except ValueError:
        constant = None
    if constant == 1.0:
        return "+", ""
    if constant == -1.0:
        return "-", ""
    atomic = re.fullmatch(r"[\w.]*(\{\d+\}|\(.*\))(\[\d+\])?|\d+(\.\d*)?(e[+-]?\d+)?",
                          text) if text.count("(") <= 1 else None
    return "*", text if atomic else f"({text})"


def _literal(x: float) -> str:
    """A float as Python source that reads back the same float."""
    if x != x:
        return "math.nan"
    if math.isinf(x):
        return "math.inf" if x > 0 else "(-math.inf)"
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def _show_in_tracebacks(graph: CompiledGraph, number: int) -> None:
    """Let tracebacks and pdb show the generated lines, while the graph is alive."""
    ref = weakref.ref(graph)
    for i in range(len(graph._texts)):
        filename = f"micrograd-compiled-{number}-part{i}.py"

        def source(i: int = i) -> str | None:
            alive = ref()
            return None if alive is None else zlib.decompress(alive._texts[i]).decode("utf-8")

        linecache.cache[filename] = (source,)
        weakref.finalize(graph, linecache.cache.pop, filename, None)
