"""A GPT from Values: karpathy's microgpt, trained on 32,000 names, then babbling new ones.

``micrograd.gpt.GPT``: n_embd 16, 4 heads, 1 layer, block 16, 4,192 parameters; one name
per step (the shuffled list of micrograd/names.txt), softmax cross-entropy per position,
Adam (β1 0.85, β2 0.99, lr 0.01 decaying linearly), 1,000 steps; then 20 names sampled at
temperature 0.5. Training replays one recorded graph per name length (compile on, the
same floats as --eager, which builds and back-propagates every graph as it goes).
``--page`` also writes the run's offline page, gpt_page.html (``micrograd.gpt_page``), and
its screenshot at the last step, gpt_page.png (headless Chromium, where installed).

--quick: 10 steps and 5 samples (for tests). The full run takes under a minute here.

Run:  python demos/gpt.py [--steps N] [--eager] [--temperature T] [--page] [--out DIR] [--quick]
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import demo_common

from micrograd.gpt import GPT, Tokenizer, names, sample
from micrograd.gpt_train import train_gpt

STEPS = 1000
SAMPLES = 20
VIEWPORT = {"width": 1280, "height": 800}


def main(argv: Sequence[str] | None = None) -> int:
    p = demo_common.parser(__doc__, "10 steps and 5 samples (for tests)")
    p.add_argument("--steps", type=demo_common.positive_int, default=None,
                   help=f"training steps (default {STEPS})")
    p.add_argument("--eager", action="store_true", help="compile off: build every graph")
    p.add_argument("--temperature", type=float, default=0.5, help="sampling temperature")
    p.add_argument("--page", action="store_true", help="also write the run's page, gpt_page.html")
    args = p.parse_args(argv)
    steps = args.steps if args.steps is not None else 10 if args.quick else STEPS
    docs = names()
    tokenizer = Tokenizer.from_docs(docs)
    model = GPT(tokenizer.vocab_size)
    print(f"{len(docs)} names, vocabulary {tokenizer.vocab_size} ({tokenizer.chars} and BOS); "
          f"{model!r}: {len(model.parameters())} parameters; {steps} steps, "
          f"{'eager' if args.eager else 'compiled per length'}")
    every = max(1, steps // 10)
    history = None
    if args.page:
        from micrograd.gpt_page import Recorder

        history = Recorder(model, tokenizer, docs, steps, every=5 if args.quick else None)
    start = time.perf_counter()

    def report(step: int, loss: float, optimizer: object) -> None:
        if history is not None:
            history(step, loss, optimizer)
        if step % every == 0 or step == steps - 1:
            print(f"step {step + 1:4d} / {steps} | loss {loss:.4f}")

    train_gpt(model, docs, tokenizer, steps=steps, compile=not args.eager, on_step=report)
    print(f"trained in {time.perf_counter() - start:.1f} s\n")
    rng = random.Random(0)
    print(f"--- sampled names (temperature {args.temperature}) ---")
    for i in range(5 if args.quick else SAMPLES):
        print(f"sample {i + 1:2d}: {sample(model, tokenizer, rng, args.temperature)}")
    if history is not None:
        path = demo_common.out_dir(args.out) / "gpt_page.html"
        history.write(path)
        print(f"\nwrote {demo_common.shown(path)} (← / → move between the recorded steps)")
        png = path.with_suffix(".png")
        if demo_common.screenshot(path, png, "#step=end", VIEWPORT, full_page=True):
            print(f"wrote {demo_common.shown(png)} (the last step)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
