"""Reading TiDB's release out of ``SELECT VERSION()``.

TiDB answers with a MySQL-compatible version followed by its own release,
for example ``8.0.11-TiDB-v7.5.1`` or ``5.7.25-TiDB-v6.3.0-serverless``.
Some TiDB Cloud builds carry a date instead of a release
(``8.0.11-TiDB-CLOUD.202603.9``); those run the current release.
"""

import re
from dataclasses import dataclass

#: Assumed for TiDB builds that do not name their release (TiDB Cloud).
CURRENT_TIDB_RELEASE = (8, 5, 0)

_MYSQL_PART = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_TIDB_RELEASE = re.compile(r"-TiDB-v(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class ServerVersion:
    raw: str
    mysql: tuple[int, int, int]
    tidb: tuple[int, int, int] | None

    @property
    def is_tidb(self):
        return self.tidb is not None

    @property
    def is_serverless(self):
        lowered = self.raw.lower()
        return self.is_tidb and ("serverless" in lowered or "cloud" in lowered)

    def at_least(self, *release):
        """True on TiDB of this release or newer; False on any other server."""
        return self.is_tidb and self.tidb >= release

    def __str__(self):
        if self.is_tidb:
            return "TiDB v%d.%d.%d" % self.tidb
        return self.raw


def parse_version(raw):
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    mysql = _MYSQL_PART.match(raw)
    mysql = tuple(int(n) for n in mysql.groups()) if mysql else (0, 0, 0)
    if "-tidb-" not in raw.lower():
        return ServerVersion(raw, mysql, None)
    release = _TIDB_RELEASE.search(raw)
    tidb = tuple(int(n) for n in release.groups()) if release else CURRENT_TIDB_RELEASE
    return ServerVersion(raw, mysql, tidb)
