"""Timing, rows, the table and the JSON: what every workload shares.

Each workload gives one runner per engine ("engine", "floor", "torch"); a runner
does one timed run and returns its measurements in the row's unit (ms per step,
ns per op, ...). ``interleave`` calls them in turn (engine, floor, torch, engine,
floor, torch, ...) so that a slow phase of the machine hits every engine alike,
and each row reports the median over the runs. The garbage collector stays on
(its default thresholds): it is part of what a user's program pays.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import os
import platform
import statistics
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

ENGINES = ("engine", "floor", "torch")

Runner = Callable[[], Mapping[str, float]]


@dataclass
class Row:
    """One line of the table: a metric of a workload for each engine, and its target."""

    workload: str
    metric: str
    engine: float | None
    floor: float | None = None
    torch: float | None = None
    target: str = ""  # shown as written, e.g. "ratio ≤ 25"
    passed: bool | None = None  # None: this row has no target
    runs: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """engine / floor, the headline figure."""
        if self.engine is None or not self.floor:
            return None
        return self.engine / self.floor

    def as_json(self) -> dict[str, Any]:
        """The row as plain JSON types."""
        torch_ratio = None if self.torch is None or not self.floor else self.torch / self.floor
        return {
            "workload": self.workload,
            "metric": self.metric,
            "engine": self.engine,
            "floor": self.floor,
            "ratio": self.ratio,
            "torch": self.torch,
            "torch_ratio": torch_ratio,
            "target": self.target or None,
            "passed": self.passed,
            "runs": self.runs,
        }


def interleave(runners: Mapping[str, Runner], repeat: int,
               rounds: Mapping[str, int] | None = None) -> dict[str, dict[str, list[float]]]:
    """Call each runner once per round, in the given order, for ``repeat`` rounds.

    ``rounds[name]`` caps how many of the rounds (the first ones) an engine takes
    part in: PyTorch needs seconds per run on the 10^5-node graphs.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    rounds = rounds or {}
    results: dict[str, dict[str, list[float]]] = {name: {} for name in runners}
    for i in range(repeat):
        for name, run in runners.items():
            if i >= rounds.get(name, repeat):
                continue
            gc.collect()  # every run starts from the same collector state; gc stays enabled
            for metric, value in run().items():
                results[name].setdefault(metric, []).append(value)
    return results


def steady(step: Callable[[], Any], steps: int) -> Callable[[], dict[str, float]]:
    """A runner: ``steps`` steps back to back as a training loop runs them (the collector on),
    then the collection of what they left, all timed; ms per step.

    With enough steps, the closing collection is a small part of the total.
    """
    def run() -> dict[str, float]:
        t0 = perf_counter()
        for _ in range(steps):
            step()
        gc.collect()
        return {"ms": 1e3 * (perf_counter() - t0) / steps}

    return run


def clean_heap(step: Callable[[], Any], steps: int) -> Callable[[], dict[str, float]]:
    """A runner: ms per step, each step timed alone after gc.collect() (outside the timing).

    Not what a training loop pays (it leaves the collector's work out): shown beside
    ``steady`` figures, named as clean-heap figures.
    """
    def run() -> dict[str, float]:
        total = 0.0
        for _ in range(steps):
            gc.collect()
            t0 = perf_counter()
            step()
            total += perf_counter() - t0
        return {"ms": 1e3 * total / steps}

    return run


def median(values: list[float] | None) -> float | None:
    """The median of the runs, None when the engine did not run."""
    return statistics.median(values) if values else None


def row(
    results: Mapping[str, Mapping[str, list[float]]],
    workload: str,
    metric: str,
    key: str,
    target: str = "",
    check: Callable[[Row], bool] | None = None,
) -> Row:
    """The row for ``results[engine][key]`` of each engine, with medians and its target checked."""
    runs = {name: list(results[name][key]) for name in ENGINES if key in results.get(name, {})}
    line = Row(
        workload,
        metric,
        median(runs.get("engine")),
        median(runs.get("floor")),
        median(runs.get("torch")),
        target=target,
        runs=runs,
    )
    if check is not None:
        line.passed = bool(check(line))
    return line


def against_floor(results: Mapping[str, Mapping[str, list[float]]], workload: str,
                  name: str, metric: str, target: str = "",
                  check: Callable[[Row], bool] | None = None, key: str = "ms") -> Row:
    """The row of ``results[name][key]`` against ``results["floor"][key]`` (medians), for a
    workload whose engines are named runners beside one floor; its target checked."""
    return row({"engine": results[name], "floor": results["floor"]}, workload, metric, key,
               target, check)


def ratio_at_most(limit: float) -> Callable[[Row], bool]:
    """A target: engine / floor ≤ limit."""

    def check(line: Row) -> bool:
        return line.ratio is not None and math.isfinite(line.ratio) and line.ratio <= limit

    return check


def engine_at_most(limit: float) -> Callable[[Row], bool]:
    """A target: the engine's own figure ≤ limit."""

    def check(line: Row) -> bool:
        return line.engine is not None and line.engine <= limit

    return check


def native_available() -> bool:
    """Whether the [native] extra (llvmlite) is installed: the native rows run only then."""
    return importlib.util.find_spec("llvmlite") is not None


def skipped_native(workload: str) -> Row:
    """The row that stands for a workload's native rows when llvmlite is not installed."""
    from micrograd.native import EXTRA

    return Row(workload, f"native rows skipped: they need {EXTRA}", None)


# ---- the machine -------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name as the OS reports it ("" when unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine(torch_version: str | None) -> dict[str, Any]:
    """What the numbers were measured on."""
    import micrograd

    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_build": " ".join(platform.python_build()),
        "executable": sys.executable,
        "micrograd": getattr(micrograd, "__version__", "?"),
        "torch": torch_version,
        "gc_enabled": gc.isenabled(),
        "gc_thresholds": list(gc.get_threshold()),
        "gc_frozen": gc.get_freeze_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# ---- the table ---------------------------------------------------------------------


def fmt(x: float | None) -> str:
    """A number with about 3 significant digits, thousands separated; "—" for none."""
    if x is None:
        return "—"
    if x != x:
        return "nan"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table (Markdown-compatible)."""
    header = ["workload", "metric", "engine", "floor", "engine/floor", "torch", "target", ""]
    body = []
    for r in rows:
        ratio = r.ratio
        verdict = "" if r.passed is None else ("PASS" if r.passed else "FAIL")
        body.append([
            r.workload, r.metric, fmt(r.engine), fmt(r.floor),
            "—" if ratio is None else f"{ratio:.1f}x" if ratio >= 0.95 else f"{ratio:.2g}x",
            fmt(r.torch), r.target, verdict,
        ])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def cells(line: list[str]) -> str:
        padded = [c.rjust(w) if i in right else c.ljust(w)
                  for i, (c, w) in enumerate(zip(line, widths))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        ("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)
    ) + "|"
    return "\n".join([cells(header), rule, *(cells(line) for line in body)])
