"""Connecting the way the TiDB docs say: settings from the environment and .env.

``db = database_from_env()`` reads TIDB_HOST, TIDB_PORT, TIDB_USER,
TIDB_PASSWORD, TIDB_DB_NAME, CA_PATH, TIDB_DRIVER and DATABASE_URL, and the
names TiDB's vector-search pages, pytidb and tidb-vector-python give three of
them (TIDB_USERNAME, TIDB_DATABASE, TIDB_CA_PATH). The database checks every
value (connection.py, urls.py); here a bad one is named as the user typed it
(SettingError). A library never refuses a variable it does not read: a likely
misspelling of a setting (TIDB_POST) is a warning here, and the walkthrough,
which empties a table, refuses it (Settings.refuse_misspellings()).

python-dotenv is imported only when there is a .env file to read.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import stat
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from peewee import Database, SqliteDatabase

from .checks import parse_whole_number
from .database import TiDBDatabase
from .errors import ConfigError, SettingError
from .urls import parse_url

if TYPE_CHECKING:
    from dotenv.parser import Binding

#: Setting -> the TiDBDatabase keyword it sets (names as in TiDB's peewee page).
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
#: TiDB's other name for a setting (its peewee vector-search page, pytidb and
#: tidb-vector-python write these) -> the setting. Both set to different values is refused.
OTHER_NAMES = {
    "TIDB_USERNAME": "TIDB_USER",
    "TIDB_DATABASE": "TIDB_DB_NAME",
    "TIDB_CA_PATH": "CA_PATH",
}
#: Every name read.
NAMES = (*SETTINGS, *OTHER_NAMES)

#: Names other programs and samples give a setting -> the setting (a likely misspelling).
#: TIDB_DATABASE_URL is read by pytidb's MCP server, but TiDB's tools write DATABASE_URL.
ALIASES = {
    "TIDB_DATABASE_NAME": "TIDB_DB_NAME",
    "TIDB_DB": "TIDB_DB_NAME",
    "TIDB_DBNAME": "TIDB_DB_NAME",
    "TIDB_PASS": "TIDB_PASSWORD",
    "TIDB_PASSWD": "TIDB_PASSWORD",
    "TIDB_PWD": "TIDB_PASSWORD",
    "TIDB_HOSTNAME": "TIDB_HOST",
    "TIDB_CA": "CA_PATH",
    "TIDB_SSL_CA": "CA_PATH",
    "TIDB_SSL_CA_PATH": "CA_PATH",
    "TIDB_URL": "DATABASE_URL",
    "TIDB_DATABASE_URL": "DATABASE_URL",
}
#: The names a misspelling is compared with: one starting with TIDB, with the TIDB_* names;
#: any other, with DATABASE_URL and CA_PATH (other programs' variables come near them).
NEAR = {
    "TIDB": tuple(name for name in NAMES if name.startswith("TIDB_")),
    "": ("CA_PATH", "DATABASE_URL"),
}
#: How alike (difflib's ratio) a name must be to one of NEAR's to be taken for its misspelling:
#: CA_PAHT is 0.857 like CA_PATH, MANPATH 0.714.
CUTOFF = 0.84

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
    """The settings that are set, by the names they were given; its repr hides the SECRET
    ones, so printing or logging it shows no password. ``misspellings`` holds a
    SettingError for each name set that likely misspells a setting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.misspellings: list[SettingError] = []

    def __repr__(self) -> str:
        return repr({k: "<hidden>" if k in SECRET else v for k, v in self.items()})

    def refuse_misspellings(self) -> None:
        """Raise the first likely misspelling: for a program that must not run on a default
        the user meant to change (the walkthrough empties a table)."""
        if self.misspellings:
            raise self.misspellings[0]


def database_from_env(
    *,
    url: str | None = None,
    driver: str | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
) -> Database:
    """The database the environment and `env_file` name, not yet connected.

    `url` and `driver` are a command line's --url and --driver flags;
    `environ` defaults to os.environ, and `env_file=None` reads no file. A
    likely misspelling of a setting is a warning (UserWarning), never an error.
    """
    settings = read_settings(environ, env_file)
    for problem in settings.misspellings:
        warnings.warn(str(problem), stacklevel=2)
    return database_from(settings, url, driver)


def read_settings(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = ".env"
) -> Settings:
    """The settings that are set: `env_file`, then the real environment over it, name by name.

    An exported but empty variable counts as unset; a likely misspelling of a
    setting is noted in ``misspellings``, not refused. A `env_file` that is a
    FIFO or a device is refused without being read, so it never makes the
    program wait.
    """
    environ = os.environ if environ is None else environ
    settings = Settings()
    if env_file:
        where = os.fspath(env_file)
        for line, name, value in env_bindings(where):
            if name in NAMES:
                settings[name] = value
            elif value and (problem := misspelling(name)):
                settings.misspellings.append(
                    SettingError.of(where, "line %d: %s" % (line, problem))
                )
    for name, value in environ.items():
        if name in NAMES:
            if value:
                settings[name] = value
        elif value and (problem := misspelling(name)):
            settings.misspellings.append(SettingError(problem, name))
    for name in [name for name, value in settings.items() if not value]:
        del settings[name]
    return settings


def given(settings: Mapping[str, str], setting: str) -> tuple[str, str] | None:
    """(the name it was given by, its value) for `setting`, by either of TiDB's names, or None
    when unset; both names set to different values is refused, naming both."""
    names = [setting, *(other for other, meant in OTHER_NAMES.items() if meant == setting)]
    found = [(name, settings[name]) for name in names if settings.get(name)]
    if len({value for _, value in found}) > 1:
        raise SettingError(
            "%s and %s: both set, to different values: keep one" % (found[0][0], found[1][0]),
            found[0][0],
        )
    return found[0] if found else None


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
    if name in NAMES:
        return None
    if upper in NAMES or upper in ALIASES:
        return ALIASES.get(upper, upper)
    if any(upper.startswith(setting + "_") for setting in NAMES):
        return None  # another program's name for something else: DATABASE_URL_2
    candidates = NEAR["TIDB" if upper.startswith("TIDB") else ""]
    close = difflib.get_close_matches(upper, candidates, n=1, cutoff=CUTOFF)
    return close[0] if close else None


def env_bindings(path: str) -> Iterator[tuple[int, str, str]]:
    """(line, name, value) of each NAME=value of the .env file at `path` (none when there is
    no file), by python-dotenv's parser.

    Its parser rather than dotenv_values(), which skips a line it cannot parse
    with a logged warning: a skipped TIDB_HOST line would connect elsewhere. A
    line it cannot parse is refused by number, never shown (it may hold the
    password); values are taken as written (no ${NAME} expansion).
    """
    text = env_text(path)
    if text is None:
        return
    try:
        from dotenv.parser import parse_stream
    except ImportError:
        raise SettingError.of(
            path, "reading it needs python-dotenv (pip install python-dotenv)"
        ) from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise SettingError.of(
                path,
                "line %d: cannot be parsed: write NAME=value, and quote a value holding spaces, "
                '# or quotes ("it\'s", \'say "hi"\')' % first_line(binding),
            )
        if binding.key:
            yield first_line(binding), binding.key, binding.value or ""


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
    Only the settings read are checked: TIDB_USER beside a URL is not.
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
                found = given(settings, variable)
                if found and keyword not in keywords:
                    names[keyword], keywords[keyword] = found
        else:
            for variable, keyword in VARIABLES.items():
                names[keyword] = (given(settings, variable) or (variable,))[0]
            database_class, (name, keywords) = TiDBDatabase, keywords_from(settings)
        if driver is not None:
            keywords["driver"], names["driver"] = driver, "--driver"
        if database_class is SqliteDatabase and keywords:
            raise ConfigError.of(sorted(keywords)[0], "has no meaning for a SQLite database")
        return database_class(name, **keywords)
    except SettingError:
        raise
    except ConfigError as exc:
        if exc.keyword in names or exc.keyword == "url":  # the setting itself is wrong
            raise SettingError.of(names.get(exc.keyword, source), exc.problem) from None
        raise SettingError.of(source, str(exc)) from None  # a part of the URL


def keywords_from(settings: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(database name, TiDBDatabase keywords) from the TIDB_* settings, DEFAULTS for the rest.

    Only the port's text becomes a number; TiDBDatabase checks every value.
    """
    keywords: dict[str, Any] = {}
    for variable, keyword in VARIABLES.items():
        found = given(settings, variable)
        if found or variable in DEFAULTS:
            keywords[keyword] = found[1] if found else DEFAULTS[variable]
    keywords["port"] = parse_whole_number("port", keywords["port"], 1, 65535)
    return keywords.pop("database"), keywords
