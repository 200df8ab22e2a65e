"""Jupyter: a Value shows its graph inline, and the pages show inline in an output cell.

A cell that ends in a ``Value`` displays ``draw_dot(value)`` as SVG, scaled down to the
cell's width: ``Value._repr_mimebundle_`` calls ``mimebundle`` here, which this module puts
in ``engine.NOTEBOOK_VIEW`` when it is imported (the package imports it; drawing sits above the
engine, so the engine imports nothing of it). A graph of more than
``INLINE_NODES`` nodes, too many to read at a cell's width, shows a one-line summary instead,
and so does any graph when Graphviz's ``dot`` program is missing. ``show(root)`` shows the
backprop page of root, and ``show("run.html")`` any page already written (the page of
``train(..., page="run.html")``, or of ``render(root, "x.html")``), in an inline frame as
wide as the cell.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

from micrograd import engine
from micrograd._numbers import preview
from micrograd.engine import Value

__all__ = ["INLINE_NODES", "InlinePage", "mimebundle", "show"]

INLINE_NODES = 200  # nodes a Value's inline drawing shows at most; above, a one-line summary
PAGE_HEIGHT = 820  # pixels: the pages are laid out for one screen of 1280×800


def _size(root: Value, limit: int) -> int:
    """How many nodes root's graph holds, counted no further than limit + 1 (bounded work)."""
    seen, stack = {root}, [root]
    while stack and len(seen) <= limit:
        for child in stack.pop().children:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return len(seen)


def mimebundle(root: Value) -> dict[str, str]:
    """What Jupyter shows for root: its drawing as SVG as wide as the cell at most, or one line."""
    text = repr(root)
    if _size(root, INLINE_NODES) > INLINE_NODES:
        return {"text/plain": f"{text}: a graph of more than {INLINE_NODES} nodes, too many to "
                              "draw inline; micrograd.graph.render(root, 'graph.svg') draws it"}
    import graphviz

    from micrograd.graph import draw_dot, fit_width  # (graphviz's package: imported on use)

    try:
        svg = draw_dot(root).pipe(format="svg", quiet=True).decode("utf-8")
    except graphviz.ExecutableNotFound:
        return {"text/plain": f"{text} (install Graphviz's `dot` program to see its graph)"}
    return {"image/svg+xml": fit_width(svg), "text/plain": text}  # as wide as the cell at most


engine.NOTEBOOK_VIEW = mimebundle  # a Value in a notebook cell shows its drawing


class InlinePage:
    """A page as a notebook output: its HTML in an inline frame (``_repr_html_``).

    The frame's document is a data: URL, not a srcdoc: a srcdoc frame resolves the page's
    ``#step=N`` links against the notebook's own address and would load the notebook in it.
    """

    def __init__(self, page_html: str, height: int = PAGE_HEIGHT) -> None:
        self.html, self.height = page_html, height

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.html.encode("utf-8")).decode("ascii")
        return (f'<iframe src="data:text/html;charset=utf-8;base64,{data}" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ddd"></iframe>')

    def __repr__(self) -> str:
        return f"InlinePage({len(self.html):,} characters of HTML)"


def show(page: Value | str | os.PathLike[str], height: int = PAGE_HEIGHT) -> InlinePage:
    """A page inline in a notebook: root's backprop page, or the page file at a path."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 1:
        raise ValueError(f"show: height must be a positive int (pixels), got {preview(height)}")
    if isinstance(page, Value):
        from micrograd.graph import render

        with tempfile.TemporaryDirectory() as folder:
            return InlinePage(render(page, Path(folder) / "page.html").read_text("utf-8"), height)
    if not isinstance(page, (str, os.PathLike)):
        raise TypeError(f"show: page must be a Value or a path, got {type(page).__name__}")
    path = Path(page)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"show: {preview(str(path), 200)} is not a page (.html)")
    return InlinePage(path.read_text(encoding="utf-8"), height)
