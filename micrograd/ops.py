"""The op registry: every op is declared once, as plain float math.

An op is a name, an arity, a forward ``f(*xs, **params) -> float`` and a local
derivative ``df(*xs, out, **params)`` returning ``∂out/∂x_i`` for each input (a
float for one input, a tuple for several). The derivative may use the output
``out`` (sigmoid: ``s·(1-s)``). Nothing here touches a graph or a gradient: the
chain rule lives in one place, ``Value.backward``.

Operands are differentiable inputs (Values, or numbers that become constant
leaves); params are fixed numbers of the op itself (the exponent of ``x**2``,
the slope of a leaky ReLU).

Conventions at kinks, as in the lecture notes: ``relu'(0) = 0``,
``leaky_relu'(x <= 0) = slope``, ``step'(x) = 0`` everywhere. NaN in gives NaN
out, and a NaN local derivative wherever the derivative depends on the NaN input
(never a silent 0); constant derivatives (of +, -, neg, * by a number) stay constant,
as in PyTorch.
"""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from types import MappingProxyType
from typing import Any

__all__ = ["Op", "apply", "get", "names", "register", "unregister"]

_NAN = math.nan
_INF = math.inf
_EMPTY: Mapping[str, float] = MappingProxyType({})


class Op:
    """One primitive: ``out = forward(*xs)``, ``∂out/∂xs = derivative(*xs, out)``."""

    __slots__ = (
        "name", "arity", "forward", "derivative", "symbol", "params", "kinks", "linear_in",
        "fixed_local_grad", "builtin", "_bound", "folded_left", "folded_right",
    )

    def __init__(
        self,
        name: str,
        arity: int | None,  # None: any number of operands
        forward: Callable[..., float],
        derivative: Callable[..., Any],
        symbol: str = "",  # how drawings show it; may format params, e.g. "**{exponent:g}"
        params: Mapping[str, float] = _EMPTY,
        kinks: tuple[float, ...] = (),  # points where the derivative is a convention
        linear_in: tuple[bool, ...] = (),  # linear_in[i]: ∂out/∂x_i does not depend on x_i
        builtin: bool = False,
        fixed_local_grad: float | None = None,  # a folded op's local grad, when constant
    ) -> None:
        self.name = name
        self.arity = arity
        self.forward = forward
        self.derivative = derivative
        self.symbol = symbol
        self.params = params
        self.kinks = kinks
        self.linear_in = linear_in
        self.fixed_local_grad = fixed_local_grad
        self.builtin = builtin
        self._bound: dict[Any, Op] = {}
        # Folded copies of a two-operand op, by constant: x * 0.5 -> folded_right[0.5].
        self.folded_left: dict[Any, Op] = {}
        self.folded_right: dict[Any, Op] = {}

    def __repr__(self) -> str:
        return f"Op({self.display!r})"

    @property
    def display(self) -> str:
        """The op as drawings and explanations show it (``+``, ``* 0.5``, ``**2``, ``tanh``)."""
        symbol = self.symbol or self.name
        if "{" not in symbol:
            return symbol
        try:
            return symbol.format(**self.params)
        except (KeyError, IndexError):  # an op whose params are not bound yet: pow, leaky_relu
            return self.name

    def bind(self, **params: float) -> Op:
        """This op with its params fixed (``pow`` with ``exponent=2``); cached per value."""
        key = tuple(params.items()) if len(params) == 1 else tuple(sorted(params.items()))
        op = self._bound.get(key)
        if op is None:
            op = Op(self.name, self.arity, partial(self.forward, **params),
                    partial(self.derivative, **params), self.symbol,
                    MappingProxyType(dict(params)), self.kinks, builtin=self.builtin)
            if all(v == v for v in params.values()):  # a nan key never hits
                _remember(self._bound, key, op)
        return op

    def fold(self, constant: float, right: bool) -> Op:
        """This two-operand op with a number fixed on one side: ``x * 0.5`` is mul with b = 0.5.

        The number becomes a param, not a child: the node has one child and one local
        derivative, and draws as ``* 0.5``.
        """
        cache = self.folded_right if right else self.folded_left
        # -0.0 == 0.0, so zeros are keyed with their sign; a nan key never hits (not cached)
        key: Any = constant if constant else (constant, math.copysign(1.0, constant))
        op = cache.get(key)
        if op is None:
            op = self._make_fold(constant, right)
            if constant == constant:
                _remember(cache, key, op)
        return op

    def _make_fold(self, c: float, right: bool) -> Op:
        forward, derivative = self.forward, self.derivative
        names = _operand_names(forward)
        symbol = (self.symbol or self.name).replace("{", "{{").replace("}", "}}")
        variable = 0 if right else 1
        infix = symbol in _INFIX
        if right:
            fold_forward: Callable[..., float] = lambda x: forward(x, c)  # noqa: E731
            fold_derivative: Callable[..., Any] = (  # noqa: E731
                lambda x, out: _pick(derivative(x, c, out), 0, self)
            )
            shown = f"{symbol} {c:g}" if infix else f"{symbol}, {names[1]}={c:g}"
        else:
            fold_forward = lambda x: forward(c, x)  # noqa: E731
            fold_derivative = lambda x, out: _pick(derivative(c, x, out), 1, self)  # noqa: E731
            shown = f"{c:g} {symbol}" if infix else f"{symbol}, {names[0]}={c:g}"
        fixed: float | None = None
        if self.linear_in and self.linear_in[variable]:
            try:  # the op is affine in x: its derivative is the same at every x
                fixed = float(fold_derivative(1.0, fold_forward(1.0)))
            except ArithmeticError:
                fixed = None
        return Op(self.name, 1, fold_forward, fold_derivative, shown,
                  MappingProxyType({names[1 - variable]: c}), self.kinks,
                  builtin=self.builtin, fixed_local_grad=fixed)


_FOLD_CACHE_SIZE = 1024
_INFIX = frozenset({"+", "-", "*", "/", "**"})  # drawn between operands: "x * 0.5", "2 - x"


def _remember(cache: dict[Any, Op], key: Any, op: Op) -> None:
    if len(cache) < _FOLD_CACHE_SIZE:
        cache[key] = op


def _pick(local_grads: Any, i: int, op: Op) -> float:
    """The i-th of a two-operand op's local derivatives, or a ValueError naming the op."""
    if not isinstance(local_grads, (tuple, list)) or len(local_grads) != 2:
        raise ValueError(f"{op.name}: derivative must return 2 values for 2 operands, "
                         f"got {local_grads!r}")
    return local_grads[i]


@lru_cache(maxsize=256)
def _operand_names(forward: Callable[..., float]) -> tuple[str, str]:
    """The names of a two-operand forward's parameters, for the params of a folded op."""
    try:
        names = [p.name for p in inspect.signature(forward).parameters.values()]
    except (TypeError, ValueError):
        names = []
    return (names[0], names[1]) if len(names) >= 2 else ("a", "b")


_REGISTRY: dict[str, Op] = {}


def get(name: str) -> Op:
    """The op registered under ``name``; KeyError listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op named {name!r}; known ops: {', '.join(names())}") from None


def names() -> list[str]:
    """Registered op names, in registration order (built-ins first)."""
    return list(_REGISTRY)


def register(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., float | tuple[float, ...]],
    *,
    arity: int | None = None,
    symbol: str = "",
    kinks: tuple[float, ...] = (),
    linear_in: tuple[bool, ...] = (),
    _builtin: bool = False,
) -> Op:
    """Add an op: ``forward(*xs) -> float`` and ``derivative(*xs, out)`` -> ∂out/∂x per input.

    The arity is read from ``forward``'s signature unless given: its positional
    parameters without a default (a ``*args`` forward takes any number of operands);
    parameters with a default are params (``forward(x, beta=1.0)``). A one-input op
    also becomes a Value method: after ``register("softplus", ...)``, ``x.softplus()``.
    """
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"op name must be a public identifier, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"op {name!r} is already registered")
    if not _builtin and _is_value_attribute(name):
        raise ValueError(f"op name {name!r} would shadow the Value attribute of that name")
    if not callable(forward) or not callable(derivative):
        raise TypeError(f"register({name!r}): forward and derivative must be callable")
    if arity is None and not _builtin:
        arity = _arity_of(name, forward)
    if arity is not None and (not isinstance(arity, int) or arity < 1):
        raise ValueError(f"register({name!r}): arity must be a positive int or None, got {arity!r}")
    op = Op(name, arity, forward, derivative, symbol, _EMPTY, tuple(kinks), tuple(linear_in),
            _builtin)
    _REGISTRY[name] = op
    if arity == 1 and not _builtin:
        from micrograd.engine import _install_method

        _install_method(op)
    return op


def unregister(name: str) -> None:
    """Remove a user-registered op (built-ins stay)."""
    op = get(name)
    if op.builtin:
        raise ValueError(f"op {name!r} is built in and cannot be removed")
    del _REGISTRY[name]
    if op.arity == 1:
        from micrograd.engine import Value

        delattr(Value, name)


def _is_value_attribute(name: str) -> bool:
    from micrograd.engine import Value

    return hasattr(Value, name)


def _arity_of(name: str, forward: Callable[..., float]) -> int | None:
    try:
        parameters = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):
        message = f"register({name!r}): cannot read forward's signature; pass arity="
        raise TypeError(message) from None
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    # operands are the positional parameters without a default; the others are params
    operands = [p for p in parameters if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not operands:
        raise TypeError(f"register({name!r}): forward takes no operand")
    return len(operands)


def apply(op: str | Op, *operands: Any, **params: float) -> Any:
    """Make the node ``op(*operands)``: numbers become constant leaves, params are fixed."""
    from micrograd.engine import apply as _apply

    return _apply(op, *operands, **params)


# --------------------------------------------------------------------------
# Built-in ops. Each is its forward, its local derivative, and one register().
# Forwards raise ValueError / ZeroDivisionError naming the op on a domain error.
# --------------------------------------------------------------------------


def _builtin(name: str, forward: Callable[..., float], derivative: Callable[..., Any],
             arity: int | None, symbol: str = "", kinks: tuple[float, ...] = (),
             linear_in: tuple[bool, ...] = ()) -> None:
    register(name, forward, derivative, arity=arity, symbol=symbol, kinks=kinks,
             linear_in=linear_in, _builtin=True)


_ONE_ONE = (1.0, 1.0)
_ONE_MINUS_ONE = (1.0, -1.0)


# The forwards of +, - and * are Python's own operators as C functions (operator.add is
# a + b): they run once for nearly every node of every graph, and a Python function
# would add a frame to each.
add, sub, mul = operator.add, operator.sub, operator.mul


def add_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = 1, ∂/∂b = 1."""
    return _ONE_ONE


_builtin("add", add, add_grad, 2, "+", linear_in=(True, True))


def sub_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = 1, ∂/∂b = -1."""
    return _ONE_MINUS_ONE


_builtin("sub", sub, sub_grad, 2, "-", linear_in=(True, True))


def mul_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = b, ∂/∂b = a."""
    return (b, a)


_builtin("mul", mul, mul_grad, 2, "*", linear_in=(True, True))


def div(a: float, b: float) -> float:
    """a / b; ZeroDivisionError for b = 0."""
    if b == 0.0:
        raise ZeroDivisionError(f"div: division by zero ({a!r} / {b!r})")
    return a / b


def div_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = 1/b, ∂/∂b = -a/b² (computed as -out/b, which cannot overflow in b²)."""
    return (1.0 / b, -out / b)


_builtin("div", div, div_grad, 2, "/", linear_in=(True, False))


def neg(a: float) -> float:
    """-a."""
    return -a


def neg_grad(a: float, out: float) -> float:
    """∂/∂a = -1."""
    return -1.0


_builtin("neg", neg, neg_grad, 1, "-")


def _safe_pow(x: float, p: float) -> float:
    """x**p with overflow to ±inf instead of OverflowError (x < 0 only for integer p)."""
    try:
        return x**p
    except OverflowError:
        negative = x < 0 and p % 2 == 1
        return -_INF if negative else _INF


def pow(x: float, exponent: float) -> float:
    """x ** exponent for a number exponent; negative x needs an integer exponent."""
    if x != x or exponent != exponent:
        return _NAN  # IEEE says nan**0 = 1; the contract says NaN in, NaN out
    if x < 0 and not float(exponent).is_integer():
        raise ValueError(
            f"pow: negative base {x!r} to the fractional power {exponent!r} has no real value"
        )
    if x == 0 and exponent < 0:
        raise ZeroDivisionError(f"pow: 0.0 to the negative power {exponent!r}")
    return _safe_pow(x, exponent)


def pow_grad(x: float, out: float, exponent: float) -> float:
    """∂/∂x = exponent · x**(exponent-1); 0 for exponent 0; +inf at x = 0 for 0 < exponent < 1."""
    if x != x or exponent != exponent:
        return _NAN
    if exponent == 0:
        return 0.0
    if x == 0 and exponent < 1:
        return math.copysign(_INF, exponent)
    return exponent * _safe_pow(x, exponent - 1)


_builtin("pow", pow, pow_grad, 1, "**{exponent:g}")


def pow_value(a: float, b: float) -> float:
    """a ** b with a Value exponent; needs a > 0."""
    if a != a or b != b:
        return _NAN
    if not a > 0:
        raise ValueError(f"pow_value: base must be > 0 when the exponent is a Value, got {a!r}")
    return _safe_pow(a, b)


def pow_value_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = b · a**(b-1), ∂/∂b = a**b · log a."""
    if out != out:
        return (_NAN, _NAN)
    return (b * _safe_pow(a, b - 1.0) if b != 0 else 0.0, out * math.log(a) if out else 0.0)


_builtin("pow_value", pow_value, pow_value_grad, 2, "**")


def exp(x: float) -> float:
    """e**x, overflowing to inf."""
    try:
        return math.exp(x)
    except OverflowError:
        return _INF


def exp_grad(x: float, out: float) -> float:
    """∂/∂x = e**x = out."""
    return out


_builtin("exp", exp, exp_grad, 1)


def log(x: float) -> float:
    """Natural log; ValueError for x <= 0."""
    if x <= 0:
        raise ValueError(f"log: argument must be > 0, got {x!r}")
    return math.log(x)


def log_grad(x: float, out: float) -> float:
    """∂/∂x = 1/x."""
    return 1.0 / x


_builtin("log", log, log_grad, 1)


def tanh(x: float) -> float:
    """tanh x = (e**x - e**-x) / (e**x + e**-x)."""
    return math.tanh(x)


def tanh_grad(x: float, out: float) -> float:
    """∂/∂x = 1 - tanh²x."""
    return 1.0 - out * out


_builtin("tanh", tanh, tanh_grad, 1)


def sigmoid(x: float) -> float:
    """1 / (1 + e**-x), in the form that never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # x < 0: no overflow, underflows to 0 far out
    return e / (1.0 + e)


def sigmoid_grad(x: float, out: float) -> float:
    """∂/∂x = s·(1 - s)."""
    return out * (1.0 - out)


_builtin("sigmoid", sigmoid, sigmoid_grad, 1)


def relu(x: float) -> float:
    """max(0, x); NaN stays NaN."""
    return x if x > 0 else (0.0 if x <= 0 else x)


def relu_grad(x: float, out: float) -> float:
    """1 for x > 0, 0 for x <= 0 (the notes take relu'(0) = 0)."""
    return 1.0 if x > 0 else (0.0 if x <= 0 else _NAN)


_builtin("relu", relu, relu_grad, 1, kinks=(0.0,))


def leaky_relu(x: float, slope: float = 0.01) -> float:
    """x for x > 0, slope·x for x <= 0."""
    return x if x > 0 else slope * x


def leaky_relu_grad(x: float, out: float, slope: float = 0.01) -> float:
    """1 for x > 0, slope for x <= 0 (the notes' λ; at 0 the x <= 0 branch)."""
    return 1.0 if x > 0 else (slope if x <= 0 else _NAN)


_builtin("leaky_relu", leaky_relu, leaky_relu_grad, 1, "leaky_relu({slope:g})", kinks=(0.0,))


def step(x: float) -> float:
    """1 for x > 0, 0 for x <= 0."""
    return 1.0 if x > 0 else (0.0 if x <= 0 else _NAN)


def step_grad(x: float, out: float) -> float:
    """0 everywhere (the notes' point: backprop cannot learn through a step)."""
    return 0.0 if x == x else _NAN


_builtin("step", step, step_grad, 1, kinks=(0.0,))


def sum_(*xs: float) -> float:
    """x1 + x2 + … + xn."""
    return math.fsum(xs) if len(xs) > 64 else sum(xs)


def sum_grad(*xs_out: float) -> tuple[float, ...]:
    """∂/∂x_i = 1."""
    return (1.0,) * (len(xs_out) - 1)


_builtin("sum", sum_, sum_grad, None, "Σ")


def linear(*xs: float) -> float:
    """w1·x1 + w2·x2 + … + wn·xn + b, operands interleaved as (w1, x1, …, wn, xn, b)."""
    if len(xs) % 2 == 0:
        raise TypeError(f"linear: needs (w1, x1, …, wn, xn, b), an odd count; got {len(xs)}")
    return sum(map(float.__mul__, xs[0:-1:2], xs[1:-1:2])) + xs[-1]


def linear_grad(*xs_out: float) -> tuple[float, ...]:
    """∂/∂w_i = x_i, ∂/∂x_i = w_i, ∂/∂b = 1."""
    grads = list(xs_out)
    grads[0:-2:2], grads[1:-2:2] = xs_out[1:-2:2], xs_out[0:-2:2]
    grads[-2] = 1.0
    del grads[-1]
    return tuple(grads)


_builtin("linear", linear, linear_grad, None, "Σw·x+b")


def half_squared_error(y_hat: float, y: float) -> float:
    """The notes' loss E = ½(y - ŷ)²."""
    d = y - y_hat
    return 0.5 * d * d


def half_squared_error_grad(y_hat: float, y: float, out: float) -> tuple[float, float]:
    """∂E/∂ŷ = ŷ - y (the notes print y - ŷ: a sign error), ∂E/∂y = y - ŷ."""
    return (y_hat - y, y - y_hat)


_builtin("half_squared_error", half_squared_error, half_squared_error_grad, 2, "½(y-ŷ)²")


def bce_with_logits(z: float, y: float) -> float:
    """Cross-entropy of logit z against y ∈ [0, 1]: max(z, 0) - z·y + log(1 + e**-|z|)."""
    return (z if z > 0 else 0.0) - z * y + math.log1p(math.exp(-abs(z)))


def bce_with_logits_grad(z: float, y: float, out: float) -> tuple[float, float]:
    """∂/∂z = σ(z) - y, ∂/∂y = -z."""
    return (sigmoid(z) - y, -z)


_builtin("bce_with_logits", bce_with_logits, bce_with_logits_grad, 2, "bce")
