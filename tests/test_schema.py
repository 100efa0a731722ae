"""Table options from Meta (AUTO_ID_CACHE) and the foreign-key warning on old TiDB."""

import warnings

import pytest
from peewee import CharField, ForeignKeyField, Model, MySQLDatabase, SqliteDatabase

from tests.conftest import TIDB_MODE
from tidb_dialect import BigAutoRandomField, ConfigError, TiDBDatabase, TiDBModel, parse_version

AUTO_ID_CACHE_1 = "/*T![auto_id_cache] AUTO_ID_CACHE=1 */"


def tidb_at(raw_version):
    database = TiDBDatabase("test")
    database.version = parse_version(raw_version)
    return database


def counter_model(database, cache=1, base=TiDBModel):
    class Counter(base):
        name = CharField()

        class Meta:
            table_name = "counter"
            auto_id_cache = cache

    Counter._meta.set_database(database)
    return Counter


def create_sql(model):
    return model._schema._create_table(safe=False).query()[0]


@pytest.mark.parametrize(
    "database, suffix",
    [
        (tidb_at("8.0.11-TiDB-v8.5.3"), " " + AUTO_ID_CACHE_1),
        (tidb_at("5.7.25-TiDB-v6.1.0"), " " + AUTO_ID_CACHE_1),
        # Connected to a server that is not TiDB: left out.
        (tidb_at("8.0.36"), ""),
        (tidb_at("10.11.19-MariaDB-0+deb12u1"), ""),
        # A plain MySQLDatabase may be talking to TiDB or MySQL: the comment serves both.
        (MySQLDatabase("test"), " " + AUTO_ID_CACHE_1),
        (SqliteDatabase(":memory:"), ""),
    ],
)
def test_auto_id_cache_rendered_only_where_tidb_may_read_it(database, suffix):
    sql = create_sql(counter_model(database))
    assert sql.endswith("`name` VARCHAR(255) NOT NULL)" + suffix) or sql.endswith(
        '"name" VARCHAR(255) NOT NULL)' + suffix
    )


def test_auto_id_cache_value_is_written_as_given():
    assert create_sql(counter_model(tidb_at("8.0.11-TiDB-v7.5.1"), cache=100)).endswith(
        "/*T![auto_id_cache] AUTO_ID_CACHE=100 */"
    )


def test_options_are_inherited_by_subclasses():
    base = counter_model(tidb_at("8.0.11-TiDB-v7.5.1"))

    class Child(base):
        pass

    assert create_sql(Child).endswith(AUTO_ID_CACHE_1)


@pytest.mark.parametrize("cache", [0, -1, True, "1", 1.5])
def test_bad_auto_id_cache_fails_at_model_definition(cache):
    with pytest.raises(ValueError, match=r"Counter: Meta.auto_id_cache must be a whole number"):
        counter_model(SqliteDatabase(":memory:"), cache=cache)


def test_auto_id_cache_on_a_plain_model_is_refused_not_ignored():
    database = tidb_at("8.0.11-TiDB-v7.5.1")
    with pytest.raises(ConfigError, match=r"Counter: Meta\.auto_id_cache needs TiDBModel"):
        database.create_tables([counter_model(database, base=Model)])


def test_auto_random_key_with_auto_id_cache():
    class Order(TiDBModel):
        id = BigAutoRandomField(6, 54)

        class Meta:
            auto_id_cache = 1

    Order._meta.set_database(tidb_at("8.0.11-TiDB-v8.5.3"))
    assert create_sql(Order) == (
        "CREATE TABLE `order` (`id` BIGINT AUTO_RANDOM(6, 54) NOT NULL "
        "PRIMARY KEY) " + AUTO_ID_CACHE_1
    )


def test_the_table_is_created_on_the_real_server(mysql_db):
    model = counter_model(mysql_db)
    mysql_db.create_tables([model])
    assert model.create(name="a").id == 1
    table = mysql_db.execute_sql("SHOW CREATE TABLE `counter`").fetchone()[1]
    assert ("AUTO_ID_CACHE=1" in table) == TIDB_MODE


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
        match=r"Member: TiDB v6.5.0 .* does not enforce FOREIGN KEY"
        r".*v6.6.0.*team",
    ):
        mysql_db.create_tables([team, member])
    assert set(mysql_db.get_tables()) == {"team", "member"}
    assert [fk.column for fk in mysql_db.get_foreign_keys("member")] == ["team_id"]


@pytest.mark.parametrize("raw_version", ["8.0.11-TiDB-v6.6.0", "8.0.11-TiDB-v8.5.3"])
def test_no_warning_where_foreign_keys_are_enforced(mysql_db, raw_version):
    mysql_db.connect()
    mysql_db.version = parse_version(raw_version)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mysql_db.create_tables(list(fk_models(mysql_db)))


@pytest.mark.mariadb
def test_comment_form_is_ignored_by_mariadb(server_settings):
    """The version-free DDL of a plain MySQLDatabase runs on a server that is not TiDB."""
    plain = MySQLDatabase(
        server_settings.database,
        host=server_settings.host,
        port=server_settings.port,
        user=server_settings.user,
        password=server_settings.password,
    )
    model = counter_model(plain)
    assert create_sql(model).endswith(AUTO_ID_CACHE_1)
    plain.create_tables([model])
    table = plain.execute_sql("SHOW CREATE TABLE `counter`").fetchone()[1]
    assert "AUTO_ID_CACHE" not in table
    plain.close()
