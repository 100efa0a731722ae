"""Benchmarks of the sample's patterns against a real server; not part of the test suite.

    python -m bench             # full run, under 4 minutes on 2 cores
    python -m bench --quick     # smoke run, seconds

Run from the repository root. The server is a private MariaDB started for the
run (like the tests'), or the cluster named by TIDB_HOST and the other TIDB_*
settings; either way the run works in a database of its own and drops it.
The table goes to standard output, the figures to bench/results.json.
"""
