"""Settings from the environment and .env (tidb_dialect/settings.py): what is read, precedence,
misspellings, .env files, and what a bad setting says.

The dialect checks the values (tests/test_connection.py, tests/test_urls.py);
here, that the settings reach it as documented and come back named as the
user typed them.
"""

import logging
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import peewee
import playhouse
import pymysql
import pytest
import trustme

from player_cli.command import port_open
from tests.conftest import DRIVER_MODULES, ROOT, require, scrubbed_environ, server_environ
from tidb_dialect import ConfigError, SettingError, database_from_env
from tidb_dialect.settings import SETTINGS, database_from, read_settings
from tidb_dialect.tls import default_ca_bundle

#: The settings, written out (not taken from the product).
NAMES = (
    "TIDB_HOST",
    "TIDB_PORT",
    "TIDB_USER",
    "TIDB_PASSWORD",
    "TIDB_DB_NAME",
    "CA_PATH",
    "TIDB_DRIVER",
    "DATABASE_URL",
)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """The test runs in an empty directory, with no setting (nor near-miss) in os.environ."""
    monkeypatch.chdir(tmp_path)
    for name in set(os.environ) - set(scrubbed_environ()):
        monkeypatch.delenv(name)
    return tmp_path


def test_the_settings_are_the_tidb_docs_names():
    assert SETTINGS == NAMES


def test_nothing_set_means_a_local_tidb_playground(in_tmp):
    assert read_settings(environ={}, env_file=None) == {}
    for db in (database_from({}), database_from_env()):
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
    }
    assert read_settings(environ=dict(environ, UNRELATED="x"), env_file=None) == environ


#: TiDB's other names (its peewee vector-search page, pytidb, tidb-vector-python) -> the setting.
OTHER_NAMES = [("TIDB_USERNAME", "user"), ("TIDB_DATABASE", "database"), ("TIDB_CA_PATH", "ssl_ca")]


@pytest.mark.parametrize("how", ["environment", ".env"])
def test_tidbs_other_names_are_read_too(tmp_path, how):
    ca = str(tmp_path / "ca.pem")
    trustme.CA().cert_pem.write_to_path(ca)
    environ = {"TIDB_USERNAME": "app", "TIDB_DATABASE": "shop", "TIDB_CA_PATH": ca}
    env_file = tmp_path / ".env"
    if how == ".env":
        env_file.write_text("".join("%s=%s\n" % item for item in environ.items()))
        settings = read_settings(environ={}, env_file=env_file)
    else:
        settings = read_settings(environ=environ, env_file=None)
    assert settings == environ and settings.misspellings == []
    db = database_from(settings)
    assert (db.database, db.connect_params["user"], db.driver) == ("shop", "app", "pymysql")
    assert "ssl" in db.connect_params  # TLS on, with that CA
    db = database_from(dict(settings, DATABASE_URL="tidb://u@h.example/x"))
    assert "ssl" in db.connect_params  # TIDB_CA_PATH applies to a URL, as CA_PATH does


@pytest.mark.parametrize("other, keyword", OTHER_NAMES)
def test_both_names_of_a_setting_with_different_values_are_refused_naming_both(other, keyword):
    setting = {"user": "TIDB_USER", "database": "TIDB_DB_NAME", "ssl_ca": "CA_PATH"}[keyword]
    with pytest.raises(SettingError) as refused:
        database_from({setting: "/one", other: "/two"})
    assert str(refused.value) == "%s and %s: both set, to different values: keep one" % (
        setting,
        other,
    )
    assert refused.value.keyword == setting


def test_both_names_of_a_setting_with_one_value_are_fine_and_a_bad_one_is_named_as_typed():
    db = database_from({"TIDB_USER": "app", "TIDB_USERNAME": "app", "TIDB_DATABASE": "shop"})
    assert (db.connect_params["user"], db.database) == ("app", "shop")
    with pytest.raises(SettingError, match=r"^TIDB_CA_PATH: no such file: '/no/ca.pem'$"):
        database_from({"TIDB_CA_PATH": "/no/ca.pem"})
    with pytest.raises(SettingError, match=r"^TIDB_DATABASE: holds a NUL character"):
        database_from({"TIDB_DATABASE": "sh\0op"})


def test_a_nul_in_env_is_refused_naming_the_setting(tmp_path):
    """The URL form refuses %00; a .env line is held to the same rule."""
    env_file = tmp_path / ".env"
    env_file.write_text("TIDB_DB_NAME=sh\0op\n")
    with pytest.raises(SettingError) as refused:
        database_from_env(environ={}, env_file=env_file)
    assert str(refused.value) == "TIDB_DB_NAME: holds a NUL character, which no driver can send"


def test_a_setting_not_read_is_not_checked():
    """Beside a URL, TIDB_USER, TIDB_USERNAME and TIDB_HOST are not read: they may disagree,
    or hold what no driver can send."""
    settings = {"TIDB_USER": "a", "TIDB_USERNAME": "b", "TIDB_HOST": "h\0"}
    db = database_from(dict(settings, DATABASE_URL=URL))
    assert db.connect_params["user"] == "u"


def test_a_real_variable_beats_env_and_an_empty_one_counts_as_unset(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TIDB_HOST=from-file\nTIDB_PORT=4100\nTIDB_USER=file-user\nCA_PATH=\n")
    settings = read_settings(
        environ={"TIDB_PORT": "4200", "TIDB_USER": "", "DATABASE_URL": ""}, env_file=str(env_file)
    )
    assert settings == {"TIDB_HOST": "from-file", "TIDB_PORT": "4200", "TIDB_USER": "file-user"}


def test_a_missing_env_file_is_not_an_error(tmp_path):
    assert read_settings(environ={}, env_file=str(tmp_path / "absent.env")) == {}


def test_env_file_values_are_taken_as_written(tmp_path):
    """python-dotenv's quoting, `export` and comments; no ${NAME} expansion (a password may
    hold $); the last line for a setting wins."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\nexport TIDB_HOST=h.example  # where\nTIDB_PASSWORD='pa${HOME}s #1'\n"
        'TIDB_USER="a b"\nTIDB_DB_NAME=first\nTIDB_DB_NAME=second\nTIDB_PORT=4100\nTIDB_PORT\n'
    )
    assert read_settings(environ={}, env_file=env_file) == {
        "TIDB_HOST": "h.example",
        "TIDB_PASSWORD": "pa${HOME}s #1",
        "TIDB_USER": "a b",
        "TIDB_DB_NAME": "second",
    }


@pytest.mark.parametrize("how", ["environment", ".env"])
def test_database_from_env_connects_as_the_settings_say(
    server, database_name, driver, in_tmp, monkeypatch, how
):
    environ = dict(server_environ(server, database_name), TIDB_DRIVER=driver)
    if how == ".env":
        (in_tmp / ".env").write_text("".join("%s=%s\n" % item for item in environ.items()))
    else:
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
    db = database_from_env()
    assert db.is_closed()  # not connected yet
    assert db.execute_sql("SELECT DATABASE()").fetchone()[0] == database_name
    assert type(db.connection()).__module__.split(".")[0] == DRIVER_MODULES[driver]
    db.close()


def test_database_from_env_takes_the_flags_and_a_file_of_its_own(tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("TIDB_HOST=file.example\nTIDB_DRIVER=nodriver\n")
    db = database_from_env(environ={"TIDB_PORT": "4100"}, env_file=str(env_file), driver="pymysql")
    assert (db.connect_params["host"], db.connect_params["port"]) == ("file.example", 4100)
    db = database_from_env(environ={}, env_file=None, url="tidb://u@flag.example/flagdb")
    assert (db.connect_params["host"], db.database) == ("flag.example", "flagdb")


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
        ({"TIDB_HOST": " "}, {}, "TIDB_HOST: must be non-empty text, got ' '"),
        ({"TIDB_HOST": "a..b"}, {}, "TIDB_HOST: has an empty label ('..'): 'a..b'"),
        ({"TIDB_USER": " "}, {}, "TIDB_USER: must be non-empty text, got ' '"),
        ({"TIDB_USER": "a\0b"}, {}, "TIDB_USER: holds a NUL character, which no driver"),
        ({"TIDB_DB_NAME": "a\0b"}, {}, "TIDB_DB_NAME: holds a NUL character, which no driver"),
        ({"TIDB_DB_NAME": "caf\udce9"}, {}, "TIDB_DB_NAME: holds bytes that are not text"),
        ({"CA_PATH": "/ca\0.pem"}, {}, "CA_PATH: holds a NUL character, which no driver"),
        ({"TIDB_HOST": "h\0x"}, {}, "TIDB_HOST: holds a NUL character, which no driver"),
        ({"TIDB_HOST": "h\x07x"}, {}, "TIDB_HOST: holds an invisible or control character"),
        ({"DATABASE_URL": "tidb://u@h/a%00b"}, {}, "DATABASE_URL: database: holds a NUL"),
        ({"DATABASE_URL": "tidb://u@h/caf\udce9"}, {}, "DATABASE_URL: holds bytes that are not"),
        ({}, {"url": "tidb://u:p\udce9@h/db"}, "--url: holds bytes that are not text (not"),
        ({"TIDB_PASSWORD": "a\0b"}, {}, "TIDB_PASSWORD: holds a NUL character, which no"),
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
        (
            {"DATABASE_URL": "sqlite:///p.db", "CA_PATH": "/ca.pem"},
            {},
            "CA_PATH: has no meaning for a SQLite database",
        ),
        ({"DATABASE_URL": URL}, {"url": ""}, "--url: not a database URL"),
    ],
)
def test_a_bad_setting_is_named_as_the_user_typed_it(settings, flags, message):
    with pytest.raises(SettingError) as refused:
        database_from(settings, **flags)
    assert str(refused.value).startswith(message)
    assert isinstance(refused.value, ConfigError)
    assert refused.value.keyword == message.split(":")[0]


def test_a_password_is_never_in_a_message():
    secret = "s3cret-Pw"
    for settings in (
        {"TIDB_PASSWORD": secret, "TIDB_PORT": "x"},
        {"DATABASE_URL": "tidb://u:%s@h:40x/db" % secret},
        {"DATABASE_URL": "tidb://u:%s/x@h/db" % secret},
    ):
        with pytest.raises(SettingError) as refused:
            database_from(settings)
        assert secret not in str(refused.value)


# --- misspellings: refused before anything connects ----------------------------------------

MISSPELLINGS = [
    # case variants of a setting
    ("tidb_host", "TIDB_HOST"),
    ("Tidb_Db_Name", "TIDB_DB_NAME"),
    ("database_url", "DATABASE_URL"),
    ("ca_path", "CA_PATH"),
    # names other programs and samples use
    ("TIDB_DATABASE_NAME", "TIDB_DB_NAME"),
    ("TIDB_DB", "TIDB_DB_NAME"),
    ("TIDB_DBNAME", "TIDB_DB_NAME"),
    ("TIDB_PASS", "TIDB_PASSWORD"),
    ("TIDB_PASSWD", "TIDB_PASSWORD"),
    ("TIDB_PWD", "TIDB_PASSWORD"),
    ("tidb_username", "TIDB_USERNAME"),
    ("TIDB_HOSTNAME", "TIDB_HOST"),
    ("TIDB_CA", "CA_PATH"),
    ("TIDB_SSL_CA", "CA_PATH"),
    ("TIDB_SSL_CA_PATH", "CA_PATH"),
    ("TIDB_URL", "DATABASE_URL"),
    ("TIDB_DATABASE_URL", "DATABASE_URL"),
    ("tidb_pass", "TIDB_PASSWORD"),
    # TIDB... alike (difflib) a TIDB_* name
    ("TIDB_POST", "TIDB_PORT"),
    ("TIDB_HSOT", "TIDB_HOST"),
    ("TIDB_PASSWROD", "TIDB_PASSWORD"),
    ("TIDB_DRIVE", "TIDB_DRIVER"),
    ("TIDB_USR", "TIDB_USER"),
    ("tidb_usres", "TIDB_USER"),
    ("TIDB-HOST", "TIDB_HOST"),
    ("TIDBHOST", "TIDB_HOST"),
    ("TIDB_DB_NAMES", "TIDB_DB_NAME"),
    ("TIDB_PORTS", "TIDB_PORT"),
    # any other alike DATABASE_URL or CA_PATH
    ("DATABASE_URI", "DATABASE_URL"),
    ("DATABASEURL", "DATABASE_URL"),
    ("DATABASE_URLS", "DATABASE_URL"),
    ("CA_PAHT", "CA_PATH"),
    ("CAPATH", "CA_PATH"),
    ("CA-PATH", "CA_PATH"),
]

#: Names left alone: other programs' variables, other TIDB_* settings, a setting's name and more.
NOT_MISSPELLINGS = [
    "TIDB_HOME",
    "TIDB_SSL",
    "TIDB_HOST_2",
    "MANPATH",
    "INFOPATH",
    "CDPATH",
    "PATH",
    "CA_PATH_2X",
    "DATABASE",
    "DB_URL",
    "DATABASE_URL_2",
    "TIDB_VERSION",
    "TIDB_DRIVER_OPTS",
    "TIDB_CLUSTER_ID",
    "TIDB_ENABLE_SSL",
    "TI_HOST",
    "MY_TIDB_HOST",
]


@pytest.mark.parametrize("name, meant", MISSPELLINGS)
def test_a_likely_misspelling_in_the_environment_is_noted_not_refused(name, meant):
    settings = read_settings(environ={name: "s3cret", "TIDB_HOST": "h"}, env_file=None)
    assert settings == {"TIDB_HOST": "h"}
    [noted] = settings.misspellings
    assert str(noted) == "%s: not a setting this program reads; did you mean %s?" % (name, meant)
    assert noted.keyword == name


@pytest.mark.parametrize("name, meant", MISSPELLINGS)
def test_a_likely_misspelling_in_env_is_noted_with_its_line(name, meant, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# settings\nTIDB_HOST=h\n\n%s=s3cret\n" % name)
    settings = read_settings(environ={}, env_file=str(env_file))
    assert settings == {"TIDB_HOST": "h"}
    assert [str(noted) for noted in settings.misspellings] == [
        "%s: line 4: %s: not a setting this program reads; did you mean %s?"
        % (env_file, name, meant)
    ]
    with pytest.raises(SettingError) as refused:
        settings.refuse_misspellings()  # what the walkthrough does
    assert refused.value is settings.misspellings[0]


def test_database_from_env_warns_of_a_misspelling_and_never_refuses_a_name_it_does_not_read():
    with pytest.warns(UserWarning, match=r"^TIDB_POST: .*did you mean TIDB_PORT\?$"):
        db = database_from_env(environ={"TIDB_POST": "4001"}, env_file=None)
    assert db.connect_params["port"] == 4000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        db = database_from_env(environ={"TIDB_HOME": "/opt/tidb"}, env_file=None)
    assert db.connect_params["host"] == "127.0.0.1"


@pytest.mark.parametrize("name", NOT_MISSPELLINGS)
def test_other_names_are_left_alone(name, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("%s=x\n" % name)
    assert read_settings(environ={name: "x"}, env_file=str(env_file)) == {}


def test_an_empty_misspelling_sets_nothing_and_is_left_alone(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TIDB_POST=\nTIDB_PASS\n")
    assert read_settings(environ={"TIDB_HOSR": ""}, env_file=str(env_file)) == {}


# --- .env files ----------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_env_line_that_cannot_be_parsed_is_named_by_number_and_not_shown(
    in_tmp, newline, caplog, capsys
):
    lines = ["# settings", "TIDB_HOST=h", "", "TIDB_PASSWORD='it's'", "TIDB_USER=u"]
    (in_tmp / ".env").write_bytes(newline.join(lines).encode())
    with caplog.at_level(logging.DEBUG), pytest.raises(SettingError) as refused:
        read_settings(environ={})
    assert str(refused.value) == (
        ".env: line 4: cannot be parsed: write NAME=value, and quote a value holding spaces, "
        '# or quotes ("it\'s", \'say "hi"\')'
    )
    assert refused.value.keyword == ".env"
    assert caplog.records == []  # python-dotenv's own warning is not given
    assert capsys.readouterr() == ("", "")


def test_env_file_that_is_not_utf8_is_one_line_without_its_bytes(in_tmp):
    (in_tmp / ".env").write_bytes(b"TIDB_HOST=127.0.0.1\nTIDB_PASSWORD=caf\xe9\n")
    with pytest.raises(SettingError) as refused:
        database_from_env(environ={})
    assert str(refused.value) == ".env: not UTF-8 at byte 37: save it as UTF-8"


def test_env_file_that_cannot_be_opened_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SettingError) as refused:
        read_settings(environ={}, env_file=str(tmp_path / "file" / ".env"))
    assert str(refused.value) == "%s: cannot be read (Not a directory)" % (
        tmp_path / "file" / ".env"
    )


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda path: path.mkdir(), "a directory"),
        (lambda path: os.mkfifo(path), "a FIFO"),  # reading it would wait for a writer
        (lambda path: path.symlink_to(os.devnull), "a character device"),
    ],
)
def test_env_that_is_not_a_regular_file_is_refused_unread(in_tmp, make, kind):
    make(in_tmp / ".env")
    with pytest.raises(SettingError) as refused:
        database_from_env(environ={})
    assert str(refused.value) == ".env: not a regular file (%s): it must be a text file" % kind


def test_without_python_dotenv_the_dialect_works_and_a_env_file_says_what_to_install(tmp_path):
    """A real Python whose path holds peewee and PyMySQL but no python-dotenv."""
    site = tmp_path / "site"
    site.mkdir()
    for module in (peewee, playhouse, pymysql):
        source = Path(module.__file__)
        source = source.parent if source.name == "__init__.py" else source
        (site / source.name).symlink_to(source)
    (tmp_path / "app").mkdir()
    code = textwrap.dedent(
        """
        import importlib.util, sys
        sys.path[:0] = [%r, %r]
        assert importlib.util.find_spec("dotenv") is None, "python-dotenv is importable"
        from tidb_dialect import SettingError, database_from_env
        print(database_from_env(environ={}).database)
        open(".env", "w").write("TIDB_DB_NAME=shop\\n")
        try:
            database_from_env(environ={})
        except SettingError as exc:
            print(exc)
        """
    ) % (str(site), str(ROOT))
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=tmp_path / "app",
        env=scrubbed_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == ("test\n.env: needs python-dotenv (pip install python-dotenv)\n")


def test_exported_but_empty_variables_leave_the_embedded_fallback(run_example, tmp_path):
    require(not port_open("127.0.0.1", 4000), "something listens on 127.0.0.1:4000")
    result = run_example(environ={"DATABASE_URL": "", "CA_PATH": "", "TIDB_HOST": ""})
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("No TiDB configured and none at 127.0.0.1:4000")
    assert (tmp_path / "player.db").is_file()


def test_the_repr_of_the_settings_hides_the_password():
    environ = {"TIDB_PASSWORD": "s3cret", "DATABASE_URL": "tidb://u:s3cret@h/db", "TIDB_USER": "u"}
    settings = read_settings(environ=environ, env_file=None)
    assert settings == environ
    assert repr(settings) == str(settings)
    assert repr(settings) == (
        "{'TIDB_PASSWORD': '<hidden>', 'DATABASE_URL': '<hidden>', 'TIDB_USER': 'u'}"
    )


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
