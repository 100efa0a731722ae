"""tidb_dialect/_private.py: each private name of another library still means what the
dialect takes it to mean. Run on peewee 3.17 and 4.x; a failure names the release that moved it.

Behaviour that rests on them is tested beside it: the handshake's bound
(test_connection.py), a closed pool connection seen unasked (test_pool.py), asyncio's TLS
and greeting (test_aio.py).
"""

import asyncio
import inspect
import socket
import ssl

import pymysql
import pytest
from playhouse.pool import PooledMySQLDatabase

from tests.conftest import make_async_db, run_on
from tidb_dialect import PooledTiDBDatabase, TiDBDatabase
from tidb_dialect._private import (
    default_stale_timeout,
    pymysql_read_timeout,
    socket_of,
)


def test_pymysqls_read_timeout_bounds_the_handshake_and_is_restored():
    conn = pymysql.connect(defer_connect=True, read_timeout=7)
    assert conn._read_timeout == 7  # the attribute PyMySQL reads on every packet
    with pymysql_read_timeout(conn, 1):
        assert conn._read_timeout == 1
    assert conn._read_timeout == 7
    unbounded = pymysql.connect(defer_connect=True)
    with pymysql_read_timeout(unbounded, 3):
        assert unbounded._read_timeout == 3
    assert unbounded._read_timeout is None


def test_pymysqls_socket_is_the_connections(server):
    conn = pymysql.connect(
        host=server.host, port=server.port, user=server.user, password=server.password
    )
    sock = socket.socket(fileno=socket_of(conn).fileno())
    try:
        assert sock.getpeername()[1] == server.port
    finally:
        sock.detach()  # the connection's own: not closed here
        conn.close()


def test_playhouses_stale_timeout_is_the_one_given_or_the_default():
    given = PooledMySQLDatabase("x", stale_timeout=7)
    default_stale_timeout(given, 300)
    assert given._stale_timeout == 7
    pool = PooledMySQLDatabase("x")
    assert pool._stale_timeout is None
    default_stale_timeout(pool, 300)
    pool.init("x")  # init() without stale_timeout keeps it
    assert pool._stale_timeout == 300


def test_peewee_opens_each_connection_with_new_connection_and_shows_the_first(server_settings):
    """Database._connect() and, on the first connection only, _set_server_version()."""
    seen = []

    class Seen(TiDBDatabase):
        def new_connection(self):
            seen.append("new")
            return super().new_connection()

        def first_connected(self, conn):
            seen.append("first")
            super().first_connected(conn)

    db = Seen(server_settings.database, **server_settings.connect_params())
    for _ in range(2):
        db.connect()
        db.close()
    assert seen == ["new", "first", "new"]
    assert db.version is not None and db.server_version == db.version.mysql


def test_playhouses_pool_asks_the_dialect_at_checkout_and_at_return(server_settings):
    """_is_closed() on each checkout of a pooled connection, _can_reuse() on each return."""
    seen = []

    class Seen(PooledTiDBDatabase):
        def unusable(self, conn):
            seen.append("checkout")
            return super().unusable(conn)

        def reusable(self, conn):
            seen.append("return")
            return super().reusable(conn)

    pool = Seen(server_settings.database, max_connections=1, **server_settings.connect_params())
    for _ in range(2):
        pool.connect()
        pool.close()
    assert seen == ["return", "checkout", "return"]
    pool.close_all()


@pytest.mark.pwasyncio
def test_aiomysql_connection_internals_that_keep_tls_and_bound_the_greeting():
    import aiomysql

    assert inspect.iscoroutinefunction(aiomysql.Connection._connect)
    assert inspect.iscoroutinefunction(aiomysql.Connection._request_authentication)
    context = ssl.create_default_context()

    async def made():
        return aiomysql.Connection(host="127.0.0.1", port=4000, ssl=context)

    conn = asyncio.run(made())
    assert (conn._host, conn._port, conn._ssl_context) == ("127.0.0.1", 4000, context)


@pytest.mark.pwasyncio
def test_aiomysql_pool_fills_itself_through_its_module_connect():
    import aiomysql

    names = aiomysql.Pool._fill_free_pool.__code__.co_names
    assert {"connect", "_reader", "at_eof", "exception", "eof_received"} <= set(names)
    assert aiomysql.Pool._fill_free_pool.__globals__["connect"] is aiomysql.connect


@pytest.mark.pwasyncio
@pytest.mark.mariadb
def test_pwasyncio_pool_hook_and_sizes_make_a_pool_of_the_dialects_connections(server):
    from playhouse import pwasyncio

    from tidb_dialect._private import aiomysql_connection

    assert "_create_pool_async" in vars(pwasyncio.AsyncMySQLDatabase)
    db = make_async_db(server, pool_size=3, pool_min_size=2)
    assert (db._pool_size, db._pool_min_size) == (3, 2)

    async def connection():
        conn = (await db.aconnect()).conn
        return type(conn), type(conn._reader), conn._reader.eof_received

    made, reader, eof_received = run_on(db, connection)
    assert issubclass(made, aiomysql_connection()) and issubclass(reader, asyncio.StreamReader)
    assert eof_received is False
