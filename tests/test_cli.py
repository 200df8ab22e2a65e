"""The command line: the main job, each subcommand, and bad arguments (exit 2, one line)."""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from micrograd.__main__ import build_parser, main
from micrograd._numbers import short
from micrograd.engine import Value
from micrograd.losses import half_squared_error
from micrograd.nn import Net221
from micrograd.trace import check
from micrograd.walk import walk

DOCS = Path(__file__).resolve().parent.parent / "docs"


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
    # "with its gradients:" is followed by them: ∂E/∂p of each of the nine, then the files
    said = out.split("with its gradients there:\n", 1)[1].splitlines()
    grads = [re.fullmatch(rf"  ∂E/∂{name} *= ([-+][0-9.e+-]+)", line)
             for name, line in zip(Net221.NAMES, said)]
    assert all(grads), said[:10]
    start = Net221("tanh")  # the drawing's parameters: before training
    half_squared_error(start(1.0, 0.0), 1.0).backward()
    assert [float(g[1]) for g in grads if g] == [float(f"{p.grad:.4g}")
                                                 for p in start.parameters()]
    assert said[9].startswith("graph written to ")
    svg = ET.parse(tmp_path / "net221.svg").getroot()
    texts = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    text = " ".join(texts)
    for name in ("w11", "w12", "b1", "w1", "w2", "a1", "z1", "ŷ", "E"):
        assert re.search(rf"(^| ){re.escape(name)}( |$)", text), name
    # the drawing is of the start: the random parameters and their real gradients (after
    # training they are all about 1e-7), as the README's picture shows it
    start = Net221("tanh")
    half_squared_error(start(1.0, 0.0), 1.0).backward()
    for p in (start.w11, start.w1, start.b):
        assert f"data {short(p.data)}" in texts and f"grad {short(p.grad)}" in texts
        assert abs(p.grad) > 1e-3
    picture = ET.parse(DOCS / "net221_graph.svg").getroot()
    assert texts == [t.text or "" for t in picture.iter("{http://www.w3.org/2000/svg}text")]
    assert "at the parameters before training" in out
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
    assert out.startswith("MLP 2-16-16-3 (relu) on spiral (300 samples), loss cross_entropy, "
                          "adam lr 0.01, per sample")
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
    assert out.startswith("MLP 2-8-2 (relu) on moons (100 samples), loss cross_entropy, "
                          "adamw lr 0.01")
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


def test_explain_takes_each_total_as_a_number_not_from_the_text(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI checks derivation(...).total against backward(); it never parses the text."""
    import micrograd.__main__ as cli
    from micrograd.trace import Derivation, derivation

    def reworded(root: Value, wrt: Value) -> Derivation:
        found = derivation(root, wrt)
        return Derivation(f"{found.text} (as the notes write it)", found.total)

    monkeypatch.setattr(cli, "derivation", reworded)
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert out.count("(as the notes write it)") == 9 and "largest difference 0.0e+00" in out
    monkeypatch.setattr(cli, "derivation", lambda root, wrt: Derivation("∂E/∂p = 0", 0.5))
    assert main(["explain"]) == 1  # totals that are not backward()'s fail the check
    assert "largest difference" in capsys.readouterr().out


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


# ---- a thin command line (issue 16) and the papercuts of a new user (issue 20) ------------


def test_argument_types_are_plain() -> None:
    """float, int, str or a comma-separated list of them: the library checks the values."""
    parser = build_parser()
    parsers = [parser, *next(a for a in parser._actions if a.choices and "train" in a.choices)
               .choices.values()]
    types = {action.type for p in parsers for action in p._actions}
    names = {getattr(t, "__name__", "") for t in types - {None, int, float, str}}
    assert names == {"comma-separated int", "comma-separated float"}


def test_the_demos_import_nothing_from_the_command_line() -> None:
    demos = Path(__file__).resolve().parent.parent / "demos"
    for path in demos.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "micrograd.__main__", path.name
            elif isinstance(node, ast.Import):
                assert "micrograd.__main__" not in [a.name for a in node.names], path.name


@pytest.mark.parametrize("args, start", [
    (["descend", "--function", "rosenbrock", "--w0", "-1,1"], "w0 = [-1.0, 1.0]"),
    (["descend", "--function", "rosenbrock", "--w0=-1,1"], "w0 = [-1.0, 1.0]"),
    (["descend", "--function", "rosenbrock", "--w0", "-.5,-2e-1"], "w0 = [-0.5, -0.2]"),
    (["descend", "--w0", "-1.5"], "w0 = -1.5"),
    (["descend", "--w0", "-1e1"], "w0 = -10.0"),
])
def test_descend_takes_a_start_that_begins_with_a_minus(
        args: list[str], start: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args, "--max-steps", "3"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert f", {start}, lr = " in first


def test_check_marks_a_hand_derivation_of_the_main_jobs_sample(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = Net221("tanh")  # the main job's sample: x = (1, 0), y = 1, its initial parameters
    loss = half_squared_error(net(1.0, 0.0), 1.0)
    loss.backward()
    grads = {name: node.grad for node, name in walk(loss).names.items()}
    answers = tmp_path / "answers.json"
    right = {name: grads[name] for name in ("ŷ", "z1", "a1", "w11")}
    answers.write_text(json.dumps(right, ensure_ascii=False), encoding="utf-8")
    assert main(["check", "--answers", str(answers)]) == 0
    out = capsys.readouterr().out
    assert out == str(check(loss, right)) + "\n" and "All right" in out
    answers.write_text(json.dumps({**right, "ŷ": -grads["ŷ"]}), encoding="utf-8")
    assert main(["check", "--answers", str(answers)]) == 1  # the notes' sign of ∂E/∂ŷ
    out = capsys.readouterr().out
    assert "✗ ∂E/∂ŷ" in out and "A sign error" in out
    for text, said in [('{"w13": 1}', "no node named 'w13'"), ('{"w11": "x"}', "'w11' is 'x'"),
                       ("[1, 2]", "must be a JSON object of node names and your ∂E/∂node"),
                       ('{"w11": ', ": not JSON"), ("{}", ": no answers to check"),
                       ('{"ŷ": 1, "yhat": 1}', "two answers for ŷ")]:
        answers.write_text(text, encoding="utf-8")
        with pytest.raises(SystemExit) as exit_:
            main(["check", "--answers", str(answers)])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("micrograd check: error: ") and said in err and err.count("\n") == 1
    for path, said in [(tmp_path, "not a regular file (a directory)\n"),
                       (tmp_path / "missing.json", ": cannot read: No such file or directory\n")]:
        with pytest.raises(SystemExit) as exit_:
            main(["check", "--answers", str(path)])
        assert exit_.value.code == 2
        err = capsys.readouterr().err  # in check's own words, not Module.load's
        assert err.endswith(said) and "save()" not in err and "Errno" not in err
    answers.write_text(json.dumps({"yhat" if k == "ŷ" else k: v for k, v in right.items()}),
                       encoding="utf-8")  # an ASCII spelling of ŷ
    assert main(["check", "--answers", str(answers)]) == 0
    assert capsys.readouterr().out == str(check(loss, right)) + "\n"


def test_explain_takes_negative_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--x1", "-1e-1", "--x2", "-2", "--y", "-.5"]) == 0
    assert capsys.readouterr().out.startswith("E = ½(y − ŷ)² for x = (-0.1, -2), y = -0.5, ")


def test_descend_rosenbrock_by_default_converges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["descend", "--function", "rosenbrock"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("f(x, y) = (1 − x)² + 100·(y − x²)², w0 = [-1.0, 1.0], lr = 0.0014, "
                        "tol = 1e-08")
    last = re.fullmatch(r"stopped after (\d+) steps: gradient below tolerance; "
                        r"w = \(([0-9.]+), ([0-9.]+)\), f\(w\) = (\S+)", lines[-1])
    assert last, lines[-1]
    assert 30_000 < int(last[1]) < 50_000
    assert float(last[2]) == pytest.approx(1.0, abs=1e-6) and float(last[4]) < 1e-15
    printed = [float(re.search(r"f\(w\) = (\S+)", line)[1]) for line in lines[1:-1]]
    assert printed[0] == 4.0 and all(b < a for a, b in itertools.pairwise(printed))


def test_load_of_another_model_names_the_options_that_load_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = str(tmp_path / "m.json")
    assert main(["train", "--dataset", "moons", "--model", "mlp", "--epochs", "1",
                 "--save", saved]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        main(["train", "--dataset", "moons", "--model", "net221", "--load", saved])
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        f"micrograd train: error: {saved}: holds a 'MLP', not a 'Net221'; it loads with "
        "--model mlp --hidden 16,16 --activation relu\n")
    assert main(["train", "--dataset", "moons", "--load", saved, "--model", "mlp",
                 "--hidden", "16,16", "--activation", "relu", "--epochs", "1"]) == 0
    assert capsys.readouterr().out.startswith(
        "MLP 2-16-16-1 (relu) on moons (100 samples), loss hinge, sgd lr 0.1, per sample\n")
    spiral = str(tmp_path / "s.json")
    assert main(["train", "--dataset", "spiral", "--hidden", "4", "--activation", "tanh",
                 "--epochs", "1", "--save", spiral]) == 0
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "spiral", "--load", spiral])
    assert capsys.readouterr().err.endswith(
        "does not match this model's {'nin': 2, 'nouts': [16, 16, 3], 'activation': 'relu', "
        "'activation_params': {}}; it loads with --model mlp --hidden 4 --loss cross_entropy "
        "(3 classes) --activation tanh\n")


def test_train_says_which_model_runs_and_counts_its_epochs(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", "moons", "--epochs", "1"]) == 0  # each data set's model
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("MLP 2-16-16-1 (relu) on moons (100 samples), loss hinge, sgd lr 0.1, "
                      "per sample")
    assert out[-2] == "stopped after 1 epoch: epoch cap reached"
    assert main(["--seed", "3", "train", "--dataset", "and", "--epochs", "1"]) == 0
    seeded = capsys.readouterr().out
    assert seeded.startswith("Net221 2-2-1 (tanh) on and (4 samples)")
    assert main(["train", "--dataset", "and", "--epochs", "1", "--seed", "3"]) == 0
    assert capsys.readouterr().out == seeded  # the seed before the command is the command's
    assert main(["train", "--dataset", "and", "--epochs", "1"]) == 0
    assert capsys.readouterr().out != seeded
    assert main(["train", "--dataset", "circles", "--model", "mlp", "--hidden", "3,5",
                 "--activation", "sigmoid", "--epochs", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("MLP 2-3-5-1 (sigmoid) on circles (100 samples), loss hinge")
    assert out[-2] == "stopped after 2 epochs: epoch cap reached"
    assert main(["descend", "--max-steps", "1"]) == 0
    assert "stopped after 1 step: step cap reached" in capsys.readouterr().out


def test_the_help_lists_every_output_format(capsys: pytest.CaptureFixture[str]) -> None:
    from micrograd.graph import FORMATS

    for args in ([], ["graph"]):
        with pytest.raises(SystemExit):
            main([*args, "--help"])
        out = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
        assert " ".join(FORMATS) in out, (args, out)  # derived from graph.FORMATS
