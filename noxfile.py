"""Lint, types and the test matrix, the same for a developer and for CI (`.ci/run`).

    nox                          # everything: lint, types, tests on every Python and peewee
    nox -s lint types            # ruff and mypy only
    nox -s "tests-3.12(peewee='3.17')" -- -x tests/test_fields.py   # one cell, pytest arguments

The tests sessions run the README's test command, `python -m pytest`, with CI=true: a skipped
test fails there (tests/conftest.py), since the matrix must run every test. They need what
`.ci/run` installs on a fresh machine: `mariadbd`, and the client headers mysqlclient builds with.
"""

import os
import re
import shutil
import subprocess

import nox

#: The matrix. README.md ("Quick start") names exactly these versions.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PEEWEES = {"4": "peewee>=4,<5", "3.17": "peewee==3.17.*"}

nox.options.sessions = ["lint", "types", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"


def let_pyenv_answer_for_the_matrix():
    """pyenv's shims answer for one version at a time; let them answer for each of PYTHONS."""
    if "PYENV_VERSION" in os.environ or not shutil.which("pyenv"):
        return
    bare = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout
    installed = [v for v in bare.split() if re.fullmatch(r"\d+\.\d+\.\d+", v)]
    wanted = [v for v in installed if v.rsplit(".", 1)[0] in PYTHONS]
    if wanted:
        os.environ["PYENV_VERSION"] = ":".join(wanted)


let_pyenv_answer_for_the_matrix()


@nox.session
def lint(session):
    """ruff check and ruff format --check, at the version requirements-dev.txt pins."""
    session.install("-c", "requirements-dev.txt", "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session):
    """mypy --strict on tidb_dialect/, peewee_example.py, player_cli/ and examples/ (settings in
    pyproject.toml), against peewee's own stubs and Flask's and FastAPI's types."""
    session.install("-c", "requirements-dev.txt", "mypy", "-r", "requirements-examples.txt")
    session.run("mypy")


@nox.session(python=PYTHONS)
@nox.parametrize("peewee", list(PEEWEES))
def tests(session, peewee):
    """The whole suite, both drivers, on one Python and one peewee series."""
    session.install(
        "-r", "requirements-test.txt", "-r", "requirements-mysqlclient.txt", PEEWEES[peewee]
    )
    session.run("python", "-m", "pytest", *session.posargs, env={"CI": "true"})


@nox.session(python=PYTHONS[-1])
def upstream(session):
    """peewee's own MySQL and asyncio suites, as shipped and on the dialect: every test that passes
    on MySQLDatabase and AsyncMySQLDatabase must pass on TiDBDatabase and AsyncTiDBDatabase
    (tests/peewee_suites.py). peewee's sdist holds no tests/: name a checkout of peewee (a
    release's tag) as the argument or in PEEWEE_SOURCE; peewee is installed from it, so that the
    tests and the library are one release: `nox -s upstream -- ../peewee`."""
    source = (session.posargs or [os.environ.get("PEEWEE_SOURCE", "")])[0]
    if not os.path.isfile(os.path.join(source, "tests", "base.py")):
        session.error("upstream: name a checkout of peewee (its sdist holds no tests/)")
    session.install("-r", "requirements-asyncio.txt", "mirakuru", "aiosqlite")
    # NO_SQLITE: peewee's setup.py then builds no C extension (the SQLite UDFs, unused here).
    session.install(source, env={"NO_SQLITE": "1"})
    session.run("python", "-m", "tests.peewee_suites", source)
