"""Settings mistakes through the command line (player_cli/command.py), and what --help says.

tests/test_settings.py checks the dialect's rules function by function; here
the program is run as a user would, and a mistake must stop it with exit
status 2 and one line naming the setting, before anything connects (a fake
server listens where the settings point, and must see no connection) and
without falling back to the embedded SQLite file. The embedded fallback's
notice, naming the absolute .env path it looked for, is checked line for line
in tests/test_expected_output.py.
"""

import os
import re

import pytest

from tidb_dialect.settings import DEFAULTS, SETTINGS

MEANT = "not a setting this program reads; did you mean %s?"


@pytest.fixture
def listening(fake_server):
    """A fake server where the misspelled settings point: it must never see a connection."""
    return fake_server()


def misspelled(fake):
    """(settings with a likely misspelling, the misspelled name, the setting meant): each
    case points at `fake` as far as the misspelling lets it."""
    port = str(fake.port)
    return [
        ({"TIDB_HOST": fake.host, "TIDB_POST": port}, "TIDB_POST", "TIDB_PORT"),
        (
            {"TIDB_HOST": fake.host, "TIDB_PORT": port, "TIDB_DB": "x"},
            "TIDB_DB",
            "TIDB_DB_NAME",
        ),
    ]


@pytest.mark.parametrize("case", [0, 1], ids=["TIDB_POST", "TIDB_DB"])
@pytest.mark.parametrize("where", ["environment", ".env"])
def test_a_misspelled_setting_stops_the_run_before_connecting(
    run_example, listening, tmp_path, case, where
):
    settings, name, meant = misspelled(listening)[case]
    if where == ".env":
        result = run_example(env_file="".join("%s=%s\n" % item for item in settings.items()))
        line = len(settings)  # the misspelling is the last line
        message = "error: .env: line %d: %s: %s\n" % (line, name, MEANT % meant)
    else:
        result = run_example(environ=settings)
        message = "error: %s: %s\n" % (name, MEANT % meant)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)
    assert listening.accepted == 0
    assert not (tmp_path / "player.db").exists()


def test_a_env_line_that_cannot_be_parsed_stops_the_run(run_example, listening, tmp_path):
    result = run_example(
        env_file="TIDB_HOST=%s\nTIDB_PORT=%d\n\nTIDB_PASSWORD='it's'\n"
        % (listening.host, listening.port)
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: .env: line 4: cannot be parsed: write NAME=value, and quote a value holding "
        'spaces, # or quotes ("it\'s", \'say "hi"\')\n',
    )
    assert listening.accepted == 0
    assert not (tmp_path / "player.db").exists()


@pytest.mark.timeout(30)  # reading a FIFO would wait for a writer for ever
def test_a_fifo_named_env_is_refused_unread(run_example, tmp_path):
    os.mkfifo(tmp_path / ".env")
    result = run_example()
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: .env: not a regular file (a FIFO): it must be a text file\n",
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == [".env"]


#: What --help says of each setting's default, written out; DEFAULTS gives the rest.
NO_DEFAULT_IN_SETTINGS = {
    "TIDB_PASSWORD": "none",
    "CA_PATH": "none",
    "TIDB_DRIVER": "pymysql",
    "DATABASE_URL": "none",
}


def test_help_lists_every_setting_with_its_default_the_fallback_and_two_examples(run_example):
    result = run_example("--help")
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    for name in SETTINGS:
        listed = [line for line in lines if re.match(r"  %s  " % name, line)]
        assert len(listed) == 1, (name, lines)
        default = DEFAULTS.get(name) or NO_DEFAULT_IN_SETTINGS[name]
        assert listed[0].endswith("(default %s)" % default), listed[0]
    text = " ".join(result.stdout.split())
    assert (
        "With none of these set and nothing listening on 127.0.0.1:4000, the walkthrough runs "
        "on the embedded SQLite file player.db, and says so." in text
    )
    examples = lines[lines.index("examples:") + 1 :]
    examples = examples[: examples.index("")]
    assert len(examples) == 2 and all("python3 peewee_example.py" in line for line in examples)
