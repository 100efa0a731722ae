"""tidb_dialect/REFERENCE.md says what the code's own tables say: every setting, keyword, URL scheme
and parameter, version gate, error code and public name is in both, with the same values.

The tables are read here, in one place: when a module is renamed, fix these lines.
"""

import re

import pytest

import tidb_dialect
from tests.conftest import ROOT
from tidb_dialect import errors, keywords, settings, urls, version

# --- the code's tables -------------------------------------------------------------------------
ALL_KEYWORDS = keywords.KEYWORDS  # name -> Keyword(kind, low, high, takes, url, ...)
KEYWORDS = {n: k for n, k in ALL_KEYWORDS.items() if k.kind != "refused"}
REFUSED_KEYWORDS = [n for n, k in ALL_KEYWORDS.items() if k.kind == "refused"]
REFUSED_CLIENT_FLAGS = keywords.REFUSED_CLIENT_FLAGS
VARIABLES = settings.VARIABLES  # setting -> keyword
OTHER_NAMES = settings.OTHER_NAMES  # TiDB's other name -> setting
DEFAULTS = settings.DEFAULTS
ALIASES = settings.ALIASES  # a name taken for a misspelling -> the setting
URL_SCHEMES = urls.SCHEMES  # scheme -> the name of the class it makes
VERSION_MODULE = version  # gates: its (major, minor, patch) constants
RETRYABLE_ERRORS = tidb_dialect.RETRYABLE_ERRORS
SQLITE_RETRYABLE = errors.SQLITE_RETRYABLE
CONNECTION_LOST = errors.CONNECTION_LOST
PUBLIC_NAMES = (*tidb_dialect.__all__, *tidb_dialect.ASYNC_NAMES)
# -----------------------------------------------------------------------------------------------

REFERENCE = ROOT / "tidb_dialect" / "REFERENCE.md"
HEADING = re.compile(r"^(#{1,6}) (.*)$")
CELL_SPLIT = re.compile(r"(?<!\\)\|")
CODE = re.compile(r"`([^`]*)`")

TAKEN_BY = {
    keywords.ALL: "every database",
    ("PooledTiDBDatabase",): "`PooledTiDBDatabase`",
    ("AsyncTiDBDatabase",): "`AsyncTiDBDatabase`",
    ("PooledTiDBDatabase", "AsyncTiDBDatabase"): "`PooledTiDBDatabase`, `AsyncTiDBDatabase`",
}


def tables(text):
    """{heading: [table, ...]} where a table is its rows (header and rule left out), each a list
    of cells; a table belongs to the nearest heading above it."""
    found, heading, rows = {}, None, []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in CELL_SPLIT.split(line.strip())[1:-1]])
            continue
        if rows:
            found.setdefault(heading, []).append(rows[2:])
            rows = []
        match = HEADING.match(line)
        if match:
            heading = match.group(2)
    return found


def table(heading, index=0, text=None):
    found = tables(text if text is not None else REFERENCE.read_text())
    assert heading in found, "REFERENCE.md has no table under %r" % heading
    return found[heading][index]


def name(cell):
    """The first `code` in a cell."""
    match = CODE.search(cell)
    assert match, "expected a `name` in %r" % cell
    return match.group(1)


def gates_in_code():
    gates = {
        key: value
        for key, value in vars(VERSION_MODULE).items()
        if key.isupper()
        and isinstance(value, tuple)
        and len(value) == 3
        and all(type(part) is int for part in value)
    }
    return gates


def value_of(rule):
    """How the reference writes a keyword's value."""
    if rule.kind == "number":
        return "%d to %d" % (rule.low, rule.high)
    return {"flag": "true or false", "text": "text", "file": "text", "ssl": "a dict"}[rule.kind]


# --- the tests ---------------------------------------------------------------------------------


def test_settings():
    rows = table("Settings")
    shown = {name(row[0]): row for row in rows}
    assert list(shown) == [*VARIABLES, "DATABASE_URL"]
    for setting, (_, other, keyword, default, _) in shown.items():
        assert other == "".join("`%s`" % n for n, s in OTHER_NAMES.items() if s == setting), setting
        assert keyword == ("`%s`" % VARIABLES[setting] if setting in VARIABLES else ""), setting
        assert default == ("`%s`" % DEFAULTS[setting] if setting in DEFAULTS else ""), setting


def test_misspellings():
    shown = {name(row[0]): name(row[1]) for row in table("Misspellings")}
    assert shown == ALIASES


def test_connection_keywords():
    rows = table("Connection keywords")
    shown = {name(row[0]): row[1:4] for row in rows}
    assert sorted(shown) == sorted(KEYWORDS), "REFERENCE.md's keywords differ from the code's"
    assert len(shown) == len(rows), "a keyword twice"
    for keyword, rule in KEYWORDS.items():
        expected = [value_of(rule), TAKEN_BY[rule.takes], "yes" if rule.url else "no"]
        assert shown[keyword] == expected, keyword


def test_refused_keywords_and_client_flags():
    assert {name(row[0]) for row in table("Connection keywords", 1)} == set(REFUSED_KEYWORDS)
    flags = {int(name(row[0]), 16) for row in table("Connection keywords", 2)}
    assert flags == set(REFUSED_CLIENT_FLAGS)


def test_url_schemes():
    shown = {name(row[0]).removesuffix("://"): name(row[1]) for row in table("Database URLs")}
    assert sorted(shown) == sorted(URL_SCHEMES)
    assert shown == URL_SCHEMES


def test_version_gates():
    shown = {
        name(row[0]): tuple(int(part) for part in re.findall(r"\d+", row[1]))
        for row in table("Version gates")
    }
    assert shown == gates_in_code()


@pytest.mark.parametrize(
    "index, codes",
    [(0, RETRYABLE_ERRORS), (1, SQLITE_RETRYABLE), (2, CONNECTION_LOST)],
    ids=["retried", "sqlite", "connection-lost"],
)
def test_error_codes(index, codes):
    assert [int(name(row[0])) for row in table("Error codes", index)] == list(codes)


def test_error_classes():
    shown = {name(row[0]): name(row[1]) for row in table("Errors")}
    public = {n: getattr(tidb_dialect, n) for n in tidb_dialect.__all__}
    errors = {n: obj for n, obj in public.items() if isinstance(obj, type)}
    errors = {n: cls for n, cls in errors.items() if issubclass(cls, BaseException)}
    assert shown == {n: cls.__bases__[0].__name__ for n, cls in errors.items()}


def test_public_names():
    shown = [name(row[0]) for row in table("Public names")]
    assert sorted(shown) == sorted(PUBLIC_NAMES)
    assert len(shown) == len(set(shown))


def test_a_table_is_read_under_its_heading_and_a_missing_name_fails():
    text = (
        "# Title\n\n## Public names\n\nIntro.\n\n| Name | What |\n| --- | --- |\n"
        "| `a` | one \\| two |\n| `b` | three |\n\n### Other\n\n| X |\n| --- |\n| `c` |\n"
    )
    assert tables(text) == {
        "Public names": [[["`a`", "one \\| two"], ["`b`", "three"]]],
        "Other": [[["`c`"]]],
    }
    shown = [name(row[0]) for row in table("Public names", text=text)]
    assert shown == ["a", "b"] and sorted(shown) != sorted(PUBLIC_NAMES)
