"""Which server it is and which TiDB release: parsing the answers, and asking once.

The answers are those of TiDB's docs and sources (information-functions.md,
pkg/util/printer): VERSION() in TiDB's form, TIDB_VERSION() starting with
"Release Version: v8.5.3"; TiDB X Cloud builds name no release.
"""

import threading

import pytest
from peewee import DatabaseError

from tidb_dialect import PooledTiDBDatabase, TiDBDatabase, parse_version

DETECT = "SELECT VERSION() /*T! , TIDB_VERSION() */"
RELEASE_853 = "Release Version: v8.5.3\nEdition: Community\nGit Commit Hash: 0123abc"


@pytest.mark.parametrize(
    "version, tidb_version, mysql, is_tidb, release",
    [
        ("8.0.11-TiDB-v7.5.1", None, (8, 0, 11), True, (7, 5, 1)),
        ("5.7.25-TiDB-v6.1.0", None, (5, 7, 25), True, (6, 1, 0)),
        ("8.0.11-TiDB-v8.5.3-serverless", None, (8, 0, 11), True, (8, 5, 3)),
        ("8.0.11-TiDB-CLOUD.202603.9", None, (8, 0, 11), True, None),
        ("8.0.11-TiDB-X-CLOUD.202510.1", None, (8, 0, 11), True, None),
        # TIDB_VERSION() is the truth; VERSION() may be rewritten by server-version.
        ("8.0.11-TiDB-v7.5.1", RELEASE_853, (8, 0, 11), True, (8, 5, 3)),
        ("8.0.36", RELEASE_853, (8, 0, 36), True, (8, 5, 3)),
        (
            "8.0.11-TiDB-X-CLOUD.202510.1",
            "Release Version: X-CLOUD.202510.1",
            (8, 0, 11),
            True,
            None,
        ),
        ("10.11.19-MariaDB-0+deb12u1", None, (10, 11, 19), False, None),
        ("8.0.36", None, (8, 0, 36), False, None),
    ],
)
def test_version_answers(version, tidb_version, mysql, is_tidb, release):
    parsed = parse_version(version, tidb_version)
    assert (parsed.mysql, parsed.is_tidb, parsed.tidb_release) == (mysql, is_tidb, release)


def test_bytes_are_decoded():
    assert parse_version(b"8.0.36", RELEASE_853.encode()).tidb_release == (8, 5, 3)


def test_at_least_is_false_on_other_servers_and_true_on_builds_naming_no_release():
    assert parse_version("8.0.11-TiDB-v6.2.0").at_least(6, 2, 0)
    assert not parse_version("8.0.11-TiDB-v6.1.0").at_least(6, 2, 0)
    assert not parse_version("8.0.36").at_least(0, 0, 0)
    assert parse_version("8.0.11-TiDB-X-CLOUD.202510.1").at_least(99, 0, 0)


@pytest.mark.parametrize(
    "version, cloud",
    [
        ("8.0.11-TiDB-v8.5.3-serverless", True),  # TiDB Cloud Starter/Essential (Serverless)
        ("5.7.25-TiDB-v6.3.0-serverless", True),
        ("8.0.11-TiDB-X-CLOUD.202510.1", True),  # TiDB X: Starter, Essential, Premium
        ("8.0.11-TiDB-CLOUD.202603.9", True),
        ("8.0.11-TiDB-v8.5.3", False),  # Self-Managed, Dedicated
        ("8.0.36", False),
        ("10.11.19-MariaDB-0+deb12u1", False),
    ],
)
def test_is_tidb_cloud_says_a_starter_essential_or_premium_build(version, cloud):
    assert parse_version(version).is_tidb_cloud is cloud


@pytest.mark.parametrize(
    "version, savepoints, foreign_keys, check_constraints",
    [
        ("8.0.36", True, True, True),
        ("5.7.44", True, True, False),
        ("10.11.19-MariaDB-0+deb12u1", True, True, True),
        ("5.7.25-TiDB-v6.1.0", False, False, False),
        ("8.0.11-TiDB-v6.3.0", True, False, False),
        ("8.0.11-TiDB-v6.6.0", True, True, False),
        ("8.0.11-TiDB-v7.2.0", True, True, True),
        ("8.0.11-TiDB-X-CLOUD.202510.1", True, True, True),
    ],
)
def test_capabilities_say_what_this_server_does(
    version, savepoints, foreign_keys, check_constraints
):
    parsed = parse_version(version)
    assert (
        parsed.supports_savepoints,
        parsed.enforces_foreign_keys,
        parsed.supports_check_constraints,
    ) == (savepoints, foreign_keys, check_constraints)


@pytest.mark.parametrize(
    "version, tidb_version, expected",
    [
        # server-version rewrote VERSION(); TIDB_VERSION() still says what it is.
        ("8.0.36", RELEASE_853, "TiDB v8.5.3"),
        ("8.0.11-TiDB-X-CLOUD.202510.1", "Release Version: X-CLOUD.202510.1", "TiDB (8.0.11-"),
        ("8.0.36", None, "8.0.36"),  # MySQL refuses TIDB_VERSION() (1305): not asked alone
    ],
)
def test_one_statement_tells_tidb_from_mysql(fake_server, driver, version, tidb_version, expected):
    fake = fake_server(version=version, tidb_version=tidb_version)
    db = TiDBDatabase("test", host=fake.host, port=fake.port, user="root", driver=driver)
    assert str(db.detect_server_version()).startswith(expected)
    assert asked(fake) == [DETECT]
    db.close()


def test_detection_costs_one_round_trip_per_database(fake_server, driver):
    """Asked on a database's first connection only, pooled connections from other threads too."""
    fake = fake_server(version="8.0.11-TiDB-v7.5.1", tidb_version="Release Version: v7.5.1")
    params = {"host": fake.host, "port": fake.port, "user": "root", "driver": driver}
    db = TiDBDatabase("test", **params)
    db.connect()
    db.close()
    db.connect()  # a new connection of the same database
    assert db.detect_server_version().tidb_release == (7, 5, 1)
    db.close()
    pool = PooledTiDBDatabase("test", max_connections=4, **params)
    with pool.connection_context():
        other = threading.Thread(target=lambda: pool.connect() and pool.close())
        other.start()
        other.join()  # a second pooled connection, from another thread
        assert pool.detect_server_version().tidb_release == (7, 5, 1)
    pool.close_all()
    assert len(fake.logins) == 4
    assert asked(fake) == [DETECT, DETECT]


def asked(fake):
    """The statements that asked the fake for its version (drivers send SET NAMES too)."""
    return [s for s in fake.statements if "VERSION()" in s.upper()]


@pytest.mark.parametrize("reconnect", [False, True], ids=["same connection", "new connection"])
def test_a_failed_detection_is_asked_again(fake_server, driver, reconnect):
    """The first connection's question fails (a busy server, a dropped reply): the version is
    asked again when next needed, never taken to be None."""
    fake = fake_server(
        version="8.0.11-TiDB-v7.5.1",
        tidb_version="Release Version: v7.5.1",
        answers={DETECT: (1105, "not now")},
    )
    db = TiDBDatabase("test", host=fake.host, port=fake.port, user="root", driver=driver)
    with pytest.raises(DatabaseError, match="not now"):
        db.connect()
    del fake.answers[DETECT]
    if reconnect:
        db.close()
        db.connect()
    assert db.detect_server_version().tidb_release == (7, 5, 1)
    assert db.is_tidb
    assert asked(fake) == [DETECT, DETECT]
    db.close()


def test_each_user_of_one_gateway_is_asked(fake_server, driver):
    """One TiDB Cloud gateway (one address, one handshake) serves many clusters, chosen by the
    user's prefix: each cluster may run another release."""
    fake = fake_server(version="8.0.11-TiDB-v7.5.1", tidb_version="Release Version: v7.5.1")

    def release_for(user):
        db = TiDBDatabase("test", host=fake.host, port=fake.port, user=user, driver=driver)
        release = db.detect_server_version().tidb_release
        db.close()
        return release

    assert release_for("4Xq1.root") == (7, 5, 1)
    fake.tidb_version = RELEASE_853  # the next user's cluster; same gateway, same handshake
    assert release_for("9Zk2.root") == (8, 5, 3)
