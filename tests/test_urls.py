"""tidb:// and tidb+pool:// URLs: registration, TLS parameters per driver, real connections."""

import subprocess
import sys
from urllib.parse import quote, urlencode

import pytest
from peewee import OperationalError
from playhouse.db_url import connect

from tests.conftest import ROOT, server_environ
from tidb_dialect import ConfigError, PooledTiDBDatabase, Settings, TiDBDatabase
from tidb_dialect.tls import default_ca_bundle, tls_params


def test_registered_by_importing_the_package():
    code = (
        "from playhouse.db_url import schemes; before = set(schemes); import tidb_dialect; "
        "print(sorted(set(schemes) - before))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['tidb', 'tidb+pool']"


def test_url_parts_become_connection_settings():
    db = connect("tidb://app.root:secret@gateway01.example.com:4000/shop")
    assert type(db) is TiDBDatabase and db.is_closed()
    assert db.database == "shop" and db.driver == "pymysql"
    expected = {
        "user": "app.root",
        "password": "secret",
        "host": "gateway01.example.com",
        "port": 4000,
    }
    assert {key: db.connect_params.get(key) for key in expected} == expected
    assert not any(key.startswith("ssl") for key in db.connect_params)


def test_pool_url_with_pool_options():
    db = connect("tidb+pool://root@127.0.0.1:4000/test?max_connections=8&stale_timeout=300")
    assert type(db) is PooledTiDBDatabase
    assert (db._max_connections, db._stale_timeout) == (8, 300)


@pytest.mark.parametrize("driver", ["pymysql", "mysqlclient"])
def test_ssl_ca_is_translated_for_the_driver(driver):
    ca = default_ca_bundle()
    db = connect("tidb://root@db.example.com:4000/test?ssl_ca=%s&driver=%s" % (ca, driver))
    assert db.driver == driver
    for key, value in tls_params(driver, ca).items():
        assert db.connect_params[key] == value
    if driver == "mysqlclient":
        assert "ssl_ca" not in db.connect_params  # mysqlclient has no such keyword


@pytest.mark.parametrize("driver", ["pymysql", "mysqlclient"])
def test_tls_is_on_for_tidb_cloud_hosts_without_asking(driver):
    db = connect(
        "tidb://u.root:pw@gateway01.eu-central-1.prod.aws.tidbcloud.com:4000/test"
        "?driver=%s" % driver
    )
    for key, value in tls_params(driver, default_ca_bundle()).items():
        assert db.connect_params[key] == value


@pytest.mark.parametrize(
    "query, message",
    [
        ("ssl_ca=/no/such/ca.pem", "ssl_ca: no such file: /no/such/ca.pem"),
        ("ssl_ca=", "ssl_ca: must name a CA file"),
        ("driver=mysql-connector", "TIDB_DRIVER: unknown driver 'mysql-connector'"),
    ],
)
def test_bad_parameters_name_the_parameter(query, message):
    with pytest.raises(ConfigError, match=message):
        connect("tidb://root@127.0.0.1:4000/test?" + query)


def server_url(server, database, scheme="tidb", **query):
    """The URL of `server`, password percent-encoded (read with unquote_password=True)."""
    auth = server.user + (":" + quote(server.password, safe="") if server.password else "")
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
    db = connect(server_url(server, database_name, driver=driver), unquote_password=True)
    assert db.execute_sql("SELECT DATABASE()").fetchone()[0] == database_name
    assert (
        type(db.connection()).__module__.split(".")[0]
        == {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}[driver]
    )
    db.close()


def test_database_url_setting_builds_the_dialect(server, database_name):
    environ = dict(
        server_environ(server, database_name),
        DATABASE_URL=server_url(server, database_name, "tidb+pool"),
    )
    db = Settings.from_mapping(environ).build_database()
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
