"""tidb_dialect/_private.py: each private attribute of another library still means what the
dialect takes it to mean. Run on peewee 3.17 and 4.x; a failure names the release that moved it.

Behaviour that rests on them is tested beside it: the handshake's bound
(test_connection.py), a closed pool connection seen unasked (test_pool.py), the
bulk load's objects (test_fast_bulk.py).
"""

import socket

import pymysql
import pytest
from peewee import CharField, IntegerField, Model, OperationalError
from playhouse.pool import PooledMySQLDatabase

from tidb_dialect._private import (
    DRIVER_ERRORS,
    model_data,
    pymysql_read_timeout,
    set_model_data,
    set_stale_timeout,
    socket_of,
    stale_timeout,
)


def test_peewees_exception_wrapper_turns_driver_errors_into_peewees():
    with pytest.raises(OperationalError) as raised, DRIVER_ERRORS:
        raise pymysql.err.OperationalError(2013, "Lost connection")
    assert raised.value.args == (2013, "Lost connection")
    assert isinstance(raised.value.__cause__ or raised.value.__context__, pymysql.err.Error)


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


def test_playhouses_stale_timeout_is_the_one_given():
    assert stale_timeout(PooledMySQLDatabase("x")) is None
    pool = PooledMySQLDatabase("x", stale_timeout=7)
    assert stale_timeout(pool) == 7
    set_stale_timeout(pool, 300)
    pool.init("x")  # init() without stale_timeout keeps it
    assert stale_timeout(pool) == 300


class Player(Model):
    id = CharField(primary_key=True)
    coins = IntegerField(default=5)


def test_an_object_made_from_its_data_is_peewees():
    made = Player.__new__(Player)
    set_model_data(made, {"coins": 5, "id": "a"})
    assert vars(made) == vars(Player(id="a"))  # nothing else in peewee's instance
    assert model_data(made) == {"coins": 5, "id": "a"}
    assert (made.id, made.coins, made.is_dirty()) == ("a", 5, True)
    assert sorted(f.name for f in made.dirty_fields) == ["coins", "id"]
