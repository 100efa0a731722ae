"""The test harness itself: skips fail under CI, seeds replay, the README names the matrix.

The conftest hooks are checked by running pytest on a small test file of the
test's own, in a directory whose conftest takes everything from ours.
"""

import ast
import subprocess
import sys

from tests.conftest import ROOT, scrubbed_environ

PROBE = """
import pytest
from tests.conftest import require


def test_skipped():
    pytest.skip("nothing to test against")


def test_required():
    require(False, "no mariadbd here")


def test_draws(seed):
    assert seed == 1
"""


HANGS = """
import time

import pytest


@pytest.mark.timeout(1)
def test_hangs():
    while True:
        time.sleep(0.05)
"""


def run_pytest(tmp_path, *args, ci="", test_seed=None, probe=PROBE):
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_probe.py").write_text(probe)
    basetemp = str(tmp_path / "basetemp")
    env = dict(scrubbed_environ(), PYTHONPATH=str(ROOT), CI=ci)
    env.pop("TEST_SEED", None)
    if test_seed is not None:
        env["TEST_SEED"] = test_seed
    return subprocess.run(
        # A basetemp of its own: pytest would otherwise prune older runs' temporary directories,
        # such as the one holding the data of this run's private MariaDB.
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--basetemp", basetemp, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_skip_is_a_failure_under_ci(tmp_path):
    result = run_pytest(tmp_path, ci="true")
    assert result.returncode == 1
    assert "3 failed in" in result.stdout
    assert (
        "FAILED test_probe.py::test_skipped - skipped under CI, where every test must run: "
        "Skipped: nothing to test against"
    ) in result.stdout
    assert "skipped under CI, where every test must run: Skipped: no mariadbd here" in (
        result.stdout
    )


def test_a_skip_is_a_skip_elsewhere(tmp_path):
    result = run_pytest(tmp_path)
    assert "1 failed, 2 skipped in" in result.stdout


def test_the_default_seed_is_fixed_and_a_failure_prints_it(tmp_path):
    result = run_pytest(tmp_path)
    assert "TEST_SEED=114514 (randomised tests; set TEST_SEED to replay or vary)" in result.stdout
    assert "assert 114514 == 1" in result.stdout
    assert "TEST_SEED=114514 python -m pytest 'test_probe.py::test_draws'" in result.stdout


def test_test_seed_overrides_the_seed(tmp_path):
    result = run_pytest(tmp_path, test_seed="1")
    assert "TEST_SEED=1 (randomised tests" in result.stdout
    assert "2 skipped in" in result.stdout and "failed" not in result.stdout


def test_a_test_seed_that_is_no_number_is_a_usage_error(tmp_path):
    result = run_pytest(tmp_path, test_seed="abc")
    assert result.returncode == 4
    assert result.stderr.strip() == (
        "ERROR: TEST_SEED: must be a whole number from 0 to 4294967295, got 'abc'"
    )


def test_every_test_has_a_time_limit(tmp_path):
    config = ("-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "test_probe.py")
    result = run_pytest(tmp_path, *config, probe=HANGS)
    assert "timeout: 60.0s" in result.stdout  # the default, from pyproject.toml
    assert "Failed: Timeout (>1.0s) from pytest-timeout." in result.stdout  # a marker's own
    assert result.returncode == 1


WITHOUT_MYSQLCLIENT = """
import pytest
from tests import conftest

conftest.DRIVER_MODULES["mysqlclient"] = "no_such_driver_module"  # as if it were not installed


@pytest.mark.mysqlclient
def test_needs_it():
    pass


@pytest.mark.parametrize("driver_name", ["pymysql", conftest.MYSQLCLIENT])
def test_each(driver_name):
    pass
"""


def test_mysqlclient_tests_are_skipped_where_it_is_not_installed(tmp_path):
    result = run_pytest(tmp_path, "-rs", probe=WITHOUT_MYSQLCLIENT)
    assert "1 passed, 2 skipped in" in result.stdout
    assert "mysqlclient is not installed (pip install -r requirements-mysqlclient.txt)" in (
        result.stdout
    )
    result = run_pytest(tmp_path, ci="true", probe=WITHOUT_MYSQLCLIENT)
    assert result.returncode == 1 and "1 passed, 2 errors in" in result.stdout


def noxfile_constant(name):
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py has no %s" % name)


def test_the_docs_name_exactly_the_matrix():
    assert noxfile_constant("PYTHONS") == ["3.10", "3.11", "3.12", "3.13"]
    assert list(noxfile_constant("PEEWEES")) == ["4", "3.17"]
    assert "You need Python 3.10 or newer." in (ROOT / "README.md").read_text()
    tests_readme = " ".join((ROOT / "tests" / "README.md").read_text().split())
    assert "on CPython 3.10, 3.11, 3.12 and 3.13, each with peewee 4.x and with peewee 3.17" in (
        tests_readme
    )


def test_runs_get_no_setting_nor_a_name_the_dialect_would_refuse(monkeypatch):
    refused = ("TIDB_HOST", "DATABASE_URL", "CA_PATH", "TIDB_VERSION", "tidb_host", "DATABASE_URI")
    for name in (*refused, "MANPATH"):
        monkeypatch.setenv(name, "x")
    kept = scrubbed_environ()
    assert set(refused).isdisjoint(kept)
    assert kept["MANPATH"] == "x"
