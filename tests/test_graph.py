"""draw_dot and render: deterministic DOT, real SVG/PNG, atomic files, clear errors."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` is a folder of the repository, not installed
    sys.path.insert(0, str(ROOT))

import micrograd  # noqa: E402
import micrograd.walk  # noqa: E402
from benchmarks.drawing import dense, horner, positions, rnn  # noqa: E402 (the graphs it times)
from micrograd import Value, apply, ops  # noqa: E402
from micrograd import graph as graph_module  # noqa: E402
from micrograd.graph import FORMATS, GraphvizNotFound, draw_dot, render  # noqa: E402
from micrograd.losses import half_squared_error  # noqa: E402
from micrograd.trace import explain  # noqa: E402

PARAMS = {"w11": 0.5, "w12": -0.3, "w21": 0.8, "w22": 0.2, "b1": 0.1, "b2": -0.1,
          "w1": 0.7, "w2": -0.4, "b": 0.05}
NAMES = list(PARAMS)


def net221(activation: str = "tanh") -> tuple[Value, dict[str, Value]]:
    """The notes' 2-2-1 network on the sample x = (1, 0), y = 1, after backward()."""
    p = {name: Value(v, name) for name, v in PARAMS.items()}
    x1, x2 = Value(1.0, "x1"), Value(0.0, "x2")
    z = []
    for j in ("1", "2"):
        a = Value.linear([p[f"w{j}1"], p[f"w{j}2"]], [x1, x2], p[f"b{j}"])
        a.label = f"a{j}"
        z.append(getattr(a, activation)())
        z[-1].label = f"z{j}"
    y_hat = Value.linear([p["w1"], p["w2"]], z, p["b"])
    y_hat.label = "ŷ"
    loss = half_squared_error(y_hat, 1.0)
    loss.label = "E"
    loss.backward()
    return loss, p


def node_ids(source: str) -> dict[str, str]:
    """{record name: DOT node id} from draw_dot source."""
    return {m[2]: m[1] for m in re.finditer(r'^\t(v\d+) \[label="\{ (.*?) \|', source, re.M)}


def edges(source: str) -> list[tuple[str, str, str | None]]:
    """(tail, head, label or None) for every edge of draw_dot source."""
    pattern = r'^\t(v\d+(?:_op)?) -> (v\d+(?:_op)?)(?: \[label="(.*?)"\])?$'
    return [(m[1], m[2], m[3]) for m in re.finditer(pattern, source, re.M)]


# ---- DOT source ------------------------------------------------------------------------

SCRIPT = """
import sys
sys.path[:0] = sys.argv[1:3]
from test_graph import net221
from micrograd.graph import draw_dot
loss, _ = net221()
sys.stdout.buffer.write(draw_dot(loss, show_local_grads=True).source.encode("utf-8"))
"""


def test_dot_source_is_identical_in_every_process():
    repo = str(Path(micrograd.__file__).resolve().parents[1])
    here = str(Path(__file__).resolve().parent)
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", SCRIPT, repo, here], env=env,
                              capture_output=True, check=True, timeout=60)
        outputs.append(done.stdout.decode("utf-8"))
    loss, _ = net221()
    here_source = draw_dot(loss, show_local_grads=True).source
    assert outputs[0] == outputs[1] == here_source
    ids = node_ids(here_source)
    assert set(NAMES) | {"x1", "x2", "a1", "a2", "z1", "z2", "ŷ", "y", "E"} == set(ids)
    assert ids["E"] == "v0" and all(re.fullmatch(r"v\d+", i) for i in ids.values())
    assert '{ w11 | data 0.5 | grad -0.4064 }' in here_source  # 4 significant digits


def test_records_ops_and_styles():
    loss, p = net221()
    source = draw_dot(loss).source
    ids = node_ids(source)
    assert re.search(rf'^\t{ids["a1"]}_op \[label="Σw·x\+b"', source, re.M)
    assert re.search(rf'^\t{ids["z1"]}_op \[label="tanh"', source, re.M)
    assert re.search(r"^\tv0_op \[label=\"½\(y-ŷ\)²\"", source, re.M)
    assert (ids["y"], "v0_op", None) in edges(source)  # the target y: a leaf into the loss
    assert (ids["z1"] + "_op", ids["z1"], None) in edges(source)  # op -> result
    assert (ids["a1"], ids["z1"] + "_op", None) in edges(source)  # input -> op

    def fill(source: str, name: str) -> str:
        line = re.search(rf'^\t{node_ids(source)[name]} \[.*$', source, re.M)[0]
        match = re.search(r'fillcolor="(#\w+)"', line)
        return match[1] if match else "none"

    # default: every labelled leaf is a parameter (blue); interior nodes plain; root yellow
    assert {fill(source, n) for n in [*NAMES, "x1"]} == {"#cfe2ff"}
    assert fill(source, "a1") == "none" and fill(source, "E") == "#fff3bf"
    explicit = draw_dot(loss, parameters=p.values()).source
    assert {fill(explicit, n) for n in NAMES} == {"#cfe2ff"}
    assert fill(explicit, "x1") == fill(explicit, "x2") == "#eeeeee"  # inputs, not parameters
    c = Value(2.0) * Value(3.0, "k")  # an unlabelled leaf is a constant
    assert fill(draw_dot(c).source, "v1") == "#eeeeee"


def test_local_grads_label_the_input_edges():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b
    c.label = "c"
    ids = node_ids(draw_dot(c).source)
    plain = edges(draw_dot(c).source)
    assert all(label is None for _, _, label in plain)
    labelled = edges(draw_dot(c, show_local_grads=True).source)
    assert (ids["a"], ids["c"] + "_op", "-3") in labelled  # ∂(a·b)/∂a = b
    assert (ids["b"], ids["c"] + "_op", "2") in labelled  # ∂(a·b)/∂b = a
    assert (ids["c"] + "_op", ids["c"], None) in labelled


def test_x_times_x_draws_two_edges():
    x = Value(3.0, "x")
    y = x * x
    y.backward()
    source = draw_dot(y, show_local_grads=True).source
    assert edges(source).count(("v1", "v0_op", "3")) == 2
    assert "{ x | data 3 | grad 6 }" in source


def test_unlabelled_nodes_are_named_as_in_explain():
    a, b = Value(2.0), Value(-3.0)
    root = (a * b + a).tanh()
    names = set(node_ids(draw_dot(root).source))
    assert names == {"v0", "v1", "v2", "v3", "v4"}
    assert "∂v0/∂v1 · ∂v1/∂v2 · ∂v2/∂v4" in explain(root, a)


def test_a_100k_node_chain_draws_in_seconds():
    x = Value(1.0, "x")
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    t0 = time.perf_counter()
    source = draw_dot(y, show_local_grads=True).source
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"{elapsed:.1f} s"
    assert len(re.findall(r"^\tv\d+_op \[", source, re.M)) == 100_000
    # records (100,000 ops, their 100,000 constant leaves, x), op nodes, edges in and out of ops
    assert source.count("\n\tv") == 200_001 + 100_000 + 3 * 100_000


def test_bad_arguments():
    x = Value(1.0, "x")
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(x, rankdir="left")
    with pytest.raises(TypeError, match="root must be a Value"):
        draw_dot(1.0)
    with pytest.raises(TypeError, match="parameters must be Values"):
        draw_dot(x, parameters=[1.0])


# ---- render ---------------------------------------------------------------------------


def test_svg_is_valid_xml_with_the_labels(dot, tmp_path):
    loss, p = net221()
    path = tmp_path / "net221.svg"
    assert render(loss, path, parameters=p.values(), show_local_grads=True) == path
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert set(NAMES) | {"x1", "a1", "z1", "ŷ", "E", "Σw·x+b", "tanh"} <= texts
    assert {"data 0.5", "grad -0.4064", "-0.8158"} <= texts  # w11's record; an edge's ∂
    assert sorted(os.listdir(tmp_path)) == ["net221.svg"]


def test_png_and_pdf_have_their_signatures(dot, tmp_path):
    loss, _ = net221()
    assert render(loss, tmp_path / "g.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert render(loss, tmp_path / "g.pdf").read_bytes().startswith(b"%PDF-")


def test_the_jupyter_display_is_svg(dot):
    loss, _ = net221()
    bundle = draw_dot(loss)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and ">w11<" in bundle["image/svg+xml"]


def test_the_jupyter_display_fits_the_cells_width(dot, browser):
    """The tour's y = tanh(w·x + b), 1,595 px wide as Graphviz sizes it, inside a cell of
    600 px: drawn 600 px wide at most, its shape kept; a narrow drawing keeps its own size."""
    x, w, b = Value(0.5, "x"), Value(-1.5, "w"), Value(0.25, "b")
    wide = draw_dot((w * x + b).tanh(), show_local_grads=True)._repr_mimebundle_()
    narrow = draw_dot(Value(1.0, "a"))._repr_mimebundle_()
    tab = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        tab.set_content("".join(f'<div style="width:600px">{bundle["image/svg+xml"]}</div>'
                                for bundle in (wide, narrow)))
        (drawn, natural), (small, own) = tab.evaluate("""() => [...document.querySelectorAll(
          'svg')].map((s) => [[s.getBoundingClientRect().width, s.getBoundingClientRect().height],
          [s.width.baseVal.value, s.height.baseVal.value]])""")
    finally:
        tab.close()
    assert natural[0] > 1000 and drawn[0] == pytest.approx(600)
    assert drawn[1] / drawn[0] == pytest.approx(natural[1] / natural[0], rel=1e-3)
    assert small == pytest.approx(own, abs=0.1)


def test_special_characters_in_labels_are_drawn_literally(dot, tmp_path):
    odd = 'a{b}|<c> "q" \\ z'
    x = Value(1.0, odd)
    y = x.tanh()
    y.label = "<html>"
    ops.register("quoted_test_op", lambda v: v, lambda v, out: 1.0, symbol='<"q">\\')
    try:
        z = apply("quoted_test_op", y)
        path = render(z, tmp_path / "odd.svg")
    finally:
        ops.unregister("quoted_test_op")
    texts = {t.text for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")}
    assert {odd, "<html>", '<"q">\\'} <= texts


def test_dot_file_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    loss, _ = net221()
    path = render(loss, tmp_path / "g.DOT", show_local_grads=True)
    assert path.read_text("utf-8") == draw_dot(loss, show_local_grads=True).source


def test_missing_dot_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    loss, _ = net221()
    with pytest.raises(GraphvizNotFound) as caught:
        render(loss, tmp_path / "g.svg")
    message = str(caught.value)
    assert isinstance(caught.value, RuntimeError)
    for hint in ("apt-get install graphviz", "brew install graphviz",
                 "conda install -c conda-forge graphviz", ".dot"):
        assert hint in message
    assert os.listdir(tmp_path) == []


def test_unknown_suffix_and_missing_directory_are_named(tmp_path):
    x = Value(1.0, "x")
    with pytest.raises(ValueError, match=r"'\.jpeg'"):
        render(x, tmp_path / "g.jpeg")
    with pytest.raises(ValueError, match="no suffix"):
        render(x, tmp_path / "graph")
    assert FORMATS == (".svg", ".png", ".pdf", ".dot", ".html")
    with pytest.raises(FileNotFoundError, match="missing"):
        render(x, tmp_path / "missing" / "g.dot")
    assert os.listdir(tmp_path) == []


def test_a_failed_render_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    x = Value(1.0, "x")
    for name in ("g.svg", "g.dot"):
        (tmp_path / name).write_bytes(b"previous")
    with monkeypatch.context() as m:  # no dot: fails before writing
        m.setenv("PATH", str(tmp_path / "nowhere"))
        with pytest.raises(GraphvizNotFound):
            render(x, tmp_path / "g.svg")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:  # fails after part of the data is written
        m.setattr(os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space"):
            render(x, tmp_path / "g.dot")
    assert (tmp_path / "g.svg").read_bytes() == (tmp_path / "g.dot").read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["g.dot", "g.svg"]  # no temporary file left
    render(x, tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text("utf-8") == draw_dot(x).source


# ---- bounded drawings: dot's effort limited, a layout of our own past DOT_WORK ----------


def pinned(source: str) -> dict[str, tuple[float, float]]:
    """{DOT node id: its pinned position in inches} of draw_dot source."""
    return {m[1]: (float(m[2]), float(m[3]))
            for m in re.finditer(r'^\t(v\d+(?:_op)?) \[.* pos="(-?[\d.]+),(-?[\d.]+)!"\]$',
                                 source, re.M)}


@pytest.mark.parametrize("root", [net221()[0], horner(5), horner(50), rnn(5), positions(30),
                                  dense(3)], ids=["net221", "horner5", "horner50", "rnn5",
                                                  "positions30", "dense3"])
def test_dot_lays_out_a_graph_within_its_budget_with_bounded_effort(root: Value) -> None:
    graph = draw_dot(root)
    assert graph.engine == "dot"
    for name in ("nslimit", "nslimit1", "mclimit"):  # iterations at most 1 x nodes
        assert graph.graph_attr[name] == "1"
    assert "splines" not in graph.graph_attr and not pinned(graph.source)


@pytest.mark.parametrize(("make", "n"), [(horner, 333), (horner, 150), (rnn, 200), (rnn, 80),
                                         (positions, 250), (dense, 30)])
def test_a_graph_over_dots_budget_gets_a_layout_of_its_own(make, n) -> None:
    root = make(n)
    w = micrograd.walk.walk(root)
    dot_nodes = len(w.order) + len(w.interior)
    edges = sum(len(node.children) + 1 for node in w.interior)
    spans = graph_module._ranks(w)[2]
    assert dot_nodes * (dot_nodes + spans) + edges * edges > graph_module.DOT_WORK
    graph = draw_dot(root)
    assert graph.engine == "neato" and graph.graph_attr["splines"] == "line"
    places = pinned(graph.source)
    # every record and op node pinned, no two in one place, ranks as columns (leaves first)
    assert len(places) == dot_nodes == len(set(places.values()))
    assert places["v0"][0] == max(x for x, _ in places.values())
    assert places["v0_op"][0] < places["v0"][0]
    for i, node in enumerate(w.order):
        for child in node.children:
            assert places[f"v{w.index[child]}"][0] < places[f"v{i}_op"][0]
    by_column: dict[float, list[float]] = {}
    for x, y in places.values():
        by_column.setdefault(x, []).append(y)
    for ys in by_column.values():  # stacked: a record's height (0.5 in) apart at least
        ys.sort()
        assert all(b - a >= 0.5 - 0.01 for a, b in itertools.pairwise(ys))


def test_the_layout_of_its_own_keeps_dots_names_and_rankdir(dot) -> None:
    root = horner(333)
    root.backward()
    svg = draw_dot(root).pipe(format="svg").decode("utf-8")
    titles = set(re.findall(r"<title>(.*?)</title>", svg))
    w = micrograd.walk.walk(root)
    for i, node in enumerate(w.order):  # the names the backprop page's script finds
        assert f"v{i}" in titles
        if not node.is_leaf:
            assert f"v{i}_op" in titles
            assert {f"v{w.index[c]}&#45;&gt;v{i}_op" for c in node.children} <= titles
    down = pinned(draw_dot(root, rankdir="TB").source)
    assert down["v0"][1] == min(y for _, y in down.values())  # the root at the bottom
    left = pinned(draw_dot(root, rankdir="RL").source)
    assert left["v0"][0] == min(x for x, _ in left.values())
