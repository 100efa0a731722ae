"""The bench: peewee with the TiDB dialect beside SQLAlchemy and the TiDB docs page's own trade.

    pip install -r bench/requirements.txt
    python -m bench                  # full run, under 10 minutes on 2 cores
    python -m bench --quick          # smoke run, seconds (the tests run it)
    python -m bench --chart charts/  # and one chart a question (needs matplotlib)

Run from the repository root. The server is a private MariaDB started for the run (the shared
test kit's), or the cluster named by TIDB_HOST and the other TIDB_* settings; either way the run
works in a database of its own and drops it. bench/README.md says what the figures mean.
"""
