"""BCP rows → column values, equal to what ``backups.bacpac``'s reader decodes.

Row-major BCP needs one sequential pass to find where each row starts (a field's length decides where the next
one begins). That pass is a small Python function generated per table that only steps over the length prefixes;
with the row starts known, numpy reads each column for all rows of a window at once. Anything unusual (a length
prefix the layout does not allow, a scale byte other than the column's) raises ``UnsupportedColumn`` and the
caller hands the table to the reference reader, whose error messages say what is wrong.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from isal import isal_zlib

from backups.bacpac import BacpacReader, CorruptData, Table, TruncatedFile
from backups.bacpac.codec import CHARFIX, FIXED, FIXED1, FieldLayout, TableCodec

from .columns import (
    DAY_TICKS,
    EPOCH_DAYS,
    INT_WIDTHS,
    TEXT_TYPES,
    Blobs,
    DateTimes,
    Decimals,
    Floats,
    Ints,
    Texts,
    UnsupportedColumn,
    Values,
    import_supported,
)

WINDOW_BYTES = 1 << 19  # rows decoded at a time: bounded by bytes, so memory stays flat for any row size
CHUNK_BYTES = 1 << 20  # inflated at a time (a row longer than this is read whole)
_ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]  # (its stub calls it an instance)
_DT_1900_DAYS = 693_595  # 1900-01-01 counted from 0001-01-01


def _walker_source(layouts: list[tuple[bool, FieldLayout]]) -> str:
    lines = [
        "def walk(buf, p, end, limit, append):",
        "    while p < end and p < limit:",
        "        start = p",
        "        try:",
    ]
    step = 0
    body: list[str] = []

    def flush() -> None:
        nonlocal step
        if step:
            body.append(f"            p += {step}")
            step = 0

    for nullable, lay in layouts:
        if lay.kind == CHARFIX or (lay.kind == FIXED and not nullable):
            step += lay.size
        elif lay.kind in (FIXED, FIXED1):
            flush()
            body += ["            n = buf[p]", "            p += 1 if n == 255 else n + 1"]
        else:
            flush()
            w = lay.size
            # Two bytes by index are cheaper than a struct call (the walk runs once per row).
            read = "buf[p] | buf[p + 1] << 8" if w == 2 else f"_U{w}(buf, p)[0]"
            body += [
                f"            n = {read}",
                f"            p += {w} if n == {lay.null_length} else n + {w}",
            ]
    flush()
    lines += body or ["            pass"]
    lines += [
        "        except (IndexError, struct.error):",
        "            return start",
        "        if p > end:",
        "            return start",
        "        append(start)",
        "    return p",
    ]
    return "\n".join(lines) + "\n"


class TableDecoder:
    """Columnar decoding of one table's BCP in the layout the reference chose for it (``codec``)."""

    def __init__(self, codec: TableCodec) -> None:
        self.table = codec.table
        self.codec = codec
        self.columns = codec.table.stored_columns
        for column in self.columns:
            if not import_supported(column):
                raise UnsupportedColumn(f"{column.name}: type {column.type_sql}")
        self.layouts = codec.layouts
        namespace: dict[str, Any] = {
            "struct": struct,
            "_U2": struct.Struct("<H").unpack_from,
            "_U4": struct.Struct("<I").unpack_from,
            "_U8": struct.Struct("<Q").unpack_from,
        }
        source = _walker_source([(c.nullable, lay) for c, lay in zip(self.columns, self.layouts, strict=True)])
        exec(compile(source, f"<fastbcp walk {self.table.full_name}>", "exec"), namespace)  # noqa: S102 - ours
        self._walk: Callable[..., int] = namespace["walk"]

    # -- one window of rows

    def decode(self, buf: bytes, starts: list[int], end: int) -> list[Values]:
        """The columns of the rows starting at ``starts`` (the last one ends at ``end``)."""
        data = np.frombuffer(buf, dtype=np.uint8)
        at = np.array(starts, dtype=np.int64)
        n = len(starts)
        last = data.size - 1
        out: list[Values] = []
        for column, lay in zip(self.columns, self.layouts, strict=True):
            if lay.kind == CHARFIX or (lay.kind == FIXED and not column.nullable):
                matrix = data[at[:, None] + np.arange(lay.size)]
                out.append(self._fixed(column, matrix, np.ones(n, dtype=bool)))
                at = at + lay.size
            elif lay.kind in (FIXED, FIXED1):
                head = data[at]
                valid = head != 255
                if (head[valid] != lay.size).any():
                    raise UnsupportedColumn(f"{column.name}: a length prefix other than {lay.size}")
                index = np.minimum((at + 1)[:, None] + np.arange(lay.size), last)
                out.append(self._fixed(column, data[index], valid))
                at = at + np.where(valid, lay.size + 1, 1)
            else:
                w = lay.size
                prefix = data[at[:, None] + np.arange(w)]
                lengths = np.zeros((n, 8), dtype=np.uint8)
                lengths[:, :w] = prefix
                length = lengths.view("<u8").ravel()
                valid = length != np.uint64(lay.null_length or 0)
                size = np.where(valid, length, 0).astype(np.int64)
                if column.sql_type in TEXT_TYPES:
                    if (size % 2).any():
                        raise UnsupportedColumn(f"{column.name}: an odd number of bytes of UTF-16 text")
                    out.append(Texts(data, at + w, size, valid))
                else:
                    out.append(Blobs(data, at + w, size, valid))
                at = at + w + size
        if n and int(at[-1]) != end:
            raise UnsupportedColumn("the columnar walk and the decoded fields disagree")
        return out

    def _fixed(self, column: Any, matrix: np.ndarray, valid: np.ndarray) -> Values:
        t = column.sql_type
        matrix = np.ascontiguousarray(matrix)
        if t in INT_WIDTHS:
            dtype = "<u1" if t == "tinyint" else f"<i{INT_WIDTHS[t]}"
            return Ints(matrix.view(dtype).ravel().astype(np.int64), valid)
        if t == "bit":
            return Ints((matrix[:, 0] != 0).astype(np.int64), valid)
        if t in ("real", "float"):
            return Floats(matrix.view("<f4" if t == "real" else "<f8").ravel().copy(), valid)
        if t in ("decimal", "numeric"):
            if (matrix[valid, 1] != column.scale).any():
                raise UnsupportedColumn(f"{column.name}: a scale byte other than the column's")
            magnitude = np.ascontiguousarray(matrix[:, 3:19]).view("<u8")
            return Decimals(matrix[:, 2] == 0, magnitude[:, 0].copy(), magnitude[:, 1].copy(), valid)
        if t == "money":
            pair = np.ascontiguousarray(matrix).view("<i4")
            value = (pair[:, 0].astype(np.int64) << 32) | (pair[:, 1].astype(np.int64) & 0xFFFF_FFFF)
            return _signed_decimals(value, valid)
        if t == "smallmoney":
            return _signed_decimals(np.ascontiguousarray(matrix).view("<i4").ravel().astype(np.int64), valid)
        if t == "date":
            return DateTimes(_le_int(matrix, 3), np.zeros(len(valid), dtype=np.int64), valid)
        if t == "time":
            ticks = _le_int(matrix, 5)
            if ((ticks >= DAY_TICKS) & valid).any():
                raise UnsupportedColumn(f"{column.name}: a time of 24:00 or later")
            return DateTimes(np.zeros(len(valid), dtype=np.int64), ticks, valid)
        if t in ("datetime2", "datetimeoffset"):
            return DateTimes(_le_int(matrix[:, 5:8], 3), _le_int(matrix[:, 0:5], 5), valid)
        if t == "datetime":
            pair = np.ascontiguousarray(matrix).view("<i4")
            days, ticks = pair[:, 0].astype(np.int64), pair[:, 1].astype(np.int64) & 0xFFFF_FFFF
            micro = (ticks * 10_000 + 1) // 3
            return DateTimes(days + _DT_1900_DAYS, micro * 10, valid)
        if t == "smalldatetime":
            pair = np.ascontiguousarray(matrix).view("<u2")
            return DateTimes(
                pair[:, 0].astype(np.int64) + _DT_1900_DAYS, pair[:, 1].astype(np.int64) * 600_000_000, valid
            )
        if t == "uniqueidentifier":
            n = len(valid)
            return Blobs(matrix.reshape(-1).copy(), np.arange(n, dtype=np.int64) * 16, np.full(n, 16), valid)
        if t in TEXT_TYPES:  # char NOT NULL without a prefix
            n, width = matrix.shape
            return Texts(matrix.reshape(-1).copy(), np.arange(n, dtype=np.int64) * width, np.full(n, width), valid)
        raise UnsupportedColumn(f"{column.name}: type {t}")

    # -- streaming a table

    def batches(self, reader: BacpacReader) -> Iterator[tuple[list[Values], int]]:
        """Every row of the table, window by window, as (columns, data bytes consumed)."""
        table: Table = self.table
        parts = reader.parts(table)
        remaining = sum(p.size for p in parts)
        buf = b""
        p = 0
        rows_done = 0
        for part in parts:
            read = 0
            want = CHUNK_BYTES
            try:
                with reader._zip.open(part.name) as f:
                    member: Any = f
                    if member._compress_type == zipfile.ZIP_DEFLATED:
                        # ISA-L inflates the same deflate stream several times faster; zipfile still checks the CRC.
                        member._decompressor = isal_zlib.decompressobj(-15)
                    while chunk := f.read(want):
                        read += len(chunk)
                        reader._count(part.name, read, part.size)
                        remaining -= len(chunk)
                        buf = buf[p:] + chunk if p < len(buf) else chunk
                        p = 0
                        end = len(buf)
                        while p < end:
                            starts: list[int] = []
                            q = self._walk(buf, p, end, p + WINDOW_BYTES, starts.append)
                            if not starts:
                                break
                            yield self.decode(buf, starts, q), q - p
                            rows_done += len(starts)
                            p = q
                        want = CHUNK_BYTES
                        if p < end:
                            need = self.codec.row_end(buf, p, end)
                            if need <= end:
                                reader._raise_undecodable(table, self.codec, part, buf, p, rows_done)
                            if need - end > remaining:
                                raise CorruptData(
                                    f"table {table.full_name}, part {part.name}: row {rows_done + 1} needs "
                                    f"{need - p} bytes but only {end - p + remaining} are left"
                                )
                            want = max(CHUNK_BYTES, need - end)
            except (zipfile.BadZipFile, EOFError, zlib.error, _ISAL_ERROR) as exc:
                raise CorruptData(f"table {table.full_name}, part {part.name}: cannot inflate: {exc}") from exc
            if read != part.size:
                raise TruncatedFile(f"part {part.name} gave {read} bytes, its header declares {part.size}")
        if p != len(buf):
            raise CorruptData(
                f"table {table.full_name}, part {parts[-1].name}: the data does not end on a row boundary "
                f"({len(buf) - p} bytes left over after {rows_done} rows)"
            )


def _signed_decimals(value: np.ndarray, valid: np.ndarray) -> Decimals:
    magnitude = np.abs(value).astype(np.uint64)  # money's minimum is -2**63 / 10**4: abs of that wraps correctly
    return Decimals(value < 0, magnitude, np.zeros(len(value), dtype=np.uint64), valid)


def _le_int(matrix: np.ndarray, width: int) -> np.ndarray:
    wide = np.zeros((matrix.shape[0], 8), dtype=np.uint8)
    wide[:, :width] = matrix[:, :width]
    return wide.view("<u8").ravel().astype(np.int64)


__all__ = ["EPOCH_DAYS", "TableDecoder"]
