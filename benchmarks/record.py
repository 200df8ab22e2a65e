"""record: the backprop page's recording of a chain y = y·0.999 + 0.001 of 1k, 10k, 100k nodes.

``page.record(root)`` replays backward() one step at a time, formats every step's numbers
and explains every leaf (``trace.explain_each``: one pass each way over the graph). It
must be linear in the graph's size: µs per node stays flat from 1,000 to 100,000 nodes, and
a 10,000-node chain records in under 2 s (issue 18). The graph is built outside the timing.

Floor: the same chain in floats, its backward written by hand, and every node's grad and
local derivative formatted once to 4 significant digits: what any page of it must write.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from time import perf_counter

from benchmarks import harness
from micrograd import Value
from micrograd.page import record

A, C = 0.999, 0.001  # y ← A·y + C: 4 nodes a repetition (·, 0.999, +, 0.001)


def chain(nodes: int) -> Value:
    """The chain of about ``nodes`` nodes (4 per repetition and the input x)."""
    y = Value(1.0, "x")
    for _ in range(max(1, (nodes - 1) // 4)):
        y = y * A + C
    return y


def engine_record(root: Value) -> float:
    """Seconds for page.record(root)."""
    t0 = perf_counter()
    record(root)
    return perf_counter() - t0


def floor_texts(nodes: int) -> list[str]:
    """The chain in floats: forward, backward by hand, every grad and local derivative
    formatted to 4 digits, root first; the last text is ∂y/∂x."""
    ys = [1.0]
    for _ in range(max(1, (nodes - 1) // 4)):
        ys.append(ys[-1] * A + C)
    g, texts = 1.0, []
    for _ in reversed(ys[1:]):
        texts += [f"{g:.4g}", "1", f"{g:.4g}", f"{A:.4g}"]  # + passes g on; ∂(A·y)/∂y = A
        g *= A
    texts.append(f"{g:.4g}")
    return texts


def floor_record(nodes: int) -> float:
    """Seconds for floor_texts(nodes)."""
    t0 = perf_counter()
    floor_texts(nodes)
    return perf_counter() - t0


def run(sizes: list[int], repeat: int) -> list[harness.Row]:
    """Rows of µs per node for each size, the 10,000-node time, and the linearity ratio.

    Sizes over 10,000 nodes run once (a 100,000-node record takes seconds).
    """
    rows, per_node, floor = [], {}, {}
    for n in sizes:
        root = chain(n)
        count = 4 * max(1, (n - 1) // 4) + 1
        runners = {"engine": _timed(partial(engine_record, root), count),
                   "floor": _timed(partial(floor_record, n), count)}
        results = harness.interleave(runners, repeat if n <= 10_000 else 1)
        name = f"record N={count:,}"
        line = harness.row(results, name, "µs per node", "us")
        per_node[n], floor[n] = line.engine, line.floor
        rows.append(line)
        if n == 10_000:
            rows.append(harness.row(results, name, "seconds", "s", "≤ 2 s",
                                    harness.engine_at_most(2.0)))
    small, large = min(sizes), max(sizes)
    first, last = per_node[small], per_node[large]
    if small != large and first and last is not None:  # the floor's own ratio beside it
        shown = f"{floor[large] / floor[small]:.2f}" if floor[small] and floor[large] else "—"
        rows.append(harness.Row(f"record N={small:,}→{large:,}",
                                f"µs/node ratio (1 = linear; floor's {shown})", last / first,
                                target="≤ 3", passed=last / first <= 3.0))
    return rows


def _timed(run_once: Callable[[], float], count: int) -> harness.Runner:
    """A runner: one timed run, as µs per node and seconds."""
    def run_() -> dict[str, float]:
        seconds = run_once()
        return {"us": 1e6 * seconds / count, "s": seconds}
    return run_
