"""TiDB's DDL: table options in Meta.table_settings (written on every CREATE TABLE path) as
``/*T![...] */``, a comment to all but TiDB, and warnings for constraints TiDB would not enforce."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from peewee import SQL, ForeignKeyField, Metadata, Model, NodeList

from .keywords import whole_number
from .version import CHECK_CONSTRAINTS, ENFORCED_FOREIGN_KEYS, ServerVersion, release

if TYPE_CHECKING:
    from .database import TiDBDatabase

#: TiDB's grammar: AUTO_ID_CACHE [=] number, in any letter case (by hand or in the comment form).
AUTO_ID_CACHE = re.compile(r"\bAUTO_ID_CACHE\s*=?\s*(\d+)", re.IGNORECASE)


def auto_id_cache(size: int) -> str:
    """The AUTO_ID_CACHE table option: 1 is TiDB's MySQL-compatible auto-increment (v6.4+),
    0 TiDB's default cache (auto-increment.md), as if it were not given."""
    size = whole_number("auto_id_cache", size, 0, 2**63 - 1)  # TiDB refuses above int64
    return "/*T![auto_id_cache] AUTO_ID_CACHE=%d */" % size


def auto_id_cache_size(meta: Metadata) -> int | None:
    """The AUTO_ID_CACHE a model's Meta.table_settings (a string or a list of them) set, if any."""
    settings = meta.table_settings or ()
    text = settings if isinstance(settings, str) else " ".join(map(str, settings))
    found = AUTO_ID_CACHE.search(text)
    return int(found[1]) if found else None


def warn_unenforced(database: TiDBDatabase, models: Sequence[type[Model]]) -> None:
    """Warn of FOREIGN KEY and CHECK constraints that TiDB would keep without enforcing."""
    version = database.detect_server_version()
    if not version.is_tidb:
        return
    for model in models:
        fields = model._meta.sorted_fields
        keys = [f.name for f in fields if isinstance(f, ForeignKeyField)]
        if keys and not database.enforces_foreign_keys():
            enforced = "%s with foreign_key_checks and tidb_enable_foreign_key ON"
            warn(model, version, "FOREIGN KEY", enforced % release(ENFORCED_FOREIGN_KEYS), keys)
        checks = [f.name for f in fields if any(map(is_check, f.constraints or ()))]
        if any(map(is_check, model._meta.constraints or ())):
            checks.append("Meta.constraints")
        if checks and not database.enforces_check_constraints():
            enforced = "%s with tidb_enable_check_constraint=ON"
            warn(model, version, "CHECK", enforced % release(CHECK_CONSTRAINTS), checks)


def warn(
    model: type[Model], version: ServerVersion, kind: str, enforced: str, names: list[str]
) -> None:
    warnings.warn(
        "%s: %s does not enforce %s constraints (enforced from TiDB %s), so nothing stops "
        "writes that break them: %s" % (model.__name__, version, kind, enforced, ", ".join(names)),
        stacklevel=4,
    )


def is_check(node: object) -> bool:
    """True for peewee's Check(...) (SQL, or NodeList when named)."""
    if isinstance(node, SQL):
        text: str = node.sql
        return text.lstrip().upper().startswith("CHECK")
    return isinstance(node, NodeList) and any(map(is_check, node.nodes))
