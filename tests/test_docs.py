"""The code in the docs works: every ```python block of every Markdown file runs, as written.

How blocks run, which names the text can hand them, and how excerpts of the
sample stay in step with its source: tests/README.md, "Code in the docs".
After a change to a tagged region, `python -m tests.test_docs --sync`
rewrites every excerpt of it.
"""

import importlib
import os
import re
import socket
import sys
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from peewee import Database

import peewee_example
from tests.conftest import ROOT
from tidb_dialect import TiDBDatabase

#: Folders that hold no docs of this repository: virtualenvs, tool caches.
SKIPPED = (".git", ".nox", ".pytest_cache", ".venv")
PYTHON = ("python", "py", "python3")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>.*)$")
HEADING = re.compile(r"^ {0,3}#{1,6} ")
#: "`db` below is ...", "`Player` and `db` below are ...": the text hands the block those names.
NAMED_BELOW = re.compile(r"((?:`\w+`(?:,? and |, | )?)+) below (?:is|are)\b")
#: `<!-- region: peewee_example.py#trade -->` right before a block: it shows that region.
REGION_COMMENT = re.compile(r"^<!-- region: (?P<path>[\w./-]+)#(?P<name>[\w-]+) -->$")
#: The tiup playground's address, where the blocks expect a TiDB.
PLAYGROUND = ("127.0.0.1", 4000)


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


def named_below(block):
    return [
        name
        for group in NAMED_BELOW.findall(block.section)
        for name in re.findall(r"`(\w+)`", group)
    ]


# --- the names the text can hand a block ------------------------------------------------------


def fixture_db(request):
    """`db`: a TiDBDatabase (PyMySQL) on an empty database of the test server."""
    return request.getfixturevalue("mysql_db")


def fixture_player(request):
    """`Player`: the walkthrough's model, bound to `db`, its table created and empty."""
    database = request.getfixturevalue("mysql_db")
    peewee_example.db.initialize(database)
    request.addfinalizer(lambda: peewee_example.db.initialize(None))
    database.create_tables([peewee_example.Player])
    return peewee_example.Player


FIXTURES = {"db": fixture_db, "Player": fixture_player}


@contextmanager
def playground(connect):
    """127.0.0.1:4000 reaches the test server, database `test`; tables made meanwhile are dropped.

    PyMySQL connects through socket.create_connection, so mapping that one
    address in this process lets blocks keep the tiup playground's address.
    connect() gives (server, a database connected to it), asked for on the
    first connection, so blocks that never connect there need no server.
    """
    real, used = socket.create_connection, {}

    def create_connection(address, *args, **kwargs):
        if tuple(address) == PLAYGROUND:
            if not used:
                used["server"], used["admin"] = connect()
                used["admin"].execute_sql("CREATE DATABASE IF NOT EXISTS test")
                used["before"] = playground_tables(used["admin"])
            address = (used["server"].host, used["server"].port)
        return real(address, *args, **kwargs)

    socket.create_connection = create_connection
    try:
        yield
    finally:
        socket.create_connection = real
        if used:
            admin = used["admin"]
            admin.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
            for table in playground_tables(admin) - used["before"]:
                admin.execute_sql("DROP TABLE `test`.`%s`" % table)
            admin.execute_sql("SET FOREIGN_KEY_CHECKS = 1")


def playground_tables(admin):
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'test'"
    return {row[0] for row in admin.execute_sql(query)}


def namespace_for(block, request):
    """A fresh namespace: the region's module for an excerpt, else the names the text gives."""
    if block.region:
        module = importlib.import_module(block.region[0][: -len(".py")].replace("/", "."))
        return dict(vars(module))
    namespace = {"__name__": "__docs__"}
    for name in named_below(block):
        assert name in FIXTURES, "%s: the text names `%s`, but the tests provide only %s" % (
            block,
            name,
            ", ".join(sorted(FIXTURES)),
        )
        namespace[name] = FIXTURES[name](request)
    return namespace


def close_databases(namespace):
    for value in namespace.values():
        if isinstance(value, Database):
            getattr(value, "close_all", value.close)()


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("block", python_blocks(), ids=str)
def test_python_block_runs(block, request):
    namespace = namespace_for(block, request)
    # Padding keeps the Markdown file's line numbers in tracebacks.
    code = compile("\n" * block.line + block.code, str(block.path), "exec")
    with playground(
        lambda: (request.getfixturevalue("server"), request.getfixturevalue("mysql_db"))
    ):
        try:
            exec(code, namespace)
        finally:
            close_databases(namespace)


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


def test_the_readme_shows_the_samples_code():
    shown = {block.region for block in excerpts() if block.path == ROOT / "README.md"}
    assert shown == {
        ("peewee_example.py", "model"),
        ("peewee_example.py", "bulk_load"),
        ("peewee_example.py", "trade"),
    }


def test_blocks_are_found_in_every_markdown_file_but_tool_folders(tmp_path):
    for folder in ("docs/deep", ".venv-x", ".nox", ".git", ".pytest_cache"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "a.md").write_text("```python\nx = 1\n```\n")
    found = [path.relative_to(tmp_path).as_posix() for path in markdown_files(tmp_path)]
    assert found == ["docs/deep/a.md"]


def test_the_text_hands_names_to_blocks_below_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# One\n\n`db` below is a database.\n\n```python\ndb\n```\n\n"
        "```python\nx = 1\n```\n\n## Two\n\n```python\ny = 2\n```\n\n"
        "`Player` and `db` below are the model and its database.\n\n"
        "  ```python\n  Player\n  ```\n\n"
        "<!-- region: peewee_example.py#trade -->\n```python\ntrade\n```\n"
    )
    found = [(b.line, b.code, named_below(b), b.region) for b in blocks_in(page)]
    assert found == [
        (5, "db\n", ["db"], None),
        (9, "x = 1\n", ["db"], None),
        (15, "y = 2\n", [], None),
        (21, "Player\n", ["Player", "db"], None),
        (26, "trade\n", ["Player", "db"], ("peewee_example.py", "trade")),
    ]


def test_the_playground_address_reaches_the_test_server_and_is_left_clean(server, mysql_db):
    real = socket.create_connection
    with playground(lambda: (server, mysql_db)):
        db = TiDBDatabase("test", host="127.0.0.1", port=4000, user="root")
        assert db.execute_sql("SELECT @@port").fetchone()[0] == server.port
        db.execute_sql("CREATE TABLE docs_probe (id INT)")
        db.close()
    assert socket.create_connection is real
    assert "docs_probe" not in playground_tables(mysql_db)


def test_a_name_the_tests_do_not_provide_fails(tmp_path, request):
    page = tmp_path / "page.md"
    page.write_text("`engine` below is a database.\n\n```python\nengine\n```\n")
    (block,) = blocks_in(page)
    with pytest.raises(
        AssertionError, match="names `engine`, but the tests provide only Player, db"
    ):
        namespace_for(block, request)


def test_a_stale_excerpt_fails_showing_its_region_and_sync_mends_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n<!-- region: peewee_example.py#model -->\n"
        "```python\nclass Player:\n    pass\n```\n\nAfter\n"
    )
    (block,) = blocks_in(page)
    model = region("peewee_example.py", "model")
    assert model.startswith("class Player(")
    with pytest.raises(pytest.fail.Exception, match=re.escape("copies it in:\n" + model)):
        test_excerpt_is_its_region(block)
    sync(tmp_path)
    assert page.read_text() == (
        "Intro\n\n<!-- region: peewee_example.py#model -->\n```python\n%s```\n\nAfter\n" % model
    )


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
