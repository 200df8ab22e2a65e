"""chain: y = y·0.999 + 0.001 repeated N times from one Value, then backward.

The deepest graph there is (2N + 1 nodes in a line): it measures the cost of one
node, forward and backward, and that backward does not recurse. ns per op, with
2 ops per repetition.

Floor: the same recurrence in floats; its backward is the chain rule written by
hand: ∂y_N/∂y_0 = 0.999^N, one multiply per repetition.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import partial
from time import perf_counter
from types import ModuleType
from typing import Any

from benchmarks import harness
from micrograd import Value

A, C = 0.999, 0.001  # y ← A·y + C


class _GcClock:
    """Seconds spent inside the garbage collector while it is installed (gc stays on)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = perf_counter()
        else:
            self.seconds += perf_counter() - self._start

    def __enter__(self) -> _GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def graph_chain(x: Any, n: int) -> dict[str, float]:
    """Seconds to build the chain from x, of the collector's part of that, to back-propagate
    it and to free it: the engine's Values or PyTorch's 0-d float64 tensors, the same code."""
    with _GcClock() as in_gc:
        t0 = perf_counter()
        y = x
        for _ in range(n):
            y = y * A + C
        t1 = perf_counter()
    y.backward()
    t2 = perf_counter()
    del y  # the graph is freed here, by reference counting alone
    t3 = perf_counter()
    return {"forward": t1 - t0, "gc_forward": in_gc.seconds, "backward": t2 - t1, "free": t3 - t2}


def engine_chain(n: int) -> tuple[dict[str, float], float]:
    """The times of graph_chain, and ∂y_N/∂y_0 from backward()."""
    x = Value(1.0)
    return graph_chain(x, n), x.grad


def floor_chain(n: int) -> tuple[dict[str, float], float]:
    """The same in floats: forward loop, then g ← g·0.999 once per repetition."""
    t0 = perf_counter()
    y = 1.0
    for _ in range(n):
        y = y * A + C
    t1 = perf_counter()
    g = 1.0
    for _ in range(n):
        g *= A  # ∂(A·y + C)/∂y = A; the + C node passes g through unchanged
    t2 = perf_counter()
    return {"forward": t1 - t0, "gc_forward": 0.0, "backward": t2 - t1, "free": 0.0}, g


def torch_chain(torch: ModuleType, n: int) -> tuple[dict[str, float], float]:
    """The same on a 0-d float64 tensor."""
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    return graph_chain(x, n), float(x.grad)


def _runner(chain: Callable[[int], tuple[dict[str, float], float]], n: int,
            inner: int) -> harness.Runner:
    """``inner`` chains per run; ns per op for each phase (2 ops per repetition)."""

    def run() -> dict[str, float]:
        total = {"forward": 0.0, "gc_forward": 0.0, "backward": 0.0, "free": 0.0}
        for _ in range(inner):
            seconds, _grad = chain(n)
            for phase, s in seconds.items():
                total[phase] += s
        ops = 2 * n * inner
        ns = {f"{phase}_ns": 1e9 * s / ops for phase, s in total.items()}
        ns["total_ns"] = ns["forward_ns"] + ns["backward_ns"]
        return ns

    return run


def run(sizes: list[tuple[int, dict[str, int]]], repeat: int, torch: ModuleType | None,
        torch_rounds_large: int) -> list[harness.Row]:
    """Rows for each (N, inner runs per engine); N = 100,000 must complete (no recursion).

    The eager engine has no speed target here: it is the teaching core, and speed comes
    from micrograd.compile (benchmarks/karpathy.py holds both engines' targets).
    """
    chains: dict[str, Callable[[int], tuple[dict[str, float], float]]] = {
        "engine": engine_chain,
        "floor": floor_chain,
    }
    if torch is not None:
        chains["torch"] = partial(torch_chain, torch)
    for chain in chains.values():  # first calls: op caches, torch's lazy set-up
        chain(200)
    rows = []
    for n, inner in sizes:
        runners = {name: _runner(chain, n, inner[name]) for name, chain in chains.items()}
        big = n >= 100_000
        results = harness.interleave(runners, repeat,
                                     {"torch": torch_rounds_large} if big else None)
        name = f"chain N={n:,}"
        rows += [
            harness.row(results, name, "forward ns/op", "forward_ns"),
            harness.row(results, name, "  of which in gc", "gc_forward_ns"),
            harness.row(results, name, "backward ns/op", "backward_ns",
                        "completes" if big else "",
                        (lambda r: r.engine is not None) if big else None),
            harness.row(results, name, "fwd+bwd ns/op", "total_ns"),
            harness.row(results, name, "free graph ns/op", "free_ns"),
        ]
    return rows
