"""The comparison baseline: a trade written the way the public TiDB sample writes it.

Two plain reads, then the two updates, with commit() or rollback() called
inside the atomic() block. The result is the same as peewee_example.trade()'s
when nothing runs concurrently; what differs is the statements sent: peewee
begins a new transaction after an explicit commit() or rollback() inside
atomic(), and the block then commits that empty one.
"""

from unittest import mock

import peewee_example
from peewee_example import Player, db


def trade(sell_id, buy_id, amount, price):
    with db.atomic() as txn:
        seller = Player.get_by_id(sell_id)
        buyer = Player.get_by_id(buy_id)
        if buyer.coins < price or seller.goods < amount:
            txn.rollback()
            return False
        Player.update(goods=Player.goods - amount, coins=Player.coins + price).where(
            Player.id == sell_id
        ).execute()
        Player.update(goods=Player.goods + amount, coins=Player.coins - price).where(
            Player.id == buy_id
        ).execute()
        txn.commit()
    return True


def walkthrough_trades(trade_function):
    """For a `with` block: peewee_example.walkthrough() makes its trades with `trade_function`."""
    return mock.patch.object(peewee_example, "trade", trade_function)


#: The two ways to trade that the bench compares, by name.
PATTERNS = {"ours": peewee_example.trade, "public sample": trade}
