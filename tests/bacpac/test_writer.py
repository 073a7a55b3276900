"""What we write reads back to the same schema and values, and re-encoding real samples is byte-identical."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backups.bacpac import (
    BacpacWriter,
    Column,
    Model,
    NotABacpac,
    PreciseDatetime,
    PreciseTime,
    PrimaryKey,
    SqlVariant,
    Table,
    open_bacpac,
    verify,
    write_bacpac,
)
from backups.bacpac.writer import CONTENT_TYPES

SERVER = "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)"


def _write(model: Model, data: dict[str, Iterable[Sequence[Any]]], **options: Any) -> bytes:
    out = io.BytesIO()
    write_bacpac(out, database_name="Roundtrip", model=model, data=data, server_version=SERVER, **options)
    return out.getvalue()


def _schema(table: Table) -> dict[str, Any]:
    """What must survive a round trip (alias type names are written as their base type)."""
    columns = [
        (
            c.name,
            c.sql_type,
            c.length,
            c.precision,
            c.scale,
            c.is_max,
            c.nullable,
            c.identity,
            c.collation,
            c.computed,
            c.expression,
            c.default,
        )
        for c in table.columns
    ]
    return {
        "columns": columns,
        "primary_key": table.primary_key,
        "foreign_keys": table.foreign_keys,
        "unique_constraints": table.unique_constraints,
        "indexes": table.indexes,
    }


# ------------------------------------------------------------------------------------------- real samples


def test_re_encoding_the_rows_of_every_sample_gives_byte_identical_data(sample: Path) -> None:
    # Every Python value we return holds the original exactly (datetime via the nearest microsecond of its
    # 1/300 s tick, the 7th digit of time/datetime2/datetimeoffset in extra_100ns, sql_variant as raw bytes),
    # so there is no exception to note here.
    with open_bacpac(sample) as bp:
        for table in bp.tables:
            original = b"".join(bp._zip.read(p.name) for p in bp.parts(table))
            pieces, _, _ = bp.codec(table).encode(iter(bp.rows(table)), 1 << 40)
            assert b"".join(pieces) == original, table.full_name


def test_a_sample_rewritten_by_us_reads_back_to_the_same_schema_and_values(sample: Path) -> None:
    with open_bacpac(sample) as bp:
        data = _write(bp.model, {t.full_name: bp.rows(t) for t in bp.tables}, segment_bytes=4096)
        with open_bacpac(io.BytesIO(data)) as copy:
            assert copy.database_name == "Roundtrip"
            assert [t.full_name for t in copy.tables] == [t.full_name for t in bp.tables]
            for mine, theirs in zip(copy.tables, bp.tables, strict=True):
                assert _schema(mine) == _schema(theirs)
                assert list(copy.rows(mine)) == list(bp.rows(theirs))
            assert copy.inspect().total_rows == bp.inspect().total_rows


def test_the_written_package_has_the_parts_sqlpackage_expects(bacpactod: Path) -> None:
    with open_bacpac(bacpactod) as bp:
        data = _write(bp.model, {t.full_name: bp.rows(t) for t in bp.tables})
        inspection = verify(io.BytesIO(data))
    assert inspection.total_matches_origin is True
    assert inspection.origin.total_row_count == 173
    assert inspection.origin.server_version == SERVER
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert names[0] == "model.xml"
        assert names[-1] == "Origin.xml"
        assert z.read("[Content_Types].xml") == CONTENT_TYPES
        with zipfile.ZipFile(bacpactod) as real:
            assert real.read("[Content_Types].xml") == CONTENT_TYPES
        assert not z.read("model.xml").startswith(b"\xef\xbb\xbf")
        assert z.read("Origin.xml").startswith(b"\xef\xbb\xbf")
        assert z.read("DacMetadata.xml").startswith(b"\xef\xbb\xbf")
        rels = z.read("_rels/.rels").decode("utf-8-sig")
        parts = [n for n in names if n.startswith("Data/")]
        assert len(parts) == 25
        for part in parts:
            assert rels.count(f'Target="/{part}"') == 2
        assert len(set(re.findall(r'Id="(R[0-9a-f]{16})"', rels))) == 50


def test_a_large_table_is_split_into_bounded_segments_that_each_end_on_a_row() -> None:
    table = Table("dbo", "Lines", [Column("id", "int", nullable=False), Column("text", "nvarchar", length=50)])
    model = Model([table, Table("dbo", "Empty", [Column("id", "int")])])
    rows = [(i, f"regel {i}") for i in range(5000)]
    data = _write(model, {"dbo.Lines": rows, "dbo.Empty": []}, segment_bytes=10_000)
    with open_bacpac(io.BytesIO(data)) as bp:
        parts = bp.parts("dbo.Lines")
        assert len(parts) > 5
        assert all(p.size < 10_000 + 200 for p in parts)
        assert parts[10].name == "Data/dbo.Lines/TableData-010-00000.BCP"
        for part in parts:
            assert sum(bp._scan(table, bp.codec(table), [part], walk=True)) > 0
        assert list(bp.rows("dbo.Lines")) == rows
        assert bp.parts("dbo.Empty") == []  # no part at all for an empty table
        assert list(bp.rows("dbo.Empty")) == []


def test_folder_names_are_uri_escaped() -> None:
    table = Table("dbo", "Order Details", [Column("id", "int", nullable=False)])
    data = _write(Model([table]), {"dbo.Order Details": [(1,)]})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "Data/dbo.Order%20Details/TableData-000-00000.BCP" in z.namelist()
    with open_bacpac(io.BytesIO(data)) as bp:
        assert list(bp.rows("dbo.Order Details")) == [(1,)]


def test_maximum_compression_is_no_larger_than_fast() -> None:
    table = Table("dbo", "T", [Column("id", "int", nullable=False), Column("s", "nvarchar", length=100)])
    rows = [(i, f"omschrijving {i % 97} van de boeking") for i in range(20_000)]
    fast = _write(Model([table]), {"dbo.T": rows})
    maximum = _write(Model([table]), {"dbo.T": rows}, compression="maximum")
    assert len(maximum) <= len(fast)


def test_a_failed_export_never_looks_like_a_valid_bacpac() -> None:
    table = Table("dbo", "T", [Column("amount", "decimal", precision=18, scale=2, nullable=False)])
    out = io.BytesIO()
    with (
        pytest.raises(ValueError, match="more decimals"),
        BacpacWriter(out, database_name="x", model=Model([table]), server_version=SERVER) as w,
    ):
        w.write_table("dbo.T", [(Decimal("1.005"),)])
    with pytest.raises(NotABacpac):
        open_bacpac(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (Column("a", "decimal", precision=18, scale=2), Decimal("0.001"), "more decimals"),
        (Column("a", "decimal", precision=4, scale=0), 10_000, "does not fit"),
        (Column("a", "nvarchar", length=3), "abcd", "do not fit"),
        (Column("a", "char", length=2, nullable=False), "abc", "do not fit"),
        (Column("a", "varbinary", length=2), b"abc", "do not fit"),
        (Column("a", "int"), "12", "required argument is not an integer"),
        (Column("a", "datetimeoffset", scale=7), datetime(2020, 1, 1), "timezone-aware"),
    ],
)
def test_the_writer_refuses_values_the_column_cannot_hold(column: Column, value: Any, message: str) -> None:
    table = Table("dbo", "T", [column])
    with pytest.raises(ValueError, match=message):
        _write(Model([table]), {"dbo.T": [(value,)]})


def test_a_table_can_be_written_only_once() -> None:
    table = Table("dbo", "T", [Column("a", "int")])
    with BacpacWriter(io.BytesIO(), database_name="x", model=Model([table]), server_version=SERVER) as w:
        w.write_table("dbo.T", [(1,)])
        with pytest.raises(ValueError, match="already written"):
            w.write_table(table, [(2,)])


# ------------------------------------------------------------------------------------ every type, generated

_TYPES: list[tuple[Column, st.SearchStrategy[Any]]] = []
_BMP = st.characters(max_codepoint=0xFFFF, exclude_categories=())
_ANY = st.characters(exclude_categories=())
_DT_1900 = datetime(1900, 1, 1)
_DT_0001 = datetime(1, 1, 1)


def _time(ticks: int) -> time:
    seconds, rest = divmod(ticks, 10_000_000)
    return PreciseTime.of(time(seconds // 3600, seconds // 60 % 60, seconds % 60, rest // 10), rest % 10)


def _dt2(days: int, ticks: int) -> datetime:
    return PreciseDatetime.of(_DT_0001 + timedelta(days=days, microseconds=ticks // 10), ticks % 10)


def _dto(days: int, ticks: int, offset: int) -> datetime:
    utc = _DT_0001 + timedelta(days=days, microseconds=ticks // 10)
    local = (utc + timedelta(minutes=offset)).replace(tzinfo=timezone(timedelta(minutes=offset)))
    return PreciseDatetime.of(local, ticks % 10)


def _decimal(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    top = 10**precision - 1
    # Built from text: Decimal arithmetic would round to the default 28 digits.
    return st.integers(-top, top).map(lambda n: Decimal(f"{n}E-{scale}"))


def _add(name: str, sql_type: str, strategy: st.SearchStrategy[Any], **kw: Any) -> None:
    _TYPES.append((Column(name, sql_type, **kw), strategy))


_TICKS = st.integers(0, 863_999_999_999)
_add("tiny", "tinyint", st.integers(0, 255))
_add("small", "smallint", st.integers(-(2**15), 2**15 - 1))
_add("int", "int", st.integers(-(2**31), 2**31 - 1))
_add("big", "bigint", st.integers(-(2**63), 2**63 - 1))
_add("bit", "bit", st.booleans())
_add("dec38", "decimal", _decimal(38, 10), precision=38, scale=10)
_add("dec18", "numeric", _decimal(18, 2), precision=18, scale=2)
_add("money", "money", st.integers(-(2**63), 2**63 - 1).map(lambda n: Decimal(n).scaleb(-4)))
_add("smallmoney", "smallmoney", st.integers(-(2**31), 2**31 - 1).map(lambda n: Decimal(n).scaleb(-4)))
_add("float", "float", st.floats(allow_nan=False, allow_infinity=False), precision=53)
_add("real", "real", st.floats(width=32, allow_nan=False, allow_infinity=False))
_add(
    "datetime",
    "datetime",
    st.builds(
        lambda d, t: _DT_1900 + timedelta(days=d, microseconds=round(t * 10_000 / 3)),
        st.integers(-53_690, 2_958_463),
        st.integers(0, 25_919_999),
    ),
)
_add(
    "smalldatetime",
    "smalldatetime",
    st.builds(lambda d, m: _DT_1900 + timedelta(days=d, minutes=m), st.integers(0, 65_535), st.integers(0, 1439)),
)
_add("date", "date", st.dates())
_add("time", "time", _TICKS.map(_time), scale=7)
_add("dt2", "datetime2", st.builds(_dt2, st.integers(0, 3_652_058), _TICKS), scale=7)
_add(
    "dto",
    "datetimeoffset",
    st.builds(_dto, st.integers(1, 3_652_057), _TICKS, st.integers(-840, 840)),
    scale=7,
)
_add("guid", "uniqueidentifier", st.uuids())
_add("char", "char", st.text(_BMP, max_size=10).map(lambda s: s.ljust(10)), length=10)
_add("nchar", "nchar", st.text(_BMP, max_size=4).map(lambda s: s.ljust(4)), length=4)
_add("varchar", "varchar", st.text(_BMP, max_size=50), length=50)
_add("nvarchar", "nvarchar", st.text(_BMP, max_size=50), length=50)
_add("nvarcharmax", "nvarchar", st.text(_ANY, max_size=300), is_max=True)
_add("varcharmax", "varchar", st.text(_ANY, max_size=300), is_max=True)
_add("text", "text", st.text(_ANY, max_size=100))
_add("ntext", "ntext", st.text(_ANY, max_size=100))
_add("xml", "xml", st.text(_ANY, max_size=100))
_add("binary", "binary", st.binary(min_size=8, max_size=8), length=8)
_add("varbinary", "varbinary", st.binary(max_size=100), length=100)
_add("varbinarymax", "varbinary", st.binary(max_size=1000), is_max=True)
_add("image", "image", st.binary(max_size=100))
_add("geography", "geography", st.binary(max_size=100))
_add("geometry", "geometry", st.binary(max_size=100))
_add("hierarchyid", "hierarchyid", st.binary(max_size=20))
_add(
    "variant",
    "sql_variant",
    st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.text(_BMP, max_size=20),
        st.booleans(),
        st.binary(max_size=20),
        st.floats(allow_nan=False),
        st.uuids(),
        st.dates(),
        _decimal(20, 5),
    ).map(SqlVariant.from_value),
)


def _table(nullable: bool) -> Table:
    columns = [Column("id", "int", nullable=False, identity=True)]
    for col, _ in _TYPES:
        columns.append(Column(**{**col.__dict__, "nullable": nullable}))
    if not nullable:
        columns.append(Column("version", "rowversion", nullable=False))
    return Table("dbo", "AllTypesNullable" if nullable else "AllTypesRequired", columns, PrimaryKey("PK_x", ["id"]))


def _rows(nullable: bool) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    fields = [s | st.none() if nullable else s for _, s in _TYPES]
    if not nullable:
        fields.append(st.binary(min_size=8, max_size=8))
    return st.lists(st.tuples(*fields), max_size=5).map(lambda rows: [(i, *row) for i, row in enumerate(rows)])


_TABLES = [_table(True), _table(False)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(nullable_rows=_rows(True), required_rows=_rows(False))
def test_any_values_of_every_type_read_back_exactly(
    nullable_rows: list[tuple[Any, ...]], required_rows: list[tuple[Any, ...]]
) -> None:
    data = _write(Model(_TABLES), {"dbo.AllTypesNullable": nullable_rows, "dbo.AllTypesRequired": required_rows})
    with open_bacpac(io.BytesIO(data)) as bp:
        assert [_schema(t) for t in bp.tables] == [_schema(t) for t in _TABLES]
        assert list(bp.rows("dbo.AllTypesNullable")) == nullable_rows
        assert list(bp.rows("dbo.AllTypesRequired")) == required_rows
        assert bp.inspect().total_rows == len(nullable_rows) + len(required_rows)


def test_extremes_and_empty_values_read_back_exactly() -> None:
    big = Decimal(f"{10**38 - 1}E-10")
    lowest = [
        0,
        -(2**15),
        -(2**31),
        -(2**63),
        False,
        big.copy_negate(),
        Decimal("-9999999999999999.99"),
        Decimal(-(2**63)).scaleb(-4),
        Decimal(-(2**31)).scaleb(-4),
        -1.7976931348623157e308,
        -3.4028234663852886e38,
        datetime(1753, 1, 1),
        datetime(1900, 1, 1),
        date(1, 1, 1),
        time(0),
        datetime(1, 1, 1),
        datetime(1, 1, 2, tzinfo=timezone(timedelta(hours=14))),
        _UUID0,
        " " * 10,
        " " * 4,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        b"\x00" * 8,
        b"",
        b"",
        b"",
        b"",
        b"",
        b"",
        SqlVariant.from_value(""),
    ]
    highest = [
        255,
        2**15 - 1,
        2**31 - 1,
        2**63 - 1,
        True,
        big,
        Decimal("9999999999999999.99"),
        Decimal(2**63 - 1).scaleb(-4),
        Decimal(2**31 - 1).scaleb(-4),
        1.7976931348623157e308,
        3.4028234663852886e38,
        datetime(9999, 12, 31, 23, 59, 59, 996667),
        datetime(2079, 6, 6, 23, 59),
        date(9999, 12, 31),
        _time(863_999_999_999),
        _dt2(3_652_058, 863_999_999_999),
        _dto(3_652_058, 863_999_999_999, -840),
        _UUIDF,
        "\uffff" * 10,
        "€" * 4,
        "x" * 50,
        "\ud800" * 50,
        "😀" * 1000,
        "\x00",
        "a" * 10_000,
        "\udfff",
        "<a/>",
        b"\xff" * 8,
        b"\xff" * 100,
        b"\x00" * 100_000,
        b"\x01",
        b"\x02",
        b"\x03",
        b"\x04",
        SqlVariant.from_value(-(2**63)),
    ]
    rows = [(1, *lowest), (2, *highest), (3, *[None] * len(_TYPES))]
    table = _TABLES[0]
    data = _write(Model([table]), {table.full_name: rows})
    with open_bacpac(io.BytesIO(data)) as bp:
        assert list(bp.rows(table)) == rows


_UUID0 = __import__("uuid").UUID(int=0)
_UUIDF = __import__("uuid").UUID(int=2**128 - 1)
