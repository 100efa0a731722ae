"""run_transaction against a real server: which errors are retried, how often, and what survives.

TiDB's own conflict codes (8002, 8005, 8022, 8028, 9007) are raised by
MariaDB on demand through the real protocol (SIGNAL ... SET MYSQL_ERRNO),
from a statement or from a trigger on a real UPDATE; the deadlock (1213) is
a real one. The list is TiDB's: pkg/kv/error.go IsTxnRetryableError (8005,
8022, 9007, and messages marked "[try again later]") and the transaction
guide (8002, 8028, 9007, 1213). Retries are decided by that number alone, never
by the message, which can quote the user's data.
"""

import contextlib
import logging
import re
import sys
import threading

import pytest
from peewee import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    MySQLDatabase,
    NotSupportedError,
    OperationalError,
    SqliteDatabase,
)

from tests.conftest import fake_db, fake_tidb, server_environ
from tidb_dialect import (
    AmbiguousCommitError,
    ConfigError,
    ExceededMaxAttempts,
    PooledTiDBDatabase,
    ReconnectingTiDBDatabase,
    TiDBDatabase,
    retry_transaction,
    run_transaction,
)
from tidb_dialect.errors import error_code
from tidb_dialect.settings import database_from
from tidb_dialect.transactions import exponential_backoff

BARRIER_TIMEOUT = 30  # seconds; only reached if the other thread died


def signal(code, message="raised by the test as TiDB would"):
    return "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = %d, MESSAGE_TEXT = '%s'" % (code, message)


class Recorder:
    """A backoff that records the attempts it was asked about and never waits."""

    def __init__(self):
        self.attempts = []

    def __call__(self, attempt):
        self.attempts.append(attempt)
        return 0


def make_accounts(db, *balances):
    db.execute_sql("CREATE TABLE account (id INT PRIMARY KEY, balance INT NOT NULL)")
    for n, balance in enumerate(balances, 1):
        db.execute_sql("INSERT INTO account VALUES (%s, %s)", (n, balance))


def balances(db):
    return [b for (b,) in db.execute_sql("SELECT balance FROM account ORDER BY id")]


def test_deadlock_is_retried_until_both_transactions_commit(driver_db, caplog):
    make_accounts(driver_db, 100, 100)
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
    calls = {"first": 0, "second": 0}
    errors = []

    def transfer(name, first, second, amount):
        def callback(db):
            calls[name] += 1
            db.execute_sql(
                "UPDATE account SET balance = balance - %s WHERE id = %s", (amount, first)
            )
            if calls[name] == 1:
                barrier.wait()  # each holds one row and now asks for the other's
            db.execute_sql(
                "UPDATE account SET balance = balance + %s WHERE id = %s", (amount, second)
            )

        try:
            run_transaction(driver_db, callback, backoff=Recorder())
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            driver_db.close()  # this thread's connection

    caplog.set_level(logging.INFO, logger="tidb_dialect.transactions")
    threads = [
        threading.Thread(target=transfer, args=("first", 1, 2, 10)),
        threading.Thread(target=transfer, args=("second", 2, 1, 1)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(calls.values()) == [1, 2]  # the deadlock victim ran twice
    retried = [record.args[2] for record in caplog.records if "retrying" in record.msg]
    assert [error_code(exc) for exc in retried] == [1213]
    assert balances(driver_db) == [100 - 10 + 1, 100 + 10 - 1]


def test_other_errors_are_not_retried_and_propagate_unchanged(driver_db):
    make_accounts(driver_db, 100)
    backoff, calls = Recorder(), []

    def callback(db):
        calls.append(1)
        db.execute_sql("UPDATE account SET balance = 0 WHERE id = 1")
        db.execute_sql("INSERT INTO account VALUES (1, 5)")  # duplicate key

    with pytest.raises(IntegrityError) as raised:
        run_transaction(driver_db, callback, backoff=backoff)
    assert error_code(raised.value) == 1062
    assert (len(calls), backoff.attempts) == (1, [])
    assert balances(driver_db) == [100]  # the UPDATE was rolled back


def test_application_exceptions_roll_back_and_propagate(driver_db):
    make_accounts(driver_db, 100)

    def callback(db):
        db.execute_sql("UPDATE account SET balance = 0 WHERE id = 1")
        raise LookupError("refused by the application")

    with pytest.raises(LookupError, match="refused by the application"):
        run_transaction(driver_db, callback)
    assert balances(driver_db) == [100]


#: Server errors and how many attempts each gets when it fails the first two.
RETRIED, NOT_RETRIED = 3, 1


@pytest.mark.mariadb
@pytest.mark.parametrize(
    "code, message, attempts",
    [
        (8002, "[1] can not retry select for update statement", RETRIED),
        (8005, "Write conflict, txnStartTS 42 is stale", RETRIED),
        (8022, "Error: KV error safe to retry", RETRIED),
        (8028, "Information schema is changed during the execution of the statement", RETRIED),
        (9007, "Write conflict, txnStartTS=1, conflictStartTS=2, key=k", RETRIED),
        (1213, "Deadlock found when trying to get lock; try restarting transaction", RETRIED),
        # TiDB marks its retryable messages so, but a message can quote data: the code decides.
        (1105, "other error, TiDB marks it safe to retry [try again later]", NOT_RETRIED),
        # Deliberately not retried: each attempt may wait innodb_lock_wait_timeout.
        (1205, "Lock wait timeout exceeded; try restarting transaction", NOT_RETRIED),
        (1105, "other error", NOT_RETRIED),
        (8027, "Information schema is out of date", NOT_RETRIED),
    ],
)
def test_which_server_errors_are_retried(driver_db, code, message, attempts):
    make_accounts(driver_db, 100)
    backoff, calls = Recorder(), []

    def callback(db):
        calls.append(1)
        db.execute_sql("UPDATE account SET balance = balance + 1 WHERE id = 1")
        if len(calls) < 3:
            db.execute_sql(signal(code, message))
        return "done"

    if attempts == RETRIED:
        assert run_transaction(driver_db, callback, backoff=backoff) == "done"
    else:
        with pytest.raises(DatabaseError) as raised:
            run_transaction(driver_db, callback, backoff=backoff)
        assert error_code(raised.value) == code
    assert (len(calls), backoff.attempts) == (attempts, list(range(1, attempts)))
    # The failed attempts left nothing behind.
    assert balances(driver_db) == [101 if attempts == RETRIED else 100]


@pytest.mark.parametrize("value", ["x [try again later]", "x database is locked"])
def test_words_of_a_retryable_error_in_the_data_are_not_retried(driver_db, value):
    """A real duplicate key (1062) whose message quotes the value."""
    driver_db.execute_sql("CREATE TABLE tag (name VARCHAR(40) PRIMARY KEY)")
    driver_db.execute_sql("INSERT INTO tag VALUES (%s)", (value,))
    backoff, calls = Recorder(), []

    def callback(db):
        calls.append(1)
        db.execute_sql("INSERT INTO tag VALUES (%s)", (value,))

    with pytest.raises(IntegrityError) as raised:
        run_transaction(driver_db, callback, backoff=backoff)
    assert error_code(raised.value) == 1062 and value in str(raised.value)
    assert (len(calls), backoff.attempts) == (1, [])


def test_sqlite_words_of_a_busy_error_in_a_message_are_not_retried(sqlite_db):
    """A trigger's RAISE() can say anything: its words are not SQLite's busy result."""
    sqlite_db.execute_sql("CREATE TABLE tag (name TEXT)")
    sqlite_db.execute_sql(
        "CREATE TRIGGER refuse BEFORE INSERT ON tag BEGIN "
        "SELECT RAISE(ABORT, 'database is locked'); END"
    )
    backoff, calls = Recorder(), []

    def callback(db):
        calls.append(1)
        db.execute_sql("INSERT INTO tag VALUES ('a')")

    with pytest.raises(IntegrityError, match="database is locked"):
        run_transaction(sqlite_db, callback, backoff=backoff)
    assert (len(calls), backoff.attempts) == (1, [])


#: SQLite's busy result reaches Python as a code from 3.11 (sqlite_errorcode); before that
#: the error carries no code, so it is not retried.
SQLITE_BUSY_ATTEMPTS = 2 if sys.version_info >= (3, 11) else 1


def test_sqlite_busy_is_retried_by_its_result_code(tmp_path):
    """Another connection holds the write lock at the first attempt's UPDATE, then lets go."""
    path = str(tmp_path / "bank.db")
    db, other = SqliteDatabase(path, timeout=0), SqliteDatabase(path)
    db.execute_sql("CREATE TABLE account (id INT PRIMARY KEY, balance INT NOT NULL)")
    db.execute_sql("INSERT INTO account VALUES (1, 100)")
    other.execute_sql("BEGIN IMMEDIATE")
    calls, codes = [], []

    def release(attempt):
        other.execute_sql("ROLLBACK")
        return 0

    def callback(d):
        calls.append(1)
        d.execute_sql("UPDATE account SET balance = balance + 1 WHERE id = 1")

    try:
        run_transaction(db, callback, backoff=release)
    except OperationalError as exc:
        codes.append(getattr(exc.orig, "sqlite_errorcode", None))
        other.execute_sql("ROLLBACK")
    assert len(calls) == SQLITE_BUSY_ATTEMPTS
    assert codes == ([] if SQLITE_BUSY_ATTEMPTS == 2 else [None])
    balance = db.execute_sql("SELECT balance FROM account").fetchone()[0]
    assert balance == 100 + SQLITE_BUSY_ATTEMPTS - 1


@pytest.mark.mariadb
def test_gives_up_after_max_attempts_with_the_last_error(driver_db):
    backoff, calls = Recorder(), []

    def callback(db):
        calls.append(1)
        db.execute_sql(signal(9007))

    with pytest.raises(ExceededMaxAttempts) as raised:
        run_transaction(driver_db, callback, max_attempts=4, backoff=backoff)
    assert (len(calls), backoff.attempts) == (4, [1, 2, 3])
    assert raised.value.attempts == 4
    assert error_code(raised.value.last_error) == 9007
    assert "after 4 attempts" in str(raised.value)
    assert isinstance(raised.value, DatabaseError)


@pytest.mark.mariadb
def test_write_conflict_from_a_trigger_on_a_real_update(driver_db):
    """The UPDATE itself fails twice, as a write conflict would, then succeeds."""
    make_accounts(driver_db, 100)
    # Aria is not transactional: the trigger's countdown survives the rollbacks.
    driver_db.execute_sql("CREATE TABLE conflicts (remaining INT NOT NULL) ENGINE=Aria")
    driver_db.execute_sql("INSERT INTO conflicts VALUES (2)")
    driver_db.execute_sql(
        "CREATE TRIGGER conflict_on_update BEFORE UPDATE ON account FOR EACH ROW "
        "BEGIN IF (SELECT remaining FROM conflicts) > 0 THEN "
        "UPDATE conflicts SET remaining = remaining - 1; %s; END IF; END" % signal(9007)
    )
    backoff, calls = Recorder(), []

    def callback(db):
        calls.append(1)
        db.execute_sql("UPDATE account SET balance = balance + 1 WHERE id = 1")

    run_transaction(driver_db, callback, backoff=backoff)
    assert (len(calls), backoff.attempts) == (3, [1, 2])
    assert balances(driver_db) == [101]
    assert driver_db.execute_sql("SELECT remaining FROM conflicts").fetchone()[0] == 0


class ConflictAtCommit(TiDBDatabase):
    """Its COMMIT fails with 9007 while `conflicts` > 0, as TiDB's does in optimistic mode."""

    conflicts = 0

    def commit(self):
        if self.conflicts:
            self.conflicts -= 1
            self.execute_sql(signal(9007))  # raised by the real server, inside the transaction
        return super().commit()


@pytest.mark.mariadb
def test_a_commit_that_fails_with_a_retryable_code_is_retried(server_settings):
    db = ConflictAtCommit(server_settings.database, **server_settings.connect_params())
    make_accounts(db, 100)
    db.conflicts = 1
    backoff, calls = Recorder(), []

    def callback(d):
        calls.append(1)
        d.execute_sql("UPDATE account SET balance = balance + 1 WHERE id = 1")

    run_transaction(db, callback, backoff=backoff)
    assert (len(calls), backoff.attempts, db.conflicts) == (2, [1], 0)
    assert balances(db) == [101]  # the first attempt was rolled back, not committed
    db.close()


@pytest.mark.tidb
def test_optimistic_write_conflict_at_commit_on_tidb(server_settings):
    """A real 9007: another transaction commits the same row first."""
    db, other = server_settings.build_database(), server_settings.build_database()
    make_accounts(db, 100)
    for database in (db, other):
        database.execute_sql("SET SESSION tidb_txn_mode = 'optimistic'")
    calls = []

    def callback(d):
        calls.append(1)
        d.execute_sql("UPDATE account SET balance = balance + 1 WHERE id = 1")
        if len(calls) == 1:
            with other.atomic():
                other.execute_sql("UPDATE account SET balance = balance + 10 WHERE id = 1")

    run_transaction(db, callback, backoff=Recorder())
    assert len(calls) == 2
    assert balances(db) == [111]
    db.close()
    other.close()


@pytest.mark.mariadb
@pytest.mark.parametrize("committed_by", ["an earlier block", "DDL"])
def test_a_function_that_committed_is_not_run_again(driver_db, committed_by):
    """Run again, it would add 1 twice: once its first block committed, or DDL (which commits
    implicitly) did, a retryable error reaches the caller."""
    make_accounts(driver_db, 100)
    backoff, calls = Recorder(), []

    @retry_transaction(driver_db, backoff=backoff)
    def add_one():
        calls.append(1)
        with driver_db.atomic():
            driver_db.execute_sql("UPDATE account SET balance = balance + 1 WHERE id = 1")
            if committed_by == "DDL":
                driver_db.execute_sql("CREATE TABLE audit (n INT)")  # commits the UPDATE
                driver_db.execute_sql(signal(9007))
        with driver_db.atomic():
            driver_db.execute_sql(signal(9007))

    with pytest.raises(DatabaseError) as raised:
        add_one()
    assert (error_code(raised.value), len(calls), backoff.attempts) == (9007, 1, [])
    assert balances(driver_db) == [101]


def test_refused_inside_an_open_transaction(mysql_db):
    with mysql_db.atomic(), pytest.raises(DatabaseError, match="outside any atomic"):
        run_transaction(mysql_db, lambda db: None)


@pytest.mark.parametrize("max_attempts", [0, -1, 1.5, True, "3"])
def test_max_attempts_must_be_a_positive_whole_number(max_attempts):
    with pytest.raises(ConfigError, match=r"^max_attempts: must be a whole number from 1 to"):
        run_transaction(TiDBDatabase("test"), lambda db: None, max_attempts=max_attempts)


@pytest.mark.mariadb
def test_database_method_passes_its_arguments(driver_db):
    backoff = Recorder()
    with pytest.raises(ExceededMaxAttempts) as raised:
        driver_db.run_transaction(
            lambda db: db.execute_sql(signal(8028)), max_attempts=2, backoff=backoff
        )
    assert (raised.value.attempts, backoff.attempts) == (2, [1])


@pytest.mark.parametrize("attempt", [1, 2, 5, 9])
def test_backoff_grows_exponentially_with_jitter(attempt):
    waits = [exponential_backoff(attempt) for _ in range(200)]
    low, high = 0.1 * 1.5**attempt, 0.1 * (1.5**attempt + 1)
    assert all(low <= wait < high for wait in waits)
    assert len(set(waits)) > 1  # jitter: concurrent retries do not collide again


ADD_ONE = "UPDATE account SET balance = balance + 1 WHERE id = 1"


@pytest.fixture
def relayed_accounts(server, database_name, driver_db, relay, driver):
    """relayed_accounts(cut_after): (a database through a relay that cuts as told, a callback
    that adds 1 to account 1, which holds 100, and the list of its calls)."""
    make_accounts(driver_db, 100)
    made = []

    def start(cut_after):
        relayed = relay(server, cut_after=cut_after)
        environ = dict(
            server_environ(server, database_name),
            TIDB_HOST=relayed.host,
            TIDB_PORT=str(relayed.port),
            TIDB_DRIVER=driver,
        )
        made.append(database_from(environ))
        calls = []

        def callback(d):
            calls.append(1)
            d.execute_sql(ADD_ONE)

        return made[-1], callback, calls

    yield start
    for db in made:
        db.close()


def test_a_lost_commit_reply_is_ambiguous_and_not_retried(relayed_accounts, driver_db):
    """The relay passes COMMIT to the server, drops its reply and closes the connection."""
    db, callback, calls = relayed_accounts(cut_after=lambda statement: statement == "COMMIT")
    backoff = Recorder()
    with pytest.raises(AmbiguousCommitError) as raised:
        run_transaction(db, callback, backoff=backoff)
    assert (len(calls), backoff.attempts) == (1, [])
    assert error_code(raised.value.cause) == 2013
    assert isinstance(raised.value, DatabaseError)
    assert balances(driver_db) == [101]  # committed, once


@pytest.mark.mariadb
def test_a_function_whose_commit_reply_was_lost_is_not_run_again(relayed_accounts, driver_db):
    """Its COMMIT may have taken effect, so a retryable error after it reaches the caller, even
    when the function carried on past the AmbiguousCommitError on a new connection."""
    relayed, callback, calls = relayed_accounts(cut_after=lambda statement: statement == "COMMIT")
    db, backoff = ReconnectingTiDBDatabase.like(relayed), Recorder()

    @retry_transaction(db, backoff=backoff)
    def add_one_then_conflict():
        with contextlib.suppress(AmbiguousCommitError), db.atomic():
            callback(db)
        with db.atomic():
            db.execute_sql(signal(9007))

    with pytest.raises(DatabaseError) as raised:
        add_one_then_conflict()
    assert (error_code(raised.value), len(calls), backoff.attempts) == (9007, 1, [])
    assert balances(driver_db) == [101]  # committed, once
    db.close()


def test_a_connection_lost_inside_the_callback_is_not_ambiguous(relayed_accounts, driver_db):
    """Before COMMIT nothing can have committed: the lost connection's error, not ambiguity."""
    db, callback, calls = relayed_accounts(cut_after=lambda statement: statement == ADD_ONE)
    backoff = Recorder()
    # The ROLLBACK after it fails too on the dead connection (PyMySQL: InterfaceError).
    with pytest.raises((OperationalError, InterfaceError)) as raised:
        run_transaction(db, callback, backoff=backoff)
    assert not isinstance(raised.value, AmbiguousCommitError)
    lost = raised.value
    while error_code(lost) != 2013 and lost.__context__ is not None:
        lost = lost.__context__
    assert error_code(lost) == 2013
    assert (len(calls), backoff.attempts) == (1, [])
    assert balances(driver_db) == [100]  # no COMMIT was sent; the server rolled it back


# --- Transaction modes: BEGIN OPTIMISTIC / BEGIN PESSIMISTIC on TiDB, refused elsewhere ---

#: Each way to start a transaction in a mode, given the database and the mode.
MODE_WAYS = {
    "run_transaction": lambda db, mode: run_transaction(db, update_one, mode=mode),
    "db.run_transaction": lambda db, mode: db.run_transaction(update_one, mode=mode),
    "atomic": lambda db, mode: db.atomic(mode=mode)(update_one)(db),
    "transaction": lambda db, mode: db.transaction(mode=mode)(update_one)(db),
}


def update_one(db):
    db.execute_sql("UPDATE account SET balance = balance + 1 WHERE id = 1")


@pytest.mark.parametrize("database_class", [TiDBDatabase, PooledTiDBDatabase])
@pytest.mark.parametrize("way", MODE_WAYS)
@pytest.mark.parametrize(
    "mode, begin", [("optimistic", "BEGIN OPTIMISTIC"), ("pessimistic", "BEGIN PESSIMISTIC")]
)
def test_a_mode_starts_the_transaction_with_tidbs_begin(
    fake_server, driver, database_class, way, mode, begin
):
    fake = fake_tidb(fake_server, "v8.5.3")
    db = fake_db(fake, driver, database_class)
    MODE_WAYS[way](db, mode)
    sent = fake.statements[fake.statements.index(begin) :]
    assert sent == [begin, "UPDATE account SET balance = balance + 1 WHERE id = 1", "COMMIT"]
    assert "BEGIN" not in fake.statements
    db.close()


@pytest.mark.parametrize("way", MODE_WAYS)
def test_a_mode_is_refused_on_other_servers_before_begin(fake_server, driver, way):
    fake = fake_server(version="8.0.36", tidb_version=None)  # MySQL
    db = fake_db(fake, driver)
    with pytest.raises(
        NotSupportedError,
        match=r"mode='optimistic': transaction modes .* are TiDB's, but this is 8\.0\.36",
    ):
        MODE_WAYS[way](db, "optimistic")
    assert [s for s in fake.statements if re.match("BEGIN|UPDATE|COMMIT", s)] == []
    db.close()


@pytest.mark.mariadb
def test_a_mode_is_refused_on_mariadb_and_databases_that_are_not_tidbs(mysql_db, sqlite_db):
    for db, named in (
        (mysql_db, "MariaDB"),
        (sqlite_db, "not a TiDBDatabase"),
        (MySQLDatabase("test"), "not a TiDBDatabase"),
    ):
        with pytest.raises(NotSupportedError, match="are TiDB's, but this is .*" + named):
            run_transaction(db, update_one, mode="pessimistic")
        assert not db.in_transaction()


@pytest.mark.parametrize("mode", ["OPTIMISTIC", "read only", 1])
def test_an_unknown_mode_is_refused_by_name(mode):
    with pytest.raises(
        ConfigError, match=r"^mode: must be 'optimistic' or 'pessimistic', got "
    ) as refused:
        run_transaction(SqliteDatabase(":memory:"), update_one, mode=mode)
    assert refused.value.keyword == "mode"


def test_an_optimistic_write_conflict_at_commit_is_retried(fake_server, driver):
    """TiDB reports an optimistic transaction's conflict at COMMIT (9007): run again."""
    conflicts = [(9007, "Write conflict, txnStartTS=1, conflictStartTS=2, key=k", "HY000")]
    fake = fake_tidb(
        fake_server, "v8.5.3", answers={"COMMIT": lambda s: conflicts.pop() if conflicts else None}
    )
    db = fake_db(fake, driver)
    backoff = Recorder()
    run_transaction(db, update_one, backoff=backoff, mode="optimistic")
    update = "UPDATE account SET balance = balance + 1 WHERE id = 1"
    sent = fake.statements[fake.statements.index("BEGIN OPTIMISTIC") :]
    attempt = ["BEGIN OPTIMISTIC", update, "COMMIT"]
    assert sent == [*attempt, "ROLLBACK", *attempt]
    assert backoff.attempts == [1]
    db.close()


def test_a_mode_takes_no_other_transaction_argument():
    db = TiDBDatabase("test")  # refused before it connects
    with pytest.raises(TypeError, match=r"^mode= takes no other transaction argument$"):
        db.begin("SERIALIZABLE", mode="optimistic")
