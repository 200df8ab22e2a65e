"""The benchmark suite: every workload, a table on stdout and the numbers as JSON.

Run from the repository root (after ``pip install .``)::

    python -m benchmarks                 # full run, about a minute or two on 2 cores
    python -m benchmarks --quick         # a few seconds: a smoke test of every workload
    python -m benchmarks --repeat 11 --out /tmp/bench.json
    python -m benchmarks --versus "micrograd 0.1.0=DIR"   # add another engine's karpathy row

Each workload is measured for the engine, for a plain-Python floor written by hand
in the workload's own file (floats, hand-derived gradients, no graph), and for
PyTorch on 0-d float64 tensors (one thread) when torch is installed; runs of the
engines are interleaved and each figure is the median of the runs. The headline
is engine/floor.

``--versus NAME=DIR`` adds a karpathy row for another engine importable as ``micrograd``
from DIR (micrograd 0.1.0 unpacked from its wheel: ``pip download micrograd==0.1.0
--no-deps`` and unzip it into DIR; an older checkout: ``git archive REV micrograd | tar x
-C DIR``), timed in a subprocess. Nothing is downloaded at run time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks import (
    chain,
    compile_size,
    gpt,
    harness,
    karpathy,
    memory,
    mlp_step,
    mnist,
    net221,
    record,
    wide,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"
WORKLOADS = ("karpathy", "mlp_step", "mnist", "chain", "wide", "memory", "net221", "compile",
             "record", "gpt")


@dataclass
class Config:
    """Sizes and inner run counts of every workload (per engine: engine, floor, torch)."""

    repeat: int
    mlp_points: int
    mlp_inner: dict[str, int]
    chain_sizes: list[tuple[int, dict[str, int]]]
    wide_n: int
    memory_n: int
    net221_epochs: dict[str, int]
    karpathy_points: int
    karpathy_inner: dict[str, int]
    record_sizes: list[int]
    compile_sizes: list[int]
    compile_widths: list[int]
    native_sizes: list[int]
    mnist_images: int = 8  # random images the mnist steps cycle through
    mnist_steps: int = 100  # the floor's and the compiled step's per run (eager: a 20th)
    gpt_round: int = 20  # names per round of the gpt steps (each engine, the reference too)
    gpt_whole: int = 1000  # steps of the whole compiled gpt run, in a subprocess
    gpt_check: int = 50  # steps of the same-math check against the reference
    torch_rounds_large: int = 3  # PyTorch runs in this many rounds on chain N = 100,000
    torch_rounds_wide: int = 1  # and on wide (about 10 s per run)


FULL = Config(
    repeat=7,
    mlp_points=100,
    mlp_inner={"engine": 3, "floor": 20, "torch": 1, "compiled": 20, "trainer": 20,
               "native trainer": 200},
    chain_sizes=[
        (200, {"engine": 50, "floor": 500, "torch": 5}),
        (100_000, {"engine": 1, "floor": 1, "torch": 1}),
    ],
    wide_n=100_000,
    memory_n=100_000,
    net221_epochs={"engine": 100, "floor": 1000, "torch": 10, "train": 1000},
    karpathy_points=100,
    karpathy_inner={"engine": 5, "compiled": 200, "floor": 200, "torch": 1, "trainer": 200,
                    "native": 200, "native trainer": 1000},
    compile_sizes=[10_000, 100_000, 1_000_000],
    compile_widths=[10_000, 100_000],
    native_sizes=[10_000, 100_000],
    record_sizes=[1_000, 10_000, 100_000],
)

QUICK = Config(
    repeat=1,
    mlp_points=10,
    mlp_inner={"engine": 1, "floor": 1, "torch": 1, "compiled": 1, "trainer": 1,
               "native trainer": 1},
    chain_sizes=[(200, {"engine": 1, "floor": 1, "torch": 1}),
                 (2_000, {"engine": 1, "floor": 1, "torch": 1})],
    wide_n=2_000,
    memory_n=2_000,
    net221_epochs={"engine": 2, "floor": 2, "torch": 2},
    karpathy_points=4,
    karpathy_inner={"engine": 1, "compiled": 2, "floor": 2, "torch": 1, "trainer": 2,
                    "native": 2, "native trainer": 2},
    compile_sizes=[1_000, 4_000],
    compile_widths=[1_000, 4_000],
    native_sizes=[1_000, 4_000],
    record_sizes=[1_000, 2_000],
    mnist_images=2,
    mnist_steps=2,
    gpt_round=2,
    gpt_whole=5,
    gpt_check=3,
)


def load_torch(wanted: bool) -> ModuleType | None:
    """PyTorch on one thread, or None when not wanted or not installed."""
    if not wanted:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def run(config: Config, torch: ModuleType | None, only: Sequence[str] = WORKLOADS,
        progress: bool = True, versus: dict[str, str] | None = None) -> list[harness.Row]:
    """Every selected workload's rows, in the order of WORKLOADS."""
    rows: list[harness.Row] = []
    r = config.repeat
    steps = {
        "karpathy": lambda: karpathy.run(config.karpathy_points, config.karpathy_inner, r, torch,
                                         versus, compile_runs=min(r, 3)),
        "mlp_step": lambda: mlp_step.run(config.mlp_points, config.mlp_inner, r, torch),
        "mnist": lambda: mnist.run(config.mnist_images, config.mnist_steps, r),
        "chain": lambda: chain.run(config.chain_sizes, r, torch, config.torch_rounds_large),
        "wide": lambda: wide.run(config.wide_n, r, torch, config.torch_rounds_wide),
        "memory": lambda: memory.run(config.memory_n),
        "net221": lambda: net221.run(config.net221_epochs, r, torch),
        "compile": lambda: compile_size.run(config.compile_sizes, config.compile_widths,
                                             config.native_sizes),
        "record": lambda: record.run(config.record_sizes, min(r, 3)),
        "gpt": lambda: gpt.run(config.gpt_round, min(r, 5), config.gpt_whole, config.gpt_check),
    }
    for name in WORKLOADS:
        if name not in only:
            continue
        t0 = time.perf_counter()
        if progress:
            print(f"running {name} ...", end="", file=sys.stderr, flush=True)
        rows += steps[name]()
        if progress:
            print(f" {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def header(info: dict[str, Any], config: Config, quick: bool) -> str:
    """The lines above the table: what was measured, and on what."""
    torch = f"torch {info['torch']} (1 thread)" if info["torch"] else "torch not measured"
    load = ("load average {:.2f} {:.2f} {:.2f} before the run (1, 5, 15 min)".format(
        *info["load_average"]) if info["load_average"] else "unknown")
    return "\n".join([
        "micrograd benchmarks: engine vs a hand-written plain-Python floor, same run"
        + (" [--quick: smoke sizes, not for quoting]" if quick else ""),
        f"machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs",
        f"python:  {info['python']}; {torch}",
        f"gc:      {'on' if info['gc_enabled'] else 'OFF'}, thresholds"
        f" {tuple(info['gc_thresholds'])}; gc.freeze() after the imports"
        f" ({info['gc_frozen']:,} objects)",
        f"load:    {load}",
        f"figures: medians of {config.repeat} interleaved runs (engine, floor, torch, engine, ...);"
        " lower is better",
        f"         torch: {config.torch_rounds_large} runs on chain N=100,000 and"
        f" {config.torch_rounds_wide} on wide (seconds each); memory: one tracemalloc run",
    ])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time the engine against a hand-written float floor (and PyTorch).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write the JSON (default {DEFAULT_OUT.name} in benchmarks/)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run each: a smoke test in a few seconds")
    parser.add_argument("--repeat", type=int, default=None,
                        help="interleaved runs per workload, median reported"
                             f" (default {FULL.repeat}, {QUICK.repeat} with --quick)")
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, default=list(WORKLOADS),
                        metavar="WORKLOAD", help=f"run only these: {', '.join(WORKLOADS)}")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    parser.add_argument("--versus", action="append", default=[], metavar="NAME=DIR",
                        help="time the karpathy step of the micrograd in DIR too (repeatable)")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    args.versus_dirs = {}
    for item in args.versus:
        name, _, directory = item.partition("=")
        if not name or not directory or not (Path(directory) / "micrograd").is_dir():
            parser.error(f"--versus wants NAME=DIR with DIR/micrograd a package, got {item!r}")
        args.versus_dirs[name] = directory
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, write the JSON; 0 on success."""
    args = parse_args(argv)
    base = QUICK if args.quick else FULL
    config = Config(**{**base.__dict__, "repeat": args.repeat or base.repeat})
    torch = load_torch(not args.no_torch)
    # The collector stays on with its default thresholds. What the imports made (PyTorch
    # alone: ~150,000 objects) is moved out of its sight, so that each full collection
    # scans the program's own objects only, and the engine measures the same with or
    # without torch loaded.
    gc.collect()
    gc.freeze()
    info = harness.machine(torch.__version__ if torch is not None else None)
    started = time.perf_counter()
    rows = run(config, torch, args.only, versus=args.versus_dirs)
    seconds = time.perf_counter() - started
    print(header(info, config, args.quick))
    print()
    print(harness.table(rows))
    verdicts = [r.passed for r in rows if r.passed is not None]
    print()
    print(f"targets: {sum(verdicts)}/{len(verdicts)} met; {seconds:.0f} s in all")
    report = {
        "machine": info,
        "config": {**config.__dict__, "quick": args.quick, "workloads": list(args.only),
                   "versus": args.versus_dirs},
        "seconds": seconds,
        "rows": [r.as_json() for r in rows],
        "targets_met": all(verdicts),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0
