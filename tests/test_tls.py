"""TLS: verified connections to a private MariaDB that refuses plain ones, CA_PATH checks, and
on the wire, that no way of configuring TLS lets the password out in clear.

The server's certificate comes from a CA made by trustme for this session
and names 127.0.0.1 only; the server also listens on 127.0.0.2. The fake
server advertises no TLS and asks for mysql_clear_password: a client that
keeps its TLS promise never logs in to it.
"""

import os
import pwd
import re
import shutil
import ssl
import subprocess
import tempfile
from urllib.parse import quote

import pytest
import trustme
from peewee import OperationalError
from playhouse.db_url import connect as playhouse_connect

from tests.conftest import HOST_MISMATCH, UNTRUSTED, require, server_environ
from tidb_dialect import ConfigError, PooledTiDBDatabase, TiDBDatabase, connect_url
from tidb_dialect.settings import database_from, keywords_from
from tidb_dialect.tls import default_ca_bundle, verifying_context

# MariaDB answers a plain connection under require_secure_transport with
# "access denied" (TiDB Cloud says 1105 "insecure transport" instead).
ACCESS_DENIED = 1045

CLOUD_HOST = "gateway01.us-west-2.prod.aws.tidbcloud.com"
#: A TiDB Cloud Dedicated host (pingcap/docs tidb-cloud/tidb-cloud-tls-connect-to-dedicated.md).
DEDICATED_HOST = "tidb.1a2b3c4d5e6f.clusters.tidb-cloud.com"


def connect(tls_server, driver, **given):
    """A connected TiDBDatabase on the TLS server, from TIDB_* settings as a user writes them."""
    database = database_from(dict(server_environ(tls_server, "mysql"), TIDB_DRIVER=driver, **given))
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


def test_default_ca_bundle_holds_certificates():
    bundle = default_ca_bundle()
    assert os.path.isfile(bundle)
    assert ssl.create_default_context(cafile=bundle).cert_store_stats()["x509_ca"] > 0


def written(path, data):
    path.write_bytes(data)
    return path


#: CA_PATH values that cannot serve, and what the refusal says each is instead.
BAD_CA_PATHS = {
    "missing": (lambda folder: folder / "absent.pem", "no such file"),
    "directory": (lambda folder: folder, "a directory, not a file"),
    "device": (lambda folder: "/dev/null", "a character device, not a file"),
    "private key": (
        lambda folder: written(folder / "key.pem", trustme.CA().private_key_pem.bytes()),
        "holds a private key, not a CA certificate",
    ),
    "text": (
        lambda folder: written(folder / "notes.txt", b"TIDB_HOST=127.0.0.1\n"),
        "not a PEM certificate file",
    ),
    "DER": (
        lambda folder: written(
            folder / "ca.der", ssl.PEM_cert_to_DER_cert(trustme.CA().cert_pem.bytes().decode())
        ),
        "not a PEM certificate file",
    ),
    "broken PEM": (
        lambda folder: written(
            folder / "cut.pem",
            trustme.CA().cert_pem.bytes()[:200] + b"\n-----END CERTIFICATE-----\n",
        ),
        "not a PEM certificate file",
    ),
    "empty": (lambda folder: written(folder / "empty.pem", b""), "the file is empty"),
    "newline in the name": (lambda folder: folder / "ca.pem\n", "no such file"),
}

#: Every way a CA path is given: the dialect's keyword, a URL's ?ssl_ca=, the walkthrough's
#: CA_PATH (with a URL too); (how to build a database with it, the keyword the message names).
CA_PATH_WAYS = {
    "ssl_ca": (lambda path: TiDBDatabase("test", ssl_ca=path), "ssl_ca"),
    "ssl={'ca'}": (lambda path: TiDBDatabase("test", ssl={"ca": path}), "ssl_ca"),
    "URL ?ssl_ca=": (
        lambda path: connect_url("tidb://root@127.0.0.1/test?ssl_ca=" + quote(path, safe="")),
        "ssl_ca",
    ),
    "CA_PATH": (lambda path: TiDBDatabase("test", **keywords_from({"CA_PATH": path})[1]), "ssl_ca"),
}


@pytest.mark.parametrize("way", CA_PATH_WAYS)
@pytest.mark.parametrize("case", BAD_CA_PATHS)
def test_unusable_ca_path_is_a_config_error(tmp_path, case, way):
    make_path, problem = BAD_CA_PATHS[case]
    build, keyword = CA_PATH_WAYS[way]
    path = str(make_path(tmp_path))
    with pytest.raises(ConfigError) as rejected:
        build(path)
    assert rejected.value.keyword == keyword
    assert str(rejected.value) == "ssl_ca: %s: %r" % (problem, path)
    assert "\n" not in str(rejected.value)  # one line, whatever the path holds


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
        assert rejection_as_unprivileged_user(path) == "ssl_ca: file is not readable: %r" % path


def rejection_as_unprivileged_user(path):
    """The ConfigError message of verifying_context(path), run where file modes apply."""
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
        verifying_context(path)
    except ConfigError as exc:
        return str(exc)
    return "accepted"


def test_bad_ca_path_stops_the_walkthrough_before_connecting(run_example, tmp_path):
    result = run_example(
        environ={"TIDB_HOST": "127.0.0.1", "CA_PATH": str(tmp_path / "absent.pem")}
    )
    assert result.returncode == 2
    assert result.stderr == "error: CA_PATH: no such file: %r\n" % str(tmp_path / "absent.pem")
    assert not (tmp_path / "player.db").exists()


# --- On the wire: the password never goes out in clear once TLS is asked for or required ---

#: What a fake server would record if a client sent it in clear.
WIRE_PASSWORD = "Clear-text-would-show-this"


def url(scheme, host, port, query=""):
    return "%s://root:%s@%s:%d/test%s" % (scheme, WIRE_PASSWORD, host, port, query)


#: name -> (arguments, settings), for a fake server on 127.0.0.1:{port}; {ca} is a real CA file.
#: Each asks for TLS, so the program must stop without logging in.
ASKED_FOR_TLS = {
    "CA_PATH with TIDB_HOST": ([], {"TIDB_HOST": "127.0.0.1", "TIDB_PASSWORD": WIRE_PASSWORD}),
    "CA_PATH with DATABASE_URL tidb://": ([], {"DATABASE_URL": url("tidb", "127.0.0.1", 0)}),
    "CA_PATH with DATABASE_URL mysql://": ([], {"DATABASE_URL": url("mysql", "127.0.0.1", 0)}),
    "CA_PATH with --url tidb+pool://": (["--url", url("tidb+pool", "127.0.0.1", 0)], {}),
    "CA_PATH with --url mysql+pool://": (["--url", url("mysql+pool", "127.0.0.1", 0)], {}),
    "?ssl_ca=": ([], {"DATABASE_URL": url("tidb", "127.0.0.1", 0, "?ssl_ca={ca}"), "CA_PATH": ""}),
}

#: Settings that would weaken TLS: refused before any connection (exit 2).
WEAKENING = {
    "?ssl_ca=&ssl_disabled=true": ("?ssl_ca={ca}&ssl_disabled=true", "ssl_disabled: refused"),
    "?ssl_verify_identity=true without a CA": (
        "?ssl_verify_identity=true",
        "ssl_verify_identity: needs ssl_ca",
    ),
    "?ssl_cert=&ssl_key= without a CA": ("?ssl_cert={ca}&ssl_key={ca}", "ssl_cert: needs ssl_ca"),
    "?ssl_mode=REQUIRED": ("?ssl_ca={ca}&ssl_mode=REQUIRED", "ssl_mode: only VERIFY_IDENTITY"),
}


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("wire-ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def assert_nothing_in_clear(fake, result, status=None):
    assert fake.passwords == [], "the password went out in clear"
    assert WIRE_PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.returncode == status if status else result.returncode != 0, result.stderr


def filled(settings, port, ca_file):
    return {
        name: value.replace(":0/", ":%d/" % port).format(ca=ca_file)
        for name, value in settings.items()
    }


@pytest.mark.parametrize("case", ASKED_FOR_TLS)
def test_tls_asked_for_never_sends_the_password_in_clear(
    run_example, fake_server, driver, ca_file, case
):
    fake = fake_server()
    args, settings = ASKED_FOR_TLS[case]
    environ = dict({"CA_PATH": ca_file, "TIDB_PORT": str(fake.port)}, **settings)
    args = [arg.replace(":0/", ":%d/" % fake.port) for arg in args]
    result = run_example(*args, "--driver", driver, environ=filled(environ, fake.port, ca_file))
    assert_nothing_in_clear(fake, result, status=1)
    assert "error: cannot connect to 127.0.0.1:%d as user 'root'" % fake.port in result.stderr


@pytest.mark.parametrize("case", WEAKENING)
def test_settings_that_would_weaken_tls_are_refused_before_connecting(
    run_example, fake_server, driver, ca_file, case
):
    fake = fake_server()
    query, message = WEAKENING[case]
    environ = {"DATABASE_URL": url("tidb", "127.0.0.1", fake.port, query.format(ca=ca_file))}
    result = run_example("--driver", driver, environ=environ)
    assert_nothing_in_clear(fake, result, status=2)
    assert result.stderr.startswith("error: DATABASE_URL: " + message)
    assert fake.logins == []


@pytest.fixture(scope="module")
def tidb_cloud_name(tmp_path_factory):
    """A command prefix under which CLOUD_HOST means 127.0.0.1, for that process tree only.

    A private hosts file is bind-mounted over /etc/hosts in a mount namespace
    of its own (needs root); the machine's /etc/hosts is not touched.
    """
    require(
        os.geteuid() == 0 and shutil.which("unshare"),
        "mapping %s to 127.0.0.1 for one process needs root and unshare" % CLOUD_HOST,
    )
    hosts = tmp_path_factory.mktemp("hosts") / "hosts"
    hosts.write_text("127.0.0.1 localhost %s %s\n" % (CLOUD_HOST, DEDICATED_HOST))
    prefix = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts)]
    probe = subprocess.run([*prefix, "getent", "hosts", CLOUD_HOST], capture_output=True, text=True)
    require(probe.stdout.startswith("127.0.0.1"), "cannot map %s: %s" % (CLOUD_HOST, probe.stderr))
    return prefix


#: TiDB Cloud host names as users write them; TLS must be on for every one.
CLOUD_SPELLINGS = {
    "plain": CLOUD_HOST,
    "upper case, final dot": CLOUD_HOST.upper() + ".",
    "ideographic full stops": CLOUD_HOST.replace(".", "\u3002"),
}
#: name -> (arguments, settings) reaching CLOUD_SPELLINGS' {host} on the fake server's {port}.
CLOUD_ROUTES = {
    "TIDB_HOST": (
        [],
        {"TIDB_HOST": "{host}", "TIDB_PORT": "{port}", "TIDB_PASSWORD": WIRE_PASSWORD},
    ),
    "DATABASE_URL mysql://": ([], {"DATABASE_URL": url("mysql", "{host}", 0)}),
    "--url mysql+pool://": (["--url", url("mysql+pool", "{host}", 0)], {}),
    "--url tidb://": (["--url", url("tidb", "{host}", 0)], {}),
}


def run_cloud(run_example, prefix, fake, driver, route, host):
    args, settings = CLOUD_ROUTES[route]

    def fill(text):
        return text.replace(":0/", ":%d/" % fake.port).format(host=host, port=fake.port)

    return run_example(
        *[fill(arg) for arg in args],
        "--driver",
        driver,
        environ={name: fill(value) for name, value in settings.items()},
        wrap=prefix,
    )


@pytest.mark.parametrize("spelling", CLOUD_SPELLINGS)
@pytest.mark.parametrize("route", CLOUD_ROUTES)
def test_tidb_cloud_hosts_never_get_the_password_in_clear(
    run_example, tidb_cloud_name, fake_server, driver, route, spelling
):
    fake = fake_server()
    result = run_cloud(run_example, tidb_cloud_name, fake, driver, route, CLOUD_SPELLINGS[spelling])
    assert_nothing_in_clear(fake, result, status=1)
    assert "error: cannot connect to %s:%d" % (CLOUD_HOST, fake.port) in result.stderr


def test_the_fake_records_a_password_sent_in_clear(run_example, tidb_cloud_name, fake_server):
    """The control: without TLS the fake does get the password, so the cases above mean
    something; and `?ssl=` with no value is no TLS setting (exit 2), not "TLS configured"."""
    fake = fake_server()
    plain = run_example("--url", url("tidb", "127.0.0.1", fake.port), "--trade", "1", "2", "1", "1")
    assert fake.passwords == [WIRE_PASSWORD] and plain.returncode != 0
    empty_ssl = run_example(
        "--url", url("tidb", CLOUD_HOST, fake.port, "?ssl="), wrap=tidb_cloud_name
    )
    assert empty_ssl.returncode == 2
    assert empty_ssl.stderr.startswith("error: --url: ssl: unknown URL parameter")


@pytest.mark.parametrize("route", CLOUD_ROUTES)
def test_a_cloud_host_with_an_invisible_character_is_refused(
    run_example, tidb_cloud_name, fake_server, driver, route
):
    fake = fake_server()
    host = CLOUD_HOST.replace(".com", "\u200b.com")
    result = run_cloud(run_example, tidb_cloud_name, fake, driver, route, host)
    assert_nothing_in_clear(fake, result, status=2)
    assert re.match(
        r"error: (TIDB_HOST|DATABASE_URL: host|--url: host): holds an invisible or control "
        r"character \(U\+200B at position 39\): type the host name again\n$",
        result.stderr,
    )
    assert fake.logins == []


# --- TiDB Cloud Dedicated: no TLS forced, a CA per cluster; refused without CA_PATH ---

DEDICATED_ADVICE = (
    "%s is a TiDB Cloud Dedicated cluster, which signs its certificate with a CA of its own: "
    "download the cluster's CA certificate from its Connect dialog and set this to that file"
    % DEDICATED_HOST
)
#: Spellings of a Dedicated host, and a name under the domain itself.
DEDICATED_SPELLINGS = {
    "plain": DEDICATED_HOST,
    "upper case, final dot": DEDICATED_HOST.upper() + ".",
}
#: How a command line names the CA file: the setting, and what it writes before the advice.
DEDICATED_ROUTES = {
    "TIDB_HOST": "CA_PATH: ",
    "DATABASE_URL mysql://": "DATABASE_URL: ssl_ca: ",
    "--url mysql+pool://": "--url: ssl_ca: ",
    "--url tidb://": "--url: ssl_ca: ",
}


@pytest.mark.parametrize("spelling", DEDICATED_SPELLINGS)
@pytest.mark.parametrize("route", DEDICATED_ROUTES)
def test_a_dedicated_host_without_a_ca_is_refused_before_connecting(
    run_example, tidb_cloud_name, fake_server, driver, route, spelling
):
    fake = fake_server()
    host = DEDICATED_SPELLINGS[spelling]
    result = run_cloud(run_example, tidb_cloud_name, fake, driver, route, host)
    assert_nothing_in_clear(fake, result, status=2)
    assert result.stderr == "error: %s%s\n" % (DEDICATED_ROUTES[route], DEDICATED_ADVICE)
    assert fake.logins == []


def test_a_dedicated_host_in_dotenv_without_a_ca_is_refused(
    run_example, tidb_cloud_name, fake_server
):
    fake = fake_server()
    env_file = "TIDB_HOST=%s\nTIDB_PORT=%d\nTIDB_PASSWORD=%s\n" % (
        DEDICATED_HOST,
        fake.port,
        WIRE_PASSWORD,
    )
    result = run_example(env_file=env_file, wrap=tidb_cloud_name)
    assert_nothing_in_clear(fake, result, status=2)
    assert result.stderr == "error: CA_PATH: %s\n" % DEDICATED_ADVICE
    assert fake.logins == []


@pytest.mark.parametrize("route", DEDICATED_ROUTES)
def test_a_dedicated_host_with_its_ca_asks_for_tls(
    run_example, tidb_cloud_name, fake_server, driver, ca_file, route
):
    """With CA_PATH the client asks for TLS (the fake has none) and never logs in in clear."""
    fake = fake_server()
    args, settings = CLOUD_ROUTES[route]
    result = run_example(
        *[arg.replace(":0/", ":%d/" % fake.port).format(host=DEDICATED_HOST) for arg in args],
        "--driver",
        driver,
        environ=dict(
            {
                name: value.replace(":0/", ":%d/" % fake.port).format(
                    host=DEDICATED_HOST, port=fake.port
                )
                for name, value in settings.items()
            },
            CA_PATH=ca_file,
        ),
        wrap=tidb_cloud_name,
    )
    assert_nothing_in_clear(fake, result, status=1)
    assert "error: cannot connect to %s:%d" % (DEDICATED_HOST, fake.port) in result.stderr


#: Every way in of the dialect itself, for a host: each builds a database or raises.
DIALECT_WAYS = {
    "TiDBDatabase": lambda host, query: TiDBDatabase(
        "test", host=host, user="root", **dict(p.split("=") for p in query if p)
    ),
    "PooledTiDBDatabase": lambda host, query: PooledTiDBDatabase(
        "test", host=host, user="root", **dict(p.split("=") for p in query if p)
    ),
    "connect_url tidb://": lambda host, query: connect_url(
        "tidb://root@%s:4000/test?%s" % (host, "&".join(query))
    ),
    "playhouse connect tidb+pool://": lambda host, query: playhouse_connect(
        "tidb+pool://root@%s:4000/test?%s" % (host, "&".join(query))
    ),
}


@pytest.mark.parametrize("way", DIALECT_WAYS)
def test_every_way_in_needs_the_cluster_ca_for_a_dedicated_host(way, driver, ca_file):
    with pytest.raises(ConfigError) as refused:
        DIALECT_WAYS[way](DEDICATED_HOST, ["driver=" + driver])
    assert (refused.value.keyword, refused.value.problem) == ("ssl_ca", DEDICATED_ADVICE)
    database = DIALECT_WAYS[way](DEDICATED_HOST, ["driver=" + driver, "ssl_ca=" + ca_file])
    params = database.connect_params
    if driver == "pymysql":
        assert params["ssl"].check_hostname and params["ssl"].verify_mode == ssl.CERT_REQUIRED
    else:
        assert params["ssl_mode"] == "VERIFY_IDENTITY" and params["ssl"] == {"ca": ca_file}
    assert TiDBDatabase("test", host="tidb-cloud.com.example.org").connect_params.get("ssl") is None
