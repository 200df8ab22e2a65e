"""The command line: ``python -m micrograd`` (or ``micrograd``) runs the main job; see --help.

Thin on purpose: it parses plain types, calls the library and prints. The library's own
ValueError / TypeError (a bad lr, an unknown activation, too many points) becomes the one-line
message of exit status 2; the defaults come with the data (``micrograd.data``).
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
from typing import Any, NoReturn

from micrograd import compiler, data, losses, optim
from micrograd._files import check_writable
from micrograd._numbers import clip, preview
from micrograd.engine import Value
from micrograd.grading import read_answers
from micrograd.graph import FORMATS, GraphvizFailed, GraphvizNotFound, render
from micrograd.nn import MLP, ModelMismatch, Module, Net221, activation_names
from micrograd.trace import check, derivation
from micrograd.train import carrying, correct, gradient_descent, train

# The command line's bounds on sizes, so that a run stays within minutes and memory (the
# library checks the rest, and bounds the data sets itself: data.MAX_SAMPLES).
BOUNDS = {"epochs": (0, 1_000_000), "max_steps": (0, 1_000_000), "lines": (1, 10_000),
          "hidden": (1, 1_000)}  # --hidden: the neurons of a layer
MAX_PARAMETERS = 1_000_000  # train --hidden: parameters in all (layers × width; ~600 MB)
DOT_HINT = "apt-get install graphviz / brew install graphviz"
PAGE_HINT = ("open it in a browser to replay the run, epoch by epoch, and step through each "
             "sample's backward pass (it opens at epoch 1, before any update)")


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2, never a usage dump or a traceback."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"'[^'\n]{61,}'", lambda m: preview(m[0][1:-1]), message)  # ~60 chars
        _fail(self.prog, f"{message} (see {self.prog} --help)")


def _fail(prog: str, message: str, status: int = 2) -> NoReturn:
    """Exit with ``prog: error: message`` on one line (of at most 1000 characters)."""
    message = clip(message.replace("\r", "\\r").replace("\n", "\\n"), 1000)
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.exit(status)


# ---- parsing and checking ------------------------------------------------------------


def _numbers(kind: type) -> Callable[[str], list[Any]]:
    """An argparse type: comma-separated numbers of one kind ("16,16", "-1,1")."""
    def parse(text: str) -> list[Any]:
        return [kind(part) for part in text.split(",")]
    parse.__name__ = f"comma-separated {kind.__name__}"  # argparse: "invalid ... value"
    return parse


def _negative_values(argv: Sequence[str]) -> list[str]:
    """["--w0", "-1,1"] as ["--w0=-1,1"]: argparse takes a value starting with - for an option."""
    joined: list[str] = []
    for arg in argv:  # an option, then a value that looks like a negative number: one argument
        glue = joined and re.match(r"--\w[^=]*$", joined[-1]) and re.match(r"-\.?\d", arg)
        joined += [f"{joined.pop()}={arg}"] if glue else [arg]
    return joined


def _check_numbers(args: argparse.Namespace) -> None:
    """Every number given is finite, and every size within BOUNDS: before any work."""
    for dest, value in vars(args).items():
        option, (low, high) = "--" + dest.replace("_", "-"), BOUNDS.get(dest, (-math.inf, math.inf))
        for x in value if isinstance(value, list) else [value]:
            if isinstance(x, float) and not math.isfinite(x):
                raise ValueError(f"argument {option}: not a finite number: {preview(value)}")
            if type(x) is int and not low <= x <= high:
                raise ValueError(f"argument {option}: must be {low} to {high:,}, got {preview(x)}")


def _fill(args: argparse.Namespace, defaults: Any, *names: str) -> Any:
    """Each option of names not given takes its default from the table entry ``defaults``."""
    for name in (name for name in names if getattr(args, name) is None):
        setattr(args, name, getattr(defaults, name))
    return defaults


def _check_output(option: str, path: str) -> None:
    """ValueError naming the user's path if a file cannot be written there (before any work)."""
    try:
        check_writable(path)
    except OSError as err:
        raise ValueError(f"{option} {preview(path, 250)}: cannot write there: "
                         f"{err.strerror or err}") from None


def _graph_files(out: str, main_job: bool) -> list[Path]:
    """The files --out asks for, each checked before any work: a known suffix, writable, dot.

    The main job writes the training page (.html) beside a drawing, and DOT source if Graphviz's
    dot is missing; the graph command needs dot for all but .dot.
    """
    path, suffix, where = Path(out), Path(out).suffix.lower(), f"--out {preview(out, 250)}"
    if suffix not in FORMATS:
        raise ValueError(f"{where}: unknown file suffix {preview(path.suffix)}; use one of "
                         f"{', '.join(FORMATS)}")
    files = [out]  # as given: Path() would drop a trailing slash
    if suffix != ".dot" and shutil.which("dot") is None:
        if not main_job:
            raise ValueError(f"{where}: needs Graphviz's `dot` program, not on PATH ({DOT_HINT})")
        files = [str(path.with_suffix(".dot"))]
    elif main_job and suffix not in (".dot", ".html"):
        files.append(str(path.with_suffix(".html")))
    for file in files:
        _check_output("--out", file)
    return [Path(file) for file in files]


# ---- printing ------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _print_parameters(title: str, net: Net221) -> None:
    print(title, *(f"  {name:<3} = {p.data:+.4f}" for name, p in net.named_parameters()), sep="\n")


def _shown(count: int, lines: int, phase: int = 0) -> list[int]:
    """About `lines` of `count` rows: the first, the last, every k-th (k = 1, 2, 5, 10, 20, …)."""
    k = next(s for s in (m * 10**e for e in range(99) for m in (1, 2, 5)) if count <= s * lines)
    return [i for i in range(count) if (i + phase) % k == 0 or i in (0, count - 1)]


def _print_losses(per_epoch: Sequence[float]) -> None:
    for epoch in _shown(len(per_epoch), 10, phase=1):  # epochs 1, 10, 20, …: counted from 1
        print(f"  epoch {epoch + 1:>6}  loss {per_epoch[epoch]:.6g}")


def _one_sample(net: Net221, x: Sequence[float], y: float) -> Value:
    """E = ½(y − ŷ)² for one sample x = (x1, x2), with its gradients filled in."""
    net.zero_grad()
    (loss := losses.half_squared_error(net(*x), y)).backward()
    return loss


# ---- the main job ------------------------------------------------------------------------


def main_job(args: argparse.Namespace) -> int:
    """Train the notes' 2-2-1 network on XOR; draw one sample's graph at the initial parameters."""
    files = _graph_files(args.out, main_job=True)
    net, xor = Net221(activation="tanh", seed=args.seed), data.xor()
    lr, epochs = data.LR["sgd"], data.DATASETS["xor"].epochs
    print("The notes' 2-2-1 network (tanh) on XOR: per-sample gradient descent, "
          f"lr = {lr}, up to {epochs} epochs, E = ½(y − ŷ)²\n")
    _print_parameters("parameters before training (random, seed "
                      f"{Net221.DEFAULT_SEED if args.seed is None else args.seed}):", net)
    page = next((file for file in files if file.suffix.lower() == ".html"), None)
    history = train(net, xor, lr=lr, epochs=epochs, tol=1e-6, progress=False, page=page)
    print("\nmean loss per epoch:")
    _print_losses(history.losses)
    print(f"stopped after {_plural(history.epochs, 'epoch')}: {history.reason} "
          f"(largest |∂E/∂p| in the last epoch {history.max_grad:.2e})\n")
    _print_parameters("parameters after training:", net)
    right = correct(net, xor) or []  # targets 0/1: a class each
    print("\npredictions:", *(f"  x = ({x1:g}, {x2:g})  y = {y:g}  ŷ = {net(x1, x2).data:.4f}  "
          f"{'right' if ok else 'WRONG'}" for ((x1, x2), y), ok in zip(xor, right)), sep="\n")
    # net as it was made, its first parameters (after training every gradient is about 0)
    loss = _one_sample(start := Net221(activation="tanh", seed=args.seed), *xor[2])
    print(f"{sum(right)}/4 right\n\nthe graph of x = ({xor[2][0][0]:g}, {xor[2][0][1]:g}), "
          f"y = {xor[2][1]:g} at the parameters before training, with its gradients there:")
    print(*(f"  ∂E/∂{n:<3} = {p.grad:+.4g}" for n, p in start.named_parameters()), sep="\n")
    if files[0] != Path(args.out):
        print(f"Graphviz's `dot` is not installed, so the graph is DOT source ({DOT_HINT})")
    for file in (file for file in files if file != page):
        render(loss, file, show_local_grads=True, parameters=start.parameters())
        print(f"graph written to {file}")
    if page is not None:  # (none without Graphviz's dot: its sample graphs are dot's layout)
        print(f"training page written to {page}: {PAGE_HINT}")
    return 0


# ---- train -------------------------------------------------------------------------------


def _model(args: argparse.Namespace, classes: int) -> Net221 | MLP:
    """The model the options ask for; ValueError for a bad mix or an --hidden over the bounds."""
    if args.model == "net221" and args.loss == "cross_entropy":
        raise ValueError("net221 has one output; --loss cross_entropy needs --model mlp")
    if args.model == "net221":
        return Net221(activation=args.activation or "tanh", seed=args.seed)
    sizes = [2, *args.hidden, classes if args.loss == "cross_entropy" else 1]
    if (count := sum((a + 1) * b for a, b in itertools.pairwise(sizes))) > MAX_PARAMETERS:
        raise ValueError(f"--hidden: {count:,} parameters; at most {MAX_PARAMETERS:,} in all "
                         f"(layers × width) and {BOUNDS['hidden'][1]:,} neurons a layer")
    return MLP(2, sizes[1:], activation=args.activation or "relu", seed=args.seed)


def _load(model: Module, path: str) -> None:
    """model.load(path); a missing file, or one holding another model, is a ValueError."""
    try:
        model.load(path)
    except OSError as err:
        raise ValueError(f"--load {preview(path, 250)}: cannot read: {err.strerror}") from None
    except ModelMismatch as err:
        raise ValueError(f"{err}; it loads with {_model_options(err.kind, err.config)}") from None


def _model_options(kind: Any, config: Any) -> str:
    """The options that make the model a saved file holds: "--model mlp --hidden 16,16 …"."""
    config = config if isinstance(config, dict) else {}  # as the file has it: any JSON
    nouts = config["nouts"] if isinstance(config.get("nouts"), list) and config["nouts"] else [1]
    hidden = f" --hidden {clip(','.join(map(str, nouts[:-1])), 60)}" if len(nouts) > 1 else ""
    classes = f" --loss cross_entropy ({nouts[-1]} classes)" if nouts[-1] != 1 else ""
    return (f"--model {'mlp' if kind == 'MLP' else 'net221'}{hidden}{classes} "
            f"--activation {clip(str(config.get('activation')), 60)}")


def cmd_train(args: argparse.Namespace) -> int:
    """Train a Net221 or an MLP on a small data set; print the losses and the accuracy."""
    dataset = _fill(args, data.DATASETS[args.dataset], "loss", "epochs", "noise")
    args.model = args.model or ("mlp" if args.loss == "cross_entropy" else dataset.model)
    if dataset.classes > 2 and args.loss != "cross_entropy":
        raise ValueError(f"--loss {args.loss} is for two classes; {args.dataset} has "
                         f"{dataset.classes}: use --loss cross_entropy")
    for option, path in (("--save", args.save), ("--page", args.page)):
        if path is not None:
            _check_output(option, path)
    samples = dataset.samples(args.n, args.noise, args.seed or 0, data.TARGETS[args.loss])
    model = _model(args, dataset.classes)
    if args.load is not None:
        _load(model, args.load)
    lr = data.LR[args.optimizer] if args.lr is None else args.lr
    history = train(model, samples, loss=losses.LOSSES[args.loss], lr=lr, epochs=args.epochs,
                    tol=args.tol, per_sample=not args.batch, optimizer=args.optimizer,
                    page=args.page)
    sizes = [2, 2, 1] if isinstance(model, Net221) else [model.nin, *model.nouts]  # which model
    print(f"{type(model).__name__} {'-'.join(map(str, sizes))} ({model.activation}) on "
          f"{args.dataset} ({len(samples)} samples), loss {args.loss}, {args.optimizer} lr {lr}, "
          f"{'full batch' if args.batch else 'per sample'}")
    _print_losses(history.losses)
    print(f"stopped after {_plural(history.epochs, 'epoch')}: {history.reason}")
    if history.accuracy is not None:
        print(f"training accuracy {round(history.accuracy * len(samples))}/{len(samples)} "
              f"({100 * history.accuracy:.1f}%)")
    if args.save is not None:
        with carrying(history):  # after the run: an error is no bad argument (status 1)
            model.save(args.save)
        print(f"saved parameters to {args.save}")
    if args.page is not None:
        print(f"training page written to {args.page}: {PAGE_HINT}")
    return 0


# ---- descend, graph, explain -------------------------------------------------------------


def cmd_descend(args: argparse.Namespace) -> int:
    """The notes' part 1: w ← w − lr·f'(w) until |f'(w)| < tol, on a named function."""
    function = _fill(args, data.FUNCTIONS[args.function], "w0", "lr", "max_steps")
    if len(args.w0) != len(function.w0):
        raise ValueError(f"--w0: {args.function} takes {_plural(len(function.w0), 'number')}")
    start = args.w0[0] if len(args.w0) == 1 else list(args.w0)
    result = gradient_descent(function.f, start, args.lr, args.tol, args.max_steps)
    print(f"{function.title}, w0 = {start}, lr = {args.lr}, tol = {args.tol}")
    for j in _shown(len(result.path), args.lines):
        (w, value, grad), k = result.path[j], result.path_steps[j]
        print(f"  step {k:>6}  w = {_point(w)}  f(w) = {value:.6g}  f'(w) = {_point(grad)}")
    print(f"stopped after {_plural(result.steps, 'step')}: {result.reason}; "
          f"w = {_point(result.w)}, f(w) = {result.value:.6g}")
    return 0


def _point(w: Any) -> str:
    return "(" + ", ".join(f"{x:.6g}" for x in w) + ")" if isinstance(w, tuple) else f"{w:.6g}"


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw the graph of one 2-2-1 sample with its gradients."""
    [out] = _graph_files(args.out, main_job=False)
    net = Net221(activation=args.activation, seed=args.seed)
    render(_one_sample(net, (args.x1, args.x2), args.y), out, show_local_grads=args.local_grads,
           parameters=net.parameters())
    print(f"graph written to {out}", *[f"open {out} in a browser to step through backprop"]
          * (out.suffix.lower() == ".html"), sep="\n")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """The notes' derivation, corrected, with numbers: each ∂E/∂p as a chain-rule product."""
    net = Net221(activation=args.activation, seed=args.seed)
    loss = _one_sample(net, (args.x1, args.x2), args.y)
    expected, params = [p.grad for p in net.parameters()], net.parameters()  # from backward()
    sample = (f"E = ½(y − ŷ)² for x = ({args.x1:g}, {args.x2:g}), y = {args.y:g}, "
              f"activation {net.activation}")
    if args.code:  # the same, as micrograd.compile writes it: the chain rule unrolled as Python
        graph = compiler.compile(loss)
        print(f"# {sample}, as micrograd.compile(E) writes it\n\n{graph.source}")
        net.zero_grad()
        graph()
        got, said = [p.grad for p in params], "# check: running it gives"
    else:
        print(f"{sample}: ŷ = {loss.children[0].data:.6g}, E = {loss.data:.6g}\n")
        partials = [derivation(loss, p) for p in params]  # each text, and its total
        print(*partials, sep="\n\n", end="\n\n")
        got, said = [d.total for d in partials], "check: every total above equals"
    differ = [a - b for a, b in zip(got, expected)
              if a != b and not (math.isnan(a) and math.isnan(b))]
    print(f"{said} backward()'s gradient (largest difference "
          f"{max(map(abs, differ), default=0.0):.1e})")
    return 1 if differ else 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check your hand derivation of one 2-2-1 sample: exit 0 all right, 1 a wrong answer."""
    net = Net221(activation=args.activation, seed=args.seed)  # the main job's sample
    print(report := check(_one_sample(net, (args.x1, args.x2), args.y), read_answers(args.answers)))
    return 0 if report.ok else 1


# ---- the parser --------------------------------------------------------------------------


def _defaults(table: dict[str, Any], attribute: str) -> str:
    """ "default xor 1000, …, spiral 50": a table's default for each name, for --help."""
    return "default " + ", ".join(f"{k} {getattr(v, attribute, v)}" for k, v in table.items())


def _subcommand(sub: Any, run: Callable[[argparse.Namespace], int], help: str) -> Any:
    p = sub.add_parser(run.__name__[4:], help=help, description=run.__doc__)
    p.set_defaults(run=run, prog=p.prog)
    return p


def _sample_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activation", default="tanh", choices=activation_names(), help="default tanh")
    p.add_argument("--seed", type=int, default=argparse.SUPPRESS, help="(default: Net221's)")
    for name, default in (("--x1", 1.0), ("--x2", 0.0), ("--y", 1.0)):
        p.add_argument(name, type=float, default=default, help=f"(default {default:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="micrograd", description="A tiny scalar autograd engine. With no "
                     "command: train the notes' 2-2-1 network on XOR and draw one sample's graph.")
    parser.add_argument("--seed", type=int, help="initialisation seed (default: Net221's)")
    parser.add_argument("--out", default="net221.svg", help=f"the main job's graph file: "
                        f"{' '.join(FORMATS)} (default net221.svg; the .html page beside it)")
    parser.set_defaults(run=main_job, prog=parser.prog)
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)

    p = _subcommand(sub, cmd_train, "train a network on a small data set")
    p.add_argument("--dataset", choices=list(data.DATASETS), default="xor", help="(default xor)")
    p.add_argument("--model", choices=["net221", "mlp"], help=_defaults(data.DATASETS, "model"))
    p.add_argument("--loss", choices=list(data.TARGETS), help=_defaults(data.DATASETS, "loss"))
    p.add_argument("--optimizer", choices=[*optim.OPTIMIZERS], default="sgd", help="(default sgd)")
    p.add_argument("--hidden", type=_numbers(int), default=[16, 16], help="(default 16,16)")
    p.add_argument("--activation", choices=activation_names(), help="default tanh; mlp: relu")
    p.add_argument("--lr", type=float, help=_defaults(data.LR, "lr"))
    p.add_argument("--epochs", type=int, help=_defaults(data.DATASETS, "epochs"))
    p.add_argument("--tol", type=float, default=1e-6, help="stop when max |∂E/∂p| < tol (1e-6)")
    p.add_argument("--seed", type=int, default=argparse.SUPPRESS, help="initialisation, data seed")
    p.add_argument("--batch", action="store_true", help="full-batch steps instead of per sample")
    p.add_argument("--n", type=int, default=100, help="points (spiral: per class; default 100)")
    p.add_argument("--noise", type=float, help=_defaults(data.DATASETS, "noise"))
    p.add_argument("--save", metavar="PATH", help="save the trained parameters as JSON")
    p.add_argument("--load", metavar="PATH", help="start from parameters saved with --save")
    p.add_argument("--page", metavar="PATH", help="write a training page (.html) of the run")

    p = _subcommand(sub, cmd_descend, "gradient descent on a named function (the notes' part 1)")
    p.add_argument("--function", choices=[*data.FUNCTIONS], default="quadratic", help="(quadratic)")
    p.add_argument("--w0", type=_numbers(float), help="start (--w0 -1,1; default: the function's)")
    p.add_argument("--lr", type=float, help=_defaults(data.FUNCTIONS, "lr"))
    p.add_argument("--tol", type=float, default=1e-8, help="(default 1e-8)")
    p.add_argument("--max-steps", type=int, help=_defaults(data.FUNCTIONS, "max_steps"))
    p.add_argument("--lines", type=int, default=12, help="path lines to print (default 12)")

    p = _subcommand(sub, cmd_graph, "draw the graph of one 2-2-1 sample")
    _sample_options(p)
    p.add_argument("--out", default=argparse.SUPPRESS, help=" ".join(FORMATS) + " (net221.svg)")
    p.add_argument("--local-grads", action="store_true", help="write local derivatives on edges")

    p = _subcommand(sub, cmd_explain, "the chain-rule derivation of all nine partials")
    _sample_options(p)
    p.add_argument("--code", action="store_true", help="print it as micrograd.compile's Python")

    p = _subcommand(sub, cmd_check, "check your hand derivation of one 2-2-1 sample")
    _sample_options(p)
    p.add_argument("--answers", required=True, metavar="JSON", help='a JSON object of node '
                   'names and your ∂E/∂node: {"ŷ": -1.771, "w11": -0.3242} ("yhat": ŷ)')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(_negative_values(sys.argv[1:] if argv is None else argv))
    try:
        _check_numbers(args)
        return int(args.run(args))
    except BrokenPipeError:  # `python -m micrograd explain | head`: the reader left
        sys.stdout = open(os.devnull, "w")  # keep Python quiet at exit
        return 0
    except Exception as err:  # err.history: raised after a run (its page, --save): status 1
        if (run := getattr(err, "history", None)) is None and isinstance(
                err, (ValueError, TypeError, FileNotFoundError)):
            _fail(args.prog, str(err))  # a bad argument: status 2
        if run is not None or isinstance(err, (GraphvizNotFound, GraphvizFailed, OSError)):
            _fail(args.prog, f"after {_plural(run.epochs, 'epoch')}: {err}" if run else str(err), 1)
        raise


if __name__ == "__main__":
    sys.exit(main())
