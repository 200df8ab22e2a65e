"""Value: a node of a scalar computation graph, and reverse-mode differentiation over it.

Every node stores its ``data``, its ``grad``, its ``op``, the ordered tuple of its
``children`` and ``local_grads``: the floats ∂node/∂child, computed when the node
is made. ``backward()`` is then one loop, the only place the chain rule lives::

    child.grad += local_grad * node.grad      (in reverse topological order)

There are no closures on nodes, so a debugger shows plain numbers everywhere and a
dropped graph is freed by reference counting alone.

Storage: a node with one child (most nodes) keeps that child and its local derivative
bare in ``_children`` and ``_local_grads``, not in 1-tuples; nodes with several
children keep tuples. A tuple holding a Value is one more object for the garbage
collector to track and rescan while a graph grows: with 1-tuples the collector's share
of a long chain's forward pass was about 1.5 times larger (benchmarks/chain.py).
``children`` and ``local_grads`` always give tuples.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from typing import Any, TypeAlias

from micrograd import ops
from micrograd.ops import Op

__all__ = ["Value", "apply", "topological_order"]

Number: TypeAlias = "int | float"
Operand: TypeAlias = "Value | int | float"


def _as_float(x: Any, what: str = "Value") -> float:
    """x as a float if it is a real number (bool excluded); TypeError naming the type otherwise."""
    if type(x) is float:
        return x
    if type(x) is int:
        return float(x)
    if isinstance(x, numbers.Real) and type(x).__name__ not in ("bool", "bool_"):
        return float(x)
    raise TypeError(f"{what} needs an int or float, got {type(x).__name__}: {x!r}")


_new = object.__new__


def _operator(name: str, reflected: bool = False) -> Callable[[Value, Any], Value]:
    """The method ``self <op> other`` (``other <op> self`` if reflected) for a two-operand op.

    This is the hot path of every expression, so the node is made inline (as ``_node`` does).
    A number operand is folded into the op: ``x * 0.5`` has one child and local grad 0.5.
    """
    op = ops.get(name)
    forward, derivative, fold = op.forward, op.derivative, op.fold
    folded = op.folded_left if reflected else op.folded_right

    def method(self: Value, other: Any) -> Value:
        kind = type(other)
        if kind is not float and (kind is Value or isinstance(other, Value)):
            a, b = (other, self) if reflected else (self, other)
            x, y = a.data, b.data
            out = forward(x, y)
            node_op, local_grads = op, derivative(x, y, out)
            children: Value | tuple[Value, ...] = (a, b)
        else:
            c = other if kind is float else float(other) if kind is int else _number(other)
            if c is None:
                return NotImplemented
            node_op = folded.get(c) or fold(c, not reflected)
            x = self.data
            out = forward(c, x) if reflected else forward(x, c)
            children = self
            local_grads = node_op.fixed_local_grad
            if local_grads is None:
                local_grads = node_op.derivative(x, out)
        node = _new(Value)
        node.data = out
        node.grad = 0.0
        node.label = ""
        node._op = node_op
        node._children = children
        node._local_grads = local_grads
        return node

    symbol = op.symbol or name
    method.__name__ = method.__qualname__ = f"__r{name}__" if reflected else f"__{name}__"
    method.__doc__ = f"other {symbol} self" if reflected else f"self {symbol} other"
    return method


class Value:
    """A scalar in a computation graph: ``data``, its gradient ``grad``, and how it was made."""

    __slots__ = ("data", "grad", "label", "_op", "_children", "_local_grads")

    data: float
    grad: float
    label: str

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.data = _as_float(data)
        self.grad = 0.0
        self.label = label
        self._op: Op | None = None
        # Read through `children` and `local_grads`; one child is stored bare (module docstring).
        self._children: Any = ()  # Value | tuple[Value, ...]
        self._local_grads: Any = ()  # float | tuple[float, ...]

    # ---- read access for debuggers, drawings and explanations -----------------

    @property
    def op(self) -> str:
        """Name of the op that made this node; "" for a leaf."""
        return self._op.name if self._op is not None else ""

    @property
    def params(self) -> Mapping[str, float]:
        """The op's fixed params (``{"exponent": 2.0}`` for ``x**2``); empty for most ops."""
        return self._op.params if self._op is not None else ops._EMPTY

    @property
    def op_symbol(self) -> str:
        """The op as drawings show it: ``+``, ``**2``, ``tanh``; "" for a leaf."""
        return self._op.display if self._op is not None else ""

    @property
    def children(self) -> tuple[Value, ...]:
        """The operands, in order, duplicates kept (``x*x`` has two)."""
        children = self._children
        return children if type(children) is tuple else (children,)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """∂self/∂child for each child, aligned with ``children``."""
        local_grads = self._local_grads
        return local_grads if type(local_grads) is tuple else (local_grads,)

    @property
    def is_leaf(self) -> bool:
        """True for a node made by ``Value(...)``, not by an op."""
        return self._op is None

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        op = ""
        if self._op is not None:
            params = "".join(f", {k}={v:g}" for k, v in self._op.params.items())
            op = f"op={self.op!r}{params}, "
        return f"Value({label}{op}data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- reverse mode ----------------------------------------------------------

    def backward(self) -> None:
        """Set each node's grad to ∂self/∂node; leaves accumulate (+=), interior nodes are reset."""
        order = topological_order(self, leaves=False)
        for node in order:
            node.grad = 0.0  # interior nodes: the gradient of this pass only
        self.grad += 1.0
        for node in order:  # the chain rule: child.grad += ∂node/∂child · ∂self/∂node
            grad_output = node.grad
            children = node._children
            if type(children) is tuple:
                for child, local in zip(children, node._local_grads):
                    child.grad += local * grad_output
            else:  # one child, stored bare: the same line
                children.grad += node._local_grads * grad_output

    def zero_grad(self) -> None:
        """Set grad = 0 on every node of this graph."""
        for node in topological_order(self):
            node.grad = 0.0

    # ---- the ops: each looks its registry entry up ---------------------------

    __add__ = _operator("add")
    __radd__ = _operator("add", reflected=True)
    __sub__ = _operator("sub")
    __rsub__ = _operator("sub", reflected=True)
    __mul__ = _operator("mul")
    __rmul__ = _operator("mul", reflected=True)
    __truediv__ = _operator("div")
    __rtruediv__ = _operator("div", reflected=True)
    __rpow__ = _operator("pow_value", reflected=True)

    def __pow__(self, exponent: Operand) -> Value:
        """self ** exponent: op pow for a number exponent, pow_value for a Value one (self > 0)."""
        if isinstance(exponent, Value):
            return _pow_value(self, exponent)
        try:
            p = _as_float(exponent, "pow exponent")
        except TypeError:
            return NotImplemented
        return _unary(_POW.bind(exponent=p), self)

    def __neg__(self) -> Value:
        return _unary(_NEG, self)

    def __pos__(self) -> Value:
        return self

    def exp(self) -> Value:
        """e**self."""
        return _unary(_EXP, self)

    def log(self) -> Value:
        """ln self (self > 0)."""
        return _unary(_LOG, self)

    def tanh(self) -> Value:
        """tanh self."""
        return _unary(_TANH, self)

    def sigmoid(self) -> Value:
        """1 / (1 + e**-self)."""
        return _unary(_SIGMOID, self)

    def relu(self) -> Value:
        """max(0, self)."""
        return _unary(_RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self if self > 0 else slope·self."""
        return _unary(_LEAKY_RELU.bind(slope=_as_float(slope, "leaky_relu slope")), self)

    def step(self) -> Value:
        """1 if self > 0 else 0."""
        return _unary(_STEP, self)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """x1 + … + xn as one node."""
        return apply(_SUM, *values)

    @staticmethod
    def linear(weights: Iterable[Operand], inputs: Iterable[Operand], bias: Operand) -> Value:
        """w1·x1 + … + wn·xn + b as one node (a neuron's pre-activation)."""
        weights, inputs = tuple(weights), tuple(inputs)
        if len(weights) != len(inputs):
            raise ValueError(f"linear: {len(weights)} weights for {len(inputs)} inputs")
        return apply(_LINEAR, *chain.from_iterable(zip(weights, inputs)), bias)


# ---- node construction -----------------------------------------------------------


def _node(
    data: float,
    op: Op | None,
    children: Value | tuple[Value, ...],
    local_grads: float | tuple[float, ...],
) -> Value:
    """A result node; inputs were checked by the op. One child and its local grad go bare."""
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node._op = op
    node._children = children
    node._local_grads = local_grads
    return node


def _constant(x: Any) -> Value | None:
    """A number operand as a leaf Value; None if x is not a real number."""
    c = _number(x)
    return None if c is None else _node(c, None, (), ())


def _number(x: Any) -> float | None:
    """x as a float if it is a real number (bool excluded), else None; the package's one check."""
    if type(x) is float:
        return x
    try:
        return _as_float(x)
    except TypeError:
        return None


def _install_method(op: Op) -> None:
    """Make a registered one-input op a Value method: ``x.softplus()``."""

    def method(self: Value, **params: float) -> Value:
        return apply(op, self, **params)

    method.__name__ = method.__qualname__ = op.name
    doc = op.forward.__doc__ or f"The registered op {op.name!r}."
    method.__doc__ = doc.strip().splitlines()[0]
    setattr(Value, op.name, method)


def _pow_value(a: Value, b: Value) -> Value:
    """a ** b for a Value exponent (a > 0)."""
    x, y = a.data, b.data
    out = _POW_VALUE.forward(x, y)
    return _node(out, _POW_VALUE, (a, b), _POW_VALUE.derivative(x, y, out))


def _unary(op: Op, a: Value) -> Value:
    """op(a) for the built-in one-operand ops."""
    x = a.data
    out = op.forward(x)
    return _node(out, op, a, op.derivative(x, out))


def apply(op: str | Op, *operands: Any, **params: float) -> Value:
    """The node ``op(*operands)`` for any registered op; numbers become constant leaves."""
    if not isinstance(op, Op):
        op = ops.get(op)
    if params:
        op = op.bind(**{k: _as_float(v, f"{op.name} param {k!r}") for k, v in params.items()})
    if op.arity is not None and len(operands) != op.arity:
        raise TypeError(f"{op.name}: takes {op.arity} operand(s), got {len(operands)}")
    if not operands:
        raise TypeError(f"{op.name}: needs at least one operand")
    if op.arity == 2:  # one number operand is folded into the op, as the operators do
        a, b = operands
        if isinstance(a, Value) and not isinstance(b, Value):
            number = _number(b)
            if number is not None:
                return apply(op.fold(number, True), a)
        elif isinstance(b, Value) and not isinstance(a, Value):
            number = _number(a)
            if number is not None:
                return apply(op.fold(number, False), b)
    children = []
    for x in operands:
        if not isinstance(x, Value):
            c = _constant(x)
            if c is None:
                raise TypeError(
                    f"{op.name}: operands must be Values or numbers, got {type(x).__name__}: {x!r}"
                )
            x = c
        children.append(x)
    xs = [c.data for c in children]
    try:
        out = op.forward(*xs)
        local = op.derivative(*xs, out)
    except (ValueError, ArithmeticError) as err:
        if str(err).startswith(op.name):
            raise
        raise type(err)(f"{op.name}{tuple(xs)}: {err}") from err
    if not op.builtin:  # built-ins return a float, or a tuple of floats for several inputs
        out = _result_float(op, out, "forward")
        if not isinstance(local, (list, tuple)):
            local = (local,)
        if len(local) != len(children):
            raise ValueError(f"{op.name}: derivative returned {len(local)} value(s) "
                             f"for {len(children)} operand(s)")
        local = tuple(_result_float(op, d, "derivative") for d in local)
    if len(children) == 1:  # stored bare, see the module's docstring
        return _node(out, op, children[0], local[0] if type(local) is tuple else local)
    return _node(out, op, tuple(children), local)


def _result_float(op: Op, x: Any, part: str) -> float:
    if type(x) is float:
        return x
    try:
        return _as_float(x)
    except TypeError:
        raise TypeError(f"{op.name}: {part} returned {type(x).__name__}, not a float") from None


# ---- traversal ---------------------------------------------------------------------


def topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """Every node reachable from root (leaves too unless leaves=False), each before its children.

    An iterative depth-first search (no recursion limit, no change to it): reversed
    post-order, so the first child's branch comes before the second's, the same in every run.
    """
    order: list[Value] = []
    expanded: set[Value] = set()
    stack: list[Any] = [root]  # Values, each expanded one followed by a None marker
    push, pop, expand, emit = stack.append, stack.pop, expanded.add, order.append
    while stack:
        node = pop()
        if node is None:  # the marker: every child of the node below it is emitted
            node = pop()
            if leaves or node._children:
                emit(node)
            continue
        while node not in expanded:
            expand(node)
            push(node)
            push(None)
            children = node._children
            if type(children) is tuple:
                for child in children:
                    if child not in expanded and (leaves or child._children):
                        push(child)
                break
            if not (leaves or children._children):
                break
            node = children  # the one child, stored bare: expanded next, without the stack
    order.reverse()
    return order


_NEG, _POW, _POW_VALUE = ops.get("neg"), ops.get("pow"), ops.get("pow_value")
_EXP, _LOG, _TANH, _SIGMOID = ops.get("exp"), ops.get("log"), ops.get("tanh"), ops.get("sigmoid")
_RELU, _LEAKY_RELU, _STEP = ops.get("relu"), ops.get("leaky_relu"), ops.get("step")
_SUM, _LINEAR = ops.get("sum"), ops.get("linear")
