"""PooledTiDBDatabase and ReconnectingTiDBDatabase against the real server, through each driver.

Round trips are counted on the wire, by a relay between the pool and the
server (tests/kit/relay.py): one per command the driver sends.
"""

import pytest
from peewee import InterfaceError, OperationalError, ProgrammingError
from playhouse.db_url import connect

from tests.conftest import poll
from tidb_dialect import (
    AmbiguousCommitError,
    ConfigError,
    PooledTiDBDatabase,
    ReconnectingTiDBDatabase,
    TiDBDatabase,
    connect_url,
)
from tidb_dialect.database import changes_nothing, found_closed
from tidb_dialect.errors import error_code

KILL_WAIT_QUERIES = 1000  # bound on polling for the killed connection to be gone


def connection_id(db):
    return db.execute_sql("SELECT CONNECTION_ID()").fetchone()[0]


def kill(admin, conn_id):
    """Kill a connection on the server and wait until the server has dropped it."""
    admin.execute_sql("KILL CONNECTION %d" % conn_id)
    for _ in range(KILL_WAIT_QUERIES):
        if not admin.execute_sql(
            "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s", (conn_id,)
        ).fetchone():
            return
    pytest.fail("connection %d was still there after %d checks" % (conn_id, KILL_WAIT_QUERIES))


def build(database_class, server_settings, driver, **options):
    params = dict(server_settings.connect_params(), driver=driver)
    params.update(options)
    return database_class(server_settings.database, **params)


@pytest.fixture
def relayed_pool(server, server_settings, driver, relay):
    """(pool, relay): a warm PooledTiDBDatabase whose every round trip the relay counts."""
    pools = []

    def start(**options):
        through = relay(server)
        pools.append(
            build(
                PooledTiDBDatabase,
                server_settings,
                driver,
                host=through.host,
                port=through.port,
                max_connections=1,
                **options,
            )
        )
        pools[-1].connect()  # the handshake and version detection, not counted below
        pools[-1].close()
        return pools[-1], through

    yield start
    for pool in pools:
        pool.close_all()


#: Round trips of a checkout and a return with no transaction open: PyMySQL reports
#: the server's "in transaction" flag, mysqlclient does not, so it sends a ROLLBACK.
RETURN_ROUND_TRIPS = {"pymysql": 0, "mysqlclient": 1}


def test_checkout_and_return_cost_no_round_trip(relayed_pool, driver):
    pool, through = relayed_pool()
    through.reset()
    pool.connect()
    assert through.round_trips == 0
    pool.close()
    assert through.round_trips == RETURN_ROUND_TRIPS[driver]
    assert through.statements == ["ROLLBACK"] * RETURN_ROUND_TRIPS[driver]


def test_a_request_costs_its_statements_only(relayed_pool, driver):
    pool, through = relayed_pool()
    through.reset()
    with pool.connection_context(), pool.atomic():
        pool.execute_sql("SELECT 1")
    assert through.statements[:3] == ["BEGIN", "SELECT 1", "COMMIT"]
    assert through.round_trips == 3 + RETURN_ROUND_TRIPS[driver]


def test_a_connection_idle_past_ping_after_is_pinged(relayed_pool):
    pool, through = relayed_pool(ping_after=0)  # every idle connection is past it
    through.reset()
    pool.connect()
    assert through.round_trips == 1 and through.statements == []  # a COM_PING, no statement


def test_a_connection_returned_mid_transaction_is_rolled_back(relayed_pool, mysql_db):
    pool, through = relayed_pool()
    mysql_db.execute_sql("CREATE TABLE t (n INT)")
    pool.connect()
    first = connection_id(pool)
    pool.execute_sql("BEGIN")  # not through atomic(): peewee does not know of it
    pool.execute_sql("INSERT INTO t VALUES (1)")
    through.reset()
    pool.close()
    assert through.statements == ["ROLLBACK"]
    pool.connect()
    assert connection_id(pool) == first  # the same connection, its transaction gone:
    pool.execute_sql("INSERT INTO t VALUES (2)")  # autocommit again
    assert mysql_db.execute_sql("SELECT n FROM t").fetchall() == ((2,),)
    pool.close()


@pytest.mark.parametrize("connect", [connect, connect_url], ids=["playhouse", "dialect"])
def test_ping_after_from_a_url(connect):
    pool = connect("tidb+pool://root@127.0.0.1:4000/test?ping_after=0")
    assert isinstance(pool, PooledTiDBDatabase) and pool.ping_after == 0
    assert PooledTiDBDatabase("test").ping_after == 30


def test_ping_after_is_checked(server_settings):
    with pytest.raises(ConfigError) as bad:
        build(PooledTiDBDatabase, server_settings, "pymysql", ping_after="soon")
    assert str(bad.value) == "ping_after: must be a whole number from 0 to 86400, got 'soon'"


#: The pool's keywords and their ranges, written out.
POOL_RANGES = {
    "max_connections": "1 to 10000",
    "stale_timeout": "1 to 86400",
    "timeout": "1 to 86400",
    "ping_after": "0 to 86400",
}
#: Deferred init() is documented peewee usage: it checks as the constructor does.
MAKERS = {
    "constructor": lambda **kw: PooledTiDBDatabase("test", **kw),
    "init": lambda **kw: PooledTiDBDatabase(None).init("test", **kw),
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS)
@pytest.mark.parametrize("name", POOL_RANGES)
@pytest.mark.parametrize("value", ["abc", 2.5, -1, 0, True, "8 "])
def test_the_pools_keywords_are_checked_in_the_constructor_and_init(make, name, value):
    if value == 0 and name == "ping_after":
        value = 86401  # 0 is ping_after's "every checkout"
    with pytest.raises(ConfigError) as bad:
        make(**{name: value})
    assert bad.value.keyword == name
    assert str(bad.value) == "%s: must be a whole number from %s, got %r" % (
        name,
        POOL_RANGES[name],
        value,
    )


def test_init_sets_the_pools_keywords():
    pool = PooledTiDBDatabase(None)
    pool.init("test", max_connections="8", stale_timeout=300, timeout="5", ping_after=0)
    assert (pool._max_connections, pool._stale_timeout, pool._wait_timeout) == (8, 300, 5)
    assert (pool.database, pool.ping_after) == ("test", 0)


class PingOnly:
    """A real connection behind the face some drivers show: ping() without an argument,
    no socket (peewee's own pool tests use such a connection)."""

    def __init__(self, conn, driver):
        self.conn = conn
        self.reconnect = (False,) if driver == "pymysql" else ()  # PyMySQL's default: True

    def ping(self):
        self.conn.ping(*self.reconnect)


def test_a_connection_whose_ping_takes_no_argument_is_checked(server_settings, driver):
    pool = build(PooledTiDBDatabase, server_settings, driver, ping_after=0)
    pool.connect()
    conn = PingOnly(pool.connection(), driver)
    assert pool.unusable(conn) is False  # a TypeError from ping(False) is not "closed"
    conn.conn.close()
    assert pool.unusable(conn) is True
    pool.close_all()


def test_pool_hands_back_the_same_connection(server_settings, driver, mysql_db):
    pool = build(PooledTiDBDatabase, server_settings, driver, max_connections=2)
    pool.connect()
    first = connection_id(pool)
    pool.close()  # back to the pool, not closed
    assert first in [
        row[0] for row in mysql_db.execute_sql("SELECT ID FROM information_schema.PROCESSLIST")
    ]
    pool.connect()
    assert connection_id(pool) == first
    assert pool.version is not None and pool.server_version == pool.version.mysql
    pool.close_all()


def test_pool_replaces_a_connection_the_server_dropped(relayed_pool, mysql_db):
    pool, through = relayed_pool()
    pool.connect()
    first, idle = connection_id(pool), pool.connection()
    pool.close()
    kill(mysql_db, first)  # while it sits idle in the pool, well within ping_after
    # The server's goodbye crosses the relay on its own time, as it would cross a network.
    poll(lambda: found_closed(idle))
    through.reset()
    pool.connect()
    assert connection_id(pool) != first
    # A new connection (its driver's SET NAMES, then the query), and no ping before it.
    assert through.statements[-1] == "SELECT CONNECTION_ID()"
    assert through.round_trips == len(through.statements)
    pool.close()


def begin(pool):
    with pool.atomic():
        pytest.fail("the transaction began")


FIRST_STATEMENTS = {"BEGIN": begin, "SELECT 1": lambda pool: pool.execute_sql("SELECT 1")}


@pytest.mark.parametrize("first", FIRST_STATEMENTS)
def test_a_connection_dropped_after_checkout_fails_and_the_next_checkout_gets_a_new_one(
    relayed_pool, mysql_db, first
):
    """The race of a KILL, restart or idle timeout a moment after the checkout's look: the
    statement fails, as on playhouse's pool, and is not sent again (even a BEGIN: the
    checkout's session, a variable or a lock, went with its connection)."""
    pool, _ = relayed_pool()
    pool.connect()
    conn, first_id = pool.connection(), connection_id(pool)
    kill(mysql_db, first_id)
    poll(lambda: found_closed(conn))
    with pytest.raises(OperationalError) as lost:
        FIRST_STATEMENTS[first](pool)
    assert lost.value.args[0] == 2013
    assert pool.connection() is conn  # not sent again on a new one
    pool.close()  # the pool drops it
    pool.connect()
    assert connection_id(pool) != first_id
    pool.close()


def test_plain_database_fails_after_losing_its_connection(server_settings, driver, mysql_db):
    db = build(TiDBDatabase, server_settings, driver)
    kill(mysql_db, connection_id(db))
    with pytest.raises(OperationalError):
        connection_id(db)
    db.close()


def test_reconnects_outside_a_transaction(server_settings, driver, mysql_db):
    db = build(ReconnectingTiDBDatabase, server_settings, driver)
    first = connection_id(db)
    kill(mysql_db, first)
    assert connection_id(db) != first  # reconnected and ran the statement again
    db.close()


def test_never_reconnects_inside_a_transaction(server_settings, driver, mysql_db):
    db = build(ReconnectingTiDBDatabase, server_settings, driver)
    seen = []
    # The statement fails (and so may the ROLLBACK after it, on a dead socket).
    with pytest.raises((OperationalError, InterfaceError)), db.atomic():
        kill(mysql_db, connection_id(db))
        seen.append(connection_id(db))  # its transaction is gone: must fail, not reconnect
    assert seen == []
    db.close()


@pytest.fixture
def relayed_reconnecting(server, server_settings, driver, relay, mysql_db):
    """relayed_reconnecting(cut_after): (a ReconnectingTiDBDatabase through a relay, the relay),
    with `acct` holding one account of 100."""
    mysql_db.execute_sql("CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL)")
    mysql_db.execute_sql("INSERT INTO acct VALUES (1, 100)")
    made = []

    def start(cut_after=None):
        through = relay(server, cut_after=cut_after)
        options = dict(host=through.host, port=through.port)
        made.append(build(ReconnectingTiDBDatabase, server_settings, driver, **options))
        made[-1].connect()
        return made[-1], through

    yield start
    for db in made:
        db.close()


def balance(db):
    return db.execute_sql("SELECT bal FROM acct WHERE id = 1").fetchone()[0]


WITHDRAW = "UPDATE acct SET bal = bal - 30 WHERE id = 1"


def test_a_write_whose_reply_is_lost_is_never_run_twice(relayed_reconnecting, mysql_db):
    """The relay passes the UPDATE to the server and drops its reply: it ran, once."""
    db, through = relayed_reconnecting(cut_after=lambda statement: statement == WITHDRAW)
    with pytest.raises(AmbiguousCommitError) as unknown:
        db.execute_sql(WITHDRAW)
    assert error_code(unknown.value.cause) == 2013
    assert str(unknown.value).startswith("the outcome of UPDATE is unknown: (2013, ")
    assert through.statements.count(WITHDRAW) == 1
    assert balance(mysql_db) == 70  # not 40
    assert balance(db) == 70  # the next statement gets a new connection


def once(statement):
    """A cut_after that cuts the first `statement` only."""
    seen = []

    def cut(sent):
        seen.append(sent)
        return seen.count(statement) == 1 and sent == statement

    return cut


def test_a_read_whose_reply_is_lost_is_run_again(relayed_reconnecting):
    read = "SELECT bal FROM acct WHERE id = 1"
    db, through = relayed_reconnecting(cut_after=once(read))
    assert balance(db) == 100
    assert through.statements.count(read) == 2


def test_a_begin_whose_reply_is_lost_is_sent_again(relayed_reconnecting, mysql_db):
    db, through = relayed_reconnecting(cut_after=once("BEGIN"))
    with db.atomic():
        db.execute_sql(WITHDRAW)
    assert through.statements.count("BEGIN") == 2
    assert balance(mysql_db) == 70


def test_a_begin_after_an_isolation_level_is_never_sent_alone(relayed_reconnecting, mysql_db):
    """The level holds for one transaction on its connection: BEGIN alone on a new connection
    would run the transaction at the default level, so its lost reply is raised."""
    db, through = relayed_reconnecting(cut_after=once("BEGIN"))
    with pytest.raises(OperationalError) as lost, db.atomic(isolation_level="READ COMMITTED"):
        db.execute_sql(WITHDRAW)
    assert error_code(lost.value) in (2013, 2006)
    assert through.statements.count("BEGIN") == 1
    assert balance(mysql_db) == 100
    with db.atomic(isolation_level="READ COMMITTED"):  # the next one gets a new connection
        db.execute_sql(WITHDRAW)
    assert through.statements.count("BEGIN") == 2
    assert balance(mysql_db) == 70


def test_a_read_followed_by_a_write_in_one_query_is_never_run(relayed_reconnecting, mysql_db):
    """mysqlclient allows several statements per query by default: resent after a lost reply,
    `SELECT 1; UPDATE` ran the UPDATE twice. Either driver now refuses the query (1064)."""
    both = "SELECT 1; " + WITHDRAW
    db, through = relayed_reconnecting(cut_after=once(both))
    with pytest.raises(ProgrammingError) as refused:
        db.execute_sql(both)
    assert error_code(refused.value) == 1064
    assert through.statements.count(both) == 2  # a read, so resent once: refused both times
    assert balance(mysql_db) == 100


def test_a_locking_read_whose_reply_is_lost_is_not_run_again(relayed_reconnecting):
    locking = "SELECT bal FROM acct WHERE id = 1 FOR UPDATE"
    db, through = relayed_reconnecting(cut_after=once(locking))
    with pytest.raises(AmbiguousCommitError):
        db.execute_sql(locking)
    assert through.statements.count(locking) == 1


def test_a_write_on_a_connection_found_closed_goes_on_a_new_one(relayed_reconnecting, mysql_db):
    """The server closed it before the UPDATE was sent: the UPDATE runs, once, on a new one."""
    db, through = relayed_reconnecting()
    first = connection_id(db)
    kill(mysql_db, first)
    poll(lambda: found_closed(db.connection()))
    db.execute_sql(WITHDRAW)
    assert through.statements.count(WITHDRAW) == 1
    assert balance(mysql_db) == 70
    assert connection_id(db) != first


@pytest.mark.parametrize(
    "sql, rerun",
    [
        ("SELECT bal FROM acct", True),
        ("  (SELECT 1) UNION (SELECT 2)", True),
        ("select VERSION() /*T! , TIDB_VERSION() */", True),
        ("SHOW TABLES", True),
        ("DESCRIBE acct", True),
        ("EXPLAIN SELECT 1", True),
        ("BEGIN", True),
        ("START TRANSACTION READ ONLY AS OF TIMESTAMP NOW() - INTERVAL 5 SECOND", True),
        ("UPDATE acct SET bal = 0", False),
        ("INSERT INTO acct VALUES (2, 0)", False),
        ("SELECT bal FROM acct FOR UPDATE", False),
        ("SELECT bal FROM acct FOR SHARE", False),
        ("SELECT bal FROM acct LOCK IN SHARE MODE", False),
        ("SELECT bal INTO @b FROM acct", False),
        ("SELECT bal FROM acct INTO OUTFILE '/tmp/x'", False),
        ("SELECT GET_LOCK('x', 1)", False),
        ("SELECT NEXTVAL(seq)", False),
        ("SELECT NEXT VALUE FOR seq", False),
        ("EXPLAIN ANALYZE DELETE FROM acct", False),
        ("WITH t AS (SELECT 1) SELECT * FROM t", False),
        ("CALL withdraw(1)", False),
        ("SET @x = 1", False),
        ("COMMIT", False),
    ],
)
def test_which_statements_are_sent_again(sql, rerun):
    assert changes_nothing(sql) is rerun


def test_a_tls_connection_is_reused(tls_server, driver):
    """Nothing waits on an idle TLS connection's socket (no stray TLS record): it is reused."""
    params = dict(
        host=tls_server.host,
        port=tls_server.port,
        user=tls_server.user,
        password=tls_server.password,
        ssl_ca=tls_server.ca_path,
        driver=driver,
    )
    pool = PooledTiDBDatabase("mysql", **params)
    seen = []
    try:
        for _ in range(3):
            with pool.connection_context():
                seen.append(connection_id(pool))
                assert pool.execute_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").fetchone()[1]
    finally:
        pool.close_all()
    assert len(set(seen)) == 1


# --- TiDB Cloud's gateway cuts connections open past 30 minutes: recycled at 300 s by default ---

CLOUD_HOST = "gateway01.us-west-2.prod.aws.tidbcloud.com"


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: PooledTiDBDatabase("test", host=CLOUD_HOST, **kw),
        lambda **kw: connect_url(
            "tidb+pool://u.root@%s:4000/test?%s"
            % (CLOUD_HOST, "&".join("%s=%s" % i for i in kw.items()))
        ),
        lambda **kw: connect(
            "tidb+pool://u.root@%s:4000/test?%s"
            % (CLOUD_HOST, "&".join("%s=%s" % i for i in kw.items()))
        ),
    ],
    ids=["PooledTiDBDatabase", "connect_url", "playhouse connect"],
)
@pytest.mark.parametrize("given, recycled_at", [(None, 300), (60, 60), (1200, 1200)])
def test_a_pool_to_tidb_cloud_recycles_connections_before_the_gateway_cuts_them(
    make, given, recycled_at
):
    db = make() if given is None else make(stale_timeout=given)
    assert db._stale_timeout == recycled_at


def test_a_pool_elsewhere_keeps_connections_as_playhouse_does():
    assert PooledTiDBDatabase("test", host="127.0.0.1")._stale_timeout is None
