"""The training page's budgets: size, opening time, one-epoch redraw, recording's cost.

    python -m benchmarks.training_page

The main job's page (Net221 on XOR, 3000 epochs cap) at most 1 MB; the CLI's spiral run
with Adam and cross-entropy at most 5 MB; each ready in headless Chromium in under 3 s, one
epoch moved (clicked, laid out and painted) in under 100 ms; train() with recording at most
2x train() without (the floor, measured in the same run; writing the page is timed apart).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from micrograd import data, train
from micrograd.__main__ import main as cli
from micrograd.nn import Net221


def train_times(repeats: int = 5) -> tuple[float, float]:
    """Best-of seconds of the main job's train(): without recording, and with the recorder
    hooks (the page not written)."""
    plain, recorded = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        train(Net221("tanh"), data.xor(), lr=0.1, epochs=3000, tol=1e-6, progress=False)
        plain.append(time.perf_counter() - start)
        train_module_write = __import__("micrograd.training_page", fromlist=["x"])
        saved = train_module_write.write_page
        train_module_write.write_page = lambda *a, **k: None  # type: ignore[assignment]
        try:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                train(Net221("tanh"), data.xor(), lr=0.1, epochs=3000, tol=1e-6,
                      progress=False, page=Path(tmp) / "x.html")
                recorded.append(time.perf_counter() - start)
        finally:
            train_module_write.write_page = saved  # type: ignore[assignment]
    return min(plain), min(recorded)


# One epoch moved by the ▶ button: the time until the frame after it is painted (the click's
# script, style, layout and paint), and until the stepper holds the epoch's graph too (fed
# after that paint when the graph changes record).
_MOVE = """() => new Promise((done) => {
  const t = performance.now();
  document.getElementById('epoch-next').click();
  requestAnimationFrame(() => setTimeout(() => {
    const painted = performance.now() - t;
    requestAnimationFrame(() => setTimeout(() => done([painted, performance.now() - t]), 0));
  }, 0));
})"""


def browser_times(path: Path, moves: int = 30) -> tuple[float, float, float, float]:
    """Seconds until the page is ready; of `moves` one-epoch moves from epoch 0 at 1280×800, the
    median and slowest until painted, and the slowest until the graph is fed as well."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "demos"))
    import demo_common
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = demo_common.launch_chromium(pw, demo_common.chromium_path())
        tab = browser.new_page(viewport={"width": 1280, "height": 800})
        start = time.perf_counter()
        tab.goto(path.as_uri() + "#epoch=0&sample=0&step=3")
        tab.wait_for_selector("html[data-ready='1']", timeout=30_000)
        ready = time.perf_counter() - start
        times = [tab.evaluate(_MOVE) for _ in range(moves)]
        browser.close()
    painted = sorted(t[0] for t in times)
    return ready, painted[len(painted) // 2] / 1000, painted[-1] / 1000, max(
        t[1] for t in times) / 1000


def main() -> None:
    plain, recorded = train_times()
    print(f"main job train(): {plain * 1e3:.0f} ms, recording {recorded * 1e3:.0f} ms "
          f"({recorded / plain:.2f}x; budget 2x)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        cli(["--out", str(out / "net221.svg")])
        print(f"main job in all (training, page, drawing): {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        cli(["train", "--dataset", "spiral", "--optimizer", "adam", "--loss", "cross_entropy",
             "--page", str(out / "x.html")])
        print(f"spiral run with its page: {time.perf_counter() - start:.1f} s")
        for name, path, budget in (("main job", out / "net221.html", 1e6),
                                   ("spiral adam", out / "x.html", 5e6)):
            size = path.stat().st_size
            ready, median, slowest, fed = browser_times(path)
            print(f"{name}: {size / 1e6:.2f} MB (budget {budget / 1e6:.0f} MB), ready in "
                  f"{ready:.2f} s (budget 3 s), one epoch moved and painted: median "
                  f"{median * 1e3:.0f} ms, slowest {slowest * 1e3:.0f} ms (budget 100 ms); "
                  f"slowest with the graph fed too {fed * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
