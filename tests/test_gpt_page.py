"""micrograd.gpt_page: the GPT run's page holds the run's own numbers, and shows them.

A short run of a small GPT, recorded; the record's numbers are recomputed from the states
captured at each step (loss, grads, Adam step, the chosen name's losses, attention and
∂loss/∂p by backward()); recording changes no float of training; in headless Chromium the
page shows each recorded step, moves with ← / →, asks for nothing on the network.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest

from micrograd._numbers import short
from micrograd.gpt import GPT, Inputs, Tokenizer, mean_loss, names
from micrograd.gpt_page import MAX_PAGE_BYTES, Recorder
from micrograd.gpt_train import train_gpt

SMALL = {"n_embd": 8, "n_head": 2, "n_layer": 1, "block_size": 8}
STEPS = 7


def small(tokenizer: Tokenizer) -> GPT:
    return GPT(tokenizer.vocab_size, **SMALL)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    docs = names()
    tokenizer = Tokenizer.from_docs(docs)
    model = small(tokenizer)
    recorder = Recorder(model, tokenizer, docs, STEPS, every=3, name="ava", samples=4)
    states: list[dict[str, float]] = []
    grads: list[list[float]] = []

    def on_step(step: int, loss: float, optimizer: Any) -> None:
        recorder(step, loss, optimizer)
        states.append(model.state_dict())
        grads.append([p.grad for p in model.parameters()])

    losses = train_gpt(model, docs, tokenizer, steps=STEPS, compile=False, on_step=on_step)
    path = recorder.write(tmp_path_factory.mktemp("gpt") / "gpt_page.html")
    return {"docs": docs, "tokenizer": tokenizer, "recorder": recorder, "losses": losses,
            "states": states, "grads": grads, "path": path, "model": model}


def test_recording_changes_no_float_of_training(run: dict[str, Any]) -> None:
    model = small(run["tokenizer"])
    plain = train_gpt(model, run["docs"], run["tokenizer"], steps=STEPS, compile=False)
    assert plain == run["losses"] and model.state_dict() == run["states"][-1]


def test_records_are_the_first_every_third_and_the_last_step(run: dict[str, Any]) -> None:
    records = run["recorder"].records
    assert [r["step"] for r in records] == [1, 4, 7]
    assert run["recorder"].losses == run["losses"]
    assert [r["loss"] for r in records] == [short(run["losses"][s - 1]) for s in (1, 4, 7)]


def test_the_numbers_of_a_record_are_the_runs(run: dict[str, Any]) -> None:
    tokenizer, states, grads = run["tokenizer"], run["states"], run["grads"]
    for record in run["recorder"].records:
        s = record["step"] - 1
        model = small(tokenizer)
        model.load_state_dict(states[s])
        before = states[s - 1] if s else small(tokenizer).state_dict()
        names_ = [n for n, _ in model.named_parameters()]
        for row in record["matrices"]:
            inside = [i for i, n in enumerate(names_) if n.startswith(row[0] + "[")]
            w = math.sqrt(math.fsum(states[s][names_[i]] ** 2 for i in inside))
            g = math.sqrt(math.fsum(grads[s][i] ** 2 for i in inside))
            step = math.sqrt(math.fsum((states[s][names_[i]] - before[names_[i]]) ** 2
                                       for i in inside))
            assert row[2:] == [short(w), short(g), short(step)], row
        ids = tokenizer.encode("ava")
        inputs = Inputs(len(ids) - 1, tokenizer.vocab_size)
        inputs.set(ids)
        attention: list[Any] = []
        positions = model.position_losses(inputs.tokens, inputs.targets, attention)
        loss = mean_loss(positions)
        loss.backward()
        assert record["name_loss"] == short(loss.data)
        assert [row[3] for row in record["positions"]] == [short(p.data) for p in positions]
        assert [row[1:3] for row in record["positions"]] == [
            ["BOS", "a"], ["a", "v"], ["v", "a"], ["a", "BOS"]]
        parameter = dict(model.named_parameters())[run["recorder"].parameter.label]
        assert record["grad"] == short(parameter.grad)
        assert run["recorder"].parameter.label == f"lm_head[{ids[1]}][0]"
        assert "max_paths=4" in record["explain"] and record["explain"].startswith(
            f"∂loss/∂{parameter.label} = sum over the 8 paths")
        titles = re.findall(r"<title>([^<]*)</title>", record["heatmaps"][1])
        expected = [short(w.data) for q in range(4) for w in attention[q * 2 + 1]]
        assert [t.rsplit(": ", 1)[1] for t in titles] == expected
        assert len(record["samples"]) == 4


def test_a_long_name_or_an_unknown_parameter_is_refused(run: dict[str, Any]) -> None:
    model, tokenizer, docs = run["model"], run["tokenizer"], run["docs"]
    with pytest.raises(ValueError, match="longer than block_size 8"):
        Recorder(model, tokenizer, docs, 3, name="christopher")
    with pytest.raises(ValueError, match="no parameter 'w9'"):
        Recorder(model, tokenizer, docs, 3, parameter="w9")


def test_the_page_is_bounded_and_holds_its_data(run: dict[str, Any]) -> None:
    text = run["path"].read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < MAX_PAGE_BYTES
    payload = re.search(r'<script type="application/json" id="gpt-data">(.*?)</script>', text,
                        re.S)
    assert payload is not None
    assert json.loads(payload[1]) == json.loads(json.dumps(run["recorder"].data()))
    assert "http" not in text.replace("http://www.w3.org", "")


# ---- in the browser ------------------------------------------------------------------------


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests


def test_the_page_shows_each_recorded_step(tab: Any, run: dict[str, Any]) -> None:
    records = run["recorder"].records
    tab.goto(run["path"].as_uri() + "#step=4")
    tab.wait_for_selector("html[data-ready='1']", timeout=10_000)
    for index in (1, 2):
        record = records[index]
        assert tab.text_content("#counter") == (f"step {record['step']} / {STEPS} · loss "
                                                f"{record['loss']}")
        assert tab.eval_on_selector_all("#samples li", "els => els.map(e => e.textContent)") == [
            s or "(empty)" for s in record["samples"]]
        cells = tab.eval_on_selector_all(
            "#positions tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        assert cells == record["positions"]
        assert tab.locator("#heatmaps svg").count() == 2
        assert tab.text_content("#explain") == record["explain"]
        assert tab.get_attribute("circle.mark.current", "data-step") == str(record["step"])
        tab.keyboard.press("ArrowRight")
    assert tab.evaluate("location.hash") == "#step=7"
    tab.keyboard.press("ArrowRight")  # at the last record: stays
    assert tab.evaluate("location.hash") == "#step=7"
    tab.keyboard.press("ArrowLeft")
    assert tab.evaluate("location.hash") == "#step=4"
