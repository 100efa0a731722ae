"""One rule for whole numbers written as text (tidb_dialect/keywords.py), on each path reading one.

ASCII digits only: no sign, no underscores, no surrounding space, no other
scripts' digits, although Python's int() takes all of them.
"""

import pytest

from tidb_dialect import ConfigError, PooledTiDBDatabase, parse_url, whole_number
from tidb_dialect.settings import keywords_from

#: Text the rule refuses; int() reads the first seven as numbers.
ODD_FORMS = ["١٢", "1_0", " 3 ", "+13306", "-1", "\uff13", "12\n", "0x10", "1e3", "", "²"]


@pytest.mark.parametrize("text, number", [("0", 0), ("7", 7), ("4000", 4000), ("0080", 80)])
def test_ascii_digits_are_a_whole_number(text, number):
    assert whole_number("n", text, 0, 10**6, text=True) == number


@pytest.mark.parametrize("text", ODD_FORMS)
def test_odd_forms_are_not(text):
    with pytest.raises(ConfigError) as refused:
        whole_number("n", text, 0, 10**6, text=True)
    assert str(refused.value) == "n: must be a whole number from 0 to 1000000, got %r" % text


def test_text_is_read_only_when_asked():
    with pytest.raises(ConfigError, match=r"^n: must be a whole number from 0 to 9, got '7'$"):
        whole_number("n", "7", 0, 9)


def refused(read):
    with pytest.raises(ConfigError) as bad:
        read()
    return bad.value


#: Every path that reads a whole number from text: (how it reads "12", the keyword named).
PATHS = {
    "TIDB_PORT": (lambda text: keywords_from({"TIDB_PORT": text})[1]["port"], "port"),
    "URL port": (lambda text: parse_url("tidb://root@h:%s/test" % text)[2]["port"], "port"),
    "URL connect_timeout": (
        lambda text: parse_url("tidb://root@h/test?connect_timeout=%s&read_timeout=5" % text)[2][
            "connect_timeout"
        ],
        "connect_timeout",
    ),
    "URL max_connections": (
        lambda text: parse_url("tidb+pool://root@h/test?max_connections=%s&timeout=5" % text)[2][
            "max_connections"
        ],
        "max_connections",
    ),
    "pool keyword": (
        lambda text: PooledTiDBDatabase("test", max_connections=text)._max_connections,
        "max_connections",
    ),
    "pool init()": (lambda text: pool_init(timeout=text)._wait_timeout, "timeout"),
    "pool ping_after": (lambda text: pool_init(ping_after=text).ping_after, "ping_after"),
}


def pool_init(**keywords):
    pool = PooledTiDBDatabase(None)
    pool.init("test", **keywords)
    return pool


@pytest.mark.parametrize("path", PATHS)
def test_each_path_reads_ascii_digits(path):
    read, _ = PATHS[path]
    assert read("12") == 12


@pytest.mark.parametrize("text", ODD_FORMS)
@pytest.mark.parametrize("path", PATHS)
def test_each_path_refuses_each_odd_form_naming_its_keyword(path, text):
    read, keyword = PATHS[path]
    if (path, text) == ("TIDB_PORT", ""):  # an empty variable is unset: the default port
        assert read(text) == 4000
        return
    bad = refused(lambda: read(text))
    assert bad.keyword == keyword
    assert "\n" not in str(bad)  # one line, whatever the text held
