"""Stale reads (AS OF TIMESTAMP): SQL text as in TiDB's as-of-timestamp.md, refusal elsewhere.

TiDB reads every table of a statement as of one moment or refuses it (error
8135), so every table the statement reads carries the same clause.
"""

import datetime
import logging
import re

import pytest
from peewee import (
    SQL,
    CharField,
    Context,
    DatabaseError,
    IntegerField,
    Model,
    MySQLDatabase,
    NotSupportedError,
    ProgrammingError,
    SqliteDatabase,
    fn,
)

from tests.conftest import fake_db, fake_tidb, tidb_at
from tidb_dialect import AsOfTimestamp, TiDBDatabase, parse_version, stale_read, stale_select

FIVE_SECONDS = datetime.timedelta(seconds=5)


def models(database):
    class Team(Model):
        name = CharField()

    class Player(Model):
        name = CharField()
        coins = IntegerField()
        team = IntegerField()

    for model in (Team, Player):
        model._meta.set_database(database)
    return Team, Player


@pytest.mark.parametrize(
    "as_of, clause",
    [
        (FIVE_SECONDS, "AS OF TIMESTAMP NOW() - INTERVAL 5 SECOND"),
        (datetime.timedelta(milliseconds=1500), "AS OF TIMESTAMP NOW() - INTERVAL 1.500000 SECOND"),
        (datetime.timedelta(microseconds=1), "AS OF TIMESTAMP NOW() - INTERVAL 0.000001 SECOND"),
        (datetime.datetime(2024, 1, 1, 10, 0, 0), "AS OF TIMESTAMP %s"),
        (
            SQL("TIDB_BOUNDED_STALENESS(NOW() - INTERVAL 10 SECOND, NOW())"),
            "AS OF TIMESTAMP TIDB_BOUNDED_STALENESS(NOW() - INTERVAL 10 SECOND, NOW())",
        ),
    ],
)
def test_select_as_of(as_of, clause):
    _, player = models(tidb_at())
    sql, params = stale_select(player.select(player.name).where(player.coins > 1), as_of).sql()
    assert sql == (
        "SELECT `t1`.`name` FROM `player` AS `t1` %s WHERE (`t1`.`coins` > %%s)" % clause
    )
    assert params == ([as_of, 1] if isinstance(as_of, datetime.datetime) else [1])


def test_every_table_of_a_join_reads_as_of_the_same_time():
    team, player = models(tidb_at())
    query = player.select(player.name).join(team, on=(player.team == team.id))
    clause = " AS OF TIMESTAMP NOW() - INTERVAL 5 SECOND"
    fresh, _ = query.sql()
    stale, _ = stale_select(query, FIVE_SECONDS).sql()
    assert fresh.startswith("SELECT `t1`.`name` FROM `player` AS `t1` INNER JOIN `team` AS `t2` ON")
    assert stale == (
        fresh.replace("`t1` INNER", "`t1`%s INNER" % clause).replace(
            "`t2` ON", "`t2`%s ON" % clause
        )
    )


CLAUSE = "AS OF TIMESTAMP NOW() - INTERVAL 5 SECOND"


def test_the_original_query_is_left_fresh():
    _, player = models(tidb_at())
    query = player.select(player.name)
    stale_select(query, FIVE_SECONDS)
    assert "AS OF" not in query.sql()[0]


def test_a_table_joined_after_stale_select_reads_as_of_the_same_time():
    team, player = models(tidb_at())
    stale = stale_select(player.select(player.name), FIVE_SECONDS)
    sql, _ = stale.join(team, on=(player.team == team.id)).sql()
    assert sql == (
        "SELECT `t1`.`name` FROM `player` AS `t1` %s "
        "INNER JOIN `team` AS `t2` %s ON (`t2`.`id` = `t1`.`team`)" % (CLAUSE, CLAUSE)
    )


def test_subqueries_and_aliases_read_as_of_the_same_time():
    team, player = models(tidb_at())
    rival = player.alias("rival")
    query = (
        player.select(player.name)
        .join(rival, on=(player.coins < rival.coins))
        .where(player.team.in_(team.select(team.id).where(team.name == "red")))
    )
    sql, _ = stale_select(query, FIVE_SECONDS).sql()
    assert sql == (
        "SELECT `t1`.`name` FROM `player` AS `t1` %s "
        "INNER JOIN `player` AS `rival` %s ON (`rival`.`coins` > `t1`.`coins`) "
        "WHERE (`t1`.`team` IN (SELECT `t2`.`id` FROM `team` AS `t2` %s "
        "WHERE (`t2`.`name` = %%s)))" % (CLAUSE, CLAUSE, CLAUSE)
    )


def test_every_query_of_a_union_reads_as_of_the_same_time():
    team, player = models(tidb_at())
    sql, _ = stale_select(player.select(player.name) | team.select(team.name), FIVE_SECONDS).sql()
    assert sql == (
        "(SELECT `t1`.`name` FROM `player` AS `t1` %s) "
        "UNION (SELECT `t2`.`name` FROM `team` AS `t2` %s)" % (CLAUSE, CLAUSE)
    )


def test_count_wraps_the_stale_query_and_keeps_its_clause(fake_server):
    fake = fake_server(answers={re.compile("COUNT"): [(7,)]})  # TiDB v8.5.3
    db = TiDBDatabase("test", host=fake.host, port=fake.port, user="root")
    _, player = models(db)
    assert stale_select(player.select(), FIVE_SECONDS).count() == 7
    counted = fake.statements[-1]
    assert counted.startswith("SELECT COUNT(1) FROM (SELECT ")
    assert " FROM `player` AS `t1` %s) AS `_wrapped`" % CLAUSE in counted
    db.close()


@pytest.mark.parametrize(
    "mixed",
    [
        lambda team, player, stale: player.select().where(player.team.in_(stale)),
        lambda team, player, stale: stale_select(
            player.select().where(player.team.in_(stale)), datetime.timedelta(seconds=9)
        ),
    ],
    ids=["stale subquery in a fresh query", "two different moments"],
)
def test_a_statement_mixing_moments_is_refused_before_it_is_sent(mixed):
    team, player = models(tidb_at())
    stale = stale_select(team.select(team.id), FIVE_SECONDS)
    with pytest.raises(NotSupportedError, match=r"one moment .*8135.*outermost query"):
        mixed(team, player, stale).sql()


@pytest.mark.parametrize(
    "database, named",
    [
        (tidb_at("8.0.36"), "8.0.36"),
        (tidb_at("10.11.19-MariaDB-0+deb12u1"), "MariaDB"),
        (MySQLDatabase("test"), "not a TiDBDatabase"),
        (SqliteDatabase(":memory:"), "not a TiDBDatabase"),
    ],
)
def test_servers_that_are_not_tidb_refuse_when_called(database, named):
    _, player = models(database)
    with pytest.raises(NotSupportedError, match="stale reads .*need TiDB.*" + named):
        stale_select(player.select(), FIVE_SECONDS)
    with pytest.raises(NotSupportedError, match="stale reads .*need TiDB.*" + named):
        stale_read(database, FIVE_SECONDS)


@pytest.mark.parametrize(
    "as_of, error",
    [
        (datetime.timedelta(seconds=-1), ValueError),
        # AS OF NOW() reads as of the current second's start: it could miss what was just
        # committed, so it is no fresh read, and too close to now to mean a stale one.
        (datetime.timedelta(0), ValueError),
        (5, TypeError),
        ("2024-01-01 10:00:00", TypeError),
    ],
)
def test_bad_as_of_is_refused(as_of, error):
    with pytest.raises(error, match="as_of"):
        stale_read(tidb_at(), as_of)


@pytest.mark.mariadb
def test_real_mariadb_refuses_before_sending_anything(mysql_db, sqlite_db):
    _, player = models(mysql_db)
    mysql_db.create_tables([player])
    for database in (mysql_db, sqlite_db):
        with pytest.raises(NotSupportedError, match="need TiDB"):
            stale_read(database, FIVE_SECONDS)
        assert not database.in_transaction()
    with pytest.raises(NotSupportedError, match="need TiDB"):
        list(stale_select(player.select(), FIVE_SECONDS))


@pytest.mark.mariadb
def test_transaction_statement_reaches_the_server(mysql_db, caplog):
    """With the version of a TiDB, the statement is sent; MariaDB rejects its syntax."""
    mysql_db.connect()
    mysql_db.version = parse_version("8.0.11-TiDB-v7.5.1")
    caplog.set_level(logging.DEBUG, logger="peewee")
    with pytest.raises(ProgrammingError) as raised, stale_read(mysql_db, FIVE_SECONDS):
        pass
    assert raised.value.orig.args[0] == 1064
    assert "START TRANSACTION READ ONLY AS OF TIMESTAMP NOW() - INTERVAL 5 SECOND" in caplog.text
    assert not mysql_db.in_transaction()


def test_refused_inside_an_open_transaction(mysql_db):
    mysql_db.connect()
    mysql_db.version = parse_version("8.0.11-TiDB-v7.5.1")
    with mysql_db.atomic(), pytest.raises(DatabaseError, match="8135"):
        stale_read(mysql_db, FIVE_SECONDS)


@pytest.mark.tidb
def test_reads_the_past_on_tidb(mysql_db):
    _, player = models(mysql_db)
    mysql_db.create_tables([player])
    player.create(name="p", coins=1, team=0)
    before = mysql_db.execute_sql("SELECT NOW(6)").fetchone()[0]
    player.update(coins=2).execute()
    with stale_read(mysql_db, before):
        assert player.get().coins == 1
        with pytest.raises(DatabaseError):
            player.update(coins=3).execute()  # read-only
    assert stale_select(player.select(player.coins), before).scalar() == 1
    assert player.select(fn.MAX(player.coins)).scalar() == 2


def rendered_three_ways(database):
    """insert_many, a SELECT with a join, and an UPDATE, as `database` renders them."""
    team, player = models(database)
    rows = [{"name": "p%d" % n, "coins": n, "team": 1} for n in range(3)]
    queries = [
        player.insert_many(rows),
        player.select(player.name, team.name).join(team, on=(player.team == team.id)),
        player.update(coins=player.coins + 1).where(player.name == "p1"),
    ]
    return [query.sql() for query in queries]


def test_other_statements_render_as_on_mysqldatabase_beside_a_stale_query():
    """Only a stale query renders through StaleReadContext, which looks at every node."""
    team, player = models(tidb_at())
    query = player.select(player.name).join(team, on=(player.team == team.id))
    stale = stale_select(query, FIVE_SECONDS)
    assert rendered_three_ways(tidb_at()) == rendered_three_ways(MySQLDatabase("x"))
    assert type(tidb_at().get_sql_context()) is Context
    assert stale.sql()[0].count(CLAUSE) == 2


#: Any statement that reads as of a moment; the fake answers it with no rows.
AS_OF_SENT = re.compile("AS OF TIMESTAMP")


def stale_statements(fake):
    return [statement for statement in fake.statements if AS_OF_SENT.search(statement)]


@pytest.mark.parametrize("release, refused", [("v5.0.6", True), ("v5.1.0", False)])
def test_stale_reads_need_tidb_5_1(fake_server, driver, release, refused):
    fake = fake_tidb(fake_server, release, answers={AS_OF_SENT: []})
    db = fake_db(fake, driver)
    _, player = models(db)
    if refused:
        message = r"need TiDB v5\.1\.0 or later, but this is TiDB v5\.0\.6"
        with pytest.raises(NotSupportedError, match=message):
            stale_select(player.select(), FIVE_SECONDS)
        with pytest.raises(NotSupportedError, match=message):
            stale_read(db, FIVE_SECONDS)
        assert stale_statements(fake) == []
    else:
        assert list(stale_select(player.select(), FIVE_SECONDS)) == []
        with stale_read(db, FIVE_SECONDS):
            pass
        assert len(stale_statements(fake)) == 2
    db.close()


def stale_inside(db, player, way):
    """A stale read tried inside an explicit transaction, as `way` says."""
    made_before = stale_select(player.select(), FIVE_SECONDS)
    if way == "run_transaction":
        db.run_transaction(lambda d: list(stale_select(player.select(), FIVE_SECONDS)))
        return
    with db.atomic() if way != "transaction()" else db.transaction():
        if way == "stale_read":
            stale_read(db, FIVE_SECONDS)
        elif way.endswith("(as_of=) nested"):
            nested = db.atomic if way.startswith("atomic") else db.transaction
            with nested(as_of=AsOfTimestamp(FIVE_SECONDS)):
                list(player.select())
        elif way == "made before, run inside":
            list(made_before)
        elif way == "count() of one made before":
            made_before.count()
        else:
            list(stale_select(player.select(), FIVE_SECONDS))


@pytest.mark.parametrize(
    "way",
    [
        "atomic()",
        "transaction()",
        "run_transaction",
        "stale_read",
        "atomic(as_of=) nested",
        "transaction(as_of=) nested",
        "made before, run inside",
        "count() of one made before",
    ],
)
def test_a_stale_read_in_a_transaction_is_refused_before_it_is_sent(fake_server, driver, way):
    fake = fake_tidb(fake_server, "v8.5.3", answers={AS_OF_SENT: []})
    db = fake_db(fake, driver)
    _, player = models(db)
    with pytest.raises(NotSupportedError, match=r"explicit transaction \(error 8135: as of"):
        stale_inside(db, player, way)
    assert stale_statements(fake) == []
    assert "BEGIN" in fake.statements and fake.statements[-1] == "ROLLBACK"
    assert not db.in_transaction()
    db.close()


def test_a_stale_query_made_inside_a_transaction_may_run_after_it(fake_server, driver):
    """The transaction is checked when the query runs, not when it is made."""
    fake = fake_tidb(fake_server, "v8.5.3", answers={AS_OF_SENT: []})
    db = fake_db(fake, driver)
    _, player = models(db)
    with db.atomic():
        stale = stale_select(player.select(), FIVE_SECONDS)
    assert list(stale) == []
    assert len(stale_statements(fake)) == 1
    db.close()
