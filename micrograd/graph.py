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

__all__ = ["DOT_WORK", "FORMATS", "LABEL_LIMIT", "Drawing", "GraphvizFailed", "GraphvizNotFound",
           "draw_dot", "fit_width", "render"]

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
    records = [(_quote_record(names[node]), short(node.data), short(node.grad)) for node in order]
    symbols = [_quote(node.op_symbol) for node in order]
    places = _own_layout(graph, records, symbols, rankdir)
    for i, node in enumerate(order):  # root first: the drawing then lists inputs as written
        name, data, grad = records[i]
        record = f"{{ {name} | data {data} | grad {grad} }}"
        if node.is_leaf:
            param = node.label != "" if is_parameter is None else is_parameter(node)
            style = _PARAMETER if param else _LEAF
        else:
            style = _ROOT if i == 0 else ""
        at = f' pos="{places[2 * i]}"' if places else ""
        add(f'\tv{i} [label="{record}"{style}{at}]\n')
        if node.is_leaf:
            continue
        at = f' pos="{places[2 * i + 1]}"' if places else ""
        add(f'\tv{i}_op [label="{symbols[i]}"{_OP}{at}]\n')
        add(f"\tv{i}_op -> v{i}\n")
        for child, local in zip(node.children, node.local_grads):
            edge_label = f' [label="{short(local)}"]' if show_local_grads else ""
            add(f"\tv{index[child]} -> v{i}_op{edge_label}\n")

    graph_attr = {"rankdir": rankdir, "fontname": "DejaVu Sans"}
    if show_local_grads:
        graph_attr |= {"label": "edge labels: local derivative ∂(op output)/∂(input)",
                       "labelloc": "b", "fontsize": "11"}
    graph_attr |= BOUNDED_DOT if places is None else _PINNED
    return Drawing(
        "micrograd",
        engine="dot" if places is None else "neato",
        format=format,
        graph_attr=graph_attr,
        node_attr={"shape": "record", "fontname": "DejaVu Sans", "fontsize": "12"},
        edge_attr={"fontname": "DejaVu Sans", "fontsize": "10", "color": "#555555"},
        body=lines,
    )


#: dot lays a graph out when its work, nodes x ranked nodes + edges², is at most this (nodes:
#: the records and op nodes; ranked: those and the virtual nodes dot threads along each edge
#: across ranks); a larger graph gets _own_layout. dot's network simplex, stopped after
#: nslimit x nodes iterations, costs about nodes x ranked nodes, its crossing counts about
#: edges²: 10^7 is about a second (measured in benchmarks/drawing.py).
DOT_WORK = 10_000_000
# dot's effort, bounded: network simplex iterations at most 1 x nodes (ranking: nslimit1;
# coordinates: nslimit), mincross at its default number of passes (mclimit 1)
BOUNDED_DOT = {"nslimit": "1", "nslimit1": "1", "mclimit": "1"}
# a layout of our own: neato keeps every pinned position and draws each edge as a line
_PINNED = {"splines": "line", "overlap": "true", "outputorder": "edgesfirst"}
# the sizes _own_layout reserves, in points: a character at font 12 and a field's margins; a
# record's height, an op's (Graphviz's least: 0.75 x 0.5 inches) and the gap between nodes
_CHAR, _FIELD, _RECORD_HIGH, _OP_WIDE, _OP_HIGH, _GAP = 7.5, 14.0, 36.0, 54.0, 36.0, 12.0
_SWEPT = 50_000  # DOT nodes: a larger graph's columns are stacked as listed (unread)


def _ranks(graph: Walk) -> tuple[list[int], list[int], int]:
    """Each record's and op node's rank (0: the root's record; an op one rank before its
    result; a node one rank before its furthest consumer) and the ranks all edges skip."""
    n, index = len(graph.order), graph.index
    record, op = [0] * n, [0] * n
    skipped = 0
    for i, node in enumerate(graph.order):  # each node after every node that consumes it
        if node.is_leaf:
            continue
        op[i] = record[i] + 1
        for child in node.children:
            c = index[child]
            record[c] = max(record[c], op[i] + 1)
    for i, node in enumerate(graph.order):
        for child in node.children:
            skipped += record[index[child]] - op[i] - 1
    return record, op, skipped


def _own_layout(graph: Walk, records: list[tuple[str, str, str]], symbols: list[str],
                rankdir: str) -> list[str] | None:
    """None where dot can lay the graph out within DOT_WORK; else each DOT node's pinned
    position (v<i> at 2i, v<i>_op at 2i + 1): ranks as columns, each node moved toward the mean
    of its neighbours' positions in three sweeps (none over _SWEPT nodes): linear in the edges.
    (Flat lists of ints, no list per node: the collector would walk every graph node for them.)
    """
    order, index = graph.order, graph.index
    n = len(order)
    record, op, skipped = _ranks(graph)
    interior = [i for i, node in enumerate(order) if not node.is_leaf]
    dot_nodes = n + len(interior)
    # each interior node's children and each node's users (interior nodes that take it), flat
    kid_start, kids = [0] * (n + 1), list[int]()
    for i, node in enumerate(order):
        kids.extend(index[child] for child in node.children)
        kid_start[i + 1] = len(kids)
    edges = len(interior) + len(kids)
    if dot_nodes * (dot_nodes + skipped) + edges * edges <= DOT_WORK:
        return None
    use_start = [0] * (n + 1)
    for c in kids:
        use_start[c + 1] += 1
    for c in range(n):
        use_start[c + 1] += use_start[c]
    users, filled = [0] * len(kids), use_start[:n]
    for i in interior:
        for c in kids[kid_start[i]:kid_start[i + 1]]:
            users[filled[c]] = i
            filled[c] += 1

    across_first = rankdir in ("LR", "RL")  # records lie across the ranks, fields side by side
    along, across = [0.0] * (2 * n), [0.0] * (2 * n)  # each DOT node's extents
    for i, (name, data, grad) in enumerate(records):
        fields = [_CHAR * len(t) + _FIELD for t in (name, data, grad)]
        wide, high = (sum(fields), _RECORD_HIGH) if across_first else (
            max(fields), 3 * _RECORD_HIGH / 2)
        along[2 * i], across[2 * i] = (wide, high) if across_first else (high, wide)
    for i in interior:
        wide = max(_OP_WIDE, _CHAR * len(symbols[i]) + 24.0)
        along[2 * i + 1], across[2 * i + 1] = (wide, _OP_HIGH) if across_first else (
            _OP_HIGH, wide)
    top = max(record)
    column_of = [0] * (2 * n)
    for i in range(n):
        column_of[2 * i] = top - record[i]
    for i in interior:
        column_of[2 * i + 1] = top - op[i]
    drawn = [k for k in reversed(range(2 * n)) if k % 2 == 0 or kid_start[k // 2] <
             kid_start[k // 2 + 1]]  # children before parents: inputs as written
    drawn.sort(key=column_of.__getitem__)  # leaves' side first (stable: as written)
    bounds = [0] * (top + 2)
    for k in drawn:
        bounds[column_of[k] + 1] += 1
    for c in range(top + 1):
        bounds[c + 1] += bounds[c]

    def toward_leaves(k: int) -> float | None:
        i = k // 2
        if k % 2 == 0:
            return position[k + 1] if kid_start[i] < kid_start[i + 1] else None
        cs = kids[kid_start[i]:kid_start[i + 1]]
        return sum([position[2 * c] for c in cs]) / len(cs)

    def toward_root(k: int) -> float | None:
        i = k // 2
        if k % 2 == 1:
            return position[k - 1]
        us = users[use_start[i]:use_start[i + 1]]
        return sum([position[2 * u + 1] for u in us]) / len(us) if us else None

    position = [0.0] * (2 * n)  # across the ranks; the first sweep stacks the leaves as listed
    sweeps = [toward_leaves, toward_root, toward_leaves] if dot_nodes <= _SWEPT else []
    if not sweeps:  # each column stacked as listed
        for c in range(top + 1):
            end = 0.0
            for k in drawn[bounds[c]:bounds[c + 1]]:
                position[k] = end + across[k] / 2
                end += across[k] + _GAP
    for j, mean in enumerate(sweeps):
        columns = range(top + 1) if j % 2 == 0 else reversed(range(top + 1))
        for c in columns:
            lo, hi = bounds[c], bounds[c + 1]
            if hi - lo == 1:  # (a chain's columns: the node goes where it is wanted)
                k = drawn[lo]
                at = mean(k)
                position[k] = position[k] if at is None else at
                continue
            wanted = [mean(k) for k in drawn[lo:hi]]
            drawn[lo:hi] = _stack(drawn[lo:hi], [position[k] if w is None else w
                                                 for k, w in zip(drawn[lo:hi], wanted)],
                                  position, across)
    places = [""] * (2 * n)
    x = 0.0
    for c in range(top + 1):
        half = max(along[k] for k in drawn[bounds[c]:bounds[c + 1]]) / 2
        x += half
        for k in drawn[bounds[c]:bounds[c + 1]]:
            u, v = x / 72, -position[k] / 72  # inches; graphviz's y grows upward
            u = -u if rankdir == "RL" else u
            if not across_first:
                u, v = -v, (u if rankdir == "BT" else -u)
            places[k] = f"{u:.2f},{v:.2f}!"
        x += half + 3 * _GAP
    return places


def _stack(column: list[int], wanted: list[float], position: list[float],
           across: list[float]) -> list[int]:
    """The column's nodes in the order of their wanted positions, each put as near its own as
    the ones before it leave room for, the block then centred on the wanted positions' mean."""
    ranked = sorted(range(len(column)), key=wanted.__getitem__)
    column = [column[j] for j in ranked]
    placed: list[float] = []
    end = -float("inf")
    for j, k in zip(ranked, column):
        half = across[k] / 2
        at = max(wanted[j], end + half + _GAP)
        placed.append(at)
        end = at + half
    shift = (sum(wanted) - sum(placed)) / len(placed)
    for k, at in zip(column, placed):
        position[k] = at + shift
    return column


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
