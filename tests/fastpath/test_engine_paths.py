"""The native engine's two paths on real databases: the columnar path must write the same BCP bytes and restore the
same rows as the row path, for the bookkeeping tables with edge values, every real sample, and any time zone."""

from __future__ import annotations

import contextlib
import math
import threading
import uuid
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from administrations import bookkeeping
from administrations.databases import DatabaseLocation, database_connect, database_create
from backups.bacpac import (
    Column,
    CorruptData,
    Model,
    PrimaryKey,
    Table,
    UniqueConstraint,
    open_bacpac,
    write_bacpac,
)
from backups.engines import native
from backups.engines.base import EngineError
from tests.backups.helpers import bookkeeping_database, sample_files, table_checksums

MAX_STAMP = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _bcp(file: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(file) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("Data/")}


def _sqlite(tmp_path: Path, name: str) -> DatabaseLocation:
    return DatabaseLocation(engine="sqlite", name=str(tmp_path / f"{name}.sqlite3"))


@pytest.fixture
def make_location(tmp_path: Path, request: pytest.FixtureRequest):
    def make(kind: str, name: str) -> DatabaseLocation:
        if kind == "sqlite":
            return _sqlite(tmp_path, name)
        return request.getfixturevalue("new_postgres_location")()

    return make


def _edge_rows(location: DatabaseLocation) -> None:
    """Rows at the edges of every bookkeeping type: NULLs, empty and non-BMP text, 200 CJK characters, 100,000
    characters, extreme amounts and ids, dates in years 1 and 9999, a timestamptz at the last microsecond of 9999."""
    b = bookkeeping
    engine = database_connect(location)
    try:
        with engine.begin() as conn:
            conn.execute(
                b.relaties.insert(),
                [
                    dict(
                        id=900001,
                        code=-(2**31),
                        naam="😀 Ünïcødé 漢字",
                        plaats="",
                        email=None,
                        iban=None,
                        is_klant=True,
                        is_leverancier=False,
                        aangemaakt_op=datetime(1, 1, 1),
                    ),
                    dict(
                        id=900002,
                        code=2**31 - 1,
                        naam="漢" * 200,
                        plaats="x" * 100,
                        email="a@b.nl",
                        iban="NL",
                        is_klant=False,
                        is_leverancier=True,
                        aangemaakt_op=datetime(9999, 12, 31, 23, 59, 59, 999999),
                    ),
                ],
            )
            conn.execute(
                b.journaalposten.insert(),
                [
                    dict(
                        id=900001,
                        boekstuk="B",
                        datum=date(1, 1, 1),
                        dagboek="MEM",
                        omschrijving="",
                        relatie_id=None,
                        geboekt_op=datetime(1, 1, 1, tzinfo=UTC),
                    ),
                    dict(
                        id=900002,
                        boekstuk="B",
                        datum=date(9999, 12, 31),
                        dagboek="MEM",
                        omschrijving="😀" * 50,
                        relatie_id=900001,
                        geboekt_op=MAX_STAMP,
                    ),
                ],
            )
            conn.execute(
                b.journaalregels.insert(),
                [
                    dict(
                        id=2**31 - 3,
                        journaalpost_id=900001,
                        grootboekrekening_id=1,
                        omschrijving="",
                        debet=Decimal("999999999999.99"),
                        credit=Decimal("-999999999999.99"),
                        btw_code_id=None,
                    ),
                    dict(
                        id=2**31 - 2,
                        journaalpost_id=900002,
                        grootboekrekening_id=1,
                        omschrijving="é" * 200,
                        debet=Decimal("0.00"),
                        credit=Decimal("-0.01"),
                        btw_code_id=1,
                    ),
                ],
            )
            conn.execute(
                b.bankmutaties.insert(),
                [
                    dict(
                        id=900001,
                        iban="NL00",
                        datum=date(2024, 2, 29),
                        bedrag=Decimal("-0.05"),
                        tegenrekening=None,
                        omschrijving="𝄞" * 3000 + "x" * 100_000,
                        transactie_id=uuid.UUID(int=0),
                        geboekt=True,
                    ),
                    dict(
                        id=900002,
                        iban="NL00",
                        datum=date(1, 1, 1),
                        bedrag=Decimal("12.30"),
                        tegenrekening="",
                        omschrijving="",
                        transactie_id=uuid.UUID(int=2**128 - 1),
                        geboekt=False,
                    ),
                ],
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_columnar_export_writes_the_row_paths_bcp_byte_for_byte(make_location, tmp_path, kind) -> None:
    source = bookkeeping_database(make_location(kind, "source"), lines=3000)
    _edge_rows(source)
    fast, row = tmp_path / "fast.bacpac", tmp_path / "row.bacpac"

    fast_result = native.export(location=source, target=fast, database_name="x")
    row_result = native.export(location=source, target=row, database_name="x", columnar=False)

    assert set(fast_result.paths.values()) == {native.COLUMNAR_PATH}
    assert set(row_result.paths.values()) == {native.ROW_PATH}
    fast_bcp, row_bcp = _bcp(fast), _bcp(row)
    assert fast_bcp.keys() == row_bcp.keys() and len(fast_bcp) == 8
    for name in row_bcp:
        assert fast_bcp[name] == row_bcp[name], name
    # Standard ZIP deflate, and about the size of the row path's file.
    with zipfile.ZipFile(fast) as z:
        assert {i.compress_type for i in z.infolist() if i.filename.startswith("Data/")} == {zipfile.ZIP_DEFLATED}
    assert fast.stat().st_size <= row.stat().st_size * 1.10


def test_sqlite_decimals_stored_as_floats_export_as_the_row_path_rounds_them(tmp_path) -> None:
    """SQLite keeps NUMERIC values as floats; the row path writes the text '%.2f' makes of each, the columnar path
    rounds the float times 100 itself and formats only the values next to a half. Halves, values one unit in the
    last place beside them, negative zero, tiny negatives and floats too large for that shortcut give the row
    path's bytes."""
    import sqlite3

    location = _sqlite(tmp_path, "bedragen")
    halves = [0.125, 0.005, 1.005, 2.675, -2.675, 1.115, 123456.785, 0.5, 1.5, 2.5, -0.5, 0.045]
    beside = [math.nextafter(v, direction) for v in halves for direction in (-math.inf, math.inf)]
    values = [*halves, *beside, -0.0, 0.0, -0.001, 0.001, 12, -3, None]
    values += [i / 8 for i in range(-4000, 4000)] + [i / 1000 for i in range(-3000, 3000, 7)]
    values += [5e13 + 0.125, -7e13 - 0.375, 10**15]  # a later batch, written as texts (the product passes 2**52)
    with contextlib.closing(sqlite3.connect(location.name)) as raw, raw:
        raw.execute("CREATE TABLE bedragen (id INTEGER PRIMARY KEY, bedrag NUMERIC(18, 2), klein NUMERIC(10, 4))")
        raw.executemany(
            "INSERT INTO bedragen (bedrag, klein) VALUES (?, ?)",
            [(v, None if v is None or abs(v) >= 1e5 else v / 10) for v in values],
        )
    fast, row = tmp_path / "fast.bacpac", tmp_path / "row.bacpac"

    assert native.export(location=location, target=fast, database_name="x").paths == {
        "dbo.bedragen": native.COLUMNAR_PATH
    }
    native.export(location=location, target=row, database_name="x", columnar=False)

    assert _bcp(fast) == _bcp(row)


@pytest.mark.parametrize(("source_kind", "target_kind"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_both_import_paths_restore_the_same_rows(make_location, tmp_path, source_kind, target_kind) -> None:
    source = bookkeeping_database(make_location(source_kind, "source"), lines=2000)
    _edge_rows(source)
    file = tmp_path / "adm.bacpac"
    native.export(location=source, target=file, database_name="x")
    fast, row = make_location(target_kind, "fast"), make_location(target_kind, "row")
    database_create(fast)
    database_create(row)

    fast_result = native.import_(source=file, location=fast)
    row_result = native.import_(source=file, location=row, columnar=False)

    assert set(fast_result.paths.values()) == {native.COLUMNAR_PATH}
    assert fast_result.rows_per_table == row_result.rows_per_table
    assert table_checksums(fast) == table_checksums(row) == table_checksums(source)


def _rows_md5(location: DatabaseLocation) -> dict[str, tuple[int, str]]:
    """Per table: rows and an md5 over all rows as the database itself writes them (PostgreSQL keeps times of
    24:00:00 that Python cannot read)."""
    if location.engine == "sqlite":
        return table_checksums(location)
    engine = database_connect(location)
    try:
        with engine.connect() as conn:
            names = conn.exec_driver_sql(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).scalars()
            return {
                name: tuple(  # type: ignore[misc]
                    conn.exec_driver_sql(
                        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t"  # noqa: S608
                    ).one()
                )
                for name in sorted(names)
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("sample", sample_files(), ids=lambda p: p.stem)
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_sample_restores_the_same_rows_through_both_paths_and_exports_the_same_bcp(
    make_location, tmp_path, sample: Path, kind: str
) -> None:
    fast, row = make_location(kind, "fast"), make_location(kind, "row")
    database_create(fast)
    database_create(row)

    fast_result = native.import_(source=sample, location=fast)
    native.import_(source=sample, location=row, columnar=False)

    assert native.COLUMNAR_PATH in fast_result.paths.values()
    assert _rows_md5(fast) == _rows_md5(row)
    # And back out: the restored database exported through both paths gives the same BCP, or fails on both
    # (a time of 23:59:59.9999999 is 24:00:00 in PostgreSQL; an 18-digit decimal is a float in SQLite).
    outcomes: list[object] = []
    for columnar in (True, False):
        file = tmp_path / f"{columnar}.bacpac"
        try:
            result = native.export(location=row, target=file, database_name="x", columnar=columnar)
        except (ValueError, EngineError):
            outcomes.append("refused")
        else:
            outcomes.append(_bcp(file))
            assert columnar is False or native.COLUMNAR_PATH in result.paths.values()
    assert outcomes[0] == outcomes[1]


@pytest.mark.postgres
@pytest.mark.parametrize("columnar", [True, False], ids=["columnar", "rows"])
def test_timestamptz_exports_in_utc_whatever_the_time_zone_and_9999_does_not_fail(
    new_postgres_location, tmp_path, monkeypatch, columnar: bool
) -> None:
    """Under PGTZ=Asia/Kathmandu (+05:45) the row path used to write the +05:45 offset, and failed on
    9999-12-31 23:59:59.999999+00 (year 10000 in that zone)."""
    monkeypatch.setenv("PGTZ", "Asia/Kathmandu")
    source = new_postgres_location()
    database_create(source)
    engine = database_connect(source)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER DATABASE {source.name} SET timezone = 'America/St_Johns'")
            conn.exec_driver_sql("CREATE TABLE stamps (id integer PRIMARY KEY, t timestamptz)")
            conn.exec_driver_sql(
                "INSERT INTO stamps VALUES (1, '9999-12-31 23:59:59.999999+00'), (2, '2024-06-01 12:00:00+02'),"
                " (3, '0001-01-01 00:00:00+00'), (4, NULL)"
            )
    finally:
        engine.dispose()
    file = tmp_path / "tz.bacpac"

    result = native.export(location=source, target=file, database_name="tz", columnar=columnar)

    assert set(result.paths.values()) == {native.COLUMNAR_PATH if columnar else native.ROW_PATH}
    with open_bacpac(file) as bacpac:
        rows = dict(bacpac.rows("dbo.stamps"))
    assert rows[1] == MAX_STAMP and rows[1].utcoffset().total_seconds() == 0
    assert rows[2] == datetime(2024, 6, 1, 10, tzinfo=UTC) and rows[2].utcoffset().total_seconds() == 0
    assert rows[3] == datetime(1, 1, 1, tzinfo=UTC) and rows[4] is None


@pytest.mark.postgres
def test_a_table_with_a_type_the_codec_does_not_cover_takes_the_row_path_and_the_log_says_so(
    new_postgres_location, tmp_path
) -> None:
    source = new_postgres_location()
    database_create(source)
    engine = database_connect(source)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE plain (id integer PRIMARY KEY, naam varchar(20))")
            conn.exec_driver_sql("CREATE TABLE odd (id integer PRIMARY KEY, duur interval, data jsonb)")
            conn.exec_driver_sql("INSERT INTO plain VALUES (1, 'a'), (2, NULL)")
            conn.exec_driver_sql("""INSERT INTO odd VALUES (1, '1 day 02:00', '{"a": [1, 2]}')""")
    finally:
        engine.dispose()
    lines: list[str] = []

    class Reporter:
        def __call__(self, percent: int, phase: str) -> None:
            pass

        def log(self, text: str) -> None:
            lines.append(text)

    result = native.export(location=source, target=tmp_path / "x.bacpac", database_name="x", progress=Reporter())

    assert result.paths == {"dbo.odd": native.ROW_PATH, "dbo.plain": native.COLUMNAR_PATH}
    assert any(line.startswith("export dbo.odd: rijenpad (column duur has type INTERVAL") for line in lines)
    assert "export dbo.plain: kolommenpad" in lines
    with open_bacpac(tmp_path / "x.bacpac") as bacpac:
        assert list(bacpac.rows("dbo.odd")) == [(1, "1 day, 2:00:00", '{"a": [1, 2]}')]


class Cancelled(Exception):
    pass


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_progress_comes_per_batch_and_a_cancel_from_it_stops_export_and_import(make_location, tmp_path, kind) -> None:
    source = bookkeeping_database(make_location(kind, "source"), lines=60_000)
    file = tmp_path / "adm.bacpac"
    calls: list[tuple[int, str]] = []
    native.export(location=source, target=file, database_name="x", progress=lambda p, s: calls.append((p, s)))
    lines_phase = [p for p, s in calls if s == "Tabel journaalregels opslaan"]
    assert len(set(lines_phase)) > 3  # the percentage moves within the big table, batch by batch

    def cancel_in(phase: str):
        def progress(percent: int, text: str) -> None:
            if text == phase and percent > 40:
                raise Cancelled

        return progress

    threads = threading.active_count()
    with pytest.raises(Cancelled):
        native.export(
            location=source,
            target=tmp_path / "cut.bacpac",
            database_name="x",
            progress=cancel_in("Tabel journaalregels opslaan"),
        )
    assert threading.active_count() == threads  # the deflate thread is gone
    with zipfile.ZipFile(tmp_path / "cut.bacpac") as z:
        assert "Origin.xml" not in z.namelist()  # never passes for a back-up

    target = make_location(kind, "target")
    database_create(target)
    with pytest.raises(Cancelled):
        native.import_(source=file, location=target, progress=cancel_in("Tabel journaalregels terugzetten"))
    # The keys of the tables loaded before it were being built beside the load: that thread is gone too, and
    # nothing is still connected to the half-made database (so it can be dropped).
    assert threading.active_count() == threads
    if kind == "postgresql":
        assert sessions_on(target) == 0


@pytest.mark.postgres
@pytest.mark.parametrize("columnar", [True, False], ids=["columnar", "rows"])
def test_a_database_failure_on_either_import_path_keeps_the_dutch_message(
    new_postgres_location, tmp_path, columnar: bool
) -> None:
    table = Table(
        schema="dbo",
        name="namen",
        columns=[Column("id", "int", nullable=False), Column("naam", "nvarchar", length=10, nullable=False)],
    )
    file = tmp_path / "bad.bacpac"
    # The writer encodes a NULL text even where model.xml says NOT NULL; PostgreSQL refuses it during the load.
    write_bacpac(
        file,
        database_name="x",
        model=Model(tables=[table]),
        data={"dbo.namen": [(1, "a"), (2, None)]},
        server_version="test",
    )
    target = new_postgres_location()
    database_create(target)

    with pytest.raises(EngineError) as failure:
        native.import_(source=file, location=target, columnar=columnar)

    assert failure.value.user_message.startswith("De back-up kon niet in de nieuwe administratie worden gezet")
    assert "naam" in failure.value.detail


def sessions_on(location: DatabaseLocation) -> int:
    """Connections to the database at ``location``, other than the one asking."""
    engine = database_connect(location)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": location.name},
            ).scalar_one()
    finally:
        engine.dispose()


def schema_of(location: DatabaseLocation) -> dict[str, Any]:
    """Per table: its primary key, unique constraints, indexes and foreign keys as the server reports them."""
    engine = database_connect(location)
    try:
        inspector = sa.inspect(engine)
        return {
            name: {
                "pk": inspector.get_pk_constraint(name)["constrained_columns"],
                "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(name)
                ),
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                    for f in inspector.get_foreign_keys(name)
                ),
            }
            for name in inspector.get_table_names()
        }
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_keys_built_beside_the_load_give_the_same_schema_as_the_row_path(new_postgres_location, tmp_path) -> None:
    """On PostgreSQL the columnar import builds a table's primary key and indexes on a second connection while
    the next table loads; the result is the schema the row path makes after all the data."""
    source = bookkeeping_database(_sqlite(tmp_path, "bron"), lines=3000)
    file = tmp_path / "adm.bacpac"
    native.export(location=source, target=file, database_name="x")
    schemas = []
    for columnar in (True, False):
        target = new_postgres_location()
        database_create(target)
        result = native.import_(source=file, location=target, columnar=columnar)
        assert set(result.paths.values()) == {native.COLUMNAR_PATH if columnar else native.ROW_PATH}
        schemas.append(schema_of(target))
    assert schemas[0] == schemas[1]
    assert schemas[0]["journaalregels"]["pk"] == ["id"]
    assert schemas[0]["journaalregels"]["fks"]
    assert any(cols == ("datum",) for _, cols, _ in schemas[0]["journaalposten"]["indexes"])


@pytest.mark.postgres
def test_a_key_that_fails_beside_the_load_fails_the_import_with_the_dutch_message(
    new_postgres_location, tmp_path
) -> None:
    """A unique constraint the data breaks fails while the next table loads; the import fails with the engine's
    message naming it, and leaves no thread or connection behind (so the half-made database can be dropped)."""
    codes = Table(
        schema="dbo",
        name="codes",
        columns=[Column("id", "int", nullable=False), Column("code", "nvarchar", length=10, nullable=False)],
        primary_key=PrimaryKey(name=None, columns=["id"]),
        unique_constraints=[UniqueConstraint(name="uq_codes_code", columns=["code"])],
    )
    other = Table(schema="dbo", name="rest", columns=[Column("id", "int", nullable=False)])
    file = tmp_path / "dubbel.bacpac"
    rows: dict[str, list[tuple[Any, ...]]] = {
        "dbo.codes": [(1, "A"), (2, "A")],
        "dbo.rest": [(i,) for i in range(50_000)],
    }
    write_bacpac(
        file,
        database_name="x",
        model=Model(tables=[codes, other]),
        data=rows,
        server_version="test",
    )
    target = new_postgres_location()
    database_create(target)
    threads = threading.active_count()

    with pytest.raises(EngineError) as failure:
        native.import_(source=file, location=target)

    assert failure.value.user_message.startswith("De back-up kon niet in de nieuwe administratie worden gezet")
    assert "uq_codes_code" in failure.value.detail
    assert threading.active_count() == threads
    assert sessions_on(target) == 0


@pytest.mark.parametrize("columnar", [True, False], ids=["columnar", "rows"])
def test_a_damaged_deflate_stream_is_refused_alike_on_both_import_paths(tmp_path, columnar: bool) -> None:
    """The columnar path inflates with ISA-L, the row path with zlib: a part whose compressed bytes are damaged
    is refused by both as corrupt data, never loaded as something else."""
    source = bookkeeping_database(_sqlite(tmp_path, "bron"), lines=2000)
    good = tmp_path / "goed.bacpac"
    native.export(location=source, target=good, database_name="x")
    damaged = tmp_path / "beschadigd.bacpac"
    with zipfile.ZipFile(good) as z:
        member = z.getinfo("Data/dbo.journaalregels/TableData-000-00000.BCP")
        assert member.compress_type == zipfile.ZIP_DEFLATED
        start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    raw = bytearray(good.read_bytes())
    middle = start + member.compress_size // 2
    raw[middle : middle + 64] = bytes(64)
    damaged.write_bytes(bytes(raw))
    target = _sqlite(tmp_path, "doel")
    database_create(target)

    with pytest.raises(CorruptData):
        native.import_(source=damaged, location=target, columnar=columnar)


def _sqlite_table(location: DatabaseLocation, ddl: str, rows: list[tuple[Any, ...]]) -> None:
    import sqlite3

    with contextlib.closing(sqlite3.connect(location.name)) as raw, raw:
        raw.execute(ddl)
        marks = ", ".join("?" for _ in rows[0])
        raw.executemany(f"INSERT INTO t VALUES ({marks})", rows)  # noqa: S608 - a test's own table


_MIXED = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, tekst VARCHAR(20), bedrag NUMERIC(10, 2), getal REAL, dag DATE,"
    " moment DATETIME, inhoud BLOB, aantal INTEGER, leeg VARCHAR(5))"
)


def test_sqlite_columns_that_start_with_nulls_or_change_kind_export_as_the_row_path(tmp_path) -> None:
    """ADBC types a column by its first batch: nullable columns that start with thousands of NULLs, a NUMERIC
    column with integers first and reals later, dates written another way in a later batch, text beyond ASCII
    and a column of NULLs only still give the row path's bytes."""
    location = _sqlite(tmp_path, "gemengd")
    rows: list[tuple[Any, ...]] = [(i, None, i, None, None, None, None, None, None) for i in range(1, 3001)]
    rows += [
        (i, f"régel {i} 😀", i + 0.25, i / 3, "2024-02-29", "2024-03-01 12:34:56.123456", bytes([i % 256]) * 3, i, None)
        for i in range(3001, 6001)
    ]
    rows += [(6001, "", 7, -0.0, "2024-03-01", "2024-03-01 12:34:56", b"", -(2**31), None)]  # SQLAlchemy's short form
    _sqlite_table(location, _MIXED, rows)
    fast, row = tmp_path / "fast.bacpac", tmp_path / "row.bacpac"

    assert native.export(location=location, target=fast, database_name="x").paths == {"dbo.t": native.COLUMNAR_PATH}
    native.export(location=location, target=row, database_name="x", columnar=False)

    assert _bcp(fast) == _bcp(row)
    with open_bacpac(fast) as bacpac:
        restored = list(bacpac.rows("dbo.t"))
    assert len(restored) == 6001 and restored[0][1:] == (None, Decimal("1.00"), None, None, None, None, None, None)
    assert restored[-1][2] == Decimal("7.00") and restored[-1][5] == datetime(2024, 3, 1, 12, 34, 56)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("bedrag", "twaalf"),  # text in a NUMERIC column: a cast would make 0.00 of it
        ("getal", b"\x01"),
        ("tekst", b"\xff\xfe"),  # a blob in a text column: ADBC would read its bytes as text
        ("inhoud", "tekst"),
        ("aantal", "veel"),
        ("aantal", 2.5),
    ],
)
def test_a_value_sqlite_holds_as_another_kind_fails_the_export_as_on_the_row_path(tmp_path, column, value) -> None:
    """Hostile data after thousands of good rows: the columnar export fails as the row path does, it never writes
    something else than the value."""
    location = _sqlite(tmp_path, "vijandig")
    good = (None, "a", 1.5, 2.5, "2024-01-01", "2024-01-01 00:00:00.000000", b"x", 1, None)
    names = ["tekst", "bedrag", "getal", "dag", "moment", "inhoud", "aantal", "leeg"]
    bad = list(good[1:])
    bad[names.index(column)] = value
    _sqlite_table(location, _MIXED, [(i, *good[1:]) for i in range(1, 4001)] + [(4001, *bad)])

    for columnar in (True, False):
        with pytest.raises(ValueError, match=column if columnar else "row"):
            native.export(
                location=location, target=tmp_path / f"{columnar}.bacpac", database_name="x", columnar=columnar
            )


@pytest.mark.parametrize("failing", ["open", "query"])
def test_a_sqlite_file_adbc_cannot_read_is_exported_by_the_sqlite3_cursor(tmp_path, monkeypatch, failing) -> None:
    """When ADBC's driver cannot open the file or run the query (before any row is read), the export's own
    connection reads the tables: the same bytes, still on the columnar path."""
    from backups.engines import fastpath

    location = bookkeeping_database(_sqlite(tmp_path, "bron"), lines=500)
    row = tmp_path / "row.bacpac"
    native.export(location=location, target=row, database_name="x", columnar=False)

    real_connect = fastpath.sqlite_adbc_connect
    if failing == "open":  # the driver's own refusal: read-only, of a file that is not there
        monkeypatch.setattr(fastpath, "sqlite_adbc_connect", lambda path: real_connect(str(tmp_path / "weg.sqlite3")))
    else:
        monkeypatch.setattr(fastpath.SqliteRead, "query", lambda self, target, quote: "SELECT * FROM ontbreekt")
    fast = tmp_path / "fast.bacpac"
    result = native.export(location=location, target=fast, database_name="x")

    assert set(result.paths.values()) == {native.COLUMNAR_PATH}
    assert _bcp(fast) == _bcp(row)
