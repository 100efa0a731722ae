"""pwiz whose models import their database's class (pwiz's NameError) with the keywords given,
not the driver's (an SSLContext is no Python literal), and never the password.

    python -m tidb_dialect.reflection tidb://root@127.0.0.1:4000/test > models.py
"""

from __future__ import annotations

import sys
from typing import Any

import pwiz
from peewee import Database
from playhouse import reflection

from .urls import connect_url


class Introspector(reflection.Introspector):
    def get_additional_imports(self) -> str:
        """The class from the package that exports it (tidb_dialect, wherever it was copied)."""
        cls = self.get_database_class()
        package = cls.__module__.rpartition(".")[0]
        exported = getattr(sys.modules.get(package), cls.__name__, None) is cls
        module = package if package and exported else cls.__module__
        return "%s\nfrom %s import %s" % (super().get_additional_imports(), module, cls.__name__)

    def get_database_kwargs(self) -> dict[str, Any]:
        return dict(getattr(self.metadata.database, "given_keywords", {}))


def print_models(database: Database, **options: Any) -> None:
    pwiz.print_models(Introspector.from_database(database), **options)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tidb_dialect.reflection DATABASE_URL > models.py")
    print_models(connect_url(sys.argv[1]))
