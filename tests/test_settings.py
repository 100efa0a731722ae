"""The sample's settings: environment and .env, flags, precedence, and what a bad one says.

The dialect checks the values (tests/test_connection.py); here, that the
sample reads them as documented and names them as the user typed them.
"""

import re

import pytest
import trustme

from peewee_example import SettingError, database_from, port_open, read_settings
from tests.conftest import ROOT, require
from tidb_dialect.tls import default_ca_bundle


def test_nothing_set_means_a_local_tidb_playground():
    assert read_settings(environ={}, env_file=None) == {}
    db = database_from({})
    assert (db.database, db.driver) == ("test", "pymysql")
    params = db.connect_params
    assert (params["host"], params["port"], params["user"]) == ("127.0.0.1", 4000, "root")
    assert "password" not in params and "ssl" not in params


def test_every_setting_is_read_and_nothing_else():
    environ = {
        "TIDB_HOST": "db.example",
        "TIDB_PORT": "4001",
        "TIDB_USER": "app",
        "TIDB_PASSWORD": "pw",
        "TIDB_DB_NAME": "shop",
        "CA_PATH": "/ca.pem",
        "TIDB_DRIVER": "mysqlclient",
        "DATABASE_URL": "sqlite:///x.db",
        "UNRELATED": "ignored",
    }
    del environ["UNRELATED"]
    assert read_settings(environ=dict(environ, UNRELATED="x"), env_file=None) == environ


def test_a_real_variable_beats_env_and_an_empty_one_counts_as_unset(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TIDB_HOST=from-file\nTIDB_PORT=4100\nTIDB_USER=file-user\nCA_PATH=\n")
    settings = read_settings(
        environ={"TIDB_PORT": "4200", "TIDB_USER": "", "DATABASE_URL": ""}, env_file=str(env_file)
    )
    assert settings == {"TIDB_HOST": "from-file", "TIDB_PORT": "4200", "TIDB_USER": "file-user"}


def test_a_missing_env_file_is_not_an_error(tmp_path):
    assert read_settings(environ={}, env_file=str(tmp_path / "absent.env")) == {}


URL = "tidb://u@db.example:4000/shop"


@pytest.mark.mysqlclient
@pytest.mark.parametrize(
    "settings, flags, driver",
    [
        ({"TIDB_DRIVER": "mysqlclient"}, {}, "mysqlclient"),
        ({"TIDB_DRIVER": "mysqlclient"}, {"driver": "pymysql"}, "pymysql"),
        ({"DATABASE_URL": URL, "TIDB_DRIVER": "mysqlclient"}, {}, "mysqlclient"),
        (
            {"DATABASE_URL": URL + "?driver=mysqlclient", "TIDB_DRIVER": "pymysql"},
            {},
            "mysqlclient",
        ),
        ({"DATABASE_URL": URL + "?driver=mysqlclient"}, {"driver": "pymysql"}, "pymysql"),
        ({}, {"url": URL + "?driver=mysqlclient", "driver": "pymysql"}, "pymysql"),
    ],
)
def test_driver_a_flag_beats_the_url_beats_the_variable(settings, flags, driver):
    assert database_from(settings, **flags).driver == driver


def test_the_url_flag_beats_database_url_which_beats_the_variables():
    settings = {"DATABASE_URL": URL, "TIDB_HOST": "other.example", "TIDB_DB_NAME": "other"}
    assert database_from(settings).connect_params["host"] == "db.example"
    db = database_from(settings, url="tidb://u@flag.example/flagdb")
    assert (db.connect_params["host"], db.database) == ("flag.example", "flagdb")


@pytest.mark.mysqlclient
def test_ca_path_applies_to_a_url_unless_it_names_its_own_ca(tmp_path):
    mine, its = str(tmp_path / "mine.pem"), str(tmp_path / "its.pem")
    trustme.CA().cert_pem.write_to_path(mine)
    trustme.CA().cert_pem.write_to_path(its)
    db = database_from({"DATABASE_URL": URL, "CA_PATH": mine}, driver="mysqlclient")
    assert db.connect_params["ssl"] == {"ca": mine}
    db = database_from(
        {"DATABASE_URL": URL + "?ssl_ca=" + its, "CA_PATH": mine}, driver="mysqlclient"
    )
    assert db.connect_params["ssl"] == {"ca": its}


@pytest.mark.parametrize(
    "settings, flags, message",
    [
        (
            {"TIDB_PORT": "4000x"},
            {},
            "TIDB_PORT: must be a whole number from 1 to 65535, got '4000x'",
        ),
        ({"TIDB_HOST": " "}, {}, "TIDB_HOST: must not be empty"),
        ({"TIDB_HOST": "a..b"}, {}, "TIDB_HOST: has an empty label ('..'): 'a..b'"),
        ({"TIDB_USER": " "}, {}, "TIDB_USER: must be non-empty text without NUL, got ' '"),
        ({"TIDB_DRIVER": "oracle"}, {}, "TIDB_DRIVER: unknown driver 'oracle' (use pymysql or"),
        ({}, {"driver": "oracle"}, "--driver: unknown driver 'oracle' (use pymysql or"),
        ({"CA_PATH": "/no/ca.pem"}, {}, "CA_PATH: no such file: '/no/ca.pem'"),
        (
            {"DATABASE_URL": URL, "CA_PATH": "/no/ca.pem"},
            {},
            "CA_PATH: no such file: '/no/ca.pem'",
        ),
        ({"DATABASE_URL": URL, "TIDB_DRIVER": "oracle"}, {}, "TIDB_DRIVER: unknown driver"),
        ({"DATABASE_URL": URL}, {"driver": "oracle"}, "--driver: unknown driver 'oracle'"),
        ({"DATABASE_URL": URL + "?ssl_ca=/no/ca.pem"}, {}, "DATABASE_URL: ssl_ca: no such file"),
        ({"DATABASE_URL": "oracle://x@h/db"}, {}, "DATABASE_URL: unknown scheme 'oracle'"),
        ({}, {"url": "tidb://r@h:99999/db"}, "--url: port: must be a whole number from 1 to"),
        ({"DATABASE_URL": "tidb://r@h/db?bogus=1"}, {}, "DATABASE_URL: bogus: unknown URL"),
        ({"DATABASE_URL": "tidb://r@h..x/db"}, {}, "DATABASE_URL: host: has an empty label"),
        (
            {"DATABASE_URL": "sqlite:///p.db", "TIDB_DRIVER": "mysqlclient"},
            {},
            "TIDB_DRIVER: has no meaning for a SQLite database",
        ),
        ({}, {"url": "sqlite:///p.db", "driver": "pymysql"}, "--driver: has no meaning for a"),
        ({"DATABASE_URL": URL}, {"url": ""}, "--url: not a database URL"),
    ],
)
def test_a_bad_setting_is_named_as_the_user_typed_it(settings, flags, message):
    with pytest.raises(SettingError) as refused:
        database_from(settings, **flags)
    assert str(refused.value).startswith(message)


def test_env_file_that_is_not_utf8_is_one_line_without_its_bytes(run_example, tmp_path):
    (tmp_path / ".env").write_bytes(b"TIDB_HOST=127.0.0.1\nTIDB_PASSWORD=caf\xe9\n")
    result = run_example()
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: .env: not UTF-8 text (at byte 37); save it as UTF-8\n"


def test_env_file_that_cannot_be_read_is_one_line(run_example, tmp_path):
    (tmp_path / ".env").mkdir()
    result = run_example()
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: .env: cannot be read (Is a directory)\n"


def test_exported_but_empty_variables_leave_the_embedded_fallback(run_example, tmp_path):
    require(not port_open("127.0.0.1", 4000), "something listens on 127.0.0.1:4000")
    result = run_example(environ={"DATABASE_URL": "", "CA_PATH": "", "TIDB_HOST": ""})
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("No TiDB configured and none at 127.0.0.1:4000")
    assert (tmp_path / "player.db").is_file()


@pytest.mark.mysqlclient
def test_ca_path_expands_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    db = database_from({"CA_PATH": "~/ca.pem"}, driver="mysqlclient")
    assert db.connect_params["ssl"] == {"ca": str(tmp_path / "ca.pem")}


@pytest.mark.mysqlclient
def test_every_example_in_env_example_is_accepted(tmp_path):
    """Each commented-out line of .env.example, uncommented, is a setting the sample accepts."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    examples = [line[2:].split("  #")[0].strip() for line in lines if re.match(r"# [A-Z_]+=", line)]
    assert len(examples) > 10
    for example in examples:
        name, _, value = example.partition("=")
        if name == "CA_PATH":
            value = default_ca_bundle()
        database_from(read_settings(environ={name: value}, env_file=None))
