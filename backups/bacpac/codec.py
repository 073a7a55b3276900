"""Row layout of the BCP data parts: per-table decoders, skippers and encoders, compiled once.

A bacpac of a real administration holds millions of rows, so the per-row work must be small. For each table we
generate Python source for three functions specialised to its columns and ``exec`` it once:

- ``decode(buf, p, end, out)`` appends every complete row from ``buf[p:end]`` to ``out`` as a tuple and returns
  the position of the first incomplete row;
- ``walk(buf, p, end)`` does the same without building values (for row counts) and returns ``(p, rows)``;
- ``encode(rows, limit)`` turns tuples into bytes until ``limit`` bytes or the iterator ends.

The fast functions do not bounds-check each field: they read past ``end`` freely (a short slice, an IndexError or
a struct.error) and the caller treats any such row as "incomplete". ``row_end`` is the slow, careful walk that
tells the caller how many bytes the incomplete row needs, or that it was complete and so actually corrupt.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Context, Decimal
from typing import Any

from .errors import UnsupportedType
from .model import Column, Table
from .values import PreciseDatetime, PreciseTime, SqlVariant, ticks_of_time

# Layout kinds
FIXED = "fixed"  # fixed width; a 1-byte length prefix only when the column is nullable
FIXED1 = "fixed1"  # fixed width, always a 1-byte length prefix (bit, decimal, uniqueidentifier)
CHARFIX = "charfix"  # char(n) NOT NULL: 2n bytes, no prefix
VAR = "var"  # length prefix of 2, 4 or 8 bytes, then the bytes

_FIXED_SIZES = {
    "tinyint": 1,
    "smallint": 2,
    "int": 4,
    "bigint": 8,
    "real": 4,
    "float": 8,
    "money": 8,
    "smallmoney": 4,
    "datetime": 8,
    "smalldatetime": 4,
    "date": 3,
    "time": 5,
    "datetime2": 8,
    "datetimeoffset": 10,
}
_FIXED1_SIZES = {"bit": 1, "decimal": 19, "numeric": 19, "uniqueidentifier": 16}
_VAR2 = frozenset({"char", "varchar", "nchar", "nvarchar", "binary", "varbinary", "rowversion"})
_VAR8 = frozenset({"xml", "geography", "geometry", "hierarchyid"})
_VAR4 = frozenset({"text", "ntext", "image", "sql_variant"})
_TEXT_TYPES = frozenset({"char", "varchar", "nchar", "nvarchar", "text", "ntext", "xml"})


@dataclass(frozen=True)
class FieldLayout:
    kind: str
    size: int  # value width for FIXED/FIXED1/CHARFIX, prefix width for VAR
    null_length: int | None  # for VAR: the length value that means NULL


def field_layout(col: Column, char_variant: bool = False) -> FieldLayout:
    t = col.sql_type
    if t in _FIXED_SIZES:
        return FieldLayout(FIXED, _FIXED_SIZES[t], None)
    if t in _FIXED1_SIZES:
        return FieldLayout(FIXED1, _FIXED1_SIZES[t], None)
    if t == "char" and not col.nullable and not col.is_max and not char_variant:
        return FieldLayout(CHARFIX, 2 * col.length, None)
    if col.is_max or t in _VAR8:
        return FieldLayout(VAR, 8, 0xFFFF_FFFF_FFFF_FFFF)
    if t in _VAR2:
        return FieldLayout(VAR, 2, 0xFFFF)
    if t == "sql_variant":
        return FieldLayout(VAR, 4, 0)
    if t in _VAR4:
        return FieldLayout(VAR, 4, 0xFFFF_FFFF)
    raise UnsupportedType(f"column {col.name} has type {t!r}, whose data layout is unknown")


def has_char_variant(table: Table) -> bool:
    """Whether the old 2-byte-prefix ``char NOT NULL`` layout would read this table differently."""
    return any(c.sql_type == "char" and not c.nullable and not c.is_max for c in table.stored_columns)


# ------------------------------------------------------------------------------------------- shared helpers

_U2 = struct.Struct("<H").unpack_from
_U4 = struct.Struct("<I").unpack_from
_U8 = struct.Struct("<Q").unpack_from
_PREFIX_READERS = {2: _U2, 4: _U4, 8: _U8}

_ORD_1900 = date(1900, 1, 1).toordinal()
_DT_1900 = datetime(1900, 1, 1)
_DT_0001 = datetime(1, 1, 1)
_UTC = UTC
_TZ_CACHE: dict[int, timezone] = {}


def _tz(minutes: int) -> timezone:
    tz = _TZ_CACHE.get(minutes)
    if tz is None:
        tz = _UTC if minutes == 0 else timezone(timedelta(minutes=minutes))
        _TZ_CACHE[minutes] = tz
    return tz


_new_object = object.__new__
_set_attr = object.__setattr__
_SAFE_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_le(b: bytes) -> uuid.UUID:
    # uuid.UUID(bytes_le=...) validates its arguments in Python and costs ~3 µs; this is the same object for ~0.5.
    u = _new_object(uuid.UUID)
    _set_attr(u, "int", int.from_bytes(b[3::-1] + b[5:3:-1] + b[7:5:-1] + b[8:16], "big"))
    _set_attr(u, "is_safe", _SAFE_UNKNOWN)
    return u


def _time_of(ticks: int) -> time:
    seconds, rest = divmod(ticks, 10_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    t = time(hour, minute, second, rest // 10)
    return PreciseTime.of(t, rest % 10) if rest % 10 else t


_D40 = Context(prec=80)


def _decimal(sign: int, magnitude: int, scale: int) -> Decimal:
    d = Decimal(magnitude).scaleb(-scale, _D40)
    return d if sign else d.copy_negate()


def _money(hi: int, lo: int) -> Decimal:
    return Decimal((hi << 32) | lo).scaleb(-4, _D40)


def _smallmoney(v: int) -> Decimal:
    return Decimal(v).scaleb(-4, _D40)


def _datetime(days: int, ticks: int) -> datetime:
    # 1/300 s ticks; the nearest microsecond maps back to the same tick, so a plain datetime is exact enough.
    return _DT_1900 + timedelta(days=days, microseconds=(ticks * 10_000 + 1) // 3)


def _smalldatetime(days: int, minutes: int) -> datetime:
    return _DT_1900 + timedelta(days=days, minutes=minutes)


def _datetimeoffset(b: bytes) -> datetime:
    ticks = int.from_bytes(b[0:5], "little")
    days = int.from_bytes(b[5:8], "little")
    offset = int.from_bytes(b[8:10], "little", signed=True)
    local = _DT_0001 + timedelta(days=days, minutes=offset, microseconds=ticks // 10)
    dt = local.replace(tzinfo=_tz(offset))
    return PreciseDatetime.of(dt, ticks % 10) if ticks % 10 else dt


def _datetime2(ticks: int, days: int) -> datetime:
    dt = _DT_0001 + timedelta(days=days, microseconds=ticks // 10)
    return PreciseDatetime.of(dt, ticks % 10) if ticks % 10 else dt


def _utf16(b: bytes) -> str:
    return b.decode("utf-16-le", "surrogatepass")


class BadLength(ValueError):
    pass


def _bad_length(column: str, got: int, want: int) -> BadLength:
    return BadLength(f"column {column}: length prefix {got}, expected {want}")


_NAMESPACE: dict[str, Any] = {
    "_U2": _U2,
    "_U4": _U4,
    "_U8": _U8,
    "_i1": struct.Struct("<B").unpack_from,
    "_i2": struct.Struct("<h").unpack_from,
    "_i4": struct.Struct("<i").unpack_from,
    "_i8": struct.Struct("<q").unpack_from,
    "_f4": struct.Struct("<f").unpack_from,
    "_f8": struct.Struct("<d").unpack_from,
    "_ii": struct.Struct("<iI").unpack_from,
    "_iI": struct.Struct("<iI").unpack_from,
    "_HH": struct.Struct("<HH").unpack_from,
    "_fromordinal": date.fromordinal,
    "_from_bytes": int.from_bytes,
    "_td": timedelta,
    "_DT_1900": _DT_1900,
    "_DT_0001": _DT_0001,
    "_time_of": _time_of,
    "_datetime": _datetime,
    "_datetime2": _datetime2,
    "_smalldatetime": _smalldatetime,
    "_datetimeoffset": _datetimeoffset,
    "_decimal": _decimal,
    "_money": _money,
    "_smallmoney": _smallmoney,
    "_uuid_le": _uuid_le,
    "_SqlVariant": SqlVariant,
    "_bad_length": _bad_length,
    "_PDT": PreciseDatetime.of,
    "_Decimal": Decimal,
    "_D40": _D40,
}


# ------------------------------------------------------------------------------------------------ decoding


def _value_expr(col: Column, at: str) -> str:
    """Expression for the value of a fixed-width column whose bytes start at ``at``."""
    t = col.sql_type
    simple = {
        "tinyint": f"buf[{at}]",
        "smallint": f"_i2(buf, {at})[0]",
        "int": f"_i4(buf, {at})[0]",
        "bigint": f"_i8(buf, {at})[0]",
        "real": f"_f4(buf, {at})[0]",
        "float": f"_f8(buf, {at})[0]",
        "money": f"_money(*_iI(buf, {at}))",
        "smallmoney": f"_smallmoney(_i4(buf, {at})[0])",
        "datetime": f"_datetime(*_iI(buf, {at}))",
        "smalldatetime": f"_smalldatetime(*_HH(buf, {at}))",
        "date": f"_fromordinal(_from_bytes(buf[{at}:{at} + 3], 'little') + 1)",
        "time": f"_time_of(_from_bytes(buf[{at}:{at} + 5], 'little'))",
        "datetime2": (
            f"_datetime2(_from_bytes(buf[{at}:{at} + 5], 'little'), _from_bytes(buf[{at} + 5:{at} + 8], 'little'))"
        ),
        "datetimeoffset": f"_datetimeoffset(buf[{at}:{at} + 10])",
        "bit": f"buf[{at}] != 0",
        "decimal": f"_decimal(buf[{at} + 2], _from_bytes(buf[{at} + 3:{at} + 19], 'little'), buf[{at} + 1])",
        "uniqueidentifier": f"_uuid_le(buf[{at}:{at} + 16])",
    }
    simple["numeric"] = simple["decimal"]
    return simple[t]


def _value_lines(col: Column, at: str, v: str, ind: str) -> list[str]:
    """Statements that set ``v`` to a fixed-width value at ``at``; the hot types are inlined (no call)."""
    t = col.sql_type
    if t == "datetime2":
        return [
            f"{ind}x = _U8(buf, {at})[0]",
            f"{ind}t = x & 0xFFFFFFFFFF",
            f"{ind}{v} = _DT_0001 + _td(x >> 40, 0, t // 10)",
            f"{ind}if t % 10: {v} = _PDT({v}, t % 10)",
        ]
    if t in ("decimal", "numeric"):
        return [
            f"{ind}{v} = _Decimal(_from_bytes(buf[{at} + 3:{at} + 19], 'little')).scaleb(-buf[{at} + 1], _D40)",
            f"{ind}if not buf[{at} + 2]: {v} = {v}.copy_negate()",
        ]
    return [f"{ind}{v} = {_value_expr(col, at)}"]


def _var_expr(col: Column, piece: str) -> str:
    t = col.sql_type
    if t in _TEXT_TYPES:
        return f"{piece}.decode('utf-16-le', 'surrogatepass')"
    if t == "sql_variant":
        return f"_SqlVariant({piece})"
    return piece


def _decode_field(col: Column, k: int, layout: FieldLayout, ind: str) -> list[str]:
    v = f"v{k}"
    name = repr(col.name)
    if layout.kind == FIXED and not col.nullable:
        return [*_value_lines(col, "p", v, ind), f"{ind}p += {layout.size}"]
    if layout.kind in (FIXED, FIXED1):
        return [
            f"{ind}n = buf[p]",
            f"{ind}if n == 255:",
            f"{ind}    {v} = None",
            f"{ind}    p += 1",
            f"{ind}else:",
            f"{ind}    if n != {layout.size}: raise _bad_length({name}, n, {layout.size})",
            *_value_lines(col, "p + 1", v, ind + "    "),
            f"{ind}    p += {layout.size + 1}",
        ]
    if layout.kind == CHARFIX:
        return [f"{ind}{v} = buf[p:p + {layout.size}].decode('utf-16-le', 'surrogatepass')", f"{ind}p += {layout.size}"]
    w = layout.size
    reader = "buf[p]" if w == 1 else f"_U{w}(buf, p)[0]"
    return [
        f"{ind}n = {reader}",
        f"{ind}p += {w}",
        f"{ind}if n == {layout.null_length}:",
        f"{ind}    {v} = None",
        f"{ind}else:",
        f"{ind}    {v} = {_var_expr(col, 'buf[p:p + n]')}",
        f"{ind}    p += n",
    ]


def _skip_field(col: Column, layout: FieldLayout, ind: str) -> list[str]:
    if layout.kind == CHARFIX or (layout.kind == FIXED and not col.nullable):
        return [f"{ind}p += {layout.size}"]
    if layout.kind in (FIXED, FIXED1):
        return [f"{ind}n = buf[p]", f"{ind}p += 1 if n == 255 else n + 1"]
    w = layout.size
    reader = f"_U{w}(buf, p)[0]"
    return [f"{ind}n = {reader}", f"{ind}p += {w} if n == {layout.null_length} else n + {w}"]


def _merge_constant_steps(lines: list[str]) -> list[str]:
    """Fold consecutive ``p += <int>`` lines into one (fixed-width columns in a row)."""
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("p += ") and stripped[5:].isdigit() and out:
            prev = out[-1].strip()
            if (
                prev.startswith("p += ")
                and prev[5:].isdigit()
                and line[: len(line) - len(stripped)] == out[-1][: len(out[-1]) - len(prev)]
            ):
                indent = line[: len(line) - len(stripped)]
                out[-1] = f"{indent}p += {int(prev[5:]) + int(stripped[5:])}"
                continue
        out.append(line)
    return out


_CATCH = "(IndexError, struct.error, ValueError, OverflowError, UnicodeDecodeError)"


@dataclass
class TableCodec:
    """Compiled functions for one table in one layout variant."""

    table: Table
    char_variant: bool
    layouts: list[FieldLayout]
    decode: Callable[[bytes, int, int, list[tuple[Any, ...]]], int]
    decode_row: Callable[[bytes, int], tuple[tuple[Any, ...], int]]
    walk: Callable[[bytes, int, int], tuple[int, int]]
    encode: Callable[[Iterator[Sequence[Any]], int], tuple[list[bytes], int, int]]
    source: str

    def row_end(self, buf: bytes, p: int, end: int) -> int:
        """Where the row starting at ``p`` ends; a value > ``end`` is a lower bound on the bytes needed."""
        for col, lay in zip(self.table.stored_columns, self.layouts, strict=True):
            if lay.kind == CHARFIX or (lay.kind == FIXED and not col.nullable):
                p += lay.size
            elif lay.kind in (FIXED, FIXED1):
                if p + 1 > end:
                    return p + 1
                n = buf[p]
                p += 1 if n == 255 else n + 1
            else:
                w = lay.size
                if p + w > end:
                    return p + w
                n = _PREFIX_READERS[w](buf, p)[0]
                p += w if n == lay.null_length else n + w
        return p


def compile_table(table: Table, char_variant: bool = False) -> TableCodec:
    columns = table.stored_columns
    layouts = [field_layout(c, char_variant) for c in columns]
    names = ", ".join(f"v{k}" for k in range(len(columns)))
    row_tuple = f"({names},)" if columns else "()"

    dec = [
        "def decode(buf, p, end, out):",
        "    append = out.append",
        "    while p < end:",
        "        start = p",
        "        try:",
    ]
    for k, (col, lay) in enumerate(zip(columns, layouts, strict=True)):
        dec += _decode_field(col, k, lay, "            ")
    dec += [
        f"        except {_CATCH}:",
        "            return start",
        "        if p > end:",
        "            return start",
        f"        append({row_tuple})",
        "    return p",
    ]

    one = ["def decode_row(buf, p):"]
    for k, (col, lay) in enumerate(zip(columns, layouts, strict=True)):
        one += _decode_field(col, k, lay, "    ")
    one += [f"    return {row_tuple}, p"]

    walk = ["def walk(buf, p, end):", "    rows = 0", "    while p < end:", "        start = p", "        try:"]
    for col, lay in zip(columns, layouts, strict=True):
        walk += _skip_field(col, lay, "            ")
    walk += [
        "        except (IndexError, struct.error):",
        "            return start, rows",
        "        if p > end:",
        "            return start, rows",
        "        rows += 1",
        "    return p, rows",
    ]
    walk = _merge_constant_steps(walk)

    enc_ns: dict[str, Any] = {}
    enc = _encoder_source(table, columns, enc_ns)
    source = "\n".join([*dec, "", *one, "", *walk, "", *enc]) + "\n"
    namespace: dict[str, Any] = {**_NAMESPACE, **enc_ns, "struct": struct}
    exec(compile(source, f"<bacpac codec {table.full_name}>", "exec"), namespace)  # noqa: S102 - our own source
    return TableCodec(
        table=table,
        char_variant=char_variant,
        layouts=layouts,
        decode=namespace["decode"],
        decode_row=namespace["decode_row"],
        walk=namespace["walk"],
        encode=namespace["encode"],
        source=source,
    )


# ------------------------------------------------------------------------------------------------ encoding


def _sql_round(ticks: int, scale: int) -> int:
    """Round 100 ns ticks to ``scale`` fractional digits, half up, as SQL Server does on conversion."""
    unit = 10 ** (7 - scale)
    return (ticks + unit // 2) // unit * unit


def _enc_time(v: time, scale: int) -> bytes:
    ticks = _sql_round(ticks_of_time(v), scale)
    if ticks >= 864_000_000_000:
        ticks = 864_000_000_000 - 10 ** (7 - scale)
    return ticks.to_bytes(5, "little")


def _day_ticks(v: datetime) -> tuple[int, int]:
    ticks = ((v.hour * 60 + v.minute) * 60 + v.second) * 10_000_000 + v.microsecond * 10 + getattr(v, "extra_100ns", 0)
    return v.toordinal() - 1, ticks


def _enc_datetime2(v: datetime, scale: int) -> bytes:
    days, ticks = _day_ticks(v)
    if scale < 7:
        ticks = _sql_round(ticks, scale)
        if ticks >= 864_000_000_000:
            days, ticks = days + 1, ticks - 864_000_000_000
    return ticks.to_bytes(5, "little") + days.to_bytes(3, "little")


def _enc_datetimeoffset(v: datetime, scale: int) -> bytes:
    offset = v.utcoffset()
    if offset is None:
        raise ValueError(f"datetimeoffset needs a timezone-aware datetime, got {v!r}")
    minutes = int(offset.total_seconds()) // 60
    utc = v.replace(tzinfo=None) - offset
    days, ticks = _day_ticks(utc)
    ticks += getattr(v, "extra_100ns", 0)
    if scale < 7:
        ticks = _sql_round(ticks, scale)
        if ticks >= 864_000_000_000:
            days, ticks = days + 1, ticks - 864_000_000_000
    return ticks.to_bytes(5, "little") + days.to_bytes(3, "little") + minutes.to_bytes(2, "little", signed=True)


def _enc_datetime(v: datetime) -> bytes:
    # datetime counts 1/300 s; round to the nearest tick like SQL Server does when converting.
    micro = ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond
    ticks = (micro * 3 + 5_000) // 10_000
    days = v.toordinal() - _ORD_1900
    if ticks >= 25_920_000:
        days, ticks = days + 1, ticks - 25_920_000
    return struct.pack("<iI", days, ticks)


def _enc_smalldatetime(v: datetime) -> bytes:
    if v.second or v.microsecond:
        # SQL Server rounds to the minute (29.998 s and up rounds up).
        minutes = v.hour * 60 + v.minute + (1 if v.second * 1_000_000 + v.microsecond >= 29_998_500 else 0)
    else:
        minutes = v.hour * 60 + v.minute
    days = v.toordinal() - _ORD_1900
    if minutes >= 1440:
        days, minutes = days + 1, minutes - 1440
    return struct.pack("<HH", days, minutes)


def _scaled_int(v: Decimal | int, scale: int, what: str) -> int:
    if isinstance(v, int):
        return v * 10**scale
    if isinstance(v, float):
        v = Decimal(repr(v))
    m = v.scaleb(scale, _D40)
    n = int(m)
    if n != m:
        # An amount that does not fit the column's scale would be rounded by SQL Server; we refuse instead of
        # silently changing a bookkeeping value.
        raise ValueError(f"{v!r} has more decimals than {what} allows")
    return n


def _make_enc_decimal(precision: int, scale: int) -> Callable[[Any], bytes]:
    head = bytes((19, precision, scale))
    limit = 10**precision
    what = f"decimal({precision},{scale})"

    def enc(v: Any) -> bytes:
        n = _scaled_int(v, scale, what)
        if abs(n) >= limit:
            raise ValueError(f"{v!r} does not fit {what}")
        negative = n < 0 or (n == 0 and isinstance(v, Decimal) and v.is_signed())
        return head + (b"\x00" if negative else b"\x01") + abs(n).to_bytes(16, "little")

    return enc


def _enc_money(v: Any) -> bytes:
    n = _scaled_int(v, 4, "money")
    return struct.pack("<iI", n >> 32, n & 0xFFFF_FFFF)


def _enc_smallmoney(v: Any) -> bytes:
    return struct.pack("<i", _scaled_int(v, 4, "smallmoney"))


def _enc_uuid(v: Any) -> bytes:
    if not isinstance(v, uuid.UUID):
        v = uuid.UUID(str(v))
    return v.bytes_le


def _enc_variant(v: Any) -> bytes:
    raw = v.raw if isinstance(v, SqlVariant) else SqlVariant.from_value(v).raw
    return len(raw).to_bytes(4, "little") + raw


def _make_enc_text(col: Column, pad: bool, prefix: int) -> Callable[[str], bytes]:
    limit = None if col.is_max or col.sql_type in ("text", "ntext", "xml") else 2 * col.length
    width = col.length

    def enc(v: str) -> bytes:
        if pad and len(v) < width:
            v = v.ljust(width)
        data = v.encode("utf-16-le", "surrogatepass")
        if limit is not None and len(data) > limit:
            raise ValueError(f"column {col.name}: {len(v)} characters do not fit {col.type_sql}")
        if prefix == 0:
            if len(data) != limit:
                raise ValueError(f"column {col.name}: value does not fill {col.type_sql} exactly")
            return data
        return len(data).to_bytes(prefix, "little") + data

    return enc


def _make_enc_bytes(col: Column, pad: bool, prefix: int) -> Callable[[bytes], bytes]:
    limit = None if col.is_max or col.sql_type not in ("binary", "varbinary", "rowversion") else col.length
    if col.sql_type == "rowversion":
        limit = 8
    width = limit or 0

    def enc(v: bytes) -> bytes:
        v = bytes(v)
        if pad and len(v) < width:
            v = v + b"\x00" * (width - len(v))
        if limit is not None and len(v) > limit:
            raise ValueError(f"column {col.name}: {len(v)} bytes do not fit {col.type_sql}")
        return len(v).to_bytes(prefix, "little") + v

    return enc


_FIXED_PACKERS = {
    "tinyint": ("<B", None),
    "smallint": ("<h", None),
    "int": ("<i", None),
    "bigint": ("<q", None),
    "real": ("<f", None),
    "float": ("<d", None),
}


def _encoder_source(table: Table, columns: list[Column], ns: dict[str, Any]) -> list[str]:
    """Source of ``encode(rows, limit)``; helper objects it needs are put into ``ns``."""
    lines = [
        "def encode(rows, limit):",
        "    out = []",
        "    append = out.append",
        "    size = 0",
        "    count = 0",
        "    for row in rows:",
    ]
    if columns:
        names = ", ".join(f"v{k}" for k in range(len(columns)))
        lines.append(f"        ({names},) = row")
    else:
        lines.append("        if len(row): raise ValueError('this table has no stored columns')")
    pieces: list[str] = []
    for k, col in enumerate(columns):
        v = f"v{k}"
        lay = field_layout(col)
        t = col.sql_type
        if t in _FIXED_PACKERS:
            fmt = _FIXED_PACKERS[t][0]
            if col.nullable:
                ns[f"_pn{k}"] = struct.Struct("<B" + fmt[1:]).pack
                pieces.append(f"(b'\\xff' if {v} is None else _pn{k}({lay.size}, {v}))")
            else:
                ns[f"_p{k}"] = struct.Struct(fmt).pack
                pieces.append(f"_p{k}({v})")
            continue
        if t == "bit":
            pieces.append(f"(b'\\xff' if {v} is None else b'\\x01\\x01' if {v} else b'\\x01\\x00')")
            continue
        fn: Callable[[Any], bytes]
        prefix_byte: bytes | None = None
        if t in ("decimal", "numeric"):
            fn, prefix_byte = _make_enc_decimal(col.precision or 18, col.scale), b""
        elif t == "uniqueidentifier":
            fn, prefix_byte = _enc_uuid, b"\x10"
        elif t == "money":
            fn = _enc_money
        elif t == "smallmoney":
            fn = _enc_smallmoney
        elif t == "datetime":
            fn = _enc_datetime
        elif t == "smalldatetime":
            fn = _enc_smalldatetime
        elif t == "date":
            fn = _enc_date
        elif t == "time":
            scale = col.scale
            fn = _partial(_enc_time, scale)
        elif t == "datetime2":
            fn = _partial(_enc_datetime2, col.scale)
        elif t == "datetimeoffset":
            fn = _partial(_enc_datetimeoffset, col.scale)
        elif t == "sql_variant":
            ns[f"_e{k}"] = _enc_variant
            pieces.append(f"(b'\\x00\\x00\\x00\\x00' if {v} is None else _e{k}({v}))")
            continue
        elif t in _TEXT_TYPES:
            pad = t in ("char", "nchar") and not col.is_max
            prefix = 0 if lay.kind == CHARFIX else lay.size
            fn = _make_enc_text(col, pad, prefix)
        else:
            pad = t == "binary" and not col.is_max
            fn = _make_enc_bytes(col, pad, lay.size)
        ns[f"_e{k}"] = fn
        if lay.kind == FIXED:
            if col.nullable:
                ns[f"_h{k}"] = bytes((lay.size,))
                pieces.append(f"(b'\\xff' if {v} is None else _h{k} + _e{k}({v}))")
            else:
                pieces.append(f"_e{k}({v})")
        elif lay.kind == FIXED1:
            ns[f"_h{k}"] = prefix_byte
            pieces.append(f"(b'\\xff' if {v} is None else _h{k} + _e{k}({v}))")
        elif lay.kind == CHARFIX:
            pieces.append(f"_e{k}({v})")
        else:
            assert lay.null_length is not None
            ns[f"_null{k}"] = lay.null_length.to_bytes(lay.size, "little")
            pieces.append(f"(_null{k} if {v} is None else _e{k}({v}))")
    joined = f"b''.join(({', '.join(pieces)},))" if len(pieces) > 1 else (pieces[0] if pieces else "b''")
    lines += [
        f"        data = {joined}",
        "        append(data)",
        "        size += len(data)",
        "        count += 1",
        "        if size >= limit:",
        "            break",
        "    return out, size, count",
    ]
    return lines


def _enc_date(v: date) -> bytes:
    return (v.toordinal() - 1).to_bytes(3, "little")


def _partial(fn: Callable[[Any, int], bytes], scale: int) -> Callable[[Any], bytes]:
    def enc(v: Any) -> bytes:
        return fn(v, scale)

    return enc


__all__ = ["TableCodec", "compile_table", "field_layout", "has_char_variant"]
