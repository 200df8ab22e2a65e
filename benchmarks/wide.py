"""wide: a pairwise (tree) sum of n products a_i·b_i, built with binary +, then backward.

The opposite shape to ``chain``: shallow (depth log2 n) and wide, 2n - 1 ops. The
sum is deliberately built from binary ``+`` (not ``Value.sum``) to measure the
cost of one node. ns per op.

Floor: the same products and tree in floats. Its backward is written by hand:
every + passes its gradient to both operands (element i of a level feeds element
i // 2 of the next), and ∂(a·b)/∂a = b, ∂(a·b)/∂b = a.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from time import perf_counter
from types import ModuleType
from typing import Any

from benchmarks import harness
from micrograd import Value


def inputs(n: int, seed: int = 0) -> tuple[list[float], list[float]]:
    """n pairs (a_i, b_i) uniform in [-1, 1), reproducible."""
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(n)], [rng.uniform(-1, 1) for _ in range(n)]


def pairwise_sum(level: list[Any]) -> Any:
    """((x0 + x1) + (x2 + x3)) + …, level by level with binary +; an odd last element moves up."""
    while len(level) > 1:
        pairs = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            pairs.append(level[-1])
        level = pairs
    return level[0]


def graph_wide(a: list[Any], b: list[Any]) -> dict[str, float]:
    """Seconds to build Σ a_i·b_i, to back-propagate it, and to free the graph: the engine's
    Values or PyTorch's 0-d float64 tensors, with the same code."""
    t0 = perf_counter()
    root = pairwise_sum([x * y for x, y in zip(a, b)])
    t1 = perf_counter()
    root.backward()
    t2 = perf_counter()
    del root
    t3 = perf_counter()
    return {"forward": t1 - t0, "backward": t2 - t1, "free": t3 - t2}


def floor_wide(a: list[float], b: list[float]) -> tuple[dict[str, float], float,
                                                       list[float], list[float]]:
    """The same in floats: seconds per phase, the sum, and its gradients w.r.t. a and b."""
    t0 = perf_counter()
    level = [x * y for x, y in zip(a, b)]
    sizes = []
    while len(level) > 1:
        sizes.append(len(level))
        pairs = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            pairs.append(level[-1])
        level = pairs
    total = level[0]
    t1 = perf_counter()
    g = [1.0]
    for size in reversed(sizes):
        g = [g[i >> 1] for i in range(size)]  # element i fed element i // 2 of the next level
    grad_a = [gi * y for gi, y in zip(g, b)]
    grad_b = [gi * x for gi, x in zip(g, a)]
    t2 = perf_counter()
    return {"forward": t1 - t0, "backward": t2 - t1, "free": 0.0}, total, grad_a, grad_b


def _per_op(seconds: dict[str, float], n: int) -> dict[str, float]:
    ops = 2 * n - 1
    ns = {f"{phase}_ns": 1e9 * s / ops for phase, s in seconds.items()}
    ns["total_ns"] = ns["forward_ns"] + ns["backward_ns"]
    return ns


def run(n: int, repeat: int, torch: ModuleType | None, torch_rounds: int) -> list[harness.Row]:
    """Rows for a tree sum of n products; leaves are made once, outside the timings."""
    a, b = inputs(n)
    va, vb = [Value(x) for x in a], [Value(y) for y in b]
    runners: dict[str, Callable[[], dict[str, float]]] = {
        "engine": lambda: _per_op(graph_wide(va, vb), n),
        "floor": lambda: _per_op(floor_wide(a, b)[0], n),
    }
    if torch is not None:
        ta = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in a]
        tb = [torch.tensor(y, dtype=torch.float64, requires_grad=True) for y in b]
        graph_wide(ta[:100], tb[:100])  # warm-up
        runners["torch"] = lambda: _per_op(graph_wide(ta, tb), n)
    graph_wide(va[:100], vb[:100])
    results = harness.interleave(runners, repeat, {"torch": torch_rounds})
    name = f"wide n={n:,}"
    return [
        harness.row(results, name, "forward ns/op", "forward_ns"),
        harness.row(results, name, "backward ns/op", "backward_ns"),
        harness.row(results, name, "fwd+bwd ns/op", "total_ns"),
        harness.row(results, name, "free graph ns/op", "free_ns"),
    ]
