import pytest

from tidb_dialect import parse_version
from tidb_dialect.version import CURRENT_TIDB_RELEASE


@pytest.mark.parametrize(
    "raw, mysql, tidb, serverless",
    [
        ("8.0.11-TiDB-v7.5.1", (8, 0, 11), (7, 5, 1), False),
        ("5.7.25-TiDB-v6.1.0", (5, 7, 25), (6, 1, 0), False),
        ("8.0.11-TiDB-v8.5.3-serverless", (8, 0, 11), (8, 5, 3), True),
        ("5.7.25-TiDB-v6.3.0-serverless", (5, 7, 25), (6, 3, 0), True),
        ("8.0.11-TiDB-CLOUD.202603.9", (8, 0, 11), CURRENT_TIDB_RELEASE, True),
        ("10.11.19-MariaDB-0+deb12u1", (10, 11, 19), None, False),
        ("8.0.36", (8, 0, 36), None, False),
    ],
)
def test_version_strings(raw, mysql, tidb, serverless):
    version = parse_version(raw)
    assert version.mysql == mysql
    assert version.tidb == tidb
    assert version.is_tidb == (tidb is not None)
    assert version.is_serverless == serverless


def test_bytes_are_decoded():
    assert parse_version(b"8.0.11-TiDB-v7.5.1").tidb == (7, 5, 1)


def test_at_least_is_false_on_other_servers():
    assert parse_version("8.0.11-TiDB-v6.2.0").at_least(6, 2, 0)
    assert not parse_version("8.0.11-TiDB-v6.1.0").at_least(6, 2, 0)
    assert not parse_version("8.0.36").at_least(0, 0, 0)
