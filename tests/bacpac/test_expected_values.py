"""Every value of BACPACToD_Test.bacpac against the CSVs of the BACPACToD project.

How CSV text maps to our values (the CSVs are that project's rendering, so we render ours the same way):
- ``NULL`` is None; bit is ``0``/``1``; integers and decimals are printed plainly (decimal keeps its scale).
- money/smallmoney: 4 decimals with trailing zeros dropped down to 2 (``1.00``, ``12345.6789``).
- float: 15 significant digits, real: 7, in .NET's "G" style (``9.22337203685478E+18``, ``1E+38``).
- datetime: to the millisecond (``11:22:33.123`` for 37/300 s); smalldatetime to the second.
- time(n), datetime2(n), datetimeoffset(n): exactly n fractional digits, datetimeoffset with `` +hh:mm``.
- binary types, rowversion and the CLR types: ``0x`` + upper-case hex; uniqueidentifier upper-case.
- sql_variant: its value decoded from the base type (varchar inside a variant is single-byte text).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backups.bacpac import Column, PreciseDatetime, SqlVariant, open_bacpac
from backups.bacpac.values import ticks_of_time


def _fraction(ticks_in_second: int, scale: int) -> str:
    return "" if scale == 0 else "." + f"{ticks_in_second:07d}"[:scale]


def _offset(v: datetime) -> str:
    off = v.utcoffset()
    assert off is not None
    minutes = int(off.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f" {sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def render(value: Any, col: Column) -> str:
    t = col.sql_type
    if value is None:
        return "NULL"
    if t == "bit":
        return "1" if value else "0"
    if t in ("money", "smallmoney"):
        text = f"{value:.4f}"
        while text.endswith("0") and len(text.split(".")[1]) > 2:
            text = text[:-1]
        return text
    if t == "float":
        return f"{value:.15G}"
    if t == "real":
        return f"{value:.7G}"
    if t == "datetime":
        return value.strftime("%Y-%m-%d %H:%M:%S") + f".{round(value.microsecond / 1000):03d}"
    if t == "smalldatetime":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if t in ("time", "datetime2", "datetimeoffset"):
        part = value if isinstance(value, time) else value.time()
        ticks = ticks_of_time(part) + getattr(value, "extra_100ns", 0) * (not isinstance(value, time))
        text = part.strftime("%H:%M:%S") + _fraction(ticks % 10_000_000, col.scale)
        if t == "time":
            return text
        text = value.strftime("%Y-%m-%d ") + text
        return text + _offset(value) if t == "datetimeoffset" else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "0x" + value.hex().upper()
    if isinstance(value, SqlVariant):
        return str(value.value)
    if isinstance(value, Decimal | int | str):
        return str(value)
    return str(value).upper()  # uuid


def _csv_tables(expected_dir: Path) -> list[str]:
    return sorted(p.stem for p in expected_dir.glob("*.csv"))


def test_every_value_equals_the_bacpactod_ground_truth(bacpactod: Path, expected_dir: Path) -> None:
    tables = _csv_tables(expected_dir)
    assert len(tables) == 25
    with open_bacpac(bacpactod) as bp:
        for stem in tables:
            table = bp.table("dbo." + stem.removeprefix("dbo"))
            with (expected_dir / f"{stem}.csv").open(newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader)
                expected = list(reader)
            assert header == [c.name for c in table.stored_columns]
            got = [[render(v, c) for v, c in zip(row, table.stored_columns, strict=True)] for row in bp.rows(table)]
            assert got == expected, stem


def test_it_keeps_the_seventh_fractional_digit(bacpactod: Path) -> None:
    with open_bacpac(bacpactod) as bp:
        row = next(iter(bp.rows("dbo.DateTimeFields2")))
    datetime2 = row[4]
    assert isinstance(datetime2, PreciseDatetime)
    assert datetime2.extra_100ns == 7
    assert datetime2 != datetime(2003, 2, 1, 11, 22, 33, 123456)
    assert str(datetime2) == "2003-02-01 11:22:33.1234567"


@pytest.mark.parametrize(
    ("stem", "column", "expected"),
    [
        ("DecimalFields1", "Field_decimal_38_38", Decimal("0.12345678901234567890123456789012345678")),
        ("DecimalFields1", "Field_decimal_38_0", Decimal("12345678901234567890123456789012345678")),
    ],
)
def test_decimals_keep_all_38_digits(bacpactod: Path, stem: str, column: str, expected: Decimal) -> None:
    with open_bacpac(bacpactod) as bp:
        table = bp.table(f"dbo.{stem}")
        index = [c.name for c in table.stored_columns].index(column)
        assert expected in [row[index] for row in bp.rows(table)]
