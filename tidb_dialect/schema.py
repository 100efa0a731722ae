"""TiDB table options in CREATE TABLE, taken from the model's Meta.

    class Event(TiDBModel):
        class Meta:
            auto_id_cache = 1  # MySQL-compatible, centrally allocated ids

They are written in TiDB's executable-comment form (/*T![feature] ... */),
which TiDB honours and MySQL and MariaDB read as a comment.
"""

from peewee import DatabaseProxy, Model, MySQLDatabase, SchemaManager

from .bulk import FastBulkCreate
from .database import context_server


class TiDBSchemaManager(SchemaManager):
    def __init__(self, model, database=None, **context_options):
        super().__init__(model, database, **context_options)
        cache = getattr(model._meta, "auto_id_cache", None)
        if cache is not None and (
            isinstance(cache, bool) or not isinstance(cache, int) or cache < 1
        ):
            raise ValueError(
                "%s: Meta.auto_id_cache must be a whole number of at least 1, "
                "got %r" % (model.__name__, cache)
            )

    def _create_table(self, safe=True, **options):
        ctx = super()._create_table(safe=safe, **options)
        for option in self.table_options(ctx):
            ctx.literal(" " + option)
        return ctx

    def table_options(self, ctx):
        cache = getattr(self.model._meta, "auto_id_cache", None)
        if cache is None or not self._may_be_tidb(ctx):
            return []
        return ["/*T![auto_id_cache] AUTO_ID_CACHE=%d */" % cache]

    def _may_be_tidb(self, ctx):
        version = context_server(ctx)
        if version is not None:
            return version.is_tidb
        # A plain MySQLDatabase may be talking to TiDB: the comment form serves both.
        database = self.database
        database = database.obj if isinstance(database, DatabaseProxy) else database
        return isinstance(database, MySQLDatabase)


class TiDBModel(FastBulkCreate, Model):
    """Base model whose Meta may carry TiDB table options (auto_id_cache), and whose
    bulk_create() sends each batch's INSERT without rebuilding its text (tidb_dialect.bulk)."""

    class Meta:
        schema_manager_class = TiDBSchemaManager
