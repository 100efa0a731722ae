"""TiDBModel: bulk_create at the driver's speed, peewee's INSERT text built once.

peewee renders a multi-row INSERT node by node, most of a bulk load's time against a nearby
server. The text depends only on the model, its fields and the number of rows, so it is rendered
once and each batch computes its parameters: each field's db_value() of the value bulk_create
would read. A value that is SQL (or a converter returning SQL), RETURNING, or a database that
is not MySQL-compatible goes through peewee's own bulk_create, so rows, types and errors are the
same either way. Objects of plain fields are made with their values dict at once, and whole
numbers are written into the text as both drivers would write them (``str(n)``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, cast

from peewee import (
    CharField,
    Field,
    FieldAccessor,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Metadata,
    Model,
    MySQLDatabase,
    Node,
    chunked,
)

from ._private import model_data, set_model_data
from .transactions import unproxied

if TYPE_CHECKING:
    from peewee import Database, Table

    _Model = Model  # to mypy the mixin is a Model, whose bulk_create it overrides
else:
    _Model = object

#: Without batch_size, one INSERT carries at most this many rows and bytes (as the driver may
#: write them at worst): well below max_allowed_packet (64 MiB on TiDB, 16 MiB on MariaDB) and
#: TiDB's 6 MiB entry limit (8025).
MAX_ROWS = 1000
MAX_STATEMENT_BYTES = 4 * 1024 * 1024

Row = tuple[Any, ...]
Statement = tuple[str, list[Any]]  # SQL text and its parameters, for execute_sql()


class FastBulkCreate(_Model):
    """Mixin for a Model: objects made cheaply, bulk_create() one cached INSERT per batch."""

    #: (the sorted_fields list it was made from, plain_fields()), per model class.
    _plain_fields: tuple[list[Field] | None, frozenset[str]] = (None, frozenset())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # peewee sets each value through its field's descriptor, which for a plain field
        # only stores it in __data__ and marks it dirty: the same dict and set, made at once.
        meta = self._meta
        made_from, plain = self._plain_fields
        if made_from is not meta.sorted_fields:  # a new model, or its fields changed
            plain = plain_fields(meta)
            type(self)._plain_fields = (meta.sorted_fields, plain)
        if args or not kwargs.keys() <= plain:
            super().__init__(*args, **kwargs)
            return
        data = kwargs
        if meta.defaults:
            data = meta.get_default_dict()
            data.update(kwargs)
        set_model_data(self, data)

    @classmethod
    def bulk_create(cls, model_list: Iterable[Model], batch_size: int | None = None) -> None:
        """peewee's; without batch_size, each INSERT holds at most MAX_ROWS rows and (but where
        peewee's own takes the call) MAX_STATEMENT_BYTES bytes."""
        database = unproxied(cls._meta.database)
        fields = insert_fields(cls)
        # Not with RETURNING (peewee reads rows back), nor the driver's own converters (`conv`).
        if not (
            fields
            and isinstance(database, MySQLDatabase)
            and not database.returning_clause
            and "conv" not in database.connect_params
        ):
            return super().bulk_create(model_list, MAX_ROWS if batch_size is None else batch_size)
        max_bytes = MAX_STATEMENT_BYTES if batch_size is None else None
        for batch in chunked(model_list, MAX_ROWS if batch_size is None else batch_size):
            rows = rows_of(cls, fields, batch)
            if rows:
                insert_rows(cls, database, fields, rows, max_bytes)


def insert_rows(
    model: type[Model],
    database: MySQLDatabase,
    fields: Sequence[Field],
    rows: Sequence[Row],
    max_bytes: int | None,
) -> None:
    """One INSERT of `rows`, or, when it could pass `max_bytes`, each half of them in turn."""
    names = tuple(f.name for f in fields)
    sql = insert_sql(model, model._meta.table, names, len(rows), database)
    statement = sql and bind(sql, fields, rows)
    if statement is None:  # a value is SQL: peewee writes the statement
        query = model.insert_many(rows, fields=fields)
        statement = database.get_sql_context().sql(query).query()
    if max_bytes is not None and len(rows) > 1 and worst_case_bytes(*statement) > max_bytes:
        half = len(rows) // 2
        insert_rows(model, database, fields, rows[:half], max_bytes)
        insert_rows(model, database, fields, rows[half:], max_bytes)
        return
    database.execute_sql(*statement)


def worst_case_bytes(sql: str, params: Sequence[Any]) -> int:
    """The most bytes the driver can send: 4 per character of text (UTF-8's widest; an escape
    takes 2), 2 per byte (each may be escaped), 4 per character of any other value's text, and
    12 more per value for quotes or a prefix such as _binary."""
    size = 4 * len(sql) + 12 * len(params)
    texts = [p for p in params if type(p) is str]
    blobs = [p for p in params if type(p) is bytes]
    size += 4 * sum(map(len, texts)) + 2 * sum(map(len, blobs))
    if len(texts) + len(blobs) < len(params):
        size += 4 * sum(len(str(p)) for p in params if type(p) not in (str, bytes))
    return size


def plain_fields(meta: Metadata) -> frozenset[str]:
    """The fields whose descriptor only stores the value (not a foreign key's); none if the
    model sets attributes its own way."""
    model = meta.model
    if model.__setattr__ is not object.__setattr__:
        return frozenset()
    return frozenset(name for name in meta.fields if type(vars(model).get(name)) is FieldAccessor)


def insert_fields(model: type[Model]) -> list[Field]:
    """All fields but an auto-increment primary key, as bulk_create inserts."""
    fields = list(model._meta.sorted_fields)
    if model._meta.auto_increment:
        fields.remove(model._meta.primary_key)
    return fields


def rows_of(model: type[Model], fields: Sequence[Field], batch: Sequence[Model]) -> list[Row]:
    """Each object's values of `fields` as bulk_create reads them (getattr), for plain fields of
    `model`'s own objects straight from their __data__."""
    names = [f.name for f in fields]
    if set(map(type, batch)) == {model} and plain_fields(model._meta).issuperset(names):
        read = tuple_getter(itemgetter, names)
        try:
            return [read(model_data(instance)) for instance in batch]
        except KeyError:  # a value never set, which the field's descriptor reads as None
            pass
    # A foreign key's id, not its row, as bulk_create reads it.
    names = [f.object_id_name if isinstance(f, ForeignKeyField) else f.name for f in fields]
    return list(map(tuple_getter(attrgetter, names), batch))


def tuple_getter(getter: Callable[..., Any], names: Sequence[str]) -> Callable[[Any], Row]:
    """attrgetter or itemgetter of `names`, giving a tuple (even of one)."""
    if len(names) == 1:
        get_one = getter(names[0])
        return lambda item: (get_one(item),)
    return cast(Callable[[Any], Row], getter(*names))


@functools.lru_cache(maxsize=256)
def insert_sql(
    model: type[Model], table: Table, field_names: tuple[str, ...], count: int, database: Database
) -> str | None:
    """peewee's INSERT text for `count` rows, or None if it would not be one placeholder (and no
    other %) per value. `table` is in the key only: peewee makes a new one when the model's table
    name, schema or fields change."""
    fields = [model._meta.fields[name] for name in field_names]
    query = model.insert_many([[None] * len(fields)] * count, fields=fields)
    sql: str  # Context.sql() returns the context, which peewee's stubs leave untyped
    sql, params = database.get_sql_context().sql(query).query()
    values = count * len(fields)
    if len(params) != values or any(p is not None for p in params):
        return None
    if not sql.count("%") == sql.count("%s") == values:
        return None
    return sql


#: Field.adapt() methods that return a value of exactly this type as it is.
UNCHANGED_BY = ((IntegerField.adapt, int), (FloatField.adapt, float), (CharField.adapt, str))


def unchanged_types(field: Field) -> frozenset[type]:
    """The types of value that field.db_value() returns untouched, so need no call."""
    kind = type(field)
    adapted = [t for adapt, t in UNCHANGED_BY if kind.adapt is adapt]
    return frozenset([type(None), *adapted] if kind.db_value is Field.db_value else ())


def bind(sql: str, fields: Sequence[Field], rows: Sequence[Row]) -> Statement | None:
    """The statement and parameters peewee would send for `rows`, or None if a value is SQL; a
    column of whole numbers (exactly int) is written into the statement as the driver would."""
    literals: list[Iterable[str]] = []  # per column: its numbers, or placeholders
    columns: list[Sequence[Any]] = []  # the columns left to the driver
    for field, raw in zip(fields, zip(*rows, strict=True), strict=True):
        values: Sequence[Any] = raw
        types = set(map(type, raw))
        if not types <= unchanged_types(field):
            if any(issubclass(t, Node) for t in types):
                return None  # an SQL expression: peewee writes it into the statement
            values = list(map(field.db_value, raw))
            types = set(map(type, values))
            if any(issubclass(t, (Node, type)) for t in types):
                return None  # db_value() gave SQL (or a class): peewee writes that too
        if types == {int}:
            literals.append(map(str, values))
        else:
            literals.append(repeat("%s"))
            columns.append(values)
    if len(columns) < len(fields):
        sql = sql % tuple(chain.from_iterable(zip(*literals, strict=False)))  # repeat() is endless
    return sql, list(chain.from_iterable(zip(*columns, strict=True)))


class TiDBModel(FastBulkCreate, Model):
    """Base model whose bulk_create() sends each batch's INSERT without rebuilding its text."""
