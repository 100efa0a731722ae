"""Database URLs, read here rather than by urllib so that a malformed one is refused naming the
wrong part, never echoed: an unencoded "/", "#" or "?" in a password would land in a port or a
database name, and in the message. playhouse.db_url's connect() skips these checks.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

from peewee import Database, SqliteDatabase
from playhouse.db_url import register_database

from .database import TiDBDatabase
from .errors import ConfigError
from .keywords import ASYNC, KEYWORDS, POOL, number, sendable_text
from .pool import PooledTiDBDatabase

#: Scheme -> the class it makes (by name, in KEYWORDS' `takes`). Every MySQL-protocol scheme
#: gets the dialect's rules; AsyncTiDBDatabase is imported when a URL names it (peewee 4).
SCHEMES = {
    "tidb": "TiDBDatabase",
    "tidb+pool": "PooledTiDBDatabase",
    "mysql": "TiDBDatabase",
    "mysql+pool": "PooledTiDBDatabase",
    "tidb+async": "AsyncTiDBDatabase",
    "mysql+async": "AsyncTiDBDatabase",
    "sqlite": "SqliteDatabase",
}
PERCENT_ENCODE = "percent-encode / # ? @ : and % in the user and password (%2F for /, %40 for @)"
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def connect_url(url: str) -> Database:
    """The database `url` names, not yet connected."""
    database_class, name, keywords = parse_url(url)
    return database_class(name, **keywords)


def parse_url(url: str) -> tuple[type[Database], str, dict[str, Any]]:
    """(database class, database name, keywords) from `url`; ConfigError naming the bad part."""
    if not isinstance(url, str):
        raise ConfigError.of("url", "must be text")
    match = SCHEME.match(sendable_text("url", url).strip())
    if not match:
        raise ConfigError.of(
            "url",
            "not a database URL: expected scheme://..., "
            "e.g. tidb://root@127.0.0.1:4000/test or sqlite:///player.db",
        )
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise ConfigError.of("url", "unknown scheme %r (known: %s)" % (scheme, ", ".join(SCHEMES)))
    rest = url.strip()[match.end() :]
    if "#" in rest:
        raise ConfigError.of("url", "holds '#': " + PERCENT_ENCODE)
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if "@" in path or "@" in query:
        raise ConfigError.of(
            "url", "'@' after the host: write user:password@host, and " + PERCENT_ENCODE
        )
    parameters = read_parameters(SCHEMES[scheme], query)
    if scheme == "sqlite":
        if authority or not path:
            raise ConfigError.of("url", "a SQLite URL is sqlite:///FILE (three slashes)")
        return SqliteDatabase, decoded("database", path), {}
    if not slash or not path:
        raise ConfigError.of("database", "missing: end the URL with /DATABASE")
    if "/" in path:
        raise ConfigError.of("database", "holds '/': " + PERCENT_ENCODE)
    keywords = {**parameters, **read_authority(authority)}
    if SCHEMES[scheme] == "AsyncTiDBDatabase":
        from .aio import AsyncTiDBDatabase  # ConfigError without peewee 4, aiomysql, greenlet

        return AsyncTiDBDatabase, decoded("database", path), keywords
    pool = SCHEMES[scheme] == "PooledTiDBDatabase"
    return PooledTiDBDatabase if pool else TiDBDatabase, decoded("database", path), keywords


def read_authority(authority: str) -> dict[str, Any]:
    """user, password, host, port from `user:password@host:port`."""
    if authority.count("@") > 1:
        raise ConfigError.of("url", "more than one '@': " + PERCENT_ENCODE)
    userinfo, at, hostport = authority.rpartition("@")
    keywords: dict[str, Any] = {}
    if at:
        user, colon, password = userinfo.partition(":")
        if not user:
            raise ConfigError.of("user", "missing before ':' or '@'")
        keywords["user"] = decoded("user", user)
        if colon:
            keywords["password"] = decoded("password", password)
    if hostport.startswith("["):  # [IPv6]:port
        host, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ConfigError.of("host", "an IPv6 address is written [address]:port")
        has_port, port = bool(after), after[1:]
    else:
        host, colon, port = hostport.partition(":")
        has_port = bool(colon)
    if not host:
        raise ConfigError.of("host", "missing: write scheme://user:password@HOST:port/database")
    keywords["host"] = decoded("host", host)
    if has_port:
        try:
            keywords["port"] = number("port", port, text=True)
        except ConfigError:  # not echoed: an unencoded password character lands here
            low, high = KEYWORDS["port"].low, KEYWORDS["port"].high
            hint = "" if port.isascii() and port.isdigit() else "; " + PERCENT_ENCODE
            raise ConfigError.of(
                "port", "must be a whole number from %d to %d%s" % (low, high, hint)
            ) from None
    return keywords


def decoded(part: str, text: str) -> str:
    """Percent-decoded `text`, which must be UTF-8 and may not be malformed."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise ConfigError.of(part, "holds '%' not followed by two hex digits: " + PERCENT_ENCODE)
    try:
        value = unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError.of(part, "is not UTF-8 once percent-decoded") from None
    return sendable_text(part, value)


def read_parameters(cls: str, query: str) -> dict[str, Any]:
    """The keywords `a=1&b=2` gives the class `cls` (by name), each read by its KEYWORDS kind."""
    known = sorted(
        n for n, k in KEYWORDS.items() if k.url and k.kind != "refused" and cls in k.takes
    )
    keywords: dict[str, Any] = {}
    for field in query.split("&") if query else ():
        name, equals, value = field.partition("=")
        if not equals or not name:
            raise ConfigError.of("url", "malformed query: write ?name=value&name=value")
        name, value = decoded("url", name), decoded(name, value)
        if name in keywords:
            raise ConfigError.of(name, "given twice")
        if name not in known:
            if name in KEYWORDS and KEYWORDS[name].takes in (POOL, POOL + ASYNC):
                raise ConfigError.of(name, "only for pool URLs (tidb+pool://, mysql+pool://)")
            raise ConfigError.of(
                name, "unknown URL parameter (known: %s)" % (", ".join(known) or "none")
            )
        if KEYWORDS[name].kind == "number":
            keywords[name] = number(name, value, text=True)
        elif KEYWORDS[name].kind == "flag":
            if value.lower() not in ("true", "false"):
                raise ConfigError.of(name, "must be true or false, got %r" % value)
            keywords[name] = value.lower() == "true"
        else:
            keywords[name] = value
    return keywords


register_database(TiDBDatabase, "tidb")
register_database(PooledTiDBDatabase, "tidb+pool")
