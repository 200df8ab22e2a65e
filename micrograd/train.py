"""Training: the notes' gradient descent (part 1) and the training loop (part 2), with honest stops.

The notes stop "when the derivative is 0", which never happens in floating point. Here
a run stops when the largest |gradient| falls below ``tol`` (converged), when the step or
epoch cap is reached, or when the value stops being finite (diverged: the step was too
large for the Taylor argument) — and says which.

This is the one module that knows both the models and the compiler: ``train()`` records a
sample's graph once and replays it where all the code it runs is vouched free of branches
on Value data (``nn.vouched``, ``losses.LOSSES``).
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from micrograd import compiler, owners
from micrograd._numbers import as_float, number, positive, preview
from micrograd.engine import Value
from micrograd.losses import LOSSES, TARGET_LEAF, class_index, half_squared_error
from micrograd.nn import Module, vouched
from micrograd.optim import OPTIMIZERS, SGD, Optimizer
from micrograd.record import FRAMES, Recorder, StopReason, TrainHistory

__all__ = [
    "DescentResult", "StopReason", "TrainHistory", "accuracy", "carrying", "correct",
    "gradient_descent", "train",
]

Point = float | tuple[float, ...]

#: On a terminal, train()'s progress bar appears once a run has taken this many seconds.
LONG_RUN_SECONDS = 2.0

#: The progress bar advances every this many samples (and at each epoch's end).
TICK = 32

#: gradient_descent keeps at most about this many numbers of its path (w, f(w) and f'(w) of
#: each kept point): every point of a short run, every k-th (k doubling) of a long one.
PATH_NUMBERS = 30_000


def _check_count(n: Any, what: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"{what} must be an int >= 0, got {preview(n)}")
    return n


def _check_tol(tol: Any) -> float:
    bound = number(tol)
    if bound is None or not bound >= 0:
        raise ValueError(f"tol must be a number >= 0, got {preview(tol)}")
    return bound


# ---- gradient descent (the notes' part 1) -------------------------------------------


@dataclass(frozen=True)
class DescentResult:
    """Where gradient descent stopped, f there, how many updates, and why."""

    w: Point
    value: float
    steps: int
    converged: bool
    reason: StopReason
    path: list[tuple[Point, float, Point]] = field(repr=False)  # (w_k, f(w_k), f'(w_k)) per point
    path_steps: list[int] = field(default_factory=list, repr=False)  # k of each path entry


def gradient_descent(f: Callable[[Any], Value], w0: float | Sequence[float], lr: float = 0.1,
                     tol: float = 1e-8, max_steps: int = 10_000) -> DescentResult:
    """The notes' loop: while max|f'(w_k)| ≥ tol: w_{k+1} = w_k − lr·f'(w_k).

    w0 a number: f gets one Value and the result's w (and each gradient) is a float.
    w0 a sequence: f gets a tuple of Values and w is a tuple of floats. Stops when the
    largest |gradient| is below tol (converged), after max_steps updates, or when f, w or
    the gradient is not finite (diverged). ``path`` holds the points visited and
    ``path_steps`` their step numbers k: every point (steps + 1 entries) while the path
    fits in PATH_NUMBERS numbers; beyond that, every k-th point (k a doubling power of 2),
    always with the first and the last, so a run of any length keeps a bounded path.
    """
    lr, tol = positive(lr, "lr"), _check_tol(tol)
    max_steps = _check_count(max_steps, "max_steps")
    if isinstance(w0, bool):
        raise TypeError("gradient_descent: w0 must be a number or a sequence of numbers, "
                        "got bool")
    start = number(w0)
    scalar = start is not None
    if start is not None:
        w = [start]
    elif isinstance(w0, Sequence) and not isinstance(w0, (str, bytes)) and len(w0) > 0:
        w = []
        for i, x in enumerate(w0):
            coordinate = number(x)
            if coordinate is None:
                raise TypeError(
                    f"gradient_descent: w0[{i}] must be a number, got {type(x).__name__}")
            w.append(coordinate)
    else:
        raise TypeError(f"gradient_descent: w0 must be a number or a non-empty sequence of "
                        f"numbers, got {preview(w0)}")

    def shape(xs: list[float]) -> Point:
        return xs[0] if scalar else tuple(xs)

    labels = ["w"] if scalar else [f"w{i}" for i in range(len(w))]
    path: list[tuple[Point, float, Point]] = []
    path_steps: list[int] = []
    path_limit = max(2, PATH_NUMBERS // (2 * len(w) + 1))  # entries kept before thinning
    stride = 1  # path keeps the points k with k % stride == 0, and the last
    steps = 0
    while True:
        ws = [Value(x, label) for x, label in zip(w, labels)]
        out = f(ws[0] if scalar else tuple(ws))
        if not isinstance(out, Value):
            raise TypeError(f"gradient_descent: f must return a Value, got {type(out).__name__}")
        out.backward()
        grad = [v.grad for v in ws]
        value = out.data
        if not (math.isfinite(value) and all(map(math.isfinite, w))
                and all(map(math.isfinite, grad))):
            reason = StopReason.DIVERGED
        elif max(map(abs, grad)) < tol:
            reason = StopReason.CONVERGED
        elif steps >= max_steps:
            reason = StopReason.STEP_CAP
        else:
            if steps % stride == 0:
                path.append((shape(w), value, shape(grad)))
                path_steps.append(steps)
                if len(path) > path_limit:  # keep every other point: k % (2·stride) == 0
                    del path[1::2], path_steps[1::2]
                    stride *= 2
            w = [x - lr * g for x, g in zip(w, grad)]
            steps += 1
            continue
        path.append((shape(w), value, shape(grad)))
        path_steps.append(steps)
        return DescentResult(shape(w), value, steps, reason is StopReason.CONVERGED, reason, path,
                             path_steps)


# ---- training (the notes' part 2) ---------------------------------------------------


def train(model: Module, data: Sequence[tuple[Sequence[float], Any]] | Callable[[], Any],
          loss: Callable[[Any, Any], Value] = half_squared_error, lr: float = 0.1,
          epochs: int = 1000, tol: float = 1e-6, per_sample: bool = True,
          progress: bool | None = None,
          optimizer: Optimizer | str | None = None,
          compile: bool | str | None = "auto",
          page: str | os.PathLike[str] | None = None,
          page_frames: int = FRAMES) -> TrainHistory:
    """The notes' loop: for each (x, y): E = loss(model(*x), y), backprop, p ← p − lr·∂E/∂p.

    data is a sequence of (inputs, target) pairs, or a function returning one (``xor``).
    per_sample=False takes one full-batch step per epoch on the mean loss. optimizer=None
    is the notes' update above; an Optimizer over the model's parameters (``Adam(...)``)
    or a name, "sgd", "adam" or "adamw" (made with ``lr``), takes each step instead. A
    multi-class model (an MLP with several outputs) trains with ``loss=cross_entropy`` and
    int targets. Stops after an epoch in which:
      - the loss is not finite (diverged);
      - max |∂E/∂p| over every parameter and sample is below tol (converged: the notes'
        "all partials are 0");
      - every hidden-layer partial was exactly 0 on every sample (the notes' step
        activation): backprop cannot change the hidden layer, so its weights stay as
        initialised. Seeing that takes one pass over the data, so a step network stops
        after epoch 1, its output layer having had that epoch's updates;
      - or when the epochs run out.
    A progress bar (tqdm, in samples) shows when progress is True, or when progress is None,
    stderr is a terminal and the run has taken LONG_RUN_SECONDS; otherwise train prints
    nothing. Per sample, every sample goes through the model and the loss once before the
    first update (replayed, as each step will be; grads left as they were), so a malformed
    sample raises with the model unchanged. The history's accuracy is
    ``accuracy(model, data)`` after the last update (replayed too).

    compile chooses the engine. A replayed run records the graph of a sample or of the
    batch once and replays it (``micrograd.compile``): the same floats, bit for bit, as
    compile=False, which rebuilds the graph at every step, and many times faster. A
    recorded graph does not follow branches of the Python that built it, so:
      - "auto" (or None, the default) replays a model only where all the code its call
        reaches is vouched for (``nn.vouched``: the package's classes, and subclasses that
        override no method a call runs, with registered activations; a class body of your
        own vouches by declaring ``branch_free = True``), with a loss of losses.LOSSES; it
        trains anything else eagerly, so its floats are always compile=False's;
      - True replays any model and loss, on your promise that their Python code has no
        branch on Value data (``if y.data > 0:``), the contract of torch.jit.trace: a
        branch is decided once, for the values it saw when recording;
      - False rebuilds the graph at every step (eager);
      - "native" replays what "auto" would, with graphs compiled by the native backend
        (``compile(root, backend="native")``, the extra ``pip install
        'micrograd-notes[native]'``; ImportError before any work without it): the same
        floats again. A model or loss "auto" would not vouch for trains eagerly, with a
        warning saying why (declare ``branch_free = True`` in its class body to vouch).
    Per sample, inputs are leaves set at each sample (a sample whose inputs are Values
    trains eagerly), the target too for the losses of losses.TARGET_LEAF (one graph for
    any number of targets); other losses are recorded once per target value.

    page="run.html" records the run (``history.recording``, see ``micrograd.record``: about
    ``page_frames`` evenly spaced epochs, first and last kept) and writes a page that
    replays it (``micrograd.training_page``), a diverged run's too. Recording reads the
    floats, never changes one: the run is the same as without ``page``. Samples the page
    cannot draw (inputs that are not numbers) are refused before the first epoch. An error
    raised after training (writing the page) carries the run as ``err.history``.

    The parameters' Values are current at the start and at the end: a ``Trainer`` holding
    some of them syncs before the run and reads them anew after it (``micrograd.owners``).
    """
    lr, tol = positive(lr, "lr"), _check_tol(tol)
    epochs = _check_count(epochs, "epochs")
    samples = _check_data(data)
    params = model.parameters()
    opt = SGD(params, lr) if optimizer is None else _optimizer(optimizer, params, lr)
    replay = _replay(compile, model, loss)
    owners.sync(params)
    sample_step, check_step = _sample_step(model, loss, replay)
    if per_sample and epochs > 0:
        _check_samples(samples, params, check_step)
    recorder = None
    if page is not None:
        from micrograd.training_page import check_page

        check_page(page, samples)
        recorder = Recorder(model, opt, len(samples), per_sample, page_frames)
    hidden = {id(p) for p in model.hidden_parameters()}
    hidden_mask = [id(p) in hidden for p in opt.params]  # in the order _step walks them
    has_hidden = bool(hidden)
    bar = _progress_bar(progress, len(samples) * epochs)
    advance = None if bar is None else bar.update
    batch_step = _batch_step(model, loss, samples, replay, advance, whole=compile == "native")
    losses: list[float] = []
    max_grad = 0.0
    reason = StopReason.EPOCH_CAP
    try:
        for epoch in range(epochs):
            max_grad = max_hidden = 0.0
            if recorder is not None:
                recorder.start_epoch(epoch)
            if per_sample:
                total = 0.0
                for i, (inputs, target) in enumerate(samples):
                    opt.zero_grad()
                    sample_loss = sample_step(inputs, target)
                    total += sample_loss
                    if recorder is not None:
                        recorder.before_step(i, sample_loss)
                    max_grad, max_hidden = _step(opt, hidden_mask, max_grad, max_hidden)
                    if recorder is not None:
                        recorder.after_step()
                    if advance is not None and i % TICK == TICK - 1:
                        advance(TICK)
                if advance is not None:
                    advance(len(samples) % TICK)
                epoch_loss = total / len(samples)
            else:
                opt.zero_grad()
                epoch_loss = batch_step()
                if recorder is not None:
                    recorder.before_step(None, epoch_loss)
                max_grad, max_hidden = _step(opt, hidden_mask, 0.0, 0.0)
                if recorder is not None:
                    recorder.after_step()
            losses.append(epoch_loss)
            if recorder is not None:
                recorder.end_epoch(epoch_loss)
            if bar is not None:
                bar.set_postfix_str(f"epoch {epoch + 1}/{epochs}, loss {epoch_loss:.3g}",
                                    refresh=False)
            if not (math.isfinite(epoch_loss) and math.isfinite(max_grad)):
                reason = StopReason.DIVERGED
                break
            if max_grad < tol:
                reason = StopReason.CONVERGED
                break
            if has_hidden and max_hidden == 0.0:
                reason = StopReason.NO_HIDDEN_GRADIENT
                break
    finally:
        owners.load(params)
        if bar is not None:
            bar.close()
    history = TrainHistory(losses, len(losses), reason, max_grad, None,
                           None if recorder is None else recorder.recording())
    with carrying(history):  # after training: whatever raises carries the run
        history = replace(history, accuracy=_fraction(_correct(model, samples, replay)))
    if page is not None and history.recording is not None:
        from micrograd.training_page import write_page

        with carrying(history):
            write_page(page, history, model, samples, loss)
    return history


@contextmanager
def carrying(history: TrainHistory) -> Iterator[None]:
    """An error raised inside carries the run it came after, as ``err.history`` (and a note)."""
    try:
        yield
    except Exception as err:
        err.history = history  # type: ignore[attr-defined]
        add_note = getattr(err, "add_note", None)  # 3.11+
        if add_note is not None:
            add_note(f"train: raised after {history.epochs} epochs of training "
                     f"({history.reason}); the run is this error's .history")
        raise


# ---- one forward and backward pass of train(): rebuilt, or recorded once and replayed ----

#: Per-sample replay of a loss that is not in losses.TARGET_LEAF records one graph per
#: distinct target; a run with more distinct targets than this takes the others eagerly.
MAX_RECORDED = 16


#: What records a graph for replay: compiler.compile, or its native backend; None: eager.
Record = Callable[[Value], Callable[[], float]] | None


def _replay(compile: Any, model: Module, loss: Callable[..., Any]) -> Record:
    """train's compile=: True, False, "auto"/None (the model and loss declared replayable),
    or "native" (as "auto", natively; ImportError naming the extra, before any work)."""
    if compile is True or compile is False:
        return compiler.compile if compile else None
    if compile is None or compile == "auto":
        return compiler.compile if _replayable(model, loss) else None
    if compile == "native":
        compiler.compile(Value(0.0), backend="native")  # the backend's check of its extra
        if _replayable(model, loss):
            return partial(compiler.compile, backend="native")
        why = ("the loss is not one of losses.LOSSES" if vouched(model) else
               f"{type(model).__name__} is not vouched free of branches on Value data "
               "(nn.vouched)")
        warnings.warn(f"train(compile='native'): {why}; training eagerly", stacklevel=3)
        return None
    raise ValueError("train: compile must be 'auto', True, False or 'native', "
                     f"got {preview(compile)}")


def _replayable(model: Module, loss: Callable[..., Any]) -> bool:
    """Model and loss vouched free of branches on Value data: all the code a call of the
    model reaches (``nn.vouched``), and a loss of LOSSES."""
    return vouched(model) and loss in LOSSES.values()


SampleStep = Callable[[tuple[Any, ...], Any], float]


def _sample_step(model: Module, loss: Callable[[Any, Any], Value], replay: Record,
                 weight: Value | None = None) -> tuple[SampleStep, SampleStep]:
    """E = loss(model(*inputs), target) and its backward pass, returning E; and the check
    pass's step: the same, but a sample taken eagerly runs forward only.

    Replayed: the inputs are leaves x1, x2, … whose .data each sample sets. A loss of
    TARGET_LEAF takes the target as a leaf y (or y1, y2, … for a list) set the same way;
    another has one recorded graph per target value (hinge checks y = ±1, cross_entropy
    picks the target's logit). With a weight (a leaf), the graph is E·weight instead, and
    returns that: ∂/∂weight = E is added into weight.grad.
    """
    def graph_of(inputs: Sequence[Any], target: Any) -> Value:
        return _sample_loss(loss, weight, model(*inputs), target)

    def rebuilt(inputs: tuple[Any, ...], target: Any) -> float:
        e = graph_of(inputs, target)
        e.backward()
        return e.data

    def forward(inputs: tuple[Any, ...], target: Any) -> float:
        return graph_of(inputs, target).data

    if replay is None:
        return rebuilt, forward
    record = replay
    xs: list[Value] = []
    graphs: dict[Any, tuple[Callable[[], float], list[Value], Any]] = {}
    leaf_target = loss in TARGET_LEAF

    def replayed(inputs: tuple[Any, ...], target: Any, eager: SampleStep = rebuilt,
                 check: bool = False) -> float:
        if not xs:
            xs.extend(Value(0.0, f"x{i + 1}") for i in range(len(inputs)))
        values = _target_numbers(target) if leaf_target else None
        if values is not None:  # the target's leaves: one y, or y1, y2, … for a list
            key = ("leaf", len(values) if isinstance(target, (list, tuple)) else None)
        else:
            key = _target_key(target)
        recorded = graphs.get(key)
        if (len(inputs) != len(xs) or any(isinstance(v, Value) for v in inputs)
                or (recorded is None and (key is None or len(graphs) >= MAX_RECORDED))):
            return eager(inputs, target)
        for x, v in zip(xs, inputs):
            x.data = v if type(v) is float else as_float(v)  # Value(v)'s check and message
        fresh = recorded is None
        if recorded is None:
            out = model(*xs)
            # stand-ins of the model's output, for the loss's own check of a leaf target as
            # given ("y ∈ [0, 1]", a length), which a replay does not run
            probe = (Value(0.0) if isinstance(out, Value) else
                     [Value(0.0) for _ in out] if isinstance(out, (list, tuple)) else out)
            if values is not None:
                loss(probe, target)
            ys = [] if values is None else [Value(t, "y" if key[1] is None else f"y{i + 1}")
                                            for i, t in enumerate(values)]
            y = target if values is None else ys[0] if key[1] is None else ys
            recorded = graphs[key] = (record(_sample_loss(loss, weight, out, y)), ys, probe)
        graph, ys, probe = recorded
        for y, t in zip(ys, values or ()):
            y.data = t
        if check and not fresh and values is not None:
            loss(probe, target)
        return graph()

    return replayed, partial(replayed, eager=forward, check=True)


def _sample_loss(loss: Callable[[Any, Any], Value], weight: Value | None, out: Any,
                 target: Any) -> Value:
    """E = loss(out, target) for a model's output, or E·weight; TypeError if E is no Value."""
    e = loss(out, target)
    if not isinstance(e, Value):
        raise TypeError(f"train: the loss must return a Value, got {type(e).__name__}")
    return e if weight is None else e * weight


def _target_numbers(target: Any) -> list[float] | None:
    """A target as the floats its leaves hold: a number, or a list or tuple of numbers."""
    values = target if isinstance(target, (list, tuple)) else [target]
    if not values or not all(isinstance(t, numbers.Real) and not isinstance(t, bool)
                             for t in values):
        return None
    return [as_float(t) for t in values]


def _target_key(target: Any) -> Any:
    """A dict key telling targets apart (1 from 1.0 and True); None if unhashable."""
    key = (type(target), tuple(target) if isinstance(target, list) else target)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _batch_step(model: Module, loss: Callable[[Any, Any], Value],
                samples: list[tuple[tuple[Any, ...], Any]], replay: Record,
                advance: Callable[[int], Any] | None = None,
                whole: bool = False) -> Callable[[], float]:
    """The mean loss over all samples and its backward pass; returns it.

    Replayed, as each sample's graph of E_i·(1/n) (``_sample_step`` with the weight 1/n),
    sample after sample: the batch graph's floats, bit for bit (each E_i gets the grad 1/n,
    each leaf adds the samples' terms in their order, and the weight's grad adds up
    E_1 + … + E_n left to right, as the sum node does), for the cost of recording one sample.
    whole=True (the native backend) records the batch graph itself once instead, the
    samples' inputs and targets its constants, and replays it in one call a step: one
    crossing into the native loops a step, not one a sample (its compile is linear in the
    graph; the Python backend's would cost many eager epochs).
    advance(k), if given, is told of every TICK samples done and of the rest at the end.
    """
    def ticks() -> Iterable[tuple[tuple[Any, ...], Any]]:
        for i, sample in enumerate(samples):
            yield sample
            if advance is not None and i % TICK == TICK - 1:
                advance(TICK)
        if advance is not None:
            advance(len(samples) % TICK)

    def batch_loss() -> Value:
        return Value.sum([loss(model(*x), target) for x, target in ticks()]) / len(samples)

    def rebuilt() -> float:
        e = batch_loss()
        e.backward()
        return e.data

    if replay is None:
        return rebuilt
    if whole:
        record = replay
        batch: list[Callable[[], float]] = []  # the batch's graph, once recorded

        def replayed_whole() -> float:
            if not batch:
                batch.append(record(batch_loss()))
            elif advance is not None:
                advance(len(samples))
            return batch[0]()

        return replayed_whole
    weight = Value(1.0 / len(samples), "1/n")  # what the sum node's grad is: ∂(s/n)/∂s
    step, _ = _sample_step(model, loss, replay, weight)

    def replayed() -> float:
        weight.grad = 0.0
        for inputs, target in ticks():
            step(inputs, target)
        return weight.grad / len(samples)

    return replayed


def _step(optimizer: Optimizer, hidden_mask: list[bool], max_grad: float,
          max_hidden: float) -> tuple[float, float]:
    """The running max |grad| overall and in hidden layers, then optimizer.step().

    A NaN gradient makes max_grad NaN and it stays NaN, whatever comes before or after it
    (this sample's other parameters, the epoch's later samples), so the run stops as diverged.
    """
    for p, is_hidden in zip(optimizer.params, hidden_mask):
        a = abs(p.grad)
        if not a <= max_grad and max_grad == max_grad:  # a NaN a is taken, a NaN max kept
            max_grad = a
        if is_hidden and a > max_hidden:
            max_hidden = a
    optimizer.step()
    return max_grad, max_hidden


def _optimizer(optimizer: Any, params: list[Value], lr: float) -> Optimizer:
    """train's optimizer=: an Optimizer over exactly these parameters, or one made by name."""
    if isinstance(optimizer, str):
        make = OPTIMIZERS.get(optimizer.lower())
        if make is None:
            raise ValueError(f"train: unknown optimizer {preview(optimizer)}; "
                             f"known: {', '.join(OPTIMIZERS)}")
        return make(params, lr=lr)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"train: optimizer must be an Optimizer, a name or None, "
                        f"got {type(optimizer).__name__}")
    if (len(optimizer.params) != len(params)
            or {id(p) for p in optimizer.params} != {id(p) for p in params}):
        raise ValueError(f"train: the {type(optimizer).__name__}'s parameters are not the "
                         f"model's ({len(optimizer.params)} given, the model has {len(params)})")
    return optimizer


def _check_data(data: Any) -> list[tuple[tuple[Any, ...], Any]]:
    if callable(data) and not isinstance(data, Iterable):  # train(net, xor) as well as xor()
        data = data()
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError("train: data must be a sequence of (inputs, target), "
                        f"got {type(data).__name__}")
    samples = []
    for i, sample in enumerate(data):
        try:
            inputs, target = sample
        except (TypeError, ValueError):
            raise TypeError(
                f"train: data[{i}] must be a pair (inputs, target), "
                f"got {preview(sample)}") from None
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
            raise TypeError(f"train: data[{i}] inputs must be a tuple of numbers, "
                            f"got {preview(inputs)}")
        samples.append((tuple(inputs), target))
    if not samples:
        raise ValueError("train: data is empty")
    return samples


def _check_samples(samples: list[tuple[tuple[Any, ...], Any]], params: list[Value],
                   run: Callable[[tuple[Any, ...], Any], Any]) -> None:
    """run(inputs, target) on every sample, before any update: a bad one raises, naming its
    index. The parameters' grads are put back as they were (a replayed run adds into them)."""
    grads = [p.grad for p in params]
    try:
        for i, (inputs, target) in enumerate(samples):
            try:
                run(inputs, target)
            except Exception as err:
                add_note = getattr(err, "add_note", None)  # 3.11+; the error stays theirs
                if add_note is not None:
                    add_note(f"train: raised by data[{i}], before any update")
                raise
    finally:
        for p, g in zip(params, grads):
            p.grad = g


def _progress_bar(progress: bool | None, samples: int) -> Any:
    """A tqdm bar over the run's samples, or None when the run should be silent.

    progress=None: only on a terminal, shown once the run has taken LONG_RUN_SECONDS.
    """
    delay = 0.0
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        progress, delay = callable(isatty) and isatty(), LONG_RUN_SECONDS
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=samples, unit="sample", file=sys.stderr, leave=False, delay=delay,
                desc="training")


# ---- accuracy ------------------------------------------------------------------------


def correct(model: Module, data: Sequence[tuple[Sequence[float], Any]] | Callable[[], Any]
            ) -> list[bool] | None:
    """For each sample, whether the model classifies it right; None if the targets are not classes.

    Several outputs (logits): right when the largest output is the target's, an int class.
    One output: targets all 0/1 split at ŷ > 0.5, targets all ±1 at ŷ > 0.
    """
    return _correct(model, _check_data(data), replay=None)


def accuracy(model: Module, data: Sequence[tuple[Sequence[float], Any]] | Callable[[], Any]
             ) -> float | None:
    """The fraction of samples ``correct`` says are right; None if the targets are not classes."""
    return _fraction(correct(model, data))


def _fraction(right: list[bool] | None) -> float | None:
    return None if right is None else sum(right) / len(right)


def _correct(model: Module, samples: list[tuple[tuple[Any, ...], Any]],
             replay: Record) -> list[bool] | None:
    """correct() on checked samples, the outputs replayed if replay (``_outputs``)."""
    targets = [t for _, t in samples]
    labels = {number(t) for t in targets}
    binary = labels <= {0.0, 1.0} or labels <= {-1.0, 1.0}
    classes = [class_index(t) for t in targets]
    if not binary and None in classes:
        return None  # (the model is not run)
    outputs = _outputs(model, samples, replay)
    if not any(isinstance(y, list) for y in outputs):
        if not binary:
            return None
        cut = 0.5 if labels <= {0.0, 1.0} else 0.0
        return [(y > cut) == (t == 1) for y, t in zip(outputs, targets)]
    if None in classes:
        return None
    return [max(range(len(scores)), key=scores.__getitem__) == t
            for scores, t in zip(outputs, classes)]


def _outputs(model: Module, samples: list[tuple[tuple[Any, ...], Any]],
             replay: Record) -> list[Any]:
    """Each sample's model output as data: ŷ.data, or a list of them for several outputs.

    Replayed: the graph Σ_k z_k·c_k of the outputs z_k, recorded once with the inputs as
    leaves (as ``_sample_step``) and replayed per sample, leaves each leaf c_k's grad z_k;
    the parameters' grads are put back as they were.
    """
    def data(out: Any) -> Any:
        return out.data if isinstance(out, Value) else [z.data for z in out]

    if replay is None:
        return [data(model(*x)) for x, _ in samples]
    xs = [Value(0.0, f"x{i + 1}") for i in range(len(samples[0][0]))]
    out = model(*xs)
    zs = [out] if isinstance(out, Value) else list(out)
    if not zs or not all(isinstance(z, Value) for z in zs):
        return [data(model(*x)) for x, _ in samples]
    cs = [Value(0.0, f"c{k + 1}") for k in range(len(zs))]
    root = Value.sum([z * c for z, c in zip(zs, cs)])
    root.label = "outputs"
    graph = replay(root)
    params = model.parameters()
    grads = [p.grad for p in params]
    outputs: list[Any] = []
    try:
        for inputs, _ in samples:
            if len(inputs) != len(xs) or any(isinstance(v, Value) for v in inputs):
                outputs.append(data(model(*inputs)))
                continue
            for x, v in zip(xs, inputs):
                x.data = v if type(v) is float else as_float(v)
            for c in cs:
                c.grad = 0.0
            graph()
            outputs.append(cs[0].grad if isinstance(out, Value) else [c.grad for c in cs])
    finally:
        for p, g in zip(params, grads):
            p.grad = g
    return outputs
