"""The op registry: every op declared once, as data and plain float math.

An op is a name, a forward ``f(*xs, **params) -> float``, a local derivative
``df(*xs, out, **params)`` giving ``∂out/∂x_i`` for each operand (a tuple, one float per
operand; it may use the output ``out``: sigmoid's is ``s·(1 - s)``), a drawing ``symbol``
and a ``formula``: each local derivative as text, for explanations. Formula texts name the
forward's operands in braces (``{a}``, ``{x}``), the output as ``{out}``, params by name
(``{exponent}``); an op of any number of operands names them ``{0}``, ``{1}``, …

Operands are differentiable inputs; params are fixed numbers of the op itself (the
exponent of ``x**2``, the slope of a leaky ReLU). Op names are plain ASCII identifiers,
so a name reads the same wherever it is written (Python reads identifiers after NFKC
normalisation: ``ℯxp`` would be ``exp``). Nothing here touches a graph or a gradient:
the chain rule lives in one place, ``Value.backward`` in engine.py,
and this module imports nothing from the engine.

Conventions at kinks, as in the lecture notes: ``relu'(0) = 0``, ``leaky_relu'(x <= 0) =
slope``, ``step'(x) = 0`` everywhere. NaN in gives NaN out, and a NaN local derivative
wherever the derivative depends on the NaN input (never a silent 0); constant derivatives
(of +, -, neg) stay constant, as in PyTorch.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from micrograd._numbers import as_float, clip, preview, short

__all__ = ["RESERVED", "Op", "Params", "get", "names", "register", "unregister"]

NAN, INF = math.nan, math.inf

#: One text per operand, or for an op of any number of operands a function
#: ``(index, count) -> text``.
Formula: TypeAlias = "tuple[str, ...] | Callable[[int, int], str]"


@dataclass(frozen=True)
class Op:
    """One primitive: ``out = forward(*xs, **params)``, ``derivative(*xs, out, **params)``."""

    name: str
    forward: Callable[..., float]
    derivative: Callable[..., tuple[float, ...]]
    operands: tuple[str, ...] | None  # the forward's operand names; None: any number (*xs)
    params: Mapping[str, float]  # fixed params and their defaults: {"slope": 0.01}
    symbol: str  # how drawings show it; may name params: "**{exponent}"
    formula: Formula | None  # ∂out/∂operand as text; None: shown as f'(x)
    kinks: tuple[float, ...] = ()  # points where the derivative is a convention
    builtin: bool = False

    @property
    def arity(self) -> int | None:
        """The number of operands; None for an op that takes any number."""
        return None if self.operands is None else len(self.operands)

    def display(self, params: Mapping[str, float]) -> str:
        """The symbol with params filled in: ``**2``, ``leaky_relu(0.1)``, ``tanh``."""
        return self.symbol.format(**{k: short(v) for k, v in params.items()})

    def formula_text(self, index: int, count: int) -> str | None:
        """The formula of ∂out/∂operand[index] (of ``count`` operands), placeholders unfilled."""
        if self.formula is None:
            return None
        if callable(self.formula):
            return self.formula(index, count)
        return self.formula[index]

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


class Params(dict[str, float]):
    """An op's fixed params, read-only: a dict, so ``f(**params)`` costs what a dict's does."""

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> None:
        raise TypeError("an op's params are read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type, tuple[dict[str, float]]]:
        return Params, (dict(self),)


_REGISTRY: dict[str, Op] = {}

#: Names no op may take: the engine adds Value's own attributes (data, grad, backward, …).
RESERVED: set[str] = set()


def get(name: str) -> Op:
    """The op registered under ``name``; KeyError listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise KeyError(f"no op named {preview(name)}; known ops: {', '.join(names())}") from None


def names() -> list[str]:
    """Registered op names, in registration order (built-ins first)."""
    return list(_REGISTRY)


def register(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    *,
    formula: str | Sequence[str] | Callable[[int, int], str] | None = None,
    symbol: str = "",
    kinks: Sequence[float] = (),
) -> Op:
    """Add an op: ``forward(*xs) -> float``, ``derivative(*xs, out)`` -> ∂out/∂x per operand.

    Operands are ``forward``'s positional parameters without a default (a ``*xs`` forward
    takes any number); parameters with a default are params (``forward(x, beta=1.0)``).
    ``formula`` is the derivative as text, one per operand (``"3·{x}²"``). A one-operand op
    becomes a Value method: after ``register("softplus", ...)``, ``x.softplus()``.
    """
    return _register(name, forward, derivative, formula, symbol, kinks, builtin=False)


def unregister(name: str) -> None:
    """Remove a user-registered op (built-ins stay)."""
    if get(name).builtin:
        raise ValueError(f"op {preview(name)} is built in and cannot be removed")
    del _REGISTRY[name]


def _register(name: str, forward: Callable[..., float], derivative: Callable[..., Any],
              formula: Any, symbol: str, kinks: Sequence[float], builtin: bool) -> Op:
    if (not isinstance(name, str) or not name.isidentifier() or not name.isascii()
            or name.startswith("_")):
        raise ValueError(f"op name must be a public identifier of plain ASCII letters, digits "
                         f"and _, got {preview(name)}")
    if name in _REGISTRY:
        raise ValueError(f"op {preview(name)} is already registered")
    if name in RESERVED:
        raise ValueError(f"op name {preview(name)} would shadow the Value attribute of that name")
    if not callable(forward) or not callable(derivative):
        raise TypeError(f"register({preview(name)}): forward and derivative must be callable")
    operands, params = _signature(name, forward)
    for key, default in params.items():  # (cross_entropy's target has none: NaN until given)
        if not (builtin or math.isfinite(default)):  # a model using it could not be saved
            raise ValueError(f"register({preview(name)}): param {preview(key)} needs a finite "
                             f"default, got {default}")
    if isinstance(formula, str):
        formula = (formula,) * (len(operands) if operands else 1)
    if formula is not None and not callable(formula):
        formula = tuple(formula)
        if operands is None or len(formula) != len(operands) or not all(
                isinstance(text, str) for text in formula):
            raise ValueError(f"register({preview(name)}): formula must be one text per operand "
                             f"({', '.join(operands or ('*xs',))}), got {preview(formula)}")
    if not isinstance(symbol, str):
        raise TypeError(f"register({preview(name)}): symbol must be a str, "
                        f"got {type(symbol).__name__}")
    op = Op(name, forward, derivative, operands, Params(params), symbol or name,
            formula, tuple(as_float(k, f"register({preview(name)}) kink") for k in kinks), builtin)
    _check_texts(op)
    if not builtin:
        op = _checked(op)
    _REGISTRY[name] = op
    return op


def _signature(name: str, forward: Callable[..., float]) -> tuple[tuple[str, ...] | None,
                                                                   dict[str, float]]:
    """The forward's operand names (None for ``*xs``) and its params with their defaults."""
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        raise TypeError(f"register({preview(name)}): cannot read forward's signature") from None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    variadic = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    operands = tuple(p.name for p in parameters if p.kind in positional and p.default is p.empty)
    if not operands and not variadic:
        raise TypeError(f"register({preview(name)}): forward takes no operand")
    params = {}
    for p in parameters:
        if p.default is not p.empty:
            params[p.name] = as_float(p.default, f"register({preview(name)}): param {p.name!r}")
    return (None if variadic else operands), params


def _check_texts(op: Op) -> None:
    """Refuse a symbol or formula that cannot be filled in (a lone brace, an unknown name).

    An op of any number of operands is checked at 1 to 4 operands: its texts for n operands
    may name only {0} … {n-1}.
    """
    fields = {"out": "out", **{k: k for k in op.params}}
    operand_names = op.operands or ()
    texts: list[tuple[Any, int, int | None]] = []  # (text, operand count, operand index)
    for count in (op.arity,) if op.arity is not None else range(1, 5):
        texts += [(op.formula_text(i, count), count, i)
                  for i in range(count if op.formula is not None else 0)]
    where = ""
    try:
        op.symbol.format(**{k: "1" for k in op.params})
        for text, count, index in texts:
            where = f" for operand {index} of {count}" if op.arity is None else ""
            if not isinstance(text, str):
                raise TypeError(f"a formula gave {type(text).__name__}, not a str")
            text.format(*(f"x{k}" for k in range(count)), **fields,
                        **{n: n for n in operand_names})
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        raise ValueError(f"register({preview(op.name)}): symbol {preview(op.symbol)} or formula "
                         f"cannot be filled in{where} ({type(err).__name__}: "
                         f"{clip(str(err), 80)}); write a literal brace as {{{{ or }}}}") from None


def _checked(op: Op) -> Op:
    """A user's op with its results checked: forward gives a float, derivative one per operand."""
    name, forward, derivative = op.name, op.forward, op.derivative

    def checked_forward(*xs: float, **params: float) -> float:
        try:
            out = forward(*xs, **params)
        except Exception as err:
            _note(err, name, xs)
            raise
        return _result(name, "forward", out)

    def checked_derivative(*xs_out: float, **params: float) -> tuple[float, ...]:
        try:
            local = derivative(*xs_out, **params)
        except Exception as err:
            _note(err, name, xs_out[:-1])
            raise
        local = tuple(local) if isinstance(local, (tuple, list)) else (local,)
        if len(local) != len(xs_out) - 1:
            raise ValueError(f"{name}: derivative returned {len(local)} value(s) "
                             f"for {len(xs_out) - 1} operand(s)")
        return tuple(_result(name, "derivative", d) for d in local)

    checked_forward.__doc__ = forward.__doc__
    return Op(name, checked_forward, checked_derivative, op.operands, op.params, op.symbol,
              op.formula, op.kinks, op.builtin)


def _result(name: str, part: str, x: Any) -> float:
    if type(x) is float:
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name}: {part} returned {type(x).__name__}, not a float")
    return as_float(x, f"{name}: {part} result")


def _note(err: Exception, name: str, xs: Sequence[float]) -> None:
    """Add "in op name(x1, x2, …)" to the user's own exception, which then surfaces as it is."""
    shown = ", ".join(short(x) for x in xs[:4]) + (", …" if len(xs) > 4 else "")
    if sys.version_info >= (3, 11):
        err.add_note(f"in op {name}({shown})")


def _builtin(name: str, forward: Callable[..., float], derivative: Callable[..., Any],
             formula: str | tuple[str, ...] | Callable[[int, int], str], symbol: str = "",
             kinks: tuple[float, ...] = ()) -> None:
    """Register a built-in op."""
    _register(name, forward, derivative, formula, symbol, kinks, builtin=True)


# --------------------------------------------------------------------------
# The built-in ops: a forward, its local derivative, and one line that registers them
# with the derivative's formula. Forwards raise ValueError / ZeroDivisionError naming the
# op on a domain error.
# --------------------------------------------------------------------------


def add(a: float, b: float) -> float:
    """a + b."""
    return a + b


def add_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = 1, ∂/∂b = 1."""
    return (1.0, 1.0)


_builtin("add", add, add_grad, ("1", "1"), "+")


def sub(a: float, b: float) -> float:
    """a - b."""
    return a - b


def sub_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = 1, ∂/∂b = -1."""
    return (1.0, -1.0)


_builtin("sub", sub, sub_grad, ("1", "-1"), "-")


def mul(a: float, b: float) -> float:
    """a · b."""
    return a * b


def mul_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = b, ∂/∂b = a."""
    return (b, a)


_builtin("mul", mul, mul_grad, ("{b}", "{a}"), "*")


def div(a: float, b: float) -> float:
    """a / b; ZeroDivisionError for b = 0."""
    if b == 0:
        raise ZeroDivisionError(f"div: division by zero ({a!r} / {b!r})")
    return a / b


def div_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = 1/b, ∂/∂b = -a/b² (computed as -out/b, which cannot overflow in b²)."""
    return (1.0 / b, -out / b)


_builtin("div", div, div_grad, ("1/{b}", "-{a}/{b}²"), "/")


def neg(a: float) -> float:
    """-a."""
    return -a


def neg_grad(a: float, out: float) -> tuple[float]:
    """∂/∂a = -1."""
    return (-1.0,)


_builtin("neg", neg, neg_grad, "-1", "-")


def _safe_pow(x: float, p: float) -> float:
    """x**p with overflow to ±inf instead of OverflowError (x < 0 only for integer p)."""
    try:
        return float(x**p)
    except OverflowError:
        negative = x < 0 and p % 2 == 1
        return -INF if negative else INF


def pow(x: float, exponent: float = 1.0) -> float:
    """x ** exponent for a number exponent; negative x needs an integer exponent."""
    if x != x or exponent != exponent:
        return NAN  # IEEE says nan**0 = 1; the contract says NaN in, NaN out
    if x < 0 and not float(exponent).is_integer():
        raise ValueError(
            f"pow: negative base {x!r} to the fractional power {exponent!r} has no real value"
        )
    if x == 0 and exponent < 0:
        raise ZeroDivisionError(f"pow: 0.0 to the negative power {exponent!r}")
    return _safe_pow(x, exponent)


def pow_grad(x: float, out: float, exponent: float = 1.0) -> tuple[float]:
    """∂/∂x = exponent · x**(exponent-1); 0 for exponent 0; +inf at x = 0 for 0 < exponent < 1."""
    if x != x or exponent != exponent:
        return (NAN,)
    if exponent == 0:
        return (0.0,)
    if x == 0 and exponent < 1:
        return (math.copysign(INF, exponent),)
    return (exponent * _safe_pow(x, exponent - 1),)


_builtin("pow", pow, pow_grad, "{exponent}·{x}**({exponent} - 1)", "**{exponent}")


def pow_value(a: float, b: float) -> float:
    """a ** b with a Value exponent; needs a > 0."""
    if a != a or b != b:
        return NAN
    if not a > 0:
        raise ValueError(f"pow_value: base must be > 0 when the exponent is a Value, got {a!r}")
    return _safe_pow(a, b)


def pow_value_grad(a: float, b: float, out: float) -> tuple[float, float]:
    """∂/∂a = b · a**(b-1), ∂/∂b = a**b · log a."""
    if out != out:
        return (NAN, NAN)
    return (b * _safe_pow(a, b - 1.0) if b != 0 else 0.0, out * math.log(a) if out else 0.0)


_builtin("pow_value", pow_value, pow_value_grad, ("{b}·{a}**({b} - 1)", "{out}·log({a})"), "**")


def exp(x: float) -> float:
    """e**x, overflowing to inf."""
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def exp_grad(x: float, out: float) -> tuple[float]:
    """∂/∂x = e**x = out."""
    return (out,)


_builtin("exp", exp, exp_grad, "{out}")


def log(x: float) -> float:
    """Natural log; ValueError for x <= 0."""
    if x <= 0:
        raise ValueError(f"log: argument must be > 0, got {x!r}")
    return math.log(x)


def log_grad(x: float, out: float) -> tuple[float]:
    """∂/∂x = 1/x."""
    return (1.0 / x,)


_builtin("log", log, log_grad, "1/{x}")


def tanh(x: float) -> float:
    """tanh x = (e**x - e**-x) / (e**x + e**-x)."""
    return math.tanh(x)


def tanh_grad(x: float, out: float) -> tuple[float]:
    """∂/∂x = 1 - tanh²x."""
    return (1.0 - out * out,)


_builtin("tanh", tanh, tanh_grad, "1 - {out}²")


def sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e**-x), in the form that never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # x < 0: no overflow, underflows to 0 far out
    return e / (1.0 + e)


def sigmoid_grad(x: float, out: float) -> tuple[float]:
    """∂/∂x = σ·(1 - σ)."""
    return (out * (1.0 - out),)


_builtin("sigmoid", sigmoid, sigmoid_grad, "{out}·(1 - {out})")


def relu(x: float) -> float:
    """max(0, x); NaN stays NaN."""
    return float(x) if x > 0 else (0.0 if x <= 0 else x)


def relu_grad(x: float, out: float) -> tuple[float]:
    """1 for x > 0, 0 for x <= 0 (the notes take relu'(0) = 0)."""
    return (1.0 if x > 0 else (0.0 if x <= 0 else NAN),)


_builtin("relu", relu, relu_grad, "1 if {x} > 0 else 0", "ReLU", kinks=(0.0,))


def leaky_relu(x: float, slope: float = 0.01) -> float:
    """x for x > 0, slope·x for x <= 0."""
    return float(x) if x > 0 else slope * x


def leaky_relu_grad(x: float, out: float, slope: float = 0.01) -> tuple[float]:
    """1 for x > 0, slope for x <= 0 (the notes' λ; at 0 the x <= 0 branch)."""
    return (1.0 if x > 0 else (slope if x <= 0 else NAN),)


_builtin("leaky_relu", leaky_relu, leaky_relu_grad, "1 if {x} > 0 else {slope}",
         "leaky_relu({slope})", kinks=(0.0,))


def step(x: float) -> float:
    """1 for x > 0, 0 for x <= 0."""
    return 1.0 if x > 0 else (0.0 if x <= 0 else NAN)


def step_grad(x: float, out: float) -> tuple[float]:
    """0 everywhere (the notes' point: backprop cannot learn through a step)."""
    return (0.0 if x == x else NAN,)


_builtin("step", step, step_grad, "0", kinks=(0.0,))


def sum_(*xs: float) -> float:
    """x1 + x2 + … + xn, added left to right (as x1 + x2 + … would be)."""
    if not xs:
        raise TypeError("sum: needs at least one operand")
    total = xs[0]
    for x in xs[1:]:
        total += x
    return total


def sum_grad(*xs_out: float) -> tuple[float, ...]:
    """∂/∂x_i = 1."""
    return (1.0,) * (len(xs_out) - 1)


_builtin("sum", sum_, sum_grad, lambda i, n: "1", "Σ")


def linear(*xs: float) -> float:
    """w1·x1 + w2·x2 + … + wn·xn + b, operands interleaved as (w1, x1, …, wn, xn, b)."""
    if len(xs) % 2 == 0:
        raise TypeError(f"linear: needs (w1, x1, …, wn, xn, b), an odd count; got {len(xs)}")
    total = xs[0] * xs[1] if len(xs) > 1 else 0.0
    for i in range(2, len(xs) - 1, 2):
        total += xs[i] * xs[i + 1]
    return total + xs[-1]


def linear_grad(*xs_out: float) -> tuple[float, ...]:
    """∂/∂w_i = x_i, ∂/∂x_i = w_i, ∂/∂b = 1."""
    xs = xs_out[:-1]
    return (*(xs[i ^ 1] for i in range(len(xs) - 1)), 1.0)


def linear_formula(index: int, count: int) -> str:
    """∂/∂w_i is x_i and ∂/∂x_i is w_i: operand index ^ 1 (its partner); ∂/∂b = 1."""
    return "1" if index == count - 1 else f"{{{index ^ 1}}}"


_builtin("linear", linear, linear_grad, linear_formula, "Σw·x+b")


def half_squared_error(y_hat: float, y: float) -> float:
    """The notes' loss E = ½(y - ŷ)²."""
    d = y - y_hat
    return 0.5 * d * d


def half_squared_error_grad(y_hat: float, y: float, out: float) -> tuple[float, float]:
    """∂E/∂ŷ = ŷ - y (the notes print y - ŷ: a sign error), ∂E/∂y = y - ŷ."""
    return (y_hat - y, y - y_hat)


_builtin("half_squared_error", half_squared_error, half_squared_error_grad,
         ("{y_hat} - {y}", "{y} - {y_hat}"), "½(y-ŷ)²")


def bce_with_logits(z: float, y: float) -> float:
    """Cross-entropy of logit z against y ∈ [0, 1]: max(z, 0) - z·y + log(1 + e**-|z|)."""
    return (z if z > 0 else 0.0) - z * y + math.log1p(math.exp(-abs(z)))


def bce_with_logits_grad(z: float, y: float, out: float) -> tuple[float, float]:
    """∂/∂z = σ(z) - y, ∂/∂y = -z."""
    return (sigmoid(z) - y, -z)


_builtin("bce_with_logits", bce_with_logits, bce_with_logits_grad, ("σ({z}) - {y}", "-{z}"),
         "bce")


def _class_index(logits: tuple[float, ...], target: float) -> int:
    """target as an index into logits; ValueError naming it when it is not one."""
    if not (float(target).is_integer() and 0 <= target < len(logits)):
        raise ValueError(f"cross_entropy: target must be a class index in 0..{len(logits) - 1}, "
                         f"got {short(target)}")
    return int(target)


def cross_entropy(*logits: float, target: float = NAN) -> float:
    """-log softmax(z)_t = log Σ_j e^(z_j) - z_t, as (m - z_t) + log Σ_j e^(z_j - m), m = max z."""
    t = _class_index(logits, target)
    m = max(logits)
    return (m - logits[t]) + math.log(math.fsum([math.exp(z - m) for z in logits]))


def cross_entropy_grad(*logits_out: float, target: float = NAN) -> tuple[float, ...]:
    """∂/∂z_i = softmax(z)_i - [i = t], softmax(z)_i = e^(z_i - m) / Σ_j e^(z_j - m)."""
    logits = logits_out[:-1]
    t = _class_index(logits, target)
    m = max(logits)
    exps = [math.exp(z - m) for z in logits]
    total = math.fsum(exps)
    grads = [e / total for e in exps]
    grads[t] -= 1.0
    return tuple(grads)


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def cross_entropy_formula(index: int, count: int) -> str:
    """softmax(z)ᵢ - [i = target]: the softmax of all the logits, minus 1 at the target."""
    logits = ", ".join(f"{{{k}}}" for k in range(count))
    return f"softmax({logits}){str(index).translate(_SUBSCRIPTS)} - [{index} = {{target}}]"


_builtin("cross_entropy", cross_entropy, cross_entropy_grad, cross_entropy_formula,
         "cross_entropy(t={target})")


def logsumexp(*xs: float) -> float:
    """log Σ_j e^(x_j), as m + log Σ_j e^(x_j - m), m = max x: no overflow at any scale."""
    if not xs:
        raise TypeError("logsumexp: needs at least one operand")
    if any(x != x for x in xs):
        return NAN
    m = max(xs)
    if m == INF or m == -INF:  # e^(x - m) would be nan; the limit is m itself
        return m
    return m + math.log(math.fsum([math.exp(x - m) for x in xs]))


def logsumexp_grad(*xs_out: float) -> tuple[float, ...]:
    """∂/∂x_i = e^(x_i - out) = softmax(x)_i: the softmax's weights, read off the output."""
    out = xs_out[-1]
    return tuple(math.exp(x - out) for x in xs_out[:-1])


_builtin("logsumexp", logsumexp, logsumexp_grad, lambda i, n: f"exp({{{i}}} - {{out}})",
         "logsumexp")
