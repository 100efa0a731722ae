"""The shared test kit, used by tests/ and bench/: private MariaDB servers (servers.py), the relay
(relay.py) and the fake TiDB server (fake_tidb.py)."""
