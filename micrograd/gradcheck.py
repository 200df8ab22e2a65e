"""gradcheck: backward()'s gradients against central differences, for every input.

Check your own op the way the package's tests check the built-ins::

    ops.register("softplus", softplus, softplus_grad, formula="σ({x})")
    gradcheck(lambda x: x.softplus(), [Value(0.3)])   # True, or GradcheckError
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from micrograd._numbers import as_float, clip
from micrograd.engine import Value

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """backward() and central differences disagree on ∂f/∂input."""


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[Value | float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """True if each ∂f/∂x_i from backward() is within atol + rtol·|n_i| of the central
    difference n_i = (f(…, x_i + eps, …) - f(…, x_i - eps, …)) / 2·eps; else GradcheckError.

    ``f`` takes one Value per input and returns a Value. It is called on fresh leaves with
    the inputs' data, so the inputs' own grads are left as they are.
    """
    eps, atol, rtol = (as_float(v, f"gradcheck {k}") for k, v in
                       (("eps", eps), ("atol", atol), ("rtol", rtol)))
    if not (0 < eps < math.inf and 0 <= atol < math.inf and 0 <= rtol < math.inf):
        raise ValueError(f"gradcheck: need eps > 0, atol >= 0, rtol >= 0, all finite; "
                         f"got eps={eps!r}, atol={atol!r}, rtol={rtol!r}")
    points = [x.data if isinstance(x, Value) else as_float(x, f"gradcheck inputs[{i}]")
              for i, x in enumerate(inputs)]
    names = [x.label if isinstance(x, Value) and x.label else f"inputs[{i}]"
             for i, x in enumerate(inputs)]

    def run(values: Sequence[float]) -> tuple[Value, list[Value]]:
        leaves = [Value(v, name) for v, name in zip(values, names)]
        out = f(*leaves)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
        return out, leaves

    out, leaves = run(points)
    out.backward()
    for i, leaf in enumerate(leaves):
        plus = run([*points[:i], points[i] + eps, *points[i + 1:]])[0].data
        minus = run([*points[:i], points[i] - eps, *points[i + 1:]])[0].data
        numerical = (plus - minus) / (2 * eps)
        analytic = leaf.grad
        same_inf = math.isinf(analytic) and analytic == numerical
        if not (same_inf or abs(analytic - numerical) <= atol + rtol * abs(numerical)):
            name = clip(names[i], 60)
            raise GradcheckError(
                f"gradcheck: ∂f/∂{name} at {name} = {points[i]!r}: backward() gives "
                f"{analytic!r}, central differences give {numerical!r} (eps={eps:g}, "
                f"atol={atol:g}, rtol={rtol:g})"
            )
    return True
