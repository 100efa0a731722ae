"""BigAutoRandomField: TiDB's AUTO_RANDOM key, an auto-increment key elsewhere.

AUTO_INCREMENT ids are consecutive, so on TiDB every insert lands in the same
region and one storage node takes all the writes. AUTO_RANDOM puts random
shard bits at the top of the id and spreads them. MySQL, MariaDB and SQLite
have no AUTO_RANDOM; there the same model gets an ordinary auto-increment
BIGINT key, so it runs unchanged in local development.
"""

import warnings

from peewee import SQL, BigAutoField

from .database import AUTO_RANDOM_RANGE_MIN_VERSION, context_server

SHARD_BITS = range(1, 16)
RANGE_BITS = range(32, 65)


class BigAutoRandomField(BigAutoField):
    """BIGINT primary key with AUTO_RANDOM(shard_bits[, range]) on TiDB.

    `range` below 64 keeps ids small: 54 keeps them under 2**53, exact in
    JavaScript numbers. TiDB before v6.3.0 has no range and uses 64 bits.
    """

    def __init__(self, shard_bits=5, range=64, **kwargs):
        for name, value, allowed in (
            ("shard_bits", shard_bits, SHARD_BITS),
            ("range", range, RANGE_BITS),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
                raise ValueError(
                    "BigAutoRandomField: %s must be a whole number from %d to %d, "
                    "got %r" % (name, allowed[0], allowed[-1], value)
                )
        self.shard_bits, self.range = shard_bits, range
        super().__init__(**kwargs)

    def ddl_datatype(self, ctx):
        version = context_server(ctx)
        if version is None or not version.is_tidb:
            return super().ddl_datatype(ctx)
        return SQL("BIGINT AUTO_RANDOM(%s)" % ", ".join(map(str, self.auto_random_args(version))))

    def auto_random_args(self, version):
        if self.range == RANGE_BITS[-1]:
            return (self.shard_bits,)
        if version.at_least(*AUTO_RANDOM_RANGE_MIN_VERSION):
            return (self.shard_bits, self.range)
        warnings.warn(
            "%s.%s: %s has no AUTO_RANDOM range (added in v6.3.0), so its ids use "
            "all 64 bits, not %d" % (self.model.__name__, self.name, version, self.range),
            stacklevel=2,
        )
        return (self.shard_bits,)
