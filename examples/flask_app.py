"""The Player service in Flask: a starting point for a web app on TiDB (examples/README.md).

    python -m flask --app examples/flask_app run      # from the repository's folder

GET /players/<id> and POST /trade. Each request takes a connection from a pool
(PooledTiDBDatabase) and gives it back at its end; the trade is the lesson's
(peewee_example.trade), so its rules live in one place.
"""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask, request
from peewee import PeeweeException
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException

from peewee_example import Player, UnknownPlayer, db, trade
from tidb_dialect import (
    AmbiguousCommitError,
    ConfigError,
    ExceededMaxAttempts,
    PooledTiDBDatabase,
    SettingError,
    TiDBDatabase,
    database_from_env,
)
from tidb_dialect.settings import read_settings

#: The pool made from TIDB_* settings or a tidb:// URL: connections at most, and the seconds a
#: request waits for one to come free before it is answered 503.
POOL = {"max_connections": 8, "timeout": 5}
FIELDS = ("sell_id", "buy_id", "amount", "price")


def pooled_database() -> PooledTiDBDatabase:
    """The lesson's settings (TIDB_*, DATABASE_URL, .env) as a pool: tidb+pool:// as given,
    TIDB_* or tidb:// with POOL."""
    read_settings().refuse_misspellings()  # a likely misspelling stops it, as the walkthrough
    database = database_from_env()
    if isinstance(database, PooledTiDBDatabase):
        return database
    if type(database) is TiDBDatabase:
        return PooledTiDBDatabase.like(database, **POOL)
    raise SettingError.of(
        "DATABASE_URL",
        "this Flask app needs a tidb:// or tidb+pool:// URL (a TiDB or MySQL server)",
    )


try:
    database = pooled_database()
except ConfigError as error:  # one line naming the setting (never its password), exit status 2
    print(error, file=sys.stderr)
    sys.exit(2)
db.initialize(database)  # the lesson's Player and trade() now use this pool

app = Flask(__name__)


@app.before_request
def connect() -> None:
    """A connection from the pool for this request: one the server closed since (a restart,
    a KILL, an idle timeout) is replaced here, before anything is sent on it."""
    database.connect()


@app.teardown_request
def close(exc: BaseException | None) -> None:
    """Back to the pool, whatever happened (a transaction left open is rolled back)."""
    if not database.is_closed():
        database.close()


@app.get("/players/<player_id>")
def get_player(player_id: str) -> Any:
    player = Player.get_or_none(Player.id == player_id)
    if player is None:
        return error_reply(404, "unknown player id %r" % player_id)
    return {"id": player.id, "coins": player.coins, "goods": player.goods}


@app.post("/trade")
def post_trade() -> Any:
    body = request.get_json(force=True, silent=True)  # None unless the body is JSON
    try:
        outcome = trade(**trade_arguments(body))
    except MaxConnectionsExceeded:
        raise  # a ValueError too: the pool full when BEGIN replaced a lost connection (503)
    except ValueError as error:  # the lesson's checks: the numbers, the same player twice
        return error_reply(400, str(error))
    return {"done": True} if outcome == "trade success" else {"done": False, "reason": outcome}


def trade_arguments(body: object) -> dict[str, Any]:
    """trade()'s arguments from a request body; ValueError for what the lesson does not check
    itself (the numbers are its to check)."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object with %s" % ", ".join(FIELDS))
    missing = [name for name in FIELDS if name not in body]
    if missing:
        raise ValueError("missing: %s" % ", ".join(missing))
    for name in ("sell_id", "buy_id"):
        if not is_player_id(body[name]):
            raise ValueError("%s must be a player id: a string of 1 to 36 characters" % name)
    return {name: body[name] for name in FIELDS}


def is_player_id(value: object) -> bool:
    """A string of 1 to 36 characters, each one UTF-8 can carry (JSON can write a lone
    surrogate, "\\ud800", which no column can hold)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 36:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def error_reply(status: int, message: str) -> tuple[dict[str, str], int]:
    return {"error": message}, status


@app.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    """Flask's own refusals (no such route, wrong method) as JSON too."""
    return error_reply(error.code or 400, error.name)


@app.errorhandler(UnknownPlayer)
def unknown_player(error: UnknownPlayer) -> Any:
    return error_reply(404, str(error))


@app.errorhandler(AmbiguousCommitError)
def outcome_unknown(error: AmbiguousCommitError) -> Any:
    app.logger.warning("trade outcome unknown: %s", error)
    return error_reply(
        503,
        "the connection was lost at COMMIT: the outcome of the trade is unknown; "
        "read both players before trying again",
    )


@app.errorhandler(ExceededMaxAttempts)
def too_many_conflicts(error: ExceededMaxAttempts) -> Any:
    app.logger.warning("%s", error)
    return error_reply(503, "the trade kept conflicting with others and was not done; try again")


@app.errorhandler(MaxConnectionsExceeded)
def pool_full(error: MaxConnectionsExceeded) -> Any:
    app.logger.warning("pool full: %s", error)
    return error_reply(503, "no database connection came free in time; try again")


@app.errorhandler(PeeweeException)
def database_unavailable(error: PeeweeException) -> Any:
    """Any other database error (unreachable, a connection lost): nothing was done."""
    app.logger.warning("database error: %s", error)  # the driver's words: never a password
    return error_reply(503, "the database is unavailable; try again")
