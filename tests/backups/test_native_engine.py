"""The native engine on real databases: SQLite files and the real PostgreSQL server, and the real sample files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from administrations.databases import DatabaseLocation, database_connect, database_create
from backups.bacpac import CorruptData, open_bacpac, verify
from backups.engines import native
from tests.backups.helpers import bookkeeping_database, sample_files, table_checksums


def sqlite_location(tmp_path: Path, name: str) -> DatabaseLocation:
    return DatabaseLocation(engine="sqlite", name=str(tmp_path / f"{name}.sqlite3"))


@pytest.fixture
def make_location(tmp_path: Path, request: pytest.FixtureRequest):
    def make(kind: str, name: str) -> DatabaseLocation:
        if kind == "sqlite":
            return sqlite_location(tmp_path, name)
        return request.getfixturevalue("new_postgres_location")()

    return make


@pytest.mark.parametrize(
    ("source_kind", "target_kind"),
    [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("sqlite", "postgresql"), ("postgresql", "sqlite")],
)
def test_r3_r12_a_round_trip_gives_the_same_tables_and_rows(make_location, tmp_path, source_kind, target_kind) -> None:
    source = bookkeeping_database(make_location(source_kind, "source"), lines=700)
    file = tmp_path / "adm.bacpac"

    exported = native.export(location=source, target=file, database_name="Bakkerij")
    inspection = verify(file)
    target = make_location(target_kind, "target")
    database_create(target)
    imported = native.import_(source=file, location=target)

    expected = table_checksums(source)
    assert table_checksums(target) == expected
    assert expected["journaalregels"][0] == 700
    assert exported.rows == imported.rows == inspection.total_rows == sum(n for n, _ in expected.values())


def test_the_export_maps_types_keys_and_indexes_to_sql_server(tmp_path) -> None:
    source = bookkeeping_database(sqlite_location(tmp_path, "source"), lines=50)
    file = tmp_path / "adm.bacpac"
    native.export(location=source, target=file, database_name="Bakkerij")
    with open_bacpac(file) as bacpac:
        lines = bacpac.table("dbo.journaalregels")
        types = {c.name: c.type_sql for c in lines.columns}
        assert types["debet"] == "decimal(14,2)"
        assert types["omschrijving"] == "nvarchar(200)"
        assert lines.primary_key is not None and lines.primary_key.columns == ["id"]
        assert {fk.referenced_table for fk in lines.foreign_keys} == {
            "journaalposten",
            "grootboekrekeningen",
            "btw_codes",
        }
        assert any(index.columns == ["journaalpost_id"] for index in lines.indexes)
        relations = {c.name: c.type_sql for c in bacpac.table("relaties").columns}
        assert relations["is_klant"] == "bit"
        assert relations["aangemaakt_op"] == "datetime2(7)"
        assert bacpac.database_name == "Bakkerij"


@pytest.mark.postgres
def test_postgresql_types_map_to_their_sql_server_counterparts(new_postgres_location, tmp_path) -> None:
    source = bookkeeping_database(new_postgres_location(), lines=20)
    file = tmp_path / "adm.bacpac"
    native.export(location=source, target=file, database_name="pg")
    with open_bacpac(file) as bacpac:
        posts = {c.name: c.type_sql for c in bacpac.table("journaalposten").columns}
        mutations = {c.name: c.type_sql for c in bacpac.table("bankmutaties").columns}
        lines = {c.name: c for c in bacpac.table("journaalregels").columns}
    assert posts["geboekt_op"] == "datetimeoffset(7)"
    assert posts["datum"] == "date"
    assert mutations["transactie_id"] == "uniqueidentifier"
    assert mutations["omschrijving"] == "nvarchar(max)"
    assert lines["id"].type_sql == "bigint" and lines["id"].identity


@pytest.mark.postgres
def test_after_a_restore_into_postgresql_new_rows_get_new_ids_and_foreign_keys_hold(
    new_postgres_location, tmp_path
) -> None:
    source = bookkeeping_database(sqlite_location(tmp_path, "source"), lines=100)
    file = tmp_path / "adm.bacpac"
    native.export(location=source, target=file, database_name="x")
    target = new_postgres_location()
    database_create(target)
    native.import_(source=file, location=target)
    engine = database_connect(target)
    try:
        with engine.begin() as conn:
            new_id = conn.execute(
                sa.text("INSERT INTO btw_codes (code, omschrijving, percentage) VALUES ('N', 'Nieuw', 1) RETURNING id")
            ).scalar_one()
            assert new_id == 5
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE journaalregels SET grootboekrekening_id = 9999 WHERE id = 1"))
        inspector = sa.inspect(engine)
        assert inspector.get_foreign_keys("facturen")
        assert any(i["column_names"] == ["datum"] for i in inspector.get_indexes("journaalposten"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("sample", sample_files(), ids=lambda p: p.stem)
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_sample_restores_with_every_row(make_location, sample: Path, kind: str) -> None:
    with open_bacpac(sample) as bacpac:
        expected = {f"{t.schema}.{t.name}": t.rows for t in bacpac.inspect().tables}
    target = make_location(kind, "target")
    database_create(target)

    result = native.import_(source=sample, location=target)

    assert result.rows_per_table == expected
    engine = database_connect(target)
    try:
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names()) | {
            f"{s}.{t}"
            for s in inspector.get_schema_names()
            if s != "public"
            for t in inspector.get_table_names(schema=s)
        }
    finally:
        engine.dispose()
    assert len(tables & {name.split(".", 1)[1] if name.startswith("dbo.") else name for name in expected}) == len(
        expected
    )


def test_a_file_whose_data_breaks_half_way_is_refused_naming_the_table(tmp_path) -> None:
    source = bookkeeping_database(sqlite_location(tmp_path, "source"), lines=200)
    good = tmp_path / "good.bacpac"
    native.export(location=source, target=good, database_name="x")
    broken = tmp_path / "broken.bacpac"
    # Only model.xml is checksummed: cut a few bytes off one late table's data and the checksum still matches.
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if "relaties" in info.filename:
                data = data[:-3]
            zout.writestr(info, data)
    target = sqlite_location(tmp_path, "target")
    database_create(target)
    with pytest.raises(CorruptData) as failure:
        native.import_(source=broken, location=target)
    assert "relaties" in str(failure.value)
    assert failure.value.code == "corrupt_data"


def test_the_type_map_is_one_table_that_covers_the_common_types() -> None:
    mapped = {cls.__name__ for cls, _ in native.TYPE_MAP}
    assert {
        "Integer",
        "BigInteger",
        "Numeric",
        "String",
        "Text",
        "Boolean",
        "DateTime",
        "Date",
        "LargeBinary",
        "Uuid",
        "JSON",
    } <= mapped
