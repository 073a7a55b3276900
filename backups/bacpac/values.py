"""Value types for what Python's own types cannot hold exactly.

SQL Server's time, datetime2 and datetimeoffset count in 100 ns units; Python's datetime and time stop at 1 µs.
Instead of a wrapper that every caller must unpack, the reader returns a plain ``datetime``/``time`` whenever
the value is a whole number of microseconds (nearly always) and otherwise a subclass that carries the remaining
digit in ``extra_100ns`` (0-9). The subclass still *is* a datetime/time, so code that does not care about the
last digit keeps working, and the writer reads ``extra_100ns`` back so that re-encoding is exact. Equality takes
the digit into account: ``PreciseDatetime(..., extra_100ns=3) != datetime(...)``.

``sql_variant`` values are kept as their raw TDS bytes (``SqlVariant``), because only the raw bytes round-trip
exactly (collation, max length and precision are part of the value); ``.value`` decodes the base type.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Context, Decimal
from typing import Any


class PreciseDatetime(datetime):
    """A datetime with one more digit: ``extra_100ns`` hundreds of nanoseconds beyond ``microsecond``."""

    extra_100ns: int = 0

    @classmethod
    def of(cls, dt: datetime, extra_100ns: int) -> datetime:
        """``dt`` plus ``extra_100ns`` (0-9); a plain datetime when the extra digit is 0."""
        if not extra_100ns:
            return dt
        out = cls(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond, dt.tzinfo, fold=dt.fold)
        out.extra_100ns = extra_100ns
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        return datetime.__eq__(self, other) is True and getattr(other, "extra_100ns", 0) == self.extra_100ns

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((datetime.__hash__(self), self.extra_100ns))

    def __repr__(self) -> str:
        return f"{datetime.__repr__(self)[:-1]}, extra_100ns={self.extra_100ns})"

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        if timespec != "auto":
            return datetime.isoformat(self, sep, timespec)
        base = datetime.isoformat(self, sep, "microseconds")
        # Insert the 7th fractional digit before any UTC offset.
        cut = 26 if sep else 25
        return base[:cut] + str(self.extra_100ns) + base[cut:]

    def __str__(self) -> str:
        return self.isoformat(" ")


class PreciseTime(time):
    """A time with one more digit: ``extra_100ns`` hundreds of nanoseconds beyond ``microsecond``."""

    extra_100ns: int = 0

    @classmethod
    def of(cls, t: time, extra_100ns: int) -> time:
        if not extra_100ns:
            return t
        out = cls(t.hour, t.minute, t.second, t.microsecond, t.tzinfo)
        out.extra_100ns = extra_100ns
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, time):
            return NotImplemented
        return time.__eq__(self, other) is True and getattr(other, "extra_100ns", 0) == self.extra_100ns

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((time.__hash__(self), self.extra_100ns))

    def __repr__(self) -> str:
        return f"{time.__repr__(self)[:-1]}, extra_100ns={self.extra_100ns})"

    def isoformat(self, timespec: str = "auto") -> str:
        if timespec != "auto":
            return time.isoformat(self, timespec)
        base = time.isoformat(self, "microseconds")
        return base[:15] + str(self.extra_100ns) + base[15:]

    def __str__(self) -> str:
        return self.isoformat()


def ticks_of_time(t: time) -> int:
    """100 ns units since midnight, including ``extra_100ns``."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 10_000_000 + t.microsecond * 10 + getattr(t, "extra_100ns", 0)


# --------------------------------------------------------------------------------------------- sql_variant

_EPOCH_1900 = datetime(1900, 1, 1)
# Collation bytes of Latin1_General_CI_AS (LCID 1033), as SQL Server writes them in a variant.
_VARIANT_COLLATION = bytes.fromhex("0904d00034")
_DATE0 = date(1, 1, 1).toordinal()


def _var_time(data: bytes, scale: int) -> tuple[int, int]:
    # Inside a variant, time/datetime2 use the TDS width for their scale (3, 4 or 5 bytes), in units of 10^-scale s.
    width = 3 if scale <= 2 else 4 if scale <= 4 else 5
    units = int.from_bytes(data[:width], "little")
    return units * 10 ** (7 - scale), width


def _ticks_to_time(ticks: int) -> time:
    seconds, rest = divmod(ticks, 10_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return PreciseTime.of(time(hour, minute, second, rest // 10), rest % 10)


@dataclass(frozen=True)
class SqlVariant:
    """A sql_variant value: the TDS bytes (base type, property length, properties, data)."""

    raw: bytes

    @classmethod
    def from_value(cls, v: Any) -> SqlVariant:
        """A variant for a plain Python value (bool, int, float, str, bytes, Decimal, UUID, date, datetime)."""
        if isinstance(v, bool):
            return cls(b"\x32\x00" + (b"\x01" if v else b"\x00"))
        if isinstance(v, int):
            if -(2**31) <= v < 2**31:
                return cls(b"\x38\x00" + struct.pack("<i", v))
            return cls(b"\x7f\x00" + struct.pack("<q", v))
        if isinstance(v, float):
            return cls(b"\x3e\x00" + struct.pack("<d", v))
        if isinstance(v, str):
            data = v.encode("utf-16-le", "surrogatepass")
            return cls(b"\xe7\x07" + _VARIANT_COLLATION + struct.pack("<H", max(len(data), 2)) + data)
        if isinstance(v, bytes | bytearray):
            return cls(b"\xa5\x02" + struct.pack("<H", max(len(v), 1)) + bytes(v))
        if isinstance(v, Decimal):
            sign, _digits, exp = v.as_tuple()
            scale = max(0, -int(exp))
            n = abs(int(v.scaleb(scale, Context(prec=80))))
            precision = max(len(str(n)), scale, 1)
            if precision > 38:
                raise ValueError(f"{v!r} does not fit a decimal(38)")
            return cls(bytes((0x6C, 2, precision, scale, 0 if sign else 1)) + n.to_bytes(16, "little"))
        if isinstance(v, uuid.UUID):
            return cls(b"\x24\x00" + v.bytes_le)
        if isinstance(v, datetime):
            ticks = ticks_of_time(v.time()) + getattr(v, "extra_100ns", 0)
            days = v.toordinal() - 1
            return cls(b"\x2a\x01\x07" + ticks.to_bytes(5, "little") + days.to_bytes(3, "little"))
        if isinstance(v, date):
            return cls(b"\x28\x00" + (v.toordinal() - 1).to_bytes(3, "little"))
        raise TypeError(f"cannot store {type(v).__name__} in a sql_variant")

    @property
    def base_type(self) -> int:
        return self.raw[0]

    @property
    def value(self) -> Any:
        """The value decoded as its base type (character data of varchar/char as cp1252)."""
        raw = self.raw
        kind, nprops = raw[0], raw[1]
        props, data = raw[2 : 2 + nprops], raw[2 + nprops :]
        simple: dict[int, Any] = {
            0x30: lambda d: d[0],
            0x34: lambda d: struct.unpack("<h", d)[0],
            0x38: lambda d: struct.unpack("<i", d)[0],
            0x7F: lambda d: struct.unpack("<q", d)[0],
            0x32: lambda d: d[0] != 0,
            0x3B: lambda d: struct.unpack("<f", d)[0],
            0x3E: lambda d: struct.unpack("<d", d)[0],
            0x24: lambda d: uuid.UUID(bytes_le=bytes(d)),
            0xA5: bytes,
            0xAD: bytes,
        }
        if kind in simple:
            return simple[kind](data)
        if kind in (0xE7, 0xEF):  # nvarchar, nchar
            return data.decode("utf-16-le", "surrogatepass")
        if kind in (0xA7, 0xAF):  # varchar, char
            return data.decode("cp1252", "replace")
        if kind in (0x6A, 0x6C):  # decimal, numeric: precision, scale; sign + magnitude
            scale = props[1]
            mag = int.from_bytes(data[1:], "little")
            return Decimal(f"{'' if data[0] else '-'}{mag}E-{scale}")
        if kind == 0x3C:  # money
            hi, lo = struct.unpack("<iI", data)
            return Decimal((hi << 32) | lo).scaleb(-4)
        if kind == 0x7A:  # smallmoney
            return Decimal(struct.unpack("<i", data)[0]).scaleb(-4)
        if kind == 0x3D:  # datetime
            days, ticks = struct.unpack("<iI", data)
            return _EPOCH_1900 + timedelta(days=days, microseconds=round(ticks * 10_000 / 3))
        if kind == 0x3A:  # smalldatetime
            days, minutes = struct.unpack("<HH", data)
            return _EPOCH_1900 + timedelta(days=days, minutes=minutes)
        if kind == 0x28:  # date
            return date.fromordinal(_DATE0 + int.from_bytes(data[:3], "little"))
        if kind == 0x29:  # time(n)
            return _ticks_to_time(_var_time(data, props[0])[0])
        if kind in (0x2A, 0x2B):  # datetime2(n), datetimeoffset(n)
            ticks, width = _var_time(data, props[0])
            days = int.from_bytes(data[width : width + 3], "little")
            t = _ticks_to_time(ticks)
            dt = datetime.combine(date.fromordinal(_DATE0 + days), t)
            extra = getattr(t, "extra_100ns", 0)
            if kind == 0x2B:
                offset = struct.unpack("<h", data[width + 3 : width + 5])[0]
                tz: tzinfo = timezone(timedelta(minutes=offset))
                dt = dt.replace(tzinfo=UTC).astimezone(tz)
            return PreciseDatetime.of(dt, extra)
        return bytes(raw)
