"""bulk_create at the driver's speed: peewee's INSERT text built once, only the values sent.

peewee renders a multi-row INSERT node by node, a few dozen Python calls
per value, and that is most of a bulk load's time against a nearby server.
The statement depends only on the model, its fields and the number of rows,
so FastBulkCreate renders it once per (model, fields, rows, database) and
for every batch computes just the parameters: each field's db_value() of
the value bulk_create would read. Anything that would make peewee's
statement differ (a value that is an SQL expression, a converter returning
one, a database with RETURNING or not MySQL-compatible) goes through
peewee's own bulk_create instead, so the rows, types and errors are the
same either way.
"""

import functools
from itertools import chain
from operator import attrgetter

from peewee import (
    CharField,
    DatabaseProxy,
    Field,
    FloatField,
    ForeignKeyField,
    IntegerField,
    MySQLDatabase,
    Node,
    chunked,
)


class FastBulkCreate:
    """Mixin for a Model: bulk_create() sends one cached INSERT per batch."""

    @classmethod
    def bulk_create(cls, model_list, batch_size=None):
        database = cls._meta.database
        if isinstance(database, DatabaseProxy):
            database = database.obj
        fields = insert_fields(cls)
        if not (fields and isinstance(database, MySQLDatabase)) or database.returning_clause:
            return super().bulk_create(model_list, batch_size)
        read = row_reader(attr_names(fields))
        batches = [list(model_list)] if batch_size is None else chunked(model_list, batch_size)
        for batch in batches:
            rows = list(map(read, batch))
            if not rows:
                continue
            names = tuple(f.name for f in fields)
            sql = insert_sql(cls, cls._meta.table, names, len(rows), database)
            params = sql and parameters(fields, rows)
            if params is None:
                cls.insert_many(rows, fields=fields).execute()
            else:
                database.execute_sql(sql, params)


def insert_fields(model):
    """The fields bulk_create inserts: all of them but an auto-increment primary key."""
    fields = list(model._meta.sorted_fields)
    if model._meta.auto_increment:
        fields.remove(model._meta.primary_key)
    return fields


def attr_names(fields):
    """The attributes bulk_create reads: a foreign key's id, not its row."""
    return [f.object_id_name if isinstance(f, ForeignKeyField) else f.name for f in fields]


def row_reader(names):
    """A function of a model instance giving the tuple of its `names` attributes."""
    if len(names) == 1:
        read_one = attrgetter(names[0])
        return lambda instance: (read_one(instance),)
    return attrgetter(*names)


@functools.lru_cache(maxsize=256)
def insert_sql(model, table, field_names, count, database):
    """peewee's INSERT text for `count` rows, or None if it would not be one parameter per value.

    `table` (model._meta.table) is part of the key only: peewee makes a new one when
    the model's table name, schema or fields change.
    """
    fields = [model._meta.fields[name] for name in field_names]
    query = model.insert_many([[None] * len(fields)] * count, fields=fields)
    sql, params = database.get_sql_context().sql(query).query()
    if len(params) != count * len(fields) or any(p is not None for p in params):
        return None
    return sql


#: Field.adapt() methods that return a value of exactly this type as it is.
UNCHANGED_BY = ((IntegerField.adapt, int), (FloatField.adapt, float), (CharField.adapt, str))


def unchanged_types(field):
    """The types of value that field.db_value() returns untouched, so need no call."""
    kind = type(field)
    if kind.db_value is not Field.db_value:
        return frozenset()
    return frozenset([type(None)] + [t for adapt, t in UNCHANGED_BY if kind.adapt is adapt])


def parameters(fields, rows):
    """The values peewee would send for `rows`, row by row, or None if one of them is SQL."""
    columns = []
    for field, raw in zip(fields, zip(*rows, strict=True), strict=True):
        types = set(map(type, raw))
        if types <= unchanged_types(field):
            columns.append(raw)
            continue
        if any(issubclass(t, Node) for t in types):
            return None  # an SQL expression: peewee writes it into the statement
        values = list(map(field.db_value, raw))
        if any(issubclass(t, (Node, type)) for t in set(map(type, values))):
            return None  # db_value() gave SQL (or a class): peewee writes that too
        columns.append(values)
    return list(chain.from_iterable(zip(*columns, strict=True)))
