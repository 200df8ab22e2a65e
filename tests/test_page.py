"""The backprop page: render(root, "x.html"), checked as a file and in headless Chromium.

The browser tests press the page's controls and read what it shows (the records' texts, the
step panel, the numbered terms beside the graph), and hold every number against ``backward_steps``
replayed here, independently of the page's JSON.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import ONE_SCREEN, require_dot

from micrograd import MLP, Value
from micrograd._numbers import short
from micrograd.data import spiral
from micrograd.engine import topological_order
from micrograd.graph import INSTALL_HINT, GraphvizNotFound, render
from micrograd.losses import cross_entropy, half_squared_error
from micrograd.nn import Net221
from micrograd.page import EXPLAIN_MAX_PATHS, record
from micrograd.trace import (
    ANSWER_TOLERANCE,
    backward_steps,
    explain,
    local_formula_numbers,
    node_names,
)

MARKUP = '<img src=x onerror="document.title=\'pwned\'">'
CLOSER = "</script><script>document.title='pwned'</script>"


def net221_sample() -> tuple[Net221, Value]:
    """The main job's picture: Net221 (tanh), E = ½(y − ŷ)² at x = (1, 0), y = 1, backpropagated."""
    net = Net221("tanh")
    loss = half_squared_error(net(1.0, 0.0), 1.0)
    loss.backward()
    return net, loss


def squared_plus_x() -> Value:
    """z = x·x + x at x = 3: x is used three times, twice by one node."""
    x = Value(3.0, "x")
    y = x * x
    y.label = "y"
    z = y + x
    z.label = "z"
    return z


def by_label(root: Value, label: str) -> Value:
    (node,) = [n for n in topological_order(root) if n.label == label]
    return node


def expected_states(root: Value) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """Node names, "grad X" of every node after each step (0 = all zero), and str(step)."""
    order = topological_order(root)
    names = node_names(order)
    for node in order:
        node.grad = 0.0
    states = [{name: "grad 0" for name in names}]
    texts = []
    for step in backward_steps(root):
        states.append({name: f"grad {short(node.grad)}" for name, node in zip(names, order)})
        texts.append(str(step))
    return names, states, texts


def embedded_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="backprop-data">(.*?)</script>', page,
                      re.S)
    assert match
    return json.loads(match[1])


# ---- the file ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The pages the browser tests open, written once."""
    require_dot()
    out = tmp_path_factory.mktemp("pages")
    net, loss = net221_sample()
    a = Value(2.0, MARKUP)
    b = Value(-1.5, CLOSER)
    c = a * b
    c.label = "c & d \u2028 <b>bold</b>"
    return {
        "net221": render(loss, out / "net221.html", show_local_grads=True,
                         parameters=net.parameters()),
        "square": render(squared_plus_x(), out / "square.html"),
        "markup": render(c, out / "markup.html"),
        "mlp": render(mlp_sample(), out / "mlp.html"),
    }


def mlp_sample() -> Value:
    """A 3-class sample page: MLP(2, [4, 3]), softmax cross-entropy on a spiral point."""
    model = MLP(2, [4, 3], seed=0)
    x, target = spiral(10)[0]
    return cross_entropy(model(*x), target)


def test_the_221_page_is_one_small_file_that_names_no_other(pages: dict[str, Path]) -> None:
    page = pages["net221"].read_text(encoding="utf-8")
    assert pages["net221"].stat().st_size <= 200_000
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    # nothing to fetch: the only URLs are the SVG namespace names, which are never requested
    urls = set(re.findall(r"\w+://[^\s\"'<>)]*", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"<(link|img|iframe|object|embed)\b|@import|url\(|\bsrc=", page)
    # Graphviz's drawing, with draw_dot's records and node ids
    assert "<title>v0</title>" in page and "<title>v0_op</title>" in page
    assert "data &#45;0.7313" in page  # w11's data, in the drawing's 4-digit form


def test_recording_is_backward_steps_from_zero_grads() -> None:
    _, loss = net221_sample()
    names, states, texts = expected_states(net221_sample()[1])
    data = record(loss).data
    assert [n["name"] for n in data["nodes"]] == names
    assert [s["text"] for s in data["steps"]] == texts
    for i, name in enumerate(names):  # each node's grad history is the replay's, step by step
        history = dict((k, f"grad {g}") for k, g in data["grads"][i])
        shown = "grad 0"
        for k, state in enumerate(states):
            shown = history.get(k, shown)
            assert shown == state[name], (name, k)
    first = data["steps"][0]
    assert first["node"] == 0 and first["grad"] == "1"  # the root, seeded with 1
    w11 = names.index("w11")
    assert data["nodes"][w11]["explain"] == explain(
        loss, topological_order(loss)[w11], max_paths=EXPLAIN_MAX_PATHS)
    assert "explain" not in data["nodes"][0]


@pytest.mark.parametrize("state", ["after backward", "before backward", "backward twice"])
def test_render_leaves_every_grad_as_it_was(dot: str, tmp_path: Path, state: str) -> None:
    net, loss = net221_sample()  # after one backward()
    once = net.w11.grad
    order = topological_order(loss)
    if state == "before backward":
        loss.zero_grad()
    elif state == "backward twice":
        loss.backward()  # leaves hold twice their gradient
    before = [node.grad for node in order]
    page = render(loss, tmp_path / "page.html").read_text(encoding="utf-8")
    assert [node.grad for node in order] == before
    # whatever the grads were, the page shows one backward() from zero
    w11 = node_names(order).index("w11")
    assert embedded_data(page)["grads"][w11][-1][1] == short(once) != "0"


def test_embedded_data_cannot_close_its_script(pages: dict[str, Path]) -> None:
    page = pages["markup"].read_text(encoding="utf-8")
    body = page.split("<body", 1)[1]
    # exactly the page's own two script elements close: the labels' </script> is escaped
    assert body.count("</script>") == 2 and "<img" not in body
    assert "\u2028" not in page.split('id="backprop-data">', 1)[1].split("</script>", 1)[0]
    names = [n["name"] for n in embedded_data(page)["nodes"]]
    assert names == ["c & d \u2028 <b>bold</b>", MARKUP, CLOSER]
    assert "&lt;/script&gt;" in page  # the drawing's text, escaped by Graphviz


def test_labels_utf8_cannot_hold_are_escaped_in_the_data(dot: str, tmp_path: Path) -> None:
    odd = ["\ud800 lone", "nul\x00", "\u2029", "é" * 2000]
    root = Value.sum(Value(float(i), label) for i, label in enumerate(odd))
    raw = render(root, tmp_path / "odd.html").read_bytes()
    page = raw.decode("utf-8")  # strict: the file is valid UTF-8
    assert sorted(n["name"] for n in embedded_data(page)["nodes"][1:]) == sorted(odd)


def test_without_dot_the_page_gives_the_svg_install_hint(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _, loss = net221_sample()
    before = [node.grad for node in topological_order(loss)]
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # python, but no `dot`
    for name in ("page.html", "page.svg"):
        with pytest.raises(GraphvizNotFound) as err:
            render(loss, tmp_path / name)
        assert name in str(err.value) and INSTALL_HINT in str(err.value)
    assert list(tmp_path.iterdir()) == []
    assert [node.grad for node in topological_order(loss)] == before


def test_a_leaf_root_has_a_page_with_no_steps(dot: str, tmp_path: Path) -> None:
    data = embedded_data(render(Value(2.0, "w"), tmp_path / "leaf.html").read_text("utf-8"))
    assert data["steps"] == [] and data["nodes"] == [{"name": "w", "op": "", "symbol": "",
                                                      "data": "2"}]


# ---- in the browser ----------------------------------------------------------------------


@contextmanager
def watched_tab(browser: Any, width: int, height: int) -> Iterator[Any]:
    """A fresh tab that records every request and script error; both are checked after."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == []
    # the page was opened from disk and asked for nothing else: no CDN, no font, no image
    assert requests and all(url.startswith("file://") and url.split("#")[0] == requests[0]
                            for url in requests), requests


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A tab of 1400×900."""
    with watched_tab(browser, 1400, 900) as page:
        yield page


@pytest.fixture
def default_tab(browser: Any) -> Iterator[Any]:
    """A tab of the default window, 1280×800: the size the readability bounds hold at."""
    with watched_tab(browser, 1280, 800) as page:
        yield page


def open_page(tab: Any, path: Path, hash: str = "") -> None:
    tab.goto(path.as_uri() + hash)
    tab.wait_for_selector("html[data-ready='1']", timeout=10_000)


def shown_grads(tab: Any) -> dict[str, str]:
    """{record name: its grad field} as the page shows them."""
    rows = tab.eval_on_selector_all(
        "#graph g.node",
        "gs => gs.map(g => [...g.querySelectorAll('text')].map(t => t.textContent))")
    return {texts[0]: texts[-1] for texts in rows if len(texts) == 3}


def paren(t: str) -> str:
    return f"({t})" if t.startswith("-") else t


def term_rows(tab: Any) -> list[list[str]]:
    """The step's terms beside the graph: [badge number, child, its sum] per row."""
    return tab.eval_on_selector_all(
        "#terms li.term", "ls => ls.map(l => [...l.children].map(s => s.textContent))")


def expected_rows(step: dict[str, Any], names: list[str]) -> list[list[str]]:
    """The rows of a recorded step: the child's grad before + local·grad = its grad after."""
    return [[str(n), names[u["child"]], f"{u['before']} + {paren(u['local'])}·"
             f"{paren(step['grad'])} = {u['after']}"] for n, u in enumerate(step["updates"], 1)]


def notes_covering_the_active_node(tab: Any) -> int:
    """How many of the step's badges overlap the node being processed or its op, on screen."""
    return tab.evaluate("""() => {
      const boxes = (s) => [...document.querySelectorAll(s)].map((e) => e.getBoundingClientRect());
      const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom
        && b.top < a.bottom;
      const active = boxes("#graph g.node.active");
      return boxes("#overlay .badge circle").filter((n) => active.some((a) => hit(n, a))).length;
    }""")


def test_every_step_of_the_221_graph_shows_the_recorded_grads(tab: Any,
                                                              pages: dict[str, Path]) -> None:
    _, loss = net221_sample()
    names, states, texts = expected_states(loss)
    data = record(loss).data
    open_page(tab, pages["net221"])
    assert tab.inner_text("#counter") == f"step 0 / {len(texts)}"
    for k in range(len(states)):
        if k:
            (tab.click("#next") if k % 2 else tab.keyboard.press("ArrowRight"))
        assert tab.get_attribute("body", "data-step") == str(k)
        assert shown_grads(tab) == states[k], k
        if k == 0:
            assert "every grad is 0" in tab.inner_text("#step-text")
            continue
        assert tab.inner_text("#step-text") == texts[k - 1]
        step = data["steps"][k - 1]
        active = tab.eval_on_selector_all("#graph g.node.active text:first-of-type",
                                          "ts => ts.map(t => t.textContent)")
        assert names[step["node"]] in active
        assert term_rows(tab) == expected_rows(step, names)
        for u in step["updates"]:  # the row's numbers are the record's, as str(step) has them
            assert f"{u['edge']} → grad {u['after']}" in texts[k - 1]
        assert tab.locator("#graph g.edge.lit").count() == len(step["updates"]) + 1
        badges = tab.eval_on_selector_all("#overlay .badge", "bs => bs.map(b => b.textContent)")
        assert badges == [str(n) for n in range(1, len(step["updates"]) + 1)]
        assert notes_covering_the_active_node(tab) == 0, k
    assert tab.is_disabled("#next") and tab.is_disabled("#last")
    for k in reversed(range(len(states) - 1)):  # and back, with previous and the arrow key
        (tab.click("#prev") if k % 2 else tab.keyboard.press("ArrowLeft"))
        assert shown_grads(tab) == states[k], k
    assert tab.is_disabled("#prev") and tab.locator("#overlay > *").count() == 0


def test_a_value_used_twice_visibly_receives_two_terms(tab: Any, pages: dict[str, Path]) -> None:
    open_page(tab, pages["square"], "#step=2")  # y = x·x passes its grad 1 to x twice
    assert term_rows(tab) == [["1", "x", "1 + 3·1 = 4"], ["2", "x", "4 + 3·1 = 7"]]
    tab.hover("#terms li.term:nth-child(2)")  # a row lights its own edge: x's second use
    lit = tab.eval_on_selector_all("#graph g.edge.hot, #overlay .badge.hot",
                                   "es => es.map(e => e.classList.contains('badge') ? "
                                   "e.textContent : 'edge')")
    assert lit == ["edge", "2"]
    tab.click("#graph g.node:has(text:text-is('x'))")
    terms = tab.eval_on_selector_all("#node-info li", "ls => ls.map(l => l.textContent)")
    assert terms == ["step 1: from z, term 1: grad 0 → 1", "step 2: from y, term 3: grad 1 → 4",
                     "step 2: from y, term 3: grad 4 → 7"]


def test_clicking_a_node_shows_its_op_local_derivatives_and_explain(
        tab: Any, pages: dict[str, Path]) -> None:
    net, loss = net221_sample()
    open_page(tab, pages["net221"], "#step=end")
    tab.click("#graph g.node:has(text:text-is('z1'))")
    info = tab.inner_text("#node-info")
    z1 = by_label(loss, "z1")
    assert f"{z1.op}" in info and f"data\n{short(z1.data)}" in info.replace("\t", "\n")
    step = next(s for s in backward_steps(loss) if s.name == "z1")
    (a1,) = step.updates
    assert f"∂z1/∂a1 = {a1.formula} = {short(a1.local_grad)}" in info
    tab.click("#graph g.node:has(text:text-is('w11'))")
    assert tab.inner_text("#node-info pre") == explain(loss, net.w11, max_paths=EXPLAIN_MAX_PATHS)
    assert f"grad\n{short(net.w11.grad)} at step" in tab.inner_text("#node-info").replace(
        "\t", "\n")


def test_labels_are_text_never_markup(tab: Any, pages: dict[str, Path]) -> None:
    open_page(tab, pages["markup"], "#step=1")
    assert tab.title() != "pwned" and tab.locator("img").count() == 0
    assert set(shown_grads(tab)) == {"c & d \u2028 <b>bold</b>", MARKUP, CLOSER}
    assert tab.locator("#graph b").count() == 0
    tab.click("#graph g.node:has-text('onerror')")
    assert tab.inner_text("#node-info h3") == MARKUP
    assert CLOSER in tab.inner_text("#step-text")
    assert tab.title() != "pwned" and tab.locator("img, #node-info b, #step-text *").count() == 0


def test_deep_links_open_a_step_and_the_url_follows_the_controls(
        browser: Any, tab: Any, pages: dict[str, Path]) -> None:
    path, last = pages["net221"], 6
    fresh = browser.new_page()
    for hash, step in [("#step=3", 3), ("#step=end", last), ("#step=0", 0), ("#step=99", last),
                       ("#step=x", 0), ("", 0)]:
        fresh.goto("about:blank")  # a new document each time, not a jump within the page
        open_page(fresh, path, hash)
        assert fresh.get_attribute("body", "data-step") == str(step), hash
        assert fresh.inner_text("#counter") == f"step {step} / {last}"
    fresh.close()
    open_page(tab, path, "#step=2")
    tab.click("#next")
    assert tab.evaluate("location.hash") == "#step=3"
    tab.keyboard.press("Home")
    assert tab.evaluate("location.hash") == "#step=0"
    tab.fill("#scrub", "5")  # the scrubber
    assert tab.evaluate("location.hash") == "#step=5"
    assert tab.get_attribute("body", "data-step") == "5"
    tab.evaluate("location.hash = '#step=1'")  # a link followed within the page
    tab.wait_for_function("document.body.dataset.step === '1'")


def test_play_steps_once_a_second_and_pauses(tab: Any, pages: dict[str, Path]) -> None:
    tab.clock.install()  # the page's timer runs on a clock the test moves
    open_page(tab, pages["net221"], "#step=1")
    tab.keyboard.press(" ")
    assert tab.inner_text("#play") == "pause"
    tab.clock.run_for(2_000)
    assert tab.get_attribute("body", "data-step") == "3"
    tab.click("#play")
    tab.clock.run_for(5_000)
    assert tab.get_attribute("body", "data-step") == "3" and tab.inner_text("#play") == "play"
    tab.click("#play")
    tab.clock.run_for(10_000)  # runs to the end and stops there
    assert tab.get_attribute("body", "data-step") == "6" and tab.inner_text("#play") == "play"
    assert tab.evaluate("location.hash") == "#step=6"


def test_a_2000_node_graph_opens_within_3_seconds(dot: str, tab: Any, tmp_path: Path) -> None:
    """The issue's bound: the page of a 2,000-node graph is ready in headless Chromium in 3 s."""
    root = Value(0.5, "x")
    for i in range(400):  # a deep network of one unit per layer: 2,001 nodes, 1,200 steps
        root = (root * Value(0.9, f"w{i}") + Value(0.1, f"b{i}")).tanh()
    assert len(topological_order(root)) == 2001
    path = render(root, tmp_path / "big.html")
    start = time.perf_counter()
    open_page(tab, path, "#step=end")
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"{elapsed:.2f} s"
    assert tab.inner_text("#counter") == "step 1200 / 1200"
    tab.keyboard.press("ArrowLeft")
    assert tab.get_attribute("body", "data-step") == "1199"
    grads = shown_grads(tab)  # the last step, undone: the first layer's product, not yet x, w0
    assert grads["x"] == grads["w0"] == "grad 0" != grads["b0"]
    print(f"\n2,000-node page ({os.path.getsize(path) / 1e6:.1f} MB) ready in {elapsed:.2f} s")


# ---- a readable page -----------------------------------------------------------------------

# What covers what, on screen: every badge's disc against every node, edge label, the drawing's
# own label and the other badges; every number inside its box, every badge in the drawing's
# frame; the smallest text in CSS pixels; whether the step's node is in the drawing pane's view.
LAYOUT = """() => {
  const rect = (e) => e.getBoundingClientRect();
  const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
    a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1 &&
    a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  const svg = document.querySelector("#graph svg");
  const notes = [...svg.querySelectorAll("#overlay g.badge")];
  const shapes = [...svg.querySelectorAll("g.node")].map((g) =>
    [g.querySelector("text").textContent, rect(g.querySelector("polygon, ellipse"))]);
  const labels = [...svg.querySelectorAll("g.edge text, g.graph > text")]
    .filter((t) => getComputedStyle(t).visibility !== "hidden")
    .map((t) => [t.textContent, rect(t)]);
  const covered = [];
  notes.forEach((n, i) => {
    const box = rect(n.querySelector("circle"));
    for (const [name, r] of [...shapes, ...labels]) if (hit(box, r)) covered.push([i, name]);
    notes.forEach((m, j) => { if (j > i && hit(box, rect(m.querySelector("circle"))))
      covered.push([i, "badge " + j]); });
  });
  const cut = [];
  for (const g of svg.querySelectorAll("g.node")) {
    const shape = rect(g.querySelector("polygon, ellipse"));
    for (const t of g.querySelectorAll("text")) {
      if (!inside(rect(t), shape)) cut.push(t.textContent);
    }
  }
  const frame = rect(svg);
  for (const n of notes) {
    const box = rect(n.querySelector("circle"));
    if (!inside(box, frame)) cut.push("badge outside the drawing: " + n.textContent);
    if (!inside(rect(n.querySelector("text")), box)) cut.push("badge " + n.textContent);
  }
  let smallest = Infinity;
  for (const t of svg.querySelectorAll("text")) {
    if (!t.textContent.trim() || getComputedStyle(t).visibility === "hidden") continue;
    smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
  }
  const view = rect(document.getElementById("graph"));
  const active = [...document.querySelectorAll("#graph g.node.active")]
    .find((g) => g.querySelector("polygon")); // the node's record (its op may be far)
  return {covered, cut, smallest, notes: notes.length,
    inView: !active || inside(rect(active), view)};
}"""


@pytest.mark.parametrize("name", ["net221", "mlp"])
def test_no_note_covers_anything_and_no_number_is_cut_at_any_step(
        default_tab: Any, pages: dict[str, Path], name: str) -> None:
    """At 1280×800, every step: badges on no node, label or badge; text ≥ 12 px; the step in
    view."""
    data = embedded_data(pages[name].read_text(encoding="utf-8"))
    open_page(default_tab, pages[name])
    for k in range(len(data["steps"]) + 1):
        if k:
            default_tab.keyboard.press("ArrowRight")
        default_tab.evaluate("() => new Promise((r) => requestAnimationFrame(() => "
                             "requestAnimationFrame(r)))")  # the view has followed the step
        layout = default_tab.evaluate(LAYOUT)
        assert layout["notes"] == (len(data["steps"][k - 1]["updates"]) if k else 0)
        assert layout["covered"] == [], (name, k)
        assert layout["cut"] == [], (name, k)
        assert layout["smallest"] >= 12, (name, k, layout["smallest"])
        assert layout["inView"], (name, k)


@pytest.mark.parametrize(("size", "quiz"), [((1280, 800), False), ((1280, 800), True),
                                           ((1920, 1080), True)], ids=["1280", "1280-quiz",
                                                                       "1920-quiz"])
def test_every_step_fits_one_screen(browser: Any, pages: dict[str, Path], size: tuple[int, int],
                                    quiz: bool) -> None:
    """Keys only, no scrolling: each step's node in view, its terms or its answer fields in the
    window, ← ▶ reachable, no text under 12 px; the page says which keys do what."""
    with watched_tab(browser, *size) as tab:
        open_page(tab, pages["net221"], "#quiz" if quiz else "")
        assert "→ ← step, space plays" in tab.inner_text("header")
        screen = tab.evaluate(ONE_SCREEN, quiz)
        assert (screen["steps"], screen["bad"]) == (6, [])


def test_the_graph_zooms_pans_and_keeps_its_text_readable(tab: Any, pages: dict[str, Path]) -> None:
    """+ and the wheel zoom in, − and 0 (fit) no further out than 12 px text; a drag pans."""
    open_page(tab, pages["net221"])
    size = "() => document.querySelector('#graph svg').getBoundingClientRect().width"
    least = tab.evaluate(size)
    tab.keyboard.press("-")  # already as small as 12 px text allows
    assert tab.evaluate(size) == least and tab.is_disabled("#zoom-out")
    tab.keyboard.press("+")
    assert tab.evaluate(size) == pytest.approx(1.25 * least, abs=0.1)
    box = tab.locator("#graph").bounding_box()
    tab.mouse.move(box["x"] + 200, box["y"] + 200)
    tab.mouse.wheel(0, -100)  # the wheel zooms in at the pointer
    assert tab.evaluate(size) > 1.25 * least
    left = tab.evaluate("document.getElementById('graph').scrollLeft")
    tab.mouse.down()
    tab.mouse.move(box["x"] + 300, box["y"] + 200, steps=5)
    tab.mouse.up()
    assert tab.evaluate("document.getElementById('graph').scrollLeft") == pytest.approx(left - 100)
    assert tab.get_attribute("body", "data-step") == "0"  # a drag is not a click on a node
    tab.keyboard.press("0")
    assert tab.evaluate(size) == pytest.approx(least, abs=0.1)


# ---- check yourself: the quiz mode ---------------------------------------------------------


def test_the_recording_holds_the_quiz_tolerance_and_the_formulas_with_numbers() -> None:
    _, loss = net221_sample()
    data = record(loss).data
    assert data["tolerance"] == ANSWER_TOLERANCE == 1e-3
    loss.zero_grad()
    for step, recorded in zip(backward_steps(loss), data["steps"]):
        for n, (u, r) in enumerate(zip(step.updates, recorded["updates"])):
            plugged = local_formula_numbers(step.node, n)
            assert r.get("plugged", plugged) == plugged  # left out when it says nothing more
            assert "plugged" in r or plugged in (u.formula, short(u.local_grad))
    z1 = data["steps"][2]["updates"][0]  # ∂z1/∂a1 = 1 - z1², the example
    assert z1["formula"] == "1 - z1²" and z1["plugged"] == "1 - (-0.6294)²"


def quiz_state(tab: Any) -> dict[str, Any]:
    """What the page shows of the step: the grads drawn, notes, panel, visible edge labels."""
    return {"grads": shown_grads(tab)} | tab.evaluate("""() => ({
      notes: [...document.querySelectorAll('#terms li.term')].map((n) => n.textContent),
      badges: document.querySelectorAll('#overlay .badge').length,
      panel: document.querySelector('aside').innerText,
      labels: [...document.querySelectorAll('#graph g.edge text')]
        .filter((t) => getComputedStyle(t).visibility !== 'hidden').map((t) => t.textContent),
    })""")


def test_quiz_mode_hides_every_unanswered_number_and_marks_the_answers(
        default_tab: Any, pages: dict[str, Path]) -> None:
    tab = default_tab
    data = embedded_data(pages["net221"].read_text(encoding="utf-8"))
    names = [n["name"] for n in data["nodes"]]
    open_page(tab, pages["net221"], "#quiz&step=1")
    assert tab.is_checked("#quiz") and tab.get_attribute("body", "data-step") == "1"
    for k in range(1, len(data["steps"]) + 1):  # nothing of step k shows before it is answered
        step = data["steps"][k - 1]
        tab.click(f"#graph g.node:has(text:text-is('{names[step['updates'][0]['child']]}'))")
        state = quiz_state(tab)
        for u in step["updates"]:
            assert state["grads"][names[u["child"]]] == "grad ?"
            d = f"∂{names[step['node']]}/∂{names[u['child']]} = "
            for secret in (u["edge"], f"→ {u['after']}", d + u["local"], d + str(u["formula"])):
                assert not any(secret in t for t in [*state["notes"], state["panel"]]), secret
        assert state["notes"] == [] and state["badges"] == len(step["updates"])
        assert "after the last step" not in state["panel"]
        assert "The chain rule, path by path" not in state["panel"]
        later = {u["local"] for s in data["steps"][k - 1:] for u in s["updates"]}
        assert not later & set(state["labels"]) - {u["local"] for s in data["steps"][:k - 1]
                                                    for u in s["updates"]}
        tab.click("#quiz-panel button:text('reveal')")
        assert quiz_state(tab)["notes"] == ["".join(row) for row in expected_rows(step, names)]
        tab.keyboard.press("ArrowRight")
    terms = sum(len(s["updates"]) for s in data["steps"])
    assert tab.inner_text("#quiz-score") == f"score 0 / 0 ({terms} revealed)"
    # a fresh page, step 3: z1 passes its grad to a1; the local derivative typed for the grad
    tab.goto("about:blank")
    open_page(tab, pages["net221"], "#quiz&step=3")
    z1 = data["steps"][2]
    (u,) = z1["updates"]
    tab.fill("#quiz-panel input", u["local"])
    tab.keyboard.press("Enter")
    why = tab.inner_text("#quiz-panel")
    assert "✗ wrong" in why and f"That is the local derivative ∂z1/∂a1 = {u['local']} alone" in why
    assert f"∂z1/∂a1 = 1 - z1² = {u['plugged']} = {u['local']}" in why
    assert tab.inner_text("#quiz-score") == "score 0 / 1"
    assert f"= {u['after']}" in quiz_state(tab)["notes"][0]  # answered: the step shows
    # step 4: a1's five local derivatives, typed as the page shows them; one sign flipped
    tab.keyboard.press("ArrowRight")
    tab.select_option("#quiz-ask", "local")
    a1 = data["steps"][3]["updates"]
    inputs = tab.locator("#quiz-panel input")
    for i, v in enumerate(u["local"] for u in a1):
        inputs.nth(i).fill(v if i != 1 else f"-{v}".replace("--", ""))
    tab.click("#quiz-panel button:text('Check')")
    marks = tab.eval_on_selector_all("#quiz-panel .mark", "ms => ms.map(m => m.textContent)")
    assert marks == ["✓ right", "✗ wrong", "✓ right", "✓ right", "✓ right"]
    assert "The sign is wrong." in tab.inner_text("#quiz-panel")
    assert tab.inner_text("#quiz-score") == "score 4 / 6"
    assert tab.evaluate("location.hash") == "#quiz&step=4"
    tab.click("#quiz")  # quiz off: every number back, the link without #quiz
    assert tab.evaluate("location.hash") == "#step=4" and "grad ?" not in quiz_state(tab)[
        "grads"].values()


def test_a_quiz_link_alone_opens_step_0_in_quiz_mode(tab: Any, pages: dict[str, Path]) -> None:
    open_page(tab, pages["square"], "#quiz")
    assert tab.is_checked("#quiz") and tab.get_attribute("body", "data-step") == "0"
    tab.keyboard.press("ArrowRight")  # z = y + x: x and y each get 1
    assert shown_grads(tab) == {"z": "grad 1", "y": "grad ?", "x": "grad ?"}
    inputs = tab.locator("#quiz-panel input")
    inputs.nth(0).fill("1")
    inputs.nth(1).fill("1.0004")  # within 0.1%: the 4 digits a page shows always pass
    tab.click("#quiz-panel button:text('Check')")
    assert tab.inner_text("#quiz-score") == "score 2 / 2"
    assert shown_grads(tab) == {"z": "grad 1", "y": "grad 1", "x": "grad 1"}
    tab.keyboard.press("ArrowRight")  # y = x·x: x gets 3 twice; the term typed, 1 forgotten
    inputs.nth(0).fill("3")
    inputs.nth(1).fill("7")
    tab.click("#quiz-panel button:text('Check')")
    text = tab.inner_text("#quiz-panel")
    assert "That is the term 3: you forgot to add the grad x had before this step, 1." in text
    assert tab.inner_text("#quiz-score") == "score 3 / 4"


def test_the_quiz_marks_a_cancelling_sum_by_its_own_magnitude(tab: Any, tmp_path: Path) -> None:
    """E = 1000·x − 999.5·x: at the last step x's grad goes 1000 → 0.5. 0 and -0.5 are wrong
    (0.1% of the 1000 summed would pass them), 0.5004 right: the interval Python wrote."""
    require_dot()
    x = Value(0.3, "x")
    root = Value(1000.0) * x - Value(999.5) * x
    root.label = "E"
    path = render(root, tmp_path / "cancel.html")
    inputs = tab.locator("#quiz-panel input")
    for answer, score in (("0", "score 1 / 2"), ("-0.5", "score 1 / 2"),
                          ("0.5004", "score 2 / 2")):
        tab.goto("about:blank")  # a fresh page: no step answered yet
        open_page(tab, path, "#quiz&step=2")
        tab.keyboard.press("ArrowRight")
        inputs.nth(0).fill("-0.3")
        inputs.nth(1).fill(answer)
        tab.click("#quiz-panel button:text('Check')")
        assert tab.inner_text("#quiz-score") == score, answer
