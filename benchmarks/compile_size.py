"""compile: the time and peak memory of micrograd.compile on chains of 10^4 to 10^6 nodes,
and on one wide ``linear`` node of 10^4 and 10^5 weight-input pairs.

The chain y ← y·a + c (a, c leaves: 2 op nodes per repetition, every node a line of code
forward and backward) is the graph with the most nodes per leaf. Time is one compile with
the collector as compile() leaves it; the peak is tracemalloc's, over one more compile of
the same graph (what compiling allocates at once, the graph itself not counted), and the
bytes the compiled graph keeps. Both should grow linearly with the nodes, and with a
node's operands (each pair is a product forward and two terms backward).

Native (``compile(root, backend="native")``, the ``[native]`` extra): the chain at 10^4 and
10^5 nodes, seconds to record its tape (the median of 3 compiles, after one untimed compile
that builds the loops' machine code once per process), under 1 s at 10^5 nodes and linear:
µs per node at 10^5 over µs per node at 10^4. What the first native compile of a process
pays on top (importing llvmlite, the loops compiled to machine code) is timed apart, in a
fresh subprocess.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path
from time import perf_counter

from benchmarks import harness
from micrograd import Value, compile


def chain(n: int) -> Value:
    """The chain of n op nodes (n // 2 repetitions of y·a + c)."""
    a, c = Value(0.999, "a"), Value(0.001, "c")
    y = Value(1.0, "x")
    for _ in range(n // 2):
        y = y * a + c
    return y


def wide(n: int) -> Value:
    """One linear node of n (weight, input) pairs and a bias: 2n + 1 operands."""
    return Value.linear([Value(1.0 / (i + 1)) for i in range(n)],
                        [Value(float(i % 7)) for i in range(n)], Value(0.5, "b"))


def measure(root: Value) -> dict[str, float]:
    """Seconds to compile root's graph, MB at the peak while compiling, MB kept."""
    gc.collect()
    t0 = perf_counter()
    graph = compile(root)
    seconds = perf_counter() - t0
    graph()  # it runs
    del graph
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept_graph = compile(root)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept_graph.root is root
    return {"seconds": seconds, "peak_mb": (peak - before) / 1e6,
            "kept_mb": (kept - before) / 1e6}


def native_seconds(root: Value, runs: int = 3) -> float:
    """The median seconds of ``runs`` native compiles of root's graph (the collector on)."""
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = perf_counter()
        compile(root, backend="native")
        times.append(perf_counter() - t0)
    return statistics.median(times)


FIRST = """
import json, time
from micrograd import Value, compile
t0 = time.perf_counter()
compile(Value(1.0) * 2.0, backend="native")
first = time.perf_counter() - t0
t0 = time.perf_counter()
compile(Value(1.0) * 2.0, backend="native")
print(json.dumps({"first": first, "next": time.perf_counter() - t0}))
"""


def native_first_seconds() -> float:
    """Seconds the first native compile of a fresh process takes over the next one (importing
    llvmlite, compiling the loops), measured in a subprocess."""
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", FIRST], capture_output=True, text=True,
                          timeout=120, cwd=root, check=True)
    times = json.loads(proc.stdout.splitlines()[-1])
    return float(times["first"] - times["next"])


def native_rows(sizes: list[int]) -> list[harness.Row]:
    """Per size: native compile seconds (under 1 s at 100k nodes) and µs per node; then the
    ratio of µs per node, largest size over smallest (1 = linear)."""
    if not harness.native_available():
        return [harness.skipped_native("compile native")]
    compile(Value(1.0) * 2.0, backend="native")  # the loops' machine code, once per process
    rows = [harness.Row("compile native", "s the first native compile of a process adds "
                        "(llvmlite imported, the loops compiled; a subprocess)",
                        native_first_seconds())]
    per_node = []
    for n in sizes:
        seconds = native_seconds(chain(n))
        per_node.append(1e6 * seconds / n)
        name = f"compile native chain {n:,} nodes"
        limit = max(1.0, n / 100_000)  # the 1 s at 100k nodes, pro rata above
        rows += [
            harness.Row(name, "native compile seconds", seconds,
                        target=f"< {limit:g} s", passed=seconds < limit),
            harness.Row(name, "native compile µs per node", per_node[-1]),
        ]
    if len(sizes) > 1:
        ratio = per_node[-1] / per_node[0]
        rows.append(harness.Row(f"compile native chain {sizes[0]:,}→{sizes[-1]:,}",
                                "µs/node ratio (1 = linear)", ratio, target="≤ 2",
                                passed=ratio <= 2.0))
    return rows


def run(sizes: list[int], widths: list[int],
        native_sizes: list[int] | None = None) -> list[harness.Row]:
    """Rows per size: compile seconds, µs per node, peak MB (under 300 MB at 200k nodes);
    per width: seconds and µs per pair; the native compile's rows for native_sizes."""
    rows = []
    for n in widths:
        m = measure(wide(n))
        name = f"compile linear {n:,} pairs"
        rows += [
            harness.Row(name, "compile seconds", m["seconds"]),
            harness.Row(name, "compile µs per pair", 1e6 * m["seconds"] / n),
            harness.Row(name, "peak MB while compiling (tracemalloc)", m["peak_mb"]),
        ]
    for n in sizes:
        m = measure(chain(n))
        name = f"compile chain {n:,} nodes"
        limit = 300 * max(1.0, n / 200_000)  # the 300 MB at 200k nodes, pro rata
        rows += [
            harness.Row(name, "compile seconds", m["seconds"]),
            harness.Row(name, "compile µs per node", 1e6 * m["seconds"] / n),
            harness.Row(name, "peak MB while compiling (tracemalloc)", m["peak_mb"],
                        target=f"≤ {limit:,.0f} MB", passed=m["peak_mb"] <= limit),
            harness.Row(name, "MB the compiled graph keeps", m["kept_mb"]),
        ]
    return rows + native_rows(native_sizes) if native_sizes else rows
