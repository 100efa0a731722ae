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

from peewee import Case, CharField, Check, DatabaseProxy, IntegerField, ModelUpdate, Select, chunked

from tidb_dialect import TiDBModel, build_once, database_from_env, run_transaction, whole_number

db = DatabaseProxy()  # bound by connect(), so that importing this file connects nothing


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
class TradeRefused(Exception):
    """Raised inside the trade's transaction, so that it rolls back."""


class UnknownPlayer(LookupError):
    """No player has that id."""


def trade(sell_id: str, buy_id: str, amount: int, price: int) -> str | None:
    """The seller gives `amount` goods for `price` coins: None if done, else why not."""
    whole_number("amount", amount, 1, INT_MAX), whole_number("price", price, 1, INT_MAX)
    if sell_id == buy_id:
        raise ValueError("a player cannot trade with itself (sell_id == buy_id == %r)" % sell_id)
    while True:
        try:
            run_transaction(db, lambda db: exchange(sell_id, buy_id, amount, price))
            print("trade success")
            return None
        except TradeRefused:
            reason = refusal(sell_id, buy_id, amount, price)
            if reason:  # else another trade changed these players since: try again
                print(reason)
                return reason


def exchange(sell_id: str, buy_id: str, amount: int, price: int) -> None:
    """Both players change in ONE conditional UPDATE, which locks their rows, or neither."""

    @build_once  # peewee renders this UPDATE once; each trade sends it with its own values
    def update_both(sell_id: str, buy_id: str, amount: int, price: int) -> ModelUpdate:
        is_seller = Player.id == sell_id
        return Player.update(
            coins=Case(None, [(is_seller, Player.coins + price)], Player.coins - price),
            goods=Case(None, [(is_seller, Player.goods - amount)], Player.goods + amount),
        ).where(
            (is_seller & (Player.goods >= amount) & (Player.coins <= INT_MAX - price))
            | ((Player.id == buy_id) & (Player.coins >= price) & (Player.goods <= INT_MAX - amount))
        )

    if update_both(sell_id, buy_id, amount, price) != 2:
        raise TradeRefused()


def refusal(sell_id: str, buy_id: str, amount: int, price: int) -> str:
    """Why the trade is refused ("" if it could happen now). Ids match by the table's collation."""

    @build_once  # rendered once, as the UPDATE is
    def both(sell_id: str, buy_id: str) -> Select:
        sells = Player.id == sell_id
        query = Player.select(sells, Player.coins, Player.goods).tuples()
        return query.where(sells | (Player.id == buy_id))

    found = {bool(seller): (coins, goods) for seller, coins, goods in both(sell_id, buy_id)}
    if len(found) < 2:  # (a second id that matches the first one's row is unknown too)
        raise UnknownPlayer("unknown player id %r" % (buy_id if True in found else sell_id))
    (seller_coins, seller_goods), (buyer_coins, buyer_goods) = found[True], found[False]
    if buyer_coins < price:
        return "buy player %s coins not enough" % buy_id
    if seller_goods < amount:
        return "sell player %s goods not enough" % sell_id
    if seller_coins > INT_MAX - price or buyer_goods > INT_MAX - amount:
        return "a balance would pass %d" % INT_MAX
    return ""


# [END trade]


# [START delete]
def start_afresh() -> Player:
    """Steps 1 and 2 after emptying the table, in ONE transaction: a failure anywhere
    (or Ctrl-C) leaves the table as it was. The players are made as they are sent."""

    def steps(db: DatabaseProxy) -> Player:
        Player.delete().execute()
        first = create_and_read()
        load_players(Player(id=str(uuid.uuid4()), coins=10000, goods=10000) for _ in range(1919))
        return first

    return run_transaction(db, steps)


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
    trade(sell_id="2", buy_id="1", amount=10, price=500)  # player 1 cannot pay 500 coins
    trade(sell_id="2", buy_id="1", amount=2, price=100)
    for player in Player.select().where(Player.id.in_(["1", "2"])).order_by(Player.id):
        print(player)  # step 5: the final state
    # [END walkthrough]


if __name__ == "__main__":
    from player_cli import run  # the command line around the steps above

    run()
