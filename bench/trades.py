"""The trades the bench compares, each as an application would write it, on the `player` table.

Each takes (sell_id, buy_id, amount, price) and returns True when done, False when refused.
peewee's run on peewee_example.db (bind it first); SQLAlchemy's are made for an engine.
"""

import ssl

import sqlalchemy as sa
from peewee import Case, fn
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

import peewee_example
from peewee_example import INT_MAX, Player, db
from tidb_dialect import retry_transaction


def lesson(sell_id, buy_id, amount, price):
    """The lesson's trade: one SELECT ... FOR UPDATE of both players, checks, one UPDATE each."""
    return peewee_example.trade(sell_id, buy_id, amount, price) == "trade success"


class Refused(Exception):
    """Raised inside the block to roll it back: ROLLBACK alone, as the docs' trade does it."""


@retry_transaction(db)
def one_statement(sell_id, buy_id, amount, price):
    """Both players in one conditional UPDATE (BEGIN, UPDATE, COMMIT): the dialect's docs' code.

    Refused, it rolls back by raising inside the block (BEGIN, UPDATE, ROLLBACK): txn.rollback()
    would begin a new transaction, and leaving the block commit it, two more round trips."""
    is_seller = Player.id == sell_id
    both = Player.update(
        coins=Case(None, [(is_seller, Player.coins + price)], Player.coins - price),
        goods=Case(None, [(is_seller, Player.goods - amount)], Player.goods + amount),
    ).where(
        (is_seller & (Player.goods >= amount) & (Player.coins <= INT_MAX - price))
        | ((Player.id == buy_id) & (Player.coins >= price) & (Player.goods <= INT_MAX - amount))
    )
    try:
        with db.atomic():
            if both.execute() != 2:
                raise Refused  # rolls the block back
    except Refused:
        return False
    return True


def docs_page(sell_id, buy_id, amount, price):
    """The TiDB docs page's trade as published: two plain SELECTs (no lock), two UPDATEs, and
    commit() or rollback() inside atomic(). Under concurrency its check reads stale balances."""
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


PEEWEE = {"lesson": lesson, "one statement": one_statement, "docs page": docs_page}


class Base(DeclarativeBase):
    pass


class SaPlayer(Base):
    __tablename__ = "player"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    coins: Mapped[int]
    goods: Mapped[int]


TABLE = SaPlayer.__table__


def sa_url(settings, driver="pymysql"):
    return sa.URL.create(
        "mysql+" + driver,
        username=settings.user,
        password=settings.password or None,
        host=settings.host,
        port=settings.port,
        database=settings.database,
    )


def sa_tls(settings, asyncio=False):
    """connect_args for TLS when the settings ask for it (CA_PATH)."""
    if not settings.ca_path:
        return {}
    return {
        "ssl": ssl.create_default_context(cafile=settings.ca_path)
        if asyncio
        else {"ca": settings.ca_path}
    }


def engine(settings, pool_size=1, port=None):
    url = sa_url(settings)
    if port:
        url = url.set(host="127.0.0.1", port=port)
    return sa.create_engine(url, pool_size=pool_size, max_overflow=0, connect_args=sa_tls(settings))


def both_for_update(sell_id, buy_id):
    return sa.select(SaPlayer).where(SaPlayer.id.in_([sell_id, buy_id])).order_by(SaPlayer.id)


def conditional_update(sell_id, buy_id, amount, price):
    """The one-statement trade's UPDATE in SQLAlchemy's words."""
    is_seller = TABLE.c.id == sell_id
    seller_can = (TABLE.c.goods >= amount) & (TABLE.c.coins <= INT_MAX - price)
    buyer_can = (TABLE.c.coins >= price) & (TABLE.c.goods <= INT_MAX - amount)
    return (
        sa.update(TABLE)
        .where((is_seller & seller_can) | ((TABLE.c.id == buy_id) & buyer_can))
        .values(
            coins=sa.case((is_seller, TABLE.c.coins + price), else_=TABLE.c.coins - price),
            goods=sa.case((is_seller, TABLE.c.goods - amount), else_=TABLE.c.goods + amount),
        )
    )


def refused(seller, buyer, amount, price):
    return (
        buyer.coins < price
        or seller.goods < amount
        or seller.coins > INT_MAX - price
        or buyer.goods > INT_MAX - amount
    )


def exchange(players, sell_id, buy_id, amount, price):
    """The ORM trades' checks and changes on the locked players ({id: SaPlayer}), flushed at
    commit: False, nothing changed, when refused."""
    seller, buyer = players[sell_id], players[buy_id]
    if refused(seller, buyer, amount, price):
        return False
    seller.coins, seller.goods = seller.coins + price, seller.goods - amount
    buyer.coins, buyer.goods = buyer.coins - price, buyer.goods + amount
    return True


def sqlalchemy_trades(eng):
    """SQLAlchemy's trades on `eng`: ORM and Core, each by FOR UPDATE and by conditional UPDATE."""
    session = sessionmaker(eng)

    def orm_for_update(sell_id, buy_id, amount, price):
        with session.begin() as s:
            players = s.scalars(both_for_update(sell_id, buy_id).with_for_update())
            return exchange({p.id: p for p in players}, sell_id, buy_id, amount, price)

    def orm_conditional(sell_id, buy_id, amount, price):
        with session.begin() as s:
            update = conditional_update(sell_id, buy_id, amount, price)
            done = s.execute(update, execution_options={"synchronize_session": False}).rowcount == 2
            if not done:
                s.rollback()
        return done

    def core_for_update(sell_id, buy_id, amount, price):
        with eng.begin() as conn:
            query = sa.select(TABLE).where(TABLE.c.id.in_([sell_id, buy_id])).order_by(TABLE.c.id)
            rows = {row.id: row for row in conn.execute(query.with_for_update())}
            seller, buyer = rows[sell_id], rows[buy_id]
            if refused(seller, buyer, amount, price):
                return False
            change = sa.update(TABLE).where(TABLE.c.id == sa.bindparam("pid"))
            conn.execute(
                change.values(coins=TABLE.c.coins + price, goods=TABLE.c.goods - amount),
                {"pid": sell_id},
            )
            conn.execute(
                change.values(coins=TABLE.c.coins - price, goods=TABLE.c.goods + amount),
                {"pid": buy_id},
            )
        return True

    def core_conditional(sell_id, buy_id, amount, price):
        with eng.begin() as conn:
            done = conn.execute(conditional_update(sell_id, buy_id, amount, price)).rowcount == 2
            if not done:
                conn.rollback()
        return done

    return {
        "SQLAlchemy ORM, FOR UPDATE": orm_for_update,
        "SQLAlchemy ORM, conditional UPDATE": orm_conditional,
        "SQLAlchemy Core, FOR UPDATE": core_for_update,
        "SQLAlchemy Core, conditional UPDATE": core_conditional,
    }


def async_sqlalchemy_trades(async_engine):
    """AsyncSession's trades: FOR UPDATE, and the conditional UPDATE."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    session = async_sessionmaker(async_engine)

    async def for_update(sell_id, buy_id, amount, price):
        async with session.begin() as s:
            players = await s.scalars(both_for_update(sell_id, buy_id).with_for_update())
            return exchange({p.id: p for p in players}, sell_id, buy_id, amount, price)

    async def conditional(sell_id, buy_id, amount, price):
        async with session.begin() as s:
            update = conditional_update(sell_id, buy_id, amount, price)
            result = await s.execute(update, execution_options={"synchronize_session": False})
            done = result.rowcount == 2
            if not done:
                await s.rollback()
        return done

    return {"AsyncSession, FOR UPDATE": for_update, "AsyncSession, conditional UPDATE": conditional}


def seed(count, coins, goods):
    """`count` players "0".."count-1" (in a fresh table) with the same balances."""
    db.drop_tables([Player])
    db.create_tables([Player])
    rows = [(str(i), coins, goods) for i in range(count)]
    with db.atomic():
        Player.insert_many(rows, fields=[Player.id, Player.coins, Player.goods]).execute()
    return [row[0] for row in rows]


def check(count, coins, goods):
    """{"conserved": totals unchanged, "below_zero": players with a negative balance}."""
    total_coins, total_goods, below = (
        Player.select(
            fn.SUM(Player.coins),
            fn.SUM(Player.goods),
            fn.SUM((Player.coins < 0) | (Player.goods < 0)),
        )
        .tuples()
        .get()
    )
    conserved = (int(total_coins), int(total_goods)) == (count * coins, count * goods)
    return {"conserved": conserved, "below_zero": int(below)}
