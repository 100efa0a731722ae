"""asyncio: AsyncTiDBDatabase and arun_transaction (tidb_dialect/aio.py) on peewee 4.

Against the private MariaDB (trades, a deadlock, cancelled tasks), the TLS-only
MariaDB, the relay that drops a COMMIT's reply, and the fake server (TiDB
releases on both sides of a gate, a server that never greets or offers no TLS).
On peewee 3.17 these are deselected (marker `pwasyncio`) and the first tests
check that asyncio is refused there, saying that it needs peewee 4.
"""

import asyncio
import logging
import random
import subprocess
import sys
import time
import warnings

import pytest
from peewee import DatabaseError, NotSupportedError, OperationalError

import peewee_example
import tidb_dialect
from tests.conftest import HOST_MISMATCH, PEEWEE_4, ROOT, UNTRUSTED, poll, run_on
from tests.conftest import make_async_db as make
from tidb_dialect import (
    AmbiguousCommitError,
    ConfigError,
    ExceededMaxAttempts,
    TiDBDatabase,
    connect_url,
)
from tidb_dialect.errors import error_code

asyncio_only = pytest.mark.pwasyncio

#: A blocker of the named top-level modules, for a child Python that must do without them.
BLOCK = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in %r:\n"
    "            raise ModuleNotFoundError('No module named %%r' %% name, name=name)\n"
    "sys.meta_path.insert(0, Block())\n"
)


def child(code, blocked=()):
    """What a child Python prints running `code` with `blocked` modules unimportable."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCK % (tuple(blocked),) + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


MAKE = (
    "import tidb_dialect\n"
    "try:\n"
    "    tidb_dialect.AsyncTiDBDatabase('test')\n"
    "except tidb_dialect.ConfigError as exc:\n"
    "    print(exc.keyword, exc.problem)\n"
    "else:\n"
    "    print('made')\n"
)


def test_asyncio_needs_peewee_4_and_says_so_on_3_17():
    if PEEWEE_4:
        assert isinstance(tidb_dialect.AsyncTiDBDatabase("test"), TiDBDatabase)
        return
    with pytest.raises(ConfigError) as refused:
        tidb_dialect.AsyncTiDBDatabase("test")
    assert refused.value.keyword == "peewee"
    assert refused.value.problem == (
        "AsyncTiDBDatabase and arun_transaction need peewee 4.x (playhouse.pwasyncio), "
        "but this is peewee %s" % __import__("peewee").__version__
    )
    with pytest.raises(ConfigError, match=r"^peewee: "):
        connect_url("tidb+async://root@127.0.0.1:4000/test")


def test_the_dialect_imports_without_aiomysql_and_greenlet_which_asyncio_names():
    without_aiomysql = child(MAKE, blocked=["aiomysql"])
    without_greenlet = child(MAKE, blocked=["greenlet", "aiomysql"])
    if PEEWEE_4:
        assert without_aiomysql == "driver aiomysql is not installed (no module named aiomysql)\n"
        assert without_greenlet == (
            "driver AsyncTiDBDatabase needs aiomysql and greenlet: greenlet is not installed\n"
        )
    else:
        assert without_aiomysql.startswith("peewee AsyncTiDBDatabase and arun_transaction need")
    # `import tidb_dialect` alone imports none of the asyncio modules
    loaded = "import tidb_dialect, sys\nprint(sorted(set(sys.modules) & {%r, %r, %r}))\n" % (
        "aiomysql",
        "greenlet",
        "playhouse.pwasyncio",
    )
    assert child(loaded) == "[]\n"


# --- keywords: the same rules as TiDBDatabase -----------------------------------------------


@asyncio_only
def test_keywords_are_checked_by_the_same_rules_when_the_database_is_made():
    Async = tidb_dialect.AsyncTiDBDatabase
    assert Async("test", host="localhost").connect_params["host"] == "127.0.0.1"
    assert Async("test").connect_params["connect_timeout"] == 10
    cloud = Async("test", host="gateway01.us-west-2.prod.aws.tidbcloud.com")
    assert cloud.connect_params["ssl"].check_hostname
    for keywords, message in [
        ({"colour": "red"}, "^colour: unknown connection keyword"),
        ({"port": 0}, "^port: must be a whole number from 1 to 65535"),
        ({"ssl_verify_cert": False}, "^ssl_verify_cert: refused"),
        ({"ssl_disabled": True}, "^ssl_disabled: refused"),
        ({"read_timeout": 5}, "^read_timeout: aiomysql has no such setting"),
        ({"driver": "pymysql"}, r"^driver: unknown driver 'pymysql' \(use aiomysql\)"),
        ({"pool_size": 0}, "^pool_size: must be a whole number from 1 to 10000"),
        ({"pool_size": 2, "pool_min_size": 3}, "^pool_min_size: must not be more than pool_size"),
        ({"acquire_timeout": "soon"}, "^acquire_timeout: must be a whole number"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Async("test", **keywords)


@asyncio_only
def test_a_password_is_sent_as_utf8(make_user, mysql_db, database_name):
    password = "pässwörd-€-😀"
    db = tidb_dialect.AsyncTiDBDatabase(
        database_name,
        host=mysql_db.connect_params["host"],
        port=mysql_db.connect_params["port"],
        user=make_user(password),
        password=password,
    )

    async def who():
        cursor = await db.aexecute_sql("SELECT CURRENT_USER()")
        await db.aclose()
        await db.close_pool()
        return cursor.fetchone()[0]

    assert asyncio.run(who()) == database_name + "@%"


@asyncio_only
def test_a_tidb_async_url_makes_one_with_its_pool_keywords():
    db = connect_url("tidb+async://root@localhost:4000/test?pool_size=4&acquire_timeout=3")
    assert type(db) is tidb_dialect.AsyncTiDBDatabase
    assert (db._pool_size, db._acquire_timeout) == (4, 3)
    assert db.connect_params["host"] == "127.0.0.1"
    with pytest.raises(ConfigError, match=r"^max_connections: only for pool URLs"):
        connect_url("tidb+async://root@127.0.0.1:4000/test?max_connections=4")
    with pytest.raises(ConfigError, match=r"^pool_size: unknown URL parameter"):
        connect_url("tidb://root@127.0.0.1:4000/test?pool_size=4")


# --- on the wire: greeting, TLS promise, version gates ---------------------------------------


@asyncio_only
def test_a_server_that_never_greets_is_given_up_within_connect_timeout(fake_server):
    silent = fake_server(silent=True)
    db = make(silent, connect_timeout=1, acquire_timeout=30)
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        asyncio.run(db.aexecute_sql("SELECT 1"))
    assert time.monotonic() - started < 5
    assert error_code(raised.value) == 2013


@asyncio_only
def test_tls_asked_for_never_sends_the_password_to_a_server_without_tls(fake_server, tmp_path):
    import trustme

    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    fake = fake_server()
    db = tidb_dialect.AsyncTiDBDatabase(
        "test", host=fake.host, port=fake.port, user="root", password="secret", ssl_ca=str(ca)
    )
    with pytest.raises(OperationalError) as refused:
        asyncio.run(db.aexecute_sql("SELECT 1"))
    assert error_code(refused.value) == 2026
    assert "offers none; the password was not sent" in str(refused.value)
    assert fake.passwords == []
    assert fake.logins == []  # no handshake response at all


@asyncio_only
def test_tls_with_the_right_ca_is_encrypted(tls_server):
    db = make(tls_server, ssl_ca=tls_server.ca_path)

    async def cipher():
        cursor = await db.aexecute_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return cursor.fetchone()[1]

    assert run_on(db, cipher)


@asyncio_only
def test_tls_with_another_ca_or_another_host_name_fails(tls_server, untrusted_ca_path):
    with pytest.raises(OperationalError, match=UNTRUSTED):
        asyncio.run(make(tls_server, ssl_ca=untrusted_ca_path).aexecute_sql("SELECT 1"))
    other = make(tls_server, ssl_ca=tls_server.ca_path, host=tls_server.other_host)
    with pytest.raises(OperationalError) as refused:
        asyncio.run(other.aexecute_sql("SELECT 1"))
    assert HOST_MISMATCH["pymysql"] in str(refused.value)


def detections(fake):
    return [s for s in fake.statements if "TIDB_VERSION()" in s]


@asyncio_only
@pytest.mark.parametrize(
    "version, nests",
    [("8.0.11-TiDB-v6.1.7", False), ("8.0.11-TiDB-v6.2.0", True)],
)
def test_nested_atomic_needs_savepoints_as_on_the_synchronous_database(fake_server, version, nests):
    fake = fake_server(version=version, tidb_version="Release Version: v%s" % version[-5:])
    db = make(fake, "test")

    async def nested():
        async with db.atomic(), db.atomic():
            pass

    if nests:
        run_on(db, nested)
        assert [s for s in fake.statements if s.startswith("SAVEPOINT")]
    else:
        with pytest.raises(NotImplementedError, match=r"TiDB v6\.1\.7 has no SAVEPOINT"):
            run_on(db, nested)
    assert len(detections(fake)) == 1


@asyncio_only
def test_a_savepoint_refused_with_1105_on_tidb_names_the_setting(fake_server):
    import re

    refusal = (1105, "savepoint is not supported in pessimistic transactions when in-place ...")
    fake = fake_server(answers={re.compile("^SAVEPOINT"): refusal})  # TiDB v8.5.3
    db = make(fake, "test")

    async def nested():
        async with db.atomic(), db.savepoint():
            pass

    with pytest.raises(NotSupportedError, match=r"^TiDB refused SAVEPOINT \(error 1105\)"):
        run_on(db, nested)
    assert fake.statements[-1] == "ROLLBACK"


@asyncio_only
def test_the_version_is_asked_once_per_database(fake_server):
    fake = fake_server()
    first, second = make(fake, "test"), make(fake, "test")

    async def both():
        for db in (first, second):
            assert str(await db.adetect_server_version()) == "TiDB v8.5.3"
            await db.aclose()
            await db.close_pool()

    asyncio.run(both())
    assert detections(fake) == ["SELECT VERSION() /*T! , TIDB_VERSION() */"] * 2


@asyncio_only
@pytest.mark.parametrize(
    "release, column",
    [
        ("6.3.0", "`id` BIGINT AUTO_RANDOM(6, 54) NOT NULL PRIMARY KEY"),
        ("6.2.0", "`id` BIGINT AUTO_RANDOM(6) NOT NULL PRIMARY KEY"),
    ],
)
def test_auto_random_ddl_follows_the_tidb_release(fake_server, release, column):
    from peewee import CharField, Model

    from tidb_dialect import BigAutoRandomField

    fake = fake_server(
        version="8.0.11-TiDB-v" + release, tidb_version="Release Version: v" + release
    )
    db = make(fake, "test")

    class Order(Model):
        id = BigAutoRandomField(shard_bits=6, range=54)
        item = CharField()

        class Meta:
            database = db

    with warnings.catch_warnings(record=True):  # before 6.3: the range is dropped, with a warning
        run_on(db, lambda: db.acreate_tables([Order]))
    (create,) = [s for s in fake.statements if s.startswith("CREATE TABLE")]
    assert column in create


@asyncio_only
def test_stale_reads_are_refused_where_the_server_is_not_tidb(server, mysql_db):
    from datetime import timedelta

    from tidb_dialect import stale_read

    db = make(server)

    async def stale():
        await db.adetect_server_version()
        with pytest.raises(NotSupportedError, match=r"stale reads .* need TiDB, but this is"):
            stale_read(db, timedelta(seconds=5))

    run_on(db, stale)


# --- trades on the real server -----------------------------------------------------------------


@pytest.fixture
def async_players(server, database_name, mysql_db):
    """The walkthrough's Player model bound to an AsyncTiDBDatabase (pool of 8) on its own table."""
    db = make(server, database_name, pool_size=8)
    peewee_example.db.initialize(mysql_db)
    mysql_db.create_tables([peewee_example.Player])
    peewee_example.db.initialize(db)
    yield db
    peewee_example.db.initialize(None)


def player_rows(mysql_db):
    return mysql_db.execute_sql("SELECT id, coins, goods FROM player ORDER BY id").fetchall()


async def atrade(db, sell_id, buy_id, amount, price):
    """The lesson's trade on asyncio, run by db.run() as examples/fastapi_app.py does: True
    when it happened, False when refused."""
    return await db.run(peewee_example.trade, sell_id, buy_id, amount, price) == "trade success"


@asyncio_only
@pytest.mark.mariadb
def test_hundreds_of_concurrent_trades_on_hot_rows_keep_every_balance(
    async_players, mysql_db, seed
):
    start = {"a": (100, 10), "b": (100, 10), "c": (100, 10), "d": (100, 10)}
    mysql_db.execute_sql(
        "INSERT INTO player (id, coins, goods) VALUES "
        + ", ".join("('%s', %d, %d)" % (k, c, g) for k, (c, g) in start.items())
    )
    draw = random.Random(seed)
    trades = [
        (*draw.sample(sorted(start), 2), draw.randint(1, 4), draw.randint(1, 40))
        for _ in range(400)
    ]

    async def all_trades():
        return await asyncio.gather(*(atrade(async_players, *trade) for trade in trades))

    done = run_on(async_players, all_trades)
    assert len(done) == len(trades)  # every task accounted for, none raised
    expected = {k: list(v) for k, v in start.items()}
    for (sell, buy, amount, price), happened in zip(trades, done, strict=True):
        if happened:
            expected[sell][0] += price
            expected[sell][1] -= amount
            expected[buy][0] -= price
            expected[buy][1] += amount
    rows = player_rows(mysql_db)
    assert rows == tuple((k, c, g) for k, (c, g) in sorted(expected.items()))
    assert sum(c for _, c, _ in rows) == 400 and sum(g for _, _, g in rows) == 40
    assert min(min(c, g) for _, c, g in rows) >= 0
    assert 0 < sum(done) < len(trades)  # some refused, so the hot rows ran dry at times


@asyncio_only
@pytest.mark.mariadb
def test_a_deadlock_between_two_tasks_is_retried_until_both_commit(
    server, database_name, mysql_db, caplog
):
    mysql_db.execute_sql("CREATE TABLE account (id INT PRIMARY KEY, balance INT)")
    mysql_db.execute_sql("INSERT INTO account VALUES (1, 100), (2, 100)")
    db = make(server, database_name, pool_size=2)
    calls = {"first": 0, "second": 0}
    holding = {"first": asyncio.Event(), "second": asyncio.Event()}
    update = "UPDATE account SET balance = balance + %s WHERE id = %s"

    def transfer(name, other, first, second, amount):
        async def callback(db):
            calls[name] += 1
            await db.aexecute_sql(update, (-amount, first))
            if calls[name] == 1:  # each holds one row and now asks for the other's
                holding[name].set()
                await holding[other].wait()
            await db.aexecute_sql(update, (amount, second))

        return tidb_dialect.arun_transaction(db, callback, backoff=lambda attempt: 0)

    async def both():
        return await asyncio.gather(
            transfer("first", "second", 1, 2, 10), transfer("second", "first", 2, 1, 1)
        )

    caplog.set_level(logging.INFO, logger="tidb_dialect.transactions")
    run_on(db, both)
    assert sorted(calls.values()) == [1, 2]  # the deadlock victim ran twice
    retried = [record.args[2] for record in caplog.records if "retrying" in record.msg]
    assert [error_code(exc) for exc in retried] == [1213]
    balances = mysql_db.execute_sql("SELECT balance FROM account ORDER BY id").fetchall()
    assert balances == ((100 - 10 + 1,), (100 + 10 - 1,))


def counting(statement):
    """An arun_transaction() callback that sends `statement`, and the list of its calls."""
    calls = []

    async def callback(db):
        calls.append(1)
        await db.aexecute_sql(statement)

    return callback, calls


@asyncio_only
@pytest.mark.mariadb
def test_a_commit_whose_reply_is_lost_is_ambiguous_and_not_run_again(
    server, database_name, mysql_db, relay
):
    mysql_db.execute_sql("CREATE TABLE note (id INT PRIMARY KEY)")
    relayed = relay(server, cut_after=lambda statement: statement == "COMMIT")
    db = make(relayed, database_name)
    callback, calls = counting("INSERT INTO note VALUES (1)")
    with pytest.raises(AmbiguousCommitError) as raised:
        run_on(db, lambda: tidb_dialect.arun_transaction(db, callback))
    assert error_code(raised.value.cause) == 2013
    assert calls == [1]
    assert mysql_db.execute_sql("SELECT id FROM note").fetchall() == ((1,),)  # it did commit
    assert relayed.statements.count("COMMIT") == 1


@asyncio_only
def test_a_nested_call_is_refused(server):
    db = make(server)

    async def outer(db):
        await tidb_dialect.arun_transaction(db, inner)

    async def inner(db):
        raise AssertionError("never runs")

    with pytest.raises(DatabaseError, match="retries its own transaction; call it outside"):
        run_on(db, lambda: tidb_dialect.arun_transaction(db, outer))


@asyncio_only
@pytest.mark.mariadb
def test_other_errors_are_not_retried(server, database_name, mysql_db):
    db = make(server, database_name)
    callback, calls = counting(
        "SIGNAL SQLSTATE '45000' SET MYSQL_ERRNO = 1644, MESSAGE_TEXT = 'no'"
    )
    with pytest.raises(OperationalError) as raised:
        run_on(db, lambda: tidb_dialect.arun_transaction(db, callback))
    assert error_code(raised.value) == 1644 and calls == [1]


def connection_ids(mysql_db):
    return {row[0] for row in mysql_db.execute_sql("SELECT id FROM information_schema.processlist")}


@asyncio_only
@pytest.mark.mariadb
@pytest.mark.parametrize("where", ["between statements", "in a statement"])
def test_a_task_cancelled_in_its_transaction_rolls_back_and_returns_its_connection(
    server, database_name, mysql_db, where
):
    mysql_db.execute_sql("CREATE TABLE account (id INT PRIMARY KEY, balance INT)")
    mysql_db.execute_sql("INSERT INTO account VALUES (1, 100), (2, 100)")
    db = make(server, database_name, pool_size=1)
    holder = TiDBDatabase(database_name, **mysql_db.connect_params)  # locks row 1 meanwhile
    reached, used = asyncio.Event(), []

    async def connection_id(db):
        return (await db.aexecute_sql("SELECT CONNECTION_ID()")).fetchone()[0]

    async def callback(db):
        await db.aexecute_sql("UPDATE account SET balance = 0 WHERE id = 2")
        used.append(await connection_id(db))
        reached.set()
        if where == "in a statement":  # waits for holder's row lock
            await db.aexecute_sql("UPDATE account SET balance = 0 WHERE id = 1")
        else:
            await asyncio.Event().wait()

    async def scenario():
        holder.begin()
        holder.execute_sql("UPDATE account SET balance = 50 WHERE id = 1")
        task = asyncio.create_task(tidb_dialect.arun_transaction(db, callback))
        await reached.wait()
        if where == "in a statement":
            waiting = "SELECT COUNT(*) FROM information_schema.processlist WHERE id = %s"
            await asyncio.to_thread(
                poll,
                lambda: mysql_db.execute_sql(waiting + " AND state = 'Updating'", used).fetchone()[
                    0
                ],
            )
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        holder.rollback()
        # pool_size=1: this task gets a connection only if the cancelled one's came back
        return await asyncio.create_task(connection_id(db))

    after = run_on(db, scenario)
    holder.close()
    if where == "in a statement":  # its connection was closed, so the pool made a new one
        poll(lambda: used[0] not in connection_ids(mysql_db))
        assert after != used[0]
    else:  # rolled back, and the same connection served the next task
        assert after == used[0]
    balances = mysql_db.execute_sql("SELECT balance FROM account ORDER BY id").fetchall()
    assert balances == ((100,), (100,))  # the cancelled UPDATE of row 2 was rolled back


@asyncio_only
@pytest.mark.mariadb
def test_the_backoff_is_awaited_so_other_tasks_go_on_and_can_cancel_it(server, database_name):
    db = make(server, database_name)
    backing_off = asyncio.Event()
    callback, calls = counting(
        "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 9007, MESSAGE_TEXT = 'write conflict'"
    )

    def backoff(attempt):
        backing_off.set()
        return 3600  # blocking, this would hang the loop (and the test) for an hour

    async def scenario():
        task = asyncio.create_task(tidb_dialect.arun_transaction(db, callback, backoff=backoff))
        await backing_off.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_on(db, scenario)
    assert calls == [1]


@asyncio_only
@pytest.mark.parametrize(
    "mode, begin", [("optimistic", "BEGIN OPTIMISTIC"), ("pessimistic", "BEGIN PESSIMISTIC")]
)
def test_a_tidb_transaction_mode_begins_each_attempt(fake_server, mode, begin):
    fake = fake_server()  # TiDB v8.5.3
    db = make(fake, "test")
    callback, calls = counting("SELECT 1")
    run_on(db, lambda: tidb_dialect.arun_transaction(db, callback, mode=mode))
    assert calls == [1]
    assert fake.statements[-3:] == [begin, "SELECT 1", "COMMIT"]


@asyncio_only
def test_a_mode_is_refused_where_the_server_is_not_tidb_before_anything_is_sent(server):
    db = make(server)
    callback, calls = counting("SELECT 1")
    with pytest.raises(NotSupportedError, match=r"^mode='optimistic': transaction modes .* TiDB's"):
        run_on(db, lambda: tidb_dialect.arun_transaction(db, callback, mode="optimistic"))
    with pytest.raises(ConfigError, match=r"^mode: must be 'optimistic' or 'pessimistic'"):
        run_on(db, lambda: tidb_dialect.arun_transaction(db, callback, mode="eager"))
    assert calls == []


@asyncio_only
def test_like_makes_one_on_the_server_and_keywords_of_a_tidb_database(tls_server):
    sync = TiDBDatabase(
        "app", host="localhost", port=4000, user="u", password="pä€", ssl_ca=tls_server.ca_path
    )
    db = tidb_dialect.AsyncTiDBDatabase.like(sync, pool_size=3)
    assert db.connect_params["password"] == "pä€".encode().decode("latin-1")  # UTF-8 on the wire
    assert (db.database, db._pool_size) == ("app", 3)
    assert {k: db.connect_params[k] for k in ("host", "port", "user")} == {
        "host": "127.0.0.1",
        "port": 4000,
        "user": "u",
    }
    assert db.connect_params["ssl"].check_hostname
    assert db.close() is False  # outside any task: nothing to close


@asyncio_only
@pytest.mark.mariadb
def test_every_attempt_failing_retryably_raises_exceeded_max_attempts(server, database_name):
    db = make(server, database_name)
    callback, calls = counting(
        "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'deadlock'"
    )
    with pytest.raises(ExceededMaxAttempts) as raised:
        run_on(db, lambda: tidb_dialect.arun_transaction(db, callback, 3, backoff=lambda n: 0))
    assert (raised.value.attempts, error_code(raised.value.last_error)) == (3, 1213)
    assert calls == [1, 1, 1]
    with pytest.raises(ConfigError, match=r"^max_attempts: must be a whole number from 1 to"):
        run_on(db, lambda: tidb_dialect.arun_transaction(db, callback, max_attempts=0))
    assert calls == [1, 1, 1]
