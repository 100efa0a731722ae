"""asyncio in real life (tidb_dialect/aio.py): a task outlives what kills its connection
(a timeout, a cancellation, KILL CONNECTION), a cancelled COMMIT is reported as unknown,
statements of other tasks stay out of a transaction, connections have a lifetime.

Against the private MariaDB; another session (mysql_db) holds locks, kills connections
and reads what was committed.
"""

import asyncio

import pytest
from peewee import InterfaceError, OperationalError

import tidb_dialect
from tests.conftest import make_async_db, poll, run_on
from tidb_dialect import AmbiguousCommitError, TiDBDatabase
from tidb_dialect.errors import error_code

pytestmark = [pytest.mark.pwasyncio, pytest.mark.mariadb]


async def connection_id(db):
    return (await db.aexecute_sql("SELECT CONNECTION_ID()")).fetchone()[0]


def processlist(mysql_db, connection, state=None):
    """True when `connection` is on the server (in `state`, if given)."""
    sql = "SELECT COUNT(*) FROM information_schema.processlist WHERE id = %s"
    params = [connection]
    if state is not None:
        sql += " AND state = %s"
        params.append(state)
    return mysql_db.execute_sql(sql, params).fetchone()[0] == 1


async def in_thread(read):
    """poll(read) without stopping the event loop."""
    return await asyncio.to_thread(poll, read)


@pytest.fixture
def accounts(mysql_db):
    mysql_db.execute_sql("CREATE TABLE account (id INT PRIMARY KEY, balance INT)")
    mysql_db.execute_sql("INSERT INTO account VALUES (1, 100), (2, 100)")
    return lambda: mysql_db.execute_sql("SELECT balance FROM account ORDER BY id").fetchall()


def transfer(amount):
    """An arun_transaction() callback moving `amount` from account 1 to 2."""

    async def callback(db):
        await db.aexecute_sql("UPDATE account SET balance = balance - %s WHERE id = 1", (amount,))
        await db.aexecute_sql("UPDATE account SET balance = balance + %s WHERE id = 2", (amount,))
        return await connection_id(db)

    return callback


def test_a_task_whose_transaction_timed_out_trades_again(server, database_name, mysql_db, accounts):
    db = make_async_db(server, database_name)
    holder = TiDBDatabase(database_name, **mysql_db.connect_params)  # locks account 1 meanwhile

    async def scenario():  # one task throughout, as a worker's
        holder.begin()
        holder.execute_sql("UPDATE account SET balance = 100 WHERE id = 1")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):  # the UPDATE waits for holder's lock until then
                await tidb_dialect.arun_transaction(db, transfer(10))
        holder.rollback()
        return await tidb_dialect.arun_transaction(db, transfer(30))

    assert run_on(db, scenario) > 0
    holder.close()
    assert accounts() == ((70,), (130,))  # the timed-out transfer rolled back, the next done


def test_a_task_whose_connection_the_server_killed_gets_a_new_one(
    server, database_name, mysql_db, accounts
):
    db = make_async_db(server, database_name)

    async def kill(connection):
        mysql_db.execute_sql("KILL CONNECTION %s" % connection)
        await in_thread(lambda: not processlist(mysql_db, connection))

    async def scenario():
        first = await connection_id(db)
        await kill(first)
        second = await tidb_dialect.arun_transaction(db, transfer(10))
        await kill(second)
        await db.aexecute_sql("UPDATE account SET balance = balance + 1 WHERE id = 2")
        return first, second, await connection_id(db)

    first, second, third = run_on(db, scenario)
    assert len({first, second, third}) == 3
    assert accounts() == ((90,), (111,))


def test_a_reply_lost_outside_a_transaction_fails_once_and_the_connection_is_replaced(
    server, database_name, mysql_db, accounts, relay
):
    """The relay drops the reply to the statement named and closes the link. BEGIN's (it
    changes nothing) is sent again on a new connection; any other statement (it may have
    been a write) fails with 2013, and the next gets a new connection."""
    cuts = []

    def cut_when_asked(statement):
        return bool(cuts) and cuts.pop() == statement

    db = make_async_db(relay(server, cut_after=cut_when_asked), database_name)

    async def scenario():
        await connection_id(db)
        cuts.append("BEGIN")
        await tidb_dialect.arun_transaction(db, transfer(10))
        cuts.append("UPDATE account SET balance = balance + 1 WHERE id = 2")
        with pytest.raises(OperationalError) as lost:
            await db.aexecute_sql("UPDATE account SET balance = balance + 1 WHERE id = 2")
        await db.aexecute_sql("UPDATE account SET balance = balance + 5 WHERE id = 2")
        return error_code(lost.value)

    assert run_on(db, scenario) == 2013
    assert accounts() == ((90,), (116,))  # the cut UPDATE ran: its reply was lost


@pytest.mark.parametrize("block", ["arun_transaction", "atomic"])
def test_a_task_cancelled_while_commit_awaits_its_reply_learns_the_outcome_is_unknown(
    server, database_name, mysql_db, accounts, block
):
    """FLUSH TABLES WITH READ LOCK in another session makes a COMMIT of writes wait."""
    db = make_async_db(server, database_name)
    reached, used = asyncio.Event(), []

    async def callback(db):
        await db.aexecute_sql("UPDATE account SET balance = 0 WHERE id = 2")
        used.append(await connection_id(db))
        mysql_db.execute_sql("FLUSH TABLES WITH READ LOCK")
        reached.set()

    async def in_atomic():
        async with db.atomic():
            await callback(db)

    async def scenario():
        if block == "atomic":
            task = asyncio.create_task(in_atomic())
        else:
            task = asyncio.create_task(tidb_dialect.arun_transaction(db, callback))
        await reached.wait()
        await in_thread(lambda: processlist(mysql_db, used[0], "Waiting for backup lock"))
        task.cancel()
        try:
            with pytest.raises(AmbiguousCommitError) as raised:
                await task
        finally:
            mysql_db.execute_sql("UNLOCK TABLES")
        return raised.value, await connection_id(db)

    error, after = run_on(db, scenario)
    assert isinstance(error.cause, asyncio.CancelledError)
    assert str(error).startswith("the outcome of COMMIT is unknown")
    assert after != used[0]  # that connection was discarded
    poll(lambda: not processlist(mysql_db, used[0]))


def test_statements_gathered_inside_a_transaction_are_refused_and_it_rolls_back(
    server, database_name, mysql_db, accounts
):
    db = make_async_db(server, database_name)

    async def callback(db):
        await db.aexecute_sql("UPDATE account SET balance = 0 WHERE id = 1")
        await asyncio.gather(
            db.aexecute_sql("UPDATE account SET balance = 0 WHERE id = 2"),
            db.aexecute_sql("UPDATE account SET balance = 1 WHERE id = 2"),
        )

    async def in_atomic():
        async with db.atomic():
            await callback(db)

    for block in (lambda: tidb_dialect.arun_transaction(db, callback), in_atomic):
        with pytest.raises(InterfaceError, match=r"^a statement in a task started inside a tr"):
            run_on(db, block)
        assert accounts() == ((100,), (100,))

    async def after(db):  # a task started inside, running after the transaction: allowed
        ended = asyncio.Event()

        async def later():
            await ended.wait()
            return await connection_id(db)

        async with db.atomic():
            task = asyncio.create_task(later())
        ended.set()
        return await task

    assert run_on(db, lambda: after(db)) > 0


def test_pause_awaits_so_other_tasks_go_on_and_can_cancel_it(server):
    db = make_async_db(server)

    async def scenario():
        pausing = asyncio.create_task(db.run(db.pause, 3600))  # blocking, it would hang
        await asyncio.to_thread(lambda: None)  # the loop goes on meanwhile
        assert not pausing.done()
        pausing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pausing

    run_on(db, scenario)


def test_like_carries_a_non_ascii_password_as_given(server, make_user):
    user = make_user("pä€")
    adb = tidb_dialect.AsyncTiDBDatabase(
        user, host=server.host, port=server.port, user=user, password="pä€"
    )
    for cls in (TiDBDatabase, tidb_dialect.AsyncTiDBDatabase):
        db = cls.like(adb)
        if cls is TiDBDatabase:
            with db.connection_context():
                assert db.execute_sql("SELECT CURRENT_USER()").fetchone()[0].startswith(user)
        else:
            who = run_on(db, lambda: db.aexecute_sql("SELECT CURRENT_USER()"))  # noqa: B023
            assert who.fetchone()[0].startswith(user)


def test_tidb_cloud_hosts_replace_connections_after_the_gateway_lifetime():
    Async = tidb_dialect.AsyncTiDBDatabase
    cloud = "gateway01.us-west-2.prod.aws.tidbcloud.com"
    assert Async("test", host=cloud).stale_timeout == 300  # PooledTiDBDatabase's rule
    assert tidb_dialect.PooledTiDBDatabase("test", host=cloud)._stale_timeout == 300
    assert Async("test", host=cloud, stale_timeout=60).stale_timeout == 60
    assert Async("test", host="127.0.0.1").stale_timeout is None
    url = "tidb+async://root@127.0.0.1:4000/test?stale_timeout=60"
    assert tidb_dialect.connect_url(url).stale_timeout == 60
    with pytest.raises(tidb_dialect.ConfigError, match=r"^stale_timeout: must be a whole number"):
        Async("test", stale_timeout=0)


def test_a_connection_older_than_stale_timeout_is_replaced_between_transactions(
    server, database_name, mysql_db, accounts
):
    db = make_async_db(server, database_name, stale_timeout=1)

    async def held_in_transaction():
        async with db.atomic():
            first = await connection_id(db)
            # inside a transaction it is kept, however old
            await in_thread(lambda: processlist(mysql_db, first, None) and aged(first))
            assert await connection_id(db) == first
        return first

    def aged(connection):
        sql = "SELECT time FROM information_schema.processlist WHERE id = %s"
        return mysql_db.execute_sql(sql, (connection,)).fetchone()[0] >= 2

    async def scenario():
        first = await held_in_transaction()
        return first, await connection_id(db)  # same task, next statement: a new one

    first, second = run_on(db, scenario)
    assert second != first
    poll(lambda: not processlist(mysql_db, first))  # closed, not kept in the pool


def test_a_task_outlives_a_server_restart(restartable_server):
    admin = TiDBDatabase(
        "mysql", host=restartable_server.host, port=restartable_server.port, user="root"
    )
    admin.execute_sql("CREATE DATABASE IF NOT EXISTS aio_restart")
    admin.execute_sql("CREATE TABLE IF NOT EXISTS aio_restart.note (id INT PRIMARY KEY)")
    admin.execute_sql("DELETE FROM aio_restart.note")
    admin.close()
    db = make_async_db(restartable_server, "aio_restart")

    def note(id):
        async def callback(db):
            await db.aexecute_sql("INSERT INTO note VALUES (%s)", (id,))
            return await connection_id(db)

        return callback

    def restart():
        restartable_server.stop()
        restartable_server.start()

    async def scenario():  # one task throughout, as a worker's
        before = await tidb_dialect.arun_transaction(db, note(1))
        await asyncio.to_thread(restart)
        await tidb_dialect.arun_transaction(db, note(2))  # BEGIN finds it dead
        return before

    run_on(db, scenario)
    admin.connect()
    assert admin.execute_sql("SELECT id FROM aio_restart.note ORDER BY id").fetchall() == (
        (1,),
        (2,),
    )
    admin.close()


def test_a_task_whose_commit_reply_was_lost_trades_again(
    server, database_name, mysql_db, accounts, relay
):
    commits = []

    def first_commit(statement):
        commits.append(statement == "COMMIT")
        return statement == "COMMIT" and commits.count(True) == 1

    db = make_async_db(relay(server, cut_after=first_commit), database_name)

    async def scenario():  # one task throughout, as a worker's
        with pytest.raises(AmbiguousCommitError):
            await tidb_dialect.arun_transaction(db, transfer(10))
        return await tidb_dialect.arun_transaction(db, transfer(30))

    run_on(db, scenario)
    assert accounts() == ((60,), (140,))  # the lost reply's transfer did commit
