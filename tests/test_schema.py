"""Table options (auto_id_cache) on every path, and warnings for constraints TiDB drops.

TiDB's forms: ``/*T![auto_id_cache] AUTO_ID_CACHE=1 */`` (auto-increment.md);
CHECK constraints kept only from v7.2 with tidb_enable_check_constraint=ON
(constraints.md); FOREIGN KEY enforced from v6.6 (foreign-key.md).
"""

import re
import warnings

import pytest
from peewee import (
    CharField,
    Check,
    ForeignKeyField,
    IntegerField,
    Model,
    MySQLDatabase,
    SqliteDatabase,
)

from tests.conftest import TIDB_MODE, create_sql, fake_db, fake_tidb, tidb_at
from tidb_dialect import BigAutoRandomField, ConfigError, TiDBDatabase, auto_id_cache, parse_version

AUTO_ID_CACHE_1 = "/*T![auto_id_cache] AUTO_ID_CACHE=1 */"


def counter_model(database, settings=(AUTO_ID_CACHE_1,)):
    class Counter(Model):
        name = CharField()

        class Meta:
            table_name = "counter"
            table_settings = tuple(settings)

    Counter._meta.set_database(database)
    return Counter


@pytest.mark.parametrize(
    "size, option",
    [(0, "AUTO_ID_CACHE=0 */"), (1, AUTO_ID_CACHE_1), (100, "AUTO_ID_CACHE=100 */")],
)
def test_auto_id_cache_is_written_in_tidb_comment_form(size, option):
    assert auto_id_cache(size).endswith(option)


@pytest.mark.parametrize("size", [-1, True, "1", 1.5, 2**63])
def test_bad_auto_id_cache_is_refused(size):
    with pytest.raises(ConfigError, match=r"auto_id_cache: must be a whole number from 0 to 9223"):
        auto_id_cache(size)


@pytest.mark.parametrize(
    "database",
    [
        tidb_at("8.0.11-TiDB-v8.5.3"),
        tidb_at("10.11.19-MariaDB-0+deb12u1"),
        MySQLDatabase("test"),
        SqliteDatabase(":memory:"),
    ],
    ids=["tidb", "TiDBDatabase on MariaDB", "plain MySQLDatabase", "sqlite"],
)
def test_auto_id_cache_is_written_for_every_database(database):
    sql = create_sql(counter_model(database, [auto_id_cache(1)]))
    assert re.search(
        r"[`\"]name[`\"] VARCHAR\(255\) NOT NULL\) " + re.escape(AUTO_ID_CACHE_1) + "$", sql
    )


def test_options_are_inherited_by_subclasses():
    base = counter_model(tidb_at("8.0.11-TiDB-v7.5.1"))

    class Child(base):
        pass

    assert create_sql(Child).endswith(AUTO_ID_CACHE_1)


@pytest.mark.parametrize(
    "database_class, create",
    [
        (TiDBDatabase, lambda db, model: model.create_table()),
        (TiDBDatabase, lambda db, model: db.create_tables([model])),
        (MySQLDatabase, lambda db, model: model.create_table()),
        (MySQLDatabase, lambda db, model: db.create_tables([model])),
    ],
    ids=[
        "TiDBDatabase, Model.create_table",
        "TiDBDatabase.create_tables",
        "MySQLDatabase, Model.create_table",
        "MySQLDatabase.create_tables",
    ],
)
def test_every_path_sends_the_option_to_the_server(fake_server, database_class, create):
    fake = fake_server()  # answers as TiDB v8.5.3
    db = database_class("test", host=fake.host, port=fake.port, user="root")
    create(db, counter_model(db))
    created = [s for s in fake.statements if s.startswith("CREATE TABLE")]
    assert created == [
        "CREATE TABLE IF NOT EXISTS `counter` (`id` INTEGER AUTO_INCREMENT NOT NULL PRIMARY KEY, "
        "`name` VARCHAR(255) NOT NULL) " + AUTO_ID_CACHE_1
    ]
    db.close()


def test_the_table_is_created_on_the_real_server(mysql_db):
    model = counter_model(mysql_db)
    model.create_table()
    assert model.create(name="a").id == 1
    table = mysql_db.execute_sql("SHOW CREATE TABLE `counter`").fetchone()[1]
    assert ("AUTO_ID_CACHE=1" in table) == TIDB_MODE


@pytest.mark.mariadb
def test_comment_form_is_ignored_by_mariadb_through_a_plain_mysql_database(server_settings):
    plain = MySQLDatabase(
        server_settings.database,
        host=server_settings.host,
        port=server_settings.port,
        user=server_settings.user,
        password=server_settings.password,
    )
    model = counter_model(plain)
    plain.create_tables([model])
    table = plain.execute_sql("SHOW CREATE TABLE `counter`").fetchone()[1]
    assert "AUTO_ID_CACHE" not in table
    plain.close()


def fk_models(database):
    class Team(Model):
        name = CharField()

    class Member(Model):
        team = ForeignKeyField(Team)

    for model in (Team, Member):
        model._meta.set_database(database)
    return Team, Member


def test_foreign_keys_before_tidb_6_6_are_created_with_a_warning(mysql_db):
    mysql_db.connect()
    mysql_db.version = parse_version("8.0.11-TiDB-v6.5.0")
    team, member = fk_models(mysql_db)
    with pytest.warns(
        UserWarning,
        match=r"Member: TiDB v6.5.0 does not enforce FOREIGN KEY constraints "
        r"\(enforced from TiDB v6.6.0 with foreign_key_checks and tidb_enable_foreign_key ON\), "
        r"so nothing stops writes that break them: team",
    ):
        mysql_db.create_tables([team, member])
    assert set(mysql_db.get_tables()) == {"team", "member"}
    assert [fk.column for fk in mysql_db.get_foreign_keys("member")] == ["team_id"]


FK_VARIABLES = "SELECT @@foreign_key_checks, @@GLOBAL.tidb_enable_foreign_key"


@pytest.mark.parametrize(
    "release, answer, warned",
    [
        ("v6.5.0", None, True),  # no foreign keys before v6.6: not asked
        ("v6.6.0", (1, "ON"), False),
        ("v8.5.3", (1, "ON"), False),
        ("v8.5.3", (0, "ON"), True),  # this session does not check them
        ("v8.5.3", (1, "OFF"), True),  # new tables do not get them
    ],
)
def test_foreign_keys_are_warned_about_unless_the_server_enforces_them(
    fake_server, driver, release, answer, warned
):
    fake = fake_tidb(fake_server, release, answers={FK_VARIABLES: [answer]} if answer else {})
    db = fake_db(fake, driver)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db.create_tables(list(fk_models(db)))
    expected = (
        "Member: TiDB %s does not enforce FOREIGN KEY constraints (enforced from TiDB v6.6.0 "
        "with foreign_key_checks and tidb_enable_foreign_key ON), so nothing stops writes "
        "that break them: team" % release
    )
    assert [str(w.message) for w in caught] == ([expected] if warned else [])
    assert (FK_VARIABLES in fake.statements) == (answer is not None)
    db.close()


def checked_model(database):
    class Wallet(Model):
        coins = IntegerField(constraints=[Check("coins >= 0")])
        owner = CharField()

        class Meta:
            constraints = (Check("coins < 1000000"),)

    Wallet._meta.set_database(database)
    return Wallet


CHECK_VARIABLE = "SELECT @@GLOBAL.tidb_enable_check_constraint"


@pytest.mark.parametrize(
    "version, tidb_version, switched_on, warned",
    [
        ("8.0.11-TiDB-v7.1.0", "Release Version: v7.1.0", None, "TiDB v7.1.0"),
        ("8.0.11-TiDB-v8.5.3", "Release Version: v8.5.3", 0, "TiDB v8.5.3"),
        ("8.0.11-TiDB-v8.5.3", "Release Version: v8.5.3", 1, None),
        ("8.0.36", None, None, None),  # MySQL 8.0.16+ enforces CHECK
    ],
)
def test_check_constraints_tidb_drops_are_warned_about(
    fake_server, version, tidb_version, switched_on, warned
):
    answers = {} if switched_on is None else {CHECK_VARIABLE: [(switched_on,)]}
    fake = fake_server(version=version, tidb_version=tidb_version, answers=answers)
    db = TiDBDatabase("test", host=fake.host, port=fake.port, user="root")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db.create_tables([checked_model(db)])
    messages = [str(w.message) for w in caught]
    if warned is None:
        assert messages == []
    else:
        assert messages == [
            "Wallet: %s does not enforce CHECK constraints (enforced from TiDB v7.2.0 with "
            "tidb_enable_check_constraint=ON), so nothing stops writes that break them: "
            "coins, Meta.constraints" % warned
        ]
    assert (CHECK_VARIABLE in fake.statements) == (switched_on is not None)
    db.close()


def test_no_question_about_checks_for_a_model_without_any(fake_server):
    fake = fake_server()
    db = TiDBDatabase("test", host=fake.host, port=fake.port, user="root")
    db.create_tables([counter_model(db, [])])
    assert CHECK_VARIABLE not in fake.statements
    db.close()


@pytest.mark.parametrize(
    "settings, size",
    [
        ("auto_id_cache=1", 1),
        (("ENGINE=InnoDB", "auto_id_cache = 100"), 100),
        ("/*T![auto_id_cache] Auto_Id_Cache=1 */", 1),
        ("AUTO_ID_CACHE 250", 250),
    ],
    ids=["lower case", "lower case among others", "mixed case in TiDB's comment", "no ="],
)
def test_a_hand_written_auto_id_cache_in_any_case_is_seen(settings, size):
    """Table options are case-insensitive and `=` is optional, so a setting written by hand
    counts: its size is the one the warning about an AUTO_RANDOM key names."""

    class Ticket(Model):
        id = BigAutoRandomField()

        class Meta:
            database = tidb_at("8.0.11-TiDB-v8.5.3")
            table_settings = settings

    with pytest.warns(UserWarning, match=r"^Ticket\.id: AUTO_ID_CACHE=%d makes" % size):
        create_sql(Ticket)


def test_other_table_settings_on_an_auto_random_key_pass_on_old_tidb():
    class Ticket(Model):
        id = BigAutoRandomField()

        class Meta:
            database = tidb_at("5.7.25-TiDB-v5.0.6")
            table_settings = ("ENGINE=InnoDB", "COMMENT='no id cache here'")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert create_sql(Ticket).endswith("ENGINE=InnoDB COMMENT='no id cache here'")
