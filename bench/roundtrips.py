"""Round trips: statements per operation as the server counts them, ours and the public sample's."""

import peewee_example
from peewee_example import Player

from .measure import counted
from .public_sample import PATTERNS, walkthrough_trades

#: The walkthrough's two trades, from the state it sets up.
REFUSED = dict(sell_id="2", buy_id="1", amount=10, price=500)
DONE = dict(sell_id="2", buy_id="1", amount=2, price=100)


def walkthrough_statements(db, trade_function):
    with walkthrough_trades(trade_function):
        return counted(db, peewee_example.walkthrough)[2]


def reset_traders():
    """Players 1 and 2 as the walkthrough creates them."""
    Player.delete().where(Player.id.in_(["1", "2"])).execute()
    Player.create(id="1", coins=100, goods=0)
    Player.create(id="2", coins=114514, goods=20)


def trade_statements(db, trade_function):
    """Statements of the refused trade and of the trade that happens; the players' state after."""
    reset_traders()
    _, refused, refused_statements = counted(db, lambda: trade_function(**REFUSED))
    _, done, done_statements = counted(db, lambda: trade_function(**DONE))
    if (refused, done) != (False, True):
        raise AssertionError("the trades returned %r and %r, not False and True" % (refused, done))
    final = [
        (p.id, p.coins, p.goods)
        for p in Player.select().where(Player.id.in_(["1", "2"])).order_by(Player.id)
    ]
    return {"trade": done_statements, "refused_trade": refused_statements}, final


def run(db, driver):
    db.create_tables([Player])
    results = {}
    finals = set()
    for name, trade_function in PATTERNS.items():
        statements, final = trade_statements(db, trade_function)
        statements["walkthrough"] = walkthrough_statements(db, trade_function)
        results[name] = statements
        finals.add(tuple(final))
    return {"driver": driver, "statements": results, "same_final_state": len(finals) == 1}
