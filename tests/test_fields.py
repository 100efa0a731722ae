"""BigAutoRandomField: AUTO_RANDOM DDL per TiDB release, auto-increment elsewhere.

The expected DDL follows the forms in the TiDB docs (auto-random.md):
``BIGINT AUTO_RANDOM(5)``, ``BIGINT AUTO_RANDOM(5, 54)``, range only from v6.3.0,
in a key asked to be clustered as TiDB's own SHOW CREATE TABLE writes it
(``PRIMARY KEY /*T![clustered_index] CLUSTERED */``, clustered-indexes.md). Pairs
TiDB refuses (pkg/ddl: fewer than 27 increment bits, error 8216) fail at definition.
"""

import warnings

import pytest
from peewee import CharField, DatabaseError, Model, MySQLDatabase, SqliteDatabase

from tests.conftest import TIDB_MODE, create_sql, fake_db, fake_tidb, tidb_at
from tidb_dialect import BigAutoRandomField, ConfigError, auto_id_cache

CLUSTERED = "/*T![clustered_index] CLUSTERED */"


def make_model(database, **field_args):
    class Event(Model):
        id = BigAutoRandomField(**field_args)
        name = CharField()

        class Meta:
            table_name = "event"

    Event._meta.set_database(database)
    return Event


@pytest.mark.parametrize(
    "raw_version, field_args, column",
    [
        ("8.0.11-TiDB-v8.5.3", {}, "`id` BIGINT AUTO_RANDOM(5) NOT NULL PRIMARY KEY " + CLUSTERED),
        (
            "8.0.11-TiDB-v8.5.3",
            {"shard_bits": 6},
            "`id` BIGINT AUTO_RANDOM(6) NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
        (
            "8.0.11-TiDB-v8.5.3",
            {"range": 54},
            "`id` BIGINT AUTO_RANDOM(5, 54) NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
        (
            "8.0.11-TiDB-v6.3.0",
            {"shard_bits": 15, "range": 43},  # the most shard bits the smallest range allows
            "`id` BIGINT AUTO_RANDOM(15, 43) NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
        (
            "8.0.11-TiDB-v6.3.0",
            {"shard_bits": 4, "range": 32},
            "`id` BIGINT AUTO_RANDOM(4, 32) NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
        (
            "8.0.11-TiDB-v8.5.3",
            {"shard_bits": 1, "range": 64},
            "`id` BIGINT AUTO_RANDOM(1) NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
        (
            "8.0.11-TiDB-X-CLOUD.202510.1",
            {"range": 54},  # names no release: a current one
            "`id` BIGINT AUTO_RANDOM(5, 54) NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
        (
            "8.0.36",
            {"shard_bits": 6, "range": 54},
            "`id` BIGINT AUTO_INCREMENT NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
        (
            "10.11.19-MariaDB-0+deb12u1",
            {},
            "`id` BIGINT AUTO_INCREMENT NOT NULL PRIMARY KEY " + CLUSTERED,
        ),
    ],
)
def test_ddl_per_server(raw_version, field_args, column):
    sql = create_sql(make_model(tidb_at(raw_version), **field_args))
    assert sql == "CREATE TABLE `event` (%s, `name` VARCHAR(255) NOT NULL)" % column


def test_range_left_out_before_tidb_6_3_with_a_warning():
    model = make_model(tidb_at("5.7.25-TiDB-v6.2.0"), shard_bits=6, range=54)
    with pytest.warns(UserWarning, match=r"Event.id: TiDB v6.2.0 has no AUTO_RANDOM range.*54"):
        sql = create_sql(model)
    assert "`id` BIGINT AUTO_RANDOM(6) NOT NULL PRIMARY KEY " + CLUSTERED in sql


def test_default_range_needs_no_warning_on_old_tidb():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "AUTO_RANDOM(5) " in create_sql(make_model(tidb_at("5.7.25-TiDB-v6.1.0")))


def test_servers_that_are_not_tidb_get_their_own_auto_increment_key():
    assert "`id` BIGINT AUTO_INCREMENT NOT NULL PRIMARY KEY " + CLUSTERED in create_sql(
        make_model(MySQLDatabase("test"))
    )
    assert '"id" INTEGER NOT NULL PRIMARY KEY ' + CLUSTERED in create_sql(
        make_model(SqliteDatabase(":memory:"))
    )


@pytest.mark.parametrize(
    "field_args, message",
    [
        ({"shard_bits": 0}, "shard_bits: must be a whole number from 1 to 15, got 0"),
        ({"shard_bits": 16}, "shard_bits: must be a whole number from 1 to 15, got 16"),
        ({"shard_bits": True}, "shard_bits: .* got True"),
        ({"range": 31}, "range: must be a whole number from 32 to 64, got 31"),
        ({"range": 65}, "range: must be a whole number from 32 to 64, got 65"),
        ({"range": "54"}, "range: .* got '54'"),
        # TiDB: "auto_random ID space is too small" (8216) below 27 increment bits.
        (
            {"shard_bits": 15, "range": 32},
            r"shard_bits=15, range=32\): leaves 16 bits .* at least 43",
        ),
        ({"shard_bits": 5, "range": 32}, r"shard_bits=5, range=32\): leaves 26 bits"),
        ({"shard_bits": 15, "range": 42}, r"shard_bits=15, range=42\): leaves 26 bits"),
    ],
)
def test_bad_arguments_fail_at_model_definition(field_args, message):
    with pytest.raises(ConfigError, match=message):
        make_model(SqliteDatabase(":memory:"), **field_args)


def order_model(database, settings):
    class Order(Model):
        id = BigAutoRandomField()
        name = CharField()

        class Meta:
            table_name = "orders"
            table_settings = settings

    Order._meta.set_database(database)
    return Order


def created_tables(fake):
    return [s for s in fake.statements if "CREATE TABLE" in s]


@pytest.mark.parametrize("release", ["v4.0.16", "v5.0.6"])
def test_auto_id_cache_on_an_auto_random_key_is_refused_before_tidb_5_1(
    fake_server, driver, release
):
    """Before v5.1.0 TiDB sizes only the row-id allocator by AUTO_ID_CACHE (pingcap/tidb #20512)."""
    fake = fake_tidb(fake_server, release)
    db = fake_db(fake, driver)
    model = order_model(db, ("ENGINE=InnoDB", auto_id_cache(100000)))
    with pytest.raises(ConfigError) as refused:
        db.create_tables([model])
    assert str(refused.value) == (
        "Order.id: TiDB %s gives AUTO_ID_CACHE to its row-id allocator only, not to "
        "AUTO_RANDOM keys (from v5.1.0), so the table would ignore it; drop auto_id_cache() "
        "from Meta.table_settings" % release
    )
    assert created_tables(fake) == []
    db.close()


@pytest.mark.parametrize("release", ["v5.1.0", "v8.5.3"])
def test_auto_id_cache_on_an_auto_random_key_is_sent_from_tidb_5_1(fake_server, driver, release):
    fake = fake_tidb(fake_server, release)
    db = fake_db(fake, driver)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        order_model(db, auto_id_cache(30000)).create_table()
    assert created_tables(fake) == [
        "CREATE TABLE IF NOT EXISTS `orders` (`id` BIGINT AUTO_RANDOM(5) NOT NULL PRIMARY KEY "
        + CLUSTERED
        + ", `name` VARCHAR(255) NOT NULL) /*T![auto_id_cache] AUTO_ID_CACHE=30000 */"
    ]
    db.close()


@pytest.mark.parametrize("release", ["v4.0.16", "v5.0.6", "v5.1.0", "v8.5.3"])
@pytest.mark.parametrize("setting", [auto_id_cache(0), "AUTO_ID_CACHE 0"])
def test_auto_id_cache_0_is_tidbs_default_cache_sent_everywhere_without_warning(
    fake_server, driver, release, setting
):
    """AUTO_ID_CACHE=0 means the default cache (auto-increment.md; autoid.go returns at once
    for 0): nothing for a release to ignore, nothing small to warn of."""
    fake = fake_tidb(fake_server, release)
    db = fake_db(fake, driver)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        db.create_tables([order_model(db, (setting,))])
    [created] = created_tables(fake)
    assert created.endswith(" " + setting)
    db.close()


@pytest.mark.parametrize("size", [1, 29999])
def test_a_small_auto_id_cache_on_an_auto_random_key_warns(fake_server, driver, size):
    """TiDB reserves AUTO_RANDOM ids AUTO_ID_CACHE at a time, each batch in a metadata
    transaction; its own cache never reserves fewer than 30000 (autoid.go, minStep)."""
    fake = fake_tidb(fake_server, "v5.1.0")
    db = fake_db(fake, driver)
    with pytest.warns(UserWarning) as warned:
        db.create_tables([order_model(db, auto_id_cache(size))])
    assert [str(w.message) for w in warned] == [
        "Order.id: AUTO_ID_CACHE=%d makes each TiDB server reserve AUTO_RANDOM ids in "
        "batches of %d (an INSERT of more rows reserves what it needs), each in a metadata "
        "transaction; TiDB's own cache reserves at least 30000, and an AUTO_ID_CACHE of 1 "
        "makes every INSERT pay one" % (size, size)
    ]
    assert len(created_tables(fake)) == 1
    db.close()


@pytest.mark.parametrize("database", [MySQLDatabase("test"), SqliteDatabase(":memory:")])
def test_auto_id_cache_on_an_auto_random_key_is_a_comment_elsewhere(database):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sql = create_sql(order_model(database, (auto_id_cache(1),)))
    assert sql.endswith(" /*T![auto_id_cache] AUTO_ID_CACHE=1 */")


def test_a_subclass_adding_auto_id_cache_to_an_auto_random_key_is_refused_on_old_tidb():
    class Order(Model):
        id = BigAutoRandomField()

        class Meta:
            database = tidb_at("5.7.25-TiDB-v5.0.6")

    class Archived(Order):
        class Meta:
            table_settings = auto_id_cache(100)

    assert "AUTO_RANDOM(5)" in create_sql(Order)
    with pytest.raises(ConfigError, match=r"^Archived\.id: TiDB v5\.0\.6 gives AUTO_ID_CACHE"):
        create_sql(Archived)


def test_auto_id_cache_on_an_auto_random_key_runs_on_the_real_server(mysql_db):
    """MariaDB reads the option as a comment; TiDB (v5.1.0 and later) keeps it."""
    model = order_model(mysql_db, (auto_id_cache(30000),))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mysql_db.create_tables([model])
    assert model.create(name="a").id > 0
    table = mysql_db.execute_sql("SHOW CREATE TABLE `orders`").fetchone()[1]
    assert ("AUTO_ID_CACHE=30000" in table) == TIDB_MODE


@pytest.mark.mariadb
def test_the_clustered_key_ddl_runs_on_mariadb(mysql_db):
    """The DDL of a plain MySQLDatabase (which may be TiDB): MariaDB takes the comment as one."""
    model = make_model(mysql_db)
    sql = create_sql(make_model(MySQLDatabase("test")))
    assert sql == (
        "CREATE TABLE `event` (`id` BIGINT AUTO_INCREMENT NOT NULL PRIMARY KEY "
        "/*T![clustered_index] CLUSTERED */, `name` VARCHAR(255) NOT NULL)"
    )
    mysql_db.execute_sql(sql)
    assert model.create(name="a").id == 1
    table = mysql_db.execute_sql("SHOW CREATE TABLE `event`").fetchone()[1]
    assert "PRIMARY KEY (`id`)" in table


def test_ddl_before_the_first_connection_connects_first(server_settings):
    database = server_settings.build_database()
    assert database.is_closed() and database.version is None
    model = make_model(database, shard_bits=6, range=54)
    sql = create_sql(model)  # peewee-tidb 0.1.1 raised TypeError here
    assert not database.is_closed()
    expected = "AUTO_RANDOM(6, 54)" if TIDB_MODE else "BIGINT AUTO_INCREMENT"
    assert expected in sql
    database.close()


def test_create_reads_the_generated_id_back(mysql_db):
    model = make_model(mysql_db, shard_bits=6, range=54)
    mysql_db.create_tables([model])
    created = [model.create(name="e%d" % n) for n in range(3)]
    ids = [event.id for event in created]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert [model.get_by_id(i).name for i in ids] == ["e0", "e1", "e2"]
    table = mysql_db.execute_sql("SHOW CREATE TABLE `event`").fetchone()[1]
    if mysql_db.is_tidb:
        # Below 2**53: sign bit, 6 shard bits, then a 47-bit increment (auto-random.md).
        assert "AUTO_RANDOM(6, 54)" in table
        assert all(i < 2**53 for i in ids)
        increments = [i & (2**47 - 1) for i in ids]
        assert increments == sorted(increments) and len(set(increments)) == 3
    else:
        assert "AUTO_INCREMENT" in table
        assert ids == [1, 2, 3]


def test_same_model_runs_on_sqlite(sqlite_db):
    model = make_model(sqlite_db, shard_bits=6, range=54)
    sqlite_db.create_tables([model])
    assert [model.create(name=n).id for n in "ab"] == [1, 2]


@pytest.mark.tidb
def test_tidb_refuses_explicit_ids_unless_allowed(mysql_db):
    model = make_model(mysql_db)
    mysql_db.create_tables([model])
    with pytest.raises(DatabaseError, match="8216"):
        model.create(id=42, name="explicit")
