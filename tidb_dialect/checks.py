"""Argument checks shared by the dialect: one wording for every bad value."""

from __future__ import annotations

import re
from typing import Any

from peewee import DatabaseProxy

from .errors import ConfigError

#: A whole number written as text: ASCII digits only. int() would also take a sign,
#: underscores, surrounding space and other scripts' digits ("١٢"), none of which a
#: user means as a port or a count.
WHOLE_NUMBER_TEXT = re.compile("[0-9]+")


def whole_number(name: str, value: object, low: int, high: int) -> int:
    """`value` if it is an int from `low` to `high`, else ConfigError naming `name`.

    bool is refused although it is an int: `True` is never a count or a port.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise out_of_range(name, value, low, high)
    return value


def read_whole_number(text: str) -> int | None:
    """The number `text` writes in ASCII digits (nothing else: no sign, no space), or None.

    The one rule for every whole number read from text: settings, URLs, arguments.
    """
    return int(text) if WHOLE_NUMBER_TEXT.fullmatch(text) else None


def parse_whole_number(name: str, text: object, low: int, high: int) -> int:
    """whole_number() for a value that may arrive as text (a variable, a URL parameter)."""
    if isinstance(text, str):
        value = read_whole_number(text)
        if value is None or not low <= value <= high:
            raise out_of_range(name, text, low, high)
        return value
    return whole_number(name, text, low, high)


def out_of_range(name: str, value: object, low: int, high: int) -> ConfigError:
    return ConfigError.of(name, "must be a whole number from %d to %d, got %r" % (low, high, value))


def sendable_text(name: str, value: str) -> str:
    """`value`, unless it holds what no setting can: a NUL (the URL form's %00), or bytes
    that are not UTF-8 (os.environ keeps them as lone surrogates); else ConfigError naming
    `name`. The one rule for text from variables, .env, URLs and keyword arguments."""
    if "\0" in value:
        raise ConfigError.of(name, "holds a NUL character, which no driver can send")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError.of(
            name, "holds bytes that are not text (not UTF-8), which no driver can send"
        ) from None
    return value


def unproxied(db: Any) -> Any:
    """The database behind `db`: a DatabaseProxy's obj, any other database itself."""
    return db.obj if isinstance(db, DatabaseProxy) else db
