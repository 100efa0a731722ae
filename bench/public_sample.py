"""The comparison baseline: the public TiDB sample for peewee, step by step.

The public sample (pingcap-inc/tidb-example-python, peewee_example.py) is one
script on a plain peewee Model: it drops and creates the player table, creates a
player and reads it back, bulk_creates 1919 players in batches of 114 (peewee's
bulk_create, which wraps them in one transaction), counts them, lists three,
creates players 1 and 2, makes the same two trades as the walkthrough, and lists
both players. walkthrough() takes those steps in that order, on the bench's
database, and sends the statements they send.

Its trade reads the seller's goods and the buyer's coins with two plain SELECTs,
then updates each player in an UPDATE of its own, with commit() or rollback()
called inside the atomic() block. The result is the same as
peewee_example.trade()'s when nothing runs concurrently; what differs is the
statements sent: peewee begins a new transaction after an explicit commit() or
rollback() inside atomic(), and the block then commits that empty one.
"""

import uuid

import peewee_example
from peewee_example import BATCH_SIZE, db

from .bulk import PeeweePlayer as Player

BULK_PLAYERS = 1919  # the walkthrough's load, as the public sample makes it


def trade(sell_id, buy_id, amount, price):
    with db.atomic() as txn:
        sell_goods = Player.select(Player.goods).where(Player.id == sell_id).get().goods
        buy_coins = Player.select(Player.coins).where(Player.id == buy_id).get().coins
        if buy_coins < price or sell_goods < amount:
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


def show(player):
    print("id:%s, coins:%d, goods:%d" % (player.id, player.coins, player.goods))


def walkthrough():
    """The public sample's script, from connecting on."""
    db.drop_tables([Player])
    db.create_tables([Player])
    Player.create(id="test", coins=1, goods=1)
    show(Player.select().where(Player.id == "test").get())
    players = [Player(id=str(uuid.uuid4()), coins=10000, goods=10000) for _ in range(BULK_PLAYERS)]
    Player.bulk_create(players, BATCH_SIZE)
    print("number of players: %d" % Player.select().count())
    for player in Player.select().limit(3):
        show(player)
    Player.create(id="1", coins=100, goods=0)
    Player.create(id="2", coins=114514, goods=20)
    trade(sell_id="2", buy_id="1", amount=10, price=500)
    trade(sell_id="2", buy_id="1", amount=2, price=100)
    for player in Player.select().where(Player.id.in_(["1", "2"])):
        show(player)


#: The two samples the bench compares, by name: (their trade, their whole script).
PATTERNS = {
    "ours": (peewee_example.trade, peewee_example.walkthrough),
    "public sample": (trade, walkthrough),
}
