"""The driver alone: the statements trade() sends, through the driver's cursor and nothing else.

The baseline for concurrent trades. It learns the statements from peewee's log of
one exchange() and one refusal() (so it sends exactly what trade() sends: BEGIN, the
UPDATE, COMMIT; or ROLLBACK and the SELECT that says why), then sends them on the
thread's own connection, the one peewee opened, with the driver's execute(),
commit() and rollback(). What it leaves out is everything of peewee and the
dialect: building and rendering queries, the transaction block, run_transaction().
Like trade(), it runs a trade again after a deadlock (1213) or when the refusal's
read finds that the trade could happen after all.
"""

import logging

import peewee_example
from peewee_example import INT_MAX, TradeRefused, UnknownPlayer, exchange, refusal

#: Arguments the statements are learnt with: values that no constant of them has.
PROBE = ("probe-seller", "probe-buyer", 3, 7)
DEADLOCK = 1213


class Captured(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = []

    def emit(self, record):
        self.statements.append(record.msg)


def learnt(action):
    """(SQL, [argument position or ("constant", value)]) of the one statement `action` sends."""
    logger = logging.getLogger("peewee")
    handler, level = Captured(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        action()
    except (TradeRefused, UnknownPlayer):
        pass  # the probe's players do not exist
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    sql, params = handler.statements[-1]
    return sql, [PROBE.index(p) if p in PROBE else ("constant", p) for p in params]


def probe_exchange(db):
    with db.atomic():
        exchange(*PROBE)


def bind(slots, args):
    return [args[s] if isinstance(s, int) else s[1] for s in slots]


class PlainTrade:
    """trade(sell_id, buy_id, amount, price) -> bool, through the driver alone."""

    def __init__(self, db):
        self.db = db
        self.update = learnt(lambda: probe_exchange(db))
        self.select = learnt(lambda: refusal(*PROBE))

    def __call__(self, sell_id, buy_id, amount, price):
        args = (sell_id, buy_id, amount, price)
        connection = self.db.connection()
        cursor = connection.cursor()
        try:
            while True:
                cursor.execute("BEGIN")
                try:
                    cursor.execute(self.update[0], bind(self.update[1], args))
                except Exception as exc:
                    connection.rollback()
                    if exc.args and exc.args[0] == DEADLOCK:
                        continue
                    raise
                if cursor.rowcount == 2:
                    connection.commit()
                    return True
                connection.rollback()
                cursor.execute(self.select[0], bind(self.select[1], args))
                rows = {bool(row[0]): row[1:] for row in cursor.fetchall()}
                (seller_coins, seller_goods), (buyer_coins, buyer_goods) = rows[True], rows[False]
                if (
                    buyer_coins < price
                    or seller_goods < amount
                    or seller_coins > INT_MAX - price
                    or buyer_goods > INT_MAX - amount
                ):
                    return False
        finally:
            cursor.close()


def patterns(db):
    """The two ways to trade that the concurrency bench compares, by name."""
    return {"ours": peewee_example.trade, "driver alone": PlainTrade(db)}
