"""TiDB mode (TIDB_HOST set) first checks the server is TiDB, and says so plainly when not."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.kit.servers import free_port

COLLECT = [
    "-m",
    "pytest",
    "-p",
    "no:cacheprovider",
    "--collect-only",
    "-q",
    "tests/test_version.py",
]


def run_tests_against(host, port):
    environ = {"TIDB_HOST": host, "TIDB_PORT": str(port), "TIDB_USER": "root", "PATH": ""}
    return subprocess.run(
        [sys.executable, *COLLECT],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.mariadb
def test_a_server_that_is_not_tidb_stops_the_run_with_one_sentence(server):
    run = run_tests_against(server.host, server.port)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    said = run.stdout + run.stderr
    assert said.startswith(
        "ERROR: TIDB_HOST=%s, TIDB_PORT=%d is 10.11" % (server.host, server.port)
    )
    assert said.rstrip().endswith("not TiDB; unset TIDB_HOST to test against a private MariaDB.")
    assert len(said.strip().splitlines()) == 1


def test_a_tidb_server_is_tested(fake_server):
    fake = fake_server()  # answers as TiDB v8.5.3
    run = run_tests_against(fake.host, fake.port)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tests collected" in run.stdout


def test_a_server_that_cannot_be_reached_stops_the_run_with_one_sentence():
    port = free_port()  # nothing listens there
    run = run_tests_against("127.0.0.1", port)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    said = run.stdout + run.stderr
    assert said.startswith("ERROR: TIDB_HOST=127.0.0.1, TIDB_PORT=%d: no connection (" % port)
    assert said.rstrip().endswith("unset TIDB_HOST to test against a private MariaDB.")
    assert len(said.strip().splitlines()) == 1
