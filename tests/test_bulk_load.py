"""The reset and load are all or nothing: a failing batch or a killed connection leaves the table
as it was.

The faults are real: a duplicate primary key, and KILL of the loading
connection from another session. Triggers choose the moment (a row of
batch 10 of 17), so nothing depends on timing.
"""

import signal
import threading

import pytest
from peewee import IntegrityError

import peewee_example
from peewee_example import BATCH_SIZE, Player, load_players, start_afresh
from tests.conftest import WAIT_AT_GATE, error_lines, gate, poll, reached_gate, server_environ
from tidb_dialect import AmbiguousCommitError, TiDBDatabase, run_transaction

pytestmark = pytest.mark.mariadb  # the faults are placed by triggers, which TiDB lacks

# Insert number N on the player table: 'test' is the first, then the bulk rows.
BATCH_10_ROW = 1 + 9 * BATCH_SIZE + 6

# A MEMORY table is not transactional: the count survives the rollback.
COUNT_INSERTS = [
    "CREATE TABLE inserts_seen (n INT NOT NULL) ENGINE=MEMORY",
    "INSERT INTO inserts_seen VALUES (0)",
]
DUPLICATE_AT = (
    "CREATE TRIGGER duplicate_at BEFORE INSERT ON player FOR EACH ROW BEGIN "
    "UPDATE inserts_seen SET n = n + 1; "
    "IF (SELECT n FROM inserts_seen) = %d THEN SET NEW.id = 'test'; END IF; END" % BATCH_10_ROW
)
# At that row the loader waits at the test's gate (conftest: WAIT_AT_GATE).
WAIT_AT = (
    "CREATE TRIGGER wait_at BEFORE INSERT ON player FOR EACH ROW BEGIN "
    "UPDATE inserts_seen SET n = n + 1; "
    "IF (SELECT n FROM inserts_seen) = %d THEN %s END IF; END" % (BATCH_10_ROW, WAIT_AT_GATE)
)
AS_BEFORE = "the player table is as it was before the run"
# Players of an earlier run, which a failed run must leave as they were.
EARLIER = ["1", "2", "earlier"]


def keep_earlier_players(database):
    for player_id in EARLIER:
        database.execute_sql("INSERT INTO player VALUES (%s, 7, 7)", (player_id,))


def player_ids(database):
    return sorted(row[0] for row in database.execute_sql("SELECT id FROM player"))


@pytest.fixture
def trigger_db(mysql_db):
    """The test's MariaDB database with the player table, ready for fault triggers."""
    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
    for statement in COUNT_INSERTS:
        mysql_db.execute_sql(statement)
    return mysql_db


def test_duplicate_id_in_batch_10_leaves_the_table_as_it_was(trigger_db):
    keep_earlier_players(trigger_db)
    trigger_db.execute_sql(DUPLICATE_AT)
    peewee_example.db.initialize(trigger_db)
    try:
        with pytest.raises(IntegrityError, match="Duplicate entry 'test'"):
            start_afresh()
    finally:
        peewee_example.db.initialize(None)
    assert player_ids(trigger_db) == EARLIER


def test_walkthrough_fails_clearly_on_a_duplicate_in_batch_10(
    trigger_db, run_example, server, database_name
):
    keep_earlier_players(trigger_db)
    trigger_db.execute_sql(DUPLICATE_AT)
    result = run_example(environ=server_environ(server, database_name))
    assert result.returncode == 1
    assert result.stdout == ""  # the reset and the load are one transaction
    assert error_lines(result.stderr) == (
        "error: the database failed: (1062, \"Duplicate entry 'test' for key 'PRIMARY'\"); %s\n"
        % AS_BEFORE
    )
    assert player_ids(trigger_db) == EARLIER


def test_walkthrough_fails_clearly_when_its_connection_is_killed(
    trigger_db, run_example, server, database_name, driver
):
    keep_earlier_players(trigger_db)
    trigger_db.execute_sql(WAIT_AT)
    results = []
    loader = threading.Thread(
        target=lambda: results.append(
            run_example("--driver", driver, environ=server_environ(server, database_name))
        )
    )
    try:
        with gate(TiDBDatabase(database_name, **trigger_db.connect_params)):
            loader.start()
            trigger_db.execute_sql("KILL %d" % reached_gate(trigger_db))
    finally:
        loader.join()
    result = results[0]
    assert result.returncode == 1
    assert result.stdout == ""
    assert error_lines(result.stderr).startswith(
        "error: the database failed: (2013, 'Lost connection"
    )
    assert result.stderr.endswith("; %s\n" % AS_BEFORE)
    assert "Traceback" not in result.stderr
    assert player_ids(trigger_db) == EARLIER


def test_ctrl_c_in_the_middle_of_the_load_changes_nothing(
    trigger_db, start_example, server, database_name, driver
):
    """SIGINT while batch 10 waits in the server: PyMySQL stops reading at once, mysqlclient
    when the statement returns (the test then lets it go on); the outcome is the same."""
    keep_earlier_players(trigger_db)
    trigger_db.execute_sql(WAIT_AT)
    with gate(TiDBDatabase(database_name, **trigger_db.connect_params)):
        walkthrough = start_example(
            "--driver", driver, environ=server_environ(server, database_name)
        )
        connection_id = reached_gate(trigger_db)
        walkthrough.send_signal(signal.SIGINT)
    stdout, stderr = walkthrough.communicate(timeout=60)
    assert (walkthrough.returncode, stdout, error_lines(stderr)) == (
        130,
        "",
        "error: interrupted (Ctrl-C): the player table is as it was before the run\n",
    )
    poll(  # the server rolls back when it sees the connection gone
        lambda: (
            not trigger_db.execute_sql(
                "SELECT 1 FROM information_schema.processlist WHERE id = %s", (connection_id,)
            ).fetchone()
        )
    )
    assert player_ids(trigger_db) == EARLIER


class KilledBeforeCommit(TiDBDatabase):
    """A database whose connection is killed (for real, by another session) just before COMMIT."""

    admin = None

    def commit(self):
        own_id = self.execute_sql("SELECT CONNECTION_ID()").fetchone()[0]
        self.admin.execute_sql("KILL %d" % own_id)
        return super().commit()


def test_lost_commit_is_not_reported_as_done(mysql_db, database_name):
    database = KilledBeforeCommit(database_name, **mysql_db.connect_params)
    database.admin = mysql_db
    peewee_example.db.initialize(database)
    try:
        database.create_tables([Player])
        with pytest.raises(AmbiguousCommitError):
            players = [Player(id="p%d" % n, coins=1, goods=1) for n in range(2 * BATCH_SIZE)]
            run_transaction(database, lambda db: load_players(players))
    finally:
        peewee_example.db.initialize(None)
        database.close()
    assert player_ids(mysql_db) == []  # killed before COMMIT: the server rolled back
