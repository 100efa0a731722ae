"""The TiDB "Player" walkthrough with peewee.

Each player has coins and goods. The walkthrough creates a player, loads
1919 more in batches, counts and lists them, and trades goods for coins
between two players in a transaction that either happens whole or not at all.

    python3 peewee_example.py            # settings from the environment or .env
    python3 peewee_example.py --help
"""

import argparse
import io
import logging
import os
import socket
import sys
import uuid
from dataclasses import dataclass, field

from dotenv import dotenv_values
from peewee import (
    CharField,
    Check,
    DatabaseProxy,
    IntegerField,
    Model,
    PeeweeException,
    SqliteDatabase,
    chunked,
)

from tidb_dialect import ConfigError, TiDBDatabase, locking_read, parse_url, run_transaction
from tidb_dialect.checks import parse_whole_number

EMBEDDED_PATH = "player.db"
BULK_PLAYERS = 1919
BATCH_SIZE = 114
INT_MAX = 2**31 - 1  # coins and goods are INT columns
ID_LENGTH = 36

# Bound at run time (main() or a test), so the model does not fix one server.
db = DatabaseProxy()


# [START model]
class Player(Model):
    id = CharField(max_length=ID_LENGTH, primary_key=True)
    coins = IntegerField(constraints=[Check("coins >= 0")])
    goods = IntegerField(constraints=[Check("goods >= 0")])

    class Meta:
        database = db
        table_name = "player"

    def __str__(self):
        return "id:%s, coins:%d, goods:%d" % (self.id, self.coins, self.goods)


# [END model]


class TradeRefused(Exception):
    """The trade cannot happen; raised inside the transaction so it rolls back."""


class LoadFailed(Exception):
    """The bulk load stopped; the message says where, and what became of the rows."""


# [START trade]
def trade(sell_id, buy_id, amount, price):
    """The seller gives `amount` goods to the buyer for `price` coins in all.

    Returns True when the trade happened, False when one side could not
    afford it (nothing is changed then). Raises ValueError for arguments
    that make no trade, before anything is written.
    """
    check_trade(sell_id, buy_id, amount, price)

    def attempt(db):
        # One locking read of both rows: no other trade can change them
        # between this check and the updates below.
        query = Player.select().where(Player.id.in_([sell_id, buy_id])).order_by(Player.id)
        players = {player.id: player for player in locking_read(query)}
        for player_id in (sell_id, buy_id):
            if player_id not in players:
                raise ValueError("unknown player id %r" % player_id)
        seller, buyer = players[sell_id], players[buy_id]
        if buyer.coins < price:
            raise TradeRefused("buy player %s coins not enough" % buy_id)
        if seller.goods < amount:
            raise TradeRefused("sell player %s goods not enough" % sell_id)
        if seller.coins > INT_MAX - price or buyer.goods > INT_MAX - amount:
            raise TradeRefused("trade would overflow a balance")
        Player.update(goods=Player.goods - amount, coins=Player.coins + price).where(
            Player.id == sell_id
        ).execute()
        Player.update(goods=Player.goods + amount, coins=Player.coins - price).where(
            Player.id == buy_id
        ).execute()

    try:
        run_transaction(db, attempt)
    except TradeRefused as refused:
        print(refused)
        return False
    print("trade success")
    return True


# [END trade]


def check_trade(sell_id, buy_id, amount, price):
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


def walkthrough():
    db.create_tables([Player])
    Player.delete().execute()  # start from an empty table on every run

    # 1. Create a player and read it back.
    Player.create(id="test", coins=1, goods=1)
    print(Player.get_by_id("test"))

    # 2. Load many players at once, all or none.
    load_players(
        [Player(id=str(uuid.uuid4()), coins=10000, goods=10000) for _ in range(BULK_PLAYERS)]
    )

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


# [START bulk_load]
def load_players(players, batch_size=BATCH_SIZE):
    """Insert `players` with bulk_create, batch by batch, in one transaction: all or none.

    Batches are sent one by one (not bulk_create's batch_size) so that a
    failure can say which batch it was.
    """
    batches = list(chunked(players, batch_size))
    step = "BEGIN"
    try:
        with db.atomic():
            for number, batch in enumerate(batches, 1):
                step = "batch %d of %d" % (number, len(batches))
                Player.bulk_create(batch)
            step = "COMMIT"
    except PeeweeException as exc:
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
    def from_mapping(cls, variables):
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

    def connect_params(self):
        """Keywords for TiDBDatabase (and its pooled and reconnecting kin)."""
        params = {"host": self.host, "port": self.port, "user": self.user}
        params.update(
            (name, value)
            for name, value in (("password", self.password), ("ssl_ca", self.ca_path))
            if value
        )
        return params

    def build_database(self):
        return TiDBDatabase(self.database, driver=self.driver, **self.connect_params())

    @property
    def uses_tls(self):
        return "ssl" in self.build_database().connect_params


class SettingError(Exception):
    """A setting or flag is wrong; the message names it as the user typed it."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="The TiDB Player walkthrough with peewee. Settings come from the "
        "environment or .env (see .env.example); a flag beats DATABASE_URL, which beats "
        "the TIDB_* variables."
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


def read_settings(environ=None, env_file=".env"):
    """The settings that are set: `env_file`, then the real environment over it.

    An exported but empty variable counts as unset.
    """
    environ = os.environ if environ is None else environ
    settings = read_env_file(env_file) if env_file else {}
    settings.update((name, environ[name]) for name in SETTINGS if environ.get(name))
    return settings


def read_env_file(path):
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
    return {name: values[name] for name in SETTINGS if values.get(name)}


def database_from(settings, url=None, driver=None):
    """The database `settings` name, not connected: a flag beats the URL beats the variables.

    A URL names host, port, user, password and database; CA_PATH and
    TIDB_DRIVER apply to it unless it says ?ssl_ca= or ?driver= itself.
    """
    source = "DATABASE_URL" if url is None else "--url"
    url = settings.get("DATABASE_URL") if url is None else url
    names = {}  # keyword -> the setting or flag the user typed
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


def bind(args, environ=None):
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
        return database.database
    params = database.connect_params
    return "%s:%d as user %r (database %r)" % (
        params["host"],
        params.get("port", 3306),
        params.get("user", "root"),
        database.database,
    )


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def server_error(exc):
    """`exc` as (code, 'message'): the server's words only, never the driver's own text,
    which can quote the arguments it was given (the password among them)."""
    if len(exc.args) == 2 and isinstance(exc.args[0], int) and isinstance(exc.args[1], str):
        return str(exc.args)
    return "%s (the driver's message is not shown)" % type(exc).__name__


def main(argv=None):
    args = parse_args(argv)
    if args.verbose:
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("peewee").setLevel(logging.DEBUG)
    try:
        where = bind(args)
        db.connect()
    except SettingError as exc:
        return fail(exc, 2)
    except PeeweeException as exc:
        return fail(
            "cannot connect to %s: %s\nCheck that the server is running and the "
            "settings are right (.env.example, README: Troubleshooting)."
            % (where, server_error(exc)),
            1,
        )
    try:
        if args.trade:
            sell_id, buy_id, amount, price = args.trade
            trade(sell_id, buy_id, parse_int(amount, "AMOUNT"), parse_int(price, "PRICE"))
        else:
            walkthrough()
    except ValueError as exc:
        return fail(exc, 2)
    except LoadFailed as exc:
        return fail(exc, 1)
    except PeeweeException as exc:
        return fail("the database failed: %s" % server_error(first_error(exc)), 1)
    finally:
        db.close()
    return 0


def fail(message, status):
    print("error: %s" % message, file=sys.stderr)
    return status


def first_error(exc):
    """The database error that started `exc`: a ROLLBACK on a lost connection fails too,
    and its error would hide the one that matters."""
    first = exc
    while exc.__context__ is not None:
        exc = exc.__context__
        if isinstance(exc, PeeweeException):
            first = exc
    return first


def parse_int(text, name):
    try:
        return int(text)
    except ValueError:
        raise ValueError("%s must be a whole number, got %r" % (name, text)) from None


if __name__ == "__main__":
    sys.exit(main())
