"""build_once: a peewee query whose shape is fixed, rendered once and sent with new values.

peewee renders a query node by node on every execute(), a few hundred Python
calls for an UPDATE with a CASE and a compound WHERE: on a nearby server that
is most of a short transaction's client time. peewee has no cache of rendered
statements (Query.sql() renders anew each time), so this one is small: a
function that builds a query from its arguments is called once, with a
placeholder for each argument; peewee renders that query once per database,
the text and the parameters are kept, and every call sends that text with the
arguments put where their placeholders were, each through the converter (the
field's db_value()) peewee would have applied there.

The function must build the same statement whatever its arguments are: it may
not branch on them, nor read anything else that changes (it may not be a
closure). Arithmetic on an argument in Python (``LIMIT - price``) becomes SQL
(``%s - %s``), since the argument is not known when the query is built.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any, Generic, NamedTuple, ParamSpec, TypeVar, cast

from peewee import BaseQuery, ColumnBase, Context, Database, DatabaseProxy

P = ParamSpec("P")
Q = TypeVar("Q", bound=BaseQuery)


class Slot(NamedTuple):
    """Where an argument goes among the parameters, and the converter peewee applies there."""

    position: int
    converter: Callable[[Any], Any] | None

    def fill(self, values: Sequence[Any]) -> Any:
        value = values[self.position]
        return value if self.converter is None else self.converter(value)


class Argument(ColumnBase):
    """Stands for one argument of a build_once function while its query is rendered."""

    def __init__(self, position: int) -> None:
        super().__init__()
        self.position = position

    def __sql__(self, ctx: Context) -> Any:
        # converter=False: nothing is converted now; the slot keeps the converter for later.
        slot = Slot(self.position, ctx.state.converter)
        return ctx.value(slot, converter=False)


class BuiltOnce(Generic[P]):
    """A build_once function: call it with the arguments to run its statement."""

    def __init__(self, build: Callable[P, BaseQuery]) -> None:
        self.signature = inspect.signature(build)
        parameters = self.signature.parameters.values()
        if build.__closure__ or any(
            p.kind not in POSITIONAL or p.default is not p.empty for p in parameters
        ):
            raise TypeError(
                "build_once: %s must take its values as plain parameters, without defaults, "
                "*args or variables of an enclosing function: its query is built only once"
                % build.__qualname__
            )
        self.count = len(self.signature.parameters)
        self.query = cast(Callable[..., BaseQuery], build)(*map(Argument, range(self.count)))
        # Per database (its quoting and placeholders): the SQL, and constants and Slots.
        self.rendered: weakref.WeakKeyDictionary[Database, tuple[str, list[Any]]]
        self.rendered = weakref.WeakKeyDictionary()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """What the query's execute() would return: rows changed for UPDATE and DELETE,
        the last id for INSERT, the rows of a SELECT."""
        values: Sequence[Any] = args
        if kwargs or len(args) != self.count:
            values = list(self.signature.bind(*args, **kwargs).arguments.values())
        database = self.database()
        rendered = self.rendered.get(database)
        if rendered is None:
            rendered = self.rendered[database] = database.get_sql_context().sql(self.query).query()
        sql, params = rendered
        cursor = database.execute_sql(
            sql, [p.fill(values) if type(p) is Slot else p for p in params]
        )
        handle_result = getattr(self.query, "handle_result", None)
        if handle_result is None:  # a SELECT
            return self.query._get_cursor_wrapper(cursor)  # type: ignore[attr-defined]
        return handle_result(database, cursor)

    def database(self) -> Database:
        """The database the query would run on now: its model's (bind_ctx, a proxy's obj)."""
        model = getattr(self.query, "model", None)
        database = getattr(self.query, "_database", None) if model is None else model._meta.database
        if isinstance(database, DatabaseProxy):
            database = database.obj
        if not isinstance(database, Database):
            raise TypeError("build_once: the query is not bound to a database")
        return database


POSITIONAL = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY)


#: The BuiltOnce of each function body, so a decorated function nested in another is
#: rendered once, not once per call of the function around it.
_BUILT: dict[CodeType, BuiltOnce[Any]] = {}


def build_once(build: Callable[P, Q]) -> BuiltOnce[P]:
    """Decorator: `build(*args)` returns a peewee query; peewee renders it once per
    database, and each call sends that SQL with the call's arguments as its values."""
    built = _BUILT.get(build.__code__)
    if built is None:
        built = _BUILT[build.__code__] = BuiltOnce(build)
    return built
