"""The wire tools other tests stand on, with each driver: the fake TiDB server and the relay
(tests/kit/fake_tidb.py, tests/kit/relay.py)."""

import importlib

import pytest

from tests.conftest import DRIVER_MODULES, poll

TIDB_VERSION = "Release Version: v8.5.3\nEdition: Community"


def module(driver):
    return importlib.import_module(DRIVER_MODULES[driver])


def connect(driver, host, port, **kwargs):
    kwargs = dict({"user": "app", "connect_timeout": 5}, **kwargs)
    return module(driver).connect(host=host, port=port, **kwargs)


def fetch(connection, statement):
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def test_fake_tidb_and_fake_mysql_answer_their_versions(fake_server, driver):
    tidb = fake_server(version="8.0.11-TiDB-v8.5.3", tidb_version=TIDB_VERSION)
    mysql = fake_server(version="8.0.36", tidb_version=None)
    detect = "SELECT VERSION() /*T! , TIDB_VERSION() */"

    connection = connect(driver, tidb.host, tidb.port, password="pw", database="player")
    assert fetch(connection, detect) == (("8.0.11-TiDB-v8.5.3", TIDB_VERSION),)
    assert tidb.logins[0][:3] == ("app", "player", False)
    assert detect in tidb.statements

    connection = connect(driver, mysql.host, mysql.port, password="pw")
    assert fetch(connection, detect) == (("8.0.36",),)
    with pytest.raises(module(driver).Error) as refused:
        fetch(connection, "SELECT TIDB_VERSION()")
    assert refused.value.args[0] == 1305


def test_fake_server_answers_what_it_is_told(fake_server, driver):
    fake = fake_server(
        answers={"SELECT a, b FROM t": [(1, "x"), (2, None)], "DROP X": (9007, "no")}
    )
    connection = connect(driver, fake.host, fake.port)
    assert fetch(connection, "SELECT a, b FROM t") == ((1, "x"), (2, None))
    with pytest.raises(module(driver).Error) as refused:
        fetch(connection, "DROP X")
    assert refused.value.args == (9007, "no")


def test_the_fake_catches_a_password_sent_in_clear(fake_server):
    fake = fake_server()
    connect("pymysql", fake.host, fake.port, password="Pw-in-clear").close()
    assert fake.passwords == ["Pw-in-clear"]


def test_a_silent_server_makes_the_client_time_out(fake_server, driver):
    fake = fake_server(silent=True)
    # PyMySQL reads the greeting under read_timeout (none by default), not connect_timeout.
    timeouts = {"read_timeout": 1} if driver == "pymysql" else {}
    with pytest.raises(module(driver).OperationalError) as timed_out:
        connect(driver, fake.host, fake.port, connect_timeout=1, **timeouts)
    assert timed_out.value.args[0] in (2003, 2013)


def test_the_relay_counts_one_round_trip_per_statement(server, relay, driver):
    relayed = relay(server)
    connection = connect(
        driver, relayed.host, relayed.port, user=server.user, password=server.password
    )
    relayed.reset()
    for _ in range(3):
        assert fetch(connection, "SELECT 1") == ((1,),)
    assert (relayed.round_trips, relayed.statements) == (3, ["SELECT 1"] * 3)
    connection.close()


def test_the_relay_does_not_count_the_goodbye(server, relay, driver):
    """COM_QUIT waits for no reply: closing a connection is no round trip."""
    login = {"user": server.user, "password": server.password}
    direct = connect(driver, server.host, server.port, **login)
    relayed = relay(server)
    connection = connect(driver, relayed.host, relayed.port, **login)
    ((relayed_id,),) = fetch(connection, "SELECT CONNECTION_ID()")
    relayed.reset()
    connection.close()  # the driver sends COM_QUIT
    gone = "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %d" % relayed_id
    poll(lambda: not fetch(direct, gone))  # the server had it from the relay, and left
    assert relayed.round_trips == 0
    direct.close()


def test_a_cut_commit_is_lost_on_the_way_back_but_done(server, database_name, relay, driver):
    login = {"user": server.user, "password": server.password, "database": database_name}
    direct = connect(driver, server.host, server.port, autocommit=True, **login)
    fetch(direct, "CREATE TABLE t (id INT PRIMARY KEY)")
    relayed = relay(server, cut_after=lambda statement: statement.upper().startswith("COMMIT"))
    connection = connect(driver, relayed.host, relayed.port, **login)
    fetch(connection, "INSERT INTO t VALUES (1)")
    with pytest.raises(module(driver).OperationalError) as lost:
        connection.commit()
    assert lost.value.args[0] == 2013
    assert fetch(direct, "SELECT id FROM t") == ((1,),)
    direct.close()
