"""The TiDB "Player" walkthrough with peewee, step by step as on the TiDB docs page.

Each player has coins and goods. The walkthrough connects, creates a player
and reads it back, loads 1919 more in batches, counts them and lists three,
then trades goods for coins between two players in a transaction that
happens whole or not at all, and prints the final state.

    python3 peewee_example.py            # settings: TIDB_* or DATABASE_URL, environment or .env
    python3 peewee_example.py --help     # the command line: player_cli/

Importing this file connects nothing. The command line (player_cli/) adds
the flags, the embedded SQLite fallback, the table checks and the exit
statuses around these steps.
"""

from __future__ import annotations

# [START connect]
import uuid
from collections.abc import Iterable
from typing import Any

from peewee import CharField, Check, DatabaseProxy, IntegerField, chunked

from tidb_dialect import TiDBModel, database_from_env, retry_transaction


class Unconnected(DatabaseProxy):
    def __getattr__(self, name: str) -> Any:
        if self.obj is None:  # peewee would say "Cannot use uninitialized Proxy."
            raise AttributeError("call connect() first: it binds db to the TIDB_* settings' server")
        return getattr(self.obj, name)


db = Unconnected()  # bound by connect(), so that importing this file connects nothing


def connect() -> None:
    """Connect to the server the TIDB_* settings (or DATABASE_URL) name, unless db is bound."""
    if db.obj is None:
        db.initialize(database_from_env())
    db.connect(reuse_if_open=True)


# [END connect]


# [START model]
BATCH_SIZE = 114
INT_MAX = 2**31 - 1  # coins and goods are INT columns


class Player(TiDBModel):
    id = CharField(max_length=36, primary_key=True)
    coins = IntegerField(constraints=[Check("coins >= 0")])
    goods = IntegerField(constraints=[Check("goods >= 0")])
    is_seller: bool  # not a column: trade()'s locking read adds it to the rows it reads

    class Meta:
        database = db
        table_name = "player"
        table_settings = ("/*! ENGINE=InnoDB */",)  # transactions on MySQL too; a comment to SQLite

    def __str__(self) -> str:
        return "id:%s, coins:%d, goods:%d" % (self.id, self.coins, self.goods)


# [END model]


# [START create]
def create_and_read() -> Player:
    """Step 1: insert one row, and read it back by its primary key."""
    Player.create(id="test", coins=1, goods=1)
    return Player.get_by_id("test")


# [END create]


# [START bulk_insert]
def load_players(players: Iterable[Player], batch_size: int = BATCH_SIZE) -> None:
    """Step 2: multi-row INSERTs of `batch_size` players each, in the caller's transaction."""
    for batch in chunked(players, batch_size):
        Player.bulk_create(batch)


# [END bulk_insert]


# [START query]
def count_and_list() -> None:
    """Step 3: count the players, and list three in a well-defined order."""
    print("number of players: %d" % Player.select().count())
    for player in Player.select().order_by(Player.coins.desc(), Player.id).limit(3):
        print(player)


# [END query]


# [START trade]
class UnknownPlayer(LookupError):
    """No player has that id."""


@retry_transaction(db)  # after an error TiDB marks safe to retry, the rolled-back block runs again
def trade(sell_id: str, buy_id: str, amount: int, price: int) -> str:
    """The seller gives `amount` goods for `price` coins: "trade success", or why not."""
    for name, value in (("amount", amount), ("price", price)):
        if type(value) is not int or not 1 <= value <= INT_MAX:
            raise ValueError(
                "%s must be a whole number from 1 to %d, got %r" % (name, INT_MAX, value)
            )
    if sell_id == buy_id:
        raise ValueError("a player cannot trade with itself (sell_id == buy_id == %r)" % sell_id)
    with db.atomic() as txn:
        # Lock both players with ONE read, in id order: two trades never wait for each other.
        is_seller = (Player.id == sell_id).alias("is_seller")  # ids compared as the table does
        query = Player.select(Player, is_seller).where(Player.id.in_([sell_id, buy_id]))
        players = list(query.order_by(Player.id).for_update())
        seller = next((player for player in players if player.is_seller), None)
        buyer = next((player for player in players if not player.is_seller), None)
        if seller is None or buyer is None:  # raised inside the block, which rolls back
            raise UnknownPlayer("unknown player id %r" % (buy_id if seller else sell_id))
        if buyer.coins < price:
            reason = "buy player %s coins not enough" % buy_id
        elif seller.goods < amount:
            reason = "sell player %s goods not enough" % sell_id
        elif seller.coins > INT_MAX - price or buyer.goods > INT_MAX - amount:
            reason = "a balance would pass %d" % INT_MAX
        else:  # deduct from one, credit the other: one UPDATE each, then COMMIT
            seller.goods -= amount
            seller.coins += price
            buyer.goods += amount
            buyer.coins -= price
            seller.save()
            buyer.save()
            return "trade success"
        txn.rollback()  # nothing was changed; the locks go
        return reason


# [END trade]


# [START delete]
@retry_transaction(db)
def start_afresh() -> Player:
    """Steps 1 and 2 after emptying the table, in ONE transaction: a failure anywhere
    (or Ctrl-C) leaves the table as it was. The players are made as they are sent."""
    with db.atomic():
        Player.delete().execute()
        first = create_and_read()
        load_players(Player(id=str(uuid.uuid4()), coins=10000, goods=10000) for _ in range(1919))
    return first


# [END delete]


def walkthrough() -> None:
    """Every step in order, on the database connect() binds."""
    # [START walkthrough]
    connect()
    db.create_tables([Player])  # unless it exists
    print(start_afresh())
    count_and_list()
    Player.create(id="1", coins=100, goods=0)
    Player.create(id="2", coins=114514, goods=20)
    print(trade(sell_id="2", buy_id="1", amount=10, price=500))  # player 1 cannot pay 500 coins
    print(trade(sell_id="2", buy_id="1", amount=2, price=100))
    for player in Player.select().where(Player.id.in_(["1", "2"])).order_by(Player.id):
        print(player)  # step 5: the final state
    # [END walkthrough]


if __name__ == "__main__":
    from player_cli import run  # the command line around the steps above

    run()
