"""Which server and TiDB release this is, and the release gates. TIDB_VERSION() is reliable where
VERSION() follows TiDB's ``server-version`` setting; a Cloud build naming no release is current."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: One round trip: TiDB runs the /*T! ... */ part, MySQL and MariaDB read it as a comment.
DETECT_SQL = "SELECT VERSION() /*T! , TIDB_VERSION() */"

_MYSQL_PART = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_IN_VERSION = re.compile(r"-TiDB-v(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)
_IN_TIDB_VERSION = re.compile(r"^Release Version:\s*v(\d+)\.(\d+)\.(\d+)", re.MULTILINE)

STALE_READS = (5, 1, 0)
#: AUTO_ID_CACHE sizes the AUTO_RANDOM allocator too from here (pingcap/tidb #20512,
#: NewAllocatorsFromTblInfo; master 2021-04-09, after v5.0.0); before, the row-id one only.
AUTO_RANDOM_ID_CACHE = (5, 1, 0)
SAVEPOINTS = (6, 2, 0)
IN_PLACE_CHECK_SETTING = (6, 3, 0)  # tidb_constraint_check_in_place_pessimistic
AUTO_RANDOM_RANGE = (6, 3, 0)
ENFORCED_FOREIGN_KEYS = (6, 6, 0)
SHARED_LOCK_PROMOTION = (8, 3, 0)  # tidb_enable_shared_lock_promotion (off by default)
CHECK_CONSTRAINTS = (7, 2, 0)  # and only with tidb_enable_check_constraint=ON
MYSQL_CHECK_CONSTRAINTS = (8, 0, 16)  # MySQL before it parses CHECK and ignores it


@dataclass(frozen=True)
class ServerVersion:
    """What the server said; ``supports_*`` and ``enforces_*`` answer for any server."""

    raw: str
    mysql: tuple[int, int, int]
    is_tidb: bool = False
    tidb_release: tuple[int, int, int] | None = None  # None: not TiDB, or a build with no number

    def at_least(self, *release: int) -> bool:
        """True on TiDB of this release or newer (a build naming none counts as newer)."""
        return self.is_tidb and (self.tidb_release is None or self.tidb_release >= release)

    @property
    def supports_savepoints(self) -> bool:
        return not self.is_tidb or self.at_least(*SAVEPOINTS)

    @property
    def enforces_foreign_keys(self) -> bool:
        return not self.is_tidb or self.at_least(*ENFORCED_FOREIGN_KEYS)

    @property
    def supports_check_constraints(self) -> bool:
        """On TiDB v7.2+ only when tidb_enable_check_constraint=ON (off by default)."""
        if self.is_tidb:
            return self.at_least(*CHECK_CONSTRAINTS)
        return "mariadb" in self.raw.lower() or self.mysql >= MYSQL_CHECK_CONSTRAINTS

    @property
    def is_tidb_cloud(self) -> bool:
        """A TiDB Cloud Starter, Essential or Premium (TiDB X) build, by what VERSION() says
        ("-serverless", "-TiDB-X-CLOUD."); Dedicated reports a plain release."""
        raw = self.raw.lower()
        return self.is_tidb and ("-serverless" in raw or "cloud." in raw)

    @property
    def name(self) -> str:
        """The product and its release, e.g. "TiDB v8.5.3", "MariaDB 10.11.19", "MySQL 8.0.36"."""
        if self.is_tidb:
            return str(self)
        product = "MariaDB" if "mariadb" in self.raw.lower() else "MySQL"
        return "%s %d.%d.%d" % (product, *self.mysql)

    def __str__(self) -> str:
        if not self.is_tidb:
            return self.raw
        if self.tidb_release is None:
            return "TiDB (%s)" % self.raw
        return "TiDB " + release(self.tidb_release)


def parse_version(version: str | bytes, tidb_version: str | bytes | None = None) -> ServerVersion:
    """A ServerVersion from the answers to VERSION() and, on TiDB, TIDB_VERSION(); without
    the latter, a VERSION() in TiDB's form still counts (a proxy may strip the comment)."""
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    if isinstance(tidb_version, bytes):
        tidb_version = tidb_version.decode("utf-8", "replace")
    mysql_part = _MYSQL_PART.match(version)
    mysql = release_of(mysql_part) if mysql_part else (0, 0, 0)
    if tidb_version is None and "-tidb-" not in version.lower():
        return ServerVersion(version, mysql)
    found = _IN_TIDB_VERSION.search(tidb_version or "") or _IN_VERSION.search(version)
    return ServerVersion(version, mysql, True, release_of(found) if found else None)


def release(gate: tuple[int, int, int]) -> str:
    """A gate above as TiDB names the release: (6, 2, 0) -> "v6.2.0"."""
    return "v%d.%d.%d" % gate


def release_of(match: re.Match[str]) -> tuple[int, int, int]:
    return int(match[1]), int(match[2]), int(match[3])
