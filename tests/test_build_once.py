"""build_once (tidb_dialect.build_once): a query rendered once per database, sent with each call's
values; the trade's UPDATE and refusal()'s SELECT use it, so a trade after the first renders no
SQL."""

import logging

import pytest
from peewee import SqliteDatabase

import peewee_example
from peewee_example import Player, trade
from tidb_dialect import build_once
from tidb_dialect.build_once import BuiltOnce


@build_once
def add_coins(player_id, coins):
    return Player.update(coins=Player.coins + coins).where(Player.id == player_id)


@build_once
def coins_of(player_id):
    return Player.select(Player.coins).where(Player.id == player_id)


@pytest.fixture
def contexts_made(player_db, monkeypatch):
    """How many SQL contexts player_db makes from here on (one per statement peewee renders)."""
    made = []
    make = player_db.get_sql_context

    def counted(**options):
        made.append(options)
        return make(**options)

    monkeypatch.setattr(player_db, "get_sql_context", counted)
    return made


@pytest.fixture
def two_players(player_db):
    Player.insert_many(
        [("a", 10, 1), ("b", 20, 2)], fields=list(Player._meta.sorted_fields)
    ).execute()
    return player_db


def sent(caplog):
    """(SQL, parameters) of each statement peewee sent, from its logger."""
    return [record.msg for record in caplog.records if record.name == "peewee"]


def test_rendered_once_then_sent_with_each_calls_values(two_players, contexts_made, caplog):
    caplog.set_level(logging.DEBUG, logger="peewee")
    assert add_coins("a", 5) == 1
    assert add_coins(player_id="b", coins="7") == 1  # "7": the field's db_value() makes it 7
    assert add_coins("nobody", 1) == 0
    assert [row.coins for row in coins_of("b")] == [27]
    assert len(contexts_made) == 2  # once per query on this database
    param = two_players.param
    update = "UPDATE `player` SET `coins` = (`player`.`coins` + %s) WHERE (`player`.`id` = %s)"
    update = update.replace("%s", param).replace("`", '"' if param == "?" else "`")
    assert sent(caplog)[:3] == [(update, [5, "a"]), (update, [7, "b"]), (update, [1, "nobody"])]
    assert {p.id: p.coins for p in Player.select()} == {"a": 15, "b": 27}


def test_a_trade_after_the_first_renders_no_sql(two_players, contexts_made, capsys):
    peewee_example.db.initialize(two_players)
    assert trade("b", "a", amount=1, price=3) is True
    del contexts_made[:]
    assert trade("b", "a", amount=1, price=4) is True
    assert contexts_made == []  # BEGIN, the UPDATE, COMMIT: nothing rendered
    assert {p.id: (p.coins, p.goods) for p in Player.select()} == {"a": (3, 3), "b": (27, 0)}


def test_a_refused_trade_after_the_first_renders_no_sql(two_players, contexts_made, capsys):
    peewee_example.db.initialize(two_players)
    assert trade("b", "a", amount=1, price=11) is False  # a has 10 coins
    del contexts_made[:]
    assert trade("b", "a", amount=3, price=1) is False  # b has 2 goods
    assert contexts_made == []  # the UPDATE, then refusal()'s SELECT: both built once
    assert capsys.readouterr().out.splitlines() == [
        "buy player a coins not enough",
        "sell player b goods not enough",
    ]
    assert {p.id: (p.coins, p.goods) for p in Player.select()} == {"a": (10, 1), "b": (20, 2)}


def balance(player_id):
    return Player.select(Player.id, Player.coins).where(Player.id == player_id)


#: balance()'s rows in each of peewee's result kinds, and how to read (id, coins) from one.
KINDS = {
    "objects": (balance, lambda p: (p.id, p.coins)),
    "tuples": (lambda player_id: balance(player_id).tuples(), tuple),
    "dicts": (lambda player_id: balance(player_id).dicts(), lambda p: (p["id"], p["coins"])),
    "namedtuples": (lambda player_id: balance(player_id).namedtuples(), lambda p: (p.id, p.coins)),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_selects_columns_are_matched_to_the_query_once(two_players, monkeypatch, kind):
    build, read = KINDS[kind]
    balance_of = BuiltOnce(build)  # not build_once(): its own rendering for each kind
    wrapper_class = type(balance_of.query._get_cursor_wrapper(None))
    matched = []
    initialize = wrapper_class.initialize
    monkeypatch.setattr(wrapper_class, "initialize", lambda self: matched.append(initialize(self)))
    # The first result has no row: its columns are matched all the same.
    assert [read(p) for p in balance_of("nobody")] == []
    assert [read(p) for p in balance_of("a")] == [("a", 10)]
    assert [read(p) for p in balance_of("b")] == [("b", 20)]
    assert len(matched) == 1


def test_an_argument_used_twice_is_converted_once(two_players, monkeypatch):
    converted = []
    db_value = Player.coins.db_value
    monkeypatch.setattr(Player.coins, "db_value", lambda v: converted.append(v) or db_value(v))

    @build_once
    def add_if_at_least(player_id, coins):
        query = Player.update(coins=Player.coins + coins)
        return query.where((Player.id == player_id) & (Player.coins >= coins))

    assert add_if_at_least("a", "10") == 1  # 10 coins: 10 more
    assert add_if_at_least("a", 30) == 0  # 20 coins: refused
    assert converted == ["10", 30]
    assert Player.get_by_id("a").coins == 20


def test_python_arithmetic_on_an_argument_becomes_sql(two_players, caplog):
    @build_once
    def at_most(limit_minus):
        return Player.select(Player.id).where(Player.coins <= 25 - limit_minus)

    caplog.set_level(logging.DEBUG, logger="peewee")
    assert [p.id for p in at_most(12)] == ["a"]
    sql, params = sent(caplog)[0]
    assert sql.endswith("<= (%s - %s))" % (two_players.param, two_players.param))
    assert params == [25, 12]


def test_a_list_of_arguments_is_a_fixed_number_of_values(two_players):
    @build_once
    def balances(first, second):
        return Player.select(Player.id, Player.coins).where(Player.id.in_([first, second]))

    assert sorted((p.id, p.coins) for p in balances("a", "b")) == [("a", 10), ("b", 20)]
    assert [p.id for p in balances("b", "nobody")] == ["b"]


def test_the_query_runs_where_its_model_is_bound_now(tmp_path):
    first, second = (SqliteDatabase(str(tmp_path / name)) for name in ("1.db", "2.db"))
    for database in (first, second):
        with Player.bind_ctx(database):
            database.create_tables([Player])
            Player.create(id="a", coins=1, goods=1)
    with Player.bind_ctx(second):
        assert add_coins("a", 10) == 1
    with Player.bind_ctx(first):
        assert [p.coins for p in coins_of("a")] == [1]
    with Player.bind_ctx(second):
        assert [p.coins for p in coins_of("a")] == [11]


def test_a_function_nested_in_another_is_built_once(two_players, contexts_made):
    def spend(player_id, coins):
        @build_once
        def take(player_id, coins):
            return Player.update(coins=Player.coins - coins).where(Player.id == player_id)

        return take(player_id, coins)

    assert spend("a", 1) == 1
    del contexts_made[:]
    assert spend("a", 2) == 1
    assert contexts_made == []
    assert Player.get_by_id("a").coins == 7


def test_a_closure_or_a_default_is_refused():
    bonus = 5

    def with_closure(player_id):
        return Player.update(coins=Player.coins + bonus).where(Player.id == player_id)

    def with_default(player_id, coins=1):
        return Player.update(coins=Player.coins + coins).where(Player.id == player_id)

    for build in (with_closure, with_default):
        with pytest.raises(
            TypeError, match="build_once: .*%s must take its values as plain" % build.__name__
        ):
            build_once(build)
