"""The columnar codec against the reference codec (``backups.bacpac``), without a database: generated rows of
every supported type encode to the same BCP bytes, and BCP (generated, every real sample, the old ``char NOT NULL``
layout) decodes to the same values."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import nanoarrow as na
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backups.bacpac import BacpacWriter, Column, Model, Table, compile_table, open_bacpac
from backups.engines.native import _postgres_value, _sqlite_value
from backups.fastbcp import TableDecoder, UnsupportedColumn, encode_batch
from backups.fastbcp.columns import from_arrow
from backups.fastbcp.targets import to_arrow, to_python
from tests.backups.helpers import sample_files

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
# (bacpac column, Arrow type as ADBC delivers it from PostgreSQL, values as the row path hands them to the writer)
TYPES: dict[str, tuple[Column, str, st.SearchStrategy[Any]]] = {
    "tinyint": (Column("c", "tinyint"), "s", st.integers(0, 255)),
    "smallint": (Column("c", "smallint"), "s", st.integers(-(2**15), 2**15 - 1)),
    "int": (Column("c", "int"), "i", st.integers(-(2**31), 2**31 - 1)),
    "bigint": (Column("c", "bigint"), "l", st.integers(-(2**63), 2**63 - 1)),
    "bit": (Column("c", "bit"), "b", st.booleans()),
    "real": (Column("c", "real"), "f", st.floats(width=32, allow_nan=False)),
    "float": (Column("c", "float", precision=53), "g", st.floats(allow_nan=False)),
    "decimal(14,2)": (
        Column("c", "decimal", precision=14, scale=2),
        "u",
        st.decimals(min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=2),
    ),
    "decimal(38,10)": (
        Column("c", "decimal", precision=38, scale=10),
        "u",
        st.decimals(
            min_value=Decimal("-" + "9" * 28 + ".9999999999"), max_value=Decimal("9" * 28 + ".9999999999"), places=10
        ),
    ),
    "decimal(5,0)": (Column("c", "decimal", precision=5, scale=0), "u", st.integers(-99999, 99999).map(Decimal)),
    "date": (Column("c", "date"), "tdD", st.dates()),
    "datetime2": (Column("c", "datetime2", scale=7), "tsu:", st.datetimes()),
    "datetimeoffset": (
        Column("c", "datetimeoffset", scale=7),
        "tsu:UTC",
        st.datetimes().map(lambda d: d.replace(tzinfo=UTC)),
    ),
    "time": (Column("c", "time", scale=7), "ttu", st.times()),
    "nvarchar(12)": (Column("c", "nvarchar", length=12), "U", texts),
    "nchar(6)": (
        Column("c", "nchar", length=6),
        "U",
        st.text(st.characters(exclude_categories=["Cs"], max_codepoint=0xFFFF), max_size=6),
    ),
    "nvarchar(max)": (
        Column("c", "nvarchar", is_max=True),
        "U",
        st.text(max_size=300).filter(
            lambda s: s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore") == s
        ),
    ),
    "varbinary(max)": (Column("c", "varbinary", is_max=True), "Z", st.binary(max_size=40)),
    "uniqueidentifier": (Column("c", "uniqueidentifier"), "w:16", st.uuids()),
}


_EPOCH = datetime(1970, 1, 1)
_TYPES = {
    "s": na.int16(),
    "i": na.int32(),
    "l": na.int64(),
    "b": na.bool_(),
    "f": na.float32(),
    "g": na.float64(),
    "u": na.string(),
    "U": na.large_string(),
    "Z": na.large_binary(),
    "w:16": na.fixed_size_binary(16),
    "tdD": na.date32(),
    "tsu:": na.timestamp("us"),
    "tsu:UTC": na.timestamp("us", "UTC"),
    "ttu": na.time64("us"),
}


def _micro(value: Any) -> int:
    if isinstance(value, datetime):
        plain = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return (plain - _EPOCH) // timedelta(microseconds=1)
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _arrow(kind: str, values: list[Any]) -> Any:
    """The nanoarrow array ADBC would deliver for these PostgreSQL values."""
    n = len(values)
    valid = np.array([v is not None for v in values], dtype=bool)
    bitmap = np.packbits(valid, bitorder="little") if not valid.all() else None
    nulls = int(n - valid.sum())

    def make(*buffers: Any) -> Any:
        return na.c_array_from_buffers(_TYPES[kind], n, [bitmap, *buffers], null_count=nulls)

    if kind in ("s", "i", "l"):
        return make(np.array([v or 0 for v in values], dtype={"s": "<i2", "i": "<i4", "l": "<i8"}[kind]))
    if kind == "b":
        return make(np.packbits(np.array([bool(v) for v in values], dtype=bool), bitorder="little"))
    if kind in ("f", "g"):
        return make(np.array([0.0 if v is None else v for v in values], dtype="<f4" if kind == "f" else "<f8"))
    if kind == "tdD":
        return make(np.array([0 if v is None else (v - date(1970, 1, 1)).days for v in values], dtype="<i4"))
    if kind in ("tsu:", "tsu:UTC", "ttu"):
        return make(np.array([0 if v is None else _micro(v) for v in values], dtype="<i8"))
    if kind == "w:16":
        return make(np.frombuffer(b"".join(b"\0" * 16 if v is None else v.bytes for v in values), dtype=np.uint8))
    if kind in ("u", "U", "Z"):
        pieces = [
            b""
            if v is None
            else v
            if isinstance(v, bytes)
            else format(v, "f").encode()
            if isinstance(v, Decimal)
            else str(v).encode()
            for v in values
        ]
        offsets = np.concatenate(([0], np.cumsum([len(p) for p in pieces]))).astype("<i4" if kind == "u" else "<i8")
        return make(offsets, np.frombuffer(b"".join(pieces) or b"\0", dtype=np.uint8))
    raise AssertionError(kind)


def _table(columns: list[Column]) -> Table:
    return Table(schema="dbo", name="t", columns=columns)


def _reference_bcp(table: Table, rows: list[tuple[Any, ...]]) -> bytes:
    pieces, _, count = compile_table(table).encode(iter(rows), 1 << 40)
    assert count == len(rows)
    return b"".join(pieces)


def _columnar_bcp(table: Table, kinds: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in kinds]
    values = [from_arrow(c, _arrow(k, list(v))) for c, k, v in zip(table.columns, kinds, columns, strict=True)]
    data, row_ends = encode_batch(table.columns, values)
    assert len(row_ends) == len(rows) and (not rows or row_ends[-1] == len(data))
    return data


def _nullable(name: str, kind: str, nullable: bool) -> Column:
    base = TYPES[kind][0]
    return Column(
        name,
        base.sql_type,
        length=base.length,
        precision=base.precision,
        scale=base.scale,
        is_max=base.is_max,
        nullable=nullable,
    )


@pytest.mark.parametrize("kind", sorted(TYPES))
@pytest.mark.parametrize("nullable", [True, False], ids=["null", "not-null"])
def test_generated_rows_of_every_type_encode_to_the_reference_bytes(kind: str, nullable: bool) -> None:
    _, arrow_kind, strategy = TYPES[kind]
    values = st.one_of(st.none(), strategy) if nullable else strategy
    table = _table([_nullable("a", kind, nullable), Column("b", "int", nullable=True)])

    @SETTINGS
    @given(st.lists(st.tuples(values, st.one_of(st.none(), st.integers(-5, 5))), max_size=30))
    def check(rows: list[tuple[Any, ...]]) -> None:
        try:
            expected = _reference_bcp(table, rows)
        except ValueError:  # a value the column cannot hold (too many UTF-16 units): refused by both
            with pytest.raises(ValueError):
                _columnar_bcp(table, [arrow_kind, "i"], rows)
            return
        assert _columnar_bcp(table, [arrow_kind, "i"], rows) == expected

    check()


def _bacpac(table: Table, bcp: bytes) -> io.BytesIO:
    """A bacpac whose one table has exactly these BCP bytes."""
    out = io.BytesIO()
    with BacpacWriter(out, database_name="t", model=Model(tables=[table]), server_version="test") as writer:
        writer.write_table(table, [])
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zin:
        rebuilt = io.BytesIO()
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                zout.writestr(info, zin.read(info))
            zout.writestr(f"Data/{table.data_folder}/TableData-000-00000.BCP", bcp)
    rebuilt.seek(0)
    return rebuilt


def _sqlite_form(columns: list[Column], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    converters = [_sqlite_value(c) for c in columns]
    return [tuple(v if f is None else f(v) for v, f in zip(row, converters, strict=True)) for row in rows]


def _postgres_form(value: Any) -> Any:
    """The value the row path COPYs into PostgreSQL, as PostgreSQL keeps it (its text has 7 fractional digits,
    which PostgreSQL rounds to microseconds; UTC instants)."""
    extra = getattr(value, "extra_100ns", 0)
    if isinstance(value, datetime):
        plain = datetime(*value.timetuple()[:6], tzinfo=value.tzinfo) + timedelta(
            microseconds=round((value.microsecond * 10 + extra) / 1e7 * 1e6)
        )
        return plain.astimezone(UTC) if plain.tzinfo else plain
    if isinstance(value, time):
        micro = round((value.microsecond * 10 + extra) / 1e7 * 1e6)
        seconds = (value.hour * 60 + value.minute) * 60 + value.second + micro // 1_000_000
        if seconds == 86_400:
            return "24:00:00"
        return time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro % 1_000_000)
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    return value


def _arrow_form(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _decoded(bacpac_file: Any, table_name: str) -> tuple[list[tuple[Any, ...]], list[list[Any]], list[list[Any]]]:
    """(reference rows, columnar values for SQLite, columnar values for PostgreSQL) of one table, in the layout the
    reference reader chooses for it."""
    from backups.engines.fastpath import arrow_type
    from backups.engines.native import from_sqlserver

    with open_bacpac(bacpac_file) as reader:
        table = reader.table(table_name)
        reference = list(reader.rows(table))
        decoder = TableDecoder(reader.codec(table))
        columns = table.stored_columns
        kinds = [arrow_type(from_sqlserver(c)) for c in columns]
        assert all(k is not None for k in kinds)
        sqlite: list[list[Any]] = [[] for _ in columns]
        postgres: list[list[Any]] = [[] for _ in columns]
        for values, _ in decoder.batches(reader):
            for i, (c, v, k) in enumerate(zip(columns, values, kinds, strict=True)):
                sqlite[i].extend(to_python(c, v))
                postgres[i].extend(_pylist(c, to_arrow(c, v, k)))
    return reference, sqlite, postgres


def _pylist(column: Column, array: Any) -> list[Any]:
    """An Arrow array as Python values (decimals read from their 128-bit two's complement by hand)."""
    fmt = array.schema.format
    if fmt == "ttu":  # PostgreSQL's time goes up to 24:00:00, Python's does not
        bits = array.view().buffer(0)
        present = (
            np.ones(len(array), dtype=bool)
            if array.null_count == 0 or bits is None or not len(bits)
            else (np.unpackbits(np.frombuffer(bits, dtype=np.uint8), bitorder="little")[: len(array)].astype(bool))
        )
        nulls = [True if p else None for p in present.tolist()]
        micro = np.frombuffer(array.view().buffer(1), dtype="<i8").tolist()
        return [
            None
            if present is None
            else "24:00:00"
            if m == 86_400_000_000
            else time(m // 3_600_000_000, m // 60_000_000 % 60, m // 1_000_000 % 60, m % 1_000_000)
            for present, m in zip(nulls, micro, strict=False)
        ]
    if not fmt.startswith("d:"):
        return na.Array(array).to_pylist()
    scale = int(fmt.split(",")[1])
    view = array.view()
    words = np.frombuffer(view.buffer(1), dtype="<u8").tolist()
    valid = na.Array(array).to_pylist()  # only for its NULLs
    out: list[Any] = []
    for i, present in enumerate(valid):
        if present is None:
            out.append(None)
            continue
        value = words[2 * i] | words[2 * i + 1] << 64
        value = value - (1 << 128) if value >= 1 << 127 else value
        out.append(Decimal(value).scaleb(-scale))
    return out


def _assert_same(columns: list[Column], reference: list[tuple[Any, ...]], sqlite, postgres) -> None:
    assert [tuple(r) for r in zip(*sqlite, strict=True)] == _sqlite_form(columns, reference) if reference else True
    converters = [_postgres_value(c) for c in columns]
    expected = [
        tuple(_postgres_form(v if f is None else f(v)) for v, f in zip(row, converters, strict=True))
        for row in reference
    ]
    got = [tuple(_arrow_form(v) for v in r) for r in zip(*postgres, strict=True)]
    assert got == expected


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_generated_bcp_of_every_type_decodes_to_the_reference_values(kind: str) -> None:
    _, _, strategy = TYPES[kind]
    table = _table([_nullable("a", kind, True), _nullable("b", kind, False)])

    @SETTINGS
    @given(st.lists(st.tuples(st.one_of(st.none(), strategy), strategy), min_size=1, max_size=30))
    def check(rows: list[tuple[Any, ...]]) -> None:
        try:
            bcp = _reference_bcp(table, rows)
        except ValueError:
            assume(False)  # not writable, so never in a file
        file = _bacpac(table, bcp)
        reference, sqlite, postgres = _decoded(file, "dbo.t")
        _assert_same(table.stored_columns, reference, sqlite, postgres)

    check()


@pytest.mark.parametrize("sample", sample_files(), ids=lambda p: p.stem)
def test_every_sample_table_decodes_to_the_reference_values_or_is_left_to_it(sample: Path) -> None:
    decoded = 0
    with open_bacpac(sample) as reader:
        tables = [t for t in reader.tables if reader.parts(t)]
    for table in tables:
        try:
            reference, sqlite, postgres = _decoded(sample, table.full_name)
        except UnsupportedColumn:
            continue  # a type the codec leaves to the reference (xml, geography, rowversion…): the row path
        decoded += 1
        _assert_same(table.stored_columns, reference, sqlite, postgres)
    assert decoded


@pytest.mark.parametrize("nullable_tail", [True, False])
def test_the_old_prefixed_char_not_null_layout_decodes_like_the_reference(nullable_tail: bool) -> None:
    """``char(n) NOT NULL`` without a prefix (SqlPackage today) and with a 2-byte prefix (older exports)."""
    columns = [
        Column("code", "char", length=4, nullable=False),
        Column("naam", "nvarchar", length=20, nullable=nullable_tail),
        Column("n", "int", nullable=False),
    ]
    table = _table(columns)
    rows = [("AB  ", "één", 1), ("éü  ", "x" * 20, 2), ("ZZZZ", "" if not nullable_tail else None, 3)]
    rest = _table(columns[1:])
    for variant in (False, True):
        data = b""
        for row in rows:
            code = row[0].encode("utf-16-le")
            head = struct.pack("<H", len(code)) + code if variant else code  # the old layout has a length prefix
            data += head + _reference_bcp(rest, [row[1:]])
        file = _bacpac(table, data)
        with open_bacpac(file) as reader:
            assert reader.codec(reader.table("dbo.t")).char_variant is variant  # the reference tells them apart
        file.seek(0)
        reference, sqlite, postgres = _decoded(file, "dbo.t")
        assert [r[0] for r in reference] == ["AB  ", "éü  ", "ZZZZ"]
        _assert_same(columns, reference, sqlite, postgres)


def test_values_the_reference_refuses_are_refused_by_the_columnar_encoder() -> None:
    cases: list[tuple[Column, str, list[Any]]] = [
        (Column("c", "nvarchar", length=3), "U", ["abcd"]),
        (Column("c", "nvarchar", length=2), "U", ["😀😀"]),  # 2 characters, 4 UTF-16 units
        (Column("c", "decimal", precision=4, scale=2), "u", ["123.45"]),
        (Column("c", "decimal", precision=6, scale=2), "u", ["1.234"]),
        (Column("c", "int", nullable=False), "i", [None]),
        (Column("c", "smallint"), "i", [40000]),
    ]
    for column, kind, values in cases:
        table = _table([column])
        with pytest.raises((ValueError, TypeError, OverflowError, struct.error)):
            _reference_bcp(table, [(_reference_value(column, v),) for v in values])
        with pytest.raises(ValueError):
            _columnar_bcp(table, [kind], [(v,) for v in values])


def _reference_value(column: Column, value: Any) -> Any:
    return Decimal(value) if column.sql_type == "decimal" and value is not None else value


def test_a_date_of_year_1_and_9999_and_empty_and_long_text_round_trip() -> None:
    columns = [
        Column("d", "date"),
        Column("t", "datetimeoffset", scale=7),
        Column("s", "nvarchar", is_max=True),
    ]
    table = _table(columns)
    long_cjk = "漢字" * 2000
    rows = [
        (date(1, 1, 1), datetime(1, 1, 1, tzinfo=UTC), ""),
        (date(9999, 12, 31), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), long_cjk),
        (None, None, "x" * 100_000),
    ]
    kinds = ["tdD", "tsu:UTC", "U"]
    assert _columnar_bcp(table, kinds, rows) == _reference_bcp(table, rows)
    reference, sqlite, postgres = _decoded(_bacpac(table, _reference_bcp(table, rows)), "dbo.t")
    _assert_same(columns, reference, sqlite, postgres)
