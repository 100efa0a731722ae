"""The checks of the player table before anything is written (player_cli/table.py).

Against the real MariaDB (and SQLite, and TiDB on the wire): a view named player, tables
whose engine has no transactions, a table the walkthrough creates under
`default_storage_engine=MyISAM`, a table with no primary key, and ids that
the table's collation takes as equal. Each refusal leaves every row as it was.
"""

import re
import sqlite3

import pytest

import peewee_example
from player_cli.table import TableMismatch, check_table
from tests.conftest import (
    database_on,
    error_lines,
    fake_db,
    fake_tidb,
    private_server,
    server_environ,
)
from tidb_dialect.settings import database_from

PLAYER = "id VARCHAR(36) NOT NULL PRIMARY KEY, coins INT NOT NULL, goods INT NOT NULL"
IMPORTANT_ROWS = [("p%02d" % n, n, 2 * n, "note %d" % n) for n in range(50)]
START = [("1", 100, 0), ("2", 114514, 20)]


def rows(database, table="player"):
    return database.execute_sql("SELECT * FROM %s ORDER BY id" % table).fetchall()


def insert(database, table, values):
    for row in values:
        database.execute_sql(
            "INSERT INTO %s VALUES (%s)" % (table, ", ".join(["%s"] * len(row))), row
        )


@pytest.fixture
def view_over_important(mysql_db):
    """The issue's case: `player` is a view over a table of 50 rows that the walkthrough
    would have emptied through it."""
    mysql_db.execute_sql(
        "CREATE TABLE important (id VARCHAR(36) NOT NULL PRIMARY KEY, coins INT NOT NULL, "
        "goods INT NOT NULL, note TEXT)"
    )
    insert(mysql_db, "important", IMPORTANT_ROWS)
    mysql_db.execute_sql("CREATE VIEW player AS SELECT id, coins, goods FROM important")
    return mysql_db


VIEW_REFUSED = (
    "error: player is a view, not a table: emptying it would delete the rows behind it. Nothing "
    "was changed: use another database, or drop it (DROP VIEW player) and run again\n"
)


@pytest.mark.parametrize("args", [(), ("--trade", "p02", "p01", "1", "1")], ids=["walk", "trade"])
def test_a_view_named_player_is_refused(
    run_example, server, database_name, view_over_important, driver, args
):
    result = run_example("--driver", driver, *args, environ=server_environ(server, database_name))
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (1, "", VIEW_REFUSED)
    assert rows(view_over_important, "important") == tuple(IMPORTANT_ROWS)


ENGINES = ["MyISAM", "Aria", "MEMORY"]


def engine_refused(engine):
    return (
        "error: the player table uses the %s engine, which has no transactions, so a failure "
        "could not be undone. Nothing was changed: convert it (ALTER TABLE player ENGINE=InnoDB) "
        "and run again\n" % engine
    )


@pytest.mark.mariadb  # MyISAM, Aria and MEMORY are MariaDB's; TiDB has InnoDB only
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "args",
    # the refused trade: player 2 has the goods, player 1 cannot pay (MyISAM kept the
    # buyer's half of the UPDATE); and one that would be done
    [(), ("--trade", "2", "1", "10", "500"), ("--trade", "2", "1", "2", "100")],
    ids=["walk", "refused trade", "trade"],
)
def test_a_table_without_transactions_is_refused_untouched(
    run_example, server, database_name, mysql_db, driver, engine, args
):
    mysql_db.execute_sql("CREATE TABLE player (%s) ENGINE=%s" % (PLAYER, engine))
    insert(mysql_db, "player", START)
    result = run_example("--driver", driver, *args, environ=server_environ(server, database_name))
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (
        1,
        "",
        engine_refused(engine),
    )
    assert rows(mysql_db) == tuple(START)


@pytest.fixture(scope="module")
def myisam_server(tmp_path_factory):
    """A private MariaDB of this module's own, whose new tables are MyISAM unless they say."""
    for private in private_server(tmp_path_factory.mktemp("mariadb-myisam")):
        admin = database_from(server_environ(private, "mysql"))
        admin.execute_sql("SET GLOBAL default_storage_engine = 'MyISAM'")
        admin.close()
        yield private


@pytest.fixture
def myisam_database(myisam_server):
    yield from database_on(myisam_server)


@pytest.mark.mariadb  # a private server of its own
def test_the_walkthrough_creates_innodb_whatever_the_default_engine(
    run_example, myisam_server, myisam_database, driver
):
    admin = database_from(server_environ(myisam_server, myisam_database))
    try:
        admin.execute_sql("CREATE TABLE probe (n INT)")  # the server's default: MyISAM
        result = run_example(
            "--driver", driver, environ=server_environ(myisam_server, myisam_database)
        )
        assert result.returncode == 0, result.stderr
        engines = admin.execute_sql(
            "SELECT table_name, engine FROM information_schema.tables "
            "WHERE table_schema = DATABASE() ORDER BY table_name"
        ).fetchall()
    finally:
        admin.close()
    assert engines == (("player", "InnoDB"), ("probe", "MyISAM"))


NO_KEY = "CREATE TABLE player (id VARCHAR(36) NOT NULL, coins INT NOT NULL, goods INT NOT NULL)"


def test_a_table_without_a_primary_key_is_refused_untouched(
    run_example, server, database_name, mysql_db
):
    mysql_db.execute_sql(NO_KEY)
    insert(mysql_db, "player", [*START, ("1", 5, 5)])  # without a key, ids can repeat
    result = run_example(environ=server_environ(server, database_name))
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (
        1,
        "",
        "error: the player table does not match the Player model: it has no primary key. "
        "Nothing was changed: use another database, or drop the table (DROP TABLE player) and "
        "run again\n",
    )
    assert rows(mysql_db) == (("1", 100, 0), ("1", 5, 5), ("2", 114514, 20))


@pytest.fixture
def abc_and_buyer(mysql_db):
    """Player `abc` holds 5 goods; the table's collation (case-insensitive, MariaDB's default
    for utf8mb4) takes `ABC` for it."""
    mysql_db.execute_sql("CREATE TABLE player (%s) COLLATE utf8mb4_general_ci" % PLAYER)
    insert(mysql_db, "player", [("abc", 0, 5), ("buyer", 1000, 0)])
    return mysql_db


@pytest.mark.mariadb  # TiDB compares by its collations only when new_collation is on
@pytest.mark.parametrize(
    "amount, status, stdout, after",
    [
        ("1", 0, "trade success\n", (("abc", 10, 4), ("buyer", 990, 1))),
        ("50", 3, "sell player ABC goods not enough\n", (("abc", 0, 5), ("buyer", 1000, 0))),
    ],
    ids=["done", "refused"],
)
def test_ids_compare_as_the_tables_collation_compares_them(
    run_example, server, database_name, abc_and_buyer, driver, amount, status, stdout, after
):
    result = run_example(
        "--driver",
        driver,
        "--trade",
        "ABC",
        "buyer",
        amount,
        "10",
        environ=server_environ(server, database_name),
    )
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (status, stdout, "")
    assert rows(abc_and_buyer) == after


def test_a_view_named_player_in_sqlite_is_refused(run_example, tmp_path):
    with sqlite3.connect(tmp_path / "player.db") as connection:
        connection.execute(
            "CREATE TABLE important (id TEXT PRIMARY KEY, coins INT, goods INT, note TEXT)"
        )
        connection.executemany("INSERT INTO important VALUES (?, ?, ?, ?)", IMPORTANT_ROWS)
        connection.execute("CREATE VIEW player AS SELECT id, coins, goods FROM important")
    connection.close()
    result = run_example("--url", "sqlite:///player.db")
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (1, "", VIEW_REFUSED)
    with sqlite3.connect(tmp_path / "player.db") as connection:
        assert (
            connection.execute("SELECT * FROM important ORDER BY id").fetchall() == IMPORTANT_ROWS
        )
    connection.close()


# --- TiDB, on the wire ---------------------------------------------------------------------

#: What TiDB reports (pingcap/docs, information-schema/information-schema-engines.md): one
#: engine, InnoDB, with transactions; and InnoDB as the engine of every table.
TIDB_ENGINES = {"InnoDB": "YES"}


def tidb_answers(tables):
    """Answers of a fake TiDB whose database holds `tables` ({name: (type, engine)}), for the
    table kind (joined as the query joins them), the columns and the key of the model's table."""

    def kind(statement):
        name = re.search(r"table_name = '(\w+)'", statement)[1]
        if name not in tables:
            return []
        table_type, engine = tables[name]
        return [(table_type, engine, TIDB_ENGINES.get(engine))]

    def columns(statement):  # peewee 4 asks for column_type and extra too, 3.17 does not
        wide = "column_type" in statement
        rows = [
            ("id", "NO", "varchar", None),
            ("coins", "NO", "int", None),
            ("goods", "NO", "int", None),
        ]
        return [row + (("%s" % row[2], "") if wide else ()) for row in rows]

    return {
        re.compile(r"information_schema\.engines"): kind,
        re.compile(r"information_schema\.columns"): columns,
        re.compile(r"SHOW INDEX FROM"): [
            ("player", 0, "PRIMARY", 1, "id", "A", 0, None, None, "", "BTREE", "", "")
        ],
    }


@pytest.mark.parametrize(
    "tables, refused",
    [
        ({"player": ("BASE TABLE", "InnoDB")}, None),
        ({"player": ("VIEW", None)}, "player is a view, not a table"),
        ({}, "there is no player table"),
    ],
    ids=["table", "view", "none"],
)
def test_on_tidb_every_table_is_transactional(fake_server, driver, tables, refused):
    fake = fake_tidb(fake_server, "v8.5.3", answers=tidb_answers(tables))
    database = fake_db(fake, driver)
    peewee_example.db.initialize(database)
    try:
        if refused:
            with pytest.raises(TableMismatch, match=refused):
                check_table(create=False)
        else:
            assert check_table(create=False) == []
            assert check_table(create=True) == []
    finally:
        peewee_example.db.initialize(None)
        database.close()
    assert [s for s in fake.statements if s.startswith(("DELETE", "CREATE", "UPDATE"))] == []
