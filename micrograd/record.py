"""What a run keeps: train()'s ``TrainHistory`` (why it stopped: ``StopReason``) and, with
``page=``, its ``Recording``: per recorded epoch, the parameters and updates.

The history lives here, below ``micrograd.train`` (which re-exports it), so the training
page that draws a history imports nothing above itself.

``train()`` calls a ``Recorder``'s four hooks (start of an epoch, before and after each
optimiser step, end of an epoch). The hooks only read ``p.data``, ``p.grad`` and the
optimiser's ``state()``: recording never changes a float of training.

What is kept (the frame budget and the detail budget keep a page's size bounded):
- Epochs: every epoch while there are at most ``frames`` of them; beyond that the epochs
  k·s (s a doubling power of 2, so evenly spaced, epoch 0 first) and always the last.
- Per kept epoch (a ``Frame``): the mean loss, every parameter at its start and its end.
- Per kept epoch, the updates (``Update``) of the *detail samples*: every sample when the
  data times the parameters make at most ``DETAIL_SAMPLE_ROWS`` rows, else that many rows'
  worth of samples evenly spread over the data (full batch: the epoch's one update). Each
  holds the parameters before the step, the grads the step used, the parameters after and
  the optimiser's state after (SGD momentum's velocity, Adam's m and v, its step count t).
- At the end, updates stay on as many kept epochs, evenly spread, first and last included,
  as make at most ``DETAIL_ROWS`` parameter rows; the other frames keep their losses and
  parameters only.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from micrograd._numbers import preview
from micrograd.nn import Module
from micrograd.optim import Optimizer

__all__ = ["DETAIL_ROWS", "DETAIL_SAMPLE_ROWS", "FRAMES", "Frame", "Recorder", "Recording",
           "StopReason", "TrainHistory", "Update", "evenly"]

#: The default frame budget: train(page_frames=...) keeps about this many epochs.
FRAMES = 200
#: At most this many (sample, parameter) rows per recorded epoch: the detail samples.
DETAIL_SAMPLE_ROWS = 2_000
#: At most this many parameter rows of updates over the whole recording.
DETAIL_ROWS = 20_000


class StopReason(str, enum.Enum):
    """Why a run stopped; compares equal to (and prints as) its text."""

    CONVERGED = "gradient below tolerance"
    STEP_CAP = "step cap reached"
    EPOCH_CAP = "epoch cap reached"
    DIVERGED = "diverged"
    NO_HIDDEN_GRADIENT = "hidden-layer gradients are exactly zero"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class TrainHistory:
    """What train() did: the loss of each epoch, how many epochs, and why it stopped."""

    losses: list[float]  # the mean loss of each epoch, taken before each update
    epochs: int
    reason: StopReason
    max_grad: float  # max |∂E/∂p| over the parameters and samples of the last epoch
    accuracy: float | None = None  # fraction right after training; None if targets are not classes
    recording: Recording | None = field(default=None, repr=False)  # train(page=...)'s record

    @property
    def converged(self) -> bool:
        """True if the gradient fell below the tolerance."""
        return self.reason is StopReason.CONVERGED


@dataclass(frozen=True)
class Update:
    """One optimiser step: parameters before it, the grads it used, after it, and its state."""

    sample: int | None  # the index into data; None for a full-batch step
    loss: float  # E of this sample (the batch mean for a full-batch step), before the step
    before: list[float]  # per parameter, in the model's named_parameters() order
    grads: list[float]
    after: list[float]
    state: dict[str, list[float]]  # the optimiser's state() after the step
    t: int  # the optimiser's steps so far, this one included (1 = the first update)
    lr: float = math.nan  # the optimiser's lr when the step was taken (a decaying lr's own)


@dataclass(frozen=True)
class Frame:
    """One recorded epoch: its mean loss, the parameters at its start and end, its updates."""

    epoch: int  # 0 is the first epoch, run from the initial parameters
    loss: float
    start: list[float]
    end: list[float]
    updates: list[Update] = field(default_factory=list)  # the detail samples', in data order


@dataclass(frozen=True)
class Recording:
    """A run as train() recorded it: ``history.recording``."""

    names: list[str]  # the parameters, as model.named_parameters() names them
    frames: list[Frame]
    samples: list[int]  # the detail samples: those whose updates frames hold
    per_sample: bool
    optimizer: Optimizer
    epochs: int  # epochs run (frames[-1].epoch + 1)

    def frame(self, epoch: int) -> Frame:
        """The recorded frame nearest to epoch (the earlier one on a tie)."""
        return min(self.frames, key=lambda f: (abs(f.epoch - epoch), f.epoch))


def evenly(n: int, k: int) -> list[int]:
    """k indices evenly spread over range(n), 0 and n − 1 included (all of them if k >= n)."""
    if k >= n:
        return list(range(n))
    if k <= 1:
        return [0]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


class Recorder:
    """train()'s hooks; ``recording()`` gives what they kept."""

    def __init__(self, model: Module, optimizer: Optimizer, n_samples: int, per_sample: bool,
                 frames: int = FRAMES) -> None:
        if not isinstance(frames, int) or isinstance(frames, bool) or frames < 2:
            raise ValueError(f"train: page_frames must be an int >= 2, got {preview(frames)}")
        named = model.named_parameters()
        self.names = [name for name, _ in named]
        self.params = [p for _, p in named]
        position = {id(p): i for i, p in enumerate(optimizer.params)}
        self._order = [position[id(p)] for p in self.params]  # optimizer index per parameter
        self.optimizer = optimizer
        self.per_sample = per_sample
        rows = max(1, DETAIL_SAMPLE_ROWS // max(1, len(self.params)))
        self.samples = evenly(n_samples, rows) if per_sample else []
        self._detail = set(self.samples)
        self.budget = frames
        self.stride = 1
        self.frames: list[Frame] = []
        self._last: Frame | None = None
        self._epoch = 0
        self._start: list[float] = []
        self._updates: list[Update] = []
        self._pending: tuple[int | None, float, list[float], list[float], float] | None = None

    def _values(self) -> list[float]:
        return [p.data for p in self.params]

    def start_epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` starts: the parameters now are its start."""
        self._epoch = epoch
        self._start = self._values()
        self._updates = []

    def before_step(self, sample: int | None, loss: float) -> None:
        """The grads are this sample's (None: the batch's) and the step is next."""
        if sample is None or sample in self._detail:
            self._pending = (sample, loss, self._values(), [p.grad for p in self.params],
                             self.optimizer.lr)

    def after_step(self) -> None:
        """The step was taken: keep it with the parameters after it and the optimiser state."""
        if self._pending is None:
            return
        sample, loss, before, grads, lr = self._pending
        self._pending = None
        state = {key: [values[i] for i in self._order]
                 for key, values in self.optimizer.state().items()}
        steps = getattr(self.optimizer, "steps", None)
        t = steps if isinstance(steps, int) else len(self._updates) + 1
        self._updates.append(Update(sample, loss, before, grads, self._values(), state, t, lr))

    def end_epoch(self, loss: float) -> None:
        """The epoch ended with mean loss ``loss``: a frame, kept if its epoch is on the stride."""
        frame = Frame(self._epoch, loss, self._start, self._values(), self._updates)
        self._last = frame
        if self._epoch % self.stride:
            return
        if len(self.frames) == self.budget:  # full: keep every other one, twice the stride
            del self.frames[1::2]
            self.stride *= 2
            if self._epoch % self.stride:
                return
        self.frames.append(frame)

    def recording(self) -> Recording:
        """The frames kept (the last epoch included), updates on at most DETAIL_ROWS rows."""
        frames = list(self.frames)
        if self._last is not None and (not frames or frames[-1] is not self._last):
            if len(frames) == self.budget:
                frames.pop()
            frames.append(self._last)
        per_frame = max(1, len(self.params) * max(1, len(self.samples) if self.per_sample
                                                  else 1))
        keep = set(evenly(len(frames), max(2, DETAIL_ROWS // per_frame)))
        frames = [f if i in keep else Frame(f.epoch, f.loss, f.start, f.end)
                  for i, f in enumerate(frames)]
        epochs = frames[-1].epoch + 1 if frames else 0
        return Recording(self.names, frames, self.samples if self.per_sample else [],
                         self.per_sample, self.optimizer, epochs)

