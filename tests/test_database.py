"""TiDBDatabase against the real server, with each driver."""

import logging
import re

import pytest
from peewee import (
    CharField,
    DatabaseError,
    InterfaceError,
    Model,
    MySQLDatabase,
    NotSupportedError,
)

from tests.conftest import (
    DRIVER_MODULES,
    MYSQLCLIENT,
    TIDB_MODE,
    fake_db,
    fake_tidb,
    server_environ,
)
from tidb_dialect import ConfigError, PooledTiDBDatabase, TiDBDatabase, parse_version
from tidb_dialect.database import savepoint_refusal
from tidb_dialect.errors import error_code
from tidb_dialect.settings import database_from


def test_connects_with_each_driver_and_reads_version(server, database_name, driver):
    database = database_from(dict(server_environ(server, database_name), TIDB_DRIVER=driver))
    assert database.execute_sql("SELECT 1 + 1").fetchone()[0] == 2
    assert database.version.is_tidb == TIDB_MODE
    assert database.server_version == database.version.mysql
    assert type(database.connection()).__module__.split(".")[0] == DRIVER_MODULES[driver]
    database.close()


def test_unknown_driver_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^driver: unknown driver .mysql-connector. "):
        TiDBDatabase("test", driver="mysql-connector")


def test_nested_atomic_refused_before_tidb_6_2(mysql_db):
    mysql_db.connect()
    mysql_db.version = parse_version("5.7.25-TiDB-v6.1.0")
    with mysql_db.atomic():
        refused = pytest.raises(NotImplementedError, match=r"TiDB v6.1.0.*transaction\(\)")
        with refused, mysql_db.atomic():
            pass
        with mysql_db.transaction():  # flattened into the outer block
            mysql_db.execute_sql("SELECT 1")


def test_nested_atomic_allowed_from_tidb_6_2(mysql_db):
    mysql_db.connect()
    mysql_db.version = parse_version("8.0.11-TiDB-v6.2.0")
    with mysql_db.atomic(), mysql_db.atomic():
        assert mysql_db.execute_sql("SELECT 1").fetchone()[0] == 1


#: What peewee's MySQLDatabase decides for itself, from the server it connects to.
CAPABILITIES = (
    "server_version",
    "compound_select_parentheses",
    "for_update",
    "index_using_precedes_table",
    "limit_max",
    "nulls_ordering",
    "returning_clause",
    "safe_create_index",
    "safe_drop_index",
    "sequences",
)


@pytest.mark.mariadb
def test_on_mariadb_it_has_exactly_mysql_databases_capabilities(server_settings):
    params = dict(server_settings.connect_params(), driver="pymysql")
    tidb = TiDBDatabase(server_settings.database, **params)
    del params["driver"]
    plain = MySQLDatabase(server_settings.database, **params)
    for db in (tidb, plain):
        db.connect()
    # peewee 4 parenthesises compound members on MariaDB 10.4+ (CSQ_PARENTHESES_GROUPED = 3).
    grouped = 3 if hasattr(MySQLDatabase, "_set_csq_grouped") else 2
    assert tidb.compound_select_parentheses == grouped
    assert tidb.server_version[:2] == (10, 11)
    assert {name: getattr(tidb, name) for name in CAPABILITIES} == {
        name: getattr(plain, name) for name in CAPABILITIES
    }
    tidb_context, plain_context = tidb.get_context_options(), plain.get_context_options()
    assert tidb_context.pop("tidb_detect_server_version") == tidb.detect_server_version
    assert tidb_context.pop("tidb_in_transaction") == tidb.in_transaction
    assert tidb_context.keys() == plain_context.keys()
    assert {k: v for k, v in tidb_context.items() if not callable(v)} == {
        k: v for k, v in plain_context.items() if not callable(v)
    }
    for db in (tidb, plain):
        db.close()


def test_a_nested_atomic_block_rolls_back_alone(mysql_db):
    """A savepoint: the inner block's rollback keeps the outer block's work."""
    mysql_db.execute_sql("CREATE TABLE note (body VARCHAR(20))")
    with mysql_db.atomic():
        mysql_db.execute_sql("INSERT INTO note VALUES ('outer')")
        with mysql_db.atomic() as inner:
            mysql_db.execute_sql("INSERT INTO note VALUES ('inner')")
            inner.rollback()
    rows = mysql_db.execute_sql("SELECT body FROM note").fetchall()
    assert [body for (body,) in rows] == ["outer"]


@pytest.mark.parametrize("driver", ["pymysql", MYSQLCLIENT])
def test_like_makes_another_kind_of_database_with_the_same_keywords_and_driver(driver):
    db = TiDBDatabase("app", host="localhost", port=4001, user="u", password="pä€", driver=driver)
    pooled = PooledTiDBDatabase.like(db, max_connections=3)
    assert (pooled.database, pooled.driver, pooled._max_connections) == ("app", driver, 3)
    assert pooled.connect_params == db.connect_params


#: TiDB's answer to SAVEPOINT in a pessimistic transaction with in-place checks off (v6.3+).
IN_PLACE_OFF = (
    1105,
    "savepoint is not supported in pessimistic transactions when in-place constraint check "
    "is disabled",
)


SAVEPOINT_REFUSED = (
    "TiDB refused SAVEPOINT (error 1105): in a pessimistic transaction it needs "
    "tidb_constraint_check_in_place_pessimistic=ON, which this session has OFF. "
)
NEST_TRANSACTION = "nest transaction() instead of atomic(), which joins the outer transaction"
#: The advice on TiDB Self-Managed and Dedicated, where the variable can be set.
SET_IT = SAVEPOINT_REFUSED + (
    "Set it ON (SET SESSION tidb_constraint_check_in_place_pessimistic = ON; read-only on TiDB "
    'Cloud Starter, Essential and Premium), use atomic(mode="optimistic"), or ' + NEST_TRANSACTION
)
#: On TiDB Cloud Starter, Essential and Premium the variable is read-only: never "set it".
CLOUD = SAVEPOINT_REFUSED + (
    "It is read-only on TiDB Cloud Starter, Essential and Premium: " + NEST_TRANSACTION
)


@pytest.mark.parametrize(
    "version, explained",
    [
        ("8.0.11-TiDB-v6.2.0", None),
        ("8.0.11-TiDB-v6.3.0", SET_IT),
        ("8.0.11-TiDB-v8.5.3-serverless", CLOUD),
        ("8.0.11-TiDB-X-CLOUD.202510.1", CLOUD),
    ],
)
def test_a_savepoint_refused_with_1105_says_what_works_there(
    fake_server, driver, version, explained
):
    release = version.rpartition("TiDB-")[2]
    fake = fake_server(
        version=version,
        tidb_version="Release Version: %s" % release,
        answers={re.compile("^SAVEPOINT"): IN_PLACE_OFF},
    )
    db = fake_db(fake, driver)
    with pytest.raises(DatabaseError) as refused, db.atomic(), db.atomic():
        pass
    assert error_code(refused.value.__cause__ if explained else refused.value) == 1105
    assert isinstance(refused.value, NotSupportedError) == bool(explained)
    if explained:
        assert str(refused.value) == explained
    assert fake.statements[-1] == "ROLLBACK"
    db.close()


def test_a_savepoint_refusal_on_a_tidb_cloud_host_never_says_set_it():
    """Starter and Essential report a plain release (v7.5.2): their host says where they are."""
    db = TiDBDatabase("test", host="gateway01.us-west-2.prod.aws.tidbcloud.com")
    db.version = parse_version("8.0.11-TiDB-v7.5.2")
    assert savepoint_refusal(db) == CLOUD
    db = TiDBDatabase("test", host="127.0.0.1")
    db.version = parse_version("8.0.11-TiDB-v7.5.2")
    assert savepoint_refusal(db) == SET_IT


def test_a_1105_from_another_statement_is_left_as_it_is(fake_server, driver):
    fake = fake_tidb(fake_server, "v8.5.3", answers={re.compile("^UPDATE"): IN_PLACE_OFF})
    db = fake_db(fake, driver)
    with pytest.raises(DatabaseError) as refused, db.atomic(), db.atomic():
        db.execute_sql("UPDATE t SET a = 1")
    assert not isinstance(refused.value, NotSupportedError)
    assert error_code(refused.value) == 1105
    db.close()


@pytest.mark.mariadb
def test_begin_commit_and_rollback_are_statements_peewee_logs(driver_db, caplog):
    """The server counts them as sent; peewee's logger shows them (-v shows the transaction)."""

    def sent():
        rows = driver_db.execute_sql(
            "SHOW SESSION STATUS WHERE Variable_name IN ('Com_begin', 'Com_commit', 'Com_rollback')"
        ).fetchall()
        return {name: int(value) for name, value in rows}

    before = sent()
    caplog.set_level(logging.DEBUG, logger="peewee")
    with driver_db.atomic():
        driver_db.execute_sql("SELECT 1")
    with pytest.raises(LookupError), driver_db.atomic():
        raise LookupError("the block fails: ROLLBACK")
    logged = [record.msg[0] for record in caplog.records if record.name == "peewee"]
    assert logged[:5] == ["BEGIN", "SELECT 1", "COMMIT", "BEGIN", "ROLLBACK"]
    after = sent()
    assert {name: after[name] - before[name] for name in after} == {
        "Com_begin": 2,
        "Com_commit": 1,
        "Com_rollback": 1,
    }
    driver_db.close()
    for end in (driver_db.commit, driver_db.rollback):
        with pytest.raises(InterfaceError, match=r"^Cannot \w+, database connection not open\.$"):
            end()
    assert driver_db.is_closed()  # not ended on a new connection


SHARED_LOCK_REFUSED = (
    "TiDB has no shared locks: FOR SHARE (LOCK IN SHARE MODE) fails with error 1235, or takes "
    "no lock with tidb_enable_noop_functions=ON. Use for_update() (FOR UPDATE), as TiDB "
    "v8.3.0's tidb_enable_shared_lock_promotion does, or no lock"
)


def note_model(database):
    class Note(Model):
        body = CharField()

        class Meta:
            database = None

    Note._meta.set_database(database)
    return Note


@pytest.mark.parametrize(
    "lock", ["FOR SHARE", "LOCK IN SHARE MODE", "for share nowait", "For Share"]
)
def test_a_shared_lock_is_refused_on_tidb_before_it_is_sent(fake_server, driver, lock):
    """TiDB fails FOR SHARE with 1235, or takes no lock (tidb_enable_noop_functions=ON)."""
    fake = fake_tidb(fake_server, "v8.5.3")
    db = fake_db(fake, driver)
    Note = note_model(db)
    with pytest.raises(NotSupportedError) as refused, db.atomic():
        list(Note.select().where(Note.id == 1).for_update(lock))
    assert str(refused.value) == SHARED_LOCK_REFUSED
    assert fake.statements[-1] == "ROLLBACK"
    assert not [sql for sql in fake.statements if "SHARE" in sql.upper()]
    db.close()


@pytest.mark.mariadb
def test_a_shared_lock_is_sent_to_other_servers(mysql_db):
    Note = note_model(mysql_db)
    mysql_db.create_tables([Note])
    Note.create(body="kept")
    with mysql_db.atomic():
        rows = list(Note.select().for_update("LOCK IN SHARE MODE"))
    assert [note.body for note in rows] == ["kept"]


@pytest.mark.mariadb
def test_atomic_takes_peewees_isolation_level(driver_db):
    """As on MySQLDatabase (SET TRANSACTION ISOLATION LEVEL, then BEGIN): READ COMMITTED sees
    another connection's commit inside the transaction; the default, REPEATABLE READ, does not."""
    driver_db.execute_sql("CREATE TABLE isolated (id INT PRIMARY KEY) ENGINE=InnoDB")
    other = TiDBDatabase.like(driver_db)
    count = "SELECT COUNT(*) FROM isolated"
    seen = {}
    for isolation_level in ("READ COMMITTED", None):
        with driver_db.atomic(isolation_level=isolation_level):
            before = driver_db.execute_sql(count).fetchone()[0]
            other.execute_sql("INSERT INTO isolated VALUES (%d)" % (before + 1))
            seen[isolation_level] = (before, driver_db.execute_sql(count).fetchone()[0])
    other.close()
    assert seen == {"READ COMMITTED": (0, 1), None: (1, 1)}
