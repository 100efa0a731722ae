"""tidb_dialect/keywords.py: the one set of connection rules, whatever builds the database.

TiDBDatabase, its pooled and reconnecting variants, tidb:// URLs through
playhouse.db_url and the dialect's own URL parser all go through the same
function; each rule is checked on each path where it could be lost.
"""

import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import trustme
from peewee import DatabaseError, OperationalError
from playhouse.db_url import connect as playhouse_connect

from tests.conftest import MYSQLCLIENT, ROOT, fake_db, fake_tidb, server_environ
from tests.kit.servers import ServerSettings
from tidb_dialect import (
    ConfigError,
    PooledTiDBDatabase,
    ReconnectingTiDBDatabase,
    TiDBDatabase,
    connect_url,
)
from tidb_dialect.errors import error_code

CLOUD_HOST = "gateway01.us-west-2.prod.aws.tidbcloud.com"

#: Each way of making a database, from the same keywords.
BUILDERS = {
    "TiDBDatabase": lambda **kw: TiDBDatabase("test", **kw),
    "PooledTiDBDatabase": lambda **kw: PooledTiDBDatabase("test", **kw),
    "ReconnectingTiDBDatabase": lambda **kw: ReconnectingTiDBDatabase("test", **kw),
    "playhouse tidb://": lambda **kw: playhouse_connect(url_of(**kw)),
    "connect_url tidb://": lambda **kw: connect_url(url_of(**kw)),
    "connect_url mysql://": lambda **kw: connect_url(url_of("mysql", **kw)),
}


def url_of(scheme="tidb", host="127.0.0.1", port=4000, **query):
    return "%s://root@%s:%d/test%s" % (
        scheme,
        host,
        port,
        "?" + "&".join("%s=%s" % item for item in query.items()) if query else "",
    )


@pytest.fixture(scope="module")
def ca_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize("driver_name", ["pymysql", MYSQLCLIENT])
def test_localhost_is_tcp_to_127_0_0_1_on_every_path(build, driver_name):
    db = BUILDERS[build](host="localhost", driver=driver_name)
    assert db.connect_params["host"] == "127.0.0.1"


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize(
    "host",
    [
        CLOUD_HOST,
        "GATEWAY01.US-WEST-2.PROD.AWS.TIDBCLOUD.COM.",
        "gateway01\u3002us-west-2\u3002prod\u3002aws\u3002tidbcloud\u3002com",
        "gateway01\uff0eus-west-2\uff0eprod.aws.tidbcloud\uff61com",
    ],
)
def test_tidb_cloud_host_gets_verified_tls_on_every_path(build, host):
    db = BUILDERS[build](host=host, driver="pymysql")
    assert db.connect_params["host"] == CLOUD_HOST
    context = db.connect_params["ssl"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.mysqlclient
@pytest.mark.parametrize("build", BUILDERS)
def test_tidb_cloud_host_with_mysqlclient_verifies_identity(build):
    params = BUILDERS[build](host=CLOUD_HOST, driver="mysqlclient").connect_params
    assert params["ssl_mode"] == "VERIFY_IDENTITY" and params["ssl"]["ca"]


@pytest.mark.mysqlclient
@pytest.mark.parametrize("host", ["127.0.0.1", "tidbcloud.com.example.org", "nottidbcloud.com"])
def test_other_hosts_without_a_ca_get_no_tls_keywords(host):
    for driver_name in ("pymysql", "mysqlclient"):
        params = TiDBDatabase("test", host=host, driver=driver_name).connect_params
        assert not {"ssl", "ssl_mode", "ssl_ca"} & params.keys()


@pytest.mark.parametrize("driver_name", ["pymysql", MYSQLCLIENT])
def test_the_callers_ca_wins_over_the_default_bundle_on_tidb_cloud(ca_path, driver_name):
    params = TiDBDatabase(
        "test", host=CLOUD_HOST, ssl_ca=ca_path, driver=driver_name
    ).connect_params
    if driver_name == "mysqlclient":
        assert params["ssl"] == {"ca": ca_path}
    else:  # the context trusts that CA alone
        [trusted] = params["ssl"].get_ca_certs()
        assert trusted["subject"] == ssl._ssl._test_decode_cert(ca_path)["subject"]


@pytest.mark.parametrize("driver_name", ["pymysql", MYSQLCLIENT])
@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"ssl_disabled": True}, "ssl_disabled: refused: TLS is never turned off (got True)"),
        (
            {"ssl_verify_cert": False},
            "ssl_verify_cert: refused: verification cannot be turned off (got False)",
        ),
        (
            {"ssl_verify_identity": False},
            "ssl_verify_identity: refused: verification cannot be turned off (got False)",
        ),
        ({"ssl_mode": "REQUIRED"}, "ssl_mode: only VERIFY_IDENTITY is accepted, got 'REQUIRED'"),
        ({"ssl": ""}, "ssl: must be {'ca': PATH} (and 'cert', 'key'), got ''"),
        ({"ssl": {}}, "ssl: must be {'ca': PATH} (and 'cert', 'key'), got {}"),
        ({"ssl": {"capath": "/etc"}}, "ssl: must be {'ca': PATH} (and 'cert', 'key'), got {'cap"),
        ({"ssl_ca": ""}, "ssl_ca: must be non-empty text, got ''"),
        ({"ssl": {"ca": "/other.pem"}}, "ssl_ca: given twice (also as MySQLdb's passwd or ssl)"),
    ],
)
def test_keywords_that_would_weaken_tls_are_refused_by_name(
    ca_path, driver_name, keywords, message
):
    keywords = dict({"ssl_ca": ca_path}, **keywords)
    for host in (CLOUD_HOST, "127.0.0.1"):
        with pytest.raises(ConfigError) as refused:
            TiDBDatabase("test", host=host, driver=driver_name, **keywords)
        assert str(refused.value).startswith(message)


@pytest.mark.parametrize("driver_name", ["pymysql", MYSQLCLIENT])
@pytest.mark.parametrize("name", ["ssl_verify_cert", "ssl_verify_identity"])
@pytest.mark.parametrize("value", [False, 0, None, "false", "0", "", 1, "true", "True"])
def test_verification_is_on_only_with_true_itself(ca_path, driver_name, name, value):
    """Anything but True might mean "off" to someone: refused, never read as on."""
    with pytest.raises(ConfigError) as refused:
        TiDBDatabase("test", ssl_ca=ca_path, driver=driver_name, **{name: value})
    assert str(refused.value) == (
        "%s: refused: verification cannot be turned off (got %r)" % (name, value)
    )


@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"ssl_verify_identity": True}, "ssl_verify_identity: needs ssl_ca"),
        ({"ssl_verify_cert": True}, "ssl_verify_cert: needs ssl_ca"),
        ({"ssl_mode": "VERIFY_IDENTITY"}, "ssl_mode: needs ssl_ca"),
        ({"ssl_cert": "/client.pem"}, "ssl_cert: needs ssl_ca"),
        ({"ssl_key": "/client-key.pem"}, "ssl_key: needs ssl_cert"),
    ],
)
def test_verification_without_a_ca_is_refused(keywords, message):
    with pytest.raises(ConfigError) as refused:
        TiDBDatabase("test", host="db.example.com", **keywords)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    "keywords",
    [
        {"ssl_verify_cert": True, "ssl_verify_identity": True},  # the TiDB docs' PyMySQL form
        {"ssl_mode": "verify_identity"},  # the TiDB docs' mysqlclient form
    ],
)
def test_the_tidb_docs_tls_keywords_are_accepted(ca_path, keywords):
    params = TiDBDatabase("test", host="db.example.com", ssl_ca=ca_path, **keywords).connect_params
    assert params["ssl"].verify_mode == ssl.CERT_REQUIRED and params["ssl"].check_hostname


@pytest.mark.parametrize(
    "host, message",
    [
        ("gateway01.us-west-2.prod.aws.tidbcloud\u200b.com", "U+200B at position 39"),
        ("db\x07.example.com", "U+0007 at position 3"),
        ("db .example.com", "U+0020 at position 3"),
        ("db..example.com", "has an empty label ('..')"),
        ("%s.example.com" % ("a" * 64), "has a label longer than 63 characters"),
        ("127.0.0.1:4000", "not a host name"),
        (" ", "must be non-empty text, got ' '"),
        (".", "has an empty label ('..')"),
    ],
)
def test_hosts_the_resolver_would_read_otherwise_are_refused(host, message):
    with pytest.raises(ConfigError, match=r"^host: ") as refused:
        TiDBDatabase("test", host=host)
    assert message in str(refused.value)


@pytest.mark.parametrize("build", BUILDERS)
def test_a_63_character_label_is_the_longest_accepted(build):
    """RFC 1035: a label is at most 63 octets; the boundary, on every way of making a database."""
    longest = "%s.example.com" % ("a" * 63)
    assert BUILDERS[build](host=longest).connect_params["host"] == longest
    with pytest.raises(ConfigError, match=r"host: has a label longer than 63 characters"):
        BUILDERS[build](host="%s.example.com" % ("a" * 64))


def test_an_international_host_name_is_sent_as_idna():
    assert TiDBDatabase("test", host="Bücher.example").connect_params["host"] == (
        "xn--bcher-kva.example"
    )


@pytest.mark.parametrize("port", [0, 65536, "4000", True, 4000.0])
def test_port_must_be_a_whole_number_in_range(port):
    with pytest.raises(ConfigError, match=r"^port: must be a whole number from 1 to 65535"):
        TiDBDatabase("test", port=port)


def test_unknown_keywords_are_refused_by_name():
    with pytest.raises(ConfigError, match=r"^bogus: unknown connection keyword"):
        TiDBDatabase("test", bogus=1)
    with pytest.raises(ConfigError, match=r"^bogus: unknown connection keyword"):
        playhouse_connect("tidb://root@127.0.0.1:4000/test?bogus=1")


def test_a_databases_own_keywords_make_the_same_database_on_either_peewee_series():
    """peewee 3.17's MySQLDatabase adds use_unicode=True to the keywords it keeps."""
    params = TiDBDatabase("test", host="db.internal").connect_params
    assert TiDBDatabase("test", **params).connect_params == params
    assert TiDBDatabase("test", use_unicode=True).connect_params["use_unicode"] is True
    with pytest.raises(
        ConfigError, match=r"^use_unicode: refused: peewee reads text as str \(got False\)"
    ):
        TiDBDatabase("test", use_unicode=False)


def test_unknown_driver_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"^driver: unknown driver 'oracle' \(use pymysql"):
        TiDBDatabase("test", driver="oracle")


def test_connect_timeout_has_a_default_and_can_be_changed():
    assert TiDBDatabase("test").connect_params["connect_timeout"] == 10
    assert TiDBDatabase("test", connect_timeout=3).connect_params["connect_timeout"] == 3
    with pytest.raises(ConfigError, match=r"^connect_timeout: must be a whole number"):
        TiDBDatabase("test", connect_timeout=0)


def test_a_server_that_never_greets_is_given_up_within_connect_timeout(fake_server, driver):
    silent = fake_server(silent=True)
    db = TiDBDatabase("test", host=silent.host, port=silent.port, driver=driver, connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        db.connect()
    assert time.monotonic() - started < 5
    assert raised.value.args[0] == 2013  # lost connection during the handshake


def test_the_handshakes_bound_is_not_kept_for_statements(server_settings, driver):
    """connect_timeout bounds PyMySQL's wait for the greeting through its read timeout, which
    is the caller's again once connected: a 2 s statement outlasts a 1 s connect_timeout."""
    db = on_server(server_settings, driver, connect_timeout=1)
    assert db.execute_sql("SELECT SLEEP(2)").fetchall() == ((0,),)
    db.close()
    bounded = on_server(server_settings, driver, connect_timeout=1, read_timeout=1)
    with pytest.raises(OperationalError) as raised:
        bounded.execute_sql("SELECT SLEEP(2)")
    assert raised.value.args[0] == 2013
    bounded.close()


def test_pymysql_gets_one_tls_context_for_every_connection(tls_server):
    db = PooledTiDBDatabase(
        "mysql",
        host=tls_server.host,
        port=tls_server.port,
        user=tls_server.user,
        ssl_ca=tls_server.ca_path,
        max_connections=2,
    )
    context = db.connect_params["ssl"]
    first, second = db.connection(), None
    try:

        def other():
            nonlocal second
            second = db.connection()
            db.close()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert first is not second
        assert first._sock.context is context and second._sock.context is context
    finally:
        db.close_all()


#: Passwords that PyMySQL used to encode as latin-1 (refusing "€", mangling "é").
NON_ASCII_PASSWORDS = ["pässwörd-é", "€uro-price", "emoji-😀-key"]


@pytest.mark.mariadb
@pytest.mark.parametrize("password", NON_ASCII_PASSWORDS)
def test_any_password_logs_in_with_either_driver(
    make_user, mysql_db, database_name, driver, password
):
    db = TiDBDatabase(
        database_name,
        host=mysql_db.connect_params["host"],
        port=mysql_db.connect_params["port"],
        user=make_user(password),
        password=password,
        driver=driver,
    )
    assert db.execute_sql("SELECT CURRENT_USER()").fetchone()[0] == database_name + "@%"
    db.close()


def test_passwd_is_the_old_name_of_the_password():
    db = TiDBDatabase("test", passwd="pw", driver="pymysql")
    assert db.connect_params["password"] == b"pw"
    with pytest.raises(ConfigError) as twice:
        TiDBDatabase("test", password="pw", passwd="pw")
    assert str(twice.value) == "password: given twice (also as MySQLdb's passwd or ssl)"


@pytest.mark.mysqlclient
def test_a_password_no_driver_can_send_is_refused_without_showing_it():
    for password, message in [
        ("pw\0x", "password: holds a NUL character, which no driver can send"),
        ("pw\udcff", "password: holds bytes that are not text (not UTF-8)"),
    ]:
        with pytest.raises(ConfigError) as refused:
            TiDBDatabase("test", password=password, driver="mysqlclient")
        assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    "name, keywords, message",
    [
        ("sh\0op", {}, "database: holds a NUL character, which no driver can send"),
        ("caf\udce9", {}, "database: holds bytes that are not text (not UTF-8)"),
        (None, {"db": "sh\0op"}, "database: holds a NUL character"),
        ("test", {"user": "ro\0ot"}, "user: holds a NUL character"),
        ("test", {"ssl_ca": "/ca\0.pem"}, "ssl_ca: holds a NUL character"),
        ("test", {"ssl": {"ca": "/ca\0.pem"}}, "ssl_ca: holds a NUL character"),
        ("test", {"init_command": "SET a=1\0"}, "init_command: holds a NUL character"),
    ],
)
def test_text_no_driver_can_send_is_refused_by_name_in_every_keyword(name, keywords, message):
    """The URL form's rule (%00 refused), for keyword arguments too."""
    with pytest.raises(ConfigError) as refused:
        TiDBDatabase(name, **keywords)
    assert str(refused.value).startswith(message)


def test_four_byte_characters_round_trip_with_either_driver(driver_db):
    """utf8mb4 is the dialect's default on peewee 3.17 too, whose own default is 3-byte utf8."""
    driver_db.execute_sql("CREATE TABLE note (body VARCHAR(20)) CHARACTER SET utf8mb4")
    driver_db.execute_sql("INSERT INTO note VALUES (%s)", ("tea 🍵 𝄞",))
    assert driver_db.execute_sql("SELECT body FROM note").fetchone()[0] == "tea 🍵 𝄞"


def test_the_dialect_imports_with_peewee_and_a_driver_only():
    """No python-dotenv, no certifi (its CA bundle is the fallback of last resort)."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('dotenv', 'certifi'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import tidb_dialect\n"
        "db = tidb_dialect.TiDBDatabase('test', host=%r)\n"
        "print(type(db.connect_params['ssl']).__name__)\n" % CLOUD_HOST
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "SSLContext\n"


def test_the_dialect_speaks_of_keywords_and_only_settings_py_of_the_settings():
    modules = {path.name: path.read_text() for path in (ROOT / "tidb_dialect").glob("*.py")}
    settings = modules.pop("settings.py")
    for word in ("TIDB_PORT", "TIDB_DRIVER", "CA_PATH", "dotenv"):
        assert word in settings
        assert [name for name, source in modules.items() if word in source] == []
    assert "requirements" not in settings


@pytest.mark.mysqlclient
def test_the_program_gives_up_on_a_silent_server_within_the_default_10_s(run_example, fake_server):
    """A port that accepts TCP and never speaks MySQL (a load balancer with nothing behind it)."""
    silent = fake_server(silent=True)
    url = "tidb://root@127.0.0.1:%d/test" % silent.port

    def run(driver_name):
        started = time.monotonic()
        result = run_example("--url", url, "--driver", driver_name)
        return result, time.monotonic() - started

    with ThreadPoolExecutor(2) as pool:  # both drivers at once: one wait, not two
        runs = list(pool.map(run, ["pymysql", "mysqlclient"]))
    for result, seconds in runs:
        assert result.returncode == 1, result.stderr
        assert "(2013, " in result.stderr and "Traceback" not in result.stderr
        assert 9 < seconds < 15


def test_spaces_around_the_host_do_not_matter():
    assert TiDBDatabase("test", host=" 127.0.0.1 ").connect_params["host"] == "127.0.0.1"


@pytest.mark.mysqlclient
def test_the_mysqlclient_form_of_the_ca_is_accepted(ca_path):
    params = TiDBDatabase("test", ssl={"ca": ca_path}, driver="mysqlclient").connect_params
    assert params == dict(params, ssl={"ca": ca_path}, ssl_mode="VERIFY_IDENTITY")


def test_a_driver_that_is_not_installed_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "MySQLdb", None)  # import MySQLdb now fails
    with pytest.raises(ConfigError) as refused:
        TiDBDatabase("test", driver="mysqlclient")
    assert str(refused.value) == "driver: mysqlclient is not installed (no module named MySQLdb)"


# --- Character sets: each one accepted works with both drivers, or is refused as a setting ---

#: Every charset the dialect accepts that MariaDB has, with text it can hold.
ROUND_TRIPS = {
    "utf8mb4": "caf\u00e9 \U0001f600",
    "utf8": "caf\u00e9 \u4e2d",
    "latin1": "caf\u00e9",
    "ascii": "cafe",
    "gbk": "\u4e2d\u6587",
}


@pytest.mark.mariadb
@pytest.mark.parametrize("charset", ROUND_TRIPS)
def test_every_accepted_charset_connects_and_round_trips_text(
    server, database_name, driver, charset
):
    settings = ServerSettings(server_environ(server, database_name))
    db = TiDBDatabase(database_name, driver=driver, charset=charset, **settings.connect_params())
    text = ROUND_TRIPS[charset]
    db.execute_sql("CREATE TABLE words (w VARCHAR(20)) CHARACTER SET %s" % charset)
    db.execute_sql("INSERT INTO words VALUES (%s)", (text,))
    assert db.execute_sql("SELECT w, %s FROM words", (text,)).fetchone() == (text, text)
    client = db.execute_sql("SELECT @@character_set_client").fetchone()[0]
    assert client == {"utf8": "utf8mb3"}.get(charset, charset)
    db.close()


@pytest.mark.mariadb
def test_gb18030_is_refused_by_mariadb_which_has_none(server, database_name, driver):
    """The server's own refusal of the driver's SET NAMES, at connect (TiDB: gbk before v5.4.0,
    gb18030 before v7.4.0)."""
    settings = ServerSettings(server_environ(server, database_name))
    db = TiDBDatabase(database_name, driver=driver, charset="GB18030", **settings.connect_params())
    with pytest.raises(OperationalError) as refused:
        db.connect()
    assert error_code(refused.value) == 1115
    assert "gb18030" in str(refused.value)
    assert db.is_closed()


@pytest.mark.parametrize("builder", BUILDERS)
def test_binary_is_refused_as_a_setting(builder):
    with pytest.raises(
        ConfigError,
        match=r"^charset: must be one of utf8mb4, .* \(TiDB's, that Python can decode\), got 'b",
    ):
        BUILDERS[builder](charset="binary")


@pytest.mark.mariadb
@pytest.mark.parametrize(
    "charset, status, message",
    [
        ("binary", 2, "--url: charset: must be one of utf8mb4, utf8, latin1, ascii, gbk, gb18030"),
        ("gb18030", 1, "(1115, \"Unknown character set: 'gb18030'\")"),
    ],
)
def test_the_walkthrough_refuses_an_unusable_charset(
    run_example, server, database_name, driver, charset, status, message
):
    """Refused as a setting (status 2), or by the server (1115) as a connection that failed."""
    url = "tidb://%s@%s:%d/%s?charset=%s" % (
        server.user,
        server.host,
        server.port,
        database_name,
        charset,
    )
    result = run_example("--url", url, "--driver", driver)
    assert result.returncode == status, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert message in result.stderr.splitlines()[0]
    if status == 1:
        assert result.stderr.splitlines()[1].startswith(
            "This server lacks that character set (TiDB has gbk from v5.4.0, gb18030 from v7.4.0)"
        )


@pytest.mark.parametrize("charset, release", [("gbk", "v5.4.0"), ("gb18030", "v7.4.0")])
def test_tidb_charsets_are_set_at_connect(fake_server, driver, charset, release):
    fake = fake_tidb(fake_server, release)
    db = fake_db(fake, driver, charset=charset)
    db.connect()
    assert "SET NAMES %s" % charset in fake.statements
    assert db.connection().encoding == charset
    db.close()


# --- Keywords MySQLDatabase users pass: accepted where they weaken nothing ---


def on_server(server_settings, driver, **extra):
    """A TiDBDatabase on the test's database, with `extra` keywords."""
    keywords = dict(server_settings.connect_params(), driver=driver, **extra)
    return TiDBDatabase(server_settings.database, **keywords)


def one(db, sql, params=None):
    return db.execute_sql(sql, params).fetchone()[0]


CLIENT_FOUND_ROWS = 2  # the protocol's flag: UPDATE reports rows matched, not rows changed


def test_client_flag_reaches_the_server(server_settings, driver):
    plain, found_rows = (
        on_server(server_settings, driver),
        on_server(server_settings, driver, client_flag=CLIENT_FOUND_ROWS),
    )
    plain.execute_sql("CREATE TABLE t (n INT)")
    plain.execute_sql("INSERT INTO t VALUES (1)")
    unchanged = "UPDATE t SET n = 1"
    assert plain.execute_sql(unchanged).rowcount == 0
    assert found_rows.execute_sql(unchanged).rowcount == 1
    plain.close()
    found_rows.close()


#: b"ab" as each driver writes it, without and with binary_prefix: PyMySQL writes bytes as a
#: hex literal, binary already (its binary_prefix is deprecated and changes nothing).
BINARY_LITERALS = {
    "pymysql": ["SELECT X'6162'", "SELECT X'6162'"],
    "mysqlclient": ["SELECT 'ab'", "SELECT _binary'ab'"],
}


def test_binary_prefix_reaches_the_driver(server, server_settings, driver, relay):
    through = relay(server)
    db = on_server(server_settings, driver, host=through.host, port=through.port)
    prefixed = on_server(
        server_settings, driver, host=through.host, port=through.port, binary_prefix=True
    )
    one(db, "SELECT %s", (b"ab",))
    one(prefixed, "SELECT %s", (b"ab",))
    sent = [s for s in through.statements if s.startswith("SELECT") and "VERSION()" not in s]
    assert sent == BINARY_LITERALS[driver]
    db.close()
    prefixed.close()


def test_sql_mode_and_init_command_reach_the_session(server_settings, driver):
    db = on_server(
        server_settings, driver, sql_mode="ANSI_QUOTES", init_command="SET @dialect_test = 42"
    )
    assert one(db, "SELECT @@SESSION.sql_mode") == "ANSI_QUOTES"
    assert one(db, "SELECT @dialect_test") == 42
    db.close()


def test_db_is_the_old_name_of_the_database(server_settings, driver):
    db = TiDBDatabase(None, db=server_settings.database, **server_settings.connect_params())
    assert db.database == server_settings.database
    assert one(db, "SELECT DATABASE()") == server_settings.database
    db.close()
    with pytest.raises(ConfigError) as twice:
        TiDBDatabase("shop", db="other")
    assert str(twice.value) == "db: give the database once, as the name or as db="


def test_load_data_local_is_off_with_either_driver(server_settings, driver, tmp_path):
    """mysqlclient on MariaDB Connector/C allows it unless told not to: the server could then
    ask for any file this program can read (a .env with the password)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("Pw-in-a-file\n")
    db = TiDBDatabase(None)  # autocommit=True and local_infile=False: what every connection is
    db.init(
        server_settings.database,
        driver=driver,
        autocommit=True,
        local_infile=False,
        **server_settings.connect_params(),
    )
    assert one(db, "SELECT @@autocommit") == 1
    db.execute_sql("CREATE TABLE loaded (line TEXT)")
    with pytest.raises(DatabaseError):
        db.execute_sql("LOAD DATA LOCAL INFILE '%s' INTO TABLE loaded" % secret)
    assert db.execute_sql("SELECT line FROM loaded").fetchall() == ()
    db.close()


def test_max_allowed_packet_is_pymysqls(server_settings):
    db = on_server(server_settings, "pymysql", max_allowed_packet=4 * 1024 * 1024)
    db.connect()
    assert db.connection().max_allowed_packet == 4 * 1024 * 1024
    db.close()


@pytest.mark.mysqlclient
def test_max_allowed_packet_is_refused_for_mysqlclient():
    with pytest.raises(ConfigError) as refused:
        TiDBDatabase("test", driver="mysqlclient", max_allowed_packet=4 * 1024 * 1024)
    assert str(refused.value) == "max_allowed_packet: mysqlclient has no such setting (drop it)"


@pytest.mark.parametrize("driver_name", ["pymysql", MYSQLCLIENT])
@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"cursorclass": object}, "cursorclass: refused: peewee reads every row as a tuple"),
        ({"unix_socket": "/run/mysqld/mysqld.sock"}, "unix_socket: refused: the dialect connects"),
        ({"read_default_file": "~/.my.cnf"}, "read_default_file: refused: an option file could"),
        ({"read_default_group": "client"}, "read_default_group: refused: an option file could"),
        ({"defer_connect": True}, "defer_connect: refused: the dialect opens each connection"),
        ({"local_infile": True}, "local_infile: refused: LOAD DATA LOCAL lets the server"),
        ({"local_infile": 1}, "local_infile: refused: LOAD DATA LOCAL lets the server"),
        ({"autocommit": False}, "autocommit: refused: peewee runs on autocommit connections"),
        ({"client_flag": 0x80}, "client_flag: refused: CLIENT_LOCAL_FILES lets the server"),
        ({"client_flag": 0x802}, "client_flag: refused: CLIENT_SSL is set by the TLS keywords"),
        ({"client_flag": -1}, "client_flag: must be a whole number from 0 to 4294967295"),
        ({"binary_prefix": "yes"}, "binary_prefix: must be True or False, got 'yes'"),
        ({"max_allowed_packet": 0}, "max_allowed_packet: "),
    ],
)
def test_driver_keywords_that_would_weaken_something_are_refused(driver_name, keywords, message):
    with pytest.raises(ConfigError) as refused:
        TiDBDatabase(None).init("test", driver=driver_name, **keywords)
    assert str(refused.value).startswith(message)
    assert refused.value.keyword == next(iter(keywords))
