"""Handwritten digits: MLP(64, [32, 10]) learns sklearn's 8x8 digits, eager, compiled, native.

The 1,797 images of ``sklearn.datasets.load_digits`` (shipped with scikit-learn: nothing is
downloaded), pixels scaled to [0, 1]; the first 1,500 train, the other 297 test. Softmax
cross-entropy, one image per SGD step (lr 0.05), the training images in a new shuffled order each
epoch (seeded: every engine sees the same orders), the same network trained three times from the
same seed:
- eager: the graph built for every image, ``loss.backward()``, ``optimizer.step()``;
- compiled: ``micrograd.compiler.Trainer``, one recorded step per class, replayed in Python on
  lists that own the parameters (written back to the Values after each epoch, for the accuracy);
- native: ``Trainer(optimizer, backend="native")``, the same recorded steps run by machine code
  (llvmlite), each image's pixels passed in as floats: ``step(x)``. It needs the extra
  ``pip install 'micrograd-notes[native]'``; without it the demo says so and runs the other two.
All three take the same steps, bit for bit (the demo compares every parameter at the end); only
the images/s differ. A progress bar shows on a terminal.

--quick: 60 training and 60 test images, 1 epoch (for tests). The full run takes about a minute.

Run:  python demos/digits.py [--out DIR] [--quick] [--epochs N]
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import demo_common
from tqdm import tqdm

from micrograd import SGD, Value, compile
from micrograd.compiler import Trainer
from micrograd.losses import cross_entropy
from micrograd.native import EXTRA
from micrograd.nn import MLP

SIZES = [32, 10]
LR, SEED, TRAIN, EPOCHS = 0.05, 0, 1500, 3

Image = tuple[list[float], int]


def digits() -> list[Image]:
    """sklearn's digits: 64 pixels in [0, 1] and the digit, in the data set's order."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return [([float(v) / 16.0 for v in row], int(t)) for row, t in zip(bunch.data, bunch.target)]


def accuracy(model: MLP, images: list[Image]) -> float:
    """The fraction of images whose largest logit is their digit."""
    right = 0
    for x, t in images:
        logits = [z.data for z in model(*x)]
        right += logits.index(max(logits)) == t
    return right / len(images)


def eager_epoch(model: MLP, optimizer: SGD) -> Callable[[Image], float]:
    """One image's step, the graph rebuilt."""
    def step(image: Image) -> float:
        x, t = image
        optimizer.zero_grad()
        loss = cross_entropy(model(*x), t)
        loss.backward()
        optimizer.step()
        return loss.data

    return step


def compiled_epoch(model: MLP, optimizer: SGD,
                   backend: str) -> tuple[Trainer, Callable[[Image], float]]:
    """One image's step, replayed by a Trainer: the class's recorded step run on the pixels."""
    trainer = Trainer(optimizer, backend=backend)
    xs = [Value(0.0, f"x{i}") for i in range(64)]  # the inputs: leaves the pixels replace
    steps = {t: trainer.compile(cross_entropy(model(*xs), t), inputs=xs) for t in range(10)}

    def step(image: Image) -> float:
        x, t = image
        return steps[t](x)

    return trainer, step


Result = tuple[MLP, float, float, float, float]  # model, images/s, compile s, loss, accuracy


def train(name: str, train_set: list[Image], test_set: list[Image], epochs: int) -> Result:
    """Train one engine from the seed: the model, images/s, seconds to compile, the mean loss of
    the last epoch and the test accuracy."""
    model = MLP(64, SIZES, seed=SEED)
    optimizer = SGD(model.parameters(), lr=LR)
    trainer = None
    start = time.perf_counter()
    if name == "eager":
        step = eager_epoch(model, optimizer)
    else:
        trainer, step = compiled_epoch(model, optimizer, BACKENDS[name])
    compile_s = time.perf_counter() - start
    seconds, loss, acc = 0.0, float("nan"), float("nan")
    shuffle = random.Random(SEED)  # the same orders for every engine
    for epoch in range(epochs):
        total = 0.0
        order = shuffle.sample(train_set, len(train_set))
        bar = tqdm(order, desc=f"{name} epoch {epoch + 1}", unit="img", disable=None,
                   leave=False)
        start = time.perf_counter()
        for image in bar:
            total += step(image)
        seconds += time.perf_counter() - start
        if trainer is not None:
            trainer.sync()  # the Values current again, for the accuracy
        loss, acc = total / len(train_set), accuracy(model, test_set)
        print(f"{name:>8}  epoch {epoch + 1}  mean loss {loss:.4f}  test accuracy {acc:.1%}")
    return model, epochs * len(train_set) / seconds, compile_s, loss, acc


BACKENDS = {"compiled": "python", "native": "native"}  # a Trainer's backend per engine


def native_missing() -> str | None:
    """Why the native column cannot run (the [native] extra's error), or None when it can."""
    try:
        compile(Value(0.0) * 1.0, backend="native")  # a one-node graph: llvmlite or the error
    except ImportError as err:
        return str(err)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    p = demo_common.parser(__doc__, "60 images, 1 epoch (for tests)")
    p.add_argument("--epochs", type=demo_common.positive_int, default=None,
                   help=f"passes over the training images (default {EPOCHS})")
    args = p.parse_args(argv)
    out = demo_common.out_dir(args.out)
    images = digits()
    train_set, test_set = images[:TRAIN], images[TRAIN:]
    if args.quick:
        train_set, test_set = train_set[:60], test_set[:60]
    epochs = args.epochs if args.epochs is not None else 1 if args.quick else EPOCHS
    print(f"MLP(64, {SIZES}), softmax cross-entropy, SGD lr {LR}, one image per step: "
          f"{len(train_set):,} training images, {len(test_set)} test images, {epochs} epoch(s)")
    print("eager: the graph built for every image; compiled: each digit's step recorded once and"
          "\nreplayed as Python (compiler.Trainer); native: the same steps as machine code"
          "\n(Trainer(..., backend='native')), the parameters kept in its arrays\n")
    names = ["eager", "compiled", "native"]
    missing = native_missing()
    if missing:
        names.remove("native")
        print(f"native: not run ({missing})\n")
    results = {name: train(name, train_set, test_set, epochs) for name in names}
    eager = results["eager"]
    rows = [[name, f"{speed:,.0f}", f"{speed / eager[1]:,.1f}x",
             "–" if name == "eager" else f"{compile_s:.2f}", f"{loss:.4f}", f"{acc:.1%}"]
            for name, (_, speed, compile_s, loss, acc) in results.items()]
    headers = ["engine", "images/s", "vs eager", "compile s", "mean loss, last epoch",
               "test accuracy"]
    print()
    print(demo_common.text_table(headers, rows, "lrrrrr"))
    print(f"""
images/s: training steps per second, the epochs' loops timed alone (not the compile, not the
  accuracy); vs eager: that over eager's; compile s: recording the ten steps, one per digit.
mean loss: each step's cross-entropy, before its update, averaged over the last epoch.
test accuracy: the share of the {len(test_set)} held-out images the model classifies right. One
  image per step is noisy: it can dip for an epoch while the loss falls.""")
    reference = [p.data for p in eager[0].parameters()]
    same = True
    for name in names[1:]:
        agrees = [p.data for p in results[name][0].parameters()] == reference
        same = same and agrees
        print(f"{name} took the eager steps, bit for bit (all {len(reference):,} parameters "
              f"equal at the end): {'yes' if agrees else 'NO'}")
    if missing:
        print(f"the native column needs the extra: {EXTRA}")
    demo_common.write_text(out / "digits.md", demo_common.markdown_table(headers, rows, "lrrrrr"))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
