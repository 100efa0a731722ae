"""The connection keywords: one table (KEYWORDS) read by every class's init(), the URLs and docs,
so an unknown keyword or a wrong value is refused by name, and one that would weaken says why."""

from __future__ import annotations

import contextlib
import importlib
import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ._private import pymysql_read_timeout
from .errors import ConfigError
from .tls import tls_keywords

#: Driver name -> the module it imports.
DRIVERS = {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}
#: AsyncTiDBDatabase's driver: PyMySQL's protocol code on asyncio.
ASYNC_DRIVERS = {"aiomysql": "aiomysql"}
#: Seconds to wait for the TCP connection, and again for the server's greeting.
CONNECT_TIMEOUT = 10

ALL = ("TiDBDatabase", "PooledTiDBDatabase", "AsyncTiDBDatabase")
POOL, ASYNC = ("PooledTiDBDatabase",), ("AsyncTiDBDatabase",)
DAY = 86400


@dataclass(frozen=True)
class Keyword:
    """Kinds: "number" (whole, low to high), "flag" (`only`: the one value that weakens nothing),
    "text", "file" and "ssl" (TLS files, tls.py), "refused" (`why`)."""

    kind: str
    low: int = 0
    high: int = 0
    takes: tuple[str, ...] = ALL  # the classes; their URL schemes too when `url`
    url: bool = True  # a URL parameter (?connect_timeout=5); False: the authority or none
    only: bool | None = None
    why: str = ""
    drivers: tuple[str, ...] = ("pymysql", "mysqlclient", "aiomysql")


LOCAL_FILES = "lets the server read any file this program can read"
OPTION_FILE = "an option file could turn TLS off, or hold a password, unchecked"
NO_VERIFY = "verification cannot be turned off"
NO_AUTOCOMMIT = "peewee runs on autocommit connections: writes outside atomic() would not commit"
PYMYSQL_MYSQLCLIENT = ("pymysql", "mysqlclient")
KEYWORDS = {
    "host": Keyword("text", url=False),
    "port": Keyword("number", 1, 65535, url=False),
    "user": Keyword("text", url=False),
    "password": Keyword("text", url=False),
    "passwd": Keyword("text", url=False),  # MySQLdb's old name
    "driver": Keyword("text"),
    "charset": Keyword("text"),
    "sql_mode": Keyword("text", url=False),
    "init_command": Keyword("text", url=False),
    "connect_timeout": Keyword("number", 1, DAY),
    "read_timeout": Keyword("number", 1, DAY, drivers=PYMYSQL_MYSQLCLIENT),
    "write_timeout": Keyword("number", 1, DAY, drivers=PYMYSQL_MYSQLCLIENT),
    "max_allowed_packet": Keyword("number", 1024, 2**30, url=False, drivers=("pymysql",)),
    "client_flag": Keyword("number", 0, 2**32 - 1, url=False),
    "max_connections": Keyword("number", 1, 10000, takes=POOL),
    "stale_timeout": Keyword("number", 1, DAY, takes=POOL + ASYNC),
    "timeout": Keyword("number", 1, DAY, takes=POOL),
    "ping_after": Keyword("number", 0, DAY, takes=POOL),  # 0: a ping at every checkout
    "pool_size": Keyword("number", 1, 10000, takes=ASYNC),
    "pool_min_size": Keyword("number", 0, 10000, takes=ASYNC),
    "acquire_timeout": Keyword("number", 1, DAY, takes=ASYNC),
    "ssl_ca": Keyword("file"),
    "ssl_cert": Keyword("file"),
    "ssl_key": Keyword("file"),
    "ssl": Keyword("ssl", url=False),  # {"ca": path, "cert": path, "key": path}, mysqlclient's
    "ssl_mode": Keyword("text"),  # VERIFY_IDENTITY only
    "ssl_verify_cert": Keyword("flag", only=True, why=NO_VERIFY),
    "ssl_verify_identity": Keyword("flag", only=True, why=NO_VERIFY),
    "ssl_disabled": Keyword("flag", only=False, why="TLS is never turned off"),
    "use_unicode": Keyword("flag", url=False, only=True, why="peewee reads text as str"),
    "binary_prefix": Keyword("flag", url=False),
    "local_infile": Keyword("flag", url=False, only=False, why="LOAD DATA LOCAL " + LOCAL_FILES),
    "autocommit": Keyword("flag", url=False, only=True, why=NO_AUTOCOMMIT),
    "cursorclass": Keyword("refused", why="peewee reads every row as a tuple: use .dicts()"),
    "unix_socket": Keyword("refused", why="the dialect connects by TCP, where its TLS rules apply"),
    "read_default_file": Keyword("refused", why=OPTION_FILE),
    "read_default_group": Keyword("refused", why=OPTION_FILE),
    "defer_connect": Keyword("refused", why="the dialect opens each connection, bounding the wait"),
    "conv": Keyword("refused", why="the fast bulk_create() writes numbers as the drivers do"),
}
#: client_flag bits refused: bit -> why.
REFUSED_CLIENT_FLAGS = {
    0x80: "CLIENT_LOCAL_FILES " + LOCAL_FILES,
    0x800: "CLIENT_SSL is set by the TLS keywords (ssl_ca), which also verify the server",
}
#: TiDB's character sets that both drivers can decode (utf8 is utf8mb3 in TiDB); binary has
#: no Python codec. A server without gbk (TiDB before v5.4.0) or gb18030 (before v7.4.0; MariaDB)
#: refuses the driver's SET NAMES at connect with error 1115.
CHARSETS = ("utf8mb4", "utf8", "latin1", "ascii", "gbk", "gb18030")
#: Unicode categories no host name holds: controls, format (zero-width), spaces, private use.
INVISIBLE = ("Cc", "Cf", "Co", "Cn", "Zl", "Zp", "Zs")
FULL_STOPS = str.maketrans("\u3002\uff0e\uff61", "...")  # CJK input methods' "."
HOST_LABEL = re.compile("[a-z0-9_-]+")


def whole_number(name: str, value: object, low: int, high: int, text: bool = False) -> int:
    """`value` if it is an int (not a bool) from `low` to `high`, or with `text` the text of
    one in ASCII digits only (int() would take a sign, "_", spaces, "١٢"); else ConfigError."""
    number = value
    if text and isinstance(value, str) and re.fullmatch("[0-9]+", value):
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise ConfigError.of(
            name, "must be a whole number from %d to %d, got %r" % (low, high, value)
        )
    return number


def number(name: str, value: object, text: bool = False) -> int:
    """KEYWORDS[name]'s whole number (as text too if `text`), else ConfigError."""
    return whole_number(name, value, KEYWORDS[name].low, KEYWORDS[name].high, text)


def checked_numbers(given: Mapping[str, Any], cls: str) -> dict[str, Any]:
    """`given`, `cls`'s pool keywords checked (as text too); None ("unchanged") passes."""
    pool = {name for name, rule in KEYWORDS.items() if rule.takes != ALL and cls in rule.takes}
    return {
        name: number(name, value, text=True) if name in pool and value is not None else value
        for name, value in given.items()
    }


def sendable_text(name: str, value: str) -> str:
    """`value`, unless it holds what no driver can send: a NUL (the URL form's %00) or bytes that
    are not UTF-8 (os.environ's lone surrogates). The rule for every text, however given."""
    if "\0" in value:
        raise ConfigError.of(name, "holds a NUL character, which no driver can send")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError.of(name, "holds bytes that are not text (not UTF-8)") from None
    return value


def load_driver(driver: str, drivers: Mapping[str, str] = DRIVERS) -> ModuleType:
    """The module of `driver` (one of `drivers`), checked when the database is made."""
    if driver not in drivers:
        raise ConfigError.of(
            "driver", "unknown driver %r (use %s)" % (driver, " or ".join(drivers))
        )
    try:
        return importlib.import_module(drivers[driver])
    except ImportError:
        raise ConfigError.of(
            "driver", "%s is not installed (no module named %s)" % (driver, drivers[driver])
        ) from None


def driver_keywords(driver: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords for `driver`'s connect(), from TiDBDatabase's connection keywords."""
    given = dict(given)
    mysqldb = {"password": given.pop("passwd")} if "passwd" in given else {}
    if "ssl" in given:  # {"ca": path, "cert": path, "key": path}
        ssl = given.pop("ssl")
        if not isinstance(ssl, dict) or not ssl or not {"ca", "cert", "key"}.issuperset(ssl):
            raise ConfigError.of("ssl", "must be {'ca': PATH} (and 'cert', 'key'), got %r" % (ssl,))
        mysqldb.update(("ssl_" + part, path) for part, path in ssl.items())
    if twice := sorted(mysqldb.keys() & given.keys()):
        raise ConfigError.of(twice[0], "given twice (also as MySQLdb's passwd or ssl)")
    given.update(mysqldb)
    for name, value in given.items():
        check_keyword(driver, name, value)
    # peewee 3.17 defaults to 3-byte utf8; LOAD DATA LOCAL is said off to both drivers.
    params: dict[str, Any] = {"charset": "utf8mb4", "local_infile": False}
    # Sent by the dialect itself: the host resolved, the password encoded, TLS, autocommit.
    own = ("host", "password", "autocommit")
    params.update((n, v) for n, v in given.items() if n not in own and not n.startswith("ssl"))
    params["charset"] = params["charset"].lower()
    if params["charset"] not in CHARSETS:  # binary: bytes go in a BlobField
        problem = "must be one of %s (TiDB's, that Python can decode), got %r"
        raise ConfigError.of("charset", problem % (", ".join(CHARSETS), given["charset"]))
    params["host"] = resolver_host(given.get("host", "127.0.0.1"))
    if given.get("password"):
        params["password"] = sendable_password(driver, given["password"])
    for bit, why in REFUSED_CLIENT_FLAGS.items():
        if params.get("client_flag", 0) & bit:
            raise ConfigError.of("client_flag", "refused: " + why)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    if driver == "mysqlclient":  # one statement per query, as PyMySQL: none is resent twice
        params["multi_statements"] = False
    tls = {name: value for name, value in given.items() if name.startswith("ssl")}
    files: dict[str, str] = {n: tls[n] for n in ("ssl_ca", "ssl_cert", "ssl_key") if n in tls}
    params.update(tls_keywords(driver, params["host"], tls, files))
    return params


def check_keyword(driver: str, name: str, value: object) -> None:
    """ConfigError unless KEYWORDS says `driver` takes `name`, and `value` fits it."""
    rule = KEYWORDS.get(name)
    if rule is None or rule.takes != ALL:
        known = (n for n, k in KEYWORDS.items() if k.takes == ALL and k.kind != "refused")
        raise ConfigError.of(name, "unknown connection keyword (known: %s)" % ", ".join(known))
    if rule.kind == "refused" or (rule.only is not None and value is not rule.only):
        raise ConfigError.of(name, "refused: %s (got %r)" % (rule.why, value))
    if driver not in rule.drivers:
        hint = "drop it" if driver != "aiomysql" else "bound an await with asyncio.wait_for"
        raise ConfigError.of(name, "%s has no such setting (%s)" % (driver, hint))
    if rule.kind == "number":
        number(name, value)
    elif rule.kind == "flag" and not isinstance(value, bool):
        raise ConfigError.of(name, "must be True or False, got %r" % (value,))
    elif rule.kind in ("text", "file") and name not in ("password", "ssl_mode"):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError.of(name, "must be non-empty text, got %r" % (value,))
        sendable_text(name, value)


def resolver_host(host: str) -> str:
    """`host` as the resolver will see it, so that the TiDB Cloud check sees the same name:
    a zero-width space copied from a web page is refused, a CJK "。" read as "."."""
    name = host.strip()
    for position, char in enumerate(name, 1):
        if unicodedata.category(char) in INVISIBLE:
            raise ConfigError.of(
                "host",
                "holds an invisible or control character (U+%04X at position %d): "
                "type the host name again" % (ord(char), position),
            )
    name = name.translate(FULL_STOPS).lower().removesuffix(".")
    if name == "localhost":  # TCP: mysqlclient would take it for its Unix socket
        return "127.0.0.1"
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(name.strip("[]")))
    try:
        name = name if name.isascii() else name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ConfigError.of("host", "not a valid host name: %r" % host) from None
    for label in name.split("."):
        if not label:
            raise ConfigError.of("host", "has an empty label ('..'): %r" % host)
        if len(label) > 63:
            raise ConfigError.of("host", "has a label longer than 63 characters: %r" % host)
        if not HOST_LABEL.fullmatch(label):
            raise ConfigError.of("host", "not a host name (the port goes in port): %r" % host)
    return name


def sendable_password(driver: str, password: object) -> str | bytes:
    """The password as `driver` sends it: UTF-8, as the mysql client does. PyMySQL encodes
    text as latin-1 (refusing "€"), so it gets the UTF-8 bytes; aiomysql takes text only, so
    it gets the text whose latin-1 bytes are the UTF-8 ones; mysqlclient encodes UTF-8."""
    if isinstance(password, str):
        if driver == "mysqlclient":
            return sendable_text("password", password)
        password = sendable_text("password", password).encode("utf-8")
    if not isinstance(password, bytes):
        raise ConfigError.of("password", "must be text, got a %s" % type(password).__name__)
    return password.decode("latin-1") if driver == "aiomysql" else password


def open_connection(module: ModuleType, database: str | None, params: Mapping[str, Any]) -> Any:
    """The greeting bounded by connect_timeout: mysqlclient's covers it, PyMySQL's does not."""
    if module.__name__ != "pymysql":
        return module.connect(database=database, autocommit=True, **params)
    conn = module.connect(database=database, autocommit=True, defer_connect=True, **params)
    with pymysql_read_timeout(conn, params["connect_timeout"]):
        conn.connect()
    return conn
