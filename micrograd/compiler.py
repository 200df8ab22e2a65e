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
floats, bit for bit, as rebuilding the graph and calling ``backward()``. ``g.source`` is
that code; ``g.sync()`` writes every node's data, local grads and grad back into the
Value objects, for drawing or a debugger after compiled steps.

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

The compiler reads the graph through the Value's public attributes and the op registry
only. Ops with ``code`` in the registry are written inline; any other op (a user's, or
``pow``) is called through its registered forward and derivative.
"""

from __future__ import annotations

import builtins
import gc
import heapq
import itertools
import keyword
import linecache
import math
import re
import unicodedata
import weakref
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from string import Formatter
from typing import Any

from micrograd import ops
from micrograd._numbers import as_float
from micrograd.engine import Value
from micrograd.walk import Walk, walk

__all__ = ["CompiledGraph", "compile"]

#: Lines per generated function. CPython compiles functions of some thousands of lines
#: much faster than one of 100,000 lines, and each function's locals are its own. Larger
#: parts load the leaves they share (a network's weights) fewer times; on the karpathy
#: benchmark 10,000 to 20,000 lines per part replay and compile fastest.
PART_LINES = 10_000

Part = Callable[[list[float], list[float]], Generator[None, None, None]]

_AUTO = re.compile(r"v\d+")  # the name of an unlabelled node
_GENERATED = re.compile(r"[vr]\d+|[gd]_.*|_.*|[DG]")
_RESERVED = frozenset(dir(builtins)) | {"math"}
_filenames = itertools.count()


class CompiledGraph:
    """A recorded graph: ``g()`` replays forward and backward; ``g.source`` is the code."""

    __slots__ = ("root", "_source", "_leaves", "_names", "_parts", "_zeros", "_root_slot",
                 "_data", "__weakref__")

    root: Value

    def __init__(self, root: Value, source: str, leaves: Sequence[Value], names: Sequence[str],
                 parts: Sequence[Part], slots: int, root_slot: int) -> None:
        self.root = root
        self._source = zlib.compress(source.encode("utf-8"), 1)  # a fifth of the size
        self._leaves = tuple(leaves)
        self._names = tuple(names)  # the leaves' names, for error messages
        self._parts = tuple(parts)
        self._zeros = [0.0] * slots
        self._root_slot = root_slot
        self._data: list[float] | None = None  # the leaf values of the latest call

    @property
    def source(self) -> str:
        """The generated Python: forward one line per node, backward one line per term."""
        return zlib.decompress(self._source).decode("utf-8")

    @property
    def leaves(self) -> tuple[Value, ...]:
        """The leaves the graph reads (parameters, inputs, constants), in slot order."""
        return self._leaves

    def __call__(self) -> float:
        """Recompute every node from the leaves' .data, add ∂root/∂leaf into each leaf's .grad.

        Returns the root's value. A leaf whose .data or .grad is not a number raises
        TypeError naming it, before any grad changes.
        """
        leaves = self._leaves
        data = [leaf.data for leaf in leaves]
        for x in data:
            if type(x) is not float:
                data = self._floats(data, "data")
                break
        grads = [leaf.grad for leaf in leaves]
        for x in grads:
            if type(x) is not float:
                grads = self._floats(grads, "grad")
                break
        values = data + self._zeros  # D: leaf data, then values passed between parts
        grads += self._zeros  # G: leaf grads, then grads passed between parts
        parts = [part(values, grads) for part in self._parts]
        try:
            for part in parts:  # forward: each part up to its yield
                next(part)
        except Exception:
            _replay(self.root, values, self._leaves)  # raises the op's own error message
            raise
        for part in reversed(parts):  # backward, in backward()'s order
            next(part, None)
        for leaf, g in zip(leaves, grads):
            leaf.grad = g
        self._data = values
        return values[self._root_slot]

    def _floats(self, xs: list[Any], what: str) -> list[float]:
        """xs as floats (an int becomes a float); TypeError naming the leaf otherwise."""
        return [x if type(x) is float else as_float(x, f"compiled graph: leaf {name!r} {what}")
                for x, name in zip(xs, self._names)]

    def sync(self) -> None:
        """Write into every node what backward() would have left after the latest call.

        Interior nodes get their data, local_grads and grad of that call (leaves already
        hold their grads; their data is left as it is now). Before any call, does nothing.
        """
        if self._data is not None:
            _replay(self.root, self._data, self._leaves, write=True)

    def __repr__(self) -> str:
        return (f"<CompiledGraph of {self.root!r}: {len(self._leaves)} leaves, "
                f"{len(self._parts)} part(s)>")


def compile(root: Value) -> CompiledGraph:
    """Record root's graph and generate the Python that replays its forward and backward."""
    if not isinstance(root, Value):
        raise TypeError(f"compile: root must be a Value, got {type(root).__name__}")
    collecting = gc.isenabled()
    gc.disable()  # the code is made of many small objects, none in a cycle: no need to scan
    try:
        return _compile(root)
    finally:
        if collecting:
            gc.enable()


def _compile(root: Value) -> CompiledGraph:
    walked = walk(root)  # root first, leaves included: the drawings' order and names
    forward = walked.interior[::-1]  # backward()'s order, reversed
    leaves = list(dict.fromkeys(
        child for node in forward for child in node.children if child.is_leaf)) or [root]
    functions: dict[str, Callable[..., Any]] = {}  # ops called, not inlined: their functions
    for node in forward:
        op = ops.get(node.op)
        if op.code is None:
            functions[f"{op.name}_forward"] = op.forward
            functions[f"{op.name}_derivative"] = op.derivative
    names = _identifiers(walked, set(functions))

    # Slots in D and G: the leaves, then nodes used by a later part (and the root).
    part_of = _split(forward)
    slot = {leaf: i for i, leaf in enumerate(leaves)}
    later = _used_later(forward, part_of)
    edges: dict[Value, int] = {}  # how many edges lead into each node
    for node in forward:
        for child in node.children:
            edges[child] = edges.get(child, 0) + 1
    for node in forward:
        if node is root or node in later:
            slot[node] = len(slot)
    count = part_of[forward[-1]] + 1 if forward else 1
    members: list[list[Value]] = [[] for _ in range(count)]
    for node in forward:
        members[part_of[node]].append(node)

    header = _header(root, names, len(forward), len(leaves), count)
    templates = _Templates()
    bodies = [_part(i, nodes, root, names, slot, later, edges, templates)
              for i, nodes in enumerate(members)]
    if not forward:  # the root is a leaf: backward() adds 1 to its grad
        bodies = ["def part0(D, G):\n    yield\n    G[0] += 1.0\n"]
    source = header + "\n\n".join(bodies)

    filename = f"micrograd-compiled-{next(_filenames)}.py"
    namespace: dict[str, Any] = {"math": math, **functions}
    exec(builtins.compile(source, filename, "exec"), namespace)
    parts = [namespace[f"part{i}"] for i in range(len(bodies))]
    graph = CompiledGraph(root, source, leaves, [names[leaf] for leaf in leaves], parts,
                          len(slot) - len(leaves), slot[root])
    _show_in_tracebacks(graph, filename)
    return graph


# ---- generating the code -------------------------------------------------------------


def _identifiers(graph: Walk, functions: set[str]) -> dict[Value, str]:
    """Each node's Python name: its label where that is a free identifier, else v<i>.

    v<i> is the node's index in the walk, as in drawings and explanations.
    """
    everything, plain = graph.order, graph.names.values()
    taken = _RESERVED | functions
    normal = [unicodedata.normalize("NFKC", name) for name in plain]  # as Python reads it
    repeats = {name for name, n in Counter(normal).items() if n > 1}
    names = {}
    for i, (node, name) in enumerate(zip(everything, normal)):
        usable = (name.isidentifier() and not keyword.iskeyword(name) and name not in taken
                  and name not in repeats and not _GENERATED.fullmatch(name))
        names[node] = name if usable else f"v{i}"
    return names


def _split(forward: list[Value]) -> dict[Value, int]:
    """Each node's part: consecutive nodes, about PART_LINES generated lines per part."""
    part_of = {}
    part = lines = 0
    for node in forward:
        size = 2 + len(node.children)
        if lines and lines + size > PART_LINES:
            part, lines = part + 1, 0
        part_of[node] = part
        lines += size
    return part_of


def _used_later(forward: list[Value], part_of: dict[Value, int]) -> set[Value]:
    """Interior nodes that a node of a later part reads (so their value and grad cross parts)."""
    later = set()
    for node in forward:
        here = part_of[node]
        for child in node.children:
            if not child.is_leaf and part_of[child] != here:
                later.add(child)
    return later


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


#: A part with more unlabelled nodes than this names them by registers r0, r1, …, each
#: reused once its value is dead: far fewer live floats and locals, so the replay stays in
#: the processor's caches.
REGISTERS_ABOVE = 100

Ref = Any  # a variable of a generated part, (kind, node) with kind "v", "g" or "d"; or text


def _part(index: int, nodes: list[Value], root: Value, names: dict[Value, str],
          slot: dict[Value, int], later: set[Value], into: dict[Value, int],
          templates: _Templates) -> str:
    """The generator function of one part: loads, forward, yield, backward, stores.

    A leaf or earlier node this part reads through several edges, or one with a label, is
    loaded into a local once; an unlabelled one read through one edge (a constant, say)
    is written in place as D[i] and G[i]. A node reached by one edge only, with local grad
    1 (an operand of +), has the grad of its parent: the code uses the parent's variable.

    Each line is kept as (format, refs, used): ``format`` names its variables {0}, {1}, …
    in ``refs``, of which those at the positions ``used`` occur in it. Variables get their
    Python names once all lines are known, so that registers can be reused.
    """
    inside = set(nodes)
    edges: dict[Value, int] = {}  # the leaves and earlier nodes this part reads: edge counts
    for node in nodes:
        for child in node.children:
            if child not in inside:
                edges[child] = edges.get(child, 0) + 1
    loaded = [child for child, n in edges.items() if n > 1 or not _AUTO.fullmatch(names[child])]
    value: dict[Value, Ref] = {node: ("v", node) for node in nodes}
    grad: dict[Value, Ref] = {node: ("g", node) for node in nodes}
    for child in loaded:
        value[child], grad[child] = ("v", child), ("g", child)
    for child in edges:
        if child not in value:
            value[child], grad[child] = f"D[{slot[child]}]", f"G[{slot[child]}]"
    registers = sum(1 for node in value if names[node][0] == "v"
                    and _AUTO.fullmatch(names[node])) > REGISTERS_ABOVE

    lines: list[tuple[str, tuple[Ref, ...], tuple[int, ...]]] = []
    add = lines.append
    for child in loaded:
        add((f"    {{0}} = D[{slot[child]}]", (value[child],), (0,)))
    add(("    # forward: one line per node", (), ()))
    get = value.__getitem__
    for node in _evaluation_order(nodes, inside):
        template = templates.of(node)
        add((template.forward, (*map(get, node.children), value[node]), template.forward_uses))
    for node in nodes:
        if node in slot:
            add((f"    D[{slot[node]}] = {{0}}", (value[node],), (0,)))
    add(("    yield", (), ()))

    started = set(edges)
    for child in loaded:
        add((f"    {{0}} = G[{slot[child]}]", (grad[child],), (0,)))
    add(("    # backward: one line per chain-rule term", (), ()))
    for node in reversed(nodes):
        if node is root:
            add(("    {0} = 1.0", (grad[node],), (0,)))
            started.add(node)
        elif node in later:
            add((f"    {{0}} = G[{slot[node]}]", (grad[node],), (0,)))
            started.add(node)
    for node in reversed(nodes):
        template = templates.of(node)
        operands = (*map(get, node.children), value[node], ("d", node))
        if template.call is not None:
            add((template.call, operands, template.call_uses))
        g = grad[node]
        for child, (kind, more, first, uses) in zip(node.children, template.terms):
            refs = (*operands, grad[child], g)
            if child in started:
                add((more, refs, uses))
            elif (kind == "+" and into[child] == 1 and child in inside
                  and child not in later):
                if not registers:
                    add((template.alias, refs, ()))
                grad[child] = g  # its grad is its parent's: one variable
            else:
                add((first, refs, uses))
                started.add(child)
    for child in loaded:
        add((f"    G[{slot[child]}] = {{0}}", (grad[child],), (0,)))

    auto = {node for node in value if _AUTO.fullmatch(names[node])}
    name_of = _Names(names, _registers(lines, auto) if registers else {})
    text = [f"def part{index}(D, G):"]
    text += [form.format(*map(name_of.__getitem__, refs)) for form, refs, _ in lines]
    return "\n".join(text) + "\n"


class _Names(dict):  # type: ignore[type-arg]
    """A variable's Python name: its register, else the node's name ("v3", "g_v3", "d_v3")."""

    def __init__(self, names: dict[Value, str], registers: dict[Ref, str]) -> None:
        super().__init__(registers)
        self.names = names

    def __missing__(self, ref: Ref) -> str:
        if isinstance(ref, str):
            return ref
        kind, node = ref
        text = self[ref] = self.names[node] if kind == "v" else f"{kind}_{self.names[node]}"
        return text


def _evaluation_order(nodes: list[Value], inside: set[Value]) -> list[Value]:
    """The part's nodes, each after its operands, operands in order and each just before use.

    A post-order walk that takes children first-to-last: the order code is written in
    (a1 before a2), and the one that keeps the fewest values alive at a time.
    """
    order: list[Value] = []
    done: set[Value] = set()
    for start in reversed(nodes):  # from the part's last node (the root, say) down
        stack = [(start, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
            elif node not in done:
                done.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children)
                             if child in inside and child not in done)
    return order


def _registers(lines: list[tuple[str, tuple[Ref, ...], tuple[int, ...]]],
               auto: set[Value]) -> dict[Ref, str]:
    """Registers r0, r1, … for the unlabelled nodes' variables, each reused once it is dead.

    Linear scan: a variable is live from the line that first names it (where it is
    written) to the last; a line's reads come before its write, so a variable may take the
    register of one whose last line is its first.
    """
    first: dict[Ref, int] = {}
    last: dict[Ref, int] = {}
    for i, (_, refs, used) in enumerate(lines):
        for k in used:
            ref = refs[k]
            if ref.__class__ is tuple and ref[1] in auto:
                if ref not in first:
                    first[ref] = i
                last[ref] = i
    # each variable in order of its first line; a register is free again after the last
    # line of its variable, and already on that line for a variable written there
    ending: list[tuple[int, int]] = []  # (last line, register) of the live variables
    free: list[int] = []
    count = 0
    register: dict[Ref, str] = {}
    for ref, start in first.items():  # insertion order is line order
        while ending and ending[0][0] <= start:
            heapq.heappush(free, heapq.heappop(ending)[1])
        if free:
            number = heapq.heappop(free)
        else:
            number, count = count, count + 1
        heapq.heappush(ending, (last[ref], number))
        register[ref] = f"r{number}"
    return register


class _Template:
    """One op's code for a count of operands and fixed params, operands as {0}, {1}, ….

    Each is a line with its placeholders: the operands {0} … {n-1}, the node {n}, the result
    of its derivative's call {n+1} (for an op called rather than inlined), and in a term the
    child's grad {n+2} and the node's {n+3}. ``forward`` computes the node; ``call`` calls
    the derivative; ``terms`` per operand: (kind, line adding to the child's grad, line
    starting it, placeholders used), kind "+" for a local grad of exactly 1.0 (the term is
    g), "-" for -1.0 (the term is -g), "*" for local·g.
    """

    __slots__ = ("forward", "forward_uses", "terms", "call", "call_uses", "alias")

    def __init__(self, op: ops.Op, count: int, params: tuple[tuple[str, float], ...]) -> None:
        fixed = {k: _literal(v) for k, v in params}
        self.call: str | None = None
        self.call_uses: tuple[int, ...] = (*range(count + 1), count + 1)
        if op.code is not None:
            fill = _positional(op, count, fixed)
            self.forward = fill(op.code.forward_text(count))
            texts = [fill(op.code.derivative_text(i, count)) for i in range(count)]
        else:
            args = ", ".join(f"{{{i}}}" for i in range(count))
            keywords = "".join(f", {k}={v}" for k, v in fixed.items())
            self.forward = f"{op.name}_forward({args}{keywords})"
            call = f"{op.name}_derivative({args}, {{{count}}}{keywords})"
            if count == 1:
                texts = [f"{call}[0]"]
            else:
                self.call = call
                texts = [f"{{{count + 1}}}[{i}]" for i in range(count)]
        self.forward_uses = (*_placeholders(self.forward), count)
        self.forward = f"    {{{count}}} = {self.forward}"
        if self.call is not None:
            self.call = f"    {{{count + 1}}} = {self.call}"
        child, g = f"{{{count + 2}}}", f"{{{count + 3}}}"
        self.alias = f"    # {child} is {g}"
        self.terms = []
        for text in texts:
            kind, factor = _kind(text)
            uses = (*_placeholders(factor), count + 2, count + 3)
            if kind == "+":
                self.terms.append((kind, f"    {child} += {g}", f"    {child} = {g}", uses))
            elif kind == "-":
                self.terms.append((kind, f"    {child} -= {g}", f"    {child} = 0.0 - {g}", uses))
            else:
                self.terms.append((kind, f"    {child} += {factor} * {g}",
                                   f"    {child} = 0.0 + {factor} * {g}", uses))


def _placeholders(text: str) -> tuple[int, ...]:
    """The numbered fields of a format text: "{0} * {2}" -> (0, 2)."""
    return tuple(int(field) for _, field, _, _ in Formatter().parse(text) if field)


class _Templates:
    """The _Template of each (op, operand count, params), made once per graph."""

    def __init__(self) -> None:
        self.made: dict[tuple[str, int, tuple[tuple[str, float], ...]], _Template] = {}

    def of(self, node: Value) -> _Template:
        key = (node.op, len(node.children), tuple(node.params.items()))
        template = self.made.get(key)
        if template is None:
            template = self.made[key] = _Template(ops.get(node.op), key[1], key[2])
        return template


def _positional(op: ops.Op, count: int, params: dict[str, str]) -> Callable[[str], str]:
    """A function filling a code text: params put in, operands as {0}…, the output as {count}."""
    marks = [f"\0{i}\0" for i in range(count + 1)]
    named = dict(zip(op.operands, marks)) if op.operands else {}

    def fill(text: str) -> str:
        filled = text.format(*marks[:count], out=marks[count], **named, **params)
        filled = filled.replace("{", "{{").replace("}", "}}")
        return re.sub("\0(\\d+)\0", r"{\1}", filled)

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
        return "+", text
    if constant == -1.0:
        return "-", text
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


# ---- the eager definition, for errors and sync() ----------------------------------------


def _replay(root: Value, data: list[float], leaves: Sequence[Value], write: bool = False) -> None:
    """The graph's forward from the leaf values data[i], through the registry's functions.

    A failing op raises its own error here. With write=True, every interior node gets the
    data and local_grads of that forward and the grad backward() gives (the same floats
    the generated code computed).
    """
    value = dict(zip(leaves, data))
    for node in reversed(walk(root).interior):
        op = ops.get(node.op)
        xs = [value[child] for child in node.children]
        out = op.forward(*xs, **node.params)
        value[node] = float(out)
        if write:
            node.data = value[node]
            node.local_grads = tuple(op.derivative(*xs, out, **node.params))
    if not write:
        return
    held = [leaf.grad for leaf in leaves]  # leaves hold their grads of the call already
    root.backward()  # the interior grads, by the chain rule's one loop
    for leaf, grad in zip(leaves, held):
        leaf.grad = grad


def _show_in_tracebacks(graph: CompiledGraph, filename: str) -> None:
    """Let tracebacks and pdb show the generated lines, while the graph is alive."""
    ref = weakref.ref(graph)

    def source() -> str | None:
        alive = ref()
        return None if alive is None else alive.source

    linecache.cache[filename] = (source,)
    weakref.finalize(graph, linecache.cache.pop, filename, None)
