"""The walkthrough prints exactly what Expected-Output.md shows, on MariaDB and on SQLite."""

import re

import pytest

from peewee_example import port_open
from tests.conftest import ROOT, require, server_environ

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def expected(block):
    """The lines of every ```block``` in Expected-Output.md, in order."""
    text = (ROOT / "Expected-Output.md").read_text()
    return [
        line
        for body in re.findall(r"```%s\n(.*?)```" % block, text, re.S)
        for line in body.splitlines()
    ]


def normalised(stdout):
    return UUID.sub("<uuid>", stdout).splitlines()


@pytest.fixture
def embedded_only():
    require(
        not port_open("127.0.0.1", 4000),
        "something listens on 127.0.0.1:4000, so the walkthrough would not embed SQLite",
    )


def test_mariadb_output_matches(run_example, server, database_name):
    result = run_example(environ=server_environ(server, database_name))
    assert result.returncode == 0, result.stderr
    assert normalised(result.stdout) == expected("text")
    assert result.stderr == ""


def test_embedded_output_matches_and_says_so_once(run_example, tmp_path, embedded_only):
    result = run_example()
    assert result.returncode == 0, result.stderr
    assert normalised(result.stdout) == expected("text")
    assert result.stderr.splitlines() == expected("stderr")
    assert (tmp_path / "player.db").is_file()


def test_bulk_loaded_ids_are_uuids(run_example, embedded_only):
    listed = run_example().stdout.splitlines()[2:5]
    assert all(UUID.fullmatch(line.split(",")[0][len("id:") :]) for line in listed)
