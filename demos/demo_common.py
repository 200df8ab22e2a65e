"""What every demo shares: its command line, matplotlib if installed, and markdown tables."""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs"
PLOT_HINT = "matplotlib is not installed, so no picture: pip install '.[plot]' (or matplotlib)"


def positive_int(text: str) -> int:
    """An argparse type for a demo's count (--steps, --epochs, --jobs): an int >= 1."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def parser(doc: str | None, quick: str) -> argparse.ArgumentParser:
    """An ArgumentParser with --out DIR (default docs/) and --quick; --help shows the docstring."""
    p = argparse.ArgumentParser(
        description=(doc or "").strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=DOCS, metavar="DIR",
                   help=f"directory for the files this demo writes (default {shown(DOCS)}{os.sep})")
    p.add_argument("--quick", action="store_true", help=quick)
    return p


# Headless Chromium for the backprop page's screenshot and tests: Debian's browser on disk,
# driven by playwright from PyPI (never `playwright install`: nothing downloads a browser).
BROWSER_HINT = ("pip install playwright (the Python package only, no `playwright install`) "
                "and apt-get install chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run")


def chromium_path() -> str | None:
    """Chromium on disk: $MICROGRAD_CHROMIUM, else `chromium` (Debian) on PATH; None if absent."""
    for name in (os.environ.get("MICROGRAD_CHROMIUM"), "chromium", "chromium-browser"):
        found = shutil.which(name) if name else None
        if found:
            return found
    return None


def launch_chromium(playwright: Any, path: str) -> Any:
    """A headless Chromium from disk, through a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))


def screenshot(page: Path, png: Path, hash: str, viewport: dict[str, int],
               click: str | None = None, full_page: bool = False) -> Path | None:
    """A PNG of page opened at hash (after clicking the selector click) by headless Chromium.

    None, saying how to install what is missing, without playwright or Chromium.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(f"playwright is not installed, so no screenshot: {BROWSER_HINT}")
        return None
    path = chromium_path()
    if path is None:
        print(f"Chromium is not installed, so no screenshot: {BROWSER_HINT}")
        return None
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, path)
        try:
            tab = browser.new_page(viewport=viewport, device_scale_factor=1)
            tab.goto(f"{page.resolve().as_uri()}{hash}")
            tab.wait_for_selector("html[data-ready='1']")
            if click is not None:
                tab.click(click)
            tab.screenshot(path=str(png), full_page=full_page)
        finally:
            browser.close()
    return png


def shown(path: Path) -> str:
    """path relative to the working directory when it lies inside it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def out_dir(path: Path) -> Path:
    """The output directory, made if missing."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no window), or None with a hint printed."""
    try:
        import matplotlib
    except ImportError:
        print(PLOT_HINT)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure to path (format from its suffix), close it, say so."""
    fig.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"wrote {shown(path)}")
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                   align: str | None = None) -> str:
    """A GitHub markdown table; align is one letter per column, l or r (default: all l)."""
    align = align or "l" * len(headers)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines) + "\n"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
               align: str | None = None) -> str:
    """The same table as plain aligned columns, for the terminal."""
    align = align or "l" * len(headers)
    cells = [[str(c) for c in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w)
                         for c, w, a in zip(row, widths, align)).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]),
                      *(line(r) for r in cells[1:])])


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text with \\n line ends; say so."""
    path.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {shown(path)}")
    return path
