"""TiDBModel.bulk_create (tidb_dialect.bulk): the same statements, rows and errors as peewee's own.

Every comparison loads the same data twice, once through a model on
TiDBModel's fast path and once through the same model on plain peewee, and
compares what reached the server (or, for the statement itself, what
peewee would send). The values are chosen to be awkward: 4-byte
characters, NULLs, auto-increment keys left to the server, text in an
integer field, a foreign key given as a row.
"""

import datetime
import decimal
import itertools
import logging

import pytest
from peewee import (
    AutoField,
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    MySQLDatabase,
    OperationalError,
    TextField,
    chunked,
    fn,
)

import peewee_example
from peewee_example import BATCH_SIZE, Player
from tests.conftest import fake_db, fake_tidb, relayed_database
from tidb_dialect import ConfigError, TiDBDatabase, TiDBModel
from tidb_dialect.bulk import bind, insert_fields, insert_sql

BULK_PLAYERS = 1919  # the walkthrough's load


class Team(Model):
    name = CharField(primary_key=True)


def make_models(base, suffix, database):
    """A model with a field of every common kind, and one with a text key, on `base`."""

    class Meta:
        table_name = "item_" + suffix

    counter = itertools.count(1)
    item = type(
        "Item" + suffix,
        (base,),
        {
            "__module__": __name__,
            "Meta": Meta,
            "id": AutoField(),
            "name": CharField(max_length=40),
            "note": TextField(null=True),
            "amount": IntegerField(null=True),
            "ratio": FloatField(null=True),
            "price": DecimalField(max_digits=10, decimal_places=2, null=True),
            "flag": BooleanField(default=False),
            "seen": DateTimeField(null=True),
            "blob": BlobField(null=True),
            "team": ForeignKeyField(Team, null=True, field="name"),
            "serial": IntegerField(default=lambda: next(counter)),  # a callable default
        },
    )
    item.bind(database)
    return item


ROWS = [
    dict(name="plain", note="text", amount=1, ratio=0.5, price=decimal.Decimal("9.99")),
    dict(name="𝄞 clef 😀", note="4-byte: 🀄", amount=-7, flag=True),
    dict(name="nulls", note=None, amount=None, ratio=None, price=None, seen=None, blob=None),
    dict(name="text in an int", amount="42", ratio="1.25", price="3.5"),
    dict(name="when", seen=datetime.datetime(2024, 2, 29, 23, 59, 58), blob=b"\x00\xff'\\"),
    dict(name="quotes ' \" \\ %s ?", note="%(x)s %% ; DROP TABLE item", flag=1),
    dict(name="team as a row", team="red"),
    dict(name="big", amount=2**31 - 1, ratio=3e38, price=decimal.Decimal("-12345678.90")),
]


def objects(model):
    rows = []
    for number, values in enumerate(ROWS * 30):  # 240 rows: two full batches and a short one
        row = dict(values, name="%s #%d" % (values["name"], number))
        if row.get("team") == "red":
            row["team"] = Team(name="red")  # a related row, as an application passes it
        rows.append(model(**row))
    return rows


@pytest.fixture
def two_models(driver_db):
    """(fast, plain): the same model twice, on TiDBModel and on peewee's Model, empty."""
    Team._meta.set_database(driver_db)
    fast = make_models(TiDBModel, "fast", driver_db)
    plain = make_models(Model, "plain", driver_db)
    driver_db.create_tables([Team, fast, plain])
    Team.create(name="red")
    return fast, plain


@pytest.fixture
def relayed(server, server_settings, driver, relay):
    """(database, relay): a TiDBDatabase on the test's database whose statements the relay
    records (tests/kit/relay.py)."""
    through = relay(server)
    database = TiDBDatabase(
        server_settings.database,
        **dict(server_settings.connect_params(), driver=driver, port=through.port),
    )
    database.connect()  # its SET NAMES and version detection come before what a test counts
    yield database, through
    database.close()


def table_rows(model):
    return [
        tuple(row)
        for row in model._meta.database.execute_sql(
            "SELECT * FROM %s ORDER BY id" % model._meta.table_name
        ).fetchall()
    ]


def test_the_same_rows_as_peewee(two_models):
    fast, plain = two_models
    for model in (fast, plain):
        rows = objects(model)
        with model._meta.database.atomic():
            model.bulk_create(rows, batch_size=100)
        assert {row.id for row in rows} == {None}  # as peewee: no auto-increment ids set
    loaded = table_rows(fast)
    assert len(loaded) == 240
    assert loaded == table_rows(plain)
    assert [type(value) for value in loaded[3]] == [type(value) for value in table_rows(plain)[3]]
    assert loaded[1][1] == "𝄞 clef 😀 #1"
    assert loaded[2][2:6] + loaded[2][7:10] == (None,) * 7  # NULLs, and a default False
    assert [row[0] for row in loaded] == list(range(1, 241))  # keys from the server


@pytest.mark.parametrize(
    "args, kwargs",
    [
        pytest.param((), {}, id="defaults only"),
        pytest.param((), dict(name="a", amount=1, note=None), id="plain fields"),
        pytest.param((), dict(flag=True, serial=7, name="b"), id="over the defaults"),
        pytest.param((), dict(name="c", team=Team(name="red")), id="a foreign key's row"),
        pytest.param((), dict(name="d", team_id="red"), id="a foreign key's id"),
        pytest.param((), dict(name="e", extra="not a field"), id="not a field"),
        pytest.param((), dict(__no_default__=1, name="f"), id="no defaults, as a SELECT"),
        pytest.param(("ignored",), dict(name="g"), id="positional"),
    ],
)
def test_objects_are_made_as_peewee_makes_them(args, kwargs):
    database = MySQLDatabase("unused")
    made = [
        vars(make_models(base, suffix, database)(*args, **kwargs))
        for base, suffix in ((TiDBModel, "fast"), (Model, "plain"))
    ]
    assert made[0] == made[1]
    assert list(made[0]["__data__"]) == list(made[1]["__data__"])  # in the same order


def columns(rows):
    return [list(column) for column in zip(*rows, strict=True)]


def test_the_same_statement_and_values_as_peewee():
    database = MySQLDatabase("unused")  # rendering needs no connection
    fast = make_models(TiDBModel, "fast", database)
    fields = insert_fields(fast)
    attrs = [f.object_id_name if isinstance(f, ForeignKeyField) else f.name for f in fields]
    rows = [[getattr(item, attr) for attr in attrs] for item in objects(fast)[:BATCH_SIZE]]
    expected_sql, expected_params = (
        database.get_sql_context().sql(fast.insert_many(rows, fields=fields)).query()
    )
    assert expected_sql.count("%s") == BATCH_SIZE * 10  # all but the auto-increment key
    names = tuple(f.name for f in fields)
    sql = insert_sql(fast, fast._meta.table, names, len(rows), database)
    assert sql == expected_sql
    statement, params = bind(sql, fields, columns(rows))
    # `serial` (a callable default), the last of the 10, is the one column of whole numbers:
    # written in, as the drivers write them; every other value is a parameter, as peewee's.
    serial = [p for i, p in enumerate(expected_params) if i % 10 == 9]
    others = [p for i, p in enumerate(expected_params) if i % 10 != 9]
    assert {type(p) for p in serial} == {int}
    assert statement == expected_sql % tuple(
        str(p) if i % 10 == 9 else "%s" for i, p in enumerate(expected_params)
    )
    assert params == others and list(map(type, params)) == list(map(type, others))


def test_every_kind_of_field_reaches_the_server_as_peewee_sends_it(two_models, relayed):
    database, through = relayed
    fast, plain = two_models
    sent = []
    for model in (fast, plain):
        model.bind(database)
        through.reset()
        with database.atomic():
            model.bulk_create(objects(model), batch_size=100)
        sent.append([s.replace(model._meta.table_name, "item") for s in through.statements])
    assert sent[0] == sent[1]
    assert len(sent[0]) == 5  # BEGIN, 100 + 100 + 40 rows, COMMIT


def test_whole_numbers_are_written_in_and_the_rest_left_to_the_driver():
    database = MySQLDatabase("unused")  # rendering needs no connection
    fields = insert_fields(PlainPlayer)
    rows = [("a'", 10, -2), ("b", 0, 2**70), (None, 5, 1)]
    sql = insert_sql(PlainPlayer, PlainPlayer._meta.table, ("id", "coins", "goods"), 3, database)
    assert bind(sql, fields, columns(rows)) == (
        "INSERT INTO `player` (`id`, `coins`, `goods`) VALUES "
        "(%s, 10, -2), (%s, 0, 1180591620717411303424), (%s, 5, 1)",
        ["a'", "b", None],
    )
    # Not exactly int (True, None, text): every value of that column goes to the driver.
    mixed = [("a", True, 1), ("b", None, 2), ("c", "3", 3)]
    statement, params = bind(sql, fields, columns(mixed))
    assert statement.startswith("INSERT INTO `player` (`id`, `coins`, `goods`) VALUES (%s, %s, 1)")
    assert params == ["a", 1, "b", None, "c", 3]  # IntegerField's db_value() made them numbers


@pytest.mark.parametrize(
    "bad_rows",
    [
        pytest.param([dict(id="a"), dict(id="a")], id="duplicate key"),
        pytest.param([dict(id="a"), dict(id=None)], id="None primary key"),
        pytest.param([dict(id="x" * 37)], id="too long"),
        pytest.param([dict(id="a", coins=-1)], id="check constraint"),
    ],
)
def test_the_same_errors_as_peewee(driver_db, bad_rows):
    """The same error, or (where the session's sql_mode lets the server let it pass, as
    peewee 3.17's PIPES_AS_CONCAT does) the same rows."""
    outcomes = []
    for base in (TiDBModel, Model):

        class Account(base):
            id = CharField(max_length=36, primary_key=True)
            coins = IntegerField(default=0, constraints=[peewee_example.Check("coins >= 0")])

        Account.bind(driver_db)
        driver_db.create_tables([Account])
        try:
            with driver_db.atomic():
                Account.bulk_create([Account(**row) for row in bad_rows])
        except Exception as exc:
            outcomes.append((type(exc), exc.args))
        else:
            outcomes.append(list(Account.select().order_by(Account.id).tuples()))
        driver_db.drop_tables([Account])
    assert outcomes[0] == outcomes[1]


def test_sql_expressions_take_peewees_path(two_models, caplog):
    fast, plain = two_models
    for model in (fast, plain):
        rows = [model(name=fn.CONCAT("made by ", "SQL"), amount=n) for n in range(3)]
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            model.bulk_create(rows)
    assert table_rows(fast) == table_rows(plain)
    assert table_rows(fast)[0][1] == "made by SQL"
    inserts = [r.msg[0] for r in caplog.records if str(r.msg[0]).startswith("INSERT")]
    assert len(inserts) == 2 and all("CONCAT(" in sql for sql in inserts)


class UpperCaseField(CharField):
    """A field whose db_value() is SQL: peewee writes UPPER(...) into the statement."""

    def db_value(self, value):
        return fn.UPPER(value)


def test_a_field_converting_to_sql_takes_peewees_path(driver_db):
    class Shout(TiDBModel):
        word = UpperCaseField(primary_key=True)

    Shout.bind(driver_db)
    driver_db.create_tables([Shout])
    Shout.bulk_create([Shout(word="hey"), Shout(word="ho")])
    assert sorted(s.word for s in Shout.select()) == ["HEY", "HO"]


class CentsField(IntegerField):
    """A field whose db_value() converts in Python: euros in, whole cents stored."""

    def db_value(self, value):
        return None if value is None else round(value * 100)


def test_a_custom_fields_db_value_is_applied(driver_db):
    class Price(TiDBModel):
        cents = CentsField(null=True)

    Price.bind(driver_db)
    driver_db.create_tables([Price])
    Price.bulk_create([Price(cents=1.5), Price(cents=2), Price(cents=None)])
    stored = driver_db.execute_sql("SELECT cents FROM price ORDER BY id").fetchall()
    assert [row[0] for row in stored] == [150, 200, None]


def test_empty_and_zero_sized_batches_send_nothing(player_db):
    Player.bulk_create([])
    Player.bulk_create([Player(id="a", coins=1, goods=1)], batch_size=0)
    Player.bulk_create(iter([]), batch_size=10)
    assert Player.select().count() == 0


class PlainPlayer(Model):
    """peewee_example.Player on peewee's own Model."""

    id = CharField(max_length=36, primary_key=True)
    coins = IntegerField()
    goods = IntegerField()

    class Meta:
        table_name = "player"


def test_the_wire_carries_one_insert_per_batch_as_peewee_sends_it(relayed):
    database, through = relayed
    players = [("p%04d 😀" % n, n, BULK_PLAYERS - n) for n in range(BULK_PLAYERS)]
    sent = []
    peewee_example.db.initialize(database)
    try:
        database.create_tables([Player])
        PlainPlayer.bind(database)
        for model in (Player, PlainPlayer):
            database.execute_sql("DELETE FROM player")
            through.reset()
            with database.atomic():
                for batch in chunked(players, BATCH_SIZE):
                    model.bulk_create([model(id=i, coins=c, goods=g) for i, c, g in batch])
            sent.append((through.round_trips, list(through.statements)))
    finally:
        peewee_example.db.initialize(None)
    assert sent[0] == sent[1]  # byte for byte what peewee sends
    round_trips, statements = sent[0]
    assert round_trips == 19 and len(statements) == 19
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    head = "INSERT INTO `player` (`id`, `coins`, `goods`) VALUES ("
    assert all(s.startswith(head) for s in statements[1:-1])
    assert [s.count("), (") + 1 for s in statements[1:-1]] == [BATCH_SIZE] * 16 + [95]


class ReturningDatabase(TiDBDatabase):
    """MariaDB knows INSERT ... RETURNING; peewee uses it when a database says so."""

    returning_clause = True

    def last_insert_id(self, cursor, query_type=None):
        return cursor  # the rows RETURNING gave (peewee 3.17 would ask for lastrowid)


def test_a_database_with_returning_takes_peewees_path(server_settings):
    database = ReturningDatabase(server_settings.database, **server_settings.connect_params())

    class Numbered(TiDBModel):
        id = AutoField()
        name = CharField()

    Numbered.bind(database)
    database.create_tables([Numbered])
    rows = [Numbered(name=name) for name in ("a", "b", "c")]
    Numbered.bulk_create(rows)
    assert [row.id for row in rows] == [1, 2, 3]  # peewee's RETURNING set them
    database.close()


def test_a_database_with_its_own_converters_takes_peewees_path(server_settings):
    """A driver given `conv` may write values its own way: peewee's path honours that."""
    import pymysql.converters

    conv = dict(pymysql.converters.conversions)
    conv[int] = lambda value, mapping=None: str(value * 10)  # whole numbers written tenfold
    database = MySQLDatabase(
        server_settings.database, conv=conv, **server_settings.connect_params()
    )
    Player.bind(database)
    try:
        database.create_tables([Player])
        Player.bulk_create([Player(id="p%d" % n, coins=n, goods=1) for n in range(4)], 2)
        stored = database.execute_sql("SELECT coins FROM player ORDER BY id").fetchall()
        assert [row[0] for row in stored] == [0, 10, 20, 30]  # by the driver's converter
    finally:
        Player.bind(peewee_example.db)
        database.close()


def test_a_tidb_database_takes_no_converters():
    """So on a TiDBDatabase whole numbers are always the drivers' own str()."""
    with pytest.raises(ConfigError, match=r"^conv: refused: the fast bulk_create\(\) writes"):
        TiDBDatabase("test", conv={})


def test_a_model_with_no_field_to_insert_takes_peewees_path(driver_db):
    class Counter(TiDBModel):
        id = AutoField()

    Counter.bind(driver_db)
    driver_db.create_tables([Counter])
    Counter.bulk_create([Counter(), Counter()])
    assert [c.id for c in Counter.select().order_by(Counter.id)] == [1, 2]


def test_a_renamed_table_gets_its_own_statement(player_db):
    Player.bulk_create([Player(id="a", coins=1, goods=1)])
    player_db.execute_sql("CREATE TABLE player_copy AS SELECT * FROM player WHERE 1 = 0")
    Player._meta.set_table_name("player_copy")
    try:
        Player.bulk_create([Player(id="b", coins=2, goods=2)])
        assert [p.id for p in Player.select()] == ["b"]
    finally:
        Player._meta.set_table_name("player")
    assert [p.id for p in Player.select()] == ["a"]


def test_a_generator_of_players_is_consumed_one_batch_at_a_time(relay, server, database_name):
    """100,000 players from a generator: when player k is made, the server has had exactly
    k // batch_size INSERTs, so no more than one batch is ever held."""
    relayed = relay(server)
    database = relayed_database(relayed, server, database_name)
    statements_before = []  # for each player made, how many statements the server had

    def players(count):
        for n in range(count):
            statements_before.append(len(relayed.statements))
            yield Player(id="p%d" % n, coins=n, goods=1)

    with Player.bind_ctx(database):
        database.create_tables([Player])
        relayed.reset()
        with database.atomic():
            Player.bulk_create(players(100_000), batch_size=BATCH_SIZE)
        assert Player.select().count() == 100_000
    database.close()
    inserts = list(itertools.accumulate(s.startswith("INSERT") for s in relayed.statements))
    assert inserts[-1] == -(-100_000 // BATCH_SIZE)  # 878 INSERTs, the last one of 26 rows
    assert [inserts[seen - 1] for seen in statements_before] == [
        n // BATCH_SIZE for n in range(100_000)
    ]


# --- Without batch_size, no statement past MAX_ROWS rows ---

MAX_ROWS = 1000  # written out: the documented bound


class Note(TiDBModel):
    id = CharField(primary_key=True)
    body = TextField()


def inserts(fake):
    """The number of rows of each INSERT the fake received."""
    return [s.count("), (") + 1 for s in fake.statements if s.startswith("INSERT")]


@pytest.mark.parametrize(
    "body", ["b", fn.CONCAT("b")], ids=["values", "an SQL value (peewee's path)"]
)
def test_without_batch_size_an_insert_holds_at_most_1000_rows(fake_server, driver, body):
    fake = fake_tidb(fake_server, "v8.5.3")
    db = fake_db(fake, driver)
    pulled_at_insert = []

    def notes():
        for n in range(2500):
            if n % MAX_ROWS == 0:
                pulled_at_insert.append(len(inserts(fake)))
            yield Note(id="n%d" % n, body=body)

    with Note.bind_ctx(db):
        Note.bulk_create(notes())
    assert inserts(fake) == [1000, 1000, 500]
    assert pulled_at_insert == [0, 1, 2]  # a batch at a time: never the whole generator
    db.close()


def test_an_insert_too_big_for_the_server_fails_with_its_error_as_peewees(driver_db):
    """1000 rows past max_allowed_packet: the server's error, not a silent split; a smaller
    batch_size loads them."""
    max_packet = driver_db.execute_sql("SELECT @@max_allowed_packet").fetchone()[0]
    body = "b" * (max_packet // MAX_ROWS + 100)
    errors = []
    for base in (TiDBModel, Model):

        class Big(base):
            id = CharField(primary_key=True)
            body = TextField()

        Big.bind(driver_db)
        driver_db.create_tables([Big])
        rows = [Big(id="n%d" % n, body=body) for n in range(MAX_ROWS)]
        with pytest.raises(OperationalError) as failed:
            Big.bulk_create(rows, None if base is TiDBModel else MAX_ROWS)
        errors.append(failed.value.args)
        driver_db.close()  # the server closed the connection
        Big.bulk_create(rows, batch_size=100)
        assert Big.select().count() == MAX_ROWS
        driver_db.drop_tables([Big])
    assert errors == [(1153, "Got a packet bigger than 'max_allowed_packet' bytes")] * 2
