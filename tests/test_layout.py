"""The package's layout: one idea per file, dependencies pointing down, one walk over a graph."""

from __future__ import annotations

import ast
import importlib
import io
import tokenize
from pathlib import Path
from typing import Any

import pytest

import micrograd
from micrograd import Value, compiler, data, losses, nn, optim
from micrograd.graph import draw_dot
from micrograd.losses import half_squared_error
from micrograd.nn import MLP, Net221
from micrograd.trace import backward_steps, explain
from micrograd.walk import walk

PACKAGE = Path(micrograd.__file__).parent
training = importlib.import_module("micrograd.train")  # the module: micrograd.train is the function


def code_lines(path: Path) -> int:
    """Lines holding code: not blank, not only a comment, not in a docstring."""
    source = path.read_text(encoding="utf-8")
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))  # type: ignore[operator]
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def imports(module: str) -> set[str]:
    """The micrograd modules a package module imports, at any depth of its code: ``import``,
    ``from … import`` and ``importlib.import_module("micrograd.…")`` (lazy imports count)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("micrograd"):
            if node.module == "micrograd":  # a module of the package, or a name of its __init__
                found.update(f"micrograd.{a.name}" if (PACKAGE / f"{a.name}.py").exists()
                             else "micrograd" for a in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("micrograd"))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.args[0].value
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(name, str) and (
                    name.startswith("micrograd")):
                found.add(name)
    return found


def module_graph() -> dict[str, set[str]]:
    """Each package module (by file stem; the package itself is __init__) and those it imports."""
    def stem(name: str) -> str:
        return "__init__" if name == "micrograd" else name.removeprefix("micrograd.")

    return {path.stem: {stem(name) for name in imports(path.stem)} - {path.stem}
            for path in sorted(PACKAGE.glob("*.py"))}


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports (its modules, the first again at the end), or None if there is none."""
    state: dict[str, str] = {}  # "open" on the current path, "done" when every path from it ends
    for start in graph:
        if start in state:
            continue
        path, todo = [start], [iter(sorted(graph[start]))]
        state[start] = "open"
        while todo:
            below = next(todo[-1], None)
            if below is None:
                state[path.pop()] = "done"
                todo.pop()
            elif state.get(below) == "open":
                return [*path[path.index(below):], below]
            elif below not in state:
                state[below] = "open"
                path.append(below)
                todo.append(iter(sorted(graph[below])))
    return None


def depths(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each module's height: 0 if it imports no package module, else 1 + its highest import's."""
    height: dict[str, int] = {}
    while len(height) < len(graph):
        ready = [m for m, below in graph.items() if m not in height and below <= set(height)]
        if not ready:
            raise ValueError(f"no height: {sorted(set(graph) - set(height))} import in a circle")
        for module in ready:
            height[module] = 1 + max((height[b] for b in graph[module]), default=-1)
    return height


#: The package's layers, bottom first: a module imports only modules of its own layer or below.
LAYERS = [
    {"_numbers", "_files", "ops", "engine", "owners"},
    {"nn", "losses", "optim", "walk", "gradcheck", "data", "reference"},
    {"steps", "paths", "grading", "trace", "compiler", "native", "record", "gpt"},
    {"page", "graph", "training_svg", "updates", "training_page", "train", "notebook",
     "gpt_train", "gpt_page"},
    {"__init__", "__main__"},
]


def test_the_imports_make_no_circle() -> None:
    graph = module_graph()
    cycle = import_cycle(graph)
    assert cycle is None, "import circle: " + " → ".join(cycle or [])
    assert set(depths(graph)) == set(graph)


def test_every_import_points_down_the_layers() -> None:
    graph = module_graph()
    layer = {module: k for k, modules in enumerate(LAYERS) for module in modules}
    assert set(graph) <= set(layer), f"modules in no layer: {sorted(set(graph) - set(layer))}"
    upward = [f"{module} ({layer[module]}) imports {below} ({layer[below]})"
              for module, imported in graph.items() for below in sorted(imported)
              if layer[below] > layer[module]]
    assert not upward, "; ".join(upward)


def test_a_circle_is_found_and_named() -> None:
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert import_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert depths({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == {"a": 2, "b": 1, "c": 0}


def test_the_engine_is_one_screen_of_teaching_code() -> None:
    """engine.py: at most 160 code lines, one node constructor (apply), no folds or caches."""
    assert code_lines(PACKAGE / "engine.py") <= 160
    source = (PACKAGE / "engine.py").read_text(encoding="utf-8")
    assert "__new__" not in source and "cache" not in source  # nodes are made by Value() only
    assert imports("engine") == {"micrograd.ops", "micrograd._numbers"}


def test_optim_holds_the_optimisers_only() -> None:
    assert code_lines(PACKAGE / "optim.py") <= 200
    assert imports("optim") <= {"micrograd.engine", "micrograd._numbers"}
    assert set(optim.__all__) == {"OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer"}


def test_trace_and_the_training_page_hold_one_idea_per_file() -> None:
    """Stepping, explaining and checking in a file each; the page's data apart from its SVG."""
    sizes = {name: code_lines(PACKAGE / f"{name}.py") for name in (
        "steps", "paths", "grading", "trace", "training_page", "training_svg")}
    assert max(sizes["steps"], sizes["paths"], sizes["grading"]) <= 300, sizes
    assert max(sizes["training_page"], sizes["training_svg"]) <= 400, sizes
    assert sizes["trace"] <= 40, sizes  # only the three modules' names, in one place
    assert imports("trace") == {"micrograd.steps", "micrograd.paths", "micrograd.grading",
                                "micrograd.walk"}
    assert "<svg" not in (PACKAGE / "training_page.py").read_text(encoding="utf-8")


def test_the_command_line_is_thin() -> None:
    assert code_lines(PACKAGE / "__main__.py") <= 300
    source = (PACKAGE / "__main__.py").read_text(encoding="utf-8")
    assert "ArgumentTypeError" not in source  # plain types: the library's errors say what is wrong


def test_train_is_the_one_module_that_knows_the_compiler_and_the_models() -> None:
    library = [path.stem for path in PACKAGE.glob("*.py") if not path.stem.startswith("__")]
    both = [name for name in library if {"micrograd.compiler", "micrograd.nn"} <= imports(name)]
    assert both == ["train"]  # (the package's __init__ and the CLI on top import everything)


def test_no_module_imports_another_modules_underscore_names() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("micrograd"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_old_import_paths_still_work() -> None:
    from micrograd.nn import cross_entropy, half_squared_error, hinge, mse
    from micrograd.train import StopReason, TrainHistory, gradient_descent, train

    record = importlib.import_module("micrograd.record")
    assert train is micrograd.train is training.train
    assert gradient_descent is micrograd.gradient_descent
    assert (StopReason, TrainHistory) == (record.StopReason, record.TrainHistory)
    assert (cross_entropy, half_squared_error, hinge, mse) == (
        losses.cross_entropy, losses.half_squared_error, losses.hinge, losses.mse)
    for name in ("train", "TrainHistory", "nothing"):  # optim holds the optimisers only
        with pytest.raises(AttributeError, match=f"no attribute '{name}'"):
            getattr(optim, name)


def test_the_losses_are_named_in_one_table() -> None:
    assert {name: f.__name__ for name, f in losses.LOSSES.items()} == {
        name: name for name in losses.LOSSES}
    assert set(losses.LOSSES) == {"half_squared_error", "mse", "hinge", "bce_with_logits",
                                  "cross_entropy"}


# ---- replay is declared, not guessed from module names ---------------------------------


def recorded_graphs(monkeypatch: pytest.MonkeyPatch, model: Any, **options: Any) -> int:
    """How many graphs train(model, moons) records for its steps with compile on (not the
    accuracy pass's graph of the outputs, labelled "outputs")."""
    count = []
    original = compiler.compile

    def counting(root: Value) -> Any:
        if root.label != "outputs":
            count.append(root)
        return original(root)

    monkeypatch.setattr(compiler, "compile", counting)
    micrograd.train(model, data.moons(8, noise=0.1, seed=0), loss=losses.hinge, lr=0.05,
                    epochs=2, **options)
    return len(count)


class Renamed(MLP):
    """An MLP of the user's with the package's __call__: still vouched for."""


class Clipped(MLP):
    """An MLP whose own __call__ branches on Value data: never replayed by default."""

    def __call__(self, *xs: Any) -> Any:
        out = super().__call__(*xs)
        return out if out.data < 1.0 else out * 0.5


def test_train_replays_what_declares_itself_branch_free(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MLP.branch_free and Net221.branch_free and not nn.Module.branch_free
    assert recorded_graphs(monkeypatch, MLP(2, [4, 1], seed=1)) == 2  # one per target ±1
    assert recorded_graphs(monkeypatch, Renamed(2, [4, 1], seed=1)) == 2
    assert recorded_graphs(monkeypatch, Clipped(2, [4, 1], seed=1)) == 0
    assert recorded_graphs(monkeypatch, MLP(2, [4, 1], seed=1), compile=False) == 0


def test_a_loss_of_ones_own_trains_eagerly(monkeypatch: pytest.MonkeyPatch) -> None:
    count = []
    monkeypatch.setattr(compiler, "compile", lambda root: count.append(root))
    micrograd.train(Net221(), data.xor, loss=lambda y_hat, y: (y_hat - y) ** 2, epochs=2)
    assert count == []


# ---- one walk ---------------------------------------------------------------------------


def test_walk_orders_and_names_every_node_once() -> None:
    net = Net221(activation="tanh")
    e = half_squared_error(net(1.0, 0.0), 1.0)
    w = walk(e)
    assert w.order[0] is e and len(w.order) == len(set(w.order))
    assert [w.index[node] for node in w.order] == list(range(len(w.order)))
    assert list(w.names) == w.order
    assert {"E", "ŷ", "w11", "b", "z1", "a2", "y"} <= set(w.names.values())
    assert w.interior == [node for node in w.order if not node.is_leaf]
    assert w.interior[0] is e and all(not node.is_leaf for node in w.interior)


@pytest.mark.parametrize("view", ["draw_dot", "backward_steps", "explain", "compile", "page"])
def test_every_view_walks_the_graph_once(monkeypatch: pytest.MonkeyPatch, view: str,
                                         tmp_path: Path) -> None:
    walk_module = importlib.import_module("micrograd.walk")
    calls = []
    original = walk_module.topological_order

    def counting(root: Value, leaves: bool = True) -> list[Value]:
        calls.append(root)
        return original(root, leaves)

    monkeypatch.setattr(walk_module, "topological_order", counting)
    net = Net221(activation="tanh")
    e = half_squared_error(net(1.0, 0.0), 1.0)
    if view == "draw_dot":
        draw_dot(e)
    elif view == "backward_steps":
        list(backward_steps(e))
    elif view == "explain":
        explain(e, net.parameters()[0])
    elif view == "compile":
        micrograd.compile(e)
    else:
        pytest.importorskip("graphviz")
        from conftest import require_dot

        require_dot()
        from micrograd.page import record

        recording = record(e)
        draw_dot(e, walked=recording.walk)
    assert calls == [e]


def test_a_walk_of_another_graph_is_refused() -> None:
    a, b = Value(1.0, "a"), Value(2.0, "b")
    with pytest.raises(ValueError, match="another graph"):
        list(backward_steps(a * b, walk(a + b)))
    with pytest.raises(ValueError, match="another graph"):
        draw_dot(a * b, walked=walk(a + b))
