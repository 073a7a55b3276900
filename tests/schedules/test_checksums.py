"""The row checksum behind the test-restore: one value whatever the row order and whatever form a database hands
a value back in, and a different one for any changed value."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from backups.bacpac import Column
from backups.checksums import TableChecksum

COLUMNS = [
    Column("id", "int"),
    Column("bedrag", "decimal", precision=12, scale=2),
    Column("koers", "real"),
    Column("moment", "datetimeoffset", scale=7),
    Column("sleutel", "uniqueidentifier"),
    Column("actief", "bit"),
    Column("tekst", "nvarchar", length=50),
    Column("data", "varbinary", is_max=True),
]
KEY = uuid.UUID("12345678-1234-5678-1234-567812345678")


def digest(rows) -> tuple[int, str]:
    check = TableChecksum(COLUMNS)
    for row in rows:
        check.add(row)
    return check.rows, check.hexdigest


def test_row_order_does_not_matter_but_every_row_counts() -> None:
    rows = [(i, Decimal(i), 0.5, None, None, True, f"r{i}", b"x") for i in range(100)]
    assert digest(rows) == digest(list(reversed(rows)))
    assert digest(rows)[0] == 100
    assert digest(rows[:-1]) != digest(rows)
    assert digest([*rows, rows[0]]) != digest(rows)  # a duplicated row is not invisible


def test_the_forms_databases_give_back_are_the_same_value() -> None:
    source = (
        1,
        Decimal("12.50"),
        0.1,
        dt.datetime(2026, 3, 29, 3, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        KEY,
        True,
        "a",
        memoryview(b"\x00\x01"),
    )
    restored = (1, Decimal("12.5"), 0.10000000149011612, dt.datetime(2026, 3, 29, 1, 30), KEY.hex, 1, "a", b"\x00\x01")
    assert digest([source]) == digest([restored])


def test_any_changed_value_changes_the_checksum() -> None:
    row = (1, Decimal("12.50"), 0.5, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), KEY, True, "a", b"x")
    for index, other in enumerate(
        [2, Decimal("12.51"), 0.25, dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC), uuid.uuid4(), False, "b", b"y"]
    ):
        changed = list(row)
        changed[index] = other
        assert digest([tuple(changed)]) != digest([row]), COLUMNS[index].name
    nulled = (1, None, 0.5, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), KEY, True, "a", b"x")
    assert digest([nulled]) != digest([row])
