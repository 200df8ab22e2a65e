"""Hostile input, class by class (issue 13): each reproducer, and variations of its class."""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Quadratic
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd
from micrograd import Value, data, losses, nn, ops, reference
from micrograd.__main__ import main
from micrograd._numbers import preview
from micrograd.engine import apply
from micrograd.graph import LABEL_LIMIT, GraphvizFailed, draw_dot, render
from micrograd.losses import half_squared_error
from micrograd.nn import FORMAT, MAX_FILE_BYTES, MLP, Module, Net221
from micrograd.optim import SGD, Adam, AdamW, Optimizer
from micrograd.trace import explain, node_names
from micrograd.train import StopReason, gradient_descent, train

SVG = "{http://www.w3.org/2000/svg}"

# ---- 1. train() and a non-finite gradient, wherever it is ---------------------------------

training = importlib.import_module("micrograd.train")  # the module: micrograd.train is the function


class Reproducer(Module):
    """The issue's model: ∂E/∂p is NaN (inf·0) while the loss stays finite."""

    def __init__(self, order: str = "pq") -> None:
        self.p, self.q = Value(0.0), Value(1.0)
        self.order = order

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(name, getattr(self, name)) for name in self.order]

    def __call__(self, x: Any) -> Value:
        return self.p ** 0.5 * 0.0 + self.q * x


@pytest.mark.parametrize("optimizer", [None, "adam"])  # the notes' update, or an optimiser's
@pytest.mark.parametrize("order", ["pq", "qp"])
@pytest.mark.parametrize("per_sample", [True, False])
def test_issue_reproducer_nan_gradient_is_diverged(order: str, per_sample: bool,
                                                   optimizer: str | None) -> None:
    m = Reproducer(order)
    h = train(m, [((1.0,), 1.0)], per_sample=per_sample, optimizer=optimizer)
    assert h.reason is StopReason.DIVERGED and not h.converged
    assert math.isnan(h.max_grad) and math.isnan(m.p.data)
    assert h.epochs == 1


class Planted(Module):
    """n parameters; the one at index `bad` gets a NaN (or inf) gradient on samples with flag 0.

    ŷ = Σ_i q_i·x, plus (p·flag)^0.5·c for the bad parameter p (data 1.0): at flag 1 its
    gradient is 0.5·c (0 for c = 0), at flag 0 it is ∞·c: NaN for c = 0, inf for c = 1.
    """

    def __init__(self, n: int, bad: int, c: float) -> None:
        self.ps = [Value(1.0 if i == bad else 0.1 * (i + 1)) for i in range(n)]
        self.bad, self.c = bad, c

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"p{i}", p) for i, p in enumerate(self.ps)]

    def __call__(self, x: float, flag: float) -> Value:
        terms = [(p * flag) ** 0.5 * self.c if i == self.bad else p * x
                 for i, p in enumerate(self.ps)]
        return Value.sum(terms)


@pytest.mark.parametrize("n, bad", [(2, 0), (3, 0), (3, 1), (3, 2), (9, 4)])
@pytest.mark.parametrize("bad_sample", [0, 1, 3])
@pytest.mark.parametrize("c", [0.0, 1.0])  # a NaN or an infinite gradient
@pytest.mark.parametrize("optimizer", [None, "adam"])
def test_a_non_finite_gradient_ends_the_run_as_diverged_in_any_position(
        n: int, bad: int, bad_sample: int, c: float, optimizer: str | None) -> None:
    data = [((0.5 * k, 0.0 if k == bad_sample else 1.0), 0.0) for k in range(4)]
    model = Planted(n, bad, c)
    assert math.isfinite(model(*data[bad_sample][0]).data)  # the loss itself stays finite
    h = train(model, data, lr=0.01, epochs=50, tol=1e30,  # tol: a finite max would converge
              optimizer=optimizer)
    assert h.reason is StopReason.DIVERGED and h.epochs == 1
    assert not math.isfinite(h.max_grad)  # inf, or NaN: an inf step makes later grads NaN
    if c == 0.0:
        assert math.isnan(h.max_grad)


def test_finite_gradients_still_converge() -> None:
    h = train(Planted(3, 1, 0.0), [((0.5, 1.0), 0.0)], lr=0.1, epochs=2000, tol=1e-6)
    assert h.reason is StopReason.CONVERGED and h.max_grad < 1e-6


# ---- per-sample train() checks every sample before its first update -----------------------


@pytest.mark.parametrize("bad, error", [
    (((1.0, "a"), 1.0), TypeError),   # a string input
    (((1.0, 0.0, 2.0), 1.0), TypeError),  # too many inputs
    (((1.0,), 1.0), TypeError),  # too few
    (((1.0, 0.0), None), TypeError),  # no target
    (((1.0, 0.0), "1"), TypeError),  # a string target
    (((1.0, 0.0), 1.0 + 2j), TypeError),  # a complex target
    (((None, 0.0), 1.0), TypeError),
])
@pytest.mark.parametrize("model", [lambda: Net221("tanh"), lambda: MLP(2, [3, 1], "tanh")])
def test_a_malformed_sample_raises_before_any_update(
        bad: Any, error: type[Exception], model: Callable[[], Module]) -> None:
    net = model()
    before = net.state_dict()
    data = [((1.0, 0.0), 1.0), ((0.0, 1.0), 1.0), ((1.0, 1.0), 0.0), bad]
    with pytest.raises(error) as caught:
        train(net, data, epochs=5)
    assert net.state_dict() == before
    if hasattr(caught.value, "__notes__"):  # Python 3.11+: which sample
        assert "data[3]" in " ".join(caught.value.__notes__)


def test_a_loss_that_is_not_a_value_raises_before_any_update() -> None:
    net = Net221("tanh")
    before = net.state_dict()
    with pytest.raises(TypeError, match=r"loss must return a Value, got float(.|\n)*data\[0\]"):
        train(net, [((1.0, 0.0), 1.0)], loss=lambda y_hat, y: 0.5)
    assert net.state_dict() == before


# ---- 3. Module.load: only regular files, at most MAX_FILE_BYTES, refused before reading ----


def test_max_file_bytes_is_64_mib() -> None:
    assert MAX_FILE_BYTES == 64 * 2**20


def load_error(path: str | Path) -> str:
    net = Net221()
    before = net.state_dict()
    with pytest.raises(ValueError) as caught:
        net.load(path)
    assert net.state_dict() == before
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    result: list[BaseException | None] = []

    def load() -> None:
        try:
            Net221().load(fifo)
            result.append(None)
        except BaseException as err:  # handed to the test thread
            result.append(err)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # blocked in open(): release it, then fail
        with open(fifo, "wb"):
            pass
        thread.join(10)
        pytest.fail("Module.load waited on a FIFO")
    assert isinstance(result[0], ValueError) and "not a regular file (a FIFO)" in str(result[0])


@pytest.mark.parametrize("special, kind", [
    ("/dev/zero", "a character device"),
    ("/dev/null", "a character device"),
    ("/dev/urandom", "a character device"),
    ("/", "a directory"),
])
def test_special_files_are_refused(special: str, kind: str) -> None:
    if not os.path.exists(special):
        pytest.skip(f"{special} does not exist here")
    assert f"not a regular file ({kind})" in load_error(special)


def test_a_directory_a_socket_and_symlinks_to_them_are_refused(tmp_path: Path) -> None:
    assert "(a directory)" in load_error(tmp_path)
    (tmp_path / "link").symlink_to(tmp_path)
    assert "(a directory)" in load_error(tmp_path / "link")
    if os.path.exists("/dev/zero"):
        (tmp_path / "zero.json").symlink_to("/dev/zero")
        assert "(a character device)" in load_error(tmp_path / "zero.json")
    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert "(a socket)" in load_error(sock_path)


@pytest.mark.parametrize("size", [MAX_FILE_BYTES + 1, 2**30, 2**40])
def test_files_over_the_bound_are_refused_before_reading(tmp_path: Path, size: int) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(size)  # sparse: no disk used, and reading it would take the whole size
    message = load_error(big)
    assert f"{size:,} bytes, over the limit of {nn.MAX_FILE_BYTES:,}" in message


def test_the_bound_is_inclusive_and_save_refuses_to_write_more(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = Net221()
    path = tmp_path / "net.json"
    net.save(path)
    size = path.stat().st_size
    monkeypatch.setattr("micrograd.nn.MAX_FILE_BYTES", size)
    net.load(path)  # exactly at the bound: read
    monkeypatch.setattr("micrograd.nn.MAX_FILE_BYTES", size - 1)
    assert "bytes, over the limit of" in load_error(path)
    with pytest.raises(ValueError, match=r"cannot save.*over MAX_FILE_BYTES"):
        net.save(tmp_path / "other.json")
    assert not (tmp_path / "other.json").exists()


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "dir", "big"])
def test_cli_load_of_a_special_or_huge_file_exits_2_with_one_line(
        tmp_path: Path, target: str) -> None:
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
    elif target == "dir":
        (tmp_path / "dir").mkdir()
    elif target == "big":
        with open(tmp_path / "big", "wb") as f:
            f.truncate(MAX_FILE_BYTES + 1)
    done = subprocess.run([sys.executable, "-m", "micrograd", "train", "--load", target],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and target in lines[0], done.stderr


# ---- 4. load errors quote file content cut short -------------------------------------------

HUGE = 5_000_000


def header(**fields: Any) -> dict[str, Any]:
    net = Net221()
    document = {"format": FORMAT, "version": 1, "kind": "Net221", "config": net.config(),
                "parameters": net.state_dict()}
    document.update(fields)
    return document


@pytest.mark.parametrize("document, words", [
    ({"format": "f" * HUGE}, "format is 'fff"),
    ({"format": ["x" * 1000] * 5000}, "format is [ 'xxx"),
    (header(version="9" * HUGE), "unsupported format version"),
    (header(version=[1] * 1_000_000), "unsupported format version"),
    (header(kind="k" * HUGE), "holds a 'kkk"),
    (header(config={"activation": "t" * HUGE}), "config {'activation': 'ttt"),
    (header(config={f"key{i}": i for i in range(100_000)}), "config {'key0': 0"),
    (header(parameters={"w" * HUGE: 1.0}), "unexpected parameters: www"),
    (header(parameters={**Net221().state_dict(), "w11": "v" * HUGE}), "'w11' is not a number"),
    (header(parameters={**Net221().state_dict(), "w11": [0.5] * 1_000_000}), "is not a number"),
    ({**header(), **{"e" * HUGE: 1}}, "unexpected keys ['eee"),
])
def test_load_errors_quote_at_most_a_few_hundred_characters(
        tmp_path: Path, document: dict[str, Any], words: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    message = load_error(path)
    assert words.replace(" ", "") in message.replace(" ", "")
    assert len(message) < len(str(path)) + 400, message[:500]


@pytest.mark.parametrize("text, words", [
    ('{"a": 1, "a": 2}'.replace('"a"', '"' + "a" * HUGE + '"'), "duplicate key 'aaa"),
    ('{"version": ' + "9" * 10_000 + "}", "an integer of 10,000 digits"),
    ('{"format": "\\ud800\\u0000' + "z" * HUGE + '"}', "format is '\\ud800\\x00zzz"),
])
def test_parse_errors_are_short_too(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    message = load_error(path)
    assert words in message and len(message) < len(str(path)) + 400


def test_load_state_dict_messages_are_short() -> None:
    net = Net221()
    for state in ({**net.state_dict(), "w11": 10**5000}, {**net.state_dict(), "x" * HUGE: 1.0},
                  {name: "y" * HUGE for name in Net221.NAMES}):
        with pytest.raises(ValueError) as caught:
            net.load_state_dict(state)
        assert len(str(caught.value)) < 400


# ---- 8. drawings of long and odd labels ------------------------------------------------------

ODD_LABELS = [
    "x" * 16_385, "y" * 100_000, "a\x00b", "\x00" * 20_000, "\ud800", "lone \udfff surrogate",
    "\ud800" * 3000, "&#0;", "&#xD800;", "a&amp;b", "&" * 3000, "\x1b[31mred\x07", "\x7f\x85",
    "\ufffe\uffff", "{|}<>\"'", "\\" * 20_000, "\\N \\G \\l \\n", "line\nbreak\rand\ttab",
    "é ✓ 𝔸 ŷ", "",
]


def odd_graph(label: str) -> Value:
    x = Value(1.5, label=label)
    y = (x * Value(-2.0, label=label[::-1])).tanh()
    y.label = label[: len(label) // 2]
    return y


def drawn_texts(svg: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(svg).iter(f"{SVG}text")]


@pytest.mark.parametrize("label", ODD_LABELS, ids=range(len(ODD_LABELS)))
def test_odd_labels_give_dot_source_that_dot_reads(label: str, dot: str, tmp_path: Path) -> None:
    root = odd_graph(label)
    source = render(root, tmp_path / "g.dot", show_local_grads=True)
    text = source.read_text(encoding="utf-8")  # UTF-8, no lone surrogate
    assert "\x00" not in text
    done = subprocess.run([dot, "-Tsvg", str(source)], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stderr == b"", done.stderr[:300]
    svg = render(root, tmp_path / "g.svg", show_local_grads=True)
    texts = drawn_texts(svg)  # well-formed XML
    assert max(map(len, texts)) <= LABEL_LIMIT
    expected = label.replace("\n", " ").replace("\r", " ")
    if expected.isprintable() and 0 < len(expected) <= LABEL_LIMIT:  # drawn literally: & \ { } < >
        # (dot drops a record's spaces next to non-ASCII letters: "é ✓" is drawn "é✓")
        assert expected.replace(" ", "") in [t.replace(" ", "") for t in texts]
    for text in texts:
        assert not any(c in text for c in "\x00\x07\x1b\ufffe\uffff")
    render(root, tmp_path / "g.png")


def test_long_labels_are_cut_with_an_ellipsis(dot: str, tmp_path: Path) -> None:
    texts = drawn_texts(render(odd_graph("z" * 50_000), tmp_path / "g.svg"))
    assert "z" * (LABEL_LIMIT - 1) + "…" in texts
    assert "z" * LABEL_LIMIT not in " ".join(texts)


def test_odd_characters_are_drawn_as_their_escapes(dot: str, tmp_path: Path) -> None:
    texts = drawn_texts(render(odd_graph("a\x00b\ud800c\x1bd"), tmp_path / "g.svg"))
    assert "a\\x00b\\ud800c\\x1bd" in texts


def test_a_long_odd_op_symbol_is_drawn(dot: str, tmp_path: Path) -> None:
    from micrograd import ops

    name = "hostile_symbol_op"
    ops.register(name, lambda x: 2.0 * x, lambda x, out: 2.0, symbol="≈" * 20_000 + "&#0;")
    try:
        y = apply(name, Value(1.0, label="x"))
        texts = drawn_texts(render(y, tmp_path / "g.svg"))
        assert "≈" * (LABEL_LIMIT - 1) + "…" in texts
        assert len(draw_dot(y).source) < 5 * LABEL_LIMIT
    finally:
        ops.unregister(name)


def test_dot_failures_never_reach_the_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\ncat > /dev/null\n"
                    "for i in $(seq 1 200); do echo \"Error: line $i of a long complaint\" >&2; "
                    "done\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    capfd.readouterr()
    with pytest.raises(GraphvizFailed) as caught:
        render(odd_graph("x"), tmp_path / "g.svg")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    message = str(caught.value)
    assert "Error: line 1 of a long complaint" in message and "line 200" not in message
    assert len(message) < 500 and "\n" not in message
    assert not (tmp_path / "g.svg").exists()


# ---- 9. the command line: bad paths and numbers found before any work, exit 2, one line ------


def cli_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run main(args); it must exit 2 before printing any output, with one line on stderr."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    assert exit_.value.code == 2, captured
    assert captured.out == "", "work was done before the error"
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "error" in lines[0], captured.err
    assert ".tmp" not in lines[0]  # never the temp file's name
    return lines[0]


def unwritable_dirs() -> list[str]:
    """Directories this process cannot create files in (root included: read-only mounts)."""
    found = []
    for directory in ("/sys", "/proc"):
        if os.path.isdir(directory):
            try:
                with open(os.path.join(directory, "micrograd-probe"), "wb"):
                    pass
            except OSError:
                found.append(directory)
            else:
                os.unlink(os.path.join(directory, "micrograd-probe"))
    return found


def bad_paths(tmp_path: Path, suffix: str) -> list[str]:
    (tmp_path / "fifo").exists() or os.mkfifo(tmp_path / "fifo")
    (tmp_path / f"dir{suffix}").mkdir(exist_ok=True)
    paths = ["", str(tmp_path), f"{tmp_path}/dir{suffix}", f"{tmp_path}/missing/x{suffix}",
             f"{tmp_path}/fifo", f"{tmp_path}/dir{suffix}/", "/dev/null"]
    if sys.platform.startswith("linux"):
        paths += [f"{d}/x{suffix}" for d in unwritable_dirs()]
    if os.geteuid() != 0:  # root writes anywhere a mode says it cannot
        locked = tmp_path / "locked"
        locked.mkdir(exist_ok=True)
        locked.chmod(0o500)
        paths.append(f"{locked}/x{suffix}")
    return paths


@pytest.mark.parametrize("option", ["--save", "--load"])
def test_train_bad_paths_exit_2_before_training(
        option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path in bad_paths(tmp_path, ".json"):
        if option == "--load" and path.endswith("fifo"):
            continue  # a FIFO to --load: test_cli_load_of_a_special_or_huge_file
        line = cli_error(capsys, "train", "--epochs", "1", option, path)
        assert f"{path}" in line or f"{path!r}" in line, line


@pytest.mark.parametrize("command", [[], ["graph"]])
def test_graph_out_bad_paths_exit_2(command: list[str], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    for path in [*bad_paths(tmp_path, ".svg"), f"{tmp_path}/weird.xyz", f"{tmp_path}/noext",
                 f"{tmp_path}/x.SVG.gz", f"{tmp_path}/x.dot.bak"]:
        line = cli_error(capsys, *command, "--out", path)
        assert repr(path) in line, line
    assert [p for p in tmp_path.iterdir() if p.is_file()] == []  # nothing written


@pytest.mark.parametrize("with_dot", [True, False])
def test_an_unknown_suffix_exits_2_with_or_without_graphviz(
        with_dot: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    if not with_dot:
        monkeypatch.setenv("PATH", str(tmp_path))  # no dot there
    monkeypatch.chdir(tmp_path)
    for out in ("weird.xyz", "graph.svgz", "graph."):
        assert "unknown file suffix" in cli_error(capsys, "--out", out)
    assert list(tmp_path.iterdir()) == []


def test_a_save_path_is_named_even_when_the_write_fails_late(tmp_path: Path) -> None:
    from micrograd._files import write_atomic

    target = tmp_path / "out.json"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        write_atomic(target, b"{}")
    assert caught.value.filename == str(target) and ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_path_ending_in_a_slash_names_a_directory(tmp_path: Path) -> None:
    """open("d.svg/", "w") refuses it; so do check_writable and write_atomic (and save)."""
    from micrograd._files import check_writable, write_atomic

    target = f"{tmp_path}/d.svg/"
    with pytest.raises(IsADirectoryError):
        open(target, "w")  # what Python itself says
    for write in (check_writable, lambda path: write_atomic(path, b"x"),
                  lambda path: Net221().save(path)):
        with pytest.raises(IsADirectoryError) as caught:
            write(target)
        assert caught.value.filename == target
    assert os.listdir(tmp_path) == []


NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e309"]


@pytest.mark.parametrize("value", NON_FINITE)
def test_numeric_arguments_refuse_non_finite_numbers(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["graph", "--x1", value], ["graph", "--x2", value], ["graph", "--y", value],
                 ["explain", "--x1", value], ["explain", "--x2", value], ["explain", "--y", value],
                 ["descend", "--w0", value], ["descend", "--function", "rosenbrock", "--w0",
                                               f"1,{value}"],
                 ["descend", "--lr", value], ["descend", "--tol", value], ["train", "--lr", value],
                 ["train", "--tol", value], ["train", "--noise", value]):
        option, value_ = args[-2:]
        line = cli_error(capsys, *args[:-2], f"{option}={value_}")  # = : "-inf" is no option
        assert option in line and ("finite" in line or "positive" in line), line


@pytest.mark.parametrize("args", [
    ["descend", "--max-steps", "1000001"],
    ["descend", "--max-steps", "1" + "0" * 30],
    ["train", "--epochs", "1000001"],
    ["train", "--n", "100001"],
    ["train", "--model", "mlp", "--hidden", "16,1001"],
    ["train", "--epochs", "1e3"],
    ["train", "--seed", "1.5"],
])
def test_size_arguments_have_upper_bounds(args: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cli_error(capsys, *args)


@pytest.mark.parametrize("command", [[], ["graph"]])
def test_an_out_path_ending_in_a_slash_exits_2(command: list[str], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for out in (f"{tmp_path}/d.svg/", f"{tmp_path}/d.dot/"):
        line = cli_error(capsys, *command, "--out", out)
        assert f"--out {out!r}: cannot write there: " in line, line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf", ".html"])
def test_graph_without_graphviz_exits_2_with_the_hint_before_any_work(
        suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import micrograd.__main__ as cli

    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    monkeypatch.setattr(cli, "Net221", None)  # building the sample would fail: no work is done
    out = f"{tmp_path}/x{suffix}"
    line = cli_error(capsys, "graph", "--out", out)
    assert line == (f"micrograd graph: error: --out {out!r}: needs Graphviz's `dot` program, "
                    "not on PATH (apt-get install graphviz / brew install graphviz)")
    assert os.listdir(tmp_path) == []


def test_graph_without_graphviz_on_path_exits_2_but_writes_dot_source(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python, but no `dot`
    run = [sys.executable, "-m", "micrograd", "graph", "--out"]
    done = subprocess.run([*run, "x.svg"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    assert "apt-get install graphviz" in done.stderr and len(done.stderr.splitlines()) == 1
    done = subprocess.run([*run, "x.dot"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and (tmp_path / "x.dot").read_text().startswith("digraph")
    assert os.listdir(tmp_path) == ["x.dot"]


def test_hidden_is_bounded_by_its_parameter_count(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """40 layers of 1000 are refused at once (39,043,001 parameters) instead of MemoryError."""
    import micrograd.__main__ as cli

    line = cli_error(capsys, "train", "--model", "mlp", "--hidden", ",".join(["1000"] * 40))
    assert line.endswith("--hidden: 39,043,001 parameters; at most 1,000,000 in all "
                         "(layers × width) and 1,000 neurons a layer")
    assert "must be 1 to 1,000, got 1001" in cli_error(capsys, "train", "--hidden", "1001")
    monkeypatch.setattr(cli, "MAX_PARAMETERS", 337)  # 2-16-16-1: 3·16 + 17·16 + 17·1
    assert main(["train", "--model", "mlp", "--epochs", "1"]) == 0
    assert capsys.readouterr().out.startswith("MLP 2-16-16-1 (relu) on xor")
    monkeypatch.setattr(cli, "MAX_PARAMETERS", 336)
    assert "--hidden: 337 parameters; at most 336" in cli_error(capsys, "train", "--model", "mlp")


@pytest.mark.parametrize("args", [
    ["train", "--activation", "x" * 100_000],
    ["graph", "--activation", "x" * 100_000],
    ["train", "--dataset", "x" * 100_000],
    ["train", "--lr", "x" * 100_000],
    ["train", "--hidden", "16," + "x" * 100_000],
    ["descend", "--w0", "1," + "x" * 100_000],
    ["descend", "--function", "x" * 100_000],
    ["x" * 100_000],
])
def test_messages_quote_at_most_about_60_characters_of_input(
        args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # graph checks it can write net221.svg here
    line = cli_error(capsys, *args)
    assert "xxx" in line and max(map(len, re.findall("x+", line))) <= 60, line
    assert len(line) < 400


@pytest.mark.parametrize("args, said", [
    (["train", "--tol", "-1"], "micrograd train: error: tol must be a number >= 0, got -1.0"),
    (["train", "--lr", "0"], "micrograd train: error: lr must be a positive finite number"),
    (["train", "--optimizer", "adam", "--lr", "-2"], "lr must be a positive finite number"),
    (["descend", "--tol", "-1"], "micrograd descend: error: tol must be a number >= 0, got -1.0"),
    (["train", "--dataset", "moons", "--noise", "-1"], "moons: noise must be a finite number >= 0"),
    (["train", "--dataset", "spiral", "--n", "100001"], "n must be an int from 2 to 100,000"),
    (["train", "--model", "mlp", "--hidden", "0"], "argument --hidden: must be 1 to 1,000, got 0"),
    (["graph", "--activation", "nope"],
     "micrograd graph: error: argument --activation: invalid choice: 'nope'"),
])
def test_the_librarys_errors_are_the_one_line_before_any_output(
        args: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert said in cli_error(capsys, *args)


def test_explain_with_huge_inputs_checks_honestly(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", "--x1=1e300", "--x2=-1e300", "--y=1e300"])
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert ("largest difference 0.0e+00" in last) == (code == 0)


# ---- 11b. made-up node names never equal a label --------------------------------------------


def test_issue_reproducer_v1_label() -> None:
    x = Value(2.0, label="v1")
    y = (x * 3.0).tanh() * 2.0
    text = explain(y, x)
    assert text.startswith("∂v0/∂v1 = ∂v0/∂_v1 · ∂_v1/∂v2 · ∂v2/∂v1 = ")
    assert "∂v1/∂v1" not in text


LABELS = st.sampled_from(["", "", "", "v0", "v1", "v2", "v3", "_v1", "__v2", "x", "x#1",
                          "x#2", "_x#1", "y", "v1#2"])


@settings(max_examples=300, deadline=None)
@given(st.lists(LABELS, min_size=1, max_size=8), st.lists(st.integers(0, 7), max_size=12))
def test_node_names_are_unique_and_labels_are_kept(labels: list[str], picks: list[int]) -> None:
    nodes = [Value(float(i), label=label) for i, label in enumerate(labels)]
    for k in picks:  # interior nodes join earlier ones; some are labelled too
        a, b = nodes[k % len(nodes)], nodes[(k * 7 + 3) % len(nodes)]
        nodes.append(a + b)
        nodes[-1].label = labels[k % len(labels)] if k % 3 == 0 else ""
    order = [*dict.fromkeys(nodes)]
    names = node_names(order)
    assert len(set(names)) == len(names)
    counts = {label: [n.label for n in order].count(label) for label in labels}
    for node, name in zip(order, names):
        if node.label and counts[node.label] == 1:
            assert name == node.label
        else:
            assert name not in counts  # never a label of the graph


# ---- 12. gradient descent keeps a bounded path ----------------------------------------------


def test_a_long_run_keeps_a_sparse_path_with_first_and_last() -> None:
    result = gradient_descent(lambda w: (w - 3) ** 2 + 1, 0.0, lr=1e-7, tol=0.0,
                              max_steps=25_000)
    assert result.steps == 25_000 and result.reason is StopReason.STEP_CAP
    assert len(result.path) == len(result.path_steps)
    assert len(result.path) <= training.PATH_NUMBERS // 3 + 1
    assert result.path_steps[0] == 0 and result.path_steps[-1] == 25_000
    assert result.path[-1][0] == result.w and result.path[-1][1] == result.value
    strides = {b - a for a, b in zip(result.path_steps[:-2], result.path_steps[1:-1])}
    assert len(strides) == 1 and strides.pop() in (2, 4)  # every k-th point, k a power of 2


@pytest.mark.parametrize("numbers, w0", [(30, 0.0), (61, [0.0, 1.0]), (7, [1.0, 2.0, 3.0])])
def test_the_sparse_path_holds_exactly_the_points_of_the_full_one(
        monkeypatch: pytest.MonkeyPatch, numbers: int, w0: Any) -> None:
    def f(w: Any) -> Value:
        ws = [w] if isinstance(w, Value) else list(w)
        return Value.sum([(x - 3) ** 2 for x in ws]) + 1

    full = gradient_descent(f, w0, lr=0.001, tol=0.0, max_steps=500)
    assert full.path_steps == list(range(501))
    monkeypatch.setattr(training, "PATH_NUMBERS", numbers)
    sparse = gradient_descent(f, w0, lr=0.001, tol=0.0, max_steps=500)
    dims = 1 if isinstance(w0, float) else len(w0)
    assert len(sparse.path) <= max(2, numbers // (2 * dims + 1)) + 1
    assert sparse.path == [full.path[k] for k in sparse.path_steps]
    assert sparse.path_steps[0] == 0 and sparse.path_steps[-1] == 500
    assert (sparse.w, sparse.value, sparse.steps) == (full.w, full.value, full.steps)


def test_a_wide_w_keeps_a_path_of_bounded_size() -> None:
    result = gradient_descent(lambda w: Value.sum([x * x for x in w]), [1.0] * 500,
                              lr=1e-6, tol=0.0, max_steps=200)
    assert len(result.path) * (2 * 500 + 1) <= training.PATH_NUMBERS + 2 * (2 * 500 + 1)
    assert result.path_steps[-1] == 200


def test_cli_descend_prints_the_real_step_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["descend", "--lr", "1e-9", "--tol", "0", "--max-steps", "30000"]) == 0
    out = capsys.readouterr().out.splitlines()
    steps = [int(line.split()[1]) for line in out if line.startswith("  step")]
    assert steps[0] == 0 and steps[-1] == 30_000 and steps == sorted(steps)
    assert "stopped after 30000 steps: step cap reached" in out[-1]


# ---- also seen: separate graphs in threads are fine (one graph is not shared) -------------


def test_separate_graphs_in_threads_give_the_same_gradients() -> None:
    def grads() -> list[float]:
        net = Net221("tanh")
        for _ in range(200):
            net.zero_grad()
            half_squared_error(net(0.5, -1.0), 1.0).backward()
        return [p.grad for p in net.parameters()]

    want = grads()
    results: list[list[float]] = []
    threads = [threading.Thread(target=lambda: results.append(grads())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [want] * 4


# ==== issue 20: hostile input, round two =====================================================

HUGE_INT = 10**400  # over the float range: float(HUGE_INT) raises OverflowError


@pytest.fixture
def a_user_op() -> Any:
    """A user-registered op, so the registry-driven tests below cover the user's path too."""
    ops.register("softplus_i20", lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0),
                 lambda x, out: (1.0 / (1.0 + math.exp(-x)),))
    yield ops.get("softplus_i20")
    ops.unregister("softplus_i20")


def _operands(op: ops.Op) -> tuple[int, dict[str, float]]:
    """How many operands (3 for any number) and which params make a valid call of op."""
    return op.arity or 3, {"target": 0.0} if "target" in op.params else {}


# ---- 1. huge ints in .data: every op names itself and the operand -----------------------------


def test_issue_reproducer_huge_int_data() -> None:
    a = Value(1.0, "a")
    a.data = HUGE_INT  # type: ignore[assignment]
    for make, op in [(lambda: a * 2, "mul"), (lambda: a.tanh(), "tanh"), (lambda: a + a, "add"),
                     (lambda: a**2, "pow")]:
        with pytest.raises(ValueError) as caught:
            make()
        assert str(caught.value) == (f"{op}: operand 1: an int of {HUGE_INT.bit_length()} bits "
                                     "is out of the float range")


@pytest.mark.parametrize("huge", [HUGE_INT, -HUGE_INT], ids=["10**400", "-10**400"])
def test_every_op_names_itself_and_the_huge_operand(huge: int, a_user_op: ops.Op) -> None:
    for name in ops.names():
        op = ops.get(name)
        count, params = _operands(op)
        apply(op, *[Value(2.0) for _ in range(count)], **params)  # valid with floats
        for position in range(count):
            operands = [Value(2.0) for _ in range(count)]
            operands[position].data = huge  # type: ignore[assignment]
            with pytest.raises(ValueError) as caught:
                apply(op, *operands, **params)
            message = str(caught.value)
            assert message.startswith(f"{name}: operand {position + 1}: an int of "), message
            assert len(message) < 100


def test_ints_and_bools_in_range_still_work_and_non_numbers_name_the_op() -> None:
    a = Value(1.0)
    a.data = 2**53 + 1  # type: ignore[assignment]  # no float has it: the op gets the int
    assert (a * a).data == float((2**53 + 1) ** 2) != float(2**53 + 1) ** 2
    a.data = True  # type: ignore[assignment]
    assert (a * 2).data == 2.0
    a.data = "1"  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"^mul: operand 2 needs an int or float, got str"):
        2.0 * a
    with pytest.raises(TypeError, match=r"^add: operand 2 needs an int or float, got bool"):
        apply("add", 1, True)  # 1 == True: the position of the bool itself


@pytest.mark.parametrize("compiled", [False, True])
def test_a_compiled_graph_gives_the_eager_error_for_a_huge_int(compiled: bool) -> None:
    x, y = Value(1.0, "x"), Value(2.0, "y")
    root = (x * y).tanh() + y
    graph = micrograd.compile(root)
    x.data = HUGE_INT  # type: ignore[assignment]
    with pytest.raises(ValueError) as caught:
        graph() if compiled else (x * y).tanh() + y
    assert str(caught.value).startswith("mul: operand 1: an int of 1329 bits")


# ---- 2 and 3. huge inputs and huge ints are quoted short in every message ---------------------

TEN_MB = "x" * 10_000_000
BIG = -(10**5000)  # str() of it raises "Exceeds the limit (4300 digits)"; negative: no work done


def _x() -> Value:
    return Value(1.0, "x")


class SavesAName(Module):
    """A model whose one parameter has the given name and a non-finite value (save refuses)."""

    def __init__(self, name: str) -> None:
        self.name, self.p = name, Value(math.inf)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(self.name, self.p)]


# the words the message must hold (one of "a | b") -> the call with the bad argument;
# a sample of each kind of call site
QUOTED: dict[str, Callable[[Any], Any]] = {
    "hinge: target 0": lambda bad: losses.hinge(Value(1.0), bad),
    "mse: target 0": lambda bad: losses.mse([Value(1.0)], [bad]),
    "bce_with_logits: target 0": lambda bad: losses.bce_with_logits(Value(1.0), bad),
    "cross_entropy: ": lambda bad: losses.cross_entropy([1.0, 2.0], bad),
    "cross_entropy: logits must be | cross_entropy: operand 1":
        lambda bad: losses.cross_entropy(bad, 0),
    "cross_entropy: operand 2": lambda bad: losses.cross_entropy([1.0, bad], 0),
    "cross_entropy: target 0": lambda bad: losses.cross_entropy([[1.0, 2.0]], [[bad]]),
    "MLP nin": lambda bad: MLP(bad, [1]),
    "MLP nouts": lambda bad: MLP(2, bad),
    "MLP nouts entry": lambda bad: MLP(2, [1, bad]),
    "Neuron nin": lambda bad: nn.Neuron(bad),
    "activation": lambda bad: MLP(2, [1], activation=str(bad)[:10_000_000]
                                  if isinstance(bad, str) else bad),
    "activation 'linear' takes no params": lambda bad: MLP(2, [1], "linear", None, {"k": bad}),
    "param 'slope' must be a finite number": lambda bad: Net221("leaky_relu", None,
                                                                {"slope": bad}),
    "epochs": lambda bad: train(Net221(), data.xor(), epochs=bad),
    "train: data[0] must be a pair": lambda bad: train(Net221(), [bad]),
    "train: data[0] inputs": lambda bad: train(Net221(), [(bad, 1.0)]) if isinstance(
        bad, (str, int)) else train(Net221(), [(None, 1.0)]),
    "lr": lambda bad: train(Net221(), data.xor(), lr=bad),
    "gradient_descent: w0": lambda bad: gradient_descent(lambda w: w * w, bad),
    "draw_dot: rankdir": lambda bad: draw_dot(_x(), rankdir=bad),
    "moons: n": lambda bad: data.moons(n=bad),
    "moons: noise": lambda bad: data.moons(noise=bad),
    "moons: labels": lambda bad: data.moons(labels=bad),
    "circles: factor": lambda bad: data.circles(factor=bad),
    "spiral: classes": lambda bad: data.spiral(10, classes=bad),
    "explain: max_paths": lambda bad: explain(_x() * 2, _x(), max_paths=bad),
    "Value": lambda bad: Value(bad),
    "SGD momentum": lambda bad: SGD([_x()], 0.1, momentum=bad),
    "Adam betas": lambda bad: Adam([_x()], betas=bad),
    "no op named": lambda bad: ops.get(bad),
    "register( | op name must be a public identifier": lambda bad: ops.register(bad, None, None),  # type: ignore[arg-type]
    "unknown activation": lambda bad: reference.net221_forward(
        dict.fromkeys(reference.PARAMETER_NAMES, 0.0), 1.0, 1.0, bad),
}
BAD = {"10MB str": TEN_MB, "-10**5000": BIG, "[10MB str]": [TEN_MB], "(-10**5000,)": (BIG,),
       "dict": {"k": BIG}}


@pytest.mark.parametrize("words", QUOTED)
@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_every_message_quotes_the_input_short(words: str, bad: Any) -> None:
    with pytest.raises((TypeError, ValueError, KeyError)) as caught:
        QUOTED[words](bad)
    message = str(caught.value)
    assert any(w in message for w in words.split(" | "))
    assert "Exceeds the limit" not in message and "4300 digits" not in message
    assert len(message) < 300, message[:400]


def test_the_issue_reproducers_name_the_argument(tmp_path: Path) -> None:
    cases = [
        (lambda: SavesAName(TEN_MB).save(tmp_path / "m.json"),
         f"{tmp_path / 'm.json'}: cannot save: parameter 'xxxxxxxx"),
        (lambda: losses.hinge(Value(1.0), TEN_MB),
         "hinge: target 0 must be a finite number, got 'xxxxxxxx"),
        (lambda: losses.cross_entropy([1.0, 2.0], 10**5000),
         "cross_entropy: target must be an int class index in 0..1, got an int of 16610 bits"),
        (lambda: MLP(-(10**5000), [1]), "MLP nin must be a positive int, got an int of 16610 bits"),
        (lambda: train(Net221(), data.xor(), epochs=-(10**5000)),
         "epochs must be an int >= 0, got an int of 16610 bits"),
        (lambda: data.moons(noise=-(10**5000)),
         "moons: noise must be a finite number >= 0, got an int of 16610 bits"),
    ]
    for call, want in cases:
        with pytest.raises(ValueError) as caught:
            call()
        assert str(caught.value).startswith(want)
        assert len(str(caught.value)) < 250


def test_render_quotes_a_huge_suffix_and_path_short(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown file suffix") as caught:
        render(_x(), tmp_path / ("a." + "y" * 10_000_000))
    assert len(str(caught.value)) < 400
    with pytest.raises(FileNotFoundError, match="render: directory") as missing:
        render(_x(), tmp_path / ("d" * 10_000_000) / "g.svg")
    assert len(str(missing.value)) < 300


def test_preview_is_bounded_whatever_it_is_given() -> None:
    assert preview(10**5000) == "an int of 16610 bits"
    assert preview([1, 2, 3]) == "[1, 2, 3]" and preview("abc") == "'abc'"
    assert preview("x" * 100) == "'" + "x" * 58 + "…"
    assert preview(list(range(10**6))) == "[0, 1, 2, 3, 4, 5, ...]"
    assert preview((10**5000, "y" * 10**7)).startswith("(an int of 16610 bits, 'yyy")
    assert len(preview({"k": [TEN_MB] * 3}, 60)) <= 60


# ---- 4. writes that respect the file system ---------------------------------------------------


@pytest.fixture
def umask() -> Any:
    """Set the process umask within one test: umask(0o077); the old one comes back after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o077, 0o027, 0o022, 0o002, 0o000], ids=oct)
def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path: Path, umask: Any,
                                                     mask: int) -> None:
    umask(mask)
    Net221().save(tmp_path / "net.json")
    with open(tmp_path / "by_open.json", "w") as f:
        f.write("{}")
    want = stat.S_IMODE(os.stat(tmp_path / "by_open.json").st_mode)
    assert want == 0o666 & ~mask
    assert stat.S_IMODE(os.stat(tmp_path / "net.json").st_mode) == want
    draw = tmp_path / "g.dot"
    render(Value(1.0, "x") * 2, draw)  # the drawings' writes too
    assert stat.S_IMODE(os.stat(draw).st_mode) == want


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444, 0o755], ids=oct)
def test_an_existing_file_keeps_its_mode(tmp_path: Path, umask: Any, mode: int) -> None:
    umask(0o077)
    path = tmp_path / "net.json"
    path.write_text("old")
    os.chmod(path, mode)
    Net221().save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert json.loads(path.read_text())["kind"] == "Net221"


def test_the_issue_reproducer_a_symlink_is_kept_and_its_target_written(tmp_path: Path) -> None:
    real = tmp_path / "models" / "net.json"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o600)
    before = os.stat(real).st_ino
    link = tmp_path / "current.json"
    link.symlink_to(Path("models") / "net.json")  # a relative link, as `ln -s` makes them
    Net221(seed=3).save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("models", "net.json")
    assert os.stat(real).st_ino != before  # replaced by a rename (atomic), not written in place
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    copy = Net221(seed=4)
    copy.load(link)
    assert copy.state_dict() == Net221(seed=3).state_dict()
    assert sorted(os.listdir(tmp_path)) == ["current.json", "models"]  # no temp file anywhere
    assert os.listdir(real.parent) == ["net.json"]


def test_a_link_to_a_link_and_a_dangling_link_write_the_final_file(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("c.json")  # c.json does not exist yet: open() would make it
    Net221().save(tmp_path / "a")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()
    assert json.loads((tmp_path / "c.json").read_text())["kind"] == "Net221"
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "c.json"]


def test_a_symlink_loop_or_a_link_into_no_directory_is_an_error_naming_the_path(
        tmp_path: Path) -> None:
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "lost").symlink_to("no/such/dir/net.json")
    for name in ("loop1", "lost"):
        with pytest.raises(OSError) as caught:
            Net221().save(tmp_path / name)
        assert caught.value.filename == str(tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == ["loop1", "loop2", "lost"]


# ---- 5. registration refuses what cannot work later ------------------------------------------


@pytest.mark.parametrize("default", [math.inf, -math.inf, math.nan])
def test_a_non_finite_param_default_is_refused(default: float) -> None:
    with pytest.raises(ValueError, match=r"register\('scaled_i20'\): param 'k' needs a finite "):
        ops.register("scaled_i20", lambda x, k=default: k * x, lambda x, out, k=1.0: (k,))
    assert "scaled_i20" not in ops.names()


@pytest.mark.parametrize("formula", [
    lambda i, n: "{2}",  # the issue's: fills in at 3 operands, not at 1 or 2
    lambda i, n: f"{{{n}}}",  # one past the last operand, at every count
    lambda i, n: f"{{{i + 1}}}",  # the next operand: past the last for the last
])
def test_a_variadic_formula_past_the_operand_count_is_refused(
        formula: Callable[[int, int], str]) -> None:
    with pytest.raises(ValueError, match="cannot be filled in for operand 0 of 1 "
                                         r"\(IndexError"):
        ops.register("vsum_i20", lambda *xs: sum(xs),
                     lambda *xs_out: (1.0,) * (len(xs_out) - 1), formula=formula)
    assert "vsum_i20" not in ops.names()


def test_a_variadic_formula_within_the_count_is_explained_at_every_count() -> None:
    ops.register("vsum_i20", lambda *xs: sum(xs), lambda *xs_out: (1.0,) * (len(xs_out) - 1),
                 formula=lambda i, n: f"{{{n - 1 - i}}}/{{{i}}}")
    try:
        for count in range(1, 7):
            xs = [Value(float(k + 1), f"x{k}") for k in range(count)]
            text = explain(apply("vsum_i20", *xs), xs[0])
            assert f"x{count - 1}/x0" in text
    finally:
        ops.unregister("vsum_i20")


# ---- 6. optimisers refuse what torch refuses ---------------------------------------------------


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps),
                                  lambda ps: AdamW(ps), lambda ps: SGD(ps, 0.1, momentum=0.9)])
def test_optimisers_refuse_an_empty_list_and_a_parameter_given_twice(
        make: Callable[[list[Value]], Optimizer]) -> None:
    q, r = Value(1.0, "q"), Value(2.0, "r")
    with pytest.raises(ValueError, match=r"got an empty parameter list$"):
        make([])
    with pytest.raises(ValueError, match=r"got an empty parameter list$"):
        make(iter([]))  # an exhausted generator, as torch's model.parameters() can be
    with pytest.raises(ValueError, match="parameter 2 is parameter 0 again"):
        make([q, r, q])
    with pytest.raises(ValueError, match="parameter 1 is parameter 0 again"):
        make([q, q])


def test_the_issue_reproducer_sgd_q_q_no_longer_steps_twice() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.SGD([], lr=0.1)  # what torch says, in the same words
    q = Value(1.0, "q")
    with pytest.raises(ValueError, match=r"^SGD: parameter 1 is parameter 0 again"):
        SGD([q, q], lr=0.1)
    assert q.data == 1.0


# ---- issue 29: the papercuts of the command line and of nn -------------------------------


def test_the_activations_offered_are_defined_everywhere(capsys: pytest.CaptureFixture) -> None:
    """log fails on the first sample whose pre-activation is ≤ 0: it is not offered (the CLI
    refuses it before any work), though the library still takes it by name."""
    offered = nn.activation_names()
    assert {"linear", "tanh", "sigmoid", "relu", "leaky_relu", "step"} <= set(offered)
    assert "log" not in offered and "log" in ops.names()
    nn.MLP(2, [3, 1], activation="log")  # accepted by name
    for command in (["train"], ["graph"], ["check", "--answers", "a.json"]):
        with pytest.raises(SystemExit) as caught:
            main([*command, "--activation", "log"])
        assert caught.value.code == 2
        assert "invalid choice: 'log'" in capsys.readouterr().err


@pytest.mark.parametrize("make", [lambda n: nn.MLP(n, [1]), lambda n: nn.MLP(2, [n]),
                                  lambda n: nn.Neuron(n), lambda n: nn.Layer(2, n)])
def test_a_huge_width_is_a_clear_error(make: Callable[[int], Any]) -> None:
    """MLP(10**6000, [1]) raised a bare "int too large to convert to float"."""
    for n in (10**6000, nn.MAX_WIDTH + 1):
        with pytest.raises(ValueError, match=r"must be at most MAX_WIDTH \(100,000,000\), got"):
            make(n)


def test_help_says_every_default(capsys: pytest.CaptureFixture) -> None:
    for command in ("train", "descend", "graph", "explain", "check"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        for said in {"train": ["--dataset {xor,and,or,moons,circles,spiral} (default xor)",
                               "(default sgd)", "--hidden HIDDEN (default 16,16)", "moons mlp",
                               "xor net221", "default tanh; mlp: relu", "(1e-6)"],
                     "descend": ["(quadratic)", "(default 1e-8)", "rosenbrock 0.0014"],
                     "graph": ["default tanh", "(net221.svg)", "(default 1)"],
                     "explain": ["default tanh", "(default 1)"],
                     "check": ["default tanh", '("yhat": ŷ)']}[command]:
            assert said in text, (command, said)


def test_options_before_the_command_are_the_commands(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    """`micrograd --seed 3 train` ignored the seed (the command's default overwrote it)."""
    first, second = tmp_path / "a.dot", tmp_path / "b.dot"
    assert main(["--seed", "3", "--out", str(first), "graph"]) == 0
    assert main(["graph", "--seed", "3", "--out", str(second)]) == 0
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")
    assert main(["graph", "--out", str(second)]) == 0  # the default seed: other numbers
    assert first.read_text(encoding="utf-8") != second.read_text(encoding="utf-8")
    capsys.readouterr()


# ---- issue 29, class 2: a run is never lost after training --------------------------------


DIVERGING = {
    "lr far too large": (lambda: Net221("tanh"), data.xor(), {"lr": 1e300}),
    "an inf input": (lambda: Net221("tanh"), [((math.inf, 0.0), 1.0), ((0.0, 1.0), 0.0)], {}),
    "a NaN target": (lambda: Net221("tanh"), [((1.0, 0.0), math.nan), ((0.0, 1.0), 0.0)], {}),
    "a NaN input, three classes": (lambda: nn.MLP(2, [4, 3]), [
        ((math.nan, 0.0), 1), ((0.0, 1.0), 0), ((1.0, 1.0), 2)], {"loss": losses.cross_entropy}),
    "an input near the float limit": (lambda: nn.MLP(2, [4, 1]), [
        ((1e308, -1e308), 1.0), ((0.0, 1.0), 0.0)], {"loss": losses.mse}),
}


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("name", list(DIVERGING))
def test_a_diverged_run_writes_its_page(tmp_path: Path, name: str, per_sample: bool) -> None:
    """The page raised (NaN != NaN in its grads check; math.floor of inf or NaN in the heatmap)
    after training, and the history was lost: watching a run diverge is what the page is for."""
    make, points, options = DIVERGING[name]
    page = tmp_path / "run.html"
    history = train(make(), points, epochs=5, per_sample=per_sample, page=page, **options)
    plain = train(make(), points, epochs=5, per_sample=per_sample, **options)
    assert history.losses == plain.losses or all(  # NaN compared as NaN
        a == b or (a != a and b != b) for a, b in zip(history.losses, plain.losses))
    text = page.read_text(encoding="utf-8")
    assert history.reason == "diverged" or not all(map(math.isfinite, history.losses))
    assert f"stopped: {history.reason}" in text and "nan" in text.lower()


def test_a_page_refuses_samples_it_cannot_draw_before_training(tmp_path: Path) -> None:
    net = Net221("tanh")
    before = net.state_dict()
    points = [((Value(1.0), Value(0.0)), 1.0), ((Value(0.0), Value(1.0)), 0.0)]
    with pytest.raises(TypeError, match=r"page= draws samples whose inputs are numbers; "
                                        r"data\[0\] has Value"):
        train(net, points, epochs=3, page=tmp_path / "run.html")
    assert net.state_dict() == before and not (tmp_path / "run.html").exists()
    assert all(v.grad == 0.0 for x, _ in points for v in x)


def test_an_error_after_training_carries_the_run(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    page_module = importlib.import_module("micrograd.training_page")

    def failing(*args: Any) -> None:
        raise RuntimeError("the page failed")

    monkeypatch.setattr(page_module, "write_page", failing)
    with pytest.raises(RuntimeError, match="the page failed") as caught:
        train(Net221("tanh"), data.xor(), epochs=7, page=tmp_path / "run.html")
    history = caught.value.history  # type: ignore[attr-defined]
    assert history.epochs == 7 and history.losses == train(Net221("tanh"), data.xor(),
                                                           epochs=7).losses
    assert history.accuracy is not None and history.recording is not None
    with pytest.raises(SystemExit) as exit_:  # the CLI: one line, status 1
        main(["train", "--epochs", "2", "--page", str(tmp_path / "run.html")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err == "micrograd train: error: after 2 epochs: the page failed\n"


def test_save_after_a_diverged_run_is_status_1(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    """Status 2 is for bad arguments found before any work: a diverged run's parameters that
    cannot be saved are found after it."""
    saved = tmp_path / "net.json"
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--lr", "1e300", "--save", str(saved)])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert "stopped after 1 epoch: diverged" in captured.out
    assert captured.err.startswith("micrograd train: error: after 1 epoch: ")
    assert captured.err.count("\n") == 1 and "not finite" in captured.err
    assert not saved.exists()


SHAPES = {
    "two outputs, list targets": (lambda: MLP(2, [4, 2], seed=1), [
        ((0.1 * i, -0.1 * i), [0.05 * i, 1.0 - 0.05 * i]) for i in range(6)], losses.mse),
    "two outputs, tuple targets": (lambda: MLP(2, [4, 2], seed=1), [
        ((0.1 * i, -0.1 * i), (0.05 * i, 0.5)) for i in range(6)], losses.mse),
    "three inputs, list targets": (lambda: MLP(3, [4, 2], seed=1), [
        ((0.1 * i, -0.1 * i, 0.2), [0.05 * i, 0.1]) for i in range(6)], losses.mse),
    "one input, a model of one's own": (Quadratic, [((0.2 * i,), 0.1 * i) for i in range(5)],
                                        half_squared_error),
    "three classes": (lambda: MLP(2, [4, 3], seed=1), data.spiral(4), losses.cross_entropy),
}


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("name", list(SHAPES))
def test_what_train_records_its_page_draws(tmp_path: Path, name: str, per_sample: bool) -> None:
    """Multi-output regression with list targets on two inputs raised a bare TypeError from
    the plane (which took several outputs for classes) after training."""
    make, points, loss = SHAPES[name]
    history = train(make(), points, loss=loss, epochs=3, per_sample=per_sample,
                    page=tmp_path / "run.html")
    assert history.recording is not None
    assert "training run" in (tmp_path / "run.html").read_text(encoding="utf-8")
