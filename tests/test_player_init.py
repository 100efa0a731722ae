"""player_init.sql creates the same table as the Player model."""

import shutil
import subprocess

from peewee_example import Player
from tests.conftest import ROOT, player_init_statement, require
from tests.kit.servers import throwaway_database


def describe(database, schema):
    columns = database.execute_sql(
        "SELECT column_name, column_type, is_nullable, column_key FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'player' ORDER BY ordinal_position",
        (schema,),
    )
    checks = database.execute_sql(
        "SELECT check_clause FROM information_schema.check_constraints "
        "WHERE constraint_schema = %s AND table_name = 'player' ORDER BY check_clause",
        (schema,),
    )
    return list(columns), [row[0] for row in checks]


def test_init_sql_matches_model(mysql_db, server, database_name):
    client = shutil.which("mariadb") or shutil.which("mysql")
    require(client, "no mariadb or mysql command-line client")
    with throwaway_database(mysql_db, "t_sql_") as from_sql:
        with open(ROOT / "player_init.sql") as script:
            subprocess.run(
                [
                    client,
                    "-h",
                    server.host,
                    "-P",
                    str(server.port),
                    "-u",
                    server.user,
                    "--password=" + server.password,
                    from_sql,
                ],
                stdin=script,
                check=True,
                capture_output=True,
            )
        with Player.bind_ctx(mysql_db):
            mysql_db.create_tables([Player])
        from_model = describe(mysql_db, database_name)
        from_script = describe(mysql_db, from_sql)
    assert from_model == from_script
    assert [(name, null, key) for name, _, null, key in from_model[0]] == [
        ("id", "NO", "PRI"),
        ("coins", "NO", ""),
        ("goods", "NO", ""),
    ]
    assert from_model[0][0][1] == "varchar(36)"
    assert len(from_model[1]) == 2


def test_init_sql_runs_twice(mysql_db):
    for _ in range(2):
        mysql_db.execute_sql(player_init_statement())
    assert mysql_db.table_exists("player")
