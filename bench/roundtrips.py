"""Round trips per operation, counted on the wire by the relay: ours, the public sample's, pools'.

A round trip is a command the client sent and waited for (tests/kit/relay.py);
the statements among them are counted apart. Against a remote server each
round trip costs one network round-trip time, whatever the statement.
"""

from playhouse.pool import PooledMySQLDatabase

from peewee_example import Player
from tidb_dialect import PooledTiDBDatabase

from .measure import on_the_wire
from .public_sample import PATTERNS

#: The walkthrough's two trades, from the state it sets up.
REFUSED = dict(sell_id="2", buy_id="1", amount=10, price=500)
DONE = dict(sell_id="2", buy_id="1", amount=2, price=100)


def reset_traders():
    """Players 1 and 2 as the walkthrough creates them."""
    Player.delete().where(Player.id.in_(["1", "2"])).execute()
    Player.create(id="1", coins=100, goods=0)
    Player.create(id="2", coins=114514, goods=20)


def counted(relay, action):
    """{"round_trips", "statements"} of `action`, and its result."""
    _, result, round_trips = on_the_wire(relay, action)
    return {"round_trips": round_trips, "statements": len(relay.statements)}, result


def trades(relay, trade_function):
    """The refused trade and the trade that happens, and the players' state after them."""
    reset_traders()
    refused_counts, refused = counted(relay, lambda: trade_function(**REFUSED))
    done_counts, done = counted(relay, lambda: trade_function(**DONE))
    if (refused, done) != (False, True):
        raise AssertionError("the trades returned %r and %r, not False and True" % (refused, done))
    final = [
        (p.id, p.coins, p.goods)
        for p in Player.select().where(Player.id.in_(["1", "2"])).order_by(Player.id)
    ]
    return {"trade": done_counts, "refused_trade": refused_counts}, final


def pool_request(relay, pool):
    """A request's checkout and return of a warm pooled connection, with no statement."""
    pool.connect()
    pool.close()
    counts, _ = counted(relay, lambda: (pool.connect(), pool.close()))
    pool.close_all()
    return counts


def pools(relay, settings, driver):
    """Ours, and playhouse's PooledMySQLDatabase (it uses PyMySQL whatever the driver)."""
    params = dict(settings.connect_params(), driver=driver, host=relay.host, port=relay.port)
    figures = {"ours": pool_request(relay, PooledTiDBDatabase(settings.database, **params))}
    if driver == "pymysql":
        del params["driver"]
        figures["playhouse"] = pool_request(relay, PooledMySQLDatabase(settings.database, **params))
    return figures


def run(database, relay, settings, driver):
    """`database` must reach the server through `relay`."""
    database.create_tables([Player])
    results, finals = {}, set()
    for name, (trade_function, walkthrough) in PATTERNS.items():
        counts, final = trades(relay, trade_function)
        counts["walkthrough"], _ = counted(relay, walkthrough)
        results[name] = counts
        finals.add(tuple(final))
    return {
        "driver": driver,
        "operations": results,
        "same_final_state": len(finals) == 1,
        "pool_request": pools(relay, settings, driver),
    }
