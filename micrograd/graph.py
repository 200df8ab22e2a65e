"""Drawings of computation graphs with Graphviz: a record per Value, an op node per operation.

``draw_dot(root)`` returns a ``graphviz.Digraph`` (it shows inline in Jupyter when
Graphviz's ``dot`` program is installed); ``render(root, "graph.svg")`` writes a file.
Nodes are named by their index in ``topological_order(root)`` (``v0`` is the root), never
by ``id()``, so one graph gives byte-identical DOT source in every process, and the
names of unlabelled nodes match ``micrograd.trace`` ("v3").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import graphviz

from micrograd._files import write_atomic
from micrograd._numbers import clip, preview, short
from micrograd.engine import Value
from micrograd.page import record
from micrograd.walk import Walk, walk_of

__all__ = ["FORMATS", "LABEL_LIMIT", "Drawing", "GraphvizFailed", "GraphvizNotFound", "draw_dot",
           "fit_width", "render"]

# render's file suffixes; .dot needs no Graphviz; .html is the backprop page (micrograd.page)
FORMATS = (".svg", ".png", ".pdf", ".dot", ".html")

#: Node names and op symbols longer than this are drawn cut, ending in … (dot reads no
#: string over 16,384 characters, and a drawing shows no more).
LABEL_LIMIT = 1000

INSTALL_HINT = (
    "Install Graphviz (the program, not only the Python package): "
    "Debian/Ubuntu `sudo apt-get install graphviz`, macOS `brew install graphviz`, "
    "conda `conda install -c conda-forge graphviz`. "
    "A .dot file needs no Graphviz: render(root, 'graph.dot') works without it."
)


class GraphvizNotFound(RuntimeError):
    """Graphviz's `dot` program is needed to render this format and is not on PATH."""


class GraphvizFailed(RuntimeError):
    """Graphviz's `dot` program ran and failed; the message has the start of what it said."""


_RANKDIRS = ("LR", "RL", "TB", "BT")

# Styles: parameters stand out (blue, bold), other leaves (inputs, constants) are grey,
# the root is yellow, op nodes are small ellipses.
_PARAMETER = ' style="filled,bold" fillcolor="#cfe2ff" color="#1f4e9c"'
_LEAF = ' style=filled fillcolor="#eeeeee" color="#777777"'
_ROOT = ' style=filled fillcolor="#fff3bf"'
_OP = ' shape=ellipse style=filled fillcolor="#f8f9fa" fontsize=11 margin="0.03,0.02"'

_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in '{}|<>"'} | {"\n": " ", "\r": " "})

# What DOT, UTF-8 or the SVG's XML cannot hold (NUL and other control characters, lone
# surrogates, U+FFFE and U+FFFF) is drawn as its escape, \x00 or \ud800.
_UNDRAWABLE = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _drawable(text: str) -> str:
    """text cut to LABEL_LIMIT characters, undrawable characters escaped, & as an entity."""
    text = _UNDRAWABLE.sub(lambda m: repr(m.group())[1:-1], clip(text, LABEL_LIMIT))
    return clip(text, LABEL_LIMIT).replace("&", "&amp;")  # dot reads &lt; &#0; … as entities


def _quote_record(text: str) -> str:
    """text as a literal record field: backslashes doubled, { } | < > " escaped."""
    return _drawable(text).replace("\\", "\\\\").translate(_RECORD_SPECIAL)


def _quote(text: str) -> str:
    """text as a literal plain label inside a DOT double-quoted string."""
    text = _drawable(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n").replace("\r", "\\n")


def fit_width(svg: str) -> str:
    """Graphviz's SVG made to shrink to its container's width (a notebook cell), shape kept."""
    start = svg.index("<svg") + len("<svg")
    return svg[:start] + ' style="max-width:100%;height:auto"' + svg[start:]


class Drawing(graphviz.Digraph):
    """What ``draw_dot`` returns: a graphviz.Digraph shown inline as wide as the cell at most."""

    def _repr_image_svg_xml(self) -> str:
        return fit_width(super()._repr_image_svg_xml())


def draw_dot(
    root: Value,
    rankdir: str = "LR",
    show_local_grads: bool = False,
    parameters: Iterable[Value] | None = None,
    walked: Walk | None = None,
    format: str = "svg",
) -> graphviz.Digraph:
    """The graph of root: a record (name | data | grad) per Value, an op node before each result.

    Parameters are drawn apart (by default every labelled leaf; or exactly the Values in
    ``parameters``); with ``show_local_grads`` each input → op edge carries ∂out/∂input.
    Names and op symbols are drawn literally, cut to LABEL_LIMIT characters (ending in …),
    with what DOT cannot hold (NUL, control characters, lone surrogates) as escapes (\\x00).
    ``format`` (the lecture's keyword, as ``rankdir``) is what ``.render()`` of the result writes.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}")
    if rankdir not in _RANKDIRS:
        raise ValueError(
            f"draw_dot: rankdir must be one of {', '.join(_RANKDIRS)}, got {preview(rankdir)}"
        )
    if format not in graphviz.FORMATS:
        raise ValueError(f"draw_dot: format must be one of Graphviz's (svg, png, pdf, …), "
                         f"got {preview(format)}")
    if parameters is None:
        is_parameter = None
    else:
        params = list(parameters)
        for p in params:
            if not isinstance(p, Value):
                raise TypeError(f"draw_dot: parameters must be Values, got {type(p).__name__}")
        is_parameter = set(params).__contains__

    graph = walk_of(root, walked)
    order, names, index = graph.order, graph.names, graph.index
    lines: list[str] = []
    add = lines.append
    for i, node in enumerate(order):  # root first: the drawing then lists inputs as written
        data, grad = short(node.data), short(node.grad)
        record = f"{{ {_quote_record(names[node])} | data {data} | grad {grad} }}"
        if node.is_leaf:
            param = node.label != "" if is_parameter is None else is_parameter(node)
            style = _PARAMETER if param else _LEAF
        else:
            style = _ROOT if i == 0 else ""
        add(f'\tv{i} [label="{record}"{style}]\n')
        if node.is_leaf:
            continue
        add(f'\tv{i}_op [label="{_quote(node.op_symbol)}"{_OP}]\n')
        add(f"\tv{i}_op -> v{i}\n")
        for child, local in zip(node.children, node.local_grads):
            edge_label = f' [label="{short(local)}"]' if show_local_grads else ""
            add(f"\tv{index[child]} -> v{i}_op{edge_label}\n")

    graph_attr = {"rankdir": rankdir, "fontname": "DejaVu Sans"}
    if show_local_grads:
        graph_attr |= {"label": "edge labels: local derivative ∂(op output)/∂(input)",
                       "labelloc": "b", "fontsize": "11"}
    return Drawing(
        "micrograd",
        format=format,
        graph_attr=graph_attr,
        node_attr={"shape": "record", "fontname": "DejaVu Sans", "fontsize": "12"},
        edge_attr={"fontname": "DejaVu Sans", "fontsize": "10", "color": "#555555"},
        body=lines,
    )


def render(root: Value, path: str | os.PathLike[str], **draw_options: Any) -> Path:
    """Write the drawing of root to path, in the format its suffix names (.svg .png .pdf .dot).

    ``.html`` writes the backprop page (``micrograd.page``): this drawing, and a script that
    steps through ``backward_steps(root)``; root's grads are left as they were.
    ``draw_options`` go to ``draw_dot``. The file is replaced atomically: a failure
    leaves any previous file intact. Only .dot works without Graphviz's ``dot`` program.
    """
    path = Path(path)
    if not os.path.isdir(path.parent):  # (False for a name too long for the OS, too)
        raise FileNotFoundError(
            f"render: directory {preview(str(path.parent), 200)} does not exist")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        shown = preview(path.suffix) if path.suffix else "no suffix"
        raise ValueError(
            f"render: unknown file suffix {shown} in {preview(str(path), 200)}; use one of "
            f"{', '.join(FORMATS)}"
        )
    if suffix == ".html":
        recording = record(root)
        with recording.widest_grads():  # every record gets room for every grad it will show
            graph = draw_dot(root, **draw_options, walked=recording.walk)
    else:
        graph = draw_dot(root, **draw_options)
    if suffix == ".dot":
        data = graph.source.encode("utf-8")
    else:
        try:
            fmt = "svg" if suffix == ".html" else suffix[1:]
            data = graph.pipe(format=fmt, quiet=True)  # dot's stderr: in the error
        except graphviz.ExecutableNotFound as err:
            raise GraphvizNotFound(
                f"render: writing {preview(str(path), 200)} needs Graphviz's `dot` program, "
                f"which is not on PATH. {INSTALL_HINT}"
            ) from err
        except graphviz.CalledProcessError as err:
            said = err.stderr or b""
            said = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
            said = clip(" / ".join(said.split("\n")[:3]).strip(), 300)
            raise GraphvizFailed(
                f"render: Graphviz's dot failed on {preview(str(path), 200)}: "
                f"{said or 'no message'}") from err
    if suffix == ".html":
        data = recording.html(data.decode("utf-8")).encode("utf-8")
    write_atomic(path, data)
    return path
