"""Which server this is, which TiDB release, and what it can do.

TiDB answers ``VERSION()`` with a MySQL-compatible version followed by its
release (``8.0.11-TiDB-v7.5.1``, ``5.7.25-TiDB-v6.3.0-serverless``), but its
``server-version`` setting can rewrite that answer to anything. Only
``TIDB_VERSION()`` is reliable (``Release Version: v8.5.3`` on its first
line); MySQL and MariaDB refuse it (error 1305). TiDB Cloud builds may name
no release at all (``8.0.11-TiDB-X-CLOUD.202510.1``): those are kept on a
current release, so every feature below is taken to be there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peewee import Context

#: One round trip: TiDB runs the /*T! ... */ part, MySQL and MariaDB read it as a comment.
DETECT_SQL = "SELECT VERSION() /*T! , TIDB_VERSION() */"

_MYSQL_PART = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_RELEASE_IN_VERSION = re.compile(r"-TiDB-v(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)
_RELEASE_IN_TIDB_VERSION = re.compile(r"^Release Version:\s*v(\d+)\.(\d+)\.(\d+)", re.MULTILINE)

SAVEPOINTS = (6, 2, 0)
AUTO_RANDOM_RANGE = (6, 3, 0)
ENFORCED_FOREIGN_KEYS = (6, 6, 0)
CHECK_CONSTRAINTS = (7, 2, 0)  # and only with tidb_enable_check_constraint=ON
MYSQL_CHECK_CONSTRAINTS = (8, 0, 16)  # MySQL before it parses CHECK and ignores it


@dataclass(frozen=True)
class ServerVersion:
    """What the server said: VERSION(), and TIDB_VERSION() when it is TiDB.

    Each ``supports_*``/``enforces_*`` says whether this server does it,
    whatever the server: MySQL has savepoints, and has no AUTO_RANDOM.
    """

    raw: str
    mysql: tuple[int, int, int]
    is_tidb: bool = False
    tidb_release: tuple[int, int, int] | None = None  # None: not TiDB, or a build with no number

    def at_least(self, *release: int) -> bool:
        """True on TiDB of this release or newer (or naming none); False on any other server."""
        return self.is_tidb and (self.tidb_release is None or self.tidb_release >= release)

    @property
    def supports_savepoints(self) -> bool:
        return not self.is_tidb or self.at_least(*SAVEPOINTS)

    @property
    def enforces_foreign_keys(self) -> bool:
        return not self.is_tidb or self.at_least(*ENFORCED_FOREIGN_KEYS)

    @property
    def supports_auto_random(self) -> bool:
        return self.is_tidb

    @property
    def supports_auto_random_range(self) -> bool:
        return self.at_least(*AUTO_RANDOM_RANGE)

    @property
    def supports_check_constraints(self) -> bool:
        """On TiDB v7.2+ only when tidb_enable_check_constraint=ON (off by default)."""
        if not self.is_tidb:
            return "mariadb" in self.raw.lower() or self.mysql >= MYSQL_CHECK_CONSTRAINTS
        return self.at_least(*CHECK_CONSTRAINTS)

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
        return "TiDB v%d.%d.%d" % self.tidb_release


def parse_version(version: str | bytes, tidb_version: str | bytes | None = None) -> ServerVersion:
    """A ServerVersion from the answers to VERSION() and, on TiDB, TIDB_VERSION().

    Without TIDB_VERSION()'s answer, a VERSION() in TiDB's own form still
    counts as TiDB (a proxy may strip the comment that asks for it).
    """
    version = _text(version)
    tidb_version = None if tidb_version is None else _text(tidb_version)
    mysql_part = _MYSQL_PART.match(version)
    mysql = _numbers(mysql_part) if mysql_part else (0, 0, 0)
    release = _RELEASE_IN_TIDB_VERSION.search(tidb_version or "") or _RELEASE_IN_VERSION.search(
        version
    )
    is_tidb = tidb_version is not None or "-tidb-" in version.lower()
    if not is_tidb:
        return ServerVersion(version, mysql)
    return ServerVersion(version, mysql, True, _numbers(release) if release else None)


def _numbers(match: re.Match[str]) -> tuple[int, int, int]:
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def context_version(ctx: Context) -> ServerVersion | None:
    """The ServerVersion behind a SQL context (detecting it if needed), or None if the
    context is not a TiDBDatabase's."""
    detect: Callable[[], ServerVersion] | None = ctx.state.tidb_detect_server_version
    return detect() if detect else None
