"""Stale reads: TiDB's AS OF TIMESTAMP, for one SELECT or a read-only transaction.

A stale read sees the data as it was committed at a past moment, so any
replica may answer it; it trades freshness for latency. Only TiDB has it: on
any other server these helpers raise NotSupportedError instead of running a
fresh read that looks like a stale one.
"""

import copy
import datetime

from peewee import SQL, DatabaseError, Join, Node, NotSupportedError, Value, _transaction

from .database import context_server


class AsOfTimestamp(Node):
    """``AS OF TIMESTAMP <as_of>``: `as_of` is a datetime (in the session's
    time zone), a timedelta meaning that long before NOW(), or a SQL expression."""

    def __init__(self, as_of):
        if isinstance(as_of, datetime.timedelta):
            as_of = seconds_before_now(as_of)
        elif isinstance(as_of, datetime.datetime):
            as_of = Value(as_of)
        elif not isinstance(as_of, Node):
            raise TypeError(
                "as_of must be a datetime, a timedelta or a SQL expression, got %r" % (as_of,)
            )
        self.as_of = as_of

    def __sql__(self, ctx):
        version = context_server(ctx)
        if version is None or not version.is_tidb:
            raise NotSupportedError(
                "stale reads (AS OF TIMESTAMP) need TiDB, but this is %s"
                % (version or "not a TiDBDatabase")
            )
        return ctx.literal("AS OF TIMESTAMP ").sql(self.as_of)


def seconds_before_now(delta):
    seconds = delta.total_seconds()
    if seconds < 0:
        raise ValueError(
            "as_of: a timedelta must not be negative (it counts back from NOW()), got %r" % (delta,)
        )
    return SQL(
        "NOW() - INTERVAL %s SECOND"
        % ("%d" % seconds if seconds.is_integer() else "%.6f" % seconds)
    )


class _StaleSource(Node):
    """A table in FROM, followed by its AS OF clause (TiDB wants it after the alias)."""

    def __init__(self, source, clause):
        self.source, self.clause = source, clause

    def __sql__(self, ctx):
        return ctx.sql(self.source).literal(" ").sql(self.clause)


def _stale(source, clause):
    if isinstance(source, Join):
        join = copy.copy(source)
        join.lhs, join.rhs = _stale(source.lhs, clause), _stale(source.rhs, clause)
        return join
    return _StaleSource(source, clause)


def stale_select(query, as_of):
    """A copy of the SELECT `query` that reads every table as of `as_of`.

    Apply it last: joins and filters added afterwards see no tables.
    """
    clause = AsOfTimestamp(as_of)
    stale = query.clone()
    stale._from_list = [_stale(source, clause) for source in stale._from_list]
    return stale


class _StaleReadTransaction(_transaction):
    def __enter__(self):
        if self.db.in_transaction():
            raise DatabaseError(
                "stale_read() starts its own read-only transaction; "
                "call it outside any atomic() or transaction() block"
            )
        return super().__enter__()

    def _begin(self):
        (clause,), _ = self._begin_args
        ctx = self.db.get_sql_context()
        ctx.literal("START TRANSACTION READ ONLY ").sql(clause)
        self.db.execute_sql(*ctx.query())


def stale_read(db, as_of):
    """``with stale_read(db, as_of):`` every read inside sees the data as of `as_of`.

    The transaction is read-only: TiDB refuses writes inside it.
    """
    return _StaleReadTransaction(db, AsOfTimestamp(as_of))
