"""Every private attribute of another library the dialect uses, each with its reason.

Only for correctness or security, or for at least 1.3x on a figure users see.
tests/test_private.py fails when a release of peewee, playhouse or PyMySQL
changes one (run it on peewee 3.17 and 4.x). aio.py keeps pwasyncio's and
aiomysql's beside the code that needs them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import peewee

#: peewee's translation of a driver's errors into its own, as around every statement it sends
#: (correctness: a statement sent without a cursor raises what peewee's would). Not in its stubs.
DRIVER_ERRORS = peewee.__exception_wrapper__  # type: ignore[attr-defined]


@contextlib.contextmanager
def pymysql_read_timeout(conn: Any, seconds: int) -> Iterator[None]:
    """PyMySQL reads the server's greeting with its read timeout (none by default): bounded
    by `seconds` for the handshake, the caller's again after it (correctness: a server that
    accepts and never speaks must not hang the program)."""
    read_timeout = conn._read_timeout  # read by PyMySQL on every packet
    conn._read_timeout = min(seconds, read_timeout or seconds)
    try:
        yield
    finally:
        conn._read_timeout = read_timeout


def socket_of(conn: Any) -> Any:
    """The object whose fileno() is the connection's socket: PyMySQL's `_sock`, mysqlclient's
    connection itself (correctness: a connection the server closed is seen before a write is
    sent on it, not after, when its outcome would be unknown)."""
    sock = getattr(conn, "_sock", None)
    return conn if sock is None else sock


def stale_timeout(pool: Any) -> int | None:
    """playhouse's pool keeps the stale_timeout it was given in `_stale_timeout` and offers
    no reader: the dialect defaults it for TiDB Cloud's gateway, which drops connections."""
    value: int | None = pool._stale_timeout
    return value


def set_stale_timeout(pool: Any, seconds: int | None) -> None:
    pool._stale_timeout = seconds


def set_model_data(instance: peewee.Model, data: dict[str, Any]) -> None:
    """What peewee's Model.__init__ leaves for plain fields (a value dict, every field
    dirty, no related rows), made at once: 1.5-1.6x the rows/s of a bulk load that makes
    its objects, measured side by side on loopback MariaDB (20,000 rows)."""
    instance.__data__ = data
    instance._dirty = set(data)  # type: ignore[attr-defined]  # not in its stubs
    instance.__rel__ = {}


def model_data(instance: peewee.Model) -> dict[str, Any]:
    """An object's field values by name (read for the bulk load, as above)."""
    data: dict[str, Any] = instance.__data__
    return data
