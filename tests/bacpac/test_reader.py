from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from backups.bacpac import Inspection, open_bacpac, verify
from backups.bacpac.codec import compile_table

from .samples import sample_path


def test_every_sample_verifies_and_its_rows_add_up_to_the_origin_total(sample: Path) -> None:
    inspection = verify(sample)

    assert isinstance(inspection, Inspection)
    assert inspection.total_rows > 0
    if inspection.origin.total_row_count is not None:
        assert inspection.total_matches_origin is True
        assert inspection.total_rows == inspection.origin.total_row_count


def test_every_part_of_every_table_decodes_exactly_to_its_own_end(sample: Path) -> None:
    with open_bacpac(sample) as bp:
        for table in bp.tables:
            codec = bp.codec(table)
            for part in bp.parts(table):
                # One part at a time, so a row that spilled into the next part would show up here.
                rows = sum(bp._scan(table, codec, [part], walk=True))
                assert rows > 0, part.name


def test_decoding_every_row_gives_the_same_counts_as_walking(sample: Path) -> None:
    with open_bacpac(sample) as bp:
        for table in bp.tables:
            decoded = list(bp.rows(table))
            assert len(decoded) == bp.count_rows(table)
            assert all(len(r) == len(table.stored_columns) for r in decoded)


def test_the_inspection_summary_is_json_serialisable(sample: Path) -> None:
    with open_bacpac(sample) as bp:
        summary = bp.inspect().to_dict()

    text = json.dumps(summary)
    again = json.loads(text)
    assert again["database_name"]
    assert sum(t["rows"] for t in again["tables"]) == again["total_rows"]


def test_it_reads_the_origin_of_a_windows_export() -> None:
    with open_bacpac(sample_path("pubs")) as bp:
        assert bp.database_name == "pubs"
        assert bp.origin.product_version == "15.0.5282.3"
        assert bp.origin.server_version is not None
        assert bp.origin.server_version.startswith("Microsoft SQL Server 2019")
        assert bp.origin.export_start == "2022-02-16T12:03:54.9303330+01:00"
        assert bp.origin.export_started_at is not None
        assert bp.origin.export_started_at.year == 2022
        assert bp.origin.total_row_count == 255
        assert bp.origin.data_stream_version == "2.0.0.0"


def test_a_linux_export_has_no_row_count_tag_and_so_no_comparison() -> None:
    inspection = verify(sample_path("prasertcbs_imdb1000"))

    assert inspection.origin.total_row_count is None
    assert inspection.total_matches_origin is None


def test_it_resolves_alias_types_through_their_definition() -> None:
    with open_bacpac(sample_path("pubs")) as bp:
        titles = bp.table("dbo.titles")
        title_id = titles.columns[0]
        assert (title_id.name, title_id.sql_type, title_id.length) == ("title_id", "varchar", 6)
        assert title_id.user_type == "[dbo].[tid]"
        assert title_id.nullable is False
        emp_id = bp.table("[dbo].[employee]").columns[0]
        assert (emp_id.sql_type, emp_id.length, emp_id.user_type) == ("char", 9, "[dbo].[empid]")


def test_it_reads_keys_indexes_defaults_and_computed_columns() -> None:
    with open_bacpac(sample_path("AdventureWorksLT")) as bp:
        detail = bp.table("SalesLT.SalesOrderDetail")
        assert detail.primary_key is not None
        assert detail.primary_key.columns == ["SalesOrderID", "SalesOrderDetailID"]
        fks = {fk.name: fk for fk in detail.foreign_keys}
        cascade = fks["FK_SalesOrderDetail_SalesOrderHeader_SalesOrderID"]
        assert cascade.on_delete == "CASCADE"
        assert (cascade.referenced_schema, cascade.referenced_table) == ("SalesLT", "SalesOrderHeader")
        assert cascade.referenced_columns == ["SalesOrderID"]
        line_total = next(c for c in detail.columns if c.name == "LineTotal")
        assert line_total.computed and line_total.expression
        assert "LineTotal" not in [c.name for c in detail.stored_columns]

        address = bp.table("SalesLT.Address")
        assert address.columns[0].identity is True
        assert [u.name for u in address.unique_constraints] == ["AK_Address_rowguid"]
        assert any(ix.name.startswith("IX_Address_AddressLine1") for ix in address.indexes)
        assert next(c for c in address.columns if c.name == "rowguid").default == "(newid())"

        error_log = bp.table("dbo.ErrorLog")
        user_name = next(c for c in error_log.columns if c.name == "UserName")
        assert (user_name.sql_type, user_name.length) == ("nvarchar", 128)  # sysname

        assert bp.model.views == 3
        assert bp.model.procedures == 2
        assert bp.model.functions == 3


def test_absent_is_nullable_means_nullable() -> None:
    with open_bacpac(sample_path("prasertcbs_imdb1000")) as bp:
        assert all(c.nullable for t in bp.tables for c in t.columns)


def test_it_finds_tables_by_dotted_bracketed_or_bare_name() -> None:
    with open_bacpac(sample_path("Northwind_urbidata")) as bp:
        a = bp.table("dbo.Order Details")
        assert bp.table("[dbo].[Order Details]") is a
        assert bp.table("order details") is a
        assert bp.table(a) is a
        with pytest.raises(KeyError):
            bp.table("dbo.Nope")


def test_it_concatenates_a_tables_parts_in_segment_order() -> None:
    with open_bacpac(sample_path("Northwind_urbidata")) as bp:
        parts = bp.parts("dbo.Order Details")
        assert [p.name.rsplit("/", 1)[1] for p in parts] == [f"TableData-00{i}-00000.BCP" for i in range(4)]
        keys = [(r[0], r[1]) for r in bp.rows("dbo.Order Details")]
        assert keys == sorted(keys)  # clustered key order across segments
        assert len(keys) == 2155


def test_it_opens_a_binary_file_object_as_well_as_a_path(bacpactod: Path) -> None:
    data = bacpactod.read_bytes()
    with open_bacpac(io.BytesIO(data)) as bp:
        assert bp.database_name == "Test"
        assert len(list(bp.rows("dbo.BitMixed"))) > 0


def test_a_row_may_span_two_parts(bacpactod: Path) -> None:
    with open_bacpac(bacpactod) as bp:
        table = bp.table("dbo.TextFields1")
        codec = compile_table(table)
        rows = list(bp.rows(table))
        data = bytes(b"".join(_raw(bp, p.name) for p in bp.parts(table)))
    # Split in the middle of the second row and decode the two halves as a stream.
    out: list[tuple[object, ...]] = []
    first, second = data[:20], data[20:]
    p = codec.decode(first, 0, len(first), out)
    rest = first[p:] + second
    codec.decode(rest, 0, len(rest), out)
    assert out == rows


def _raw(bp: object, name: str) -> bytes:
    return bp._zip.read(name)  # type: ignore[attr-defined]


def test_verify_tells_how_far_it_is_at_every_table_and_chunk(sample: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    inspection = verify(sample, progress=lambda done, total, table: calls.append((done, total, table)))

    data_bytes = sum(t.data_bytes for t in inspection.tables)
    assert {total for _, total, _ in calls} == {data_bytes}
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert calls[-1][0] == data_bytes
    # Every table is announced before its rows are walked, in the order of the model.
    announced = list(dict.fromkeys(table for _, _, table in calls))
    assert announced == [t.name for t in inspection.tables]
