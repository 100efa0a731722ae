"""The walkthrough prints exactly what Expected-Output.md shows, on MariaDB and on SQLite."""

import re

import pytest

import peewee_example
from player_cli.command import port_open
from tests.conftest import ROOT, require, server_environ
from tests.test_docs import blocks_in

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def sections(lang):
    """(heading, lines) of every ```lang block in Expected-Output.md, in order."""
    return [
        (block.section.splitlines()[0], block.code.splitlines())
        for block in blocks_in(ROOT / "Expected-Output.md")
        if block.lang == lang
    ]


def expected(lang):
    """The lines of every ```lang block in Expected-Output.md, in order."""
    return [line for _, lines in sections(lang) for line in lines]


def normalised(output):
    return UUID.sub("<uuid>", output).splitlines()


def check_output(returncode, stdout):
    """Exit status 0, and every section's lines, in order, line for line, and nothing more."""
    assert returncode == 0, "exit status %d" % returncode
    shown = sections("text")
    assert shown, "Expected-Output.md has no ```text block"
    printed = normalised(stdout)
    at = 0
    for heading, lines in shown:
        assert printed[at : at + len(lines)] == lines, "section %r: expected %s, printed %s" % (
            heading,
            lines,
            printed[at : at + len(lines)],
        )
        at += len(lines)
    assert printed[at:] == [], "printed after the last section: %s" % printed[at:]


@pytest.fixture
def embedded_only():
    require(
        not port_open("127.0.0.1", 4000),
        "something listens on 127.0.0.1:4000, so the walkthrough would not embed SQLite",
    )


def test_mariadb_output_matches_and_says_where(run_example, server, database_name, mysql_db):
    result = run_example(environ=server_environ(server, database_name))
    check_output(result.returncode, result.stdout)
    version = mysql_db.execute_sql("SELECT VERSION()").fetchone()[0]  # e.g. 10.11.19-MariaDB-...
    tidb = re.search(r"-TiDB-v(\d+\.\d+\.\d+)", version)
    name = "TiDB v" + tidb[1] if tidb else "MariaDB " + re.match(r"\d+\.\d+\.\d+", version)[0]
    where = (
        expected("stderr")[0]
        .replace("<server>", name)
        .replace("<host>", server.host)
        .replace("<port>", str(server.port))
        .replace("<user>", server.user)
        .replace("<database>", database_name)
    )
    if getattr(server, "ca_path", ""):
        where = where.replace("TLS off", "TLS on")
    assert result.stderr.splitlines() == [where]


def test_embedded_output_matches_and_says_so_once(run_example, tmp_path, embedded_only):
    result = run_example()
    check_output(result.returncode, result.stdout)
    assert normalised(result.stderr.replace(str(tmp_path), "<folder>")) == expected("stderr")[1:]
    assert (tmp_path / "player.db").is_file()


def test_bulk_loaded_ids_are_uuids(run_example, embedded_only):
    result = run_example()
    assert result.returncode == 0, result.stderr
    listed = [
        line for line in result.stdout.splitlines() if line.endswith("coins:10000, goods:10000")
    ]
    assert len(listed) == 3
    for line in listed:
        assert UUID.fullmatch(line.split(",")[0][len("id:") :]), line


# --- the check itself can fail ----------------------------------------------------------------


def test_a_walkthrough_that_stops_after_step_1_fails_the_check(sqlite_db, capsys, monkeypatch):
    class Stopped(Exception):
        pass

    def print_once_then_stop(*args, **kwargs):
        print(*args, **kwargs)
        raise Stopped

    monkeypatch.setattr(peewee_example, "print", print_once_then_stop, raising=False)
    peewee_example.db.initialize(sqlite_db)
    try:
        with pytest.raises(Stopped):
            peewee_example.walkthrough()
    finally:
        peewee_example.db.initialize(None)
    stdout = capsys.readouterr().out
    assert stdout == "id:test, coins:1, goods:1\n"
    with pytest.raises(AssertionError, match="section"):
        check_output(0, stdout)


def test_every_line_but_a_failing_exit_status_fails_the_check():
    stdout = "".join(line + "\n" for line in expected("text"))
    check_output(0, stdout)
    with pytest.raises(AssertionError, match="exit status 1"):
        check_output(1, stdout)
    with pytest.raises(AssertionError, match="after the last section"):
        check_output(0, stdout + "one line more\n")
