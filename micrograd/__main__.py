"""The command line: ``python -m micrograd`` (or ``micrograd``) runs the main job; see --help."""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, cast

from micrograd import data as datasets
from micrograd._files import check_writable
from micrograd.engine import Value
from micrograd.graph import FORMATS, GraphvizFailed, GraphvizNotFound, render
from micrograd.losses import cross_entropy, half_squared_error, hinge
from micrograd.nn import MLP, Module, Net221
from micrograd.optim import OPTIMIZERS
from micrograd.trace import explain
from micrograd.train import correct, gradient_descent, train

MAIN_EPOCHS = 3000
MAIN_LR = 0.1

# Upper bounds of the size arguments (a run stays within minutes and memory):
MAX_EPOCHS = 1_000_000  # train --epochs
MAX_SAMPLES = 100_000  # train --n
MAX_WIDTH = 1_000  # train --hidden, each layer
MAX_STEPS = 1_000_000  # descend --max-steps


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2, never a usage dump or a traceback."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class UsageError(Exception):
    """A bad argument found after parsing (a bad file to --load, an unknown format)."""


# ---- small helpers -------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:+.4f}"


def _print_parameters(title: str, model: Module) -> None:
    print(title)
    pairs = model.named_parameters()
    width = max(len(name) for name, _ in pairs)
    for name, p in pairs:
        print(f"  {name:<{width}} = {_fmt(p.data)}")


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
    shown = [e for e in range(len(losses)) if (e + 1) % every == 0 or e == 0]
    if shown[-1] != len(losses) - 1:
        shown.append(len(losses) - 1)
    for epoch in shown:
        print(f"  epoch {epoch + 1:>6}  loss {losses[epoch]:.6g}")


def _finite_float(text: str) -> float:
    """A finite number from the command line: nan, inf and 1e400 (inf as a float) refused."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return x


def _float_arg(text: str, positive: bool) -> float:
    """A finite number from the command line: > 0 if positive, else >= 0."""
    x = _finite_float(text)
    if not (x > 0 if positive else x >= 0):
        bound = "a positive finite number" if positive else "a finite number >= 0"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
    return x


def _positive_float(text: str) -> float:
    return _float_arg(text, positive=True)


def _non_negative_float(text: str) -> float:
    return _float_arg(text, positive=False)


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _int_up_to(upper: int) -> Callable[[str], int]:
    """An argparse type: an int from 1 to upper."""
    def parse(text: str) -> int:
        n = positive_int(text)
        if n > upper:
            raise argparse.ArgumentTypeError(f"must be <= {upper:,}, got {n}")
        return n
    return parse


def _int_list(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of sizes: {text!r}") from None
    if not sizes or min(sizes) < 1 or max(sizes) > MAX_WIDTH:
        raise argparse.ArgumentTypeError(
            f"layer sizes must be from 1 to {MAX_WIDTH:,}, got {text!r}")
    return sizes


def _float_list(text: str) -> list[float]:
    try:
        return [_finite_float(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of finite numbers: {text!r}") from None


def _check_output(option: str, path: str) -> None:
    """UsageError naming the user's path if a file cannot be written there (before any work)."""
    try:
        check_writable(path)
    except OSError as err:
        raise UsageError(f"{option} {path!r}: cannot write there: {err.strerror or err}") from None


def _check_graph_out(out: str, fallback: bool) -> Path:
    """The --out path, checked before any work: a known suffix and a writable place."""
    _check_output("--out", out)
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"--out {out!r}: unknown file suffix {path.suffix or '(none)'!r}; "
                         f"use one of {', '.join(FORMATS)}")
    if fallback and path.suffix.lower() != ".dot" and shutil.which("dot") is None:
        _check_output("--out", str(path.with_suffix(".dot")))  # written instead
    elif fallback and path.suffix.lower() not in (".dot", ".html"):
        _check_output("--out", str(path.with_suffix(".html")))  # the main job's page beside it
    return path


def _load(model: Module, path: str) -> None:
    """model.load(path); a missing or unreadable file is the user's argument: UsageError."""
    try:
        model.load(path)
    except OSError as err:
        raise UsageError(f"--load {path!r}: cannot read: {err.strerror or err}") from None


def _write_graph(root: Value, out: Path, parameters: list[Value], local_grads: bool,
                 fallback: bool) -> Path:
    """Render root to out; without Graphviz's dot, write .dot instead when fallback is set."""
    options: dict[str, Any] = {"show_local_grads": local_grads, "parameters": parameters}
    if fallback and out.suffix != ".dot" and shutil.which("dot") is None:
        written = render(root, out.with_suffix(".dot"), **options)
        print(f"Graphviz's `dot` is not installed, so the graph is DOT source: {written} "
              "(apt-get install graphviz / brew install graphviz, then run again for "
              f"{out.name})")
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
    page = None  # the training page beside the drawing (needs Graphviz's dot)
    if out.suffix.lower() != ".dot" and shutil.which("dot") is not None:
        page = out if out.suffix.lower() == ".html" else out.with_suffix(".html")
    history = train(net, xor, lr=MAIN_LR, epochs=MAIN_EPOCHS, tol=1e-6, progress=False,
                    page=page)
    print("\nmean loss per epoch:")
    _print_losses(history.losses)
    print(f"stopped after {history.epochs} epochs: {history.reason} "
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
    if out.suffix.lower() != ".html":
        _write_graph(loss, out, net.parameters(), local_grads=True, fallback=True)
    if page is not None:
        print(f"training page written to {page}: open it in a browser to replay the run, "
              "epoch by epoch, and step through each sample's backward pass (it opens at "
              "epoch 0, sample 0, step 0: the random weights and the first update to come)")
    return 0


# ---- subcommands -------------------------------------------------------------------------

_GATES = {"xor": datasets.xor, "and": datasets.and_, "or": datasets.or_}
LOSSES: dict[str, tuple[Callable[[Any, Any], Value], str]] = {
    "half_squared_error": (half_squared_error, "½(y − ŷ)²"),
    "hinge": (hinge, "hinge"),
    "cross_entropy": (cross_entropy, "cross-entropy"),
}
SPIRAL_EPOCHS = 50


def _train_defaults(args: argparse.Namespace) -> None:
    """Fill in the options whose default depends on the others; UsageError for a bad mix."""
    spiral = args.dataset == "spiral"
    if args.loss is None:
        args.loss = ("cross_entropy" if spiral else
                     "half_squared_error" if args.dataset in _GATES else "hinge")
    if args.model is None:
        args.model = "mlp" if args.loss == "cross_entropy" else "net221"
    if spiral and args.loss != "cross_entropy":
        raise UsageError(f"--loss {args.loss} is for two classes; the spiral has 3: "
                         "use --loss cross_entropy")
    if args.model == "net221" and args.loss == "cross_entropy":
        raise UsageError("net221 has one output; --loss cross_entropy needs --model mlp")
    if args.lr is None:
        args.lr = 0.1 if args.optimizer == "sgd" else 0.01
    if args.epochs is None:
        args.epochs = SPIRAL_EPOCHS if spiral else 1000
    if args.noise is None:
        args.noise = 0.2 if spiral else 0.1


def _dataset(args: argparse.Namespace) -> list[tuple[tuple[float, ...], Any]]:
    """The data set with the targets the loss wants: 0/1, ±1, or int classes."""
    seed = args.seed if args.seed is not None else 0
    if args.dataset == "spiral":
        return list(datasets.spiral(args.n, noise=args.noise, seed=seed))
    if args.dataset in _GATES:
        samples = _GATES[args.dataset]()
    else:
        make = datasets.moons if args.dataset == "moons" else datasets.circles
        samples = make(args.n, noise=args.noise, seed=seed, labels=(0.0, 1.0))
    if args.loss == "hinge":
        return [(x, 2.0 * t - 1.0) for x, t in samples]
    if args.loss == "cross_entropy":
        return [(x, int(t)) for x, t in samples]
    return list(samples)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a Net221 or an MLP on a small data set; print the losses and the accuracy."""
    _train_defaults(args)
    if args.save is not None:
        _check_output("--save", args.save)
    samples = _dataset(args)
    if args.model == "net221":
        model: Net221 | MLP = Net221(activation=args.activation or "tanh", seed=args.seed)
    else:
        classes = len({t for _, t in samples}) if args.loss == "cross_entropy" else 1
        model = MLP(2, [*args.hidden, classes], activation=args.activation or "relu",
                    seed=args.seed)
    if args.load is not None:
        _load(model, args.load)
        print(f"loaded parameters from {args.load}")
    loss, loss_name = LOSSES[args.loss]
    print(f"{args.model} ({model.activation}) on {args.dataset} ({len(samples)} samples), "
          f"loss {loss_name}, {args.optimizer} lr {args.lr}, "
          f"{'full batch' if args.batch else 'per sample'}")
    history = train(model, samples, loss=loss, lr=args.lr, epochs=args.epochs, tol=args.tol,
                    per_sample=not args.batch, optimizer=args.optimizer, page=args.page)
    _print_losses(history.losses)
    print(f"stopped after {history.epochs} epochs: {history.reason}")
    if history.accuracy is not None:
        right = round(history.accuracy * len(samples))
        print(f"training accuracy {right}/{len(samples)} ({100 * history.accuracy:.1f}%)")
    if args.save is not None:
        model.save(args.save)
        print(f"saved parameters to {args.save}")
    if args.page is not None:
        print(f"training page written to {args.page}: open it in a browser to replay the run")
    return 0


FUNCTIONS: dict[str, tuple[str, Callable[[Any], Value], list[float]]] = {
    "quadratic": ("f(w) = (w − 3)² + 1", lambda w: (w - 3) * (w - 3) + 1, [0.0]),
    "quartic": ("f(w) = w⁴ − 3w² + w (two local minima)", lambda w: w**4 - 3 * w * w + w, [2.0]),
    "rosenbrock": ("f(x, y) = (1 − x)² + 100·(y − x²)²",
                   lambda w: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2, [-1.0, 1.0]),
}


def cmd_descend(args: argparse.Namespace) -> int:
    """The notes' part 1: w ← w − lr·f'(w) until |f'(w)| < tol, on a named function."""
    title, f, default_w0 = FUNCTIONS[args.function]
    w0 = args.w0 if args.w0 is not None else default_w0
    if len(w0) != len(default_w0):
        raise UsageError(f"--w0: {args.function} takes {len(default_w0)} number(s), got {len(w0)}")
    start: float | list[float] = w0[0] if len(w0) == 1 else w0
    result = gradient_descent(f, start, lr=args.lr, tol=args.tol, max_steps=args.max_steps)
    print(f"{title}, w0 = {start}, lr = {args.lr}, tol = {args.tol}")
    every = _every(len(result.path), args.lines)
    for j, (k, (w, value, grad)) in enumerate(zip(result.path_steps, result.path)):
        if j % every == 0 or j == len(result.path) - 1:
            print(f"  step {k:>6}  w = {_point(w)}  f(w) = {value:.6g}  f'(w) = {_point(grad)}")
    print(f"stopped after {result.steps} steps: {result.reason}; w = {_point(result.w)}, "
          f"f(w) = {result.value:.6g}")
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
        text = explain(loss, p)
        print(text + "\n")
        total = float(text.rsplit("=", 1)[1])
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


def _add_sample_options(p: argparse.ArgumentParser, activation: str = "tanh") -> None:
    p.add_argument("--activation", default=activation,
                   help=f"the hidden layer's activation (default {activation})")
    p.add_argument("--seed", type=int, default=None, help="initialisation seed")
    p.add_argument("--x1", type=_finite_float, default=1.0, help="input x1 (default 1)")
    p.add_argument("--x2", type=_finite_float, default=0.0, help="input x2 (default 0)")
    p.add_argument("--y", type=_finite_float, default=1.0, help="target y (default 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="micrograd",
        description="A tiny scalar autograd engine. With no command: train the notes' 2-2-1 "
                    "network on XOR and draw the graph of one sample.",
    )
    parser.add_argument("--seed", type=int, default=None,
                        help="the main job's initialisation seed (default: Net221's)")
    parser.add_argument("--out", default="net221.svg",
                        help="the main job's graph file (.svg .png .pdf .dot; default net221.svg); "
                             "the backprop page goes beside it (.html)")
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)

    p = sub.add_parser("train", help="train a network on a small data set",
                       description="Train Net221 or an MLP; print the losses and the accuracy.")
    p.add_argument("--dataset", choices=["xor", "and", "or", "moons", "circles", "spiral"],
                   default="xor")
    p.add_argument("--model", choices=["net221", "mlp"], default=None,
                   help="default net221; mlp with --loss cross_entropy")
    p.add_argument("--loss", choices=sorted(LOSSES), default=None,
                   help="default half_squared_error for xor/and/or, hinge for moons/circles, "
                        "cross_entropy for spiral (3 classes, an MLP with 3 outputs)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd",
                   help="sgd (the notes' p ← p − lr·∂E/∂p; the default), adam or adamw")
    p.add_argument("--hidden", type=_int_list, default=[16, 16],
                   help="MLP hidden layer sizes, comma-separated (default 16,16)")
    p.add_argument("--activation", default=None,
                   help="any registered one-input op (default tanh for net221, relu for mlp)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="step size (default 0.1 for sgd, 0.01 for adam and adamw)")
    p.add_argument("--epochs", type=_int_up_to(MAX_EPOCHS), default=None,
                   help=f"epoch cap (default 1000, {SPIRAL_EPOCHS} for spiral; "
                        f"at most {MAX_EPOCHS:,})")
    p.add_argument("--tol", type=_non_negative_float, default=1e-6,
                   help="stop when the largest |∂E/∂p| is below this (default 1e-6)")
    p.add_argument("--seed", type=int, default=None, help="initialisation (and data) seed")
    p.add_argument("--batch", action="store_true", help="full-batch steps instead of per sample")
    p.add_argument("--n", type=_int_up_to(MAX_SAMPLES), default=100,
                   help="moons/circles size, spiral points per class "
                        f"(default 100, at most {MAX_SAMPLES:,})")
    p.add_argument("--noise", type=_non_negative_float, default=None,
                   help="moons/circles noise (default 0.1), spiral angle noise (default 0.2)")
    p.add_argument("--save", metavar="PATH", help="save the trained parameters as JSON")
    p.add_argument("--load", metavar="PATH", help="start from parameters saved with --save")
    p.add_argument("--page", metavar="PATH",
                   help="write a training page (.html) that replays the run epoch by epoch")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("descend", help="gradient descent on a named function (the notes' part 1)",
                       description="w ← w − lr·f'(w) until |f'(w)| < tol; a large --lr diverges.")
    p.add_argument("--function", choices=sorted(FUNCTIONS), default="quadratic")
    p.add_argument("--w0", type=_float_list, default=None, help="start, comma-separated")
    p.add_argument("--lr", type=_positive_float, default=0.1, help="step size (default 0.1)")
    p.add_argument("--tol", type=_non_negative_float, default=1e-8, help="(default 1e-8)")
    p.add_argument("--max-steps", type=_int_up_to(MAX_STEPS), default=10_000,
                   help=f"step cap (default 10000, at most {MAX_STEPS:,})")
    p.add_argument("--lines", type=positive_int, default=12, help="path lines to print")
    p.set_defaults(run=cmd_descend)

    p = sub.add_parser("graph", help="draw the graph of one 2-2-1 sample",
                       description="Render E = ½(y − ŷ)² of one sample with its gradients.")
    _add_sample_options(p)
    p.add_argument("--out", default="net221.svg",
                   help="output file; the suffix picks the format: .svg .png .pdf .dot, or "
                        ".html for a page that steps through backprop")
    p.add_argument("--local-grads", action="store_true",
                   help="write each edge's local derivative on it")
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser("explain", help="the chain-rule derivation of all nine partials",
                       description="The notes' derivation, corrected, with numbers.")
    _add_sample_options(p)
    p.add_argument("--code", action="store_true",
                   help="print the sample's forward and backward pass as the Python that "
                        "micrograd.compile generates")
    p.set_defaults(run=cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = getattr(args, "run", main_job)
    try:
        return run(args)
    except (UsageError, ValueError, FileNotFoundError) as err:
        parser.exit(2, f"micrograd: error: {_one_line(err)}\n")
    except BrokenPipeError:  # `python -m micrograd explain | head`: the reader left
        sys.stdout = open(os.devnull, "w")  # keep Python quiet at exit
        return 0
    except (GraphvizNotFound, GraphvizFailed, OSError) as err:
        parser.exit(1, f"micrograd: error: {_one_line(err)}\n")


def _one_line(err: BaseException) -> str:
    """The message of err on one line (a path may hold a newline)."""
    return str(err).replace("\r", "\\r").replace("\n", "\\n")


if __name__ == "__main__":
    sys.exit(main())
