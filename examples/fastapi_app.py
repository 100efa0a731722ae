"""The Player service in FastAPI: a starting point for an asyncio web app on TiDB
(examples/README.md).

    python -m uvicorn examples.fastapi_app:app      # from the repository's folder

GET /players/{id} and POST /trade. Each request takes a connection from the
pool of an AsyncTiDBDatabase and gives it back at its end; the trade is the
lesson's synchronous peewee_example.trade, run by ``await database.run(...)``
(pwasyncio's bridge: its statements are awaited, the event loop never blocks),
so its rules live in one place.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from peewee import PeeweeException
from starlette.exceptions import HTTPException

from peewee_example import Player, UnknownPlayer, db, trade
from tidb_dialect import (
    AmbiguousCommitError,
    AsyncTiDBDatabase,
    ConfigError,
    ExceededMaxAttempts,
    SettingError,
    TiDBDatabase,
    database_from_env,
)
from tidb_dialect.settings import read_settings

#: The pool made from TIDB_* settings or a tidb:// URL: connections at most, and the seconds a
#: request waits for one to come free before it is answered 503.
POOL = {"pool_size": 8, "acquire_timeout": 5}
FIELDS = ("sell_id", "buy_id", "amount", "price")
log = logging.getLogger("uvicorn.error")  # uvicorn's own log (standard error)


def async_database() -> AsyncTiDBDatabase:
    """The lesson's settings (TIDB_*, DATABASE_URL, .env) on asyncio: tidb+async:// as given,
    TIDB_* or tidb:// with POOL."""
    read_settings().refuse_misspellings()  # a likely misspelling stops it, as the walkthrough
    database = database_from_env()
    if isinstance(database, AsyncTiDBDatabase):
        return database
    if type(database) is TiDBDatabase:
        return AsyncTiDBDatabase.like(database, **POOL)
    raise SettingError.of(
        "DATABASE_URL",
        "this FastAPI app needs a tidb:// or tidb+async:// URL (a TiDB or MySQL server)",
    )


try:
    database = async_database()
except ConfigError as error:  # one line naming the setting (never its password), exit status 2
    print(error, file=sys.stderr)
    sys.exit(2)
db.initialize(database)  # the lesson's Player and trade() now use this pool


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await database.close_pool()  # at shutdown: every connection closed, none left to time out


app = FastAPI(lifespan=lifespan)


async def connection() -> AsyncIterator[None]:
    """A connection from the pool for this request (it belongs to the request's task): one
    the server closed since is replaced before anything is sent on it."""
    await database.aconnect()
    try:
        yield
    finally:
        await database.aclose()  # back to the pool, whatever happened


@app.get("/players/{player_id}", dependencies=[Depends(connection)])
async def get_player(player_id: str) -> Any:
    player = await database.run(Player.get_or_none, Player.id == player_id)
    if player is None:
        return error_reply(404, "unknown player id %r" % player_id)
    return {"id": player.id, "coins": player.coins, "goods": player.goods}


@app.post("/trade", dependencies=[Depends(connection)])
async def post_trade(request: Request) -> Any:
    try:
        body = await request.json()
    except ValueError:  # not JSON, or not UTF-8
        body = None
    try:
        outcome = await database.run(trade, **trade_arguments(body))
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


def error_reply(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@app.exception_handler(HTTPException)
async def http_error(request: Request, error: HTTPException) -> JSONResponse:
    """FastAPI's own refusals (no such route, wrong method) as {"error"} too."""
    return error_reply(error.status_code, str(error.detail))


@app.exception_handler(UnknownPlayer)
async def unknown_player(request: Request, error: UnknownPlayer) -> JSONResponse:
    return error_reply(404, str(error))


@app.exception_handler(AmbiguousCommitError)
async def outcome_unknown(request: Request, error: AmbiguousCommitError) -> JSONResponse:
    log.warning("trade outcome unknown: %s", error)
    return error_reply(
        503,
        "the connection was lost at COMMIT: the outcome of the trade is unknown; "
        "read both players before trying again",
    )


@app.exception_handler(ExceededMaxAttempts)
async def too_many_conflicts(request: Request, error: ExceededMaxAttempts) -> JSONResponse:
    log.warning("%s", error)
    return error_reply(503, "the trade kept conflicting with others and was not done; try again")


@app.exception_handler(PeeweeException)
async def database_unavailable(request: Request, error: PeeweeException) -> JSONResponse:
    """Any other database error (unreachable, no connection free within acquire_timeout, a
    connection lost): nothing was done."""
    log.warning("database error: %s", error)  # the driver's or the pool's words: never a password
    return error_reply(503, "the database is unavailable or busy; try again")
