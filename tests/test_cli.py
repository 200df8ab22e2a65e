"""The command line: the main job, each subcommand, and bad arguments (exit 2, one line)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from micrograd.__main__ import main
from micrograd.nn import Net221


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m micrograd ARGS` in a fresh process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "micrograd", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_main_job_trains_xor_and_draws_the_graph(dot: str, tmp_path: Path) -> None:
    start = time.perf_counter()
    done = run_cli(cwd=tmp_path)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert elapsed < 30
    out = done.stdout
    assert "4/4 right" in out
    assert "gradient below tolerance" in out
    for name in Net221.NAMES:  # the nine parameters, before and after
        assert len(re.findall(rf"^  {name} +=", out, re.M)) == 2
    predictions = re.findall(r"y = ([01])  ŷ = (-?[0-9.]+)", out)
    assert len(predictions) == 4
    assert all(abs(float(y_hat) - float(y)) < 0.1 for y, y_hat in predictions)
    svg = ET.parse(tmp_path / "net221.svg").getroot()
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for name in ("w11", "w12", "b1", "w1", "w2", "a1", "z1", "ŷ", "E"):
        assert re.search(rf"(^| ){re.escape(name)}( |$)", text), name
    # the training page beside the drawing: the run, opening at epoch 0, sample 0, step 0
    assert "training page written to net221.html: open it in a browser" in out
    page = (tmp_path / "net221.html").read_text(encoding="utf-8")
    assert 'id="training-data"' in page and '"w11"' in page and "tanh" in page
    assert (tmp_path / "net221.html").stat().st_size <= 1_000_000


def test_main_job_checks_the_page_path_before_any_work(
        dot: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "g.html").mkdir()  # where the page beside g.svg would go
    with pytest.raises(SystemExit) as caught:
        main(["--out", str(tmp_path / "g.svg")])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and repr(str(tmp_path / "g.html")) in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.html"]


def test_main_job_without_dot_writes_dot_source_and_a_hint(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python, but no `dot`
    done = run_cli(cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "apt-get install graphviz" in done.stdout
    source = (tmp_path / "net221.dot").read_text(encoding="utf-8")
    assert source.startswith("digraph") and "w11" in source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net221.dot"]  # no .svg, no .html


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--epochs", "x"],
        ["train", "--lr", "-1"],
        ["train", "--dataset", "mnist"],
        ["train", "--hidden", "16,,2"],
        ["train", "--activation", "nope"],
        ["descend", "--function", "rosenbrock", "--w0", "1"],
        ["graph", "--out", "graph.xyz"],
        ["train", "--load", "missing.json"],
        ["train", "--dataset", "spiral", "--loss", "hinge"],
        ["train", "--model", "net221", "--loss", "cross_entropy"],
        ["train", "--optimizer", "rmsprop"],
        ["train", "--loss", "softmax"],
        ["train", "--dataset", "spiral", "--n", "1"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str]) -> None:
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0], done.stderr


def test_bad_model_file_is_rejected_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    done = run_cli("train", "--load", "bad.json", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.json" in done.stderr and "Traceback" not in done.stderr


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for args in ([], ["train"], ["descend"], ["graph"], ["explain"]):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--help"])
        assert exit_.value.code == 0
        assert "usage: micrograd" in capsys.readouterr().out


def test_descend_converges_for_a_small_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["descend", "--lr", "0.1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "gradient below tolerance" in last
    w = float(re.search(r"w = ([0-9.]+)", last).group(1))
    assert w == pytest.approx(3.0, abs=1e-8)


def test_descend_diverges_for_a_large_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["descend", "--lr", "1.5"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("stopped after")
    assert "diverged" in out and "gradient below tolerance" not in out


def test_train_saves_and_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "net.json"
    assert main(["train", "--epochs", "3000", "--save", str(saved)]) == 0
    assert "training accuracy 4/4" in capsys.readouterr().out
    state = json.loads(saved.read_text(encoding="utf-8"))
    assert "w11" in json.dumps(state)
    assert main(["train", "--epochs", "1", "--load", str(saved)]) == 0
    assert "training accuracy 4/4" in capsys.readouterr().out


def test_train_mlp_on_moons_full_batch(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["train", "--dataset", "moons", "--model", "mlp", "--hidden", "8,8", "--batch",
            "--epochs", "60", "--lr", "0.5", "--seed", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"training accuracy \d+/100 \(([0-9.]+)%\)", out).group(1))
    assert accuracy >= 80.0


def test_train_spiral_with_adam_and_cross_entropy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", "spiral", "--optimizer", "adam",
                 "--loss", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mlp (relu) on spiral (300 samples), loss cross-entropy, adam lr 0.01, "
                          "per sample")
    assert "stopped after 50 epochs: epoch cap reached" in out
    right = re.search(r"training accuracy (\d+)/300 \(([0-9.]+)%\)", out)
    assert right and float(right[2]) >= 95.0 and int(right[1]) / 3 == pytest.approx(
        float(right[2]), abs=0.05)


def test_train_maps_the_targets_to_the_loss(capsys: pytest.CaptureFixture[str]) -> None:
    """xor with hinge (±1 targets) and moons with cross-entropy (two classes, two outputs)."""
    assert main(["train", "--loss", "hinge", "--epochs", "2000"]) == 0
    assert "training accuracy 4/4 (100.0%)" in capsys.readouterr().out
    assert main(["train", "--dataset", "moons", "--loss", "cross_entropy", "--optimizer", "adamw",
                 "--hidden", "8", "--epochs", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mlp (relu) on moons (100 samples), loss cross-entropy, adamw lr 0.01")
    right = re.search(r"training accuracy (\d+)/100", out)
    assert right and int(right[1]) >= 90


def test_explain_prints_nine_derivations_that_match_backward(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "--x1", "0.5", "--x2", "-1", "--y", "0"]) == 0
    out = capsys.readouterr().out
    for name in Net221.NAMES:
        assert f"∂E/∂{name} = " in out
    assert "∂E/∂w11 = ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂w11" in out
    assert "largest difference 0.0e+00" in out


def test_graph_renders_the_requested_format(dot: str, tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    assert main(["graph", "--out", str(out), "--local-grads"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    dot = tmp_path / "g.dot"
    assert main(["graph", "--out", str(dot)]) == 0
    assert "w11" in dot.read_text(encoding="utf-8")
    page = tmp_path / "g.html"
    assert main(["graph", "--out", str(page), "--activation", "sigmoid"]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '"op":"sigmoid"' in text


def test_console_script_is_installed() -> None:
    """`pip install .` puts a `micrograd` command next to the interpreter."""
    script = Path(sys.executable).parent / "micrograd"
    if not script.exists():
        pytest.skip("the package is not installed in this environment (run pip install .)")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "usage: micrograd" in done.stdout
