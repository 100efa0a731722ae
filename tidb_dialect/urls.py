"""Database URLs: tidb://user:password@host:4000/db and tidb+pool://...

Registered with playhouse.db_url on ``import tidb_dialect``, so
``playhouse.db_url.connect(url)`` (and DATABASE_URL) knows them. Query
parameters are connection keywords: ``?driver=mysqlclient``,
``?ssl_ca=/path/ca.pem`` (TLS with full verification, translated for the
driver), ``?max_connections=8`` (pool). TLS is on without asking for
``*.tidbcloud.com`` hosts.
"""

from playhouse.db_url import register_database

from .database import TiDBDatabase
from .pool import PooledTiDBDatabase

SCHEMES = {"tidb": TiDBDatabase, "tidb+pool": PooledTiDBDatabase}

for _scheme, _database_class in SCHEMES.items():
    register_database(_database_class, _scheme)
