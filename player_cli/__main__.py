"""`python3 -m player_cli`: the same as `python3 peewee_example.py`."""

from . import run

run()
