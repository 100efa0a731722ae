"""BigAutoRandomField: TiDB's AUTO_RANDOM key (random shard bits spread inserts over
regions), an auto-increment key elsewhere, so a model runs unchanged on MySQL and SQLite."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from peewee import SQL, BigAutoField

from .errors import ConfigError
from .keywords import whole_number
from .schema import auto_id_cache_size
from .version import AUTO_RANDOM_ID_CACHE, AUTO_RANDOM_RANGE, release

if TYPE_CHECKING:
    from peewee import Context, NodeList

    from .version import ServerVersion

#: TiDB refuses an AUTO_RANDOM column that leaves fewer bits to the increment (error 8216).
MIN_INCREMENT_BITS = 27
SIGN_BITS = 1  # the column is a signed BIGINT

#: AUTO_RANDOM needs a clustered key, whatever tidb_enable_clustered_index; elsewhere a comment.
CLUSTERED = "/*T![clustered_index] CLUSTERED */"

#: The fewest ids TiDB's own cache reserves in one metadata transaction (minStep); a smaller
#: AUTO_ID_CACHE makes TiDB reserve that many at a time, and 1 a reservation per INSERT.
TIDB_MIN_ID_BATCH = 30000


class BigAutoRandomField(BigAutoField):
    """BIGINT primary key with AUTO_RANDOM(shard_bits[, range]) on TiDB; `range` below 64 keeps
    ids small (54: under 2**53, exact in JavaScript), from TiDB v6.3.0 (before, 64 bits)."""

    def __init__(self, shard_bits: int = 5, range: int = 64, **kwargs: Any) -> None:
        self.shard_bits = whole_number("shard_bits", shard_bits, 1, 15)
        self.range = whole_number("range", range, 32, 64)
        increment_bits = range - shard_bits - SIGN_BITS
        if increment_bits < MIN_INCREMENT_BITS:
            lowest = shard_bits + SIGN_BITS + MIN_INCREMENT_BITS
            raise ConfigError(
                "BigAutoRandomField(shard_bits=%d, range=%d): leaves %d bits for the increment, "
                "and TiDB needs range - shard_bits - 1 >= %d (error 8216, 'auto_random ID space "
                "is too small'): raise range to at least %d or lower shard_bits"
                % (shard_bits, range, increment_bits, MIN_INCREMENT_BITS, lowest)
            )
        super().__init__(**kwargs)

    def ddl_datatype(self, ctx: Context) -> SQL:
        detect = ctx.state.tidb_detect_server_version  # from TiDBDatabase, else None
        version = detect() if detect else None
        if version is None or not version.is_tidb:
            return super().ddl_datatype(ctx)
        where = "%s.%s" % (self.model.__name__, self.name)
        self.check_id_cache(version, where)
        args = "%d" % self.shard_bits
        if self.range < 64:
            if version.at_least(*AUTO_RANDOM_RANGE):
                args += ", %d" % self.range
            else:
                warnings.warn(
                    "%s: %s has no AUTO_RANDOM range (added in %s), so its ids use all 64 bits, "
                    "not %d" % (where, version, release(AUTO_RANDOM_RANGE), self.range),
                    stacklevel=2,
                )
        return SQL("BIGINT AUTO_RANDOM(%s)" % args)

    def check_id_cache(self, version: ServerVersion, where: str) -> None:
        """Refuse AUTO_ID_CACHE where TiDB would not size this key's allocator by it; warn where
        it is below TiDB's own smallest batch (pkg/meta/autoid/autoid.go: minStep)."""
        size = auto_id_cache_size(self.model._meta)
        if not size:  # none, or 0: TiDB's default cache (auto-increment.md), on every release
            return
        if not version.at_least(*AUTO_RANDOM_ID_CACHE):
            raise ConfigError(
                "%s: %s gives AUTO_ID_CACHE to its row-id allocator only, not to AUTO_RANDOM "
                "keys (from %s), so the table would ignore it; drop auto_id_cache() "
                "from Meta.table_settings" % (where, version, release(AUTO_RANDOM_ID_CACHE))
            )
        if size < TIDB_MIN_ID_BATCH:
            warnings.warn(
                "%s: AUTO_ID_CACHE=%d makes each TiDB server reserve AUTO_RANDOM ids in "
                "batches of %d (an INSERT of more rows reserves what it needs), each in a "
                "metadata transaction; TiDB's own cache reserves at least %d, and an "
                "AUTO_ID_CACHE of 1 makes every INSERT pay one"
                % (where, size, size, TIDB_MIN_ID_BATCH),
                stacklevel=2,
            )

    def ddl(self, ctx: Context) -> NodeList:
        column = super().ddl(ctx)
        key = [isinstance(node, SQL) and node.sql == "PRIMARY KEY" for node in column.nodes]
        column.nodes.insert(key.index(True) + 1, SQL(CLUSTERED))
        return column
