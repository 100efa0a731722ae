"""Settings from the environment and .env: defaults, every name, precedence, bad values."""

import pytest

from tidb_dialect import ConfigError, Settings, load_settings


def test_defaults_are_a_local_tidb_playground():
    settings = load_settings(env_file=None, environ={})
    assert (settings.host, settings.port, settings.user, settings.password, settings.database) == (
        "127.0.0.1",
        4000,
        "root",
        "",
        "test",
    )
    assert settings.driver == "pymysql" and not settings.configured and not settings.uses_tls


def test_every_setting_is_read():
    settings = load_settings(
        env_file=None,
        environ={
            "TIDB_HOST": "db.example",
            "TIDB_PORT": "4001",
            "TIDB_USER": "app",
            "TIDB_PASSWORD": "pw",
            "TIDB_DB_NAME": "shop",
            "TIDB_DRIVER": "MySQLClient",
            "DATABASE_URL": "sqlite:///x.db",
            "UNRELATED": "ignored",
        },
    )
    assert (
        settings.host,
        settings.port,
        settings.user,
        settings.password,
        settings.database,
        settings.driver,
        settings.url,
    ) == ("db.example", 4001, "app", "pw", "shop", "mysqlclient", "sqlite:///x.db")
    assert settings.configured


def test_environment_wins_over_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TIDB_HOST=from-file\nTIDB_PORT=4100\nTIDB_USER=file-user\n")
    settings = load_settings(env_file=str(env_file), environ={"TIDB_PORT": "4200"})
    assert (settings.host, settings.port, settings.user) == ("from-file", 4200, "file-user")
    assert settings.configured


def test_overrides_win_over_everything(tmp_path):
    settings = load_settings(
        env_file=None,
        environ={"TIDB_DRIVER": "pymysql"},
        TIDB_DRIVER="mysqlclient",
        DATABASE_URL=None,
    )
    assert settings.driver == "mysqlclient" and settings.url == ""


def test_missing_env_file_is_not_an_error(tmp_path):
    assert load_settings(env_file=str(tmp_path / "absent.env"), environ={}).host == "127.0.0.1"


def test_localhost_means_tcp_for_both_drivers():
    for driver in ("pymysql", "mysqlclient"):
        params = Settings.from_mapping(
            {"TIDB_HOST": "localhost", "TIDB_DRIVER": driver}
        ).connect_params()
        assert params["host"] == "127.0.0.1" and params["driver"] == driver


def test_password_is_not_in_repr():
    settings = Settings.from_mapping(
        {"TIDB_PASSWORD": "hunter2-secret", "DATABASE_URL": "tidb://u:hunter2-secret@h/db"}
    )
    assert "hunter2-secret" not in repr(settings)
    assert settings.scrub("denied for hunter2-secret") == "denied for ***"


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("TIDB_PORT", "abc", "TIDB_PORT: must be a whole number from 1 to 65535, got 'abc'"),
        ("TIDB_PORT", "0", "TIDB_PORT: must be a whole number from 1 to 65535"),
        ("TIDB_PORT", "65536", "TIDB_PORT: must be a whole number from 1 to 65535"),
        ("TIDB_PORT", "", "TIDB_PORT: must be a whole number"),
        ("TIDB_DRIVER", "mysql-connector", "TIDB_DRIVER: unknown driver 'mysql-connector'"),
        ("TIDB_HOST", " ", "TIDB_HOST: must not be empty"),
        ("TIDB_USER", "", "TIDB_USER: must not be empty"),
        ("TIDB_DB_NAME", "", "TIDB_DB_NAME: must not be empty"),
        ("CA_PATH", "/nonexistent/ca.pem", "CA_PATH: no such file: /nonexistent/ca.pem"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: not a database URL"),
        ("DATABASE_URL", "oracle://scott@db/orcl", "DATABASE_URL: unknown scheme 'oracle'"),
    ],
)
def test_bad_values_name_the_setting(name, value, message):
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping({name: value})
    assert str(raised.value).startswith(message)
