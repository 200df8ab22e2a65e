"""The README and the guides in docs/ tell the truth: every Python example runs and prints what
its comments say, and every link to a local file or heading resolves.

Only ```python blocks run, each in a fresh interpreter, as a reader would paste it (as a script,
and line by line at the interactive prompt, where a blank line ends an indented block); a ```sh
block or a bare ``` block (output, an excerpt, a module map) is shown, not run. A ```python block
followed by "prints" and a bare block must print that block's lines, in order ("..." skips).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_dot

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
GUIDES = ["ops", "training", "seeing-backprop", "compiled", "cli", "performance", "errata",
          "from-karpathy"]
README_LIMIT = 15_000  # bytes: the README says what it is, how to start, and where to read on

FENCED = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
PYTHON = re.compile(r"^```python\n(.*?)^```[ \t]*\n(?:\nprints[^\n]*\n\n```\n(.*?)^```)?",
                    re.S | re.M)
PRINT_WITH_OUTPUT = re.compile(r"^print\(.*\)\s+# (?P<expected>.+)$")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def examples(page: Path) -> list[tuple[str, str]]:
    """(code, printed output or "") of each ```python block of a page, in order."""
    return PYTHON.findall(page.read_text(encoding="utf-8"))


EXAMPLES = [(page, i + 1, code, output) for page in PAGES
            for i, (code, output) in enumerate(examples(page))]


def prose(text: str) -> str:
    """The text without fenced blocks and inline code spans, where links are not links."""
    return re.sub(r"`[^`\n]*`", "", FENCED.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces as -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings (a repeated heading gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCED.sub("", page.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def local_links(page: Path) -> list[str]:
    """The targets of a page's links and images that are not web addresses."""
    text = prose(page.read_text(encoding="utf-8"))
    targets = LINK.findall(text) + REFERENCE.findall(text)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I)]


def test_the_readme_and_the_guides_are_there() -> None:
    assert [name(p) for p in PAGES[1:] if p.stem in GUIDES] == sorted(
        f"docs/{g}.md" for g in GUIDES)
    assert len(examples(README)) >= 1
    assert len(EXAMPLES) >= 10


def test_the_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail into a guide in docs/"


@pytest.mark.parametrize(("page", "index", "code", "output"), EXAMPLES,
                         ids=[f"{name(p)}-{i}" for p, i, _, _ in EXAMPLES])
def test_example_prints_what_its_comments_say(page: Path, index: int, code: str, output: str,
                                              tmp_path: Path) -> None:
    if "render(" in code:
        require_dot()  # rendering SVG needs Graphviz's dot: skip on a user's machine, fail in CI
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = [m["expected"].strip() for line in code.splitlines()
                if (m := PRINT_WITH_OUTPUT.match(line.strip()))]
    printed = done.stdout.strip().splitlines()
    assert len(printed) >= len(expected)
    # each commented print is a top-level line run once, so its output lines come in order
    outputs = iter(printed)
    for want in expected:
        assert any(line.strip() == want for line in outputs), f"no line {want!r} in {printed}"
    # a "prints" block after the example: its lines, in order, "..." for what it leaves out
    outputs = iter(printed)
    for want in output.splitlines():
        if want.strip() not in ("", "..."):
            assert any(line == want for line in outputs), f"no line {want!r} in {printed}"


# Each line of a block typed at the interactive prompt, as `python` reads a paste: a blank
# line ends an indented block, and a top-level line right after one is a syntax error.
PROMPT = """
import code, sys
class Console(code.InteractiveConsole):
    failed = 0
    def showsyntaxerror(self, filename=None, **kwargs):
        Console.failed += 1
        super().showsyntaxerror(filename)
    def showtraceback(self):
        Console.failed += 1
        super().showtraceback()
console = Console()
for line in sys.stdin.read().splitlines():
    console.push(line)
console.push("")
sys.exit(1 if Console.failed else 0)
"""


@pytest.mark.parametrize(("page", "index", "code"), [e[:3] for e in EXAMPLES],
                         ids=[f"{name(p)}-{i}" for p, i, _, _ in EXAMPLES])
def test_example_pastes_into_the_interactive_prompt(page: Path, index: int, code: str,
                                                     tmp_path: Path) -> None:
    if "render(" in code:
        require_dot()
    done = subprocess.run([sys.executable, "-c", PROMPT], input=code, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_prompt_check_fails_where_a_paste_does() -> None:
    for code in ("for i in range(2):\n    x = i\n\n    y = i\n",  # blank line inside
                 "for i in range(2):\n    x = i\nprint(x)\n"):  # no blank line after
        done = subprocess.run([sys.executable, "-c", PROMPT], input=code, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1 and "Error" in done.stderr
    done = subprocess.run([sys.executable, "-c", PROMPT], input="for i in range(2):\n"
                          "    x = i\n\nprint(x)\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "1\n"


def test_prints_blocks_are_checked() -> None:
    assert any(output for _, _, _, output in EXAMPLES)  # the "prints" rule is not dead


@pytest.mark.parametrize("page", PAGES, ids=[name(p) for p in PAGES])
def test_links_to_files_and_headings_resolve(page: Path) -> None:
    for target in local_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), f"{name(page)} links to {target!r}: no such file"
        assert linked.is_relative_to(ROOT), f"{name(page)} links outside the repository: {target!r}"
        if anchor:
            assert linked.suffix == ".md", f"{name(page)}: an anchor into a non-Markdown file"
            assert anchor in anchors(linked), (
                f"{name(page)} links to {target!r}: no heading with that anchor in "
                f"{name(linked)} (it has {sorted(anchors(linked))})")


def test_every_guide_is_reached_from_the_readme() -> None:
    reached, todo = {README}, [README]
    while todo:
        page = todo.pop()
        for target in local_links(page):
            path = target.partition("#")[0]
            linked = (page.parent / path).resolve()
            if path.endswith(".md") and linked.is_file() and linked not in reached:
                reached.add(linked)
                todo.append(linked)
    assert [name(p) for p in PAGES if p not in reached] == []


def test_the_link_checker_finds_links_and_anchors(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A `b`: c's d\n\n[x](other.md#e-f) ![y](pic.png) [w](https://e.org)\n"
                    "`[not](a-link.md)`\n```\n[not](either.md)\n```\n[r]: ref.md\n",
                    encoding="utf-8")
    assert local_links(page) == ["other.md#e-f", "pic.png", "ref.md"]
    assert anchors(page) == {"a-b-cs-d"}


# ---- the debugger path ----------------------------------------------------------------------

ENGINE = ROOT / "micrograd" / "engine.py"
CHAIN_RULE_LINE = "child.grad += local_grad * grad_output"
SEEING = ROOT / "docs" / "seeing-backprop.md"


def test_the_documented_breakpoint_is_the_chain_rule_line() -> None:
    """Every `engine.py:<line>` in the docs is the chain rule's line, so it cannot go stale."""
    lines = ENGINE.read_text(encoding="utf-8").splitlines()
    found = []
    for page in PAGES:
        for number in re.findall(r"engine\.py:(\d+)\b", page.read_text(encoding="utf-8")):
            found.append((name(page), int(number)))
            assert CHAIN_RULE_LINE in lines[int(number) - 1], (name(page), number)
        for number in re.findall(r"engine\.py` line (\d+)", page.read_text(encoding="utf-8")):
            assert CHAIN_RULE_LINE in lines[int(number) - 1], (name(page), number)
    assert {page for page, _ in found} >= {"README.md", "docs/seeing-backprop.md"}


def test_the_set_up_installs_the_checkout_editable_and_names_the_notebook_extra() -> None:
    text = README.read_text(encoding="utf-8")
    setup = text[text.index("## Set up"):text.index("## A worked example")]
    assert "pip install -e . && python -m micrograd" in setup
    assert "pip install -e '.[test]' && python -m pytest" in setup
    assert "pip install -e '.[notebook]'" in setup


def test_the_documented_pdb_session_stops_at_the_chain_rule_and_prints_what_it_says() -> None:
    """The debugger section's commands, run: pdb stops at the chain rule, `p` prints its line."""
    text = SEEING.read_text(encoding="utf-8")
    block = text[text.index("## In a debugger"):]
    block = block[block.index("```sh\n") + 6:block.index("\n```", block.index("```sh\n"))]
    command, ask, answer = block.splitlines()[:3]
    assert "node.label" in ask and ask.startswith("(Pdb) p ")
    argv = command.replace("$PWD", str(ROOT)).split()
    assert argv[:3] == ["python", "-m", "pdb"]
    args = re.findall(r'"([^"]*)"|(\S+)', command.replace("$PWD", str(ROOT))[len("python "):])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(  # as `pip install -e .` makes it:
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}  # the checkout runs
    done = subprocess.run([sys.executable, *[a or b for a, b in args]], cwd=ROOT, env=env,
                          input=f"{ask.removeprefix('(Pdb) ')}\nq\n", capture_output=True,
                          text=True, timeout=120)
    out = done.stdout
    assert f"engine.py(74)chain_rule()\n-> {CHAIN_RULE_LINE}" in out.replace(
        f"engine.py({_chain_rule_line()})", "engine.py(74)"), out[-2000:]
    assert f"(Pdb) {answer}" in out, out[-2000:]


def _chain_rule_line() -> int:
    lines = ENGINE.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if CHAIN_RULE_LINE in line)
