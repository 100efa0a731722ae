"""peewee's own test suites on the dialect: every test that passes on plain peewee must pass on it.

    python -m tests.peewee_suites PEEWEE_SOURCE      # or `nox -s upstream -- PEEWEE_SOURCE`

PEEWEE_SOURCE is a checkout of peewee at the installed release (its sdist holds no tests/). On a
private MariaDB (tests/kit/servers.py) each suite runs twice, as runtests.py runs it, each run in
a process of its own: as shipped, and with the dialect put in through peewee's harness (its
`db_loader`, and the module global the asyncio suite builds its database from). The MySQL suite
is runtests.py's `-e mysql` (peewee 4's holds the asyncio tests too), the asyncio suite its `-a`
(peewee 3.17 has none). A test that passes as shipped and not on the dialect fails this check
unless EXPECTED names it with the rule behind it; an EXPECTED entry that passes on the dialect
fails it too, so the table stays true. Both suites take about four minutes.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

#: Tests that pass on plain peewee and deliberately not on the dialect: test id -> the rule.
EXPECTED = {
    "tests.pwasyncio.TestMySQLIntegration.test_gather_inside_atomic": (
        "tasks gathered inside a transaction would write on other connections, outside it, and "
        "survive its rollback: the dialect refuses them (tests/test_aio_survival.py)"
    ),
}

SUITES = ("mysql", "asyncio")


def has_asyncio(source):
    """peewee 4 has asyncio tests; 3.17 none."""
    return os.path.isfile(os.path.join(source, "tests", "pwasyncio.py"))


VARIANTS = ("plain", "dialect")


def load_suite(source, suite, variant):
    """peewee's tests from `source`, with the dialect in place of MySQLDatabase when asked."""
    init = os.path.join(source, "tests", "__init__.py")
    spec = importlib.util.spec_from_file_location(
        "tests", init, submodule_search_locations=[os.path.dirname(init)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["tests"] = package
    # tests/base.py builds the shared database as it is imported, before tests/__init__.py
    # imports the test modules that use it: import it alone, then swap the database.
    import tests.base as base

    if variant == "dialect":
        from tidb_dialect import TiDBDatabase

        shipped_loader = base.db_loader

        def db_loader(engine, name="peewee_test", db_class=None, **params):
            if db_class is None and engine.lower() in ("mysql", "mysql8"):
                db_class = TiDBDatabase
            return shipped_loader(engine, name, db_class, **params)

        base.db_loader = db_loader
        db = base.new_connection()
        if "mariadb" in vars(base.db):  # peewee 4's tests/base.py tells its database which it is
            db.mariadb = base.db.mariadb
        base.db = db
        base.TestModel._meta.set_database(db)
        for case in (base.DatabaseTestCase, base.ModelDatabaseTestCase, base.ModelTestCase):
            case.database = db
        # peewee 4's asyncio tests build their MySQL database from this module global; its
        # whole suite (tests/__init__.py) holds them too.
        if has_asyncio(source):
            import tests.pwasyncio
            from tidb_dialect.aio import AsyncTiDBDatabase

            tests.pwasyncio.AsyncMySQLDatabase = AsyncTiDBDatabase
    if suite == "asyncio":
        import tests.pwasyncio as module
    else:
        spec.loader.exec_module(package)
        module = package
    return unittest.TestLoader().loadTestsFromModule(module)


class Outcomes(unittest.TextTestResult):
    """unittest's text result that also keeps each test's outcome, and the traceback."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}

    def keep(self, test, outcome, detail=""):
        self.outcomes[test.id()] = [outcome, detail]

    def addSuccess(self, test):
        super().addSuccess(test)
        self.keep(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.keep(test, "failed", self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self.keep(test, "failed", self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.keep(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.keep(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.keep(test, "failed", "unexpected success")


def run_one(source, suite, variant, report):
    """In this process: run one suite on one variant, write {test id: [outcome, detail]}."""
    tests = load_suite(source, suite, variant)
    runner = unittest.TextTestRunner(resultclass=Outcomes, verbosity=0)
    result = runner.run(tests)
    for test, detail in result.errors:  # class and module fixtures, outside any test
        if test.id() not in result.outcomes:
            result.outcomes[test.id()] = ["failed", detail]
    with open(report, "w") as out:
        json.dump(result.outcomes, out)


def counts(outcomes):
    tally = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome, _ in outcomes.values():
        tally[outcome] += 1
    return "%(passed)d passed, %(failed)d failed, %(skipped)d skipped" % tally


def compare(plain, dialect):
    """Problems: a test passing as shipped and not on the dialect, and EXPECTED entries not true."""
    problems = []
    for test_id, (outcome, _) in sorted(plain.items()):
        got, detail = dialect.get(test_id, ["missing", ""])
        if outcome == "passed" and got != "passed" and test_id not in EXPECTED:
            problems.append(
                "%s: passes on plain peewee, %s on the dialect\n%s" % (test_id, got, detail)
            )
    for test_id, reason in sorted(EXPECTED.items()):
        if dialect.get(test_id, ["missing"])[0] == "passed":
            problems.append("%s: passes on the dialect; EXPECTED says: %s" % (test_id, reason))
    return problems


def run_variant(source, suite, variant, scratch, env):
    """One suite on one variant in a process of its own; its outcomes."""
    report = os.path.join(scratch, "%s-%s.json" % (suite, variant))
    started = time.monotonic()
    command = [sys.executable, os.path.abspath(__file__), source, "--one", suite, variant, report]
    # The run writes files (SQLite databases) in its working directory.
    subprocess.run(command, cwd=scratch, env=env)
    with open(report) as kept:
        outcomes = json.load(kept)
    seconds = time.monotonic() - started
    print("%s suite on %s: %s (%.0f s)" % (suite, variant, counts(outcomes), seconds), flush=True)
    return outcomes


def run_all(source, suites):
    from tests.kit.servers import PrivateServer

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems, checked = [], 0
    with tempfile.TemporaryDirectory(prefix="peewee-suites-") as scratch:
        server = PrivateServer(os.path.join(scratch, "mariadb")).install().start()
        try:
            login = ["mariadb", "--no-defaults", "-uroot", "-h127.0.0.1", "-P%d" % server.port]
            subprocess.run(login, input="CREATE DATABASE peewee_test", text=True, check=True)
            env = dict(
                os.environ,
                PEEWEE_TEST_BACKEND="mysql",
                PEEWEE_MYSQL_HOST=server.host,
                PEEWEE_MYSQL_PORT=str(server.port),
                PEEWEE_MYSQL_USER=server.user,
                # The dialect; peewee is the installed one (never the checkout's peewee.py).
                PYTHONPATH=os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]),
            )
            for suite in suites:
                if suite == "asyncio" and not has_asyncio(source):
                    print("asyncio suite: none in this release of peewee")
                    continue
                plain = run_variant(source, suite, "plain", scratch, env)
                dialect = run_variant(source, suite, "dialect", scratch, env)
                problems += compare(plain, dialect)
                checked += sum(1 for outcome, _ in plain.values() if outcome == "passed")
        finally:
            server.stop()
    for problem in problems:
        print("\nDIFFERENCE " + problem)
    # Each test that passes as shipped is one check; a stale EXPECTED entry fails one more.
    print("peewee suites: %d passed, %d failed" % (checked - len(problems), len(problems)))
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a checkout of peewee at the installed release")
    parser.add_argument("--suite", choices=SUITES, action="append", help="default: both")
    parser.add_argument(
        "--one", nargs=3, metavar=("SUITE", "VARIANT", "REPORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    source = os.path.abspath(args.source)
    if not os.path.isfile(os.path.join(source, "tests", "base.py")):
        parser.exit(2, "peewee_suites: %s holds no tests/base.py (peewee's test suite)\n" % source)
    if args.one:
        run_one(source, *args.one)
        return 0
    return run_all(source, args.suite or SUITES)


if __name__ == "__main__":
    sys.exit(main())
