"""BigAutoRandomField: TiDB's AUTO_RANDOM key, an auto-increment key elsewhere.

AUTO_INCREMENT ids are consecutive, so on TiDB every insert lands in the same
region and one storage node takes all the writes. AUTO_RANDOM puts random
shard bits at the top of the id and spreads them. MySQL, MariaDB and SQLite
have no AUTO_RANDOM; there the same model gets an ordinary auto-increment
BIGINT key, so it runs unchanged in local development.
"""

import warnings

from peewee import SQL, BigAutoField

from .checks import whole_number
from .errors import ConfigError
from .schema import sets_auto_id_cache
from .version import context_version

#: TiDB refuses an AUTO_RANDOM column that leaves fewer bits to the increment (error 8216).
MIN_INCREMENT_BITS = 27
SIGN_BITS = 1  # the column is a signed BIGINT

#: AUTO_RANDOM needs a clustered key; this asks for one whatever the cluster's default
#: (tidb_enable_clustered_index), and is a comment to every other server.
CLUSTERED = "/*T![clustered_index] CLUSTERED */"


class BigAutoRandomField(BigAutoField):
    """BIGINT primary key with AUTO_RANDOM(shard_bits[, range]) on TiDB.

    `range` below 64 keeps ids small: 54 keeps them under 2**53, exact in
    JavaScript numbers. TiDB before v6.3.0 has no range and uses 64 bits.
    """

    def __init__(self, shard_bits=5, range=64, **kwargs):
        self.shard_bits = whole_number("shard_bits", shard_bits, 1, 15)
        self.range = whole_number("range", range, 32, 64)
        increment_bits = range - shard_bits - SIGN_BITS
        if increment_bits < MIN_INCREMENT_BITS:
            raise ConfigError(
                "BigAutoRandomField(shard_bits=%d, range=%d): leaves %d bits for the "
                "increment, and TiDB needs range - shard_bits - 1 >= %d (error 8216, "
                "'auto_random ID space is too small'): raise range to at least %d or "
                "lower shard_bits"
                % (
                    shard_bits,
                    range,
                    increment_bits,
                    MIN_INCREMENT_BITS,
                    shard_bits + SIGN_BITS + MIN_INCREMENT_BITS,
                )
            )
        super().__init__(**kwargs)

    def bind(self, model, name, set_attribute=True):
        if sets_auto_id_cache(model._meta):
            raise ConfigError(
                "%s: AUTO_ID_CACHE does not apply to an AUTO_RANDOM key (%s) and would cost "
                "every insert a metadata transaction; drop auto_id_cache() from "
                "Meta.table_settings" % (model.__name__, name)
            )
        super().bind(model, name, set_attribute)

    def ddl_datatype(self, ctx):
        version = context_version(ctx)
        if version is None or not version.supports_auto_random:
            return super().ddl_datatype(ctx)
        return SQL("BIGINT AUTO_RANDOM(%s)" % ", ".join(map(str, self.auto_random_args(version))))

    def ddl(self, ctx):
        column = super().ddl(ctx)
        key = [isinstance(node, SQL) and node.sql == "PRIMARY KEY" for node in column.nodes]
        column.nodes.insert(key.index(True) + 1, SQL(CLUSTERED))
        return column

    def auto_random_args(self, version):
        if self.range == 64:
            return (self.shard_bits,)
        if version.supports_auto_random_range:
            return (self.shard_bits, self.range)
        warnings.warn(
            "%s.%s: %s has no AUTO_RANDOM range (added in v6.3.0), so its ids use "
            "all 64 bits, not %d" % (self.model.__name__, self.name, version, self.range),
            stacklevel=2,
        )
        return (self.shard_bits,)
