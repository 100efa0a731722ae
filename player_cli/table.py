"""What the command line checks in the database before the lesson writes to it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from peewee import MySQLDatabase, SqliteDatabase

from peewee_example import Player, db


class TableMismatch(Exception):
    """The player table is missing, not a transactional base table, or of another shape."""


class AnotherRun(Exception):
    """Another walkthrough is using the same database."""


class UnexpectedData(Exception):
    """The table holds what the model does not allow; the message names player and column."""


#: How servers name the model's column types (information_schema, or SQLite's declared type).
SQL_TYPES = {"VARCHAR": ("varchar",), "INT": ("int", "integer")}

#: The player table's kind and, on MySQL, MariaDB and TiDB, whether its engine has transactions
#: (the server's own word: information_schema.ENGINES; TiDB reports InnoDB for every table).
TABLE_KIND = {
    MySQLDatabase: (
        "SELECT t.table_type, t.engine, e.transactions FROM information_schema.tables t "
        "LEFT JOIN information_schema.engines e ON e.engine = t.engine "
        "WHERE t.table_schema = DATABASE() AND t.table_name = %s"
    ),
    SqliteDatabase: "SELECT type, NULL, 'YES' FROM sqlite_master WHERE name = ?",
}


def check_table(create: bool) -> list[str]:
    """Compare the player table with the model before anything is written.

    A view, or a table whose engine has no transactions (MyISAM, Aria,
    MEMORY), is refused: emptying it or trading on it could not be undone.
    With `create`, a missing table is created and a table of another shape
    (columns, types, nullability, key) refused; without, the table must
    exist and its columns have the model's types. Returns the columns that
    allow NULL.
    """
    table = Player._meta.table_name
    kind = table_kind(table)
    if kind is None:
        if not create:
            raise no_table()
        db.create_tables([Player])
        return []
    table_type, engine, transactions = kind
    if table_type.upper() not in ("BASE TABLE", "TABLE"):
        raise TableMismatch(
            "%s is a %s, not a table: emptying it would delete the rows behind it. Nothing was "
            "changed: use another database, or drop it (DROP %s %s) and run again"
            % (table, table_type.lower(), table_type.split()[-1].upper(), table)
        )
    if str(transactions).upper() != "YES":
        raise TableMismatch(
            "the %s table uses the %s engine, which has no transactions, so a failure could not "
            "be undone. Nothing was changed: convert it (ALTER TABLE %s ENGINE=InnoDB) and run "
            "again" % (table, engine, table)
        )
    columns = {column.name: column for column in db.get_columns(table)}
    nullable = [name for name, column in columns.items() if column.null]
    differences = []
    for model_field in Player._meta.sorted_fields:
        column = columns.pop(model_field.column_name, None)
        if column is None:
            differences.append("it has no column %s" % model_field.column_name)
        elif column.data_type.lower().split("(")[0] not in SQL_TYPES[model_field.field_type]:
            differences.append(
                "column %s is %s, not %s"
                % (model_field.column_name, column.data_type, model_field.field_type)
            )
        elif create and column.null:
            differences.append("column %s allows NULL" % model_field.column_name)
    if create:
        differences += ["it has a column %s that the model lacks" % name for name in columns]
        key = db.get_primary_keys(table)
        if not key:
            differences.append("it has no primary key")
        elif key != [Player.id.column_name]:
            differences.append("its primary key is (%s), not (id)" % ", ".join(key))
    if differences:
        raise TableMismatch(
            "the %s table does not match the Player model: %s. Nothing was changed: use "
            "another database, or drop the table (DROP TABLE %s) and run again"
            % (table, "; ".join(differences), table)
        )
    return nullable


def table_kind(table: str) -> tuple[str, str | None, str | None] | None:
    """(type, engine, transactions) of `table` as the server reports it, or None if absent."""
    kind = next(sql for server, sql in TABLE_KIND.items() if isinstance(db.obj, server))
    row: tuple[str, str | None, str | None] | None = db.execute_sql(kind, (table,)).fetchone()
    return row


def check_balances(nullable: list[str], *player_ids: str) -> None:
    """A table that allows NULL (the original tutorial's) may hold one: say so, change nothing."""
    balances = [column for column in ("coins", "goods") if column in nullable]
    if not balances:
        return
    query = Player.select(Player.id, Player.coins, Player.goods).where(Player.id.in_(player_ids))
    for player_id, *values in db.execute(query):
        for column, value in zip(("coins", "goods"), values, strict=True):
            if value is None:
                raise UnexpectedData(
                    "player %s has %s = NULL, not a whole number: the model allows none "
                    "(nothing was changed)" % (player_id, column)
                )


def check_file() -> None:
    """--trade on SQLite: connecting would leave an empty database file behind."""
    if isinstance(db.obj, SqliteDatabase) and not os.path.exists(db.obj.database):
        raise no_table()


def no_table() -> TableMismatch:
    return TableMismatch(
        "there is no player table in this database: run the walkthrough once "
        "(python3 peewee_example.py) or create it with player_init.sql"
    )


#: A lock per database, held by the walkthrough's connection while it runs: a lock name has at
#: most 64 characters, so the database's name is hashed (two long names never share one).
RUN_LOCK = "CONCAT('peewee_example walkthrough ', MD5(DATABASE()))"


@contextmanager
def one_run_at_a_time() -> Iterator[None]:
    """Two walkthroughs at once would delete each other's players mid-run: the second stops."""
    if not isinstance(db.obj, MySQLDatabase):  # SQLite has no user locks
        yield
        return
    if not db.execute_sql("SELECT GET_LOCK(%s, 0)" % RUN_LOCK).fetchone()[0]:
        raise AnotherRun(
            "another run of the walkthrough is using this database; nothing was changed: "
            "try again when it has finished"
        )
    yield
    db.execute_sql("DO RELEASE_LOCK(%s)" % RUN_LOCK)
