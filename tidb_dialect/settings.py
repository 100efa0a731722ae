"""``database_from_env()``: the TIDB_* settings of the TiDB docs, from the environment and .env; a
bad value is named as the user typed it (SettingError), a likely misspelling is a warning."""

from __future__ import annotations

import difflib
import io
import os
import re
import stat
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from peewee import Database, SqliteDatabase

from .database import TiDBDatabase
from .errors import ConfigError, SettingError
from .keywords import number
from .tls import NOT_FILES
from .urls import parse_url

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
#: TiDB's other name for a setting (its vector-search page, pytidb, tidb-vector-python).
OTHER_NAMES = {
    "TIDB_USERNAME": "TIDB_USER",
    "TIDB_DATABASE": "TIDB_DB_NAME",
    "TIDB_CA_PATH": "CA_PATH",
}
NAMES = (*SETTINGS, *OTHER_NAMES)
#: Names other programs and samples give a setting -> the setting (a likely misspelling).
#: TIDB_DATABASE_URL is read by pytidb's MCP server only; TiDB's tools write DATABASE_URL.
ALIASES = {
    **dict.fromkeys(("TIDB_DATABASE_NAME", "TIDB_DB", "TIDB_DBNAME"), "TIDB_DB_NAME"),
    **dict.fromkeys(("TIDB_PASS", "TIDB_PASSWD", "TIDB_PWD"), "TIDB_PASSWORD"),
    **dict.fromkeys(("TIDB_CA", "TIDB_SSL_CA", "TIDB_SSL_CA_PATH"), "CA_PATH"),
    **dict.fromkeys(("TIDB_URL", "TIDB_DATABASE_URL"), "DATABASE_URL"),
    "TIDB_HOSTNAME": "TIDB_HOST",
}
#: A name starting with TIDB is compared with the TIDB_* names, any other with these (other
#: programs' variables come near them); difflib's ratio: CA_PAHT 0.857, MANPATH 0.714.
OTHER_NEAR, CUTOFF = ("CA_PATH", "DATABASE_URL"), 0.84
SECRET = ("TIDB_PASSWORD", "DATABASE_URL")  # a URL may hold a password
ENV_LINE = 'write NAME=value, and quote a value holding spaces, # or quotes ("it\'s", \'say "hi"\')'
#: Opening never waits for a FIFO's writer nor takes a terminal for this process.
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class Settings(dict[str, str]):
    """The settings set, by the names given; repr hides SECRET ones (a URL may hold a password)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.misspellings: list[SettingError] = []

    def __repr__(self) -> str:
        return repr({k: "<hidden>" if k in SECRET else v for k, v in self.items()})

    def refuse_misspellings(self) -> None:
        """Raise the first likely misspelling (for a program that must not run on a default)."""
        if self.misspellings:
            raise self.misspellings[0]


def database_from_env(
    *,
    url: str | None = None,
    driver: str | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
) -> Database:
    """`url` and `driver` are a command line's --url and --driver; env_file=None reads no file."""
    settings = read_settings(environ, env_file)
    for problem in settings.misspellings:
        warnings.warn(str(problem), stacklevel=2)
    return database_from(settings, url, driver)


def read_settings(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = ".env"
) -> Settings:
    """`env_file`'s settings (a name's last line wins), the environment's over them (an empty
    variable is unset); database_from() checks the values."""
    settings = Settings()
    where = os.fspath(env_file) if env_file else ""
    environ = os.environ if environ is None else environ
    variables = [(0, name, value) for name, value in environ.items() if value]  # line 0
    for line, name, value in [*(env_lines(where) if where else ()), *variables]:
        if name in NAMES:
            settings[name] = value
        elif value and (meant := meant_setting(name)):
            problem = "not a setting this program reads; did you mean %s?" % meant
            at = (where, "line %d: %s: %s" % (line, name, problem)) if line else (name, problem)
            settings.misspellings.append(SettingError.of(*at))
    for name in [name for name, value in settings.items() if not value]:
        del settings[name]
    return settings


def meant_setting(name: str) -> str | None:
    """The setting `name` likely misspells, or None (REFERENCE.md, Misspellings)."""
    upper = name.upper()
    if name in NAMES:
        return None
    if upper in NAMES or upper in ALIASES:
        return ALIASES.get(upper, upper)
    if any(upper.startswith(setting + "_") for setting in NAMES):
        return None  # another program's name for something else: DATABASE_URL_2
    near = [n for n in NAMES if n.startswith("TIDB_")] if upper.startswith("TIDB") else OTHER_NEAR
    close = difflib.get_close_matches(upper, near, n=1, cutoff=CUTOFF)
    return close[0] if close else None


def env_lines(path: str) -> Iterator[tuple[int, str, str]]:
    """(line, name, value) per NAME=value; a FIFO or device is refused unread. dotenv_values()
    would skip a line it cannot parse (a skipped TIDB_HOST connects elsewhere): refused here by
    number, never shown (it may hold the password)."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SettingError.of(path, "cannot be read (%s)" % exc.strerror) from None
    kind = stat.S_IFMT(os.fstat(fd).st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)
        problem = NOT_FILES.get(kind, kind)
        raise SettingError.of(path, "not a regular file (%s): it must be a text file" % problem)
    with open(fd, "rb") as file:
        data = file.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # its message would show the byte
        raise SettingError.of(path, "not UTF-8 at byte %d: save it as UTF-8" % exc.start) from None
    try:
        from dotenv.parser import parse_stream
    except ImportError:
        raise SettingError.of(path, "needs python-dotenv (pip install python-dotenv)") from None
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string  # from the blank lines before it, which it counts
        skipped = original[: len(original) - len(original.lstrip())]
        line = binding.original.line + len(re.findall(r"\r\n|\n|\r", skipped))
        if binding.error:
            raise SettingError.of(path, "line %d: cannot be parsed: %s" % (line, ENV_LINE))
        if binding.key:
            yield line, binding.key, binding.value or ""


def given(settings: Mapping[str, str], variables: Iterable[str]) -> dict[str, tuple[str, str]]:
    """{keyword: (the name it was set by, value)}; TiDB's two names set differently: refused."""
    found = {}
    for variable in variables:
        names = [variable, *(other for other, meant in OTHER_NAMES.items() if meant == variable)]
        typed = [(name, settings[name]) for name in names if settings.get(name)]
        if len({value for _, value in typed}) > 1:
            both = "%s and %s" % (typed[0][0], typed[1][0])
            raise SettingError(both + ": both set, to different values: keep one", variable)
        if typed:
            found[VARIABLES[variable]] = typed[0]
    return found


def database_from(
    settings: Mapping[str, str], url: str | None = None, driver: str | None = None
) -> Database:
    """Only the settings it reads are checked. A flag beats the URL beats the variables; CA_PATH
    and TIDB_DRIVER apply to a URL without its own ?ssl_ca= or ?driver=."""
    source = "DATABASE_URL" if url is None else "--url"
    url = (settings.get("DATABASE_URL") or None) if url is None else url
    found = given(settings, VARIABLES if url is None else ("CA_PATH", "TIDB_DRIVER"))
    names: dict[str | None, str] = {}  # keyword -> the setting or flag the user typed
    database_class: type[Database]
    try:
        if url is None:
            names = {keyword: variable for variable, keyword in VARIABLES.items()}
            names.update((keyword, typed) for keyword, (typed, _) in found.items())
            database_class, (name, keywords) = TiDBDatabase, keywords_from(settings)
        else:
            database_class, name, keywords = parse_url(url)
            for keyword, (typed, value) in found.items():
                if keyword not in keywords:
                    names[keyword], keywords[keyword] = typed, value
        if driver is not None:
            names["driver"], keywords["driver"] = "--driver", driver
        if database_class is SqliteDatabase and keywords:
            raise ConfigError.of(sorted(keywords)[0], "has no meaning for a SQLite database")
        return database_class(name, **keywords)
    except ConfigError as exc:
        if exc.keyword in names:  # the setting itself is wrong
            raise SettingError.of(names[exc.keyword], exc.problem) from None
        problem = exc.problem if exc.keyword in (None, "url") else str(exc)  # "host: ..."
        raise SettingError.of(source, problem) from None


def keywords_from(settings: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(database name, keywords), DEFAULTS for unset ones; TiDBDatabase checks all but the port."""
    keywords: dict[str, Any] = {VARIABLES[variable]: value for variable, value in DEFAULTS.items()}
    keywords.update((keyword, value) for keyword, (_, value) in given(settings, VARIABLES).items())
    keywords["port"] = number("port", keywords["port"], text=True)
    return keywords.pop("database"), keywords
