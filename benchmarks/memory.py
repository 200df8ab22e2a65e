"""memory: the bytes a graph holds, measured with tracemalloc on the chain y ← y·0.999 + 0.001.

Everything allocated while the graph is built and still alive afterwards is
charged to it: the nodes, their data floats, and their children and local-gradient
tuples where a node has several children. Per node counts every node of the graph
(the leaf and 2 per repetition); per op counts the 2N ops.

Floor: the same N repetitions keeping every intermediate float in a list, i.e.
one float (and one list slot) per op: what a hand-written backward would have to
keep at least.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from benchmarks import harness
from micrograd import Value
from micrograd.engine import topological_order

A, C = 0.999, 0.001


def _held(build: Any, n: int) -> tuple[int, Any]:
    """Bytes allocated by build(n) and still alive while its result is held."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = build(n)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, result


def _engine_chain(n: int) -> Value:
    y = Value(1.0)
    for _ in range(n):
        y = y * A + C
    return y


def _floor_chain(n: int) -> list[float]:
    kept = []
    y = 1.0
    for _ in range(n):
        y = y * A
        kept.append(y)
        y = y + C
        kept.append(y)
    return kept


def engine_bytes(n: int) -> tuple[int, int]:
    """Bytes held by an n-repetition chain of Values, and its number of nodes."""
    _engine_chain(10)  # the folded ops for ·0.999 and +0.001 are made once, not per node
    held, root = _held(_engine_chain, n)
    return held, len(topological_order(root))


def floor_bytes(n: int) -> tuple[int, int]:
    """Bytes held by the 2n floats of the same computation, and the number of floats."""
    held, kept = _held(_floor_chain, n)
    return held, len(kept)


def run(n: int) -> list[harness.Row]:
    """Rows for an n-repetition chain, one measurement each: byte counts do not vary by run."""
    ops = 2 * n

    def engine() -> dict[str, float]:
        held, nodes = engine_bytes(n)
        return {"per_node": held / nodes, "per_op": held / ops, "nodes": nodes}

    def floor() -> dict[str, float]:
        held, floats = floor_bytes(n)
        return {"per_node": held / floats, "per_op": held / ops, "nodes": floats}

    results = harness.interleave({"engine": engine, "floor": floor}, 1)
    name = f"memory N={n:,}"
    return [
        harness.row(results, name, "bytes per node", "per_node",
                    "≤ 200 B/node", harness.engine_at_most(200)),
        harness.row(results, name, "bytes per op", "per_op"),
    ]
