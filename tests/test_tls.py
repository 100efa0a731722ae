"""TLS: verified connections to a private MariaDB that refuses plain ones, and CA_PATH checks.

The server's certificate comes from a CA made by trustme for this session
and names 127.0.0.1 only; the server also listens on 127.0.0.2.
"""

import os
import pwd
import re
import ssl
import tempfile

import pytest
import trustme
from peewee import OperationalError

from tests.conftest import server_environ
from tidb_dialect import ConfigError, Settings
from tidb_dialect.tls import check_ca_file, default_ca_bundle, tls_params

# What each driver says when the CA does not match (OpenSSL's reason; 1.1 omits the hyphen)...
UNTRUSTED = r"self[- ]signed certificate in certificate chain"
# ...and when the certificate does not name the host.
HOST_MISMATCH = {
    "pymysql": "certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.2'",
    "mysqlclient": "TLS/SSL error: Validation of SSL server certificate failed",
}
# MariaDB answers a plain connection under require_secure_transport with
# "access denied" (TiDB Cloud says 1105 "insecure transport" instead).
ACCESS_DENIED = 1045

TIDB_CLOUD_HOSTS = [
    "gateway01.us-west-2.prod.aws.tidbcloud.com",
    "GATEWAY01.EU-CENTRAL-1.PROD.AWS.TIDBCLOUD.COM.",
]


@pytest.fixture
def untrusted_ca_path(tmp_path):
    """A CA that did not sign the server's certificate."""
    path = str(tmp_path / "untrusted-ca.pem")
    trustme.CA().cert_pem.write_to_path(path)
    return path


def connect(tls_server, driver, **given):
    """A connected TiDBDatabase on the TLS server, from settings as a user writes them."""
    database = Settings.from_mapping(
        dict(server_environ(tls_server, "mysql"), TIDB_DRIVER=driver, **given)
    ).build_database()
    database.connect()
    return database


def session_tls(database):
    rows = database.execute_sql(
        "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version')"
    ).fetchall()
    return dict(rows)


def test_connection_with_ca_path_is_encrypted(tls_server, driver):
    database = connect(tls_server, driver)
    try:
        tls = session_tls(database)
    finally:
        database.close()
    assert tls["Ssl_cipher"]
    assert tls["Ssl_version"] in ("TLSv1.2", "TLSv1.3")


def test_certificate_from_another_ca_is_refused(tls_server, driver, untrusted_ca_path):
    with pytest.raises(OperationalError, match=UNTRUSTED):
        connect(tls_server, driver, CA_PATH=untrusted_ca_path)


def test_certificate_that_does_not_name_the_host_is_refused(tls_server, driver):
    with pytest.raises(OperationalError) as refused:
        connect(tls_server, driver, TIDB_HOST=tls_server.other_host)
    assert HOST_MISMATCH[driver] in str(refused.value)


@pytest.mark.parametrize("driver", ["mysqlclient"], indirect=True)
def test_without_ca_path_mysqlclient_sends_plain_text_and_is_refused(tls_server, driver):
    with pytest.raises(OperationalError) as refused:
        connect(tls_server, driver, CA_PATH="")
    assert refused.value.args[0] == ACCESS_DENIED


@pytest.mark.parametrize("driver", ["pymysql"], indirect=True)
def test_without_ca_path_pymysql_encrypts_but_verifies_nothing(tls_server, driver):
    # PyMySQL 1.2 tries TLS on its own when given no TLS settings, and then
    # checks neither the CA nor the host name: only CA_PATH makes it verify.
    database = connect(tls_server, driver, CA_PATH="", TIDB_HOST=tls_server.other_host)
    try:
        assert session_tls(database)["Ssl_cipher"]
    finally:
        database.close()


def test_walkthrough_runs_over_tls(run_example, tls_server, tls_database_name, driver):
    environ = server_environ(tls_server, tls_database_name)
    result = run_example("--driver", driver, environ=environ)
    assert result.returncode == 0, result.stderr
    assert "trade success" in result.stdout.splitlines()


def test_walkthrough_with_wrong_ca_fails_clearly(
    run_example, tls_server, tls_database_name, driver, untrusted_ca_path
):
    environ = dict(server_environ(tls_server, tls_database_name), CA_PATH=untrusted_ca_path)
    result = run_example("--driver", driver, environ=environ)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: cannot connect to %s:%d" % (tls_server.host, tls_server.port)
    )
    assert re.search(UNTRUSTED, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "driver_name, expected",
    [
        ("pymysql", {"ssl_ca": "/ca.pem", "ssl_verify_cert": True, "ssl_verify_identity": True}),
        ("mysqlclient", {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": "/ca.pem"}}),
    ],
)
def test_tls_params_verify_certificate_and_host_name(driver_name, expected):
    assert tls_params(driver_name, "/ca.pem") == expected


def test_tls_params_for_unknown_driver_name_the_setting():
    with pytest.raises(ConfigError, match=r"^TIDB_DRIVER: unknown driver 'mysql-connector'"):
        tls_params("mysql-connector", "/ca.pem")


def test_default_ca_bundle_holds_certificates():
    bundle = default_ca_bundle()
    assert os.path.isfile(bundle)
    assert ssl.create_default_context(cafile=bundle).cert_store_stats()["x509_ca"] > 0


@pytest.mark.parametrize("driver_name", ["pymysql", "mysqlclient"])
@pytest.mark.parametrize("host", TIDB_CLOUD_HOSTS)
def test_tidb_cloud_host_turns_tls_on_with_the_default_bundle(host, driver_name):
    settings = Settings.from_mapping({"TIDB_HOST": host, "TIDB_DRIVER": driver_name})
    assert settings.uses_tls
    expected = tls_params(driver_name, default_ca_bundle())
    params = settings.build_database().connect_params
    assert {name: params.get(name) for name in expected} == expected


def test_ca_path_wins_over_the_default_bundle(tmp_path):
    ca_path = str(tmp_path / "ca.pem")
    trustme.CA().cert_pem.write_to_path(ca_path)
    settings = Settings.from_mapping({"TIDB_HOST": TIDB_CLOUD_HOSTS[0], "CA_PATH": ca_path})
    assert settings.build_database().connect_params["ssl_ca"] == ca_path


@pytest.mark.parametrize("driver_name", ["pymysql", "mysqlclient"])
@pytest.mark.parametrize("host", ["127.0.0.1", "tidbcloud.com.example.org", "nottidbcloud.com"])
def test_other_hosts_without_ca_path_get_no_tls_settings(host, driver_name):
    settings = Settings.from_mapping({"TIDB_HOST": host, "TIDB_DRIVER": driver_name})
    assert not settings.uses_tls
    assert (
        not settings.build_database().connect_params.keys()
        & tls_params(driver_name, "/ca.pem").keys()
    )


def written(path, data):
    path.write_bytes(data)
    return path


#: CA_PATH values that cannot serve: absent, not a file, or no certificate in it.
BAD_CA_PATHS = {
    "missing": lambda folder: folder / "absent.pem",
    "directory": lambda folder: folder,
    "private key": lambda folder: written(folder / "key.pem", trustme.CA().private_key_pem.bytes()),
    "text": lambda folder: written(folder / "notes.txt", b"TIDB_HOST=127.0.0.1\n"),
    "empty": lambda folder: written(folder / "empty.pem", b""),
}


@pytest.mark.parametrize("case", BAD_CA_PATHS)
def test_unusable_ca_path_is_a_config_error(tmp_path, case):
    path = str(BAD_CA_PATHS[case](tmp_path))
    with pytest.raises(ConfigError, match=r"^CA_PATH: ") as rejected:
        Settings.from_mapping({"CA_PATH": path})
    assert str(rejected.value).endswith(": " + path)


def test_unreadable_ca_path_is_a_config_error():
    # Root reads any file whatever its mode, so as root the check runs in a
    # child process that has become "nobody", for whom mode 000 means no.
    # pytest's tmp_path is private to its user, so nobody could not even
    # see the file there: this folder lets anyone reach it.
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "ca.pem")
        trustme.CA().cert_pem.write_to_path(path)
        os.chmod(path, 0o000)
        assert rejection_as_unprivileged_user(path) == "CA_PATH: file is not readable: " + path


def rejection_as_unprivileged_user(path):
    """The ConfigError message of check_ca_file(path), run where file modes apply."""
    if os.geteuid() != 0:
        return rejection(path)
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root for good, check, report, exit
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            message = rejection(path)
        except BaseException as exc:
            message = "the child failed: %r" % exc
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    return message


def rejection(path):
    try:
        check_ca_file(path)
    except ConfigError as exc:
        return str(exc)
    return "accepted"


def test_bad_ca_path_stops_the_walkthrough_before_connecting(run_example, tmp_path):
    result = run_example(
        environ={"TIDB_HOST": "127.0.0.1", "CA_PATH": str(tmp_path / "absent.pem")}
    )
    assert result.returncode == 2
    assert result.stderr == "error: CA_PATH: no such file: %s\n" % (tmp_path / "absent.pem")
    assert not (tmp_path / "player.db").exists()
