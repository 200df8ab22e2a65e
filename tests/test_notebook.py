"""demos/tour.ipynb runs top to bottom in a fresh kernel, and its saved outputs are current.

An error in any cell fails. Needs nbclient, nbformat and ipykernel (the test extra),
matplotlib and Graphviz's `dot`: skipped with a reason on a user's machine without them,
a failure in CI. After changing what the notebook prints, save it again with its outputs:

    python tests/test_notebook.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import require_dot, require_module

NOTEBOOK = Path(__file__).resolve().parent.parent / "demos" / "tour.ipynb"
CELL_TIMEOUT = 120  # seconds; each cell takes a few
MAX_BYTES = 300_000  # the saved notebook, outputs included, stays small enough to read online


def execute(nbformat: ModuleType, nbclient: ModuleType, path: Path = NOTEBOOK) -> Any:
    """The notebook at path, executed top to bottom in a fresh python3 kernel in its folder."""
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # CellExecutionError names the cell and the error
    return notebook


def texts(notebook: Any) -> list[list[str]]:
    """Each code cell's printed and displayed text (images left out)."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for output in cell.outputs:
            if output.output_type == "stream":
                parts.append(output.text)
            elif "data" in output and "text/plain" in output.data and not (
                    {"image/png", "image/svg+xml"} & set(output.data)):
                parts.append(output.data["text/plain"])
            elif output.output_type == "error":
                parts.append(f"{output.ename}: {output.evalue}")
        cells.append(parts)
    return cells


@pytest.fixture(scope="module")
def executed() -> Any:
    nbformat = require_module("nbformat")
    nbclient = require_module("nbclient")
    require_module("ipykernel")  # the python3 kernel
    require_module("matplotlib")
    require_dot()  # draw_dot's inline SVG
    return execute(nbformat, nbclient)


def test_the_tour_runs_top_to_bottom(executed: Any) -> None:
    out = "\n".join(text for cell in texts(executed) for text in cell)
    assert "Traceback" not in out
    # the cells did what the markdown says
    assert "gradient below tolerance after" in out and "accuracy 1.0" in out
    assert "∂E/∂w11 = ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂w11" in out
    moons, spiral = (int(a) for a in re.findall(r"training accuracy (\d+)%", out))
    assert moons >= 95 and spiral >= 95, out
    kinds = [set(output.get("data", {})) for cell in executed.cells if cell.cell_type == "code"
             for output in cell.outputs]
    assert sum("image/svg+xml" in k for k in kinds) == 1  # draw_dot, inline
    assert sum("image/png" in k for k in kinds) == 3  # the loss curve and two boundaries


def test_the_saved_notebook_has_current_outputs(executed: Any) -> None:
    nbformat = require_module("nbformat")
    saved = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in saved.cells if cell.cell_type == "code"]
    assert all(cell.outputs and cell.execution_count for cell in code), \
        "save the notebook with its outputs: python tests/test_notebook.py"
    # a cell's printout may come back as one stream or as several: compare the joined text
    joined = [["".join(cell)] for cell in texts(saved)]
    assert joined == [["".join(cell)] for cell in texts(executed)], \
        "the saved outputs are stale: python tests/test_notebook.py saves fresh ones"
    assert NOTEBOOK.stat().st_size < MAX_BYTES


def test_an_error_in_any_cell_fails_the_run(tmp_path: Path) -> None:
    nbformat = require_module("nbformat")
    nbclient = require_module("nbclient")
    require_module("ipykernel")
    cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("x / 0"),
             nbformat.v4.new_code_cell("print('never')")]
    path = tmp_path / "broken.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="ZeroDivisionError"):
        execute(nbformat, nbclient, path)


def without_addresses(notebook: Any) -> Any:
    """The notebook without the text fallback of pictures ("<graphviz.graphs.Digraph at 0x…>"),
    which changes on every run."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if {"image/png", "image/svg+xml"} & set(data):
                data.pop("text/plain", None)
    return notebook


if __name__ == "__main__":  # re-execute the notebook and save it with its outputs
    import nbclient
    import nbformat

    nbformat.write(without_addresses(execute(nbformat, nbclient)), NOTEBOOK)
    print(f"saved {NOTEBOOK} ({NOTEBOOK.stat().st_size} bytes)")
    sys.exit(0)


def test_the_test_extra_installs_what_the_notebook_imports() -> None:
    """`pip install '.[test]' && python -m pytest` runs the notebook (no skip for a missing
    import), and the notebook extra installs a Jupyter front-end and the same imports."""
    import ast

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((NOTEBOOK.parents[1] / "pyproject.toml").read_text("utf-8"))
    extras = pyproject["project"]["optional-dependencies"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}

    nbformat = require_module("nbformat")
    imported = set()
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Import):
                    imported.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "micrograd"}
    assert third_party == {"matplotlib"}
    assert third_party | {"nbclient", "nbformat", "ipykernel"} <= names(extras["test"])
    assert third_party | {"jupyterlab"} <= names(extras["notebook"])
