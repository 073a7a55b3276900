"""Column values as numpy arrays, the form the BCP encoder and decoder work on, and their Arrow conversions.

One form per family of SQL Server types; every form carries ``valid`` (False where the value is NULL):

- ``Ints`` (tinyint … bigint, bit), ``Floats`` (real, float)
- ``Decimals``: sign and the 128-bit magnitude already scaled to the column's scale (decimal, numeric)
- ``DateTimes``: days since 0001-01-01 and 100 ns ticks into the day (date: ticks unused; time: days unused);
  datetimeoffset values are in UTC (offset 0), as the engine writes them
- ``Texts``: UTF-16-LE bytes of all values one after the other, with each value's start and length in bytes
- ``Blobs``: bytes the same way (varbinary, uniqueidentifier in its little-endian byte order)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backups.bacpac import Column

EPOCH_DAYS = 719_162  # 1970-01-01 counted from 0001-01-01
MAX_DAYS = 3_652_058  # 9999-12-31
DAY_US = 86_400_000_000
DAY_TICKS = 864_000_000_000

INT_WIDTHS = {"tinyint": 1, "smallint": 2, "int": 4, "bigint": 8}
INT_RANGES = {
    "tinyint": (0, 255),
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
TEXT_TYPES = frozenset({"nvarchar", "nchar", "varchar", "char", "text", "ntext", "xml"})
# Types the columnar codec reads and writes; anything else (money, sql_variant, geography…) stays on the reference.
EXPORT_TYPES = frozenset(
    {*INT_WIDTHS, "bit", "real", "float", "decimal", "numeric", "date", "datetime2", "datetimeoffset", "time"}
    | {"nvarchar", "nchar", "varbinary", "uniqueidentifier"}
)
IMPORT_TYPES = (
    EXPORT_TYPES
    | {"varchar", "char", "text", "ntext", "xml", "binary", "image", "rowversion"}
    | {
        "datetime",
        "smalldatetime",
        "money",
        "smallmoney",
    }
)
_UUID_LE = np.array([3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15])


class UnsupportedColumn(Exception):
    """The columnar codec does not cover this column: the table goes through the reference codec."""


def export_supported(column: Column) -> bool:
    """Whether the encoder writes this column exactly as the reference does."""
    t = column.sql_type
    if t not in EXPORT_TYPES:
        return False
    if t in ("time", "datetime2", "datetimeoffset") and column.scale != 7:
        return False  # other scales round; the engine only writes scale 7
    return not (t in ("decimal", "numeric") and not 1 <= (column.precision or 18) <= 38)


def decimal_scale(column: Column) -> int:
    """Decimal places of a decimal-like column's values (money keeps four)."""
    return 4 if column.sql_type in ("money", "smallmoney") else column.scale


def import_supported(column: Column) -> bool:
    """Whether the decoder reads this column's BCP field (any layout the reference reads for these types)."""
    t = column.sql_type
    if t not in IMPORT_TYPES:
        return False
    return not (t in ("decimal", "numeric") and not 1 <= (column.precision or 18) <= 38)


@dataclass
class Ints:
    values: np.ndarray  # int64
    valid: np.ndarray


@dataclass
class Floats:
    values: np.ndarray  # float64 or float32
    valid: np.ndarray


@dataclass
class Decimals:
    negative: np.ndarray  # bool
    lo: np.ndarray  # uint64, low half of the magnitude
    hi: np.ndarray  # uint64
    valid: np.ndarray


@dataclass
class DateTimes:
    days: np.ndarray  # int64 since 0001-01-01
    ticks: np.ndarray  # int64, 100 ns into the day
    valid: np.ndarray


@dataclass
class Texts:
    data: np.ndarray  # uint8: UTF-16-LE (Texts) or raw bytes (Blobs)
    starts: np.ndarray  # int64 byte offsets into data
    lengths: np.ndarray  # int64 byte lengths
    valid: np.ndarray


@dataclass
class Blobs(Texts):
    pass


Values = Ints | Floats | Decimals | DateTimes | Texts


def _bits(buffer: Any, offset: int, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")[offset : offset + n].astype(bool)


def arrow_validity(array: Any) -> np.ndarray:
    """Arrow's validity bitmap of a nanoarrow array as booleans."""
    view = array.view()
    if view.null_count == 0 or view.buffer(0) is None or len(view.buffer(0)) == 0:
        return np.ones(view.length, dtype=bool)
    return _bits(view.buffer(0), view.offset, view.length)


def fixed_values(array: Any, dtype: str) -> np.ndarray:
    """The values buffer of a fixed-width nanoarrow array as numpy (no copy)."""
    view = array.view()
    return np.frombuffer(view.buffer(1), dtype=dtype)[view.offset : view.offset + view.length]


def offsets_and_data(array: Any, large: bool) -> tuple[np.ndarray, np.ndarray]:
    view = array.view()
    if view.length == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(view.buffer(1), dtype=np.int64 if large else np.int32)
    offsets = offsets[view.offset : view.offset + view.length + 1].astype(np.int64)
    data = view.buffer(2)
    return offsets, np.frombuffer(data, dtype=np.uint8) if data is not None and len(data) else np.zeros(0, np.uint8)


def utf8_to_utf16(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTF-8 values (one buffer and n+1 offsets) → UTF-16-LE bytes, starts and lengths in bytes."""
    first, last = int(offsets[0]), int(offsets[-1])
    chunk = data[first:last]
    rel = offsets - first
    if not chunk.size or int(chunk.max()) < 0x80:
        out = np.zeros(2 * chunk.size, dtype=np.uint8)
        out[0::2] = chunk
        return out, 2 * rel[:-1], 2 * np.diff(rel)
    # Each UTF-8 lead byte starts one UTF-16 unit, a 4-byte sequence's lead byte two.
    units = ((chunk & 0xC0) != 0x80).astype(np.int64) + (chunk >= 0xF0)
    cumulative = np.concatenate(([0], np.cumsum(units)))
    at = cumulative[rel]
    out = np.frombuffer(chunk.tobytes().decode("utf-8").encode("utf-16-le"), dtype=np.uint8)
    return out, 2 * at[:-1], 2 * np.diff(at)


def texts_of(values: list[Any]) -> Texts:
    """Python strings (None for NULL) → Texts."""
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    present = values if valid.all() else [v for v in values if v is not None]
    joined = "".join(present)
    if joined.isascii():
        units = np.fromiter(map(len, present), dtype=np.int64, count=len(present))
        data = np.zeros(2 * len(joined), dtype=np.uint8)
        data[0::2] = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    else:
        encoded = [v.encode("utf-16-le", "surrogatepass") for v in present]
        units = np.fromiter(map(len, encoded), dtype=np.int64, count=len(present)) // 2
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return _spread(data, 2 * units, valid, Texts)


def blobs_of(values: list[Any]) -> Blobs:
    """Python bytes (None for NULL) → Blobs."""
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    present = values if valid.all() else [v for v in values if v is not None]
    lengths = np.fromiter(map(len, present), dtype=np.int64, count=len(present))
    result = _spread(np.frombuffer(b"".join(present), dtype=np.uint8), lengths, valid, Blobs)
    assert isinstance(result, Blobs)
    return result


def _spread(data: np.ndarray, lengths: np.ndarray, valid: np.ndarray, kind: type[Texts]) -> Texts:
    all_lengths = np.zeros(len(valid), dtype=np.int64)
    all_lengths[valid] = lengths
    starts = np.cumsum(all_lengths) - all_lengths
    return kind(data, starts, all_lengths, valid)


def code_points(texts: Texts) -> np.ndarray:
    """Characters per value as Python counts them (a surrogate pair is one)."""
    units = texts.data.view("<u2") if texts.data.size % 2 == 0 else texts.data[:-1].view("<u2")
    if not units.size:
        return texts.lengths // 2
    low = ((units & 0xFC00) == 0xDC00).astype(np.int64)
    cumulative = np.concatenate(([0], np.cumsum(low)))
    first, count = texts.starts // 2, texts.lengths // 2
    return count - (cumulative[first + count] - cumulative[first])


# ------------------------------------------------------------------------------------------- from Arrow


def _format(array: Any) -> str:
    return str(array.schema.format)


def _extension(array: Any) -> str:
    metadata = dict(array.schema.metadata or {})
    return (metadata.get(b"ARROW:extension:name") or b"").decode()


def from_arrow(column: Column, array: Any) -> Values:
    """The form of ``column``'s values from a nanoarrow array (as ADBC delivers PostgreSQL columns)."""
    valid = arrow_validity(array)
    t = column.sql_type
    kind = _format(array)
    extension = _extension(array)
    n = len(valid)
    if t in INT_WIDTHS or t == "bit":
        if kind == "b":
            view = array.view()
            return Ints(_bits(view.buffer(1), view.offset, n).astype(np.int64) & valid, valid)
        if kind not in _INT_FORMATS:
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} for {t}")
        return Ints(np.where(valid, fixed_values(array, _INT_FORMATS[kind]), 0).astype(np.int64), valid)
    if t in ("real", "float"):
        if kind not in ("f", "g"):
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} for {t}")
        return Floats(np.where(valid, fixed_values(array, "<f4" if kind == "f" else "<f8"), 0), valid)
    if t in ("decimal", "numeric"):
        if kind not in ("u", "U") or extension not in ("", "arrow.opaque"):
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} for decimal")
        offsets, data = offsets_and_data(array, kind == "U")
        return checked_decimals(column, parse_decimals(column, data, offsets, valid))
    if t == "date":
        if kind != "tdD":
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} for date")
        days = np.where(valid, fixed_values(array, "<i4"), 0).astype(np.int64) + EPOCH_DAYS
        return _checked_days(column, DateTimes(days, np.zeros(n, dtype=np.int64), valid))
    if t in ("datetime2", "datetimeoffset"):
        if kind != ("tsu:UTC" if t == "datetimeoffset" else "tsu:"):
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} for {t}")
        micro = np.where(valid, fixed_values(array, "<i8"), 0)
        days, rest = np.divmod(micro, DAY_US)
        return _checked_days(column, DateTimes(days + EPOCH_DAYS, rest * 10, valid))
    if t == "time":
        if kind != "ttu":
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} for time")
        micro = np.where(valid, fixed_values(array, "<i8"), 0)
        if ((micro >= DAY_US) | (micro < 0)).any():
            raise ValueError(f"column {column.name}: a time of 24:00 or later does not fit time(7)")
        return DateTimes(np.zeros(n, dtype=np.int64), micro * 10, valid)
    if t == "uniqueidentifier":
        if kind != "w:16":
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} for uniqueidentifier")
        view = array.view()
        raw = np.frombuffer(view.buffer(1), dtype=np.uint8)[16 * view.offset : 16 * (view.offset + n)]
        matrix = raw.reshape(-1, 16)[:, _UUID_LE]
        return Blobs(matrix.reshape(-1).copy(), np.arange(n, dtype=np.int64) * 16, np.full(n, 16, np.int64), valid)
    if t in TEXT_TYPES:
        if kind not in ("u", "U") or extension:
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} {extension} for {t}")
        offsets, data = offsets_and_data(array, kind == "U")
        utf16, starts, lengths = utf8_to_utf16(data, offsets)
        return Texts(utf16, starts, np.where(valid, lengths, 0), valid)
    if t == "varbinary":
        if kind not in ("z", "Z") or extension:
            raise UnsupportedColumn(f"{column.name}: Arrow {kind} {extension} for varbinary")
        offsets, data = offsets_and_data(array, kind == "Z")
        return Blobs(data, offsets[:-1], np.where(valid, np.diff(offsets), 0), valid)
    raise UnsupportedColumn(f"{column.name}: type {t}")


_INT_FORMATS = {"c": "<i1", "s": "<i2", "i": "<i4", "l": "<i8", "C": "<u1", "S": "<u2", "I": "<u4"}


def parse_decimals(column: Column, data: np.ndarray, offsets: np.ndarray, valid: np.ndarray) -> Decimals:
    """PostgreSQL's text of numeric values → sign and magnitude at the column's scale, exactly as
    ``Decimal(text)`` scaled by the reference (more decimals than the scale, NaN or infinity: ValueError)."""
    scale = column.scale
    n = len(valid)
    lengths = np.where(valid, np.diff(offsets), 0)
    fast = _plain_decimals(data, offsets, lengths, valid, scale)
    if fast is not None:
        return fast
    lo = np.zeros(n, dtype=np.uint64)
    hi = np.zeros(n, dtype=np.uint64)
    negative = np.zeros(n, dtype=bool)
    raw = data.tobytes()
    for i in np.flatnonzero(valid).tolist():
        text = raw[int(offsets[i]) : int(offsets[i + 1])].decode("ascii", "replace")
        sign, digits = (True, text[1:]) if text.startswith("-") else (False, text)
        whole, _, fraction = digits.partition(".")
        if not (whole + fraction).isdigit() or not whole:
            raise ValueError(f"column {column.name}: {text!r} does not fit {column.type_sql}")
        kept = fraction.rstrip("0") if len(fraction) > scale else fraction
        if len(kept) > scale:
            raise ValueError(f"column {column.name}: {text!r} has more decimals than {column.type_sql} allows")
        magnitude = int(whole + kept.ljust(scale, "0"))
        if magnitude >= 1 << 127:
            raise ValueError(f"column {column.name}: {text!r} does not fit {column.type_sql}")
        lo[i], hi[i], negative[i] = magnitude & 0xFFFF_FFFF_FFFF_FFFF, magnitude >> 64, sign
    return Decimals(negative, lo, hi, valid)


def _plain_decimals(
    data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, valid: np.ndarray, scale: int
) -> Decimals | None:
    """The common case in numpy: every value ``-?digits.digits`` with exactly ``scale`` decimals, at most 18
    digits. None when any value is otherwise (the caller then parses value by value)."""
    n = len(valid)
    rows = np.flatnonzero(lengths)
    if not len(rows):
        return Decimals(np.zeros(n, bool), np.zeros(n, np.uint64), np.zeros(n, np.uint64), valid)
    starts, ends = offsets[:-1][rows], offsets[:-1][rows] + lengths[rows]
    index = ranges(starts, lengths[rows])
    chars = data[index]
    owner = np.repeat(np.arange(len(rows)), lengths[rows])
    from_end = np.repeat(ends, lengths[rows]) - index - 1  # 0 for the last character of a value
    negative_rows = data[starts] == 45
    is_sign = (index == np.repeat(starts, lengths[rows])) & (chars == 45)
    if scale:
        is_point = from_end == scale
        if not (chars[is_point] == 46).all() or int(is_point.sum()) != len(rows):
            return None
    else:
        is_point = np.zeros(len(chars), dtype=bool)
    digit = ~is_sign & ~is_point
    if not ((chars[digit] >= 48) & (chars[digit] <= 57)).all():
        return None
    digits = np.bincount(owner, weights=digit, minlength=len(rows))
    if (digits < scale + 1).any() or (digits > 18).any():
        return None
    power = from_end - ((from_end > scale) & (scale > 0))
    contribution = np.where(digit, (chars.astype(np.int64) - 48) * (10 ** np.minimum(power, 18)), 0)
    magnitude = np.add.reduceat(contribution, np.concatenate(([0], np.cumsum(lengths[rows])[:-1])))
    lo = np.zeros(n, dtype=np.uint64)
    lo[rows] = magnitude.astype(np.uint64)
    negative = np.zeros(n, dtype=bool)
    negative[rows] = negative_rows
    return Decimals(negative, lo, np.zeros(n, np.uint64), valid)


def _checked_days(column: Column, values: DateTimes) -> DateTimes:
    outside = ((values.days < 0) | (values.days > MAX_DAYS)) & values.valid
    if outside.any():
        raise ValueError(f"column {column.name}: a date outside the years 1 to 9999 cannot be written")
    return values


_POW10 = [10**k for k in range(39)]


def checked_decimals(column: Column, values: Decimals) -> Decimals:
    precision = column.precision or 18
    limit = _POW10[precision]
    limit_hi, limit_lo = np.uint64(limit >> 64), np.uint64(limit & 0xFFFF_FFFF_FFFF_FFFF)
    over = (values.hi > limit_hi) | ((values.hi == limit_hi) & (values.lo >= limit_lo))
    if (over & values.valid).any():
        raise ValueError(f"column {column.name}: a value does not fit decimal({precision},{column.scale})")
    return values


def as_bytes(data: np.ndarray) -> bytes:
    """A uint8 array's bytes: the bytes object it is a view of when it spans all of it (no copy), else a copy."""
    return data.base if isinstance(data.base, bytes) and len(data.base) == data.size else data.tobytes()


def gather(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The byte ranges ``data[start:start+length]`` one after the other."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.uint8)
    if len(starts) and int(starts[0]) + total <= data.size:
        ends = starts + lengths
        nonzero = lengths > 0
        s, e = starts[nonzero], ends[nonzero]
        if not len(s) or (np.all(s[1:] == e[:-1])):
            return data[int(s[0]) : int(s[0]) + total]
    # Slices of the bytes joined: half the time of indexing with one int64 index per byte (``ranges``).
    raw = as_bytes(data)
    return np.frombuffer(
        b"".join([raw[a : a + b] for a, b in zip(starts.tolist(), lengths.tolist(), strict=True)]), np.uint8
    )


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat indices of the ranges [start, start + length) one after the other."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)


def bitmap(valid: np.ndarray) -> np.ndarray | None:
    return None if valid.all() else np.packbits(valid, bitorder="little")
