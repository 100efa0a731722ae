"""The password never shows: not in output, not in -v SQL logging, not in messages or reprs.

Every run here uses a user whose password is SECRET_PASSWORD, a string
that cannot appear by chance, and searches everything the program and the
library let out for it.
"""

import logging
import traceback
from urllib.parse import quote

import pymysql
import pytest
from peewee import PeeweeException

import peewee_example
import player_cli
from tests.conftest import SECRET_PASSWORD, server_environ
from tidb_dialect import TiDBDatabase
from tidb_dialect.settings import database_from, read_settings


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


#: Wrong passwords that substring masking garbled or gave away; {user} is the user's name.
WRONG_PASSWORDS = ["e", "1", "{user}", "a/b#c?d@e:f%g'h", "pässwörd-€-😀"]


@pytest.mark.parametrize("how", ["settings", "url"])
@pytest.mark.parametrize("wrong", WRONG_PASSWORDS)
def test_wrong_password_message_is_built_from_safe_parts(
    run_example, secret_environ, driver, how, wrong
):
    user = secret_environ["TIDB_USER"]
    wrong = wrong.format(user=user)
    environ = (
        dict(secret_environ, TIDB_PASSWORD=wrong)
        if how == "settings"
        else {"DATABASE_URL": url(secret_environ, quote(wrong, safe=""))}
    )
    result = run_example("--driver", driver, environ=environ)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "error: cannot connect to 127.0.0.1:%s as user '%s' (database '%s'), TLS off: "
        "(1045, \"Access denied for user '%s'@'127.0.0.1' (using password: YES)\")"
        % (secret_environ["TIDB_PORT"], user, secret_environ["TIDB_DB_NAME"], user)
    )
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert_hidden(result.stdout, result.stderr)


def test_a_driver_message_that_holds_the_password_is_not_shown(
    secret_environ, monkeypatch, tmp_path, capsys
):
    """Only the server's (code, message) is shown: a driver's own text can quote its arguments."""
    monkeypatch.chdir(tmp_path)
    for name, value in secret_environ.items():
        monkeypatch.setenv(name, value)

    def refuse(database):
        raise pymysql.err.InterfaceError("cannot send password %r" % SECRET_PASSWORD)

    monkeypatch.setattr(TiDBDatabase, "_connect", refuse)
    try:
        assert player_cli.main([]) == 1
    finally:
        peewee_example.db.initialize(None)
    err = capsys.readouterr().err
    assert err.startswith(
        "error: cannot connect to 127.0.0.1:%s as user '%s' (database '%s'), TLS off: "
        "InterfaceError (the driver's message is not shown)\n"
        % (secret_environ["TIDB_PORT"], secret_environ["TIDB_USER"], secret_environ["TIDB_DB_NAME"])
    )
    assert_hidden(err)


def test_settings_repr_and_connection_errors_hide_the_password(secret_environ):
    environ = dict(secret_environ, DATABASE_URL=url(secret_environ, SECRET_PASSWORD))
    settings = read_settings(environ, env_file=None)
    assert settings == environ
    assert_hidden(repr(settings), str(settings))
    wrong = database_from(dict(secret_environ, TIDB_PASSWORD="x" + SECRET_PASSWORD))
    with pytest.raises(PeeweeException) as raised:
        wrong.connect()
    shown = "".join(traceback.format_exception(raised.value))
    assert "Access denied" in shown
    assert_hidden(shown, repr(raised.value), password="x" + SECRET_PASSWORD)


def test_in_process_logs_hide_the_password(secret_environ, monkeypatch, tmp_path, caplog, capsys):
    """Every logger, at DEBUG, through a whole walkthrough and a trade (with -v)."""
    monkeypatch.chdir(tmp_path)
    for name, value in secret_environ.items():
        monkeypatch.setenv(name, value)
    assert read_settings()["TIDB_PASSWORD"] == SECRET_PASSWORD
    peewee_logger = logging.getLogger("peewee")
    level = peewee_logger.level  # -v raises it; later tests must not pay for that
    try:
        with caplog.at_level(logging.DEBUG):
            assert player_cli.main(["-v"]) == 0
            assert player_cli.main(["-v", "--trade", "1", "2", "1", "10"]) == 0
    finally:
        peewee_example.db.initialize(None)
        peewee_logger.setLevel(level)
    assert any(record.name == "peewee" for record in caplog.records)
    output = capsys.readouterr()
    assert_hidden(caplog.text, output.out, output.err)
