"""The TiDB "Player" walkthrough with peewee.

Each player has coins and goods. The walkthrough creates a player, loads
1919 more in batches, counts and lists them, and trades goods for coins
between two players in a transaction that either happens whole or not at all.

    python3 peewee_example.py            # settings from the environment or .env
    python3 peewee_example.py --help
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import socket
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dotenv import dotenv_values
from peewee import (
    Case,
    CharField,
    Check,
    Database,
    DatabaseProxy,
    IntegerField,
    MySQLDatabase,
    PeeweeException,
    SqliteDatabase,
    chunked,
)

from tidb_dialect import (
    AmbiguousCommitError,
    ConfigError,
    TiDBDatabase,
    TiDBModel,
    parse_url,
    run_transaction,
)
from tidb_dialect.checks import parse_whole_number

EMBEDDED_PATH = "player.db"
BULK_PLAYERS = 1919
BATCH_SIZE = 114
INT_MAX = 2**31 - 1  # coins and goods are INT columns
ID_LENGTH = 36

#: Exit statuses (also in --help and the README).
EXIT_STATUSES = """exit status:
  0    done (the walkthrough ran; --trade: the trade happened)
  1    the database failed or refused, or holds what the model does not expect
  2    a wrong argument or setting
  3    --trade: the trade was refused (not enough coins or goods); nothing changed
  4    --trade: no player has that id; nothing changed
  5    the connection was lost at COMMIT: the change may or may not have happened
  130  interrupted (Ctrl-C); the message says what became of the data
  141  standard output was closed (`| head`): the run stopped there, quietly"""
REFUSED, UNKNOWN_PLAYER, OUTCOME_UNKNOWN, INTERRUPTED = 3, 4, 5, 130

# Bound at run time (main() or a test), so the model does not fix one server.
db = DatabaseProxy()

E = TypeVar("E", bound=BaseException)


# [START model]
class Player(TiDBModel):
    id = CharField(max_length=ID_LENGTH, primary_key=True)
    coins = IntegerField(constraints=[Check("coins >= 0")])
    goods = IntegerField(constraints=[Check("goods >= 0")])

    class Meta:
        database = db
        table_name = "player"

    def __str__(self) -> str:
        return "id:%s, coins:%d, goods:%d" % (self.id, self.coins, self.goods)


# [END model]


class TradeRefused(Exception):
    """The trade cannot happen; raised inside the transaction so it rolls back."""


class UnknownPlayer(LookupError):
    """No player has that id: a fact about the data, not a wrong argument."""


class UnexpectedData(Exception):
    """The table holds what the model does not allow; the message names player and column."""


class TableMismatch(Exception):
    """The player table is missing or has another shape; the message says what to do."""


class AnotherRun(Exception):
    """Another walkthrough is using the same database."""


class LoadFailed(Exception):
    """The bulk load stopped; the message says where, and what became of the rows."""


class Interrupted(Exception):
    """Ctrl-C; the message says what became of the data."""


class ResetFailed(Exception):
    """The walkthrough's reset and reload failed and was rolled back; the message says why."""


class ResetUnknown(Exception):
    """The connection was lost at the COMMIT of the reset and reload; args[0] is the cause."""


# [START trade]
def trade(sell_id: str, buy_id: str, amount: int, price: int) -> bool:
    """The seller gives `amount` goods to the buyer for `price` coins in all.

    Returns True when the trade happened, False when one side could not
    afford it or a balance would pass INT_MAX (nothing is changed then).
    Raises ValueError for arguments that make no trade, UnknownPlayer and
    UnexpectedData for what the table holds, before anything is kept.
    """
    check_trade(sell_id, buy_id, amount, price)
    with if_interrupted("the trade did not happen"):
        while True:
            try:
                run_transaction(db, lambda db: exchange(sell_id, buy_id, amount, price))
            except TradeRefused:
                reason = refusal(sell_id, buy_id, amount, price)
                if reason:
                    print(reason)
                    return False
                # No reason left: another trade changed these players since; try again.
            else:
                print("trade success")
                return True


def exchange(sell_id: str, buy_id: str, amount: int, price: int) -> None:
    """Both players change in ONE conditional UPDATE, or the transaction rolls back.

    Each row is updated only when its side can afford the trade and no
    balance would pass INT_MAX; unless both rows changed, the trade is
    refused and nothing is kept. The UPDATE reads the latest committed rows
    and locks them (InnoDB, TiDB's pessimistic mode), so no concurrent trade
    can spend the same coins; in TiDB's optimistic mode a concurrent change
    fails the COMMIT with write conflict 9007, and run_transaction() runs
    the trade again. On SQLite the transaction holds the write lock from BEGIN.
    """
    is_seller = Player.id == sell_id
    changed = (
        Player.update(
            coins=Case(None, [(is_seller, Player.coins + price)], Player.coins - price),
            goods=Case(None, [(is_seller, Player.goods - amount)], Player.goods + amount),
        )
        .where(
            (is_seller & (Player.goods >= amount) & (Player.coins <= INT_MAX - price))
            | ((Player.id == buy_id) & (Player.coins >= price) & (Player.goods <= INT_MAX - amount))
        )
        .execute()
    )
    if changed != 2:
        raise TradeRefused()


# [END trade]


def refusal(sell_id: str, buy_id: str, amount: int, price: int) -> str | None:
    """Why the trade cannot happen, read after the rollback; None if it could now."""
    query = Player.select(Player.id, Player.coins, Player.goods).where(
        Player.id.in_([sell_id, buy_id])
    )
    rows = {row[0]: row[1:] for row in db.execute(query)}  # raw values: no int() on the way
    for player_id in (sell_id, buy_id):
        if player_id not in rows:
            raise UnknownPlayer("unknown player id %r" % player_id)
        coins, goods = rows[player_id]
        for column, value in (("coins", coins), ("goods", goods)):
            if not isinstance(value, int):  # NULL, or text in a VARCHAR column
                raise UnexpectedData(
                    "player %s has %s = %s, not a whole number: the model allows none "
                    "(nothing was changed)"
                    % (player_id, column, "NULL" if value is None else repr(value))
                )
    (seller_coins, seller_goods), (buyer_coins, buyer_goods) = rows[sell_id], rows[buy_id]
    if buyer_coins < price:
        return "buy player %s coins not enough" % buy_id
    if seller_goods < amount:
        return "sell player %s goods not enough" % sell_id
    if seller_coins > INT_MAX - price:
        return "sell player %s coins would pass %d" % (sell_id, INT_MAX)
    if buyer_goods > INT_MAX - amount:
        return "buy player %s goods would pass %d" % (buy_id, INT_MAX)
    return None


def check_trade(sell_id: str, buy_id: str, amount: int, price: int) -> None:
    for name, player_id in (("sell_id", sell_id), ("buy_id", buy_id)):
        if not isinstance(player_id, str) or not 0 < len(player_id) <= ID_LENGTH:
            raise ValueError(
                "%s must be a player id of 1 to %d characters, got %r"
                % (name, ID_LENGTH, player_id)
            )
    if sell_id == buy_id:
        raise ValueError("a player cannot trade with itself (sell_id == buy_id == %r)" % sell_id)
    for name, value in (("amount", amount), ("price", price)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= INT_MAX:
            raise ValueError(
                "%s must be a whole number from 1 to %d, got %r" % (name, INT_MAX, value)
            )


def walkthrough() -> None:
    with one_run_at_a_time():
        check_table(create=True)
        players = [
            Player(id=str(uuid.uuid4()), coins=10000, goods=10000) for _ in range(BULK_PLAYERS)
        ]
        with rolled_back_if_failed("the player table is as it was before the run"):
            first = run_transaction(db, lambda db: start_afresh(players))
        print(first)

        # 3. Count them, and list three.
        print("number of players: %d" % Player.select().count())
        for player in Player.select().order_by(Player.coins.desc(), Player.id).limit(3):
            print(player)

        # 4. Trade: player 1 cannot pay 500 coins; then buys 2 goods for 100.
        Player.create(id="1", coins=100, goods=0)
        Player.create(id="2", coins=114514, goods=20)
        trade(sell_id="2", buy_id="1", amount=10, price=500)
        trade(sell_id="2", buy_id="1", amount=2, price=100)

        # 5. The final state.
        for player in Player.select().where(Player.id.in_(["1", "2"])).order_by(Player.id):
            print(player)


def start_afresh(players: Sequence[Player]) -> Player:
    """Steps 1 and 2 with the reset, in one transaction: a failure leaves the table as it was."""
    Player.delete().execute()  # start from an empty table on every run

    # 1. Create a player and read it back (printed once committed).
    Player.create(id="test", coins=1, goods=1)
    first = Player.get_by_id("test")

    # 2. Load many players at once.
    load_players(players)
    return first


# [START bulk_load]
def load_players(players: Sequence[Player], batch_size: int = BATCH_SIZE) -> None:
    """Insert `players` with bulk_create, batch by batch, in one transaction: all or none.

    Inside an open transaction the batches join it (peewee's transaction()
    flattens nested blocks; no SAVEPOINT). Batches are sent one by one (not
    bulk_create's batch_size) so that a failure can say which batch it was.
    """
    batches = list(chunked(players, batch_size))
    step = "BEGIN"
    try:
        with db.transaction():
            for number, batch in enumerate(batches, 1):
                step = "batch %d of %d" % (number, len(batches))
                Player.bulk_create(batch)
            step = "COMMIT"
    except PeeweeException as exc:
        if behind(exc, KeyboardInterrupt):
            raise
        # A COMMIT cut off by a lost connection may or may not have happened.
        outcome = (
            "whether they were added is unknown: count them before loading again"
            if step == "COMMIT"
            else "the transaction was not committed, so none of them was added"
        )
        raise LoadFailed(
            "loading %d players failed at %s (%s); %s"
            % (len(players), step, first_error(exc), outcome)
        ) from exc


# [END bulk_load]


#: How servers name the model's column types (information_schema, or SQLite's declared type).
SQL_TYPES = {"VARCHAR": ("varchar",), "INT": ("int", "integer")}


def check_table(create: bool) -> None:
    """Compare the player table with the model before anything is written.

    With `create`, a missing table is created and a table of another shape
    (other columns, types, nullability or key) refused; without, the table
    must exist and its columns have the model's types.
    """
    table = Player._meta.table_name
    if not db.table_exists(table):
        if not create:
            raise no_table()
        db.create_tables([Player])
        return
    columns = {column.name: column for column in db.get_columns(table)}
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
        if key != [Player.id.column_name]:
            differences.append("its primary key is (%s), not (id)" % ", ".join(key))
    if differences:
        raise TableMismatch(
            "the %s table does not match the Player model: %s. Nothing was changed: use "
            "another database, or drop the table (DROP TABLE %s) and run again"
            % (table, "; ".join(differences), table)
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


#: A lock per database, held by the walkthrough's connection while it runs.
RUN_LOCK = "LEFT(CONCAT('peewee_example walkthrough in ', DATABASE()), 64)"


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


@contextmanager
def if_interrupted(outcome: str) -> Iterator[None]:
    """Ctrl-C in the block becomes Interrupted(outcome): what became of the data.

    PyMySQL closes the connection when interrupted, so the ROLLBACK that
    follows fails, and its error hides the KeyboardInterrupt behind it.
    """
    try:
        yield
    except AmbiguousCommitError:
        raise  # Ctrl-C during COMMIT: the outcome is not known
    except (KeyboardInterrupt, PeeweeException) as exc:
        if behind(exc, KeyboardInterrupt):
            raise Interrupted(outcome) from None
        raise


@contextmanager
def rolled_back_if_failed(outcome: str) -> Iterator[None]:
    """A failure or Ctrl-C in the block (a transaction) is reported with `outcome`."""
    with if_interrupted(outcome):
        try:
            yield
        except AmbiguousCommitError as exc:
            raise ResetUnknown(exc.cause) from exc
        except (LoadFailed, PeeweeException) as exc:
            if behind(exc, KeyboardInterrupt):
                raise
            # A ROLLBACK on a lost connection fails too: its error must not hide the cause.
            cause = behind(exc, LoadFailed) or "the database failed: %s" % server_error(
                first_error(exc)
            )
            raise ResetFailed("%s; %s" % (cause, outcome)) from exc


def behind(exc: BaseException | None, kind: type[E]) -> E | None:
    """The exception of `kind` that started `exc` (or is `exc`), or None."""
    while exc is not None:
        if isinstance(exc, kind):
            return exc
        exc = exc.__context__
    return None


# --- Settings: the environment, .env and the flags; the dialect checks every value --------

#: Variable -> the TiDBDatabase keyword it sets (names as in the TiDB docs).
VARIABLES = {
    "TIDB_HOST": "host",
    "TIDB_PORT": "port",
    "TIDB_USER": "user",
    "TIDB_PASSWORD": "password",
    "TIDB_DB_NAME": "database",
    "CA_PATH": "ssl_ca",
    "TIDB_DRIVER": "driver",
}
DEFAULTS = {
    "TIDB_HOST": "127.0.0.1",
    "TIDB_PORT": "4000",
    "TIDB_USER": "root",
    "TIDB_DB_NAME": "test",
}
SETTINGS = (*VARIABLES, "DATABASE_URL")


@dataclass(frozen=True)
class Settings:
    """A server and database as the TIDB_* variables name them; the dialect checks the values."""

    host: str = DEFAULTS["TIDB_HOST"]
    port: int = 4000
    user: str = DEFAULTS["TIDB_USER"]
    password: str = field(default="", repr=False)
    database: str = DEFAULTS["TIDB_DB_NAME"]
    ca_path: str = ""
    driver: str = "pymysql"

    @classmethod
    def from_mapping(cls, variables: Mapping[str, str]) -> Settings:
        """Settings from TIDB_* variables as text (as in the environment); defaults for the rest."""
        values = dict(DEFAULTS, **variables)
        return cls(
            host=values["TIDB_HOST"],
            port=parse_whole_number("port", values["TIDB_PORT"], 1, 65535),
            user=values["TIDB_USER"],
            password=values.get("TIDB_PASSWORD", ""),
            database=values["TIDB_DB_NAME"],
            ca_path=values.get("CA_PATH", ""),
            driver=values.get("TIDB_DRIVER", "pymysql"),
        )

    def connect_params(self) -> dict[str, Any]:
        """Keywords for TiDBDatabase (and its pooled and reconnecting kin)."""
        params = {"host": self.host, "port": self.port, "user": self.user}
        params.update(
            (name, value)
            for name, value in (("password", self.password), ("ssl_ca", self.ca_path))
            if value
        )
        return params

    def build_database(self) -> TiDBDatabase:
        return TiDBDatabase(self.database, driver=self.driver, **self.connect_params())

    @property
    def uses_tls(self) -> bool:
        return "ssl" in self.build_database().connect_params


class SettingError(Exception):
    """A setting or flag is wrong; the message names it as the user typed it."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The TiDB Player walkthrough with peewee. Settings come from the "
        "environment or .env (see .env.example); a flag beats DATABASE_URL, which beats "
        "the TIDB_* variables.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url",
        help="a database URL, overriding DATABASE_URL "
        "(e.g. tidb://root@127.0.0.1:4000/test, sqlite:///player.db)",
    )
    parser.add_argument(
        "--driver", help="pymysql (default) or mysqlclient, overriding TIDB_DRIVER and ?driver="
    )
    parser.add_argument(
        "--trade",
        nargs=4,
        metavar=("SELL_ID", "BUY_ID", "AMOUNT", "PRICE"),
        help="make one trade between existing players instead of the walkthrough",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every SQL statement (peewee logger)"
    )
    return parser.parse_args(argv)


def read_settings(
    environ: Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> dict[str, str]:
    """The settings that are set: `env_file`, then the real environment over it.

    An exported but empty variable counts as unset.
    """
    environ = os.environ if environ is None else environ
    settings = read_env_file(env_file) if env_file else {}
    settings.update((name, environ[name]) for name in SETTINGS if environ.get(name))
    return settings


def read_env_file(path: str) -> dict[str, str]:
    if not os.path.exists(path):
        return {}
    try:
        with open(path, "rb") as file:
            text = file.read().decode("utf-8")
    except OSError as exc:
        raise SettingError("%s: cannot be read (%s)" % (path, exc.strerror)) from None
    except UnicodeDecodeError as exc:  # its message would show the byte
        raise SettingError(
            "%s: not UTF-8 text (at byte %d); save it as UTF-8" % (path, exc.start)
        ) from None
    values = dotenv_values(stream=io.StringIO(text))
    return {name: value for name in SETTINGS if (value := values.get(name))}


def database_from(
    settings: Mapping[str, str], url: str | None = None, driver: str | None = None
) -> Database:
    """The database `settings` name, not connected: a flag beats the URL beats the variables.

    A URL names host, port, user, password and database; CA_PATH and
    TIDB_DRIVER apply to it unless it says ?ssl_ca= or ?driver= itself.
    """
    source = "DATABASE_URL" if url is None else "--url"
    url = settings.get("DATABASE_URL") if url is None else url
    names: dict[str | None, str] = {}  # keyword -> the setting or flag the user typed
    try:
        if url is not None:
            names[None] = source
            database_class, name, keywords = parse_url(url)
            for variable, keyword in (("CA_PATH", "ssl_ca"), ("TIDB_DRIVER", "driver")):
                if variable in settings and keyword not in keywords:
                    keywords[keyword], names[keyword] = settings[variable], variable
        else:
            names.update((keyword, variable) for variable, keyword in VARIABLES.items())
            chosen = Settings.from_mapping(settings)
            database_class, name = TiDBDatabase, chosen.database
            keywords = dict(chosen.connect_params(), driver=chosen.driver)
        if driver is not None:
            keywords["driver"], names["driver"] = driver, "--driver"
        if database_class is SqliteDatabase and keywords:
            raise ConfigError.of(sorted(keywords)[0], "has no meaning for a SQLite database")
        return database_class(name, **keywords)
    except ConfigError as exc:
        if exc.keyword in names or exc.keyword == "url":  # the setting itself is wrong
            raise SettingError("%s: %s" % (names.get(exc.keyword, source), exc.problem)) from None
        raise SettingError("%s: %s" % (source, exc) if url is not None else exc) from None


def bind(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> str:
    """Bind the model to the configured database, or to SQLite when nothing is configured.

    Returns where it connects, for messages (never the password).
    """
    settings = read_settings(environ)
    flags = (args.url, args.driver)
    if not settings and flags == (None, None) and not port_open(DEFAULTS["TIDB_HOST"], 4000):
        db.initialize(SqliteDatabase(EMBEDDED_PATH))
        print(
            "No TiDB configured and none at 127.0.0.1:4000: using the embedded SQLite file %s "
            "(set TIDB_HOST or DATABASE_URL, see .env.example)" % EMBEDDED_PATH,
            file=sys.stderr,
        )
        return EMBEDDED_PATH
    database = database_from(settings, args.url, args.driver)
    db.initialize(database)
    if isinstance(database, SqliteDatabase):
        return str(database.database)
    params = database.connect_params
    return "%s:%d as user %r (database %r)" % (
        params["host"],
        params.get("port", 3306),
        params.get("user", "root"),
        database.database,
    )


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def server_error(exc: BaseException) -> str:
    """`exc` as (code, 'message'): the server's words only, never the driver's own text,
    which can quote the arguments it was given (the password among them)."""
    if len(exc.args) == 2 and isinstance(exc.args[0], int) and isinstance(exc.args[1], str):
        return str(exc.args)
    return "%s (the driver's message is not shown)" % type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.verbose:
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("peewee").setLevel(logging.DEBUG)
    try:
        where = bind(args)
        if args.trade:
            check_file()
        db.connect()
    except (SettingError, ConfigError) as exc:  # ConfigError: a setting the server lacks
        return fail(exc, 2)
    except TableMismatch as exc:
        return fail(exc, 1)
    except PeeweeException as exc:
        return fail(
            "cannot connect to %s: %s\nCheck that the server is running and the "
            "settings are right (.env.example, README: Troubleshooting)."
            % (where, server_error(exc)),
            1,
        )
    try:
        if args.trade:
            return trade_from_command_line(*args.trade)
        walkthrough()
        return 0
    except ValueError as exc:
        return fail(exc, 2)
    except UnknownPlayer as exc:
        return fail("%s; nothing was changed" % exc, UNKNOWN_PLAYER)
    except (ResetFailed, UnexpectedData, TableMismatch, AnotherRun) as exc:
        return fail(exc, 1)
    except AmbiguousCommitError as exc:
        return outcome_unknown(exc.cause, "the trade", "look at both players")
    except ResetUnknown as exc:
        return outcome_unknown(exc.args[0], "the reset and reload", "count the players")
    except Interrupted as exc:
        return fail("interrupted (Ctrl-C): %s" % exc, INTERRUPTED)
    except KeyboardInterrupt:
        return fail(
            "interrupted (Ctrl-C) outside the transactions: what was committed so far stays",
            INTERRUPTED,
        )
    except PeeweeException as exc:
        return fail("the database failed: %s" % server_error(first_error(exc)), 1)
    finally:
        db.close()


def outcome_unknown(cause: BaseException, what: str, check: str) -> int:
    if isinstance(cause, KeyboardInterrupt):
        when, status = "interrupted (Ctrl-C) at COMMIT", INTERRUPTED
    else:
        when = "the connection was lost at COMMIT (%s)" % server_error(cause)
        status = OUTCOME_UNKNOWN
    return fail(
        "%s, so %s may or may not have happened: %s before trying again" % (when, what, check),
        status,
    )


def trade_from_command_line(sell_id: str, buy_id: str, amount_text: str, price_text: str) -> int:
    amount, price = parse_int(amount_text, "AMOUNT"), parse_int(price_text, "PRICE")
    check_trade(sell_id, buy_id, amount, price)  # a usage error before any query
    check_table(create=False)
    return 0 if trade(sell_id, buy_id, amount, price) else REFUSED


def fail(message: object, status: int) -> int:
    print("error: %s" % message, file=sys.stderr)
    return status


def first_error(exc: BaseException) -> BaseException:
    """The database error that started `exc`: a ROLLBACK on a lost connection fails too,
    and its error would hide the one that matters."""
    first = exc
    while exc.__context__ is not None:
        exc = exc.__context__
        if isinstance(exc, PeeweeException):
            first = exc
    return first


def parse_int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("%s must be a whole number, got %r" % (name, text)) from None


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 128 + 13  # SIGPIPE
    sys.exit(status)
