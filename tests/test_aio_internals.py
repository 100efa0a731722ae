"""The private names of aiomysql and pwasyncio that tidb_dialect/aio.py keeps, each for
security or correctness (see there): each test fails when the library changes one."""

import asyncio
import inspect
import ssl

import pytest

from tests.conftest import make_async_db, run_on

pytestmark = pytest.mark.pwasyncio


def test_aiomysql_connection_internals_that_keep_tls_and_bound_the_greeting():
    import aiomysql

    assert inspect.iscoroutinefunction(aiomysql.Connection._connect)
    assert inspect.iscoroutinefunction(aiomysql.Connection._request_authentication)
    context = ssl.create_default_context()

    async def made():
        return aiomysql.Connection(host="127.0.0.1", port=4000, ssl=context)

    conn = asyncio.run(made())
    assert (conn._host, conn._port, conn._ssl_context) == ("127.0.0.1", 4000, context)


def test_aiomysql_pool_fills_itself_through_its_module_connect():
    import aiomysql

    names = aiomysql.Pool._fill_free_pool.__code__.co_names
    assert {"connect", "_reader", "at_eof", "exception", "eof_received"} <= set(names)
    assert aiomysql.Pool._fill_free_pool.__globals__["connect"] is aiomysql.connect


@pytest.mark.mariadb
def test_pwasyncio_pool_hook_and_sizes_make_a_pool_of_the_dialects_connections(server):
    from playhouse import pwasyncio

    from tidb_dialect.aio import TiDBConnection

    assert "_create_pool_async" in vars(pwasyncio.AsyncMySQLDatabase)
    db = make_async_db(server, pool_size=3, pool_min_size=2)
    assert (db._pool_size, db._pool_min_size) == (3, 2)

    async def connection():
        conn = (await db.aconnect()).conn
        return type(conn), type(conn._reader), conn._reader.eof_received

    made, reader, eof_received = run_on(db, connection)
    assert issubclass(made, TiDBConnection) and issubclass(reader, asyncio.StreamReader)
    assert eof_received is False
