"""Bad input to the program, one row each: a clear message, the right exit code, nothing changed.

Each row runs peewee_example.py as a user would (a subprocess with only the
settings given), on top of good settings for a real server whose player
table holds two players. After the run: the expected line on stderr,
no traceback, nothing on stdout, the table as it was, and no SQLite file
(a bad setting must never fall back to the embedded database).
"""

import ctypes
import functools
import os
import subprocess

import pytest

from peewee_example import Player
from tests.conftest import SECRET_PASSWORD, server_environ
from tests.kit.servers import free_port

WRONG_PASSWORD = "Wrong-" + SECRET_PASSWORD
#: SECRET_PASSWORD cut in two by a character a URL password must percent-encode.
HALVES = SECRET_PASSWORD[:7] + "%s" + SECRET_PASSWORD[7:]
PERCENT_ENCODE = "percent-encode / # ? @ : and % in the user and password (%2F for /, %40 for @)"

#: (name, arguments, settings changed, exit status, a line of stderr).
#: {port}, {db}, {tmp} and {user} are filled in per test.
CASES = [
    (
        "port not a number",
        [],
        {"TIDB_PORT": "4000x"},
        2,
        "error: TIDB_PORT: must be a whole number from 1 to 65535, got '4000x'",
    ),
    (
        "port zero",
        [],
        {"TIDB_PORT": "0"},
        2,
        "error: TIDB_PORT: must be a whole number from 1 to 65535, got '0'",
    ),
    (
        "port out of range",
        [],
        {"TIDB_PORT": "65536"},
        2,
        "error: TIDB_PORT: must be a whole number from 1 to 65535, got '65536'",
    ),
    (
        "driver unknown",
        [],
        {"TIDB_DRIVER": "oracle"},
        2,
        "error: TIDB_DRIVER: unknown driver 'oracle' (use pymysql or mysqlclient)",
    ),
    (
        "--driver unknown",
        ["--driver", "mysql-connector"],
        {},
        2,
        "error: --driver: unknown driver 'mysql-connector' (use pymysql or mysqlclient)",
    ),
    ("host empty", [], {"TIDB_HOST": " "}, 2, "error: TIDB_HOST: must be non-empty text, got ' '"),
    (
        "CA_PATH missing",
        [],
        {"CA_PATH": "{tmp}/absent.pem"},
        2,
        "error: CA_PATH: no such file: '{tmp}/absent.pem'",
    ),
    (
        "CA_PATH unreadable",
        [],
        {"CA_PATH": "{tmp}/unreadable.pem"},
        2,
        "error: CA_PATH: file is not readable: '{tmp}/unreadable.pem'",
    ),
    (
        "CA_PATH a device",
        [],
        {"CA_PATH": "/dev/null"},
        2,
        "error: CA_PATH: a character device, not a file: '/dev/null'",
    ),
    (
        "CA_PATH not a certificate",
        [],
        {"CA_PATH": "{tmp}/notes.pem"},
        2,
        "error: CA_PATH: not a PEM certificate file: '{tmp}/notes.pem'",
    ),
    (
        "DATABASE_URL malformed",
        [],
        {"DATABASE_URL": "127.0.0.1:4000/test"},
        2,
        "error: DATABASE_URL: not a database URL: expected scheme://..., "
        "e.g. tidb://root@127.0.0.1:4000/test or sqlite:///player.db",
    ),
    (
        "DATABASE_URL unknown scheme",
        [],
        {"DATABASE_URL": "oracle://scott@127.0.0.1/orcl"},
        2,
        "error: DATABASE_URL: unknown scheme 'oracle' (known: ",
    ),
    (
        "--url unknown scheme",
        ["--url", "postgress://u@127.0.0.1/db"],
        {},
        2,
        "error: --url: unknown scheme 'postgress' (known: ",
    ),
    (
        "DATABASE_URL port out of range",
        [],
        {"DATABASE_URL": "tidb://root@127.0.0.1:99999/{db}"},
        2,
        "error: DATABASE_URL: port: must be a whole number from 1 to 65535",
    ),
    *[
        (
            "password with an unencoded %r" % char,
            [],
            {"DATABASE_URL": "tidb://{user}:%s@127.0.0.1:{port}/{db}" % secret},
            2,
            "error: DATABASE_URL: " + message,
        )
        for char, secret, message in [
            (
                "/",
                HALVES % "/",
                "'@' after the host: write user:password@host, and " + PERCENT_ENCODE,
            ),
            ("#", HALVES % "#", "holds '#': " + PERCENT_ENCODE),
            (
                "?",
                HALVES % "?",
                "'@' after the host: write user:password@host, and " + PERCENT_ENCODE,
            ),
        ]
    ],
    (
        "credentials in the path",
        [],
        {"DATABASE_URL": "tidb:///{user}:%s@127.0.0.1:{port}/{db}" % SECRET_PASSWORD},
        2,
        "error: DATABASE_URL: '@' after the host: write user:password@host, and " + PERCENT_ENCODE,
    ),
    (
        "credentials after the host",
        [],
        {"DATABASE_URL": "tidb://127.0.0.1:{port}/{user}:%s@{db}" % SECRET_PASSWORD},
        2,
        "error: DATABASE_URL: '@' after the host: write user:password@host, and " + PERCENT_ENCODE,
    ),
    (
        "unknown URL parameter",
        [],
        {"DATABASE_URL": "tidb://root@127.0.0.1:{port}/{db}?bogus=1"},
        2,
        "error: DATABASE_URL: bogus: unknown URL parameter (known: ",
    ),
    (
        "pool parameter on tidb://",
        [],
        {"DATABASE_URL": "tidb://root@127.0.0.1:{port}/{db}?max_connections="},
        2,
        "error: DATABASE_URL: max_connections: only for pool URLs (tidb+pool://, mysql+pool://)",
    ),
    (
        "pool parameter not a number",
        [],
        {"DATABASE_URL": "tidb+pool://root@127.0.0.1:{port}/{db}?max_connections=abc"},
        2,
        "error: DATABASE_URL: max_connections: must be a whole number from 1 to 10000, got 'abc'",
    ),
    (
        "empty driver in a mysql:// URL",
        [],
        {"DATABASE_URL": "mysql://root@127.0.0.1:{port}/{db}?driver="},
        2,
        "error: DATABASE_URL: driver: unknown driver '' (use pymysql or mysqlclient)",
    ),
    (
        "ssl_mode REQUIRED",
        ["--driver", "pymysql"],
        {"DATABASE_URL": "tidb://root@127.0.0.1:{port}/{db}?ssl_mode=REQUIRED"},
        2,
        "error: DATABASE_URL: ssl_mode: only VERIFY_IDENTITY is accepted, got 'REQUIRED' "
        "(other modes skip the certificate or host name check)",
    ),
    (
        "host label over 63 characters",
        [],
        {"TIDB_HOST": "%s.example.com" % ("a" * 64)},
        2,
        "error: TIDB_HOST: has a label longer than 63 characters: '%s.example.com'" % ("a" * 64),
    ),
    (
        "host with an empty label",
        [],
        {"TIDB_HOST": "127..0.0.1"},
        2,
        "error: TIDB_HOST: has an empty label ('..'): '127..0.0.1'",
    ),
    (
        "wrong password",
        [],
        {"TIDB_USER": "{user}", "TIDB_PASSWORD": WRONG_PASSWORD},
        1,
        "error: cannot connect to 127.0.0.1:{port} as user '{user}' (database '{db}'), TLS off: "
        "(1045, \"Access denied for user '{user}'@'127.0.0.1' (using password: YES)\")",
    ),
    (
        "unknown database",
        [],
        {"TIDB_DB_NAME": "no_such_db"},
        1,
        "error: cannot connect to 127.0.0.1:{port} as user 'root' (database 'no_such_db'), "
        "TLS off: (1049, \"Unknown database 'no_such_db'\")",
    ),
    (
        "amount zero",
        ["--trade", "2", "1", "0", "10"],
        {},
        2,
        "error: AMOUNT: must be a whole number from 1 to 2147483647, got '0'",
    ),
    (
        "amount negative",
        ["--trade", "2", "1", "-3", "10"],
        {},
        2,
        "error: AMOUNT: must be a whole number from 1 to 2147483647, got '-3'",
    ),
    (
        "price zero",
        ["--trade", "2", "1", "1", "0"],
        {},
        2,
        "error: PRICE: must be a whole number from 1 to 2147483647, got '0'",
    ),
    (
        "price negative",
        ["--trade", "2", "1", "1", "-10"],
        {},
        2,
        "error: PRICE: must be a whole number from 1 to 2147483647, got '-10'",
    ),
    (
        "amount not an integer",
        ["--trade", "2", "1", "1.5", "10"],
        {},
        2,
        "error: AMOUNT: must be a whole number from 1 to 2147483647, got '1.5'",
    ),
    (
        "amount with a sign",
        ["--trade", "2", "1", "+13", "10"],
        {},
        2,
        "error: AMOUNT: must be a whole number from 1 to 2147483647, got '+13'",
    ),
    (
        "price in other digits",
        ["--trade", "2", "1", "1", "\u0661\u0662"],
        {},
        2,
        "error: PRICE: must be a whole number from 1 to 2147483647, got '\u0661\u0662'",
    ),
    (
        "price not a number",
        ["--trade", "2", "1", "1", "ten"],
        {},
        2,
        "error: PRICE: must be a whole number from 1 to 2147483647, got 'ten'",
    ),
    (
        "amount beyond INT",
        ["--trade", "2", "1", "2147483648", "10"],
        {},
        2,
        "error: AMOUNT: must be a whole number from 1 to 2147483647, got '2147483648'",
    ),
    (
        "price huge",
        ["--trade", "2", "1", "1", "99999999999999999999"],
        {},
        2,
        "error: PRICE: must be a whole number from 1 to 2147483647, got '99999999999999999999'",
    ),
    (
        "seller is buyer",
        ["--trade", "2", "2", "1", "10"],
        {},
        2,
        "error: a player cannot trade with itself (SELL_ID == BUY_ID == '2')",
    ),
    (
        "unknown seller",
        ["--trade", "nobody", "1", "1", "10"],
        {},
        4,
        "error: unknown player id 'nobody'; nothing was changed",
    ),
    (
        "unknown buyer",
        ["--trade", "2", "nobody", "1", "10"],
        {},
        4,
        "error: unknown player id 'nobody'; nothing was changed",
    ),
    (
        "seller id of 37 characters",
        ["--trade", "x" * 37, "1", "1", "10"],
        {},
        2,
        "error: SELL_ID: must be a player id of 1 to 36 characters, got '%s'" % ("x" * 37),
    ),
    (
        "buyer id of 37 characters",
        ["--trade", "2", "y" * 37, "1", "10"],
        {},
        2,
        "error: BUY_ID: must be a player id of 1 to 36 characters, got '%s'" % ("y" * 37),
    ),
    (
        "trade with 3 arguments",
        ["--trade", "2", "1", "1"],
        {},
        2,
        "peewee_example.py: error: argument --trade: expected 4 arguments",
    ),
]


@pytest.fixture
def players(mysql_db):
    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
        Player.insert_many(
            [{"id": "1", "coins": 100, "goods": 0}, {"id": "2", "coins": 114514, "goods": 20}]
        ).execute()
    return mysql_db


def table(database):
    return database.execute_sql("SELECT id, coins, goods FROM player ORDER BY id").fetchall()


@pytest.fixture
def files(tmp_path_factory):
    """A directory with a text file that is not a certificate, and a file nobody may read."""
    directory = tmp_path_factory.mktemp("ca")
    (directory / "notes.pem").write_text("not a certificate\n")
    unreadable = directory / "unreadable.pem"
    unreadable.write_text("-----BEGIN CERTIFICATE-----\n")
    unreadable.chmod(0)
    return directory


def without_file_privileges():
    """In the child: root loses the capabilities that let it read any file (CAP_DAC_*)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize("name, args, changes, status, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly(
    run_example,
    server,
    database_name,
    players,
    password_user,
    files,
    tmp_path,
    monkeypatch,
    name,
    args,
    changes,
    status,
    message,
):
    if os.geteuid() == 0:  # as root, "unreadable" must mean unreadable to the program too
        monkeypatch.setattr(
            subprocess, "run", functools.partial(subprocess.run, preexec_fn=without_file_privileges)
        )
    fill = {"port": server.port, "db": database_name, "tmp": files, "user": password_user}
    environ = server_environ(server, database_name)
    environ.update((key, value.format(**fill)) for key, value in changes.items())
    before = table(players)

    result = run_example(*args, environ=environ)

    assert result.returncode == status, result.stderr
    message, lines = message.format(**fill), result.stderr.splitlines()
    assert any(
        line.startswith(message) if message.endswith("(known: ") else line == message
        for line in lines
    ), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for shown in (WRONG_PASSWORD, SECRET_PASSWORD[:7], SECRET_PASSWORD[7:]):
        assert shown not in result.stderr
    assert table(players) == before
    assert not (tmp_path / "player.db").exists()


@pytest.mark.mysqlclient
def test_localhost_in_a_url_is_tcp_even_for_mysqlclient(run_example, database_name, players):
    """mysqlclient takes "localhost" for its Unix socket: it would reach another server."""
    port = free_port()
    before = table(players)
    result = run_example(
        "--url", "tidb://root@localhost:%d/%s?driver=mysqlclient" % (port, database_name)
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: cannot connect to 127.0.0.1:%d as user 'root' (database '%s'), TLS off: "
        "(2002, \"Can't connect to server on '127.0.0.1' (115)\")\n" % (port, database_name)
    ), result.stderr
    assert table(players) == before
