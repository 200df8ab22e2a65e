"""train(..., page=...): the recording (never a float of training changed) and the training page,
in headless Chromium, held against the same training done by hand (backward() and p ← p − lr·g)."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ONE_SCREEN, require_dot

from micrograd import MLP, SGD, Adam, AdamW, Net221, data, train, training_page
from micrograd._numbers import short
from micrograd.losses import cross_entropy, half_squared_error
from micrograd.page import record
from micrograd.record import Recorder, evenly
from micrograd.training_page import Packer, unpack

LR, EPOCHS = 0.1, 3000  # the main job's run: Net221 (tanh) on XOR, per sample


def hand_run(epochs: int) -> dict[tuple[int, int], tuple[list[float], list[float], list[float]]]:
    """The notes' loop by hand: per (epoch, sample), parameters before, grads, after."""
    net = Net221("tanh")
    params = net.parameters()
    out = {}
    for epoch in range(epochs):
        for s, ((x1, x2), y) in enumerate(data.xor()):
            for p in params:
                p.grad = 0.0
            half_squared_error(net(x1, x2), y).backward()
            before, grads = [p.data for p in params], [p.grad for p in params]
            for p in params:
                p.data -= LR * p.grad
            out[epoch, s] = (before, grads, [p.data for p in params])
    return out


Hand = dict[tuple[int, int], tuple[list[float], list[float], list[float]]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The main job's run with its page (trained once for the module)."""
    require_dot()
    path = tmp_path_factory.mktemp("training") / "net221.html"
    history = train(Net221("tanh"), data.xor(), lr=LR, epochs=EPOCHS, tol=1e-6, page=path)
    return history, path


@pytest.fixture(scope="module")
def hand(run: tuple[Any, Path]) -> Hand:
    """The same run by hand, as many epochs (once for the module)."""
    return hand_run(run[0].epochs)


# ---- the recording -------------------------------------------------------------------------


OPTIMISERS = {
    "sgd": lambda ps: SGD(ps, 0.1), "momentum": lambda ps: SGD(ps, 0.1, momentum=0.9),
    "adam": lambda ps: Adam(ps, 0.01), "adamw": lambda ps: AdamW(ps, 0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("optimiser", sorted(OPTIMISERS))
def test_recording_changes_no_float_of_training(optimiser: str, compiled: bool,
                                                per_sample: bool, tmp_path: Path) -> None:
    require_dot()
    runs = []
    for page in (None, tmp_path / "run.html"):
        net = MLP(2, [3, 1], activation="tanh", seed=3)
        history = train(net, data.xor(), lr=0.1, epochs=6, tol=0.0, per_sample=per_sample,
                        compile=compiled, optimizer=OPTIMISERS[optimiser](net.parameters()),
                        page=page)
        runs.append((history.losses, [p.data for p in net.parameters()],
                     [p.grad for p in net.parameters()], history.recording))
    assert runs[0][:3] == runs[1][:3]  # the same floats, with and without the page
    recording = runs[1][3]
    assert runs[0][3] is None and recording is not None
    assert [f.epoch for f in recording.frames] == list(range(6))
    last = recording.frames[-1]
    assert last.end == runs[1][1]  # the frames' parameters are the run's
    for f, g in zip(recording.frames, recording.frames[1:]):
        assert f.end == g.start
        assert f.updates[-1].after == f.end and f.updates[0].before == f.start
    if optimiser.startswith("adam"):
        assert set(last.updates[-1].state) == {"m", "v"}
        assert last.updates[-1].t == (6 * 4 if per_sample else 6)
    assert (tmp_path / "run.html").stat().st_size > 0


def test_the_recording_is_the_notes_loop_done_by_hand(run: tuple[Any, Path], hand: Hand) -> None:
    history, _ = run
    recording = history.recording
    assert history.epochs == recording.epochs and recording.names == list(Net221.NAMES)
    by_hand = hand
    for frame in recording.frames:
        assert [u.sample for u in frame.updates] == [0, 1, 2, 3]
        for u in frame.updates:
            assert (u.before, u.grads, u.after) == by_hand[frame.epoch, u.sample]


@pytest.mark.parametrize("epochs", [1, 2, 199, 200, 201, 1000, 3001])
def test_the_frame_budget_keeps_evenly_spaced_epochs_first_and_last(epochs: int) -> None:
    net = Net221("tanh")
    recorder = Recorder(net, SGD(net.parameters(), 0.1), 4, True, 200)
    for epoch in range(epochs):
        recorder.start_epoch(epoch)
        recorder.end_epoch(1.0)
    kept = [f.epoch for f in recorder.recording().frames]
    assert kept[0] == 0 and kept[-1] == epochs - 1 and len(kept) <= 200
    assert len(kept) == epochs if epochs <= 200 else len(kept) >= 100
    steps = {b - a for a, b in itertools.pairwise(kept[:-1])}
    assert len(steps) <= 1  # one stride, up to the last epoch


def test_evenly_and_packing_round_trip() -> None:
    assert evenly(10, 3) == [0, 4, 9] and evenly(3, 5) == [0, 1, 2] and evenly(5, 1) == [0]
    packer = Packer()
    records = [{"a": "x1 = 7", "b": ["7", "-7", "w11", 2]},
               {"a": "x1 = -0.5", "b": ["-0.5", "0.5", "w11", 2]},
               {"a": "x1 = 3", "b": ["3", "-3", "w11", 2]},
               {"a": "y = 3", "b": ["3", "4", "w11", 2]},  # another text: another template
               {"a": "x1 = (-2)", "b": ["3", "4", "w11", 2, 5]}]
    refs = [packer.pack(r) for r in records]
    templates = packer.templates()
    assert [unpack(templates[ref[0]], ref) for ref in refs] == records
    first = templates[refs[0][0]]
    assert refs[0] == [0, "7"] and refs[1] == [0, "-0.5"]  # one number each: the others follow
    assert first["same"] == [1, 0, 2, -1]  # position 1 is slot 0, position 2 its negation
    assert '"w11",2]' in first["pieces"][-1]  # 2 in every record: part of the text
    assert len(templates) == 3


def test_the_pages_records_are_page_record_of_the_hand_runs_net(run: tuple[Any, Path],
                                                                 hand: Hand) -> None:
    """Unpacked as the page unpacks them, the graphs at epochs 0 and end are page.record's of
    the net at the hand run's parameters (the quiz's data included)."""
    _, path = run
    page = json.loads(path.read_text(encoding="utf-8").split(
        'id="training-data">')[1].split("</script>")[0])
    frames = page["frames"]
    for f in (frames[0], frames[-1]):
        for s in range(4):
            detail = f["details"][str(s)]
            got = unpack(page["templates"][detail["packed"][0]], detail["packed"])["graph"]
            net = Net221("tanh")
            for p, v in zip(net.parameters(), hand[f["epoch"], s][0]):
                p.data = v
            (x1, x2), y = data.xor()[s]
            assert got == record(half_squared_error(net(x1, x2), y)).data


def test_a_page_needs_an_html_path_before_training(tmp_path: Path) -> None:
    net = Net221("tanh")
    before = [p.data for p in net.parameters()]
    with pytest.raises(ValueError, match="html"):
        train(net, data.xor(), epochs=3, page=tmp_path / "run.svg")
    with pytest.raises(FileNotFoundError):
        train(net, data.xor(), epochs=3, page=tmp_path / "missing" / "run.html")
    assert [p.data for p in net.parameters()] == before


@pytest.mark.parametrize(("hidden", "per_sample", "drawn"), [
    ([30, 30], True, False), ([30, 30], False, False), ([40, 20], True, False),
    ([4], True, True), ([4], False, True)])
def test_a_sample_graph_over_the_node_budget_is_never_drawn(
        hidden: list[int], per_sample: bool, drawn: bool, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import micrograd.graph

    handed: list[int] = []  # the node count of each graph handed to draw_dot
    real = micrograd.graph.draw_dot

    def counting(root: Any, **options: Any) -> Any:
        handed.append(len(micrograd.walk.walk(root).order))
        return real(root, **options)

    monkeypatch.setattr(micrograd.graph, "draw_dot", counting)
    model = MLP(2, [*hidden, 1], seed=0)
    path = tmp_path / "run.html"
    train(model, data.xor(), lr=0.01, epochs=2, per_sample=per_sample, progress=False,
          page=path)
    text = path.read_text(encoding="utf-8")
    page = json.loads(text.split('id="training-data">')[1].split("</script>")[0])
    nodes = len(micrograd.walk.walk(half_squared_error(model(0.0, 0.0), 0.0)).order)
    assert (nodes <= training_page.DRAWN_NODES) == drawn
    assert all(n <= training_page.DRAWN_NODES for n in handed)
    assert bool(handed) == drawn == ('<template id="drawing-' in text)
    assert all("graph" not in f for f in page["frames"]) != drawn
    if not drawn:  # the page says why, and the network view stands in
        assert f"a sample's graph has {nodes:,} nodes, more than the 1,000" in page["held"]
        assert page["graph_samples_text"] == ""
        assert "<svg" in text.split('id="net-box"')[1].split("</figure>")[0]


def test_the_main_jobs_page_is_small_and_self_contained(run: tuple[Any, Path]) -> None:
    _, path = run
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size <= 1_000_000
    assert "<link" not in page and "src=" not in page and "url(" not in page


# ---- in the browser ------------------------------------------------------------------------


def watch(page: Any) -> tuple[list[str], list[str]]:
    """The page's requests and errors, as they come."""
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return requests, errors


@pytest.fixture(scope="module")
def shared(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """One tab for the module's browser tests (each test checks its errors and requests)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    requests, errors = watch(page)
    yield page, requests, errors
    context.close()


@pytest.fixture
def tab(shared: tuple[Any, list[str], list[str]]) -> Iterator[Any]:
    page, requests, errors = shared
    requests.clear()
    errors.clear()
    yield page
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests


def open_page(tab: Any, path: Path, hash: str = "") -> None:
    """Load the page afresh at hash."""
    tab.goto("about:blank")
    tab.goto(path.as_uri() + hash)
    tab.wait_for_selector("html[data-ready='1']", timeout=10_000)


def go(tab: Any, path: Path, hash: str) -> None:
    """Follow a link to hash: the page loaded once, then its hash set (as a click on a link)."""
    if not tab.url.startswith(path.as_uri()):
        open_page(tab, path, hash)
        return
    tab.evaluate("(h) => { location.hash = h; }", hash)
    tab.wait_for_function("(h) => location.hash === h && document.body.dataset.epoch !== undefined",
                          arg=hash)


def settled_hash(tab: Any, hash: str) -> None:
    """The hash the page writes once its moves settle."""
    tab.wait_for_function("(h) => location.hash === h", arg=hash, timeout=5_000)


def state(tab: Any) -> tuple[str, str, str]:
    """The page's epoch (counted from 1, as the command line prints them), sample and step."""
    return tuple(tab.get_attribute("body", f"data-{k}") for k in ("epoch", "sample", "step"))


def table(tab: Any) -> list[list[str]]:
    """The parameter table's texts, once every row shows the state (body[data-table])."""
    tab.wait_for_function("document.body.dataset.table", timeout=5_000)
    return tab.eval_on_selector_all(
        "#params tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")


def leaf_grads(tab: Any) -> dict[str, str]:
    rows = tab.eval_on_selector_all(
        "#graph g.node",
        "gs => gs.map(g => [...g.querySelectorAll('text')].map(t => t.textContent))")
    return {texts[0]: texts[-1] for texts in rows if len(texts) == 3}


def test_every_number_shown_is_the_hand_run(tab: Any, run: tuple[Any, Path], hand: Hand) -> None:
    """At epochs 1, a middle one and end, for every sample: the table and the graph's data and
    grads (the graph of the nearest epoch holding one, its title says which)."""
    history, path = run
    epochs = [f.epoch for f in history.recording.frames]
    for epoch in (0, epochs[len(epochs) // 2], epochs[-1]):
        for s in range(4):
            go(tab, path, f"#epoch={epoch + 1}&sample={s}&step=end")
            assert state(tab) == (str(epoch + 1), str(s), "6")
            before, grads, after = hand[epoch, s]
            rows = table(tab)
            assert [r[0] for r in rows] == list(Net221.NAMES)
            for row, b, g, a in zip(rows, before, grads, after):
                signed = f"({short(g)})" if short(g).startswith("-") else short(g)
                rule = f"{row[0]} ← {short(b)} − {short(LR)}·{signed} = {short(a)}"
                assert row[1:] == [short(b), short(g), rule, short(a)]
            shown = int(tab.get_attribute("body", "data-graph-epoch"))
            assert f"at epoch {shown}:" in tab.inner_text("#graph-title")
            before, grads, _ = hand[shown - 1, s]
            texts = {t[0]: t[1:] for t in tab.eval_on_selector_all(
                "#graph g.node", "gs => gs.map(g => [...g.querySelectorAll('text')]"
                ".map(t => t.textContent))") if len(t) == 3}
            for name, b, g in zip(Net221.NAMES, before, grads):
                assert texts[name] == [f"data {short(b)}", f"grad {short(g)}"], (epoch, s, name)


def test_deep_links_snap_and_follow_the_controls(tab: Any, run: tuple[Any, Path]) -> None:
    """#epoch=E counts from 1 and snaps to the nearest recorded epoch (the earlier on a tie),
    exactly for any size of E; end and huge numbers give the last; other text the default."""
    history, path = run
    epochs = [f.epoch + 1 for f in history.recording.frames]  # as the page counts them
    last, gap = epochs[-1], epochs[6] - epochs[5]
    assert gap >= 4  # room for a number between two recorded epochs
    open_page(tab, path)
    opened = ("1", "3", "0")  # x = (1, 1): every grad moves (x = (0, 0) leaves w11 … at 0)
    assert state(tab) == opened
    huge = "9" * 30  # as a float it rounds: every epoch would look as near as the last
    for hash, expected in [("#epoch=end&sample=3&step=end", (str(last), "3", "6")),
                           (f"#epoch={epochs[5] + 1}&sample=1&step=2", (str(epochs[5]), "1", "2")),
                           (f"#epoch={epochs[6] - 1}&sample=1&step=2", (str(epochs[6]), "1", "2")),
                           (f"#epoch={last - 1}&sample=1&step=2", (str(last), "1", "2")),
                           (f"#epoch={huge}&sample={huge}&step={huge}", (str(last), "3", "6")),
                           ("#epoch=99999&sample=9&step=99", (str(last), "3", "6")),
                           ("#epoch=0&sample=0&step=0", ("1", "0", "0")),
                           ("#epoch=1&sample=0&step=0", ("1", "0", "0")),
                           ("#epoch=-5&sample=x&step=1e9", opened),
                           ("#epoch=12.5&sample=&step=%ZZ", opened),
                           ("#epoch=Infinity&sample=NaN&step=-1", opened),
                           ("#epoch=%EF%BC%92&sample=0x1&step=end", (*opened[:2], "6"))]:
        go(tab, path, hash)
        assert state(tab) == expected, hash
    open_page(tab, path, "#epoch=end&sample=2&step=1")  # a fresh load opens the state too
    assert state(tab) == (str(last), "2", "1")
    go(tab, path, "#epoch=1&sample=0&step=0")
    tab.click("#epoch-next")
    settled_hash(tab, f"#epoch={epochs[1]}&sample=0&step=0")
    tab.click("#next")
    settled_hash(tab, f"#epoch={epochs[1]}&sample=0&step=1")
    tab.select_option("#sample", "2")
    settled_hash(tab, f"#epoch={epochs[1]}&sample=2&step=1")
    tab.wait_for_function("document.body.dataset.graphEpoch !== undefined")
    assert "Sample 2 (x = (1, 0), y = 1)" in tab.inner_text("#graph-title")


def test_clicking_a_point_selects_its_sample(tab: Any, run: tuple[Any, Path]) -> None:
    _, path = run
    go(tab, path, "#epoch=1&sample=0&step=0")
    tab.click("#heat circle.point[data-sample='3']")
    assert state(tab)[1] == "3"
    settled_hash(tab, "#epoch=1&sample=3&step=0")
    tab.wait_for_function("document.getElementById('graph-title').textContent"
                          ".includes('x = (1, 1), y = 0')")
    assert tab.locator("#heat circle.point.selected").get_attribute("data-sample") == "3"


def test_play_moves_the_epochs_and_pauses(browser: Any, run: tuple[Any, Path]) -> None:
    history, path = run
    epochs = [f.epoch + 1 for f in history.recording.frames]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        tab = context.new_page()
        _, errors = watch(tab)
        tab.clock.install()  # a clock of its own: this test's tab only
        open_page(tab, path, "#epoch=1&sample=1&step=0")
        tab.click("#epoch-play")
        assert tab.inner_text("#epoch-play") == "pause"
        tab.clock.run_for(1_000)
        assert state(tab)[0] == str(epochs[2])
        tab.click("#epoch-play")
        tab.clock.run_for(5_000)
        assert state(tab)[0] == str(epochs[2]) and tab.inner_text("#epoch-play") == "play"
        assert tab.get_attribute("body", "data-graph-epoch") == str(epochs[2])
        assert errors == []
    finally:
        context.close()


def test_hovering_a_weight_shows_its_update_with_numbers(tab: Any, run: tuple[Any, Path],
                                                         hand: Hand) -> None:
    _, path = run
    go(tab, path, "#epoch=1&sample=2&step=0")
    before, grads, after = hand[0, 2]
    # each weight has a wide invisible line over it: hovering near the edge is enough
    assert tab.locator("#net line.hit").count() == tab.locator("#net line.w").count() == 6
    width = tab.eval_on_selector("#net line.hit[data-p='0']",
                                 "l => getComputedStyle(l).strokeWidth")
    assert float(width.removesuffix("px")) >= 10
    tab.dispatch_event("#net line.hit[data-p='0']", "mouseover")
    info = tab.inner_text("#net-info")
    assert f"weight w11 = {short(before[0])}" in info and f"= {short(after[0])}" in info
    assert f"∂E/∂w11 = {short(grads[0])}" in info
    assert tab.locator("#net line.w.hover").get_attribute("data-p") == "0"


def test_the_plane_says_what_its_colours_and_points_mean(tab: Any, run: tuple[Any, Path]) -> None:
    """The colour bar's numbers, the range of ŷ at the epoch (Python's), the points' legend."""
    history, path = run
    go(tab, path, "#epoch=1&sample=0&step=0")
    bar = tab.eval_on_selector_all("#heat .bar text", "ts => ts.map(t => t.textContent)")
    assert bar == ["-1", "0", "0.5", "1", "2"]
    net = Net221("tanh")
    for p, v in zip(net.parameters(), history.recording.frames[0].start):
        p.data = v
    corners = [net(x1, x2).data for (x1, x2), _ in data.xor()]
    spread = tab.inner_text("#spread")
    low, high = (float(v) for v in spread.split("from ")[1].split(" over")[0].split(" to "))
    assert low <= min(corners) and max(corners) <= high  # the plane holds the four corners
    assert "blue y = 0, orange y = 1; ringed: the selected one" in tab.inner_text("#legend")
    rings = tab.eval_on_selector_all("#heat circle.point", "ps => ps.map((p) => [getComputedStyle"
                                     "(p).stroke, getComputedStyle(p).strokeWidth])")
    assert all(colour == "rgb(33, 37, 41)" and float(width.removesuffix("px")) >= 2
               for colour, width in rings), rings  # a dark ring: a blue point shows on blue
    colours = set(tab.eval_on_selector_all("#heat rect.cell",
                                           "cs => cs.map(c => c.getAttribute('fill'))"))
    assert len(colours) >= 2  # epoch 0 is not one flat colour


def test_a_spiral_run_with_adam_and_cross_entropy(tab: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Adam's columns; a large graph (no explain texts); graphs on a few epochs only: an epoch
    between shows the nearest, a sample without graphs says which samples have them."""
    require_dot()
    monkeypatch.setattr(training_page, "GRAPH_NODES", 1)  # one sample's graphs, epochs 0, end
    samples = [(x, int(t)) for x, t in data.spiral(8, noise=0.2, seed=0)]
    net = MLP(2, [8, 3], activation="relu", seed=0)
    path = tmp_path / "spiral.html"
    history = train(net, samples, loss=cross_entropy, lr=0.01, epochs=4, tol=0.0,
                    optimizer="adam", page=path)
    open_page(tab, path, "#epoch=end&sample=5&step=end")
    assert state(tab)[:2] == ("4", "5")
    head = tab.eval_on_selector_all("#params th", "ts => ts.map(t => t.textContent)")
    assert head[-2:] == ["m", "v"]
    update = history.recording.frames[-1].updates[5]
    rows = table(tab)
    assert rows[0][1:3] == [short(update.before[0]), short(update.grads[0])]
    assert rows[0][-2:] == [short(update.state["m"][0]), short(update.state["v"][0])]
    assert math.isfinite(history.losses[-1])
    assert tab.locator("#net line.w").count() == 2 * 8 + 8 * 3
    assert "holds no backward pass of sample 5: pick one of samples 0." in tab.inner_text(
        "#no-graph")
    go(tab, path, "#epoch=2&sample=0&step=end")
    assert tab.get_attribute("body", "data-graph-epoch") == "1"
    assert "no backward pass at epoch 2; epoch 1 is the nearest" in tab.inner_text("#graph-title")
    assert "leaves out explain()" in tab.inner_text("#held")


def test_a_long_table_keeps_its_columns_and_writes_the_rows_in_view_first(
        tab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """371 parameters: a move writes the rows in view at once and the rest after the paint; an
    epoch without the sample's update keeps the columns (its start under before, its end under
    after, the other cells empty); every row ends up showing the recorded numbers."""
    require_dot()
    monkeypatch.setattr(training_page, "GRAPH_NODES", 1)
    samples = [(x, int(t)) for x, t in data.spiral(8, noise=0.2, seed=0)]
    net = MLP(2, [16, 16, 3], activation="relu", seed=0)
    path = tmp_path / "long.html"
    history = train(net, samples, loss=cross_entropy, lr=0.01, epochs=12, tol=0.0,
                    optimizer="adam", page=path, progress=False)
    frames = history.recording.frames
    plain = next(i for i, f in enumerate(frames) if not f.updates)  # an epoch without updates
    assert plain > 0 and frames[plain - 1].updates and len(history.recording.names) == 371
    open_page(tab, path, f"#epoch={frames[plain - 1].epoch + 1}&sample=6&step=0")
    head = tab.eval_on_selector_all("#params th", "ts => ts.map(t => t.textContent)")
    assert head == ["parameter", "before", "∂E/∂p", "update", "after", "m", "v"]
    update = next(u for u in frames[plain - 1].updates if u.sample == 6)
    last = [short(update.before[-1]), short(update.grads[-1])]
    assert table(tab)[-1][1:3] == last
    assert table(tab)[-1][-2:] == [short(update.state["m"][-1]), short(update.state["v"][-1])]
    # the move itself: the rows in view written, the last one not yet, the columns kept
    first, at_once, written = tab.evaluate("""() => {
      document.getElementById('epoch-next').click();
      const rows = document.querySelectorAll('#params tbody tr');
      return [[...rows[0].cells].map(c => c.textContent), rows[370].cells[1].textContent,
              document.body.dataset.table];
    }""")
    start, end = frames[plain].start, frames[plain].end
    assert first == ["L0.N0.w0", short(start[0]), "", "", short(end[0]), "", ""]
    assert (at_once, written) == (last[0], "")
    assert tab.eval_on_selector_all("#params th", "ts => ts.map(t => t.textContent)") == head
    rows = table(tab)
    assert all(len(r) == 7 for r in rows)
    assert rows[-1][1:] == [short(start[-1]), "", "", short(end[-1]), "", ""]
    assert "at its start (before) and its end (after)" in tab.inner_text("#table-title")


# ---- one screen per step -------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLP(2, [8, 8, 1]) run's page: its widest steps pass a grad to 17 children."""
    require_dot()
    path = tmp_path_factory.mktemp("mlp") / "mlp.html"
    train(MLP(2, [8, 8, 1], seed=0), data.moons(8, 0.1, 0, (0.0, 1.0)), lr=0.05, epochs=3,
          progress=False, page=path)
    return path


@pytest.mark.parametrize("quiz", [False, True], ids=["normal", "quiz"])
@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=["1280", "1920"])
@pytest.mark.parametrize("which", ["main job", "mlp"])
def test_every_backward_step_fits_one_screen(browser: Any, run: tuple[Any, Path],
                                             mlp_page: Path, which: str, size: tuple[int, int],
                                             quiz: bool) -> None:
    """Each step, keys only, no scrolling: the node being processed in the graph's view, its
    terms or its answer fields in the window, the step buttons reachable, no text under 12 px."""
    path, steps = (run[1], 6) if which == "main job" else (mlp_page, 34)
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        tab = context.new_page()
        _, errors = watch(tab)
        open_page(tab, path, "#quiz" if quiz else "")
        assert tab.is_checked("#quiz") == quiz
        screen = tab.evaluate(ONE_SCREEN, quiz)
        assert (screen["steps"], screen["bad"]) == (steps, []), which
        assert errors == []
    finally:
        context.close()


def test_the_quiz_hides_what_it_asks_everywhere(tab: Any, run: tuple[Any, Path],
                                                hand: Hand) -> None:
    """In quiz mode a grad the sample's graph asks for shows nowhere (the table, the network's
    hover, the graph, the panels) until its steps are answered; #quiz&step=N opens step N with
    the steps before it open."""
    _, path = run
    before, grads, after = hand[0, 2]
    secrets = [short(g) for g in grads if abs(g) > 1e-3] + [
        short(a) for a, b in zip(after, before) if short(a) != short(b)]
    open_page(tab, path, "#quiz&epoch=1&sample=2&step=0")
    assert tab.is_checked("#quiz") and state(tab) == ("1", "2", "0")
    rows = table(tab)
    assert [r[2:] for r in rows] == [["?", "", ""]] * 9
    tab.dispatch_event("#net line.hit[data-p='0']", "mouseover")
    assert "∂E/∂w11 = ?" in tab.inner_text("#net-info")
    shown = tab.inner_text("body")
    assert not [t for t in secrets if t in shown]
    for _ in range(6):  # answer each step by revealing it: its parameters' rows show
        tab.keyboard.press("ArrowRight")
        tab.click("#quiz-panel button:text('reveal')")
    signed = [f"({short(g)})" if short(g).startswith("-") else short(g) for g in grads]
    rows = table(tab)
    assert [r[2] for r in rows] == [short(g) for g in grads]
    assert [r[3] for r in rows] == [f"{n} ← {r[1]} − 0.1·{g} = {short(a)}"
                                    for n, r, g, a in zip(Net221.NAMES, rows, signed, after)]
    tab.dispatch_event("#net line.hit[data-p='0']", "mouseover")
    assert f"∂E/∂w11 = {short(grads[0])}" in tab.inner_text("#net-info")
    # step 3 of a fresh page: steps 1 and 2 (E, then ŷ into w1, w2, b) are behind, not asked
    open_page(tab, path, "#quiz&epoch=1&sample=2&step=3")
    assert tab.is_checked("#quiz") and state(tab) == ("1", "2", "3")
    rows = {r[0]: r[2] for r in table(tab)}
    assert [rows[n] for n in ("w1", "w2", "b")] == [short(grads[i]) for i in (6, 7, 8)]
    assert {rows[n] for n in ("w11", "w12", "b1", "w21", "w22", "b2")} == {"?"}
    tab.click("#quiz")  # quiz off: every number back
    assert [r[2] for r in table(tab)] == [short(g) for g in grads]


def test_the_keys_step_play_and_move_the_epochs_and_the_page_says_so(
        tab: Any, run: tuple[Any, Path]) -> None:
    history, path = run
    epochs = [f.epoch + 1 for f in history.recording.frames]
    open_page(tab, path, "#epoch=1&sample=2&step=0")
    header = tab.inner_text("header")
    assert "First press →" in header and "→ ← step, space plays" in header
    assert "↑ ↓" in header and "Epochs" in header and "Backward pass" in header
    assert tab.inner_text("#epoch-counter") == f"epoch 1 of {history.epochs}"
    assert f"keeps {len(epochs)} of the {history.epochs} epochs" in tab.inner_text("#epoch-status")
    tab.keyboard.press("ArrowRight")
    tab.keyboard.press("ArrowRight")
    tab.keyboard.press("ArrowLeft")
    assert state(tab) == ("1", "2", "1")
    tab.click("#next")  # a focused button: space still plays, it does not press the button
    tab.keyboard.press(" ")
    assert tab.inner_text("#play") == "pause" and state(tab)[2] == "2"
    tab.keyboard.press(" ")
    assert tab.inner_text("#play") == "play"
    tab.keyboard.press("ArrowDown")
    tab.wait_for_function("(e) => document.body.dataset.epoch === e", arg=str(epochs[1]))
    tab.keyboard.press("ArrowUp")
    tab.wait_for_function("document.body.dataset.epoch === '1'")


# ---- issue 29, class 5: each update as the step that made it ------------------------------


class Decaying(SGD):
    """SGD of one's own whose lr halves after every step: its steps are the notes' rule, each
    with its own lr."""

    def step(self) -> None:
        super().step()
        self.lr *= 0.5


class SignDescent(SGD):
    """An SGD subclass with another rule: p ← p − lr·sign(∂E/∂p)."""

    def step(self) -> None:
        for p in self.params:
            p.data -= self.lr * ((p.grad > 0) - (p.grad < 0))


def recorded(optimizer: type, tmp_path: Path) -> Any:
    net = Net221("tanh")
    history = train(net, data.xor, epochs=3, optimizer=optimizer(net.parameters(), 0.5),
                    page=tmp_path / "run.html", progress=False)
    assert history.recording is not None
    return history.recording


def test_each_update_is_written_with_the_lr_its_step_took(tmp_path: Path) -> None:
    """Issue 29: every row took the optimiser's final lr, so 3 XOR epochs of a decaying lr
    (84 rows) did not add up."""
    recording = recorded(Decaying, tmp_path)
    updates = [u for f in recording.frames for u in f.updates]
    assert len({u.lr for u in updates}) == len(updates) == 12  # every step its own lr
    for update in updates:
        assert update.after == [b - update.lr * g for b, g in zip(update.before, update.grads)]
        for name, row in zip(recording.names, training_page.table_rows(recording, update)):
            assert row[2] == (f"{name} ← {row[0]} − {short(update.lr)}·"
                              f"{row[1] if not row[1].startswith('-') else f'({row[1]})'} = "
                              f"{row[3]}")
    rule = training_page.update_rule(recording)
    assert rule.startswith("the notes' gradient descent, lr as each step took it (0.5 at first")
    assert (tmp_path / "run.html").read_text(encoding="utf-8").count(short(updates[-1].lr)) > 0


@pytest.mark.parametrize("optimizer", ["SignDescent", "Optimizer"])
def test_an_optimiser_the_page_does_not_know_is_written_as_its_own_step(
        tmp_path: Path, optimizer: str) -> None:
    """Not "the notes' gradient descent": p ← p + Δp, the change the step made."""
    from micrograd.optim import Optimizer

    class Halving(Optimizer):
        def step(self) -> None:
            for p in self.params:
                p.data -= 0.5 * self.lr * p.grad

    recording = recorded(SignDescent if optimizer == "SignDescent" else Halving, tmp_path)
    name = type(recording.optimizer).__name__
    assert training_page.update_rule(recording).startswith(f"{name}'s own step")
    assert training_page.table_columns(recording) == [
        "parameter", "before", "∂E/∂p", "update", "after"]
    update = recording.frames[-1].updates[0]
    rows = training_page.table_rows(recording, update)
    for param, row, b, a in zip(recording.names, rows, update.before, update.after):
        delta = short(a - b)
        assert row[2] == f"{param} ← {short(b)} + {f'({delta})' if a < b else delta} = {short(a)}"
    assert "the notes' gradient descent" not in (tmp_path / "run.html").read_text(
        encoding="utf-8")
