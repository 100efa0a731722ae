"""Connection pooling and reconnection for TiDBDatabase, from playhouse.

PooledTiDBDatabase keeps connections open between requests, so a web app
does not pay a TCP and TLS handshake (several round trips to a TiDB Cloud
region) for every request. ReconnectingTiDBDatabase opens a new connection
when the old one was lost (server restart, idle timeout, a load balancer
dropping it), but only outside a transaction, where nothing can be lost.
"""

from playhouse.pool import PooledMySQLDatabase
from playhouse.shortcuts import ReconnectMixin

from .database import TiDBDatabase


class PooledTiDBDatabase(PooledMySQLDatabase, TiDBDatabase):
    """TiDBDatabase whose close() returns the connection to a pool (max_connections,
    stale_timeout, timeout: see playhouse.pool)."""


class ReconnectingTiDBDatabase(ReconnectMixin, TiDBDatabase):
    """TiDBDatabase that reconnects once and reruns a statement whose connection was lost."""
