"""The native engine's columnar path: whole batches of rows through numpy and Arrow instead of one value at a time.

Export: PostgreSQL tables are read with ADBC as Arrow record batches (in the export's own snapshot, time zone UTC),
SQLite tables with ADBC's SQLite driver (read-only; tables with boolean columns or decimals SQLAlchemy reads at
another scale with the sqlite3 cursor); ``backups.fastbcp`` encodes each batch into BCP bytes, which a writer
thread deflates into the ZIP. Import: ``backups.fastbcp`` decodes each window of BCP rows into columns, which go
into PostgreSQL with ADBC's COPY binary and into SQLite with ``executemany``.

Chosen per table: a table any of whose columns the columnar codec does not cover exactly goes through the row path
(``native``), and so does a table whose first batch turns out different from what was expected. The job's log
says which path each table took.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

import adbc_driver_manager as adbc
import adbc_driver_postgresql
import adbc_driver_sqlite
import nanoarrow as na
import numpy as np
import sqlalchemy as sa

# A stream over arrays already made: nanoarrow's own way (its public c_array_stream takes one array, not a list).
from nanoarrow._array_stream import CArrayStream
from nanoarrow._utils import NanoarrowException

from administrations.databases import DatabaseLocation
from backups.bacpac import BacpacReader, Column, Table
from backups.fastbcp import TableDecoder, UnsupportedColumn, encode_batch, export_supported
from backups.fastbcp.columns import (
    DAY_US,
    EPOCH_DAYS,
    MAX_DAYS,
    Blobs,
    DateTimes,
    Decimals,
    Floats,
    Ints,
    Texts,
    Values,
    arrow_validity,
    blobs_of,
    checked_decimals,
    fixed_values,
    from_arrow,
    offsets_and_data,
    texts_of,
    utf8_to_utf16,
)
from backups.fastbcp.deflate import write_table
from backups.fastbcp.targets import to_arrow, to_python

# Failures of the database or of Arrow on the columnar path; the engine turns them into its Dutch messages.
DATABASE_ERRORS: tuple[type[Exception], ...] = (adbc.Error,)
BATCH_BYTES = 1 << 19  # ADBC's batch size hint: ~512 KB of Arrow data per batch (memory stays flat)
SQLITE_BATCH_ROWS = 2_500
COPY_GROUP_BYTES = 4 << 20  # BCP bytes of the decode windows sent in one COPY (their Arrow data is held until then)
_D80 = Context(prec=80)

# ------------------------------------------------------------------------------------------------ which path

# Reflected source types the columnar export reads exactly as the row path does (the class itself, not
# subclasses: ENUM, MONEY, JSON, INTERVAL… stay on the row path).
_PG_TYPES = {
    "INTEGER",
    "BIGINT",
    "SMALLINT",
    "BOOLEAN",
    "REAL",
    "DOUBLE_PRECISION",
    "NUMERIC",
    "TIMESTAMP",
    "DATE",
    "TIME",
    "UUID",
    "BYTEA",
    "VARCHAR",
    "CHAR",
    "TEXT",
}
_SQLITE_TYPES = {
    "INTEGER",
    "BIGINT",
    "SMALLINT",
    "BOOLEAN",
    "REAL",
    "FLOAT",
    "DOUBLE",
    "DOUBLE_PRECISION",
    "NUMERIC",
    "DECIMAL",
    "DATETIME",
    "DATE",
    "VARCHAR",
    "NVARCHAR",
    "CHAR",
    "NCHAR",
    "TEXT",
    "BLOB",
}


def export_refusal(dialect: str, columns: list[Column], types: list[sa.types.TypeEngine[Any]]) -> str | None:
    """Why a table cannot take the columnar export (None: it can)."""
    allowed = _PG_TYPES if dialect == "postgresql" else _SQLITE_TYPES if dialect == "sqlite" else set()
    if not allowed:
        return f"{dialect} is read through SQLAlchemy"
    for column, type_ in zip(columns, types, strict=True):
        name = type(type_).__name__
        if name not in allowed or (name == "TIME" and getattr(type_, "timezone", False)):
            return f"column {column.name} has type {type_}"
        if not export_supported(column):
            return f"column {column.name} becomes {column.type_sql}"
    return None


# ------------------------------------------------------------------------------------------------ export


class ExportReader:
    """Columnar reads of one export's tables, each as a stream of (BCP bytes, row ends) batches."""

    def __init__(self, conn: sa.Connection, location: DatabaseLocation) -> None:
        self.conn = conn
        self.dialect = conn.engine.dialect.name
        self._adbc: Any = None  # PostgreSQL: (database, connection) in the export's snapshot
        self._sqlite: Any = None  # SQLite: (database, connection), read-only; False when it could not open
        self._open: list[Any] = []  # ADBC statements of streams not yet read to their end
        self.location = location

    def close(self) -> None:
        try:
            while self._open:
                self._open.pop().close()
            if self._adbc is not None:
                _execute(self._adbc[1], "ROLLBACK")
        finally:
            for attribute in ("_adbc", "_sqlite"):
                if opened := getattr(self, attribute):
                    setattr(self, attribute, None)
                    _adbc_close(opened)

    def _adbc_connection(self) -> Any:
        if self._adbc is None:
            # The row path's snapshot, so that both paths see the same data.
            snapshot = self.conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            opened = adbc_connect(self.location)
            try:
                _execute(opened[1], "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                _execute(opened[1], f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                _execute(opened[1], "SET TIME ZONE 'UTC'")
            except BaseException:
                _adbc_close(opened)
                raise
            self._adbc = opened
        return self._adbc[1]

    def _sqlite_connection(self) -> Any:
        """ADBC's read-only connection on the SQLite file, or None when it cannot open it (the sqlite3 cursor of
        the export's own connection then reads every table)."""
        if self._sqlite is None:
            try:
                self._sqlite = sqlite_adbc_connect(self.location.name)
            except adbc.Error:
                self._sqlite = False
        return self._sqlite[1] if self._sqlite else None

    def _sqlite_query(self, read: SqliteRead, table: Table, schema: str | None, name: str) -> tuple[Any, Any] | None:
        """ADBC's statement and stream of the table's rows, or None when the driver cannot open or read the file
        (a database in WAL mode in a folder it may not write, say): before anything is read, so the sqlite3
        cursor of the export's own connection then reads this table and the next."""
        connection = self._sqlite_connection()
        if connection is None:
            return None
        preparer = self.conn.engine.dialect.identifier_preparer
        cursor = adbc.AdbcStatement(connection)
        try:
            cursor.set_options(**{"adbc.sqlite.query.batch_rows": str(SQLITE_BATCH_ROWS)})
            cursor.set_sql_query(read.query(self._target(schema, name), preparer.quote_identifier))
            handle, _ = cursor.execute_query()
        except adbc.Error:
            cursor.close()
            self._sqlite, opened = False, self._sqlite
            _adbc_close(opened)
            return None
        self._open.append(cursor)
        return cursor, handle

    def _target(self, schema: str | None, name: str) -> str:
        preparer = self.conn.engine.dialect.identifier_preparer
        target = preparer.quote_identifier(name)
        return f"{preparer.quote_identifier(schema)}.{target}" if schema else target

    def _query(self, table: Table, schema: str | None, name: str) -> str:
        preparer = self.conn.engine.dialect.identifier_preparer
        columns = ", ".join(preparer.quote_identifier(c.name) for c in table.columns)
        return f"SELECT {columns} FROM {self._target(schema, name)}"  # noqa: S608 - quoted identifiers

    def batches(
        self, table: Table, schema: str | None, name: str, types: list[sa.types.TypeEngine[Any]]
    ) -> Iterator[tuple[bytes, np.ndarray]] | None:
        """The table's encoded batches, or None when its first batch is not what the columnar path expects
        (before anything was written: the caller then takes the row path)."""
        query = self._query(table, schema, name)
        columns = table.stored_columns
        convert: Callable[[Any], list[Values]]
        if self.dialect == "postgresql":
            cursor = adbc.AdbcStatement(self._adbc_connection())
            cursor.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
            cursor.set_sql_query(query)
            self._open.append(cursor)
            handle, _ = cursor.execute_query()

            def convert_arrow(batch: Any) -> list[Values]:
                return [from_arrow(c, batch.child(i)) for i, c in enumerate(columns)]

            convert = convert_arrow

            source: Iterator[Any] = iter(na.c_array_stream(handle))
        elif (read := SqliteRead.plan(columns, types, self.conn.engine.dialect)) is not None and (
            opened := self._sqlite_query(read, table, schema, name)
        ) is not None:
            cursor, handle = opened
            convert = read.convert
            source = _sqlite_stream(na.c_array_stream(handle), table)
        else:
            raw = self.conn.connection.driver_connection
            cursor = raw.cursor()  # type: ignore[union-attr]
            cursor.execute(query)
            cursor.arraysize = SQLITE_BATCH_ROWS
            converters = [
                _sqlite_converter(c, t, self.conn.engine.dialect) for c, t in zip(columns, types, strict=True)
            ]

            def convert_rows(batch: list[tuple[Any, ...]]) -> list[Values]:
                lists = list(zip(*batch, strict=True))
                return [f(list(v)) for f, v in zip(converters, lists, strict=True)]

            convert = convert_rows

            source = iter(lambda: cursor.fetchmany(SQLITE_BATCH_ROWS), [])
        finished = False

        def done() -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            if cursor in self._open:
                self._open.remove(cursor)
            cursor.close()

        try:
            first = next(source, None)
            if first is None:
                done()
                return iter(())
            first_values = convert(first)
        except UnsupportedColumn:
            done()
            return None

        def stream() -> Iterator[tuple[bytes, np.ndarray]]:
            try:
                values: list[Values] | None = first_values
                while values is not None:
                    if len(values[0].valid):
                        yield encode_batch(columns, values)
                    nxt = next(source, None)
                    values = None if nxt is None else convert(nxt)
            finally:
                done()

        return stream()


def export_table(
    writer: Any,
    reader: ExportReader,
    table: Table,
    schema: str | None,
    name: str,
    types: list[sa.types.TypeEngine[Any]],
    on_batch: Callable[[int], None],
    *,
    isal: bool = True,
) -> bool:
    """Write the table through the columnar path; False when it must take the row path after all."""
    batches = reader.batches(table, schema, name, types)
    if batches is None:
        return False

    def counted() -> Iterator[tuple[bytes, np.ndarray]]:
        for data, row_ends in batches:
            yield data, row_ends
            on_batch(len(row_ends))

    try:
        write_table(writer, table, counted(), isal=isal)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # now, while the connection is open (a cancel stops the stream half-way)
    return True


# -- SQLite values as SQLAlchemy's SQLite types turn them into Python values, then into column forms


def _types(values: list[Any]) -> set[type]:
    return set(map(type, values))


def _mask(values: list[Any]) -> np.ndarray:
    return np.fromiter((v is not None for v in values), dtype=bool, count=len(values))


def _sqlite_converter(column: Column, type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Callable:
    t = column.sql_type
    processor = type_.dialect_impl(dialect).result_processor(dialect, None)

    def exact(values: list[Any]) -> list[Any]:
        return values if processor is None else [processor(v) for v in values]

    if t in ("tinyint", "smallint", "int", "bigint"):

        def ints(values: list[Any]) -> Values:
            kinds = _types(values)
            if not kinds <= {int, type(None)}:
                raise ValueError(f"column {column.name}: a value that is not an integer")
            valid = _mask(values) if type(None) in kinds else np.ones(len(values), dtype=bool)
            filled = values if type(None) not in kinds else [0 if v is None else v for v in values]
            try:
                return Ints(np.array(filled, dtype=np.int64), valid)
            except OverflowError as exc:
                raise ValueError(f"column {column.name}: a value does not fit {t}") from exc

        return ints
    if t == "bit":

        def bits(values: list[Any]) -> Values:
            converted = exact(values)
            return Ints(np.array([bool(v) for v in converted], dtype=np.int64), _mask(converted))

        return bits
    if t in ("real", "float"):

        def floats(values: list[Any]) -> Values:
            converted = exact(values)
            if not _types(converted) <= {float, int, type(None)}:
                raise ValueError(f"column {column.name}: a value that is not a number")
            valid = _mask(converted)
            return Floats(np.array([0.0 if v is None else v for v in converted], dtype=np.float64), valid)

        return floats
    if t in ("decimal", "numeric"):
        return _sqlite_decimals(column, type_, exact)
    if t in ("date", "datetime2", "datetimeoffset"):
        width = 10 if t == "date" else 26

        def stamps(values: list[Any]) -> Values:
            valid = _mask(values)
            present = [v for v in values if v is not None]
            matrix = _ascii_matrix(present, width)
            if matrix is not None and _canonical(matrix):
                return _canonical_stamps(column, matrix, valid)
            return _python_stamps(exact(values), valid)

        return stamps
    if t in ("nvarchar", "nchar"):

        def texts(values: list[Any]) -> Values:
            if not _types(values) <= {str, type(None)}:
                raise ValueError(f"column {column.name}: a value that is not text")
            return texts_of(values)

        return texts
    if t == "varbinary":

        def blobs(values: list[Any]) -> Values:
            converted = exact(values)
            if not _types(converted) <= {bytes, type(None)}:
                converted = [None if v is None else bytes(v) for v in converted]
            return blobs_of(converted)

        return blobs
    raise UnsupportedColumn(f"{column.name}: {t}")


def _ascii_matrix(values: list[Any], width: int) -> np.ndarray | None:
    """Strings of ``width`` ASCII characters each as a matrix of bytes, a row per value (None if they are not)."""
    if _types(values) - {str}:
        return None
    joined = "".join(values)
    if len(joined) != width * len(values) or not joined.isascii():
        return None
    return np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, width)


def _canonical(matrix: np.ndarray) -> bool:
    """Every row 'YYYY-MM-DD' (10 bytes) or 'YYYY-MM-DD HH:MM:SS.ffffff' (26), as SQLAlchemy stores them."""
    width = matrix.shape[1]
    punctuation = {4: 45, 7: 45} if width == 10 else {4: 45, 7: 45, 10: 32, 13: 58, 16: 58, 19: 46}
    digits = [i for i in range(width) if i not in punctuation]
    if not ((matrix[:, digits] >= 48) & (matrix[:, digits] <= 57)).all():
        return False
    return all((matrix[:, i] == c).all() for i, c in punctuation.items())


def _canonical_stamps(column: Column, matrix: np.ndarray, valid: np.ndarray) -> DateTimes:
    """The canonical texts of the valid values (a row of ``matrix`` each) as days and ticks, parsed by numpy."""
    date_only = column.sql_type == "date"
    parsed = matrix.view(f"S{matrix.shape[1]}").ravel().astype("datetime64[D]" if date_only else "datetime64[us]")
    n = len(valid)
    days, ticks = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    if date_only:
        days[valid] = parsed.astype(np.int64) + EPOCH_DAYS
    else:
        d, rest = np.divmod(parsed.astype(np.int64), DAY_US)
        days[valid], ticks[valid] = d + EPOCH_DAYS, rest * 10
    if ((days < 0) | (days > MAX_DAYS)).any():
        raise ValueError(f"column {column.name}: a date outside the years 1 to 9999")
    return DateTimes(days, ticks, valid)


def _python_stamps(values: list[Any], valid: np.ndarray) -> DateTimes:
    days = np.zeros(len(values), dtype=np.int64)
    ticks = np.zeros(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, datetime):
            if v.tzinfo is not None:
                v = (v - v.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
            days[i] = v.toordinal() - 1
            ticks[i] = ((v.hour * 60 + v.minute) * 60 + v.second) * 10_000_000 + v.microsecond * 10
        elif isinstance(v, date):
            days[i] = v.toordinal() - 1
        else:
            raise ValueError(f"not a date: {v!r}")
    return DateTimes(days, ticks, valid)


def _scaled_floats(floats: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Sign and digits of ``'%.{scale}f' % value`` for a batch of floats, without making the texts: the float
    times 10**scale rounded to the nearest integer, where the product's own rounding cannot change the outcome;
    the few values within a few units in the last place of a half are formatted as the row path does. None when
    a value is not finite or too large for exact integers in a float (the caller then makes the texts)."""
    product = floats * 10.0**scale
    if not np.isfinite(product).all() or (np.abs(product) >= 2.0**52).any():
        return None
    rounded = np.rint(product)
    # Far from a half (in units of the product's last place), the exact product rounds the same way.
    unsure = np.flatnonzero(np.abs(np.abs(product - np.trunc(product)) - 0.5) <= 4 * np.spacing(np.abs(product)))
    fmt = f"%.{scale}f"
    for i in unsure.tolist():
        rounded[i] = float(int((fmt % float(floats[i])).replace(".", "")))
    return np.signbit(floats), np.abs(rounded).astype(np.uint64)


def _sqlite_decimals(column: Column, type_: sa.types.TypeEngine[Any], exact: Callable) -> Callable:
    scale = column.scale
    # SQLAlchemy turns a stored number into Decimal('%.{scale}f' % value); with the column's own scale the
    # text is the scaled integer with a point in it.
    own = getattr(type_, "scale", None)
    fmt = f"%.{scale}f" if own == scale else None

    def decimals(values: list[Any]) -> Values:
        n = len(values)
        valid = _mask(values)
        lo = np.zeros(n, dtype=np.uint64)
        hi = np.zeros(n, dtype=np.uint64)
        negative = np.zeros(n, dtype=bool)
        ints: list[int] = []
        signs: list[bool] = []
        kinds = _types(values)
        if fmt is not None and kinds <= {float, int, type(None)}:
            # (NUMERIC affinity keeps a whole amount as an integer: '%.2f' formats float(integer), the same float
            # as numpy makes of it.)
            filled = values if type(None) not in kinds else [0.0 if v is None else v for v in values]
            try:
                from_floats = _scaled_floats(np.array(filled, dtype=np.float64), scale)
            except OverflowError:
                from_floats = None
            if from_floats is not None:
                negative[:], lo[:] = from_floats
                return checked_decimals(column, Decimals(negative, lo, hi, valid))
            # Else the row path's text ('%.2f' % value), made in C for the whole batch; its digits parsed by numpy.
            filled = values if type(None) not in kinds else [0 if v is None else v for v in values]
            texts = np.array(list(map(fmt.__mod__, filled)))
            if texts.dtype.itemsize // 4 <= 19:  # at most 18 digits, a sign and a point: fits int64
                parsed = np.char.replace(texts, ".", "").astype(np.int64)
                negative[:] = np.char.startswith(texts, "-")
                lo[:] = np.abs(parsed).astype(np.uint64)
                return checked_decimals(column, Decimals(negative, lo, hi, valid))
        if fmt is not None and kinds <= {float, int, type(None)}:
            for v in values:
                if v is None:
                    ints.append(0)
                    signs.append(False)
                    continue
                text = fmt % v
                m = int(text.replace(".", ""))
                signs.append(text[0] == "-")
                ints.append(-m if m < 0 else m)
        else:
            for d in exact(values):
                if d is None:
                    ints.append(0)
                    signs.append(False)
                    continue
                scaled = Decimal(repr(d)).scaleb(scale, _D80) if isinstance(d, float) else d.scaleb(scale, _D80)
                m = int(scaled)
                if m != scaled:
                    raise ValueError(f"{d!r} has more decimals than {column.type_sql} allows")
                signs.append(m < 0 or (m == 0 and d.is_signed()))
                ints.append(abs(m))
        if max(ints, default=0) < 2**63:
            lo[:] = np.array(ints, dtype=np.uint64)
        else:
            if max(ints) >= 2**128:
                raise ValueError(f"column {column.name}: a value does not fit {column.type_sql}")
            lo[:] = np.array([m & 0xFFFF_FFFF_FFFF_FFFF for m in ints], dtype=np.uint64)
            hi[:] = np.array([m >> 64 for m in ints], dtype=np.uint64)
        negative[:] = signs
        return checked_decimals(column, Decimals(negative, lo, hi, valid))

    return decimals


# -- SQLite tables read with ADBC: whole columns from SQLite's C API, no Python object per value

# What each column is read as, by its type in the bacpac (boolean columns stay on the sqlite3 path: SQLAlchemy makes
# True of any value that is not zero, also of text).
_SQLITE_KINDS = {
    **dict.fromkeys(("tinyint", "smallint", "int", "bigint"), "int"),
    **dict.fromkeys(("real", "float", "decimal", "numeric"), "real"),
    **dict.fromkeys(("date", "datetime2", "datetimeoffset", "nvarchar", "nchar"), "text"),
    "varbinary": "blob",
}
_ARROW = {"int": "l", "real": "g", "text": "u", "blob": "z"}
_EMPTY = {"real": "0.0", "text": "''", "blob": "x''"}
# Storage classes a column of each kind may not hold (the sqlite3 path fails on them): for reals, text would
# otherwise be cast to 0.0; for text and blobs, ADBC reads the one as the other.
_FOREIGN = {"real": ("text", "blob"), "text": ("blob",), "blob": ("text",)}
_FLAG_BITS = 62


class SqliteRead:
    """How one table is read through ADBC's SQLite driver, or why it is not (``plan`` returns None).

    ADBC gives each column the Arrow type of its values in the first batch and stops at a value of another kind.
    SQLite lets a NUMERIC column hold integers and reals side by side, and a nullable column may start with NULLs
    (which ADBC types as integers). So reals are selected ``CAST … AS REAL``, a nullable non-integer column with
    NULL as an empty value, and one flags column says per row which of those values were NULL and which were of
    a kind the column may not hold (an integer column needs neither: ADBC stops at anything else). The values then
    become the same column forms as the sqlite3 path makes of the same rows; where a batch holds something only
    that path converts (a date not written as SQLAlchemy writes it, a decimal too large for a float's exact
    integers), the batch's values go through that path's converter."""

    def __init__(self, columns: list[Column], kinds: list[str], fallbacks: list[Callable[[list[Any]], Values]]) -> None:
        self.columns, self.kinds, self.fallbacks = columns, kinds, fallbacks
        self.null_bits: dict[int, int] = {}
        self.foreign_bits: dict[int, int] = {}
        bit = 0
        for i, (column, kind) in enumerate(zip(columns, kinds, strict=True)):
            if kind != "int" and column.nullable:
                self.null_bits[i], bit = bit, bit + 1
            if kind in _FOREIGN:
                self.foreign_bits[i], bit = bit, bit + 1

    @classmethod
    def plan(
        cls, columns: list[Column], types: list[sa.types.TypeEngine[Any]], dialect: sa.Dialect
    ) -> SqliteRead | None:
        kinds: list[str] = []
        for column, type_ in zip(columns, types, strict=True):
            kind = _SQLITE_KINDS.get(column.sql_type)
            processor = type_.dialect_impl(dialect).result_processor(dialect, None)
            if kind is None or (column.sql_type in ("real", "float") and processor is not None):
                return None
            if column.sql_type in ("decimal", "numeric") and getattr(type_, "scale", None) != column.scale:
                return None  # the sqlite3 path makes these exact with Decimal, value by value
            kinds.append(kind)
        if 2 * len(columns) > _FLAG_BITS:
            return None
        fallbacks = [_sqlite_converter(c, t, dialect) for c, t in zip(columns, types, strict=True)]
        return cls(columns, kinds, fallbacks)

    def query(self, target: str, quote: Callable[[str], str]) -> str:
        selected, flags = [], []
        for i, (column, kind) in enumerate(zip(self.columns, self.kinds, strict=True)):
            name = quote(column.name)
            value = f"CAST({name} AS REAL)" if kind == "real" else name
            if i in self.null_bits:
                value = f"COALESCE({value}, {_EMPTY[kind]})"
                flags.append(f"(({name} IS NULL) << {self.null_bits[i]})")
            if i in self.foreign_bits:
                foreign = ", ".join(f"'{c}'" for c in _FOREIGN[kind])
                flags.append(f"((typeof({name}) IN ({foreign})) << {self.foreign_bits[i]})")
            selected.append(value)
        return f"SELECT {', '.join([*selected, ' | '.join(flags) or '0'])} FROM {target}"  # noqa: S608 - quoted

    def convert(self, batch: Any) -> list[Values]:
        n = batch.length
        flags = fixed_values(batch.child(len(self.columns)), "<i8") if n else np.zeros(0, dtype=np.int64)
        out: list[Values] = []
        for i, (column, kind) in enumerate(zip(self.columns, self.kinds, strict=True)):
            if i in self.foreign_bits and ((flags >> self.foreign_bits[i]) & 1).any():
                raise ValueError(f"column {column.name}: a value that SQLite holds as {' or '.join(_FOREIGN[kind])}")
            array = batch.child(i)
            nulls = self.null_bits.get(i)
            valid = arrow_validity(array) if nulls is None else ((flags >> nulls) & 1) == 0
            out.append(self._values(i, column, kind, array, valid))
        return out

    def _values(self, i: int, column: Column, kind: str, array: Any, valid: np.ndarray) -> Values:
        arrow = str(array.schema.format)
        if not valid.any():  # also an empty batch, or a column of NULLs only (ADBC may type it as anything)
            return self.fallbacks[i]([None] * len(valid))
        if arrow != _ARROW[kind]:
            raise ValueError(f"column {column.name}: SQLite gave Arrow {arrow} for {column.sql_type}")
        t = column.sql_type
        if kind == "int":
            return Ints(np.where(valid, fixed_values(array, "<i8"), 0).astype(np.int64), valid)
        if kind == "real":
            floats = np.where(valid, fixed_values(array, "<f8"), 0.0)
            if t in ("real", "float"):
                return Floats(floats, valid)
            scaled = _scaled_floats(floats, column.scale)
            if scaled is None:
                return self.fallbacks[i](_python_values(floats.tolist(), valid))
            return checked_decimals(column, Decimals(*scaled, np.zeros(len(valid), dtype=np.uint64), valid))
        offsets, data = offsets_and_data(array, large=False)
        if kind != "blob":
            data = data[int(offsets[0]) : int(offsets[-1])]  # the bytes of this batch's values, one after the other
            offsets = offsets - offsets[0]
        if kind == "blob":
            return Blobs(data, offsets[:-1], np.where(valid, np.diff(offsets), 0), valid)
        if data.size and int(data.max()) >= 0x80:
            try:
                data.tobytes().decode("utf-8")  # SQLite does not check its text; the sqlite3 path fails on this
            except UnicodeDecodeError as exc:
                raise ValueError(f"column {column.name}: text that is not valid UTF-8 ({exc})") from exc
        if t in ("nvarchar", "nchar"):
            utf16, starts, lengths = utf8_to_utf16(data, offsets)
            return Texts(utf16, starts, np.where(valid, lengths, 0), valid)
        width = 10 if t == "date" else 26
        lengths = np.where(valid, np.diff(offsets), 0)
        matrix = (
            data.reshape(-1, width) if (lengths[valid] == width).all() and data.size == width * valid.sum() else None
        )
        if matrix is None or not _canonical(matrix):
            raw = data.tobytes()
            strings = [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
            return self.fallbacks[i](_python_values(strings, valid))
        return _canonical_stamps(column, matrix, valid)


def _sqlite_stream(stream: Any, table: Table) -> Iterator[Any]:
    """ADBC's batches; a value of another kind than the column's first ones stops the stream, and fails the
    export as it fails on the sqlite3 path."""
    batches = iter(stream)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except NanoarrowException as exc:
            # "[SQLite] Type mismatch in column 7: expected INT64 but got DOUBLE": say which column that is.
            found = re.search(r"column (\d+)", str(exc))
            at = int(found.group(1)) if found else -1
            name = table.stored_columns[at].name if 0 <= at < len(table.stored_columns) else "?"
            raise ValueError(f"table {table.full_name}, column {name}: a value of another kind ({exc})") from exc
        yield batch


def _python_values(values: list[Any], valid: np.ndarray) -> list[Any]:
    if not valid.all():
        for i in np.flatnonzero(~valid).tolist():
            values[i] = None
    return values


def sqlite_adbc_connect(path: str) -> tuple[Any, Any]:
    """An ADBC database and connection on the SQLite file at ``path``, read-only."""
    return _adbc_open(adbc_driver_sqlite._driver_path(), Path(path).resolve().as_uri() + "?mode=ro")


# ------------------------------------------------------------------------------------------------ import


def arrow_type(type_: sa.types.TypeEngine[Any]) -> Any:
    """The Arrow type whose COPY binary form is this PostgreSQL column's (from ``native.from_sqlserver``)."""
    if isinstance(type_, sa.BigInteger):
        return na.int64()
    if isinstance(type_, sa.SmallInteger):
        return na.int16()
    if isinstance(type_, sa.Integer):
        return na.int32()
    if isinstance(type_, sa.Boolean):
        return na.bool_()
    if isinstance(type_, sa.REAL):
        return na.float32()
    if isinstance(type_, sa.Float):
        return na.float64()
    if isinstance(type_, sa.Numeric):
        precision = type_.precision or 18
        return na.decimal128(precision, type_.scale or 0) if precision <= 38 else None
    if isinstance(type_, sa.DateTime):
        return na.timestamp("us", "UTC") if type_.timezone else na.timestamp("us")
    if isinstance(type_, sa.Date):
        return na.date32()
    if isinstance(type_, sa.Time):
        return na.time64("us")
    if isinstance(type_, sa.Uuid):
        return na.fixed_size_binary(16)
    if isinstance(type_, sa.LargeBinary):
        return na.large_binary()
    if isinstance(type_, sa.String):
        return na.large_string()
    return None


def adbc_connect(location: DatabaseLocation) -> tuple[Any, Any]:
    """An ADBC database and connection (autocommit on) on the PostgreSQL database at ``location``."""
    uri = location.url().set(drivername="postgresql").render_as_string(hide_password=False)
    return _adbc_open(adbc_driver_postgresql._driver_path(), uri)


def _adbc_open(driver: str, uri: str) -> tuple[Any, Any]:
    database = adbc.AdbcDatabase(driver=driver, uri=uri)
    try:
        return database, adbc.AdbcConnection(database)
    except BaseException:
        database.close()
        raise


def _adbc_close(opened: tuple[Any, Any]) -> None:
    database, connection = opened
    try:
        connection.close()
    finally:
        database.close()


def _execute(connection: Any, sql: str) -> None:
    statement = adbc.AdbcStatement(connection)
    try:
        statement.set_sql_query(sql)
        statement.execute_update()
    finally:
        statement.close()


def import_decoder(bacpac: BacpacReader, table: Table) -> TableDecoder:
    """The columnar decoder of a table, or UnsupportedColumn when it has a column the codec does not cover."""
    return TableDecoder(bacpac.codec(table))


class PostgresLoader:
    """COPY binary through one ADBC connection for the whole import; each table in a transaction of its own."""

    def __init__(self, location: DatabaseLocation) -> None:
        self.location = location
        self._adbc: tuple[Any, Any] | None = None

    def close(self) -> None:
        if self._adbc is not None:
            opened, self._adbc = self._adbc, None
            _adbc_close(opened)

    @staticmethod
    def _copy(statement: Any, options: dict[str, str], struct: Any, batches: list[Any], n: int) -> int:
        # One COPY for a group of windows: each COPY costs a few milliseconds of its own (the driver looks the
        # target table up), a third of the import time when every 512 KB window was a COPY.
        stream = CArrayStream.from_c_arrays(batches, na.c_schema(struct), validate=False)
        statement.set_options(**options)
        statement.bind_stream(stream.__arrow_c_stream__())
        statement.execute_update()
        return n

    def load(self, bacpac: BacpacReader, decoder: TableDecoder, sa_table: sa.Table, beat: Callable[[int], None]) -> int:
        """The table's rows, window by window. Raises UnsupportedColumn (nothing committed) when the data holds
        something the decoder leaves to the row path."""
        columns = decoder.columns
        kinds = [arrow_type(c.type) for c in sa_table.columns]
        if any(k is None for k in kinds):
            raise UnsupportedColumn("a target column without an Arrow type")
        struct = na.struct({c.name: k for c, k in zip(sa_table.columns, kinds, strict=True)})
        options = {"adbc.ingest.target_table": sa_table.name, "adbc.ingest.mode": "adbc.ingest.mode.append"}
        if sa_table.schema:
            options["adbc.ingest.target_db_schema"] = sa_table.schema
        if self._adbc is None:
            self._adbc = adbc_connect(self.location)
            self._adbc[1].set_autocommit(False)
        connection = self._adbc[1]
        count = done_bytes = 0
        # The server copies one group of windows while this thread decodes the next (ADBC's execute releases the
        # GIL): at most one group in flight, and progress is reported from this thread (Django's connection is
        # per thread).
        pending: concurrent.futures.Future[int] | None = None
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="bacpac-copy") as copier:
            statement = adbc.AdbcStatement(connection)
            try:
                try:
                    for group, rows, consumed in _copy_groups(decoder.batches(bacpac), columns, kinds, struct):
                        if pending is not None:
                            count += pending.result()
                            beat(done_bytes)
                        pending = copier.submit(self._copy, statement, options, struct, group, rows)
                        done_bytes = consumed
                    if pending is not None:
                        count += pending.result()
                        beat(done_bytes)
                        pending = None
                finally:
                    if pending is not None:
                        concurrent.futures.wait([pending])
                    statement.close()
                connection.commit()
            except BaseException:
                # A cut connection cannot roll back either; the error that cut it is the one to report.
                with contextlib.suppress(adbc.Error):
                    connection.rollback()
                raise
        return count


def _copy_groups(
    windows: Iterator[tuple[list[Values], int]], columns: list[Column], kinds: list[Any], struct: Any
) -> Iterator[tuple[list[Any], int, int]]:
    """The decoded windows as Arrow batches, gathered into groups of about ``COPY_GROUP_BYTES`` of BCP: each group
    with its number of rows and the BCP bytes consumed in it."""
    group: list[Any] = []
    rows = consumed = 0
    for values, window_bytes in windows:
        arrays = [to_arrow(c, v, k) for c, v, k in zip(columns, values, kinds, strict=True)]
        n = len(values[0].valid)
        group.append(na.c_array_from_buffers(struct, n, [None], children=arrays))
        rows += n
        consumed += window_bytes
        if consumed >= COPY_GROUP_BYTES:
            yield group, rows, consumed
            group, rows, consumed = [], 0, 0
    if group:
        yield group, rows, consumed


def import_sqlite(
    conn: sa.Connection,
    bacpac: BacpacReader,
    decoder: TableDecoder,
    sa_table: sa.Table,
    beat: Callable[[int], None],
) -> int:
    """executemany on the import's own connection, window by window; UnsupportedColumn leaves the table empty."""
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote_identifier(c.name) for c in sa_table.columns)
    marks = ", ".join("?" for _ in sa_table.columns)
    target = preparer.format_table(sa_table)
    statement = f"INSERT INTO {target} ({names}) VALUES ({marks})"  # noqa: S608
    raw = conn.connection.driver_connection
    cursor: sqlite3.Cursor = raw.cursor()  # type: ignore[union-attr]
    count = 0
    try:
        for values, consumed in decoder.batches(bacpac):
            lists = [to_python(c, v) for c, v in zip(decoder.columns, values, strict=True)]
            cursor.executemany(statement, zip(*lists, strict=True))
            count += len(values[0].valid) if values else 0
            beat(consumed)
    except UnsupportedColumn:
        cursor.execute(f"DELETE FROM {target}")  # noqa: S608
        raise
    finally:
        cursor.close()
    return count


__all__ = [
    "DATABASE_ERRORS",
    "ExportReader",
    "PostgresLoader",
    "UnsupportedColumn",
    "arrow_type",
    "export_refusal",
    "export_table",
    "import_decoder",
    "import_sqlite",
]
