"""Database URLs: parsed by the dialect, never echoed; every MySQL scheme gets the same rules."""

import re
import subprocess
import sys
from urllib.parse import quote, urlencode

import pytest
from peewee import OperationalError, SqliteDatabase
from playhouse.db_url import connect

from tests.conftest import ROOT
from tidb_dialect import ConfigError, PooledTiDBDatabase, TiDBDatabase, connect_url, parse_url
from tidb_dialect.settings import database_from


def test_registered_by_importing_the_package():
    code = (
        "from playhouse.db_url import schemes; before = set(schemes); import tidb_dialect; "
        "print(sorted(set(schemes) - before))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['tidb', 'tidb+pool']"


def test_url_parts_become_connection_keywords():
    assert parse_url(
        "tidb://app.root:secret@gateway01.example.com:4000/shop?driver=mysqlclient"
    ) == (
        TiDBDatabase,
        "shop",
        {
            "driver": "mysqlclient",
            "user": "app.root",
            "password": "secret",
            "host": "gateway01.example.com",
            "port": 4000,
        },
    )


@pytest.mark.parametrize(
    "scheme, database_class",
    [
        ("tidb", TiDBDatabase),
        ("tidb+pool", PooledTiDBDatabase),
        ("mysql", TiDBDatabase),
        ("mysql+pool", PooledTiDBDatabase),
        ("TIDB", TiDBDatabase),
    ],
)
def test_every_mysql_scheme_gets_the_dialect(scheme, database_class):
    assert parse_url("%s://root@127.0.0.1:4000/test" % scheme)[0] is database_class


def test_pool_parameters_on_pool_schemes():
    keywords = parse_url("tidb+pool://root@127.0.0.1/test?max_connections=8&stale_timeout=300")[2]
    assert (keywords["max_connections"], keywords["stale_timeout"]) == (8, 300)


def test_timeouts_and_flags_are_read_as_numbers_and_booleans():
    keywords = parse_url(
        "tidb://root@h/test?connect_timeout=3&read_timeout=60&ssl_verify_identity=TRUE"
    )[2]
    assert keywords == {
        "connect_timeout": 3,
        "read_timeout": 60,
        "ssl_verify_identity": True,
        "user": "root",
        "host": "h",
    }


def test_sqlite_url():
    assert parse_url("sqlite:///player.db") == (SqliteDatabase, "player.db", {})
    assert parse_url("sqlite:////tmp/p%20q.db")[1] == "/tmp/p q.db"


#: Passwords that must survive a URL: percent-encoded, then decoded.
PASSWORDS = ["e", "1", "root", "a/b#c?d@e:f%g'h", "pässwörd-€-😀", "100%"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_user_and_password_are_percent_decoded(password):
    url = "tidb://%s:%s@127.0.0.1:4000/test" % (quote("us@r:1"), quote(password, safe=""))
    keywords = parse_url(url)[2]
    assert (keywords["user"], keywords["password"]) == ("us@r:1", password)


#: (URL, message): each names the wrong part and never shows the password (S3cr/t...).
MALFORMED = [
    ("127.0.0.1:4000/test", "url: not a database URL: expected scheme://..."),
    ("oracle://scott@db/orcl", "url: unknown scheme 'oracle' (known: tidb, tidb+pool, mysql,"),
    ("tidb://root:S3cr/t@127.0.0.1:4000/test", "url: '@' after the host: write user:password@host"),
    ("tidb://root:S3cr#t@127.0.0.1:4000/test", "url: holds '#': percent-encode / # ? @ : and %"),
    ("tidb://root:S3cr?t@127.0.0.1:4000/test", "url: '@' after the host"),
    ("tidb://root:S3cr@t@127.0.0.1:4000/test", "url: more than one '@': percent-encode"),
    ("tidb://root:S3cr%t@127.0.0.1:4000/test", "password: holds '%' not followed by two hex"),
    ("tidb:///root:S3cret@127.0.0.1:3306/test", "url: '@' after the host"),
    ("tidb://127.0.0.1:3306/root:S3cret@test", "url: '@' after the host"),
    ("tidb://root:S3cret@127.0.0.1:99999/test", "port: must be a whole number from 1 to 65535$"),
    ("tidb://root:S3cret@127.0.0.1:x/test", "port: must be a whole number from 1 to 65535;"),
    ("tidb://root:S3cret@:4000/test", "host: missing"),
    ("tidb://root:S3cret@127.0.0.1:4000", "database: missing"),
    ("tidb://root:S3cret@127.0.0.1:4000/a/b", "database: holds '/'"),
    ("tidb://root@h/test?bogus=1", "bogus: unknown URL parameter (known: charset,"),
    ("tidb://root@h/test?ssl=", "ssl: unknown URL parameter"),
    ("tidb://root@h/test?max_connections=", "max_connections: only for pool URLs"),
    ("tidb+pool://root@h/test?max_connections=abc", "max_connections: must be a whole number"),
    ("tidb+pool://root@h/test?max_connections=", "max_connections: must be a whole number"),
    ("tidb://root@h/test?connect_timeout=0", "connect_timeout: must be a whole number from 1"),
    ("tidb://root@h/test?ssl_disabled=yes", "ssl_disabled: must be true or false, got 'yes'"),
    ("tidb://root@h/test?driver=a&driver=b", "driver: given twice"),
    ("tidb://root@h/test?driver", "url: malformed query: write ?name=value&name=value"),
    ("tidb://root@h/te%00st", "database: holds a NUL character, which no driver can send"),
    ("tidb://root:S3cret@h/caf\udce9", "url: holds bytes that are not text (not UTF-8)"),
    ("sqlite://host/player.db", "url: a SQLite URL is sqlite:///FILE (three slashes)"),
    ("sqlite:///player.db?driver=pymysql", "driver: unknown URL parameter (known: none)"),
]


@pytest.mark.parametrize("url, message", MALFORMED)
def test_malformed_urls_name_the_part_and_hide_the_password(url, message):
    with pytest.raises(ConfigError) as refused:
        parse_url(url)
    assert re.match(
        re.escape(message.removesuffix("$")) + "$" * message.endswith("$"), str(refused.value)
    )
    assert "S3cr" not in str(refused.value)


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://root@h/test?driver=", "driver: unknown driver ''"),
        ("tidb://root@h/test?ssl_mode=REQUIRED", "ssl_mode: only VERIFY_IDENTITY is accepted"),
        ("tidb://root@a..b/test", "host: has an empty label ('..')"),
        ("tidb://root@h/test?charset=bogus", "charset: must be one of utf8mb4, utf8, latin1,"),
        ("tidb://root@%s.b/test" % ("a" * 64), "host: has a label longer than 63 characters"),
    ],
)
def test_bad_values_in_a_url_are_refused_by_the_dialect(url, message):
    with pytest.raises(ConfigError) as refused:
        connect_url(url)
    assert str(refused.value).startswith(message)


def test_a_tidb_cloud_host_gets_tls_through_mysql_urls():
    for scheme in ("mysql", "mysql+pool"):
        db = connect_url("%s://u@gateway01.us-east-1.prod.aws.tidbcloud.com:4000/test" % scheme)
        assert db.connect_params["ssl"].check_hostname


def server_url(server, database, scheme="tidb", user=None, password=None, **query):
    """The URL of `server`, user and password percent-encoded."""
    user, password = user or server.user, server.password if password is None else password
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    if getattr(server, "ca_path", ""):
        query["ssl_ca"] = server.ca_path
    return "%s://%s@%s:%d/%s?%s" % (
        scheme,
        auth,
        server.host,
        server.port,
        database,
        urlencode(query),
    )


def test_connects_through_each_driver(server, database_name, driver):
    db = connect_url(server_url(server, database_name, driver=driver))
    assert db.execute_sql("SELECT DATABASE()").fetchone()[0] == database_name
    assert (
        type(db.connection()).__module__.split(".")[0]
        == {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}[driver]
    )
    db.close()


@pytest.mark.mariadb
@pytest.mark.parametrize("password", PASSWORDS)
def test_special_passwords_log_in_through_a_url(make_user, server, database_name, driver, password):
    user = make_user(password)
    db = connect_url(server_url(server, database_name, user=user, password=password, driver=driver))
    assert db.execute_sql("SELECT CURRENT_USER()").fetchone()[0] == user + "@%"
    db.close()


def test_database_url_setting_builds_the_dialect(server, database_name):
    url = server_url(server, database_name, "tidb+pool")
    db = database_from({"DATABASE_URL": url})
    assert type(db) is PooledTiDBDatabase
    assert db.execute_sql("SELECT DATABASE()").fetchone()[0] == database_name
    db.close_all()


def test_tls_from_the_url_really_verifies(tls_server, driver):
    base = "tidb://root@%s:%d/mysql?driver=%s&ssl_ca=%s" % (
        "%s",
        tls_server.port,
        driver,
        tls_server.ca_path,
    )
    db = connect(base % "127.0.0.1")
    cipher = db.execute_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").fetchone()[1]
    assert cipher  # encrypted
    db.close()
    # The certificate names 127.0.0.1 only: the other address must be refused.
    with pytest.raises(OperationalError) as raised:
        connect(base % tls_server.other_host).connect()
    assert "certificate" in str(raised.value).lower() or "ssl" in str(raised.value).lower()


#: Every number a URL takes, with the scheme that takes it and the class it makes.
URL_NUMBERS = [
    ("connect_timeout", "tidb", TiDBDatabase, (1, 86400)),
    ("read_timeout", "tidb", TiDBDatabase, (1, 86400)),
    ("write_timeout", "tidb", TiDBDatabase, (1, 86400)),
    ("max_connections", "tidb+pool", PooledTiDBDatabase, (1, 10000)),
    ("stale_timeout", "tidb+pool", PooledTiDBDatabase, (1, 86400)),
    ("timeout", "tidb+pool", PooledTiDBDatabase, (1, 86400)),
    ("ping_after", "tidb+pool", PooledTiDBDatabase, (0, 86400)),
]


@pytest.mark.parametrize("name, scheme, database_class, limits", URL_NUMBERS)
def test_a_url_parameter_and_its_keyword_have_one_range(name, scheme, database_class, limits):
    low, high = limits
    url = "%s://root@h/test?%s=%%d" % (scheme, name)
    assert parse_url(url % high)[2][name] == high
    assert database_class("test", **{name: low}) is not None
    wording = "%s: must be a whole number from %d to %d, got " % (name, low, high)
    for outside in (low - 1, high + 1):
        with pytest.raises(ConfigError) as from_url:
            parse_url(url % outside)
        with pytest.raises(ConfigError) as from_keyword:
            database_class("test", **{name: outside})
        assert str(from_url.value) == wording + repr(str(outside))
        assert str(from_keyword.value) == wording + repr(outside)
