"""TiDBDatabase against the real server, with each driver."""

import pytest

from peewee_example import Settings
from tests.conftest import TIDB_MODE, server_environ
from tidb_dialect import ConfigError, TiDBDatabase, parse_version


def test_connects_with_each_driver_and_reads_version(server, database_name, driver):
    settings = Settings.from_mapping(
        dict(server_environ(server, database_name), TIDB_DRIVER=driver)
    )
    database = settings.build_database()
    assert database.execute_sql("SELECT 1 + 1").fetchone()[0] == 2
    assert database.version.is_tidb == TIDB_MODE
    assert database.server_version == database.version.mysql
    assert (
        type(database.connection()).__module__.split(".")[0]
        == {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}[driver]
    )
    database.close()


def test_unknown_driver_is_a_config_error():
    with pytest.raises(ConfigError, match="^driver: unknown driver .mysql-connector. "):
        TiDBDatabase("test", driver="mysql-connector")


def test_nested_atomic_refused_before_tidb_6_2(mysql_db):
    mysql_db.connect()
    mysql_db.version = parse_version("5.7.25-TiDB-v6.1.0")
    with mysql_db.atomic():
        with pytest.raises(NotImplementedError, match="TiDB v6.1.0.*transaction()"):
            with mysql_db.atomic():
                pass
        with mysql_db.transaction():  # flattened into the outer block
            mysql_db.execute_sql("SELECT 1")


def test_nested_atomic_allowed_from_tidb_6_2(mysql_db):
    mysql_db.connect()
    mysql_db.version = parse_version("8.0.11-TiDB-v6.2.0")
    with mysql_db.atomic(), mysql_db.atomic():
        assert mysql_db.execute_sql("SELECT 1").fetchone()[0] == 1
