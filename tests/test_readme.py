"""The README tells the truth: every Python example runs, and prints what its comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_dot

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
PRINT_WITH_OUTPUT = re.compile(r"^print\(.*\)\s+# (?P<expected>.+)$")


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example{i + 1}" for i in range(len(BLOCKS))])
def test_example_prints_what_its_comments_say(block: str, tmp_path: Path) -> None:
    if "render(" in block:
        require_dot()  # rendering SVG needs Graphviz's dot: skip on a user's machine, fail in CI
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = [m["expected"].strip() for line in block.splitlines()
                if (m := PRINT_WITH_OUTPUT.match(line.strip()))]
    printed = done.stdout.strip().splitlines()
    assert len(printed) >= len(expected)
    # each commented print is a top-level line run once, so its output lines come in order
    outputs = iter(printed)
    for want in expected:
        assert any(line.strip() == want for line in outputs), f"no line {want!r} in {printed}"
