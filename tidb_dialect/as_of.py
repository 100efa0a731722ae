"""Stale reads: TiDB's AS OF TIMESTAMP, for one SELECT or a read-only transaction.

A stale read sees the data as committed at a past moment, so any replica may answer it. Only
TiDB has it: elsewhere these helpers refuse (NotSupportedError) rather than read fresh data.
TiDB wants every table of a statement read as of one moment (else error 8135), so a stale query
renders itself through StaleReadContext, which writes its clause after every table it reads
(joined later, or in subqueries too); other statements render as on MySQLDatabase.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
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

    from peewee import Database, ModelSelect, _transaction

    #: A stale read's moment: a datetime, a timedelta before NOW(), or an SQL expression.
    AsOf: TypeAlias = "datetime.datetime | datetime.timedelta | Node"

Query = TypeVar("Query", bound="ModelSelect[Any]")


class AsOfTimestamp(Node):
    """``AS OF TIMESTAMP <as_of>``: `as_of` is a datetime (in the session's
    time zone), a timedelta meaning that long before NOW(), or a SQL expression."""

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
        in_transaction: Callable[[], bool] | None = ctx.state.tidb_in_transaction
        if in_transaction and in_transaction():
            raise refused_in_transaction()
        return ctx.literal("AS OF TIMESTAMP ").sql(self.as_of)


def require_stale_reads(database: Database) -> None:
    """Refuse, before anything is sent, unless `database` is a TiDBDatabase on TiDB v5.1+
    and outside any transaction (TiDB answers AS OF inside one with error 8135)."""
    detect = getattr(database, "detect_server_version", None)
    version = detect() if detect else None
    if version is None or not version.is_tidb:
        raise NotSupportedError(
            "stale reads (AS OF TIMESTAMP) need TiDB, but this is %s"
            % (version or "not a TiDBDatabase")
        )
    if not version.supports_stale_reads:
        raise NotSupportedError(
            "stale reads (AS OF TIMESTAMP) need TiDB %s or later, but this is %s"
            % (release(STALE_READS), version)
        )
    if database.in_transaction():
        raise refused_in_transaction()


def refused_in_transaction() -> NotSupportedError:
    return NotSupportedError(
        "TiDB refuses a stale read inside an explicit transaction (error 8135: as of "
        "timestamp can't be set in transaction): run it outside atomic(), transaction() "
        "and run_transaction(), or read as of one moment throughout with stale_read()"
    )


def stale_select(query: Query, as_of: AsOf) -> Query:
    """A copy of the model SELECT `query` that reads every table (joins and subqueries added
    later too) as of `as_of`; refused when rendered inside a fresh statement or a transaction."""
    clause = AsOfTimestamp(as_of)
    require_stale_reads(query.model._meta.database)
    stale = query.clone()
    stale.__class__ = stale_class(type(query))  # type: ignore[arg-type]  # a class is Hashable
    stale.tidb_as_of = clause  # type: ignore[attr-defined]  # clone() copies it
    return stale


class StaleQuery:
    """Mixin of a stale query's class: it renders itself through StaleReadContext."""

    def __sql__(self, ctx: Context) -> Any:
        if isinstance(ctx, StaleReadContext):  # the outermost stale query set the moment
            return super().__sql__(ctx)  # type: ignore[misc]  # the query class's own
        if ctx.subquery and ctx.scope != SCOPE_SOURCE:  # in a fresh statement's WHERE, say
            raise mixed_moments()
        # The outermost query, or the FROM of a wrapper that reads no table (count()).
        stale = StaleReadContext(scope=ctx.scope, parentheses=ctx.parentheses, **ctx.state.settings)
        return ctx.sql(stale.sql(self))  # peewee's Context writes another one into itself


@functools.cache
def stale_class(query_class: type) -> type:
    return type("Stale" + query_class.__name__, (StaleQuery, query_class), {})


def mixed_moments() -> NotSupportedError:
    return NotSupportedError(
        "TiDB reads every table of a statement as of one moment (error 8135), but "
        "this one mixes a stale query with other reads: apply stale_select() to the "
        "outermost query, which covers its joins and subqueries"
    )


def stale_read(db: Database, as_of: AsOf) -> _transaction:
    """``with stale_read(db, as_of):`` every read inside sees the data as of `as_of`, in a
    read-only transaction."""
    clause = AsOfTimestamp(as_of)
    require_stale_reads(db)
    return db.transaction(as_of=clause)  # TiDBDatabase.begin(as_of=...)


class StaleReadContext(Context):
    """peewee's SQL context, writing a stale query's AS OF clause after each table it reads
    (it looks at every node, so only a stale query renders through it)."""

    __slots__ = ("read_as_of",)

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.read_as_of: set[AsOfTimestamp | None] = set()  # each table's clause; None: fresh

    def sql(self, obj: Any) -> Any:
        if isinstance(obj, SelectBase):
            as_of = obj.__dict__.get("tidb_as_of")
            if as_of is not None and as_of is not self.state.tidb_as_of:
                with self(tidb_as_of=as_of):
                    return super().sql(obj)  # type: ignore[no-untyped-call]  # untyped in peewee
        elif self.state.scope == SCOPE_SOURCE and (
            isinstance(obj, (Table, ModelAlias))
            or (isinstance(obj, type) and issubclass(obj, Model))
        ):
            return self.table_as_of(obj)
        return super().sql(obj)  # type: ignore[no-untyped-call]  # untyped in peewee

    def table_as_of(self, table: Any) -> Any:
        as_of = self.state.tidb_as_of
        self.read_as_of.add(as_of)
        if len(self.read_as_of) > 1:
            raise mixed_moments()
        super().sql(table)  # type: ignore[no-untyped-call]  # untyped in peewee
        return self if as_of is None else self.literal(" ").sql(as_of)
