"""tidb_dialect/reflection.py: models that pwiz generates from a tidb:// database import and work.

The code is generated from tables on the test server, written to a file and
imported by a fresh Python process, which then reads the rows through it.
"""

import contextlib
import io
import subprocess
import sys

import pwiz
import pytest
from playhouse.reflection import Introspector as PlayhouseIntrospector
from playhouse.reflection import generate_models

from tests.conftest import ROOT, SECRET_PASSWORD, scrubbed_environ
from tidb_dialect import PooledTiDBDatabase, TiDBDatabase, connect_url
from tidb_dialect.reflection import print_models

TABLES = [
    "CREATE TABLE team (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)",
    "CREATE TABLE player (id VARCHAR(36) PRIMARY KEY, coins INT NOT NULL, "
    "team_id INT, FOREIGN KEY (team_id) REFERENCES team (id))",
    "INSERT INTO team VALUES (1, 'red')",
    "INSERT INTO player VALUES ('p1', 100, 1), ('p2', 5, NULL)",
]

#: Run by the fresh process beside models.py: the generated models read the rows.
READ_BACK = """
import models
print(type(models.database).__name__, models.database.connect_params["host"])
print(sorted((p.id, p.coins, p.team_id) for p in models.Player.select()))
print([t.name for t in models.Team.select()])
"""


@pytest.fixture
def tables(server, database_name, driver):
    """A database URL (tidb://, with the driver) naming the test's database, holding TABLES."""
    url = "tidb://%s@%s:%d/%s?driver=%s" % (
        server.user,
        server.host,
        server.port,
        database_name,
        driver,
    )
    db = connect_url(url)
    for statement in TABLES:
        db.execute_sql(statement)
    db.close()
    return url


def generated(print_them):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_them()
    return out.getvalue()


def import_in_a_new_process(code, folder):
    (folder / "models.py").write_text(code)
    env = dict(scrubbed_environ(), PYTHONPATH="%s:%s" % (folder, ROOT))
    return subprocess.run(
        [sys.executable, "-c", READ_BACK], cwd=folder, env=env, capture_output=True, text=True
    )


EXPECTED = "TiDBDatabase 127.0.0.1\n[('p1', 100, 1), ('p2', 5, None)]\n['red']\n"


def test_playhouses_introspector_names_a_class_it_does_not_import(tables, tmp_path):
    """Why the dialect has its own: pwiz's code from a TiDBDatabase fails on import."""
    db = connect_url(tables)
    code = generated(lambda: pwiz.print_models(PlayhouseIntrospector.from_database(db)))
    db.close()
    result = import_in_a_new_process(code, tmp_path)
    assert "NameError: name 'TiDBDatabase' is not defined" in result.stderr


def test_generated_models_import_and_read_the_rows(tables, tmp_path):
    db = connect_url(tables)
    code = generated(lambda: print_models(db))
    db.close()
    assert "from tidb_dialect import TiDBDatabase\n" in code
    result = import_in_a_new_process(code, tmp_path)
    assert (result.stdout, result.stderr) == (EXPECTED, "")


def test_the_command_line_writes_the_same_models(tables, tmp_path):
    command = [sys.executable, "-m", "tidb_dialect.reflection", tables]
    code = subprocess.run(
        command, cwd=ROOT, env=scrubbed_environ(), capture_output=True, text=True, check=True
    ).stdout
    result = import_in_a_new_process(code, tmp_path)
    assert (result.stdout, result.stderr) == (EXPECTED, "")


def test_generated_code_never_holds_the_password_and_keeps_tls(tls_server, tls_database_name):
    """TLS keywords as given (PyMySQL's SSLContext is no Python literal), no password."""
    tls = {"host": tls_server.host, "port": tls_server.port, "ssl_ca": tls_server.ca_path}
    admin = TiDBDatabase(tls_database_name, user=tls_server.user, **tls)
    admin.execute_sql("CREATE USER reflect IDENTIFIED BY %s", (SECRET_PASSWORD,))
    admin.execute_sql("GRANT ALL ON `%s`.* TO reflect" % tls_database_name)
    admin.execute_sql("CREATE TABLE team (id INT PRIMARY KEY)")
    try:
        db = TiDBDatabase(tls_database_name, user="reflect", password=SECRET_PASSWORD, **tls)
        code = generated(lambda: print_models(db))
        db.close()
    finally:
        admin.execute_sql("DROP USER reflect")
        admin.close()
    assert SECRET_PASSWORD not in code and "SSLContext" not in code
    assert "class Team(BaseModel):" in code
    namespace = {}
    exec(code, namespace)  # the header makes the same database, without the password
    made = namespace["database"]
    assert type(made) is TiDBDatabase and "password" not in made.connect_params
    assert made.connect_params["ssl"].check_hostname


def test_a_pool_is_generated_as_a_pool():
    code = generated(lambda: print_models(PooledTiDBDatabase("test"), tables=[]))
    assert "from tidb_dialect import PooledTiDBDatabase\n" in code
    assert "database = PooledTiDBDatabase('test', **{'driver': 'pymysql'})" in code


def test_generate_models_works_on_a_tidb_database(tables):
    db = connect_url(tables)
    models = generate_models(db)
    assert sorted(models) == ["player", "team"]
    assert models["player"].select().count() == 2
    db.close()
