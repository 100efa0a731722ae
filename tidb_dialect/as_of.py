"""Stale reads (TiDB's AS OF TIMESTAMP). TiDB reads every table of a statement as of one moment
(else error 8135), so a stale query renders through StaleReadContext, which checks each table."""

from __future__ import annotations

import datetime
import functools
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from peewee import (
    SCOPE_SOURCE,
    SQL,
    Context,
    Model,
    ModelAlias,
    Node,
    NotSupportedError,
    SelectBase,
    Table,
    Value,
)

from .version import STALE_READS, release

if TYPE_CHECKING:
    from typing import TypeAlias

    from peewee import Database, ModelSelect

    #: A stale read's moment: a datetime, a timedelta before NOW(), or an SQL expression.
    AsOf: TypeAlias = "datetime.datetime | datetime.timedelta | Node"

Query = TypeVar("Query", bound="ModelSelect[Any]")

MIXED_MOMENTS = (
    "TiDB reads every table of a statement as of one moment (error 8135), but this one mixes "
    "a stale query with other reads: apply stale_select() to the outermost query, which "
    "covers its joins and subqueries"
)


class AsOfTimestamp(Node):
    """`as_of`: a datetime (in the session's time zone), a timedelta before NOW(), or SQL."""

    def __init__(self, as_of: AsOf) -> None:
        if isinstance(as_of, datetime.timedelta):
            # AS OF NOW() reads as of the current second's start, missing what was just
            # committed while looking fresh: a zero delta is refused.
            seconds = as_of.total_seconds()
            if seconds <= 0:
                raise ValueError(
                    "as_of: a timedelta must be positive (it counts back from NOW(); for fresh "
                    "data read without as_of), got %r" % (as_of,)
                )
            number = "%d" % seconds if seconds.is_integer() else "%.6f" % seconds
            as_of = SQL("NOW() - INTERVAL %s SECOND" % number)
        elif isinstance(as_of, datetime.datetime):
            as_of = Value(as_of)
        elif not isinstance(as_of, Node):
            raise TypeError(
                "as_of must be a datetime, a timedelta or a SQL expression, got %r" % (as_of,)
            )
        self.as_of: Node = as_of

    def __sql__(self, ctx: Context) -> Any:
        in_transaction = ctx.state.tidb_in_transaction  # TiDBDatabase.in_transaction
        if in_transaction and in_transaction():
            raise refused_in_transaction()
        return ctx.literal("AS OF TIMESTAMP ").sql(self.as_of)


def refused_in_transaction() -> NotSupportedError:
    return NotSupportedError(
        "TiDB refuses a stale read inside an explicit transaction (error 8135: as of "
        "timestamp can't be set in transaction): run it outside atomic(), transaction() "
        "and run_transaction(), or read as of one moment throughout with stale_read()"
    )


def require_stale_reads(database: Database) -> None:
    """Refuse, before anything is sent, unless `database` is a TiDBDatabase on TiDB v5.1+."""
    detect = getattr(database, "detect_server_version", None)
    version = detect() if detect else None
    if version is None or not version.at_least(*STALE_READS):
        need = "TiDB %s or later" % release(STALE_READS) if version and version.is_tidb else "TiDB"
        raise NotSupportedError(
            "stale reads (AS OF TIMESTAMP) need %s, but this is %s"
            % (need, version or "not a TiDBDatabase")
        )


def stale_select(query: Query, as_of: AsOf) -> Query:
    """A copy of `query` reading every table (joins, subqueries added later too) as of `as_of`."""
    clause = AsOfTimestamp(as_of)
    require_stale_reads(query.model._meta.database)
    stale = query.clone()
    stale.__class__ = stale_class(type(query))  # type: ignore[arg-type]  # a class is Hashable
    stale.tidb_as_of = clause  # type: ignore[attr-defined]  # clone() copies it
    return stale


def stale_read(db: Database, as_of: AsOf) -> AbstractContextManager[Any]:
    """``with stale_read(db, as_of):`` reads inside see `as_of`'s data (a read-only transaction)."""
    clause = AsOfTimestamp(as_of)
    require_stale_reads(db)
    return db.transaction(as_of=clause)  # TiDBDatabase.begin(as_of=...)


class StaleQuery:
    """Mixin of a stale query's class: it renders itself through StaleReadContext."""

    def __sql__(self, ctx: Context) -> Any:
        if isinstance(ctx, StaleReadContext):  # the outermost stale query set the moment
            return super().__sql__(ctx)  # type: ignore[misc]  # the query class's own
        if ctx.subquery and ctx.scope != SCOPE_SOURCE:  # in a fresh statement's WHERE, say
            raise NotSupportedError(MIXED_MOMENTS)
        # The outermost query, or the FROM of a wrapper that reads no table (count()).
        stale = StaleReadContext(scope=ctx.scope, parentheses=ctx.parentheses, **ctx.state.settings)
        return ctx.sql(stale.sql(self))  # peewee's Context writes another one into itself


@functools.cache  # one class per query class: ModelSelect, a UNION's, ...
def stale_class(query_class: type) -> type:
    return type("Stale" + query_class.__name__, (StaleQuery, query_class), {})


class StaleReadContext(Context):
    """Writes a stale query's AS OF after each table it reads (slow: only stale queries use it)."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.read_as_of: set[AsOfTimestamp | None] = set()  # each table's clause; None: fresh

    def sql(self, obj: Any) -> Any:
        as_of = getattr(obj, "tidb_as_of", None) if isinstance(obj, SelectBase) else None
        if as_of is not None:  # a stale query, maybe a subquery: its tables read as of as_of
            with self(tidb_as_of=as_of):
                return super().sql(obj)  # type: ignore[no-untyped-call]  # untyped in peewee
        is_table = isinstance(obj, (Table, ModelAlias)) or (
            isinstance(obj, type) and issubclass(obj, Model)
        )
        if not is_table or self.state.scope != SCOPE_SOURCE:
            return super().sql(obj)  # type: ignore[no-untyped-call]  # untyped in peewee
        as_of = self.state.tidb_as_of  # None: a fresh table
        self.read_as_of.add(as_of)
        if len(self.read_as_of) > 1:
            raise NotSupportedError(MIXED_MOMENTS)
        super().sql(obj)  # type: ignore[no-untyped-call]  # untyped in peewee
        return self if as_of is None else self.literal(" ").sql(as_of)
