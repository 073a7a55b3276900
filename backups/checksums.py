"""Per-table row counts and checksums that prove a back-up can be restored to the same rows.

The native engine feeds every row it writes into a `TableChecksum` while streaming (the values exactly as the
`.bacpac` stores them); a test-restore reads the restored database back and feeds its rows into another one. The
checksum does not depend on row order (restored tables come back in whatever order the database likes): it is the
sum, modulo 2**128, of a BLAKE2b digest of each row's canonical form. Canonical means one form per value whatever
the database: aware timestamps in UTC without a zone, decimals without trailing zeros, `real` columns rounded to the
4-byte float the file holds, UUIDs as hex, binary as bytes.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from hashlib import blake2b
from typing import Any

from backups.bacpac import Column

MODULUS = 1 << 128
Canonical = Callable[[Any], Any]

_F4 = struct.Struct("<f")


def _real(value: Any) -> Any:
    return _F4.unpack(_F4.pack(float(value)))[0]


def _float(value: Any) -> Any:
    return float(value)


def _decimal(value: Any) -> Any:
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return format(number.normalize(), "f")


def _timestamp(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _time(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, dt.time) else value


def _uuid(value: Any) -> Any:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


def _bytes(value: Any) -> Any:
    return bytes(value.raw) if hasattr(value, "raw") else bytes(value)


def _bool(value: Any) -> Any:
    return bool(value)


def _text(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> Any:
    return int(value)


def canonical_for(column: Column) -> Canonical:
    """How one column's values are made comparable (None stays None and is handled by the caller)."""
    t = column.sql_type
    if t in ("bigint", "int", "smallint", "tinyint"):
        return _int
    if t == "bit":
        return _bool
    if t == "real" or (t == "float" and 0 < column.precision <= 24):
        return _real
    if t == "float":
        return _float
    if t in ("decimal", "numeric", "money", "smallmoney"):
        return _decimal
    if t in ("datetime", "datetime2", "smalldatetime", "datetimeoffset"):
        return _timestamp
    if t == "time":
        return _time
    if t == "uniqueidentifier":
        return _uuid
    if t in ("char", "varchar", "nchar", "nvarchar", "text", "ntext", "xml", "sysname"):
        return _text
    if t == "date":
        return lambda v: v
    return _bytes


class TableChecksum:
    """Row count and order-independent checksum of one table's rows (tuples in the bacpac's stored-column order)."""

    def __init__(self, columns: list[Column]) -> None:
        self._canonical = [canonical_for(c) for c in columns]
        self.rows = 0
        self._sum = 0

    def add(self, row: Iterable[Any]) -> None:
        values = tuple(None if v is None else f(v) for f, v in zip(self._canonical, row, strict=True))
        digest = blake2b(repr(values).encode("utf-8", "surrogatepass"), digest_size=16).digest()
        self._sum = (self._sum + int.from_bytes(digest, "big")) % MODULUS
        self.rows += 1

    def passing(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """Count and checksum rows while they stream past on their way to the writer."""
        for row in rows:
            self.add(row)
            yield row

    @property
    def hexdigest(self) -> str:
        return f"{self._sum:032x}"

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": self.hexdigest}
