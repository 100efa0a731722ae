"""PooledTiDBDatabase and ReconnectingTiDBDatabase against the real server, through each driver."""

import pytest
from peewee import InterfaceError, OperationalError

from tidb_dialect import PooledTiDBDatabase, ReconnectingTiDBDatabase, TiDBDatabase

KILL_WAIT_QUERIES = 1000  # bound on polling for the killed connection to be gone


def connection_id(db):
    return db.execute_sql("SELECT CONNECTION_ID()").fetchone()[0]


def kill(admin, conn_id):
    """Kill a connection on the server and wait until the server has dropped it."""
    admin.execute_sql("KILL CONNECTION %d" % conn_id)
    for _ in range(KILL_WAIT_QUERIES):
        if not admin.execute_sql(
            "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s", (conn_id,)
        ).fetchone():
            return
    pytest.fail("connection %d was still there after %d checks" % (conn_id, KILL_WAIT_QUERIES))


def build(database_class, server_settings, driver, **options):
    params = dict(server_settings.connect_params(), driver=driver)
    return database_class(server_settings.database, **options, **params)


def test_pool_hands_back_the_same_connection(server_settings, driver, mysql_db):
    pool = build(PooledTiDBDatabase, server_settings, driver, max_connections=2)
    pool.connect()
    first = connection_id(pool)
    pool.close()  # back to the pool, not closed
    assert first in [
        row[0] for row in mysql_db.execute_sql("SELECT ID FROM information_schema.PROCESSLIST")
    ]
    pool.connect()
    assert connection_id(pool) == first
    assert pool.version is not None and pool.server_version == pool.version.mysql
    pool.close_all()


def test_pool_replaces_a_connection_the_server_dropped(server_settings, driver, mysql_db):
    pool = build(PooledTiDBDatabase, server_settings, driver, max_connections=2)
    pool.connect()
    first = connection_id(pool)
    pool.close()
    kill(mysql_db, first)
    pool.connect()
    assert connection_id(pool) != first
    pool.close_all()


def test_plain_database_fails_after_losing_its_connection(server_settings, driver, mysql_db):
    db = build(TiDBDatabase, server_settings, driver)
    kill(mysql_db, connection_id(db))
    with pytest.raises(OperationalError):
        connection_id(db)
    db.close()


def test_reconnects_outside_a_transaction(server_settings, driver, mysql_db):
    db = build(ReconnectingTiDBDatabase, server_settings, driver)
    first = connection_id(db)
    kill(mysql_db, first)
    assert connection_id(db) != first  # reconnected and ran the statement again
    db.close()


def test_never_reconnects_inside_a_transaction(server_settings, driver, mysql_db):
    db = build(ReconnectingTiDBDatabase, server_settings, driver)
    seen = []
    # The statement fails (and so may the ROLLBACK after it, on a dead socket).
    with pytest.raises((OperationalError, InterfaceError)), db.atomic():
        kill(mysql_db, connection_id(db))
        seen.append(connection_id(db))  # its transaction is gone: must fail, not reconnect
    assert seen == []
    db.close()
