"""Every connection rule in one place: TiDBDatabase's keywords in, the driver's keywords out.

TiDBDatabase.init calls driver_keywords(), so a database made by hand, the
pooled and reconnecting ones and tidb:// URLs all obey the same rules:

- the host is normalised as the resolver will see it, and ``localhost`` is
  sent as TCP to 127.0.0.1 (mysqlclient would take it for its Unix socket);
- TLS is on when a CA is given or the host is under tidbcloud.com, and then
  the certificate and the host name are always verified: a keyword that would
  weaken that is refused, never dropped; a host under tidb-cloud.com
  (Dedicated) needs its cluster's CA;
- ``connect_timeout`` bounds both the TCP connection and the wait for the
  server's greeting (a port that accepts but never speaks MySQL);
- the drivers' keywords that MySQLDatabase users pass and that weaken nothing
  are passed on; those that would (another cursor class, LOAD DATA LOCAL,
  option files, ...) are refused saying why, and LOAD DATA LOCAL is off;
- one statement per query with either driver (mysqlclient allows several unless told
  not to): ReconnectingTiDBDatabase resends a lost read, which must not hide a write;
- an unknown keyword, or a value of the wrong kind, is refused by name.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ._private import pymysql_read_timeout
from .checks import parse_whole_number, sendable_text, whole_number
from .errors import ConfigError
from .tls import default_ca_bundle, require_cluster_ca, tls_required, verifying_context

#: Driver name -> the module it imports.
DRIVERS = {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}
#: The asyncio driver (AsyncTiDBDatabase's): PyMySQL's protocol code on asyncio.
ASYNC_DRIVERS = {"aiomysql": "aiomysql"}
#: Keywords aiomysql has no counterpart of: refused rather than dropped.
UNSUPPORTED_BY = {"aiomysql": ("read_timeout", "write_timeout")}

#: Seconds to wait for the TCP connection, and again for the server's greeting.
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Keyword:
    """A keyword of the dialect's databases: what it holds, and who takes it."""

    kind: str  # "number" (a whole number from low to high), "flag" (True or False), "text", "ssl"
    low: int = 0
    high: int = 0
    url: bool = True  # a URL parameter of the same name (?connect_timeout=5)
    takes: str = (
        "all"  # every database; "pool": PooledTiDBDatabase; "async": AsyncTiDBDatabase; or both
    )


DAY = 86400
#: Every keyword the dialect's databases take (a URL writes host, port, user and password in
#: its authority), and the ranges of the numbers; refused ones are in REFUSED_KEYWORDS.
KEYWORDS = {
    **{name: Keyword("text", url=False) for name in ("host", "user", "password", "passwd")},
    **{name: Keyword("text", url=False) for name in ("sql_mode", "init_command")},
    "port": Keyword("number", 1, 65535, url=False),
    "connect_timeout": Keyword("number", 1, DAY),
    "read_timeout": Keyword("number", 1, DAY),
    "write_timeout": Keyword("number", 1, DAY),
    "max_allowed_packet": Keyword("number", 1024, 2**30, url=False),
    "client_flag": Keyword("number", 0, 2**32 - 1, url=False),
    "max_connections": Keyword("number", 1, 10000, takes="pool"),
    "stale_timeout": Keyword("number", 1, DAY, takes="pool async"),
    "timeout": Keyword("number", 1, DAY, takes="pool"),
    "ping_after": Keyword("number", 0, DAY, takes="pool"),  # 0: a ping at every checkout
    "pool_size": Keyword("number", 1, 10000, takes="async"),
    "pool_min_size": Keyword("number", 0, 10000, takes="async"),
    "acquire_timeout": Keyword("number", 1, DAY, takes="async"),
    "ssl_verify_cert": Keyword("flag"),
    "ssl_verify_identity": Keyword("flag"),
    "ssl_disabled": Keyword("flag"),
    **{name: Keyword("text") for name in ("driver", "ssl_ca", "ssl_cert", "ssl_key", "ssl_mode")},
    "charset": Keyword("text"),
    "ssl": Keyword("ssl", url=False),  # {"ca": path, "cert": path, "key": path}, as mysqlclient's
    **{name: Keyword("flag", url=False) for name in ("use_unicode", "binary_prefix")},
    **{name: Keyword("flag", url=False) for name in ("local_infile", "autocommit")},
}


def ranges(takes: str) -> dict[str, tuple[int, int]]:
    """{keyword: (lowest, highest)} of the numbers that only `takes` ("pool", "async") takes."""
    return {
        n: (k.low, k.high)
        for n, k in KEYWORDS.items()
        if k.kind == "number" and takes in k.takes.split()
    }


def number(name: str, value: object, text: bool = False) -> int:
    """KEYWORDS[name]'s whole number (given as text too if `text`), else ConfigError."""
    rule = KEYWORDS[name]
    check = parse_whole_number if text else whole_number
    return check(name, value, rule.low, rule.high)


#: Text keywords the driver gets as they are.
TEXT_KEYWORDS = ("user", "charset", "sql_mode", "init_command")
#: The character sets TiDB supports that both drivers can decode (utf8 is utf8mb3 in TiDB;
#: utf8mb4 is the default here). Not binary: Python has no codec of that name, so either
#: driver fails on it (LookupError). gbk and gb18030 are checked against the server too.
CHARSETS = ("utf8mb4", "utf8", "latin1", "ascii", "gbk", "gb18030")
TIMEOUT_KEYWORDS = ("connect_timeout", "read_timeout", "write_timeout")
TLS_FILE_KEYWORDS = ("ssl_ca", "ssl_cert", "ssl_key")
KNOWN_KEYWORDS = tuple(name for name, rule in KEYWORDS.items() if rule.takes == "all")
#: Driver keywords refused for what they would do.
REFUSED_KEYWORDS = {
    "cursorclass": "peewee reads every row as a tuple, which another cursor class breaks "
    "(use .dicts() or .namedtuples() on a query)",
    "unix_socket": "the dialect connects to host and port over TCP, and a socket would bypass "
    "the TLS rules that go with the host",
    "read_default_file": "an option file could turn TLS off, or hold a password, unchecked",
    "read_default_group": "an option file could turn TLS off, or hold a password, unchecked",
    "defer_connect": "the dialect opens each connection itself, bounding the wait for the server",
    "conv": "the fast bulk_create() writes whole numbers as the drivers' own converters do",
}
#: client_flag bits refused: bit -> why.
REFUSED_CLIENT_FLAGS = {
    0x80: "CLIENT_LOCAL_FILES lets the server read any file this program can read",
    0x800: "CLIENT_SSL is set by the TLS keywords (ssl_ca), which also verify the server",
}

#: Unicode categories a host name never holds: controls, zero-width and other
#: format characters, spaces and separators, private use, unassigned.
INVISIBLE = ("Cc", "Cf", "Co", "Cn", "Zl", "Zp", "Zs")
#: Full stops that CJK input methods type; resolvers read them as ".".
FULL_STOPS = str.maketrans("\u3002\uff0e\uff61", "...")
HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def load_driver(driver: str, drivers: Mapping[str, str] = DRIVERS) -> ModuleType:
    """The module of `driver` (one of `drivers`), checked once, when the database is made."""
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
    if "passwd" in given:  # MySQLdb's old name
        if "password" in given:
            raise ConfigError.of("passwd", "give password or passwd, not both")
        given["password"] = given.pop("passwd")
    for name in given:
        if name in REFUSED_KEYWORDS:
            raise ConfigError.of(name, "refused: " + REFUSED_KEYWORDS[name])
    unknown = sorted(set(given) - set(KNOWN_KEYWORDS))
    if unknown:
        raise ConfigError.of(
            unknown[0],
            "unknown connection keyword (known: %s)" % ", ".join(sorted(KNOWN_KEYWORDS)),
        )
    params: dict[str, Any] = {"host": resolver_host(given.get("host", "127.0.0.1"))}
    if "port" in given:
        params["port"] = number("port", given["port"])
    if given.get("password"):
        params["password"] = sendable_password(driver, given["password"])
    for name in TEXT_KEYWORDS:
        if name in given:
            params[name] = text(name, given[name])
    params.setdefault("charset", "utf8mb4")  # peewee 3.17 defaults to 3-byte utf8
    if "use_unicode" in given:  # peewee 3.17's MySQLDatabase passes use_unicode=True
        if given["use_unicode"] is not True:
            raise ConfigError.of("use_unicode", "must be True, got %r" % (given["use_unicode"],))
        params["use_unicode"] = True
    params["connect_timeout"] = CONNECT_TIMEOUT
    for name in TIMEOUT_KEYWORDS:
        if name in given and name in UNSUPPORTED_BY.get(driver, ()):
            raise ConfigError.of(
                name, "%s has no such setting (bound an await with asyncio.wait_for)" % driver
            )
        if name in given:
            params[name] = number(name, given[name])
    params.update(driver_options(driver, given))
    if driver == "mysqlclient":  # one statement per query, as PyMySQL: none is ever resent twice
        params["multi_statements"] = False
    params.update(tls_keywords(driver, params["host"], given))
    return params


def driver_options(driver: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The driver options MySQLDatabase users pass (max_allowed_packet, binary_prefix,
    client_flag, local_infile, autocommit), checked; those that would weaken something
    are refused."""
    options: dict[str, Any] = {}
    if "max_allowed_packet" in given:
        if driver != "pymysql":
            raise ConfigError.of(
                "max_allowed_packet", "PyMySQL's keyword (mysqlclient has none): drop it"
            )
        options["max_allowed_packet"] = number("max_allowed_packet", given["max_allowed_packet"])
    if "binary_prefix" in given:
        if not isinstance(given["binary_prefix"], bool):
            raise ConfigError.of(
                "binary_prefix", "must be True or False, got %r" % (given["binary_prefix"],)
            )
        options["binary_prefix"] = given["binary_prefix"]
    if "client_flag" in given:
        flags = number("client_flag", given["client_flag"])
        for bit, why in REFUSED_CLIENT_FLAGS.items():
            if flags & bit:
                raise ConfigError.of("client_flag", "refused: " + why)
        options["client_flag"] = flags
    if given.get("local_infile", False) is not False:
        raise ConfigError.of(
            "local_infile",
            "refused: LOAD DATA LOCAL INFILE lets the server read any file this program can "
            "read (got %r)" % (given["local_infile"],),
        )
    # Said to both drivers: mysqlclient on MariaDB Connector/C allows it unless told not to.
    options["local_infile"] = False
    if given.get("autocommit", True) is not True:  # every connection is opened in it
        raise ConfigError.of(
            "autocommit",
            "refused: peewee runs on autocommit connections and opens transactions itself "
            "(atomic(), run_transaction()); with it off, writes outside them never commit "
            "(got %r)" % (given["autocommit"],),
        )
    return options


def text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError.of(name, "must be non-empty text, got %r" % (value,))
    sendable_text(name, value)
    if name == "charset":
        if value.lower() == "binary":
            raise ConfigError.of(
                name,
                "binary is refused: neither driver can decode text in it (Python has no "
                "codec of that name); keep utf8mb4 and store bytes in a BlobField",
            )
        if value.lower() not in CHARSETS:
            raise ConfigError.of(
                name, "must be one of %s (TiDB's), got %r" % (", ".join(CHARSETS), value)
            )
        return value.lower()
    return value


def resolver_host(host: object) -> str:
    """`host` as the resolver will see it; refused when it cannot be a host name.

    Copying from a web page can bring a zero-width space, and a CJK input
    method types "。" for ".": the resolver would reach the same host, so
    the TiDB Cloud check must see the same name.
    """
    if not isinstance(host, str):
        raise ConfigError.of("host", "must be text, got %r" % (host,))
    name = host.strip()
    for position, char in enumerate(name, 1):
        if unicodedata.category(char) in INVISIBLE:
            raise ConfigError.of(
                "host",
                "holds an invisible or control character (U+%04X at position %d): "
                "type the host name again" % (ord(char), position),
            )
    name = name.translate(FULL_STOPS).lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise ConfigError.of("host", "must not be empty")
    if name == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        pass
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise ConfigError.of("host", "not a valid host name: %r" % host) from None
    for label in name.split("."):
        if not label:
            raise ConfigError.of("host", "has an empty label ('..'): %r" % host)
        if len(label) > 63:
            raise ConfigError.of("host", "has a label longer than 63 characters: %r" % host)
        if not HOST_CHARACTERS.issuperset(label):
            raise ConfigError.of(
                "host",
                "not a host name (letters, digits, '-' and '.'; the port goes in port): %r" % host,
            )
    return name


def sendable_password(driver: str, password: object) -> str | bytes:
    """The password as `driver` sends it: UTF-8, as the mysql client does.

    PyMySQL encodes a text password as latin-1 (refusing "€", sending "é" as
    a byte the server never hashed), so it is given the UTF-8 bytes instead;
    aiomysql encodes it as latin-1 too but takes text only, so it is given
    the text whose latin-1 bytes are the UTF-8 ones; mysqlclient encodes
    text as UTF-8 itself.
    """
    if isinstance(password, bytes):
        return password.decode("latin-1") if driver == "aiomysql" else password
    if not isinstance(password, str):
        raise ConfigError.of("password", "must be text, got a %s" % type(password).__name__)
    encoded = sendable_text("password", password).encode("utf-8")
    if driver == "aiomysql":
        return encoded.decode("latin-1")
    return encoded if driver == "pymysql" else password


def tls_keywords(driver: str, host: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The driver's TLS keywords, or {} when TLS is off; refuses any weakening keyword."""
    files = tls_files(given)
    if given.get("ssl_disabled") not in (None, False):
        raise ConfigError.of(
            "ssl_disabled", "refused: TLS is never turned off (got %r)" % (given["ssl_disabled"],)
        )
    verify = [name for name in ("ssl_verify_cert", "ssl_verify_identity") if name in given]
    for name in verify:
        if given[name] is not True:
            raise ConfigError.of(
                name, "refused: verification cannot be turned off (got %r)" % (given[name],)
            )
    if "ssl_mode" in given:
        mode = given["ssl_mode"]
        if not isinstance(mode, str) or mode.upper() != "VERIFY_IDENTITY":
            raise ConfigError.of(
                "ssl_mode",
                "only VERIFY_IDENTITY is accepted, got %r (other modes skip the certificate "
                "or host name check)" % (mode,),
            )
        verify.append("ssl_mode")
    if "ssl_key" in files and "ssl_cert" not in files:
        raise ConfigError.of("ssl_key", "needs ssl_cert, the client certificate it belongs to")
    require_cluster_ca(host, files.get("ssl_ca"))
    if "ssl_ca" in files:
        ca_path = os.path.expanduser(files["ssl_ca"])
    elif tls_required(host):
        ca_path = default_ca_bundle()
    elif verify or "ssl_cert" in files:
        raise ConfigError.of(
            (verify or ["ssl_cert"])[0],
            "needs ssl_ca, the CA file that signed the server's certificate",
        )
    else:
        return {}
    context = verifying_context(ca_path, files.get("ssl_cert"), files.get("ssl_key"))
    if driver in ("pymysql", "aiomysql"):
        return {"ssl": context}  # one context for every connection of the database
    ssl = {"ca": ca_path}
    ssl.update((name[4:], files[name]) for name in ("ssl_cert", "ssl_key") if name in files)
    return {"ssl_mode": "VERIFY_IDENTITY", "ssl": ssl}


def tls_files(given: Mapping[str, Any]) -> dict[str, str]:
    """{keyword: path} of the CA and client certificate files, from ssl_* and ssl={...}."""
    files = {name: given[name] for name in TLS_FILE_KEYWORDS if name in given}
    if "ssl" in given:
        value = given["ssl"]
        if not isinstance(value, dict) or not value or not {"ca", "cert", "key"}.issuperset(value):
            raise ConfigError.of(
                "ssl",
                "refused %r: give ssl_ca=PATH (and ssl_cert, ssl_key) or ssl={'ca': PATH}"
                % (value,),
            )
        for part, path in value.items():
            if ("ssl_" + part) in files:
                raise ConfigError.of("ssl", "%s given twice (ssl_%s and ssl)" % (part, part))
            files["ssl_" + part] = path
    for name, path in files.items():
        if not isinstance(path, str) or not path.strip():
            raise ConfigError.of(name, "must name a file, got %r" % (path,))
        sendable_text(name, path)
    return files


def open_connection(module: ModuleType, database: str | None, params: Mapping[str, Any]) -> Any:
    """module.connect(...), the server's greeting bounded by connect_timeout with either driver.

    mysqlclient's connect_timeout covers the handshake already. PyMySQL reads
    the greeting with its read_timeout (none by default), so that is set to
    connect_timeout for the handshake only.
    """
    if module.__name__ != "pymysql":
        return module.connect(database=database, autocommit=True, **params)
    conn = module.connect(database=database, autocommit=True, defer_connect=True, **params)
    with pymysql_read_timeout(conn, params["connect_timeout"]):
        conn.connect()
    return conn
