"""TiDB table options, as peewee table settings that every server accepts.

    class Event(Model):
        class Meta:
            table_settings = [auto_id_cache(1)]  # MySQL-compatible, centrally allocated ids

peewee writes ``Meta.table_settings`` after the closing parenthesis of
CREATE TABLE on every path (``Model.create_table()``, any database's
``create_tables()``), so the option is never silently left out. It is
written in TiDB's executable-comment form (``/*T![feature] ... */``), which
TiDB honours and MySQL, MariaDB and SQLite read as a comment.
"""

from __future__ import annotations

import re

from peewee import Metadata, Model

from .bulk import FastBulkCreate
from .checks import whole_number

AUTO_ID_CACHE = "AUTO_ID_CACHE"


def auto_id_cache(size: int) -> str:
    """The AUTO_ID_CACHE table option: 1 is TiDB's MySQL-compatible auto-increment (v6.4+),
    0 TiDB's default cache (auto-increment.md), as if it were not given."""
    size = whole_number("auto_id_cache", size, 0, 2**63 - 1)  # TiDB refuses above int64
    return "/*T![auto_id_cache] %s=%d */" % (AUTO_ID_CACHE, size)


#: TiDB's grammar: AUTO_ID_CACHE [=] number, in any letter case (by hand or in the comment form).
_AUTO_ID_CACHE_SETTING = re.compile(r"\b%s\s*=?\s*(\d+)" % AUTO_ID_CACHE, re.IGNORECASE)


def auto_id_cache_size(meta: Metadata) -> int | None:
    """The AUTO_ID_CACHE a model's Meta.table_settings (a string or a list of them) set, if any."""
    settings = meta.table_settings
    if settings is None:
        return None
    if isinstance(settings, str):
        settings = (settings,)
    for setting in settings:
        found = _AUTO_ID_CACHE_SETTING.search(str(setting))
        if found:
            return int(found.group(1))
    return None


class TiDBModel(FastBulkCreate, Model):
    """Base model whose bulk_create() sends each batch's INSERT without rebuilding its
    text (tidb_dialect.bulk); table options go in Meta.table_settings as for any model."""
