"""The password never shows: not in output, not in -v SQL logging, not in messages or reprs.

Every run here uses a user whose password is SECRET_PASSWORD, a string
that cannot appear by chance, and searches everything the program and the
library let out for it.
"""

import logging
import traceback

import pytest
from peewee import PeeweeException

import peewee_example
from tests.conftest import SECRET_PASSWORD, server_environ
from tidb_dialect import Settings, load_settings


@pytest.fixture
def secret_environ(server, database_name, password_user):
    return dict(
        server_environ(server, database_name),
        TIDB_USER=password_user,
        TIDB_PASSWORD=SECRET_PASSWORD,
    )


def url(environ, password):
    return "tidb://%s:%s@%s:%s/%s" % (
        environ["TIDB_USER"],
        password,
        environ["TIDB_HOST"],
        environ["TIDB_PORT"],
        environ["TIDB_DB_NAME"],
    )


def assert_hidden(*texts, password=SECRET_PASSWORD):
    for text in texts:
        assert password not in text


def test_verbose_walkthrough_shows_no_password(run_example, secret_environ, driver):
    result = run_example("-v", "--driver", driver, environ=secret_environ)
    assert result.returncode == 0, result.stderr
    assert "peewee: ('SELECT" in result.stderr  # the SQL log was on
    assert_hidden(result.stdout, result.stderr)


def test_verbose_walkthrough_from_a_url_shows_no_password(run_example, secret_environ):
    environ = {"DATABASE_URL": url(secret_environ, SECRET_PASSWORD)}
    result = run_example("-v", environ=environ)
    assert result.returncode == 0, result.stderr
    assert "peewee: ('SELECT" in result.stderr
    assert_hidden(result.stdout, result.stderr)


@pytest.mark.parametrize("how", ["settings", "url"])
def test_wrong_password_names_user_and_host_only(run_example, secret_environ, driver, how):
    wrong = "Wrong-" + SECRET_PASSWORD
    environ = (
        dict(secret_environ, TIDB_PASSWORD=wrong)
        if how == "settings"
        else {"DATABASE_URL": url(secret_environ, wrong)}
    )
    result = run_example("-v", "--driver", driver, environ=environ)
    assert result.returncode == 1
    user = secret_environ["TIDB_USER"]
    assert "Access denied for user '%s'@'127.0.0.1'" % user in result.stderr
    assert "Traceback" not in result.stderr
    assert_hidden(result.stdout, result.stderr, password=wrong)
    assert_hidden(result.stdout, result.stderr)


def test_reprs_and_exceptions_hide_the_password(secret_environ):
    settings = Settings.from_mapping(secret_environ)
    database = settings.build_database()
    from_url = Settings.from_mapping({"DATABASE_URL": url(secret_environ, SECRET_PASSWORD)})
    assert_hidden(
        repr(settings),
        str(settings),
        repr(database),
        str(database),
        repr(from_url),
        repr(from_url.build_database()),
    )
    wrong = Settings.from_mapping(dict(secret_environ, TIDB_PASSWORD="x" + SECRET_PASSWORD))
    with pytest.raises(PeeweeException) as raised:
        wrong.build_database().connect()
    shown = "".join(traceback.format_exception(raised.value))
    assert "Access denied" in shown
    assert_hidden(shown, repr(raised.value), password="x" + SECRET_PASSWORD)


def test_in_process_logs_hide_the_password(secret_environ, monkeypatch, tmp_path, caplog, capsys):
    """Every logger, at DEBUG, through a whole walkthrough and a trade (with -v)."""
    monkeypatch.chdir(tmp_path)
    for name, value in secret_environ.items():
        monkeypatch.setenv(name, value)
    assert load_settings().password == SECRET_PASSWORD
    peewee_logger = logging.getLogger("peewee")
    level = peewee_logger.level  # -v raises it; later tests must not pay for that
    try:
        with caplog.at_level(logging.DEBUG):
            assert peewee_example.main(["-v"]) == 0
            assert peewee_example.main(["-v", "--trade", "1", "2", "1", "10"]) == 0
    finally:
        peewee_example.db.initialize(None)
        peewee_logger.setLevel(level)
    assert any(record.name == "peewee" for record in caplog.records)
    output = capsys.readouterr()
    assert_hidden(caplog.text, output.out, output.err)
