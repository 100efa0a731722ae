"""The code in the docs works: each Markdown file's ```python blocks, pasted in order into one
file beside a copy of tidb_dialect/, run as a program against the server the TIDB_* settings name.

The program must exit 0; tracebacks keep the Markdown file's line numbers; the README's program is
the walkthrough, so it must print Expected-Output.md. The dialect's guide runs twice: with
requirements.txt alone (aiomysql and greenlet cannot be imported), its asyncio section saying that
it skips itself, and with requirements-asyncio.txt, in full. Anything that is not Python to run
goes in a ```sh or ```text block. Code the docs show from the sample is the sample's own: a region
marked `# [START name]` ... `# [END name]` in the source, shown after the line
`<!-- region: peewee_example.py#name -->`; `python -m tests.test_docs --sync` copies each region
into its excerpts. Also here: relative links resolve, and tests/README.md names every test file.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import peewee
import pytest

from tests.conftest import ROOT, scrubbed_environ, server_environ

GUIDE = ROOT / "tidb_dialect" / "README.md"
#: What requirements-asyncio.txt adds; the guide's asyncio section runs in full with them.
ASYNCIO_PACKAGES = ("aiomysql", "greenlet")
ASYNCIO = int(peewee.__version__.split(".")[0]) >= 4 and all(
    importlib.util.find_spec(name) for name in ASYNCIO_PACKAGES
)
ASYNCIO_SKIPPED = "asyncio example skipped: "

#: Folders that hold no docs of this repository: virtualenvs, tool caches.
SKIPPED = (".git", ".nox", ".pytest_cache", ".venv")
PYTHON = ("python", "py", "python3")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>.*)$")
HEADING = re.compile(r"^ {0,3}#{1,6} ")
#: `<!-- region: peewee_example.py#trade -->` right before a block: it shows that region.
REGION_COMMENT = re.compile(r"^<!-- region: (?P<path>[\w./-]+)#(?P<name>[\w-]+) -->$")


@dataclass
class Block:
    path: Path  # the Markdown file
    line: int  # line number of the opening fence
    lang: str  # first word of the info string
    code: str
    section: str  # the text from the block's heading to its opening fence
    region: tuple | None  # (source path, region name) of an excerpt

    def __str__(self):
        return "%s:%d" % (Path(os.path.relpath(self.path, ROOT)).as_posix(), self.line)


def markdown_files(root=ROOT):
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(SKIPPED))
        yield from (Path(folder, name) for name in sorted(files) if name.endswith(".md"))


def blocks_in(path):
    lines = path.read_text().splitlines()
    section, since_fence, index = [], [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            if HEADING.match(lines[index]):
                section = []
            section.append(lines[index])
            since_fence.append(lines[index].strip())
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = "\n".join(line[indent:] for line in lines[index + 1 : end])
        prose = [line for line in since_fence if line]
        comment = REGION_COMMENT.match(prose[-1]) if prose else None
        yield Block(
            path=path,
            line=index + 1,
            lang=(opening["info"].split() or [""])[0],
            code=body + "\n" if body else "",
            section="\n".join(section),
            region=(comment["path"], comment["name"]) if comment else None,
        )
        since_fence = []
        index = end + 1


def all_blocks():
    return [block for path in markdown_files() for block in blocks_in(path)]


def python_blocks():
    return [block for block in all_blocks() if block.lang in PYTHON]


def excerpts():
    return [block for block in python_blocks() if block.region]


def region(path, name):
    """The text between `# [START name]` and `# [END name]` in `path`, dedented."""
    source = (ROOT / path).read_text().splitlines()
    marks = [
        number
        for number, line in enumerate(source)
        if line.strip() in ("# [START %s]" % name, "# [END %s]" % name)
    ]
    if len(marks) != 2:
        raise AssertionError(
            "%s: expected one '# [START %s]' and one '# [END %s]', found %d markers"
            % (path, name, name, len(marks))
        )
    body = "\n".join(source[marks[0] + 1 : marks[1]])
    return textwrap.dedent(body).strip("\n") + "\n"


def program(path):
    """The ```python blocks of `path`, in order, as one program (padded to keep line numbers)."""
    code, at = [], 0
    for block in blocks_in(path):
        if block.lang in PYTHON:
            code.append("\n" * (block.line - at) + block.code)
            at = block.line + block.code.count("\n")
    return "".join(code)


def documented():
    return [path for path in markdown_files() if program(path)]


def run_program(path, folder, environ, without=()):
    """Run `path`'s program in `folder`, which holds nothing but it and a copy of tidb_dialect/;
    the packages `without` names cannot be imported there, as if they were not installed."""
    shutil.copytree(
        ROOT / "tidb_dialect",
        folder / "tidb_dialect",
        ignore=shutil.ignore_patterns("*.md", "__pycache__"),
    )
    (folder / "program.py").write_text(program(path))
    env = dict(scrubbed_environ(), **environ)
    env.pop("PYTHONPATH", None)
    command = [sys.executable, "program.py"]
    if without:  # None in sys.modules: importing the name raises ModuleNotFoundError
        command[1:] = [
            "-c",
            "import runpy, sys; sys.modules.update(dict.fromkeys(%r)); "
            "runpy.run_path('program.py', run_name='__main__')" % (without,),
        ]
    return subprocess.run(
        command,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", documented(), ids=lambda path: str(path.relative_to(ROOT)))
def test_the_blocks_pasted_in_order_run(path, tmp_path, server, database_name):
    result = run_program(path, tmp_path, server_environ(server, database_name))
    assert result.returncode == 0, result.stderr
    if path == ROOT / "README.md":  # the README's program is the walkthrough
        from tests.test_expected_output import check_output  # which reads Markdown with this file

        check_output(result.returncode, result.stdout)
    if path == GUIDE:  # in full where requirements-asyncio.txt is installed (and peewee 4)
        skipped = [line for line in result.stdout.splitlines() if line.startswith(ASYNCIO_SKIPPED)]
        assert ("trades done: 1, refused: 99" in result.stdout.splitlines()) is ASYNCIO
        assert bool(skipped) is not ASYNCIO, skipped


def test_the_guide_runs_with_requirements_txt_alone(tmp_path, server, database_name):
    environ = server_environ(server, database_name)
    result = run_program(GUIDE, tmp_path, environ, without=ASYNCIO_PACKAGES)
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    if int(peewee.__version__.split(".")[0]) >= 4:
        assert last == (
            ASYNCIO_SKIPPED + "driver: AsyncTiDBDatabase needs aiomysql and greenlet: "
            "greenlet is not installed"
        )
    else:
        assert last.startswith(ASYNCIO_SKIPPED + "peewee: ") and "need peewee 4.x" in last


@pytest.mark.parametrize("block", excerpts(), ids=str)
def test_excerpt_is_its_region(block):
    expected = region(*block.region)
    if block.code != expected:  # the region as it is, unindented, ready to copy
        pytest.fail(
            "%s shows %s#%s, which now reads as below; `python -m tests.test_docs --sync` "
            "copies it in:\n%s" % (block, block.region[0], block.region[1], expected),
            pytrace=False,
        )


def test_every_fence_names_its_language():
    unnamed = [str(block) for block in all_blocks() if not block.lang]
    assert unnamed == [], "```python for code to run, ```sh or ```text for the rest"


def test_the_readme_shows_the_walkthroughs_steps_in_order():
    shown = [block.region for block in blocks_in(ROOT / "README.md") if block.lang in PYTHON]
    assert shown == [
        ("peewee_example.py", name)
        for name in (
            "connect",
            "model",
            "create",
            "bulk_insert",
            "query",
            "trade",
            "delete",
            "walkthrough",
        )
    ]


def test_blocks_are_found_in_every_markdown_file_but_tool_folders(tmp_path):
    for folder in ("docs/deep", ".venv-x", ".nox", ".git", ".pytest_cache"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "a.md").write_text("```python\nx = 1\n```\n")
    found = [path.relative_to(tmp_path).as_posix() for path in markdown_files(tmp_path)]
    assert found == ["docs/deep/a.md"]


def test_a_program_is_its_blocks_in_order_and_a_failing_one_fails(tmp_path, server, database_name):
    page = tmp_path / "page.md"
    page.write_text(
        "# One\n\n```python\nx = 1\n```\n\n```sh\nexit 1\n```\n\n"
        "## Two\n\n  ```python\n  assert x == 1\n  y = undefined\n  ```\n"
    )
    assert program(page) == "\n" * 3 + "x = 1\n" + "\n" * 9 + "assert x == 1\ny = undefined\n"
    (tmp_path / "run").mkdir()
    result = run_program(page, tmp_path / "run", server_environ(server, database_name))
    assert result.returncode == 1
    assert 'program.py", line 15' in result.stderr
    assert "NameError: name 'undefined' is not defined" in result.stderr


def test_a_stale_excerpt_fails_showing_its_region_and_sync_mends_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n<!-- region: peewee_example.py#model -->\n"
        "```python\nclass Player:\n    pass\n```\n\nAfter\n"
    )
    (block,) = blocks_in(page)
    model = region("peewee_example.py", "model")
    assert model.startswith("BATCH_SIZE = 114\n")
    with pytest.raises(pytest.fail.Exception, match=re.escape("copies it in:\n" + model)):
        test_excerpt_is_its_region(block)
    sync(tmp_path)
    assert page.read_text() == (
        "Intro\n\n<!-- region: peewee_example.py#model -->\n```python\n%s```\n\nAfter\n" % model
    )


LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def anchor(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def prose_lines(path):
    """The lines of `path` outside fenced blocks."""
    inside = None
    for line in path.read_text().splitlines():
        opening = FENCE.match(line)
        if inside is None and opening:
            inside = opening["fence"]
        elif inside is not None and line.strip().startswith(inside):
            inside = None
        elif inside is None:
            yield line


def anchors(path):
    return {anchor(line.lstrip("#")) for line in prose_lines(path) if HEADING.match(line)}


def broken_links(root=ROOT):
    """`file: target` for every relative link whose file or #anchor is not there."""
    broken = []
    for path in markdown_files(root):
        for line in prose_lines(path):
            for match in LINK.finditer(line):
                target = match["target"]
                if re.match(r"[a-z]+:", target):  # https:, mailto:
                    continue
                file, _, fragment = target.partition("#")
                linked = (path.parent / file).resolve() if file else path
                if not linked.exists() or (
                    fragment and (linked.suffix != ".md" or fragment not in anchors(linked))
                ):
                    broken.append("%s: %s" % (path.relative_to(root).as_posix(), target))
    return broken


def test_every_relative_link_resolves():
    assert broken_links() == []


def test_a_link_to_a_missing_file_or_heading_is_found(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# B\n\n## Connect: `database_from_env`\n")
    (tmp_path / "a.md").write_text(
        "# A\n\n[ok](sub/b.md#connect-database_from_env) [self](#a) [web](https://x.org/#y)\n"
        "[gone](sub/c.md) [no heading](sub/b.md#connect)\n\n```text\n[not a link](zz.md)\n```\n"
    )
    assert broken_links(tmp_path) == ["a.md: sub/c.md", "a.md: sub/b.md#connect"]


def test_tests_readme_has_a_line_for_every_test_file():
    listed = re.findall(r"^- `(test_\w+\.py)`: ", (ROOT / "tests" / "README.md").read_text(), re.M)
    assert listed == sorted(path.name for path in (ROOT / "tests").glob("test_*.py"))


def sync(root=ROOT):
    """Rewrite every excerpt in the Markdown files under `root` from its region."""
    for path in markdown_files(root):
        text = path.read_text()
        for block in reversed([b for b in blocks_in(path) if b.lang in PYTHON and b.region]):
            lines = text.splitlines(keepends=True)
            start, end = block.line, block.line + len(block.code.splitlines())
            lines[start:end] = [region(*block.region)]
            text = "".join(lines)
        if text != path.read_text():
            path.write_text(text)
            print("synced %s" % path.relative_to(root))


if __name__ == "__main__" and sys.argv[1:] == ["--sync"]:
    sync()
