"""Decoded columns → what a target database takes: Arrow arrays for PostgreSQL (COPY binary through ADBC, so
each array's type must be the target column's exactly), Python values for SQLite (as the reference import
stores them: decimals and times as text, UUIDs as 32 hex digits, booleans as 0/1)."""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any

import nanoarrow as na
import numpy as np

from backups.bacpac import Column

from .columns import (
    DAY_US,
    EPOCH_DAYS,
    TEXT_TYPES,
    Blobs,
    DateTimes,
    Decimals,
    Floats,
    Ints,
    Texts,
    UnsupportedColumn,
    Values,
    bitmap,
    decimal_scale,
    gather,
)

_D80 = Context(prec=80)
_UUID_BE = np.array([3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15])


def _micro(values: DateTimes) -> np.ndarray:
    return (values.days - EPOCH_DAYS) * DAY_US + values.ticks // 10


def _pg_micro(ticks: np.ndarray) -> np.ndarray:
    """Microseconds into the day as PostgreSQL stores the row path's text, which carries all 7 fractional digits:
    PostgreSQL reads the fraction with strtod and rounds with rint (23:59:59.9999999 becomes 24:00:00)."""
    seconds, fraction = np.divmod(ticks, 10_000_000)
    return seconds * 1_000_000 + np.rint(fraction.astype(np.float64) / 1e7 * 1e6).astype(np.int64)


def arrow_array(kind: Any, n: int, valid: np.ndarray, *buffers: Any) -> Any:
    """A nanoarrow array of type ``kind`` from numpy buffers (validity first)."""
    null_count = int(n - valid.sum())
    return na.c_array_from_buffers(kind, n, [bitmap(valid), *buffers], null_count=null_count)


def to_arrow(column: Column, values: Values, kind: Any, *, drop_nul: bool = True) -> Any:
    """``values`` as a nanoarrow array of type ``kind`` (the target column's; see ``fastpath.arrow_type``)."""
    n = len(values.valid)
    valid = values.valid
    fmt = na.c_schema(kind).format
    if isinstance(values, Ints) and fmt in _INTS:
        return arrow_array(kind, n, valid, values.values.astype(_INTS[fmt]))
    if isinstance(values, Ints) and fmt == "b":
        return arrow_array(kind, n, valid, np.packbits(values.values != 0, bitorder="little"))
    if isinstance(values, Floats) and fmt in ("f", "g"):
        return arrow_array(kind, n, valid, values.values.astype("<f4" if fmt == "f" else "<f8"))
    if isinstance(values, Decimals) and fmt.startswith("d:"):
        lo, hi = values.lo.copy(), values.hi.copy()
        neg = values.negative & valid & ((lo != 0) | (hi != 0))
        lo[neg], hi[neg] = ~values.lo[neg] + np.uint64(1), ~values.hi[neg] + (values.lo[neg] == 0).astype(np.uint64)
        pair = np.empty(2 * n, dtype=np.uint64)
        pair[0::2], pair[1::2] = lo, hi
        return arrow_array(kind, n, valid, pair)
    if isinstance(values, DateTimes):
        if fmt == "tdD":
            return arrow_array(kind, n, valid, (values.days - EPOCH_DAYS).astype(np.int32))
        if fmt.startswith("tsu:"):
            micro = (values.days - EPOCH_DAYS) * DAY_US + _pg_micro(values.ticks)
            return arrow_array(kind, n, valid, micro.astype(np.int64))
        if fmt == "ttu":
            return arrow_array(kind, n, valid, _pg_micro(values.ticks).astype(np.int64))
    if isinstance(values, Blobs) and column.sql_type == "uniqueidentifier" and fmt == "w:16":
        matrix = gather(values.data, values.starts, np.full(n, 16, np.int64)).reshape(-1, 16)[:, _UUID_BE]
        return arrow_array(kind, n, valid, np.ascontiguousarray(matrix).reshape(-1))
    if isinstance(values, Blobs) and fmt == "Z":
        lengths = np.where(valid, values.lengths, 0)
        data = gather(values.data, values.starts, lengths)
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        return arrow_array(kind, n, valid, offsets, np.ascontiguousarray(data))
    if isinstance(values, Texts) and not isinstance(values, Blobs) and fmt == "U":
        try:
            offsets, utf8 = utf16_to_utf8(values, drop_nul=drop_nul)
        except UnicodeDecodeError as exc:
            raise UnsupportedColumn(f"{column.name}: text that is not valid UTF-16 ({exc})") from exc
        return arrow_array(kind, n, valid, offsets, utf8)
    raise UnsupportedColumn(f"{column.name}: {type(values).__name__} into Arrow {fmt}")


_INTS = {"s": "<i2", "i": "<i4", "l": "<i8"}


def utf16_to_utf8(texts: Texts, *, drop_nul: bool) -> tuple[np.ndarray, np.ndarray]:
    """UTF-16-LE values → Arrow large-string offsets and UTF-8 data; a lone surrogate raises UnicodeDecodeError."""
    lengths = np.where(texts.valid, texts.lengths, 0)
    contiguous = gather(texts.data, texts.starts, lengths)
    units = contiguous.view("<u2") if contiguous.size else np.zeros(0, dtype="<u2")
    unit_lengths = lengths // 2
    if drop_nul and units.size and (units == 0).any():
        nul = units == 0
        cumulative = np.concatenate(([0], np.cumsum(nul)))
        ends = np.cumsum(unit_lengths)
        unit_lengths = unit_lengths - (cumulative[ends] - cumulative[ends - unit_lengths])
        units = units[~nul]
    if not units.size or int(units.max()) < 0x80:
        return np.concatenate(([0], np.cumsum(unit_lengths))).astype(np.int64), units.astype(np.uint8)
    text = units.tobytes().decode("utf-16-le")  # strict: a lone surrogate raises
    utf8 = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    # UTF-8 bytes per UTF-16 unit: 1 below 0x80, 2 below 0x800, 2 for each half of a pair, else 3.
    per = np.where(units < 0x80, 1, np.where(units < 0x800, 2, 3))
    per[(units & 0xF800) == 0xD800] = 2
    cumulative = np.concatenate(([0], np.cumsum(per)))
    return cumulative[np.concatenate(([0], np.cumsum(unit_lengths)))].astype(np.int64), utf8


def _none_where(values: list[Any], valid: np.ndarray) -> list[Any]:
    if valid.all():
        return values
    for i in np.flatnonzero(~valid).tolist():
        values[i] = None
    return values


def _iso(micro: np.ndarray, sep: str) -> list[str]:
    text = np.datetime_as_string(micro.astype("datetime64[us]"), unit="us")
    if sep != "T":
        text = np.char.replace(text, "T", sep)  # the only T in 'YYYY-MM-DDTHH:MM:SS.ffffff'
    return text.tolist()


def to_python(column: Column, values: Values) -> list[Any]:
    """``values`` as the reference import hands them to SQLite."""
    t = column.sql_type
    valid = values.valid
    if isinstance(values, Ints):
        return _none_where(values.values.tolist(), valid)
    if isinstance(values, Floats):
        return _none_where(values.values.astype(np.float64).tolist(), valid)
    if isinstance(values, Decimals):
        return _none_where(_decimal_texts(values, decimal_scale(column)), valid)
    if isinstance(values, DateTimes):
        if t == "date":
            days = values.days - EPOCH_DAYS
            return _none_where(np.datetime_as_string(days.astype("datetime64[D]")).tolist(), valid)
        if t == "time":
            return _none_where([s[11:] for s in _iso(values.ticks // 10, "T")], valid)
        return _none_where(_iso(_micro(values), " "), valid)
    if isinstance(values, Blobs):
        n = len(valid)
        if t == "uniqueidentifier":
            matrix = gather(values.data, values.starts, np.full(n, 16, np.int64)).reshape(-1, 16)[:, _UUID_BE]
            digits = np.ascontiguousarray(matrix).tobytes().hex()
            return _none_where([digits[i : i + 32] for i in range(0, 32 * n, 32)], valid)
        lengths = np.where(valid, values.lengths, 0)
        raw = gather(values.data, values.starts, lengths).tobytes()
        ends = np.cumsum(lengths).tolist()
        return _none_where([raw[e - k : e] for e, k in zip(ends, lengths.tolist(), strict=True)], valid)
    if isinstance(values, Texts) and t in TEXT_TYPES:
        lengths = np.where(valid, values.lengths, 0)
        data = gather(values.data, values.starts, lengths)
        units = data.view("<u2") if data.size else np.zeros(0, dtype="<u2")
        unit_lengths = lengths // 2
        if not units.size or int(units.max()) < 0x80:
            text = units.astype(np.uint8).tobytes().decode("ascii")
            counts = unit_lengths
        else:
            text = data.tobytes().decode("utf-16-le", "surrogatepass")
            low = ((units & 0xFC00) == 0xDC00) & np.concatenate(([False], (units[:-1] & 0xFC00) == 0xD800))
            cumulative = np.concatenate(([0], np.cumsum(low)))
            ends = np.cumsum(unit_lengths)
            counts = unit_lengths - (cumulative[ends] - cumulative[ends - unit_lengths])
        ends_list = np.cumsum(counts).tolist()
        return _none_where([text[e - k : e] for e, k in zip(ends_list, counts.tolist(), strict=True)], valid)
    raise UnsupportedColumn(f"{column.name}: {type(values).__name__} for {t}")


def _decimal_texts(values: Decimals, scale: int) -> list[str]:
    """``str(Decimal)`` of each value, as the reference stores decimals in SQLite."""
    out: list[str] = []
    small = (values.hi == 0) & (values.lo < np.uint64(1 << 62))
    if scale <= 6 and small.all():
        # Whole part and fraction in numpy, the text by str.format mapped in C (no Python frame per value).
        unit = np.uint64(10**scale)
        whole, fraction = (values.lo // unit).tolist(), (values.lo % unit).tolist()
        positive = "{}" if scale == 0 else f"{{}}.{{:0{scale}d}}"
        out = list(map(positive.format, whole, fraction))
        for i in np.flatnonzero(values.negative).tolist():
            out[i] = "-" + out[i]
        return out
    for lo, hi, s in zip(values.lo.tolist(), values.hi.tolist(), values.negative.tolist(), strict=True):
        d = Decimal((hi << 64) | lo).scaleb(-scale, _D80)
        out.append(str(d.copy_negate() if s else d))
    return out


__all__ = ["to_arrow", "to_python"]
