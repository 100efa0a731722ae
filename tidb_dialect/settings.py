"""Connecting the way the TiDB docs say: settings from the environment and .env.

``db = database_from_env()`` reads TIDB_HOST, TIDB_PORT, TIDB_USER,
TIDB_PASSWORD, TIDB_DB_NAME, CA_PATH, TIDB_DRIVER and DATABASE_URL. The
database checks every value (connection.py, urls.py); here a bad one is
named as the user typed it (SettingError). A likely misspelling of a
setting is refused before anything connects: an ignored TIDB_POST would
quietly mean another server.

python-dotenv is imported only when there is a .env file to read.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from peewee import Database, SqliteDatabase

from .checks import parse_whole_number
from .database import TiDBDatabase
from .errors import ConfigError, SettingError
from .urls import parse_url

if TYPE_CHECKING:
    from dotenv.parser import Binding

#: Setting -> the TiDBDatabase keyword it sets (names as in the TiDB docs).
VARIABLES = {
    "TIDB_HOST": "host",
    "TIDB_PORT": "port",
    "TIDB_USER": "user",
    "TIDB_PASSWORD": "password",
    "TIDB_DB_NAME": "database",
    "CA_PATH": "ssl_ca",
    "TIDB_DRIVER": "driver",
}
#: A local cluster (tiup playground).
DEFAULTS = {
    "TIDB_HOST": "127.0.0.1",
    "TIDB_PORT": "4000",
    "TIDB_USER": "root",
    "TIDB_DB_NAME": "test",
}
SETTINGS = (*VARIABLES, "DATABASE_URL")

#: Names other programs and samples give a setting -> the setting.
ALIASES = {
    "TIDB_DATABASE": "TIDB_DB_NAME",
    "TIDB_DATABASE_NAME": "TIDB_DB_NAME",
    "TIDB_DB": "TIDB_DB_NAME",
    "TIDB_DBNAME": "TIDB_DB_NAME",
    "TIDB_PASS": "TIDB_PASSWORD",
    "TIDB_PASSWD": "TIDB_PASSWORD",
    "TIDB_PWD": "TIDB_PASSWORD",
    "TIDB_USERNAME": "TIDB_USER",
    "TIDB_HOSTNAME": "TIDB_HOST",
    "TIDB_CA": "CA_PATH",
    "TIDB_CA_PATH": "CA_PATH",
    "TIDB_SSL_CA": "CA_PATH",
    "TIDB_SSL_CA_PATH": "CA_PATH",
    "TIDB_URL": "DATABASE_URL",
    "TIDB_DATABASE_URL": "DATABASE_URL",
}
#: Edits a misspelling may be away from the settings it is compared with: names starting with
#: TIDB, from the TIDB_* settings; any other, from DATABASE_URL and CA_PATH, one edit only, as
#: other programs' variables come near them (MANPATH is two edits from CA_PATH).
NEAR = {
    "TIDB": (2, tuple(name for name in SETTINGS if name.startswith("TIDB_"))),
    "": (1, ("CA_PATH", "DATABASE_URL")),
}

#: Kinds of file a .env cannot be, as a message says them.
FILE_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
#: Opening never waits for a FIFO's writer nor takes a terminal for this process.
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
NEWLINE = re.compile(r"\r\n|\n|\r")


#: Settings that hold a password (a URL may).
SECRET = ("TIDB_PASSWORD", "DATABASE_URL")


class Settings(dict[str, str]):
    """The settings that are set; its repr hides the SECRET ones, so printing or logging it
    shows no password."""

    def __repr__(self) -> str:
        return repr({k: "<hidden>" if k in SECRET else v for k, v in self.items()})


def database_from_env(
    *,
    url: str | None = None,
    driver: str | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
) -> Database:
    """The database the environment and `env_file` name, not yet connected.

    `url` and `driver` are a command line's --url and --driver flags;
    `environ` defaults to os.environ, and `env_file=None` reads no file.
    """
    return database_from(read_settings(environ, env_file), url, driver)


def read_settings(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = ".env"
) -> dict[str, str]:
    """The settings that are set: `env_file`, then the real environment over it.

    An exported but empty variable counts as unset; a likely misspelling of a
    setting is refused.
    """
    environ = os.environ if environ is None else environ
    settings = Settings(read_env_file(env_file) if env_file else {})
    for name, value in environ.items():
        problem = misspelling(name) if value else None
        if problem:
            raise SettingError(problem, name)
    settings.update((name, environ[name]) for name in SETTINGS if environ.get(name))
    return settings


def env_path(env_file: str | os.PathLike[str] = ".env") -> str:
    """The absolute path read_settings() looks for `env_file` at, for messages."""
    return os.path.abspath(env_file)


def misspelling(name: str) -> str | None:
    """What is wrong with `name` when it is likely a misspelling of a setting, else None."""
    meant = meant_setting(name)
    if meant is None:
        return None
    return "%s: not a setting this program reads; did you mean %s?" % (name, meant)


def meant_setting(name: str) -> str | None:
    """The setting `name` likely misspells, or None (the rule in tidb_dialect/README.md)."""
    upper = name.upper()
    if name in SETTINGS:
        return None
    if upper in SETTINGS or upper in ALIASES:
        return ALIASES.get(upper, upper)
    limit, candidates = NEAR["TIDB" if upper.startswith("TIDB") else ""]
    # The nearest; of two as near, the one that shares the longer beginning (TIDB_POST: PORT).
    meant = min(candidates, key=lambda setting: (edits(upper, setting), -shared(upper, setting)))
    return meant if edits(upper, meant) <= limit else None


def shared(a: str, b: str) -> int:
    """How many characters `a` and `b` begin with in common."""
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): the insertions, deletions,
    substitutions and swaps of two neighbouring characters that turn `a` into `b`."""
    before, previous = [0] * (len(b) + 1), list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                best = min(best, before[j - 2] + 1)
            current.append(best)
        before, previous = previous, current
    return previous[-1]


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The settings the .env file at `path` sets ({} when there is none), by python-dotenv's parser.

    A line it cannot parse is refused by number, never shown (it may hold the
    password); values are taken as written (no ${NAME} expansion).
    """
    where = os.fspath(path)
    text = env_text(where)
    if text is None:
        return {}
    try:
        from dotenv.parser import parse_stream
    except ImportError:
        raise SettingError.of(
            where, "reading it needs python-dotenv (pip install python-dotenv)"
        ) from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise SettingError.of(
                where,
                "line %d: cannot be parsed: write NAME=value, and quote a value holding spaces, "
                '# or quotes ("it\'s", \'say "hi"\')' % first_line(binding),
            )
        if binding.key in SETTINGS:
            values[binding.key] = binding.value or ""
        elif binding.key and binding.value:
            problem = misspelling(binding.key)
            if problem:
                raise SettingError.of(where, "line %d: %s" % (first_line(binding), problem))
    return {name: value for name, value in values.items() if value}


def first_line(binding: Binding) -> int:
    """The line a binding's text starts on (python-dotenv counts the blank lines before it)."""
    text = binding.original.string
    return binding.original.line + len(NEWLINE.findall(text[: len(text) - len(text.lstrip())]))


def env_text(path: str) -> str | None:
    """The text of the file at `path`, None when there is none; a FIFO or a device is refused
    without being read (and never waited for)."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SettingError.of(path, "cannot be read (%s)" % exc.strerror) from None
    try:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != stat.S_IFREG:
            raise SettingError.of(
                path, "not a regular file (%s): it must be a text file" % FILE_KINDS.get(kind, kind)
            )
        with open(fd, "rb", closefd=False) as file:
            data = file.read()
    except OSError as exc:
        raise SettingError.of(path, "cannot be read (%s)" % exc.strerror) from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:  # its message would show the byte
        raise SettingError.of(
            path, "not UTF-8 text (at byte %d); save it as UTF-8" % exc.start
        ) from None


def database_from(
    settings: Mapping[str, str], url: str | None = None, driver: str | None = None
) -> Database:
    """The database `settings` name, not connected: a flag beats the URL beats the variables.

    A URL names host, port, user, password and database; CA_PATH and
    TIDB_DRIVER apply to it unless it says ?ssl_ca= or ?driver= itself.
    """
    source = "DATABASE_URL" if url is None else "--url"
    url = (settings.get("DATABASE_URL") or None) if url is None else url
    names: dict[str | None, str] = {}  # keyword -> the setting or flag the user typed
    database_class: type[Database]
    try:
        if url is not None:
            names[None] = source
            database_class, name, keywords = parse_url(url)
            for variable, keyword in (("CA_PATH", "ssl_ca"), ("TIDB_DRIVER", "driver")):
                if settings.get(variable) and keyword not in keywords:
                    keywords[keyword], names[keyword] = settings[variable], variable
        else:
            names.update((keyword, variable) for variable, keyword in VARIABLES.items())
            database_class, (name, keywords) = TiDBDatabase, keywords_from(settings)
        if driver is not None:
            keywords["driver"], names["driver"] = driver, "--driver"
        if database_class is SqliteDatabase and keywords:
            raise ConfigError.of(sorted(keywords)[0], "has no meaning for a SQLite database")
        return database_class(name, **keywords)
    except ConfigError as exc:
        if exc.keyword in names or exc.keyword == "url":  # the setting itself is wrong
            raise SettingError.of(names.get(exc.keyword, source), exc.problem) from None
        raise SettingError.of(source, str(exc)) from None  # a part of the URL


def keywords_from(settings: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(database name, TiDBDatabase keywords) from the TIDB_* settings, DEFAULTS for the rest.

    Only the port's text becomes a number; TiDBDatabase checks every value.
    """
    values = {**DEFAULTS, **{name: value for name, value in settings.items() if value}}
    keywords: dict[str, Any] = {VARIABLES[n]: v for n, v in values.items() if n in VARIABLES}
    keywords["port"] = parse_whole_number("port", keywords["port"], 1, 65535)
    return keywords.pop("database"), keywords
