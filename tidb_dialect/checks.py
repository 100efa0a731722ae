"""Argument checks shared by the dialect: one wording for every bad value."""

from .errors import ConfigError


def whole_number(name, value, low, high):
    """`value` if it is an int from `low` to `high`, else ConfigError naming `name`.

    bool is refused although it is an int: `True` is never a count or a port.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise out_of_range(name, value, low, high)
    return value


def parse_whole_number(name, text, low, high):
    """whole_number() for a value that may arrive as text (a variable, a URL parameter)."""
    if isinstance(text, str):
        try:
            value = int(text.strip(), 10)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise out_of_range(name, text, low, high)
        return value
    return whole_number(name, text, low, high)


def out_of_range(name, value, low, high):
    return ConfigError.of(name, "must be a whole number from %d to %d, got %r" % (low, high, value))
