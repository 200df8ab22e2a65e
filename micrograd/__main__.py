"""The command line: ``python -m micrograd`` (or ``micrograd``) runs the main job; see --help.

Thin on purpose: it parses plain types, calls the library, and prints. The library's own
ValueError / TypeError (a bad lr, an unknown activation, a data set too large) is the
one-line message of exit status 2; the defaults come from ``micrograd.data``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, cast

from micrograd import data as datasets
from micrograd._files import check_writable
from micrograd._numbers import clip, preview
from micrograd.engine import Value
from micrograd.graph import FORMATS, GraphvizFailed, GraphvizNotFound, render
from micrograd.nn import (
    MLP,
    ModelMismatch,
    Module,
    Net221,
    cross_entropy,
    half_squared_error,
    hinge,
)
from micrograd.optim import OPTIMIZERS, correct, gradient_descent, train
from micrograd.trace import derivation

MAIN_EPOCHS = 3000
MAIN_LR = 0.1

# The command line's bounds on sizes, so that a run stays within minutes and memory (the
# library checks the rest, and bounds the data sets itself: data.MAX_SAMPLES):
BOUNDS = {"epochs": (0, 1_000_000), "max_steps": (0, 1_000_000), "lines": (1, 10_000)}
MAX_WIDTH = 1_000  # train --hidden: neurons in a layer
MAX_PARAMETERS = 1_000_000  # train --hidden: parameters in all (1,000,000 take ~600 MB)

DOT_HINT = "apt-get install graphviz / brew install graphviz"
DRAWINGS = " ".join(f for f in FORMATS if f != ".html")  # .svg .png .pdf .dot


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2, never a usage dump or a traceback."""

    def error(self, message: str) -> NoReturn:
        _fail(self.prog, f"{message} (see {self.prog} --help)")


def _fail(prog: str, message: str, status: int = 2) -> NoReturn:
    """Exit with ``prog: error: message`` on one line, each quoted input cut to ~60 characters."""
    message = re.sub(r"'[^'\n]{61,}'", lambda m: preview(m[0][1:-1]), message)
    message = clip(message.replace("\r", "\\r").replace("\n", "\\n"), 1000)
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.exit(status)


class UsageError(Exception):
    """A bad argument found after parsing (a bad file to --load, an unknown format)."""


# ---- small helpers -------------------------------------------------------------------


def _numbers(kind: type) -> Callable[[str], list[Any]]:
    """An argparse type: comma-separated numbers of one kind ("16,16", "-1,1")."""
    def parse(text: str) -> list[Any]:
        return [kind(part) for part in text.split(",")]
    parse.__name__ = f"comma-separated {kind.__name__}"  # argparse: "invalid ... value"
    return parse


def _check_numbers(args: argparse.Namespace) -> None:
    """Every number given is finite, and every size within BOUNDS: before any work."""
    for dest, value in vars(args).items():
        option = "--" + dest.replace("_", "-")
        if any(isinstance(x, float) and not math.isfinite(x)
               for x in (value if isinstance(value, list) else [value])):
            raise UsageError(f"argument {option}: must be a finite number, "
                             f"got {preview(value)}")
        low, high = BOUNDS.get(dest, (0, 0))
        if isinstance(value, int) and dest in BOUNDS and not low <= value <= high:
            raise UsageError(f"argument {option}: must be from {low} to {high:,}, "
                             f"got {preview(value)}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _print_parameters(title: str, model: Module) -> None:
    print(title)
    pairs = model.named_parameters()
    width = max(len(name) for name, _ in pairs)
    for name, p in pairs:
        print(f"  {name:<{width}} = {p.data:+.4f}")


def _every(count: int, lines: int) -> int:
    """A round stride (1, 2, 5, 10, 20, 50, …) that prints about `lines` of `count` rows."""
    stride = 1
    while count / stride > lines:
        for factor in (2, 5, 10):
            if count / (stride * factor) <= lines or factor == 10:
                stride *= factor
                break
    return stride


def _print_losses(losses: Sequence[float], lines: int = 10) -> None:
    every = _every(len(losses), lines)
    for epoch in range(len(losses)):
        if (epoch + 1) % every == 0 or epoch in (0, len(losses) - 1):
            print(f"  epoch {epoch + 1:>6}  loss {losses[epoch]:.6g}")


def _check_output(option: str, path: str) -> None:
    """UsageError naming the user's path if a file cannot be written there (before any work)."""
    try:
        check_writable(path)
    except OSError as err:
        raise UsageError(f"{option} {preview(path, 250)}: cannot write there: "
                         f"{err.strerror or err}") from None


def _check_graph_out(out: str, fallback: bool) -> Path:
    """The --out path, checked before any work: a known suffix, a writable place, and dot."""
    _check_output("--out", out)
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--out {preview(out, 250)}: unknown file suffix "
                         f"{preview(path.suffix) if path.suffix else '(none)'}; "
                         f"use one of {', '.join(FORMATS)}")
    no_dot = suffix != ".dot" and shutil.which("dot") is None
    if no_dot and not fallback:
        raise UsageError(f"--out {preview(out, 250)}: a {suffix} file needs Graphviz's `dot` "
                         f"program, which is not on PATH ({DOT_HINT}); .dot needs none")
    if no_dot:
        _check_output("--out", str(path.with_suffix(".dot")))  # written instead
    elif fallback and suffix not in (".dot", ".html"):
        _check_output("--out", str(path.with_suffix(".html")))  # the main job's page beside it
    return path


def _write_graph(root: Value, out: Path, parameters: list[Value], local_grads: bool,
                 fallback: bool) -> Path:
    """Render root to out; without Graphviz's dot, write .dot instead when fallback is set."""
    options: dict[str, Any] = {"show_local_grads": local_grads, "parameters": parameters}
    if fallback and out.suffix != ".dot" and shutil.which("dot") is None:
        written = render(root, out.with_suffix(".dot"), **options)
        print(f"Graphviz's `dot` is not installed, so the graph is DOT source: {written} "
              f"({DOT_HINT}, then run again for {out.name})")
        return written
    written = render(root, out, **options)
    print(f"graph written to {written}")
    if written.suffix == ".html":
        print(f"open {written} in a browser to step through backprop")
    return written


def _one_sample(net: Net221, x1: float, x2: float, y: float) -> Value:
    """E = ½(y − ŷ)² for one sample, with its gradients filled in."""
    net.zero_grad()
    loss = half_squared_error(net(x1, x2), y)
    loss.backward()
    return loss


# ---- the main job ------------------------------------------------------------------------


def main_job(args: argparse.Namespace) -> int:
    """Train the notes' 2-2-1 network on XOR and draw the graph of one sample."""
    out = _check_graph_out(args.out, fallback=True)
    net = Net221(activation="tanh", seed=args.seed)
    xor = datasets.xor()
    print("The notes' 2-2-1 network (tanh) on XOR: per-sample gradient descent, "
          f"lr = {MAIN_LR}, up to {MAIN_EPOCHS} epochs, E = ½(y − ŷ)²\n")
    _print_parameters("parameters before training (random, seed "
                      f"{args.seed if args.seed is not None else Net221.DEFAULT_SEED}):", net)
    history = train(net, xor, lr=MAIN_LR, epochs=MAIN_EPOCHS, tol=1e-6, progress=False)
    print("\nmean loss per epoch:")
    _print_losses(history.losses)
    print(f"stopped after {_plural(history.epochs, 'epoch')}: {history.reason} "
          f"(largest |∂E/∂p| in the last epoch {history.max_grad:.2e})\n")
    _print_parameters("parameters after training:", net)
    print("\npredictions:")
    right = cast(list[bool], correct(net, xor))  # targets 0/1: a class each
    for ((x1, x2), y), ok in zip(xor, right):
        y_hat = net(x1, x2).data
        print(f"  x = ({x1:g}, {x2:g})  y = {y:g}  ŷ = {y_hat:.4f}  {'right' if ok else 'WRONG'}")
    print(f"{sum(right)}/4 right\n")
    (x1, x2), y = xor[2]
    loss = _one_sample(net, x1, x2, y)
    print(f"the graph of the sample x = ({x1:g}, {x2:g}), y = {y:g}, with its gradients:")
    written = _write_graph(loss, out, net.parameters(), local_grads=True, fallback=True)
    if written.suffix != ".dot" and out.suffix.lower() != ".html":  # and the page beside it
        _write_graph(loss, out.with_suffix(".html"), net.parameters(), local_grads=True,
                     fallback=False)
    return 0


# ---- subcommands -------------------------------------------------------------------------

# name -> (the loss, how it is written, the targets of two classes it wants)
LOSSES: dict[str, tuple[Callable[[Any, Any], Value], str, tuple[Any, Any]]] = {
    "half_squared_error": (half_squared_error, "½(y − ŷ)²", (0.0, 1.0)),
    "hinge": (hinge, "hinge", (-1.0, 1.0)),
    "cross_entropy": (cross_entropy, "cross-entropy", (0, 1)),
}


def _model(args: argparse.Namespace, classes: int) -> Net221 | MLP:
    """The model the options ask for; UsageError for a bad mix or an --hidden over the bounds."""
    if args.model == "net221":
        if args.loss == "cross_entropy":
            raise UsageError("net221 has one output; --loss cross_entropy needs --model mlp")
        return Net221(activation=args.activation or "tanh", seed=args.seed)
    sizes = [2, *args.hidden, classes if args.loss == "cross_entropy" else 1]
    count = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    if max(args.hidden) > MAX_WIDTH or count > MAX_PARAMETERS:
        raise UsageError(f"--hidden {preview(','.join(map(str, args.hidden)))}: at most "
                         f"{MAX_WIDTH:,} neurons a layer and {MAX_PARAMETERS:,} parameters in "
                         f"all (layers × width); this is {count:,}")
    return MLP(2, sizes[1:], activation=args.activation or "relu", seed=args.seed)


def _describe(model: Net221 | MLP) -> str:
    """Which model runs: "Net221 2-2-1 (tanh)", "MLP 2-16-16-3 (relu)"."""
    sizes = [2, 2, 1] if isinstance(model, Net221) else [model.nin, *model.nouts]
    return f"{type(model).__name__} {'-'.join(map(str, sizes))} ({model.activation})"


def _load(model: Module, path: str) -> None:
    """model.load(path); a missing file, or one holding another model, is a UsageError."""
    try:
        model.load(path)
    except OSError as err:
        raise UsageError(f"--load {preview(path, 250)}: cannot read: "
                         f"{err.strerror or err}") from None
    except ModelMismatch as err:
        raise UsageError(f"{err}{_model_options(err.kind, err.config)}") from None


def _model_options(kind: Any, config: Any) -> str:
    """The options that make the model a saved file holds, as a hint ("" if it is no model)."""
    if not isinstance(config, dict) or kind not in ("Net221", "MLP"):
        return ""
    nouts = config.get("nouts")
    options = "--model net221" if kind == "Net221" else "--model mlp"
    if kind == "MLP" and isinstance(nouts, list) and all(isinstance(n, int) for n in nouts):
        options += f" --hidden {','.join(map(str, nouts[:-1]))}" if len(nouts) > 1 else ""
        options += f" --loss cross_entropy ({nouts[-1]} classes)" if nouts[-1:] > [1] else ""
    if isinstance(config.get("activation"), str):
        options += f" --activation {preview(config['activation'])}"
    return f"; it loads with {options}"


def cmd_train(args: argparse.Namespace) -> int:
    """Train a Net221 or an MLP on a small data set; print the losses and the accuracy."""
    dataset = datasets.DATASETS[args.dataset]
    args.loss = args.loss or dataset.loss
    args.model = args.model or ("mlp" if args.loss == "cross_entropy" else "net221")
    if dataset.classes > 2 and args.loss != "cross_entropy":
        raise UsageError(f"--loss {args.loss} is for two classes; {args.dataset} has "
                         f"{dataset.classes}: use --loss cross_entropy")
    if args.save is not None:
        _check_output("--save", args.save)
    loss, loss_name, labels = LOSSES[args.loss]
    samples = dataset.samples(args.n, args.noise, args.seed if args.seed is not None else 0,
                              labels)
    model = _model(args, dataset.classes)
    if args.load is not None:
        _load(model, args.load)
    lr = args.lr if args.lr is not None else datasets.LR[args.optimizer]
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), lr=lr)  # checks lr, before work
    epochs = args.epochs if args.epochs is not None else dataset.epochs
    if args.load is not None:
        print(f"loaded parameters from {args.load}")
    print(f"{_describe(model)} on {args.dataset} ({len(samples)} samples), loss {loss_name}, "
          f"{args.optimizer} lr {lr}, {'full batch' if args.batch else 'per sample'}")
    history = train(model, samples, loss=loss, lr=lr, epochs=epochs, tol=args.tol,
                    per_sample=not args.batch, optimizer=optimizer)
    _print_losses(history.losses)
    print(f"stopped after {_plural(history.epochs, 'epoch')}: {history.reason}")
    if history.accuracy is not None:
        right = round(history.accuracy * len(samples))
        print(f"training accuracy {right}/{len(samples)} ({100 * history.accuracy:.1f}%)")
    if args.save is not None:
        model.save(args.save)
        print(f"saved parameters to {args.save}")
    return 0


def cmd_descend(args: argparse.Namespace) -> int:
    """The notes' part 1: w ← w − lr·f'(w) until |f'(w)| < tol, on a named function."""
    function = datasets.FUNCTIONS[args.function]
    w0 = args.w0 if args.w0 is not None else list(function.w0)
    if len(w0) != len(function.w0):
        raise UsageError(f"--w0: {args.function} takes {len(function.w0)} number(s), "
                         f"got {len(w0)}")
    start: float | list[float] = w0[0] if len(w0) == 1 else w0
    lr = args.lr if args.lr is not None else function.lr
    max_steps = args.max_steps if args.max_steps is not None else function.max_steps
    result = gradient_descent(function.f, start, lr=lr, tol=args.tol, max_steps=max_steps)
    print(f"{function.title}, w0 = {start}, lr = {lr}, tol = {args.tol}")
    every = _every(len(result.path), args.lines)
    for j, (k, (w, value, grad)) in enumerate(zip(result.path_steps, result.path)):
        if j % every == 0 or j == len(result.path) - 1:
            print(f"  step {k:>6}  w = {_point(w)}  f(w) = {value:.6g}  f'(w) = {_point(grad)}")
    print(f"stopped after {_plural(result.steps, 'step')}: {result.reason}; "
          f"w = {_point(result.w)}, f(w) = {result.value:.6g}")
    return 0


def _point(w: Any) -> str:
    if isinstance(w, tuple):
        return "(" + ", ".join(f"{x:.6g}" for x in w) + ")"
    return f"{w:.6g}"


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw the graph of one 2-2-1 sample with its gradients."""
    out = _check_graph_out(args.out, fallback=False)
    net = Net221(activation=args.activation, seed=args.seed)
    loss = _one_sample(net, args.x1, args.x2, args.y)
    _write_graph(loss, out, net.parameters(), args.local_grads, fallback=False)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """The notes' derivation, corrected, with numbers: each ∂E/∂p as a chain-rule product."""
    net = Net221(activation=args.activation, seed=args.seed)
    loss = _one_sample(net, args.x1, args.x2, args.y)
    if args.code:
        return _print_code(net, loss, args)
    print(f"E = ½(y − ŷ)² for x = ({args.x1:g}, {args.x2:g}), y = {args.y:g}, "
          f"activation {net.activation}: ŷ = {loss.children[0].data:.6g}, E = {loss.data:.6g}\n")
    worst = 0.0
    for p in net.parameters():
        partial = derivation(loss, p)  # the text, and the total as a float
        print(f"{partial}\n")
        total = partial.total
        same = total == p.grad or (math.isnan(total) and math.isnan(p.grad))
        difference = 0.0 if same else abs(total - p.grad)
        if not difference <= worst:  # a NaN difference counts as the worst
            worst = difference
    print(f"check: every total above equals backward()'s gradient "
          f"(largest difference {worst:.1e})")
    return 0 if worst == 0.0 else 1


def _print_code(net: Net221, loss: Value, args: argparse.Namespace) -> int:
    """The sample's graph as micrograd.compile writes it: the chain rule unrolled as Python."""
    from micrograd.compiler import compile

    graph = compile(loss)
    print(f"# E = ½(y − ŷ)² for x = ({args.x1:g}, {args.x2:g}), y = {args.y:g}, activation "
          f"{net.activation}, as micrograd.compile(E) writes it\n")
    print(graph.source)
    expected = [p.grad for p in net.parameters()]  # from backward()
    net.zero_grad()
    graph()
    same = [p.grad for p in net.parameters()] == expected
    print(f"# check: running it gives backward()'s nine gradients "
          f"{'bit for bit' if same else 'NOT exactly'}")
    return 0 if same else 1


# ---- the parser --------------------------------------------------------------------------


def _add_sample_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activation", default="tanh", help="the hidden layer's activation "
                   "(default tanh)")
    p.add_argument("--seed", type=int, default=None, help="initialisation seed")
    p.add_argument("--x1", type=float, default=1.0, help="input x1 (default 1)")
    p.add_argument("--x2", type=float, default=0.0, help="input x2 (default 0)")
    p.add_argument("--y", type=float, default=1.0, help="target y (default 1)")


def _subcommand(sub: Any, name: str, run: Callable[[argparse.Namespace], int], help: str,
                description: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=description)
    p.set_defaults(run=run, prog=p.prog)
    return cast(argparse.ArgumentParser, p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="micrograd",
        description="A tiny scalar autograd engine. With no command: train the notes' 2-2-1 "
                    "network on XOR and draw the graph of one sample.",
    )
    parser.add_argument("--seed", type=int, default=None,
                        help="the main job's initialisation seed (default: Net221's)")
    parser.add_argument("--out", default="net221.svg",
                        help=f"the main job's graph file ({' '.join(FORMATS)}; default "
                             "net221.svg); beside a drawing, the backprop page (.html)")
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)

    names = ", ".join(f"{name} {f.lr:g}" for name, f in datasets.FUNCTIONS.items())
    p = _subcommand(sub, "train", cmd_train, "train a network on a small data set",
                    "Train Net221 or an MLP; print the losses and the accuracy.")
    p.add_argument("--dataset", choices=list(datasets.DATASETS), default="xor")
    p.add_argument("--model", choices=["net221", "mlp"], default=None,
                   help="default net221; mlp with --loss cross_entropy")
    p.add_argument("--loss", choices=sorted(LOSSES), default=None, help="default: " + ", ".join(
        f"{d.loss} for {name}" for name, d in datasets.DATASETS.items()))
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd",
                   help="sgd (the notes' p ← p − lr·∂E/∂p; the default), adam or adamw")
    p.add_argument("--hidden", type=_numbers(int), default=[16, 16],
                   help=f"MLP hidden layer sizes, comma-separated (default 16,16; at most "
                        f"{MAX_WIDTH:,} a layer and {MAX_PARAMETERS:,} parameters in all)")
    p.add_argument("--activation", default=None,
                   help="any registered one-input op (default tanh for net221, relu for mlp)")
    p.add_argument("--lr", type=float, default=None, help="step size (default " + ", ".join(
        f"{lr:g} for {name}" for name, lr in datasets.LR.items()) + ")")
    p.add_argument("--epochs", type=int, default=None, help="epoch cap (default: " + ", ".join(
        f"{d.epochs} for {name}" for name, d in datasets.DATASETS.items()) + "; at most "
        f"{BOUNDS['epochs'][1]:,})")
    p.add_argument("--tol", type=float, default=1e-6,
                   help="stop when the largest |∂E/∂p| is below this (default 1e-6)")
    p.add_argument("--seed", type=int, default=None, help="initialisation (and data) seed")
    p.add_argument("--batch", action="store_true", help="full-batch steps instead of per sample")
    p.add_argument("--n", type=int, default=100, help="moons/circles size, spiral points per "
                   f"class (default 100, at most {datasets.MAX_SAMPLES:,})")
    p.add_argument("--noise", type=float, default=None, help="point noise (default: " + ", ".join(
        f"{d.noise} for {name}" for name, d in datasets.DATASETS.items() if d.sized) + ")")
    p.add_argument("--save", metavar="PATH", help="save the trained parameters as JSON")
    p.add_argument("--load", metavar="PATH", help="start from parameters saved with --save")

    p = _subcommand(sub, "descend", cmd_descend,
                    "gradient descent on a named function (the notes' part 1)",
                    "w ← w − lr·f'(w) until |f'(w)| < tol; a large --lr diverges.")
    p.add_argument("--function", choices=list(datasets.FUNCTIONS), default="quadratic")
    p.add_argument("--w0", type=_numbers(float), default=None,
                   help="start, comma-separated (--w0 -1,1 works)")
    p.add_argument("--lr", type=float, default=None, help=f"step size (default {names})")
    p.add_argument("--tol", type=float, default=1e-8, help="(default 1e-8)")
    p.add_argument("--max-steps", type=int, default=None, help="step cap (default " + ", ".join(
        f"{name} {f.max_steps}" for name, f in datasets.FUNCTIONS.items()) + "; at most "
        f"{BOUNDS['max_steps'][1]:,})")
    p.add_argument("--lines", type=int, default=12, help="path lines to print (default 12)")

    p = _subcommand(sub, "graph", cmd_graph, "draw the graph of one 2-2-1 sample",
                    "Render E = ½(y − ŷ)² of one sample with its gradients.")
    _add_sample_options(p)
    p.add_argument("--out", default="net221.svg",
                   help=f"output file; the suffix picks the format: {DRAWINGS}, or .html for a "
                        "page that steps through backprop")
    p.add_argument("--local-grads", action="store_true",
                   help="write each edge's local derivative on it")

    p = _subcommand(sub, "explain", cmd_explain, "the chain-rule derivation of all nine partials",
                    "The notes' derivation, corrected, with numbers.")
    _add_sample_options(p)
    p.add_argument("--code", action="store_true",
                   help="print the sample's forward and backward pass as the Python that "
                        "micrograd.compile generates")
    return parser


def _negative_values(argv: Sequence[str]) -> list[str]:
    """["--w0", "-1,1"] as ["--w0=-1,1"]: argparse takes a value starting with - for an option."""
    joined: list[str] = []
    for arg in argv:
        if joined and re.match(r"--\w[^=]*$", joined[-1]) and re.match(r"-\.?\d", arg):
            joined[-1] += "=" + arg
        else:
            joined.append(arg)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(_negative_values(sys.argv[1:] if argv is None else argv))
    run: Callable[[argparse.Namespace], int] = getattr(args, "run", main_job)
    prog = getattr(args, "prog", "micrograd")
    try:
        _check_numbers(args)
        return run(args)
    except (UsageError, ValueError, TypeError, FileNotFoundError) as err:
        _fail(prog, str(err))  # a bad argument: status 2
    except BrokenPipeError:  # `python -m micrograd explain | head`: the reader left
        sys.stdout = open(os.devnull, "w")  # keep Python quiet at exit
        return 0
    except (GraphvizNotFound, GraphvizFailed, OSError) as err:
        _fail(prog, str(err), status=1)  # no argument can fix it


if __name__ == "__main__":
    sys.exit(main())
