"""Flags and settings, where the run went, and the walkthrough or one trade around the lesson."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from peewee import Database, PeeweeException, SqliteDatabase

import peewee_example as lesson
from tidb_dialect import SettingError, TiDBDatabase
from tidb_dialect.errors import error_code
from tidb_dialect.keywords import whole_number
from tidb_dialect.settings import DEFAULTS, database_from, read_settings
from tidb_dialect.transactions import TransactionStatements

from .outcomes import (
    CLOSED_OUTPUT,
    EXIT_STATUSES,
    REFUSED,
    CannotConnect,
    Interrupted,
    finishing,
    interrupted_while_finishing,
    report,
    server_error,
)
from .table import check_balances, check_file, check_table, one_run_at_a_time

EMBEDDED_PATH = "player.db"
PLAYGROUND = ("127.0.0.1", 4000)  # tiup playground, the TIDB_* defaults

#: What each setting means, for --help (defaults: tidb_dialect.settings.DEFAULTS).
MEANINGS = {
    "TIDB_HOST": "server host",
    "TIDB_PORT": "server port",
    "TIDB_USER": "user name",
    "TIDB_PASSWORD": "password, never printed (default none)",
    "TIDB_DB_NAME": "database",
    "CA_PATH": "CA file (PEM): TLS on, fully verified (default none)",
    "TIDB_DRIVER": "pymysql or mysqlclient (default pymysql)",
    "DATABASE_URL": "tidb://USER:PASSWORD@HOST:PORT/DATABASE, for the five above (default none)",
}
SETTINGS_HELP = """settings (environment variables, or a .env file in this folder, as .env.example):
%s
A flag beats DATABASE_URL, which beats the TIDB_* variables. *.tidbcloud.com hosts get TLS by
themselves. With none of these set and nothing listening on %s:%d, the walkthrough runs on the
embedded SQLite file %s, and says so.

examples:
  TIDB_HOST=127.0.0.1 TIDB_PORT=4000 python3 peewee_example.py
  python3 peewee_example.py --url tidb://root@127.0.0.1:4000/test --trade 2 1 2 100
""" % (
    "\n".join(
        "  %-14s %s%s"
        % (name, meaning, " (default %s)" % DEFAULTS[name] if name in DEFAULTS else "")
        for name, meaning in MEANINGS.items()
    ),
    *PLAYGROUND,
    EMBEDDED_PATH,
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="peewee_example.py",
        description="The TiDB Player walkthrough with peewee (peewee_example.py), or one trade. "
        "The walkthrough empties the player table first (in the transaction that reloads it).",
        epilog=SETTINGS_HELP + "\n" + EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="a database URL, overriding DATABASE_URL")
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


def main(argv: Sequence[str] | None = None) -> int:
    """The whole run; returns its exit status, having printed one line for any failure."""
    args = parse_args(argv)
    if args.verbose:
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("peewee").setLevel(logging.DEBUG)
    try:
        return command(args)
    except BaseException as exc:
        return report(exc)
    finally:
        previous = finishing()  # closing is part of the run: Ctrl-C there is one line too
        if lesson.db.obj is not None:
            lesson.db.close()
        signal.signal(signal.SIGINT, previous)


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """main() as a program: standard output flushed, or closed quietly (`| head`)."""
    try:
        status = main(argv)
        finishing()  # the final flush and the interpreter's exit
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = CLOSED_OUTPUT
    except KeyboardInterrupt:  # in the instant between main() and finishing()
        interrupted_while_finishing(signal.SIGINT, None)
    sys.exit(status)


def command(args: argparse.Namespace) -> int:
    database, notice = choose(args)
    lesson.db.initialize(database)
    if args.trade:
        sell_id, buy_id, amount_text, price_text = args.trade
        for name, player_id in (("SELL_ID", sell_id), ("BUY_ID", buy_id)):
            if not 0 < len(player_id) <= lesson.Player.id.max_length:
                raise ValueError(
                    "%s: must be a player id of 1 to %d characters, got %r"
                    % (name, lesson.Player.id.max_length, player_id)
                )
        amount = whole_number("AMOUNT", amount_text, 1, lesson.INT_MAX, text=True)
        price = whole_number("PRICE", price_text, 1, lesson.INT_MAX, text=True)
        if sell_id == buy_id:
            raise ValueError(
                "a player cannot trade with itself (SELL_ID == BUY_ID == %r)" % sell_id
            )
        check_file()
    connect(database)
    print(notice or "Connected to %s" % where(database), file=sys.stderr)
    if args.trade:
        check_balances(check_table(create=False), sell_id, buy_id)
        outcome = lesson.trade(sell_id, buy_id, amount, price)
        try:
            print(outcome)
        except KeyboardInterrupt:  # the trade is over: say how it ended, here instead
            raise Interrupted("after the trade, which ended: %s" % outcome) from None
        return 0 if outcome == "trade success" else REFUSED
    with one_run_at_a_time():
        check_table(create=True)
        lesson.walkthrough()
    return 0


def choose(args: argparse.Namespace) -> tuple[Database, str | None]:
    """The database the settings and flags name, or the embedded SQLite file when nothing is
    configured and nothing listens where TiDB would; with the notice that says so."""
    settings = read_settings()
    settings.refuse_misspellings()  # the walkthrough empties a table: never on a default
    if settings or args.url or args.driver or port_open(*PLAYGROUND):
        database = database_from(settings, args.url, args.driver)
        if hasattr(database, "aconnect"):  # AsyncTiDBDatabase, from a tidb+async:// URL
            raise SettingError.of(
                "--url" if args.url else "DATABASE_URL",
                "a tidb+async:// URL is for asyncio applications; the walkthrough is "
                "synchronous: use tidb://",
            )
        if isinstance(database, SqliteDatabase):  # a sqlite:// URL
            return EmbeddedDatabase(database.database), None
        return database, None
    path = os.path.abspath(EMBEDDED_PATH)
    return EmbeddedDatabase(path), (
        "No TiDB configured and none at %s:%d: using the embedded SQLite file %s (no TIDB_* "
        "setting or DATABASE_URL in the environment or %s; see .env.example)"
        % (*PLAYGROUND, path, os.path.abspath(".env"))
    )


class EmbeddedDatabase(TransactionStatements, SqliteDatabase):
    """The SQLite file used when no TiDB is configured. Its transactions take the write lock
    at BEGIN (BEGIN IMMEDIATE), which serialises trades as the lesson's SELECT ... FOR UPDATE
    does on TiDB; SQLite has no FOR UPDATE, so that clause is left out of the statement."""

    for_update = True

    def begin(self, lock_type: str | None = None) -> None:
        self.execute_sql("BEGIN IMMEDIATE")

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        return super().execute_sql(sql.removesuffix(" FOR UPDATE"), params)


#: What to check when connecting fails with these server or client errors.
CONNECT_HINTS = {
    1045: "check TIDB_USER and TIDB_PASSWORD (on TiDB Cloud the user has the cluster's prefix, "
    "as in xxxxxxxx.root)",
    1049: "create the database TIDB_DB_NAME names (CREATE DATABASE), or name another",
    1115: "this server lacks that character set (TiDB has gbk from v5.4.0, gb18030 from v7.4.0): "
    "choose another charset, such as utf8mb4",
    2013: "something answers there, but not as a MySQL-protocol server does: check TIDB_PORT "
    "(TiDB listens on 4000)",
}


def connect(database: Database) -> None:
    try:
        lesson.connect()
    except PeeweeException as exc:
        hint = CONNECT_HINTS.get(
            error_code(exc) or 0, "check that the server is running and the settings are right"
        )
        raise CannotConnect(
            "cannot connect to %s: %s\n%s (.env.example, README: Troubleshooting)."
            % (where(database), server_error(exc), hint[0].upper() + hint[1:])
        ) from None
    except KeyboardInterrupt:
        raise Interrupted("while connecting: nothing was changed") from None


def where(database: Database) -> str:
    """Server, address, database and TLS, as known so far; never the password."""
    if isinstance(database, SqliteDatabase):
        return "the SQLite file %s" % os.path.abspath(database.database)
    params = database.connect_params
    server = (
        database.version.name if isinstance(database, TiDBDatabase) and database.version else ""
    )
    server = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in server)  # one line
    return "%s%s:%d as user %r (database %r), TLS %s" % (
        server + " at " if server else "",
        params["host"],
        params.get("port", 3306),
        params.get("user", "root"),
        database.database,
        "on" if "ssl" in params else "off",
    )


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
