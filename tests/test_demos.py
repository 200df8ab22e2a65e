"""Each demo runs in its --quick configuration, writes valid files and prints the right numbers."""

from __future__ import annotations

import importlib
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from conftest import require_dot, require_module

from micrograd.reference import PARAMETER_NAMES, net221_forward, net221_gradients

DEMOS = Path(__file__).resolve().parent.parent / "demos"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch):
    """Import a demo script by name, as `python demos/<name>.py` would find its helpers."""
    monkeypatch.syspath_prepend(str(DEMOS))

    def load(name: str) -> ModuleType:
        return importlib.import_module(name)

    return load


def run(module: ModuleType, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """main(["--quick", "--out", out, *extra]) must return 0; its stdout."""
    assert module.main(["--quick", "--out", str(out), *extra]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.out


def assert_png(path: Path) -> None:
    require_module("matplotlib")
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 600 and height > 300, (path, width, height)


def markdown_rows(path: Path) -> list[list[str]]:
    """The body rows of the one markdown table in path, as lists of cell texts."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.startswith("|")]
    assert len(lines) >= 3 and set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


# ---- gradient_descent ----------------------------------------------------------------------


def test_gradient_descent_converges_for_a_small_step_and_diverges_for_a_large_one(
        demo, tmp_path, capsys):
    out = run(demo("gradient_descent"), tmp_path, capsys)
    # w_k − 3 = 0.8^k·(0 − 3), |f'(w_k)| = 6·0.8^k: below 1e-8 first at k = 91
    k = math.ceil(math.log(6 / 1e-8) / math.log(1 / 0.8))
    converged = re.search(r"a = 0\.1: converged after (\d+) steps: .* at w = (\S+),", out)
    assert converged and int(converged[1]) == k == 91
    assert abs(float(converged[2]) - 3) < 1e-8
    diverged = re.search(r"a = 1\.1: diverged after (\d+) steps: .*w = (\S+),", out)
    assert diverged and abs(float(diverged[2])) > 1e150
    # |w_k − 3| = 3·1.2^k: f = (w − 3)² + 1 overflows to inf once 9·1.44^k > the largest float
    assert int(diverged[1]) == math.ceil((math.log(sys.float_info.max) - math.log(9))
                                         / math.log(1.44)) == 1941
    assert "a = 1: did not converge: step cap reached after 2500 steps (w = 0," in out
    assert re.search(r"from w0 = -2: gradient below tolerance .* w = -1\.30084", out)
    assert re.search(r"from w0 = 2: gradient below tolerance .* w = 1\.1309", out)
    assert_png(tmp_path / "gradient_descent.png")


def test_without_matplotlib_a_demo_prints_its_tables_and_says_how_to_install(
        demo, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    out = run(demo("gradient_descent"), tmp_path, capsys)
    assert "a = 0.1: converged" in out
    assert "pip install '.[plot]'" in out
    assert not (tmp_path / "gradient_descent.png").exists()


# ---- xor_221 -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, option", [("moons_mlp", "--steps"),
                                          ("spiral_adam", "--epochs"), ("xor_221", "--jobs")])
def test_a_count_below_one_exits_2(demo, name: str, option: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    for value, said in (("0", "must be >= 1, got 0"), ("x", "invalid positive_int value: 'x'")):
        with pytest.raises(SystemExit) as caught:
            demo(name).main([option, value])
        assert caught.value.code == 2 and f"argument {option}: {said}" in capsys.readouterr().err


def test_xor_221_table_and_step_cannot_learn(demo, tmp_path, capsys):
    module = demo("xor_221")
    out = run(module, tmp_path, capsys)
    run(module, tmp_path / "pool", capsys, "--jobs", "2")  # worker processes: the same table
    assert ((tmp_path / "pool" / "xor_221_seeds.md").read_text(encoding="utf-8")
            == (tmp_path / "xor_221_seeds.md").read_text(encoding="utf-8"))
    rows = markdown_rows(tmp_path / "xor_221_seeds.md")
    assert [r[0] for r in rows] == ["sigmoid", "tanh", "relu", "leaky_relu", "step"]
    for name, solved, converged, cap, dead, *_ in rows:
        assert re.fullmatch(r"\d/5", solved), name
        assert int(converged) + int(cap) + int(dead) == 5, name  # every run stopped for a reason
    step = rows[-1]
    assert step[1:6] == ["0/5", "0", "0", "5", "1"]  # never solves; stops after one epoch
    assert all(r[4] == "0" for r in rows if r[0] != "relu" and r[0] != "step")
    # from the default seed, tanh/relu/leaky_relu solve XOR within the quick 300 epochs
    for act in ("tanh", "relu", "leaky_relu"):
        assert re.search(rf"^  {act} +solved ", out, re.MULTILINE), act
    assert "train(step): stopped after 1 epoch: hidden-layer gradients are exactly zero" in out
    hidden = re.findall(r"x = \(\d, \d\): (.*) \|", out)
    assert len(hidden) == 4
    assert all(h.split() == [f"{p}=0" for p in PARAMETER_NAMES[:6]] for h in hidden)
    assert_png(tmp_path / "xor_221_loss.png")


# ---- seed_formulas -------------------------------------------------------------------------


def test_seed_formulas_engine_equals_corrected_and_printed_has_the_errata(
        demo, tmp_path, capsys):
    module = demo("seed_formulas")
    out = run(module, tmp_path, capsys)
    rows = markdown_rows(tmp_path / "seed_formulas.md")
    assert [r[0] for r in rows] == list(PARAMETER_NAMES)
    engine = {r[0]: float(r[1]) for r in rows}
    for name, eng, corrected, printed, formula, differ in rows:
        assert eng == corrected, name
        if name == "b2":
            assert formula == "(y − 1)·w2·f′(a2)"
            assert abs(float(printed) - -float(eng)) > 1e-3 and printed != eng
        else:
            assert float(printed) == -float(eng) != 0.0 and differ == "sign", name
    # the engine column against a central difference of E, independent of both
    from micrograd.nn import Net221

    params = Net221("sigmoid").state_dict()
    (x1, x2), y = module.SAMPLE

    def loss(p: dict[str, float]) -> float:
        return 0.5 * (y - net221_forward(p, x1, x2, "sigmoid")["ŷ"]) ** 2

    h = 1e-6
    for name in PARAMETER_NAMES:
        up, down = dict(params), dict(params)
        up[name] += h
        down[name] -= h
        assert abs((loss(up) - loss(down)) / (2 * h) - engine[name]) < 1e-6, name
    assert "engine vs notes corrected: 9/9 identical" in out
    assert "notes as printed: 8/9 are exactly the negative" in out
    step = re.search(r"E goes (\S+) → (\S+) \(down\); with the printed ones (\S+) → (\S+) "
                     r"\(up: gradient ascent\)", out)
    assert step and float(step[2]) < float(step[1]) < float(step[4])


# ---- moons_mlp -----------------------------------------------------------------------------


def test_moons_mlp_trains_and_draws_the_boundary(demo, tmp_path, capsys):
    module = demo("moons_mlp")
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "training" not in captured.err  # the progress bar stays silent off a terminal
    losses = [float(x) for x in re.findall(r"^step +\d+ +lr \S+ +loss (\S+)", captured.out,
                                           re.MULTILINE)]
    assert len(losses) == 5 and losses[-1] < 0.75 * losses[0]
    final = re.search(r"final accuracy (\d+)% \((\d+)/100\)", captured.out)
    assert final and int(final[1]) == int(final[2]) > 50
    assert "337 parameters" in captured.out  # 2·16+16 + 16·16+16 + 16+1
    assert_png(tmp_path / "moons_mlp.png")


# ---- spiral_adam ---------------------------------------------------------------------------


def test_digits_trains_eager_compiled_and_native_to_the_same_parameters(demo, tmp_path, capsys):
    require_module("sklearn")
    require_module("llvmlite")
    out = run(demo("digits"), tmp_path, capsys)
    for name in ("compiled", "native"):
        assert (f"{name} took the eager steps, bit for bit (all 2,410 parameters equal at the "
                "end): yes") in out  # 64·32+32 + 32·10+10
    rows = {row[0]: row for row in markdown_rows(tmp_path / "digits.md")}
    assert list(rows) == ["eager", "compiled", "native"]
    assert rows["eager"][4:] == rows["compiled"][4:] == rows["native"][4:]  # loss, accuracy
    speeds = {name: float(row[1].replace(",", "")) for name, row in rows.items()}
    assert all(speed > 0 for speed in speeds.values())
    for name, row in rows.items():  # "vs eager": images/s over eager's (rounded as shown)
        ratio = float(row[2].removesuffix("x").replace(",", ""))
        assert ratio == pytest.approx(speeds[name] / speeds["eager"], abs=0.06, rel=0.01)
    assert rows["eager"][3] == "–"
    assert float(rows["native"][3]) > 0  # seconds to compile


def test_digits_without_llvmlite_runs_eager_and_compiled_and_names_the_extra(
        demo, tmp_path, capsys, monkeypatch):
    require_module("sklearn")
    monkeypatch.setitem(sys.modules, "llvmlite", None)  # import llvmlite raises ImportError
    monkeypatch.setitem(sys.modules, "llvmlite.binding", None)
    out = run(demo("digits"), tmp_path, capsys)
    assert "the native column needs the extra: pip install 'micrograd-notes[native]'" in out
    assert "compiled took the eager steps, bit for bit" in out and "native took" not in out
    assert [row[0] for row in markdown_rows(tmp_path / "digits.md")] == ["eager", "compiled"]


def test_spiral_adam_trains_three_classes_and_draws_the_regions(demo, tmp_path, capsys):
    out = run(demo("spiral_adam"), tmp_path, capsys)
    assert "371 parameters" in out  # 2·16+16 + 16·16+16 + 16·3+3
    assert "60 spiral points in 3 classes" in out
    for name in ("Adam", "SGD"):
        epochs = re.findall(rf"^{name} +epoch +(\d+) +loss (\S+) +accuracy (\S+)%", out,
                            re.MULTILINE)
        assert [int(e) for e, _, _ in epochs] == [1, 2, 3]
        assert float(epochs[-1][1]) < float(epochs[0][1])
        final = re.search(rf"^{name} \(lr [0-9.]+\):.* final accuracy ([0-9.]+)% \((\d+)/60\)",
                          out, re.MULTILINE)
        assert final and float(final[1]) == float(epochs[-1][2])
        assert round(int(final[2]) / 60 * 100, 1) == float(final[1]) > 100 / 3  # beats chance
    assert_png(tmp_path / "spiral_adam.png")


# ---- render_graph --------------------------------------------------------------------------


def _svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t for t in root.itertext())


def test_render_graph_writes_svg_and_png(demo, tmp_path, capsys):
    require_dot()
    out = run(demo("render_graph"), tmp_path, capsys)
    text = _svg_text(tmp_path / "net221_graph.svg")
    for label in ("w11", "w12", "w21", "w22", "b1", "b2", "w1", "w2", "x1", "x2", "a1", "z1",
                  "ŷ", "E", "tanh", "edge labels: local derivative"):
        assert label in text, label
    assert "grad -0.3242" in text and "w11=-0.3242" in out  # ∂E/∂w11 in the picture and output
    assert (tmp_path / "net221_graph.png").read_bytes()[:8] == PNG_SIGNATURE
    text = _svg_text(tmp_path / "expression.svg")
    for label in ("w·x", "tanh", "data -0.4621", "grad 0.3932", "grad -1.18"):
        assert label in text, label


def test_render_graph_without_dot_writes_dot_source_and_says_how(
        demo, tmp_path, capsys, monkeypatch):
    module = demo("render_graph")
    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    out = run(module, tmp_path, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expression.dot", "net221_graph.dot"]
    assert "apt-get install graphviz" in out
    assert '"{ w11 | data' in (tmp_path / "net221_graph.dot").read_text(encoding="utf-8")


# ---- step_through --------------------------------------------------------------------------


def test_step_through_walks_every_node_and_names_the_pdb_line(demo, tmp_path, capsys):
    out = run(demo("step_through"), tmp_path, capsys)
    steps = re.findall(r"^step (\d+): (\S+)", out, re.MULTILINE)
    assert [name for _, name in steps] == ["E", "ŷ", "z1", "a1", "z2", "a2"]
    assert "check: the walk left the same gradient as E.backward() on 18 of 18 nodes" in out
    assert "∂E/∂w11 = ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂w11" in out
    total = float(re.search(r"^∂E/∂w11 = .* = (\S+)$", out, re.MULTILINE)[1])
    from micrograd.nn import Net221

    expected = net221_gradients(Net221("tanh").state_dict(), 1.0, 0.0, 1.0, "tanh")["w11"]
    assert total == pytest.approx(expected, rel=1e-12)
    for file, text in (("engine.py", "grad_output = node.grad"), ("steps.py", "yield")):
        where = re.search(rf"b (\S+{file}):(\d+)", out)
        assert where, file
        line = Path(where[1]).read_text(encoding="utf-8").splitlines()[int(where[2]) - 1]
        assert text in line, (file, line)


# ---- backprop_page -------------------------------------------------------------------------


def test_backprop_page_writes_the_page_and_a_screenshot_of_it(browser, tmp_path):
    """Run as a user runs it (its own playwright, beside the session's browser)."""
    require_dot()
    done = subprocess.run([sys.executable, str(DEMOS / "backprop_page.py"), "--quick", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "backprop_page.html#step=4 opens step 4" in done.stdout
    page = (tmp_path / "backprop_page.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and '"name":"w11"' in page
    data = (tmp_path / "backprop_page.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 800)  # one screen


def test_backprop_page_without_a_browser_writes_the_page_and_says_how(
        demo, tmp_path, capsys, monkeypatch):
    require_dot()
    module = demo("backprop_page")
    monkeypatch.setattr(module.demo_common, "chromium_path", lambda: None)
    out = run(module, tmp_path, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backprop_page.html"]
    assert "no screenshot" in out and "apt-get install chromium" in out


# ---- training_page -------------------------------------------------------------------------


def test_training_page_writes_the_main_jobs_page_and_its_screenshot(browser, tmp_path):
    require_dot()
    done = subprocess.run([sys.executable, str(DEMOS / "training_page.py"), "--quick", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "gradient below tolerance" in done.stdout
    page = (tmp_path / "training_page.html").read_text(encoding="utf-8")
    assert 'id="training-data"' in page and (tmp_path / "training_page.html").stat().st_size <= 1e6
    for png in ("training_page.png", "training_page_quiz.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- gpt -------------------------------------------------------------------------------------


def test_gpt_trains_a_few_steps_and_samples_names(demo, tmp_path, capsys):
    out = run(demo("gpt"), tmp_path, capsys, "--eager")
    assert "32033 names, vocabulary 27" in out and "4192 parameters; 10 steps, eager" in out
    losses = [float(m) for m in re.findall(r"\| loss (\d+\.\d+)", out)]
    assert len(losses) == 10 and 3.0 < losses[0] < 3.6  # about ln 27 = 3.30 at the start
    samples = re.findall(r"sample +\d+: (\w*)", out)
    assert len(samples) == 5 and all(s.isalpha() or s == "" for s in samples)


def test_gpt_writes_its_page_and_a_screenshot_of_it(browser, tmp_path):
    """As a user runs it (a subprocess: the screenshot drives its own Chromium)."""
    done = subprocess.run([sys.executable, str(DEMOS / "gpt.py"), "--quick", "--eager", "--page",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "gpt_page.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '"steps":10' in page
    assert "gpt_page.png (the last step)" in done.stdout
    assert (tmp_path / "gpt_page.png").read_bytes()[:8] == PNG_SIGNATURE
