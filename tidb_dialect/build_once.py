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

from peewee import BaseQuery, ColumnBase, Context, CursorWrapper, Database, DatabaseProxy

P = ParamSpec("P")
Q = TypeVar("Q", bound=BaseQuery)


class Slot(NamedTuple):
    """Where an argument goes among the parameters, and the converter peewee applies there."""

    position: int
    converter: Callable[[Any], Any] | None


class Statement:
    """A query as peewee rendered it for one database, and how a call's arguments become
    its parameters: each argument converted once, however many times the SQL uses it."""

    def __init__(self, sql: str, params: list[Any]) -> None:
        self.sql = sql
        self.slots = list(dict.fromkeys(p for p in params if type(p) is Slot))
        self.constants = [p for p in params if type(p) is not Slot]
        # Each parameter's index in a call's converted arguments followed by the constants.
        constant = iter(range(len(self.slots), len(self.slots) + len(self.constants)))
        self.order = [self.slots.index(p) if type(p) is Slot else next(constant) for p in params]
        self.rows: dict[str, Any] | None = None  # a SELECT's result columns, once resolved

    def params(self, values: Sequence[Any]) -> list[Any]:
        known = [
            values[position] if converter is None else converter(values[position])
            for position, converter in self.slots
        ]
        known += self.constants
        return [known[index] for index in self.order]


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
        # Per database (its quoting and placeholders): the statement peewee rendered.
        self.rendered: weakref.WeakKeyDictionary[Database, Statement]
        self.rendered = weakref.WeakKeyDictionary()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """What the query's execute() would return: rows changed for UPDATE and DELETE,
        the last id for INSERT, the rows of a SELECT."""
        values: Sequence[Any] = args
        if kwargs or len(args) != self.count:
            values = list(self.signature.bind(*args, **kwargs).arguments.values())
        database = self.database()
        statement = self.rendered.get(database)
        if statement is None:
            sql, params = database.get_sql_context().sql(self.query).query()
            statement = self.rendered[database] = Statement(sql, params)
        cursor = database.execute_sql(statement.sql, statement.params(values))
        handle_result = getattr(self.query, "handle_result", None)
        if handle_result is None:  # a SELECT
            return self.rows(statement, cursor)
        return handle_result(database, cursor)

    def rows(self, statement: Statement, cursor: Any) -> Any:
        """The SELECT's rows, as peewee's cursor wrapper gives them. peewee matches a result's
        columns to the query's anew for each result, costing about as much as running it;
        a statement built once has the same columns every time, so they are matched once."""
        wrapper = self.query._get_cursor_wrapper(cursor)  # type: ignore[attr-defined]
        if statement.rows is None:
            wrapper.initialize()
            statement.rows = {k: v for k, v in vars(wrapper).items() if k not in PER_RESULT}
        else:
            vars(wrapper).update(statement.rows)
        wrapper.initialized = True
        return wrapper

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
#: What a cursor wrapper holds of its own result (the rest, set by initialize(), is the columns').
PER_RESULT = frozenset(vars(CursorWrapper(None)))


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
