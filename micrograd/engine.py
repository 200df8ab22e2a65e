"""Value: a node of a scalar computation graph, and reverse-mode differentiation over it.

Every node holds its ``data``, its ``grad``, the name of the ``op`` that made it (an entry
of the registry in ops.py, where its forward, derivative and formula live), the op's
``params``, the tuple of its ``children``, and ``local_grads``: the floats ∂node/∂child,
computed when the node is made. ``backward()`` is then one loop, ``chain_rule``, the only
place the chain rule lives::

    child.grad += local_grad * node.grad      (in reverse topological order)

The names of karpathy's micrograd and microgpt (``_prev``, ``_op``, ``_backward()``,
``_children``, ``_local_grads``) forward to these, so code written for them runs here.

A number operand becomes a constant leaf, as in the original micrograd: ``x * 0.5`` has
the children ``(x, Value(0.5))``. There are no closures on nodes, so a debugger shows
plain numbers everywhere, and a dropped graph is freed by reference counting alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeAlias

from micrograd import ops
from micrograd._numbers import as_float, check_operands, preview

__all__ = ["Value", "apply", "chain_rule", "topological_order"]

Operand: TypeAlias = "Value | int | float"
NO_PARAMS: Mapping[str, float] = ops.Params()  # a leaf's params, and a plain op's
#: What Jupyter shows of a node: micrograd.notebook, which draws (above the engine), sets it.
NOTEBOOK_VIEW: Callable[[Value], dict[str, str]] | None = None


class Value:
    """A scalar in a computation graph: ``data``, its gradient ``grad``, and how it was made."""

    __slots__ = ("data", "grad", "label", "op", "params", "children", "local_grads")

    def __init__(self, data: int | float, label: str = "") -> None:
        if type(label) is not str:
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.data: float = data if type(data) is float else as_float(data)
        self.grad: float = 0.0
        self.label = label
        self.op = ""  # the name of the op that made this node; "" for a leaf
        self.params: Mapping[str, float] = NO_PARAMS  # the op's fixed params: {"exponent": 2.0}
        self.children: tuple[Value, ...] = ()  # the operands, in order, duplicates kept
        self.local_grads: tuple[float, ...] = ()  # ∂self/∂child for each child

    @property
    def is_leaf(self) -> bool:
        """True for a node made by ``Value(...)``, not by an op."""
        return not self.op

    @property
    def op_symbol(self) -> str:
        """The op as drawings show it: ``+``, ``**2``, ``tanh``; "" for a leaf."""
        return ops.get(self.op).display(self.params) if self.op else ""

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        params = "".join(f", {k}={v:g}" for k, v in self.params.items())
        op = f"op={self.op!r}{params}, " if self.op else ""
        return f"Value({label}{op}data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- reverse mode ----------------------------------------------------------

    def backward(self) -> None:
        """Set each node's grad to ∂self/∂node; leaves accumulate (+=), interior nodes are reset."""
        order = topological_order(self, leaves=False)
        for node in order:
            node.grad = 0.0  # interior nodes: the gradient of this pass only
        self.grad += 1.0
        chain_rule(order)

    def zero_grad(self) -> None:
        """Set grad = 0 on every node of this graph."""
        for node in topological_order(self):
            node.grad = 0.0

    # ---- karpathy's names (micrograd, its lecture, microgpt), and Jupyter's display ----------
    # A thin bridge (docs/from-karpathy.md): each forwards to an attribute above or chain_rule.

    _prev = _children = property(lambda self: self.children, doc="micrograd's, microgpt's children")
    _local_grads = property(lambda self: self.local_grads, doc="microgpt's local_grads")
    _op = op_symbol  # the registry's symbol: '+', '**2', 'ReLU', 'Σw·x+b'; '' for a leaf

    def _backward(self) -> None:
        """This node's own chain-rule step (the lecture's): child.grad += local_grad · self.grad."""
        chain_rule((self,))

    def _repr_mimebundle_(self, **options: Any) -> dict[str, str]:
        """Jupyter's view of a node: NOTEBOOK_VIEW's drawing of its graph, else its repr."""
        return NOTEBOOK_VIEW(self) if NOTEBOOK_VIEW else {"text/plain": repr(self)}

    # ---- the ops: each names its registry entry ---------------------------------

    def __add__(self, other: Operand) -> Value:
        return apply("add", self, other)

    def __radd__(self, other: Operand) -> Value:
        return apply("add", other, self)

    def __sub__(self, other: Operand) -> Value:
        return apply("sub", self, other)

    def __rsub__(self, other: Operand) -> Value:
        return apply("sub", other, self)

    def __mul__(self, other: Operand) -> Value:
        return apply("mul", self, other)

    def __rmul__(self, other: Operand) -> Value:
        return apply("mul", other, self)

    def __truediv__(self, other: Operand) -> Value:
        return apply("div", self, other)

    def __rtruediv__(self, other: Operand) -> Value:
        return apply("div", other, self)

    def __pow__(self, exponent: Operand) -> Value:
        """self ** exponent: op pow for a number exponent, pow_value for a Value one (self > 0)."""
        if isinstance(exponent, Value):
            return apply("pow_value", self, exponent)
        return apply("pow", self, exponent=exponent)

    def __rpow__(self, base: Operand) -> Value:
        return apply("pow_value", base, self)

    def __neg__(self) -> Value:
        return apply("neg", self)

    def __pos__(self) -> Value:
        return self

    def exp(self) -> Value:
        """e**self."""
        return apply("exp", self)

    def log(self) -> Value:
        """ln self (self > 0)."""
        return apply("log", self)

    def tanh(self) -> Value:
        """tanh self."""
        return apply("tanh", self)

    def sigmoid(self) -> Value:
        """1 / (1 + e**-self)."""
        return apply("sigmoid", self)

    def relu(self) -> Value:
        """max(0, self)."""
        return apply("relu", self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self if self > 0 else slope·self."""
        return apply("leaky_relu", self, slope=slope)

    def step(self) -> Value:
        """1 if self > 0 else 0."""
        return apply("step", self)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """x1 + … + xn as one node."""
        return apply("sum", *values)

    @staticmethod
    def linear(weights: Iterable[Operand], inputs: Iterable[Operand], bias: Operand) -> Value:
        """w1·x1 + … + wn·xn + b as one node (a neuron's pre-activation)."""
        weights, inputs = tuple(weights), tuple(inputs)
        if len(weights) != len(inputs):
            raise ValueError(f"linear: {len(weights)} weights for {len(inputs)} inputs")
        return apply("linear", *chain.from_iterable(zip(weights, inputs)), bias)

    if not TYPE_CHECKING:  # for type checkers, a Value has exactly the attributes above

        def __getattr__(self, name: str) -> Callable[..., Value]:
            """x.softplus(): a registered one-operand op, found in the registry as a method."""
            if name in ops.names() and ops.get(name).arity == 1:
                return partial(apply, name, self)
            raise AttributeError(f"'Value' object has no attribute {preview(name)}")

    def __dir__(self) -> Iterable[str]:
        unary = (name for name in ops.names() if ops.get(name).arity == 1)
        return sorted({*super().__dir__(), *unary})


ops.RESERVED.update(name for name in dir(Value) if not name.startswith("_"))


def apply(op: str | ops.Op, *operands: Operand, **params: float) -> Value:
    """The node ``op(*operands)``, the one place nodes are made; numbers become constant leaves."""
    if not isinstance(op, ops.Op):
        op = ops.get(op)
    if op.operands is not None and len(operands) != len(op.operands):  # (None: any number)
        raise TypeError(f"{op.name}: takes {op.arity} operand(s), got {len(operands)}")
    fixed = op.params  # the op's params: its defaults, and any given here
    if params:
        for key in params:
            if key not in op.params:
                raise TypeError(f"{op.name}: no param {preview(key)}; its params: {[*op.params]}")
            params[key] = as_float(params[key], f"{op.name} param {key!r}")
        fixed = ops.Params({**op.params, **params})
    children: list[Value] = []  # the operands as nodes: a number becomes a constant leaf
    xs: list[float] = []  # their data
    for x in operands:
        if not isinstance(x, Value):
            x = Value(x if type(x) is float else as_float(  # (1 == True: not .index(x))
                x, f"{op.name}: operand {[y is x for y in operands].index(True) + 1}"))
        children.append(x)
        xs.append(x.data)
    for x in xs:
        if type(x) is not float:  # a .data set by hand: is it a number in the float range?
            check_operands(op.name, xs)
            break
    out = op.forward(*xs, **fixed) if fixed else op.forward(*xs)  # (** costs, even empty)
    node = Value(out)
    node.op, node.params, node.children = op.name, fixed, tuple(children)
    node.local_grads = op.derivative(*xs, out, **fixed) if fixed else op.derivative(*xs, out)
    return node


def topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """Every node reachable from root (leaves too unless leaves=False), each before its children.

    An iterative depth-first search (no recursion limit, no change to it) that enters a node's
    children last first; reversed, its post-order puts the first child's branch before the
    second's, the same in every run.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[Any] = [root]  # nodes to enter, and a None above each node entered
    while stack:
        node = stack.pop()
        if node is None:  # the children above it are done: the node below follows them
            order.append(stack.pop())
        elif node not in visited and (leaves or node.children):
            visited.add(node)
            stack.append(node)
            stack.append(None)
            stack.extend(node.children)  # the last child is entered first
    order.reverse()
    return order


def chain_rule(nodes: Iterable[Value]) -> None:
    """Pass each node's grad to its children, nodes in the order given: += ∂node/∂child · grad."""
    for node in nodes:
        grad_output = node.grad  # ∂root/∂node: complete once every parent has added to it
        for child, local_grad in zip(node.children, node.local_grads):
            child.grad += local_grad * grad_output  # the chain rule, the only place
