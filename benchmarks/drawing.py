"""Drawings bounded: the seconds Graphviz spends on graphs that cost unbounded dot minutes.

    python -m benchmarks.drawing [--before-limit SECONDS]

Each row: one graph (a Horner chain reusing x, an RNN's shared weights, weights shared across
positions, dense sums, an MLP of plain ops), its nodes, the CPU seconds of `dot` on draw_dot's
source with the effort bounds taken out (what main did before; cut at --before-limit) and of
the program draw_dot now picks (dot with nslimit/nslimit1/mclimit 1, or neato on its own
pinned layout). Child CPU time, so a loaded machine's waits do not count.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess

from micrograd import Value
from micrograd.graph import BOUNDED_DOT, draw_dot
from micrograd.walk import walk


def horner(n: int) -> Value:
    """c0·xⁿ + … + cₙ by Horner's rule: one x reused along the whole chain."""
    x, acc = Value(0.5, "x"), Value(1.0, "c0")
    for i in range(n):
        acc = acc * x + Value(0.1 * i, f"c{i + 1}")
    return acc


def rnn(n: int) -> Value:
    """h ← tanh(w·h + u·xₜ) over n steps: two weights shared by every step."""
    w, u, h = Value(0.9, "w"), Value(0.3, "u"), Value(0.0, "h0")
    for t in range(n):
        h = (w * h + u * Value(0.01 * t, f"x{t}")).tanh()
    return h


def positions(n: int) -> Value:
    """Σₜ tanh(w·eₜ + b)·v: one weight, bias and readout shared across n positions."""
    w, b, v = Value(0.5, "w"), Value(0.1, "b"), Value(-0.2, "v")
    return Value.sum((w * Value(0.01 * t, f"e{t}") + b).tanh() * v for t in range(n))


def dense(k: int) -> Value:
    """k sums, each over the same 300 leaves (rotated): few nodes, many edges."""
    leaves = [Value(0.01 * i, f"l{i}") for i in range(300)]
    return Value.sum(Value.sum(leaves[j:] + leaves[:j]) for j in range(k))


def mlp_plain(width: int) -> Value:
    rng = random.Random(0)
    xs = [Value(rng.random(), f"x{i}") for i in range(2)]
    for layer in range(2):
        xs = [Value.sum(Value(rng.random(), f"w{layer}_{j}_{i}") * x for i, x in enumerate(xs))
              .tanh() for j in range(width)]
    return Value.sum(xs)


GRAPHS = [("horner", horner, 50), ("horner", horner, 75), ("horner", horner, 333),
          ("rnn", rnn, 200), ("positions", positions, 250), ("dense", dense, 30),
          ("mlp_plain", mlp_plain, 15)]


def cpu_seconds(program: str, source: str, limit: float) -> float | None:
    """The child CPU seconds of `program -Tsvg` on source; None past limit (wall) seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    try:
        subprocess.run([program, "-Tsvg"], input=source.encode("utf-8"), capture_output=True,
                       check=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return None
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before-limit", type=float, default=120.0)
    limit = parser.parse_args(argv).before_limit
    print(f"{'graph':<16}{'nodes':>7}  {'before (dot, unbounded)':>24}  {'now':>18}")
    for name, make, n in GRAPHS:
        root = make(n)
        root.backward()
        graph = draw_dot(root)
        unbounded = graph.source
        for key, value in BOUNDED_DOT.items():
            unbounded = unbounded.replace(f" {key}={value}", "")
        old = cpu_seconds("dot", unbounded if graph.engine == "dot" else
                          draw_dot_unbounded(root), limit)
        new = cpu_seconds(graph.engine, graph.source, limit)
        shown = f"> {limit:.0f} s (stopped)" if old is None else f"{old:.2f} s"
        now = "—" if new is None else f"{new:.2f} s ({graph.engine})"
        print(f"{f'{name}({n})':<16}{len(walk(root).order):>7}  {shown:>24}  {now:>18}",
              flush=True)
    return 0


def draw_dot_unbounded(root: Value) -> str:
    """draw_dot's source as dot would get it with no budget: the pinned layout taken out."""
    import micrograd.graph as graph

    saved = graph.DOT_WORK
    graph.DOT_WORK = 10**30
    try:
        source = draw_dot(root).source
    finally:
        graph.DOT_WORK = saved
    for key, value in BOUNDED_DOT.items():
        source = source.replace(f" {key}={value}", "")
    return source


if __name__ == "__main__":
    raise SystemExit(main())
