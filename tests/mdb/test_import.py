"""R14 Toevoegen → Bestaande administratie: the real Access samples become administrations on SQLite and on
PostgreSQL with every table, row and value, and can then be backed up and restored like any other."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from administrations.databases import database_connect
from administrations.models import Administration, Location
from administrations.services import Target
from backups.engines.mdbtools import mdb_inspect
from backups.models import Backup, Job
from backups.restores import mdb_import_start, mdb_staging_folder, restore_start
from backups.services import backup_create
from tests.backups.helpers import table_checksums
from tests.mdb.helpers import DATES, NWIND, expected_counts, require_mdbtools, rows_of, stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mdbtools() -> None:
    require_mdbtools()


def imported(cast, run_on_commit, sample: Path, name: str, target: Target | None = None) -> Administration:
    job = run_on_commit(
        mdb_import_start,
        account=cast.account,
        user=cast.owner,
        staged=stage(sample),
        file_name=sample.name,
        name=name,
        target=target or Target(Location.ONLINE),
        cost_confirmed=True,
    )
    assert job.status == Job.Status.SUCCEEDED, job.log
    assert job.kind == Job.Kind.IMPORT_MDB and job.progress == 100 and job.secret is None
    assert list(mdb_staging_folder().iterdir()) == []  # the uploaded file is not kept
    administration = job.result_administration
    assert administration is not None and administration.name == name
    return administration


def row_counts(administration: Administration) -> dict[str, int]:
    engine = database_connect(administration.database_location())
    try:
        with engine.connect() as conn:
            return {
                name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                for name in sa.inspect(engine).get_table_names()
            }
    finally:
        engine.dispose()


def check_nwind(administration: Administration) -> None:
    assert row_counts(administration) == expected_counts(NWIND)
    engine = database_connect(administration.database_location())
    try:
        orders = {row[0]: row for row in rows_of(engine, "Orders")}
        umsaetze = rows_of(engine, "Umsätze")
        details = rows_of(engine, "Order Details")
        customers = {row[0]: row for row in rows_of(engine, "Customers")}
    finally:
        engine.dispose()
    # mdb-export: 10330,"LILAS",3,"11/16/94 00:00:00",…,12.7500,…,"Carrera 52 con Ave. Bolívar #65-98 Llano Largo",…
    lilas = orders[10330]
    assert lilas[1] == "LILAS" and lilas[3] == dt.datetime(1994, 11, 16)
    assert lilas[7] == Decimal("12.7500") and lilas[9] == "Carrera 52 con Ave. Bolívar #65-98 Llano Largo"
    assert orders[10331][11] is None  # ShipRegion is NULL for Bon app' in Marseille
    assert customers["BONAP"][1] == "Bon app'"
    assert len(umsaetze) == 830 and any(r[9] == lilas[9] for r in umsaetze)
    assert (10248, 11, Decimal("14.0000"), 12, 0.0) in details


def check_dates(administration: Administration) -> None:
    assert row_counts(administration) == expected_counts(DATES)
    engine = database_connect(administration.database_location())
    try:
        rows = {row[0]: row for row in rows_of(engine, "DateTest")}
    finally:
        engine.dispose()
    assert rows[1][1:] == (
        dt.datetime(2021, 12, 2),
        dt.datetime(2021, 12, 2),
        dt.datetime(2021, 12, 2),
        "Hello",
        "Hello",
    )
    assert rows[6][4] == "New line\r\nin field"
    assert rows[5][4] == "Escaped new line \\r\\n in field"
    # mdbtools 1.0 cannot read dates before 1900 or in year 9999 (it prints "1900-01-00"): left empty, not invented.
    assert rows[2][1] is None and rows[2][4] == "Year 9999"


def test_r14_nwind_becomes_a_new_online_administration_on_sqlite(cast, run_on_commit) -> None:
    administration = imported(cast, run_on_commit, NWIND, "Northwind (uit .mdb)")
    assert administration.location == Location.ONLINE and administration.engine == "sqlite"
    check_nwind(administration)
    assert Administration.objects.visible_to(cast.owner).filter(pk=administration.pk).exists()


def test_r14_the_date_sample_becomes_an_administration_with_its_dates_and_says_what_it_could_not_read(
    cast, run_on_commit
) -> None:
    administration = imported(cast, run_on_commit, DATES, "Datums")
    check_dates(administration)
    job = Job.objects.get(kind=Job.Kind.IMPORT_MDB)
    assert "datums van vóór 1900" in job.phase and "DateTest: 6" in job.log


def test_r14_both_samples_on_postgresql(cast, run_on_commit, postgres_online) -> None:
    nwind = imported(cast, run_on_commit, NWIND, "Northwind PG")
    dates = imported(cast, run_on_commit, DATES, "Datums PG")
    assert nwind.engine == dates.engine == "postgresql"
    check_nwind(nwind)
    check_dates(dates)


def test_r14_a_local_target_puts_the_administration_file_inside_the_root(cast, run_on_commit, settings) -> None:
    administration = imported(
        cast, run_on_commit, NWIND, "Northwind lokaal", Target(Location.LOCAL, local_path="oud/northwind")
    )
    assert administration.location == Location.LOCAL
    assert (Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "oud" / "northwind.sqlite3").exists()
    check_nwind(administration)


def test_r14_a_network_target_on_a_registered_postgresql_server(
    cast, run_on_commit, postgres_server, postgres_database_name
) -> None:
    cast.server.host, cast.server.port = postgres_server.host, postgres_server.port
    cast.server.save()
    target = Target(
        Location.NETWORK,
        server=cast.server,
        database_name=postgres_database_name,
        login_method="sql",
        login_user=postgres_server.username or "postgres",
        password="niet-nodig-maar-versleuteld",
    )
    administration = imported(cast, run_on_commit, DATES, "Datums netwerk", target)
    assert administration.location == Location.NETWORK and administration.database_name == postgres_database_name
    job = Job.objects.get(kind=Job.Kind.IMPORT_MDB)
    assert "niet-nodig" not in str(job.params) and job.secret is None


@pytest.mark.parametrize("sample", [NWIND, DATES], ids=["nwind", "dates"])
def test_an_imported_administration_backs_up_to_bacpac_and_restores_with_identical_rows(
    cast, run_on_commit, sample: Path
) -> None:
    administration = imported(cast, run_on_commit, sample, f"{sample.stem} origineel")
    made = run_on_commit(backup_create, administration=administration, user=cast.owner)
    assert made.status == Job.Status.SUCCEEDED, made.log
    backup = Backup.objects.get(pk=made.backup_id)
    assert {t["name"] for t in backup.summary["tables"]} == set(expected_counts(sample))

    job = run_on_commit(
        restore_start,
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name=f"{sample.stem} teruggezet",
        target=Target(Location.ONLINE),
        cost_confirmed=True,
    )

    assert job.status == Job.Status.SUCCEEDED, job.log
    restored = job.result_administration
    assert table_checksums(restored.database_location()) == table_checksums(administration.database_location())
    assert row_counts(restored) == expected_counts(sample)


def test_inspect_names_every_table_with_its_access_types() -> None:
    info = mdb_inspect(NWIND)
    assert info.version == "JET3" and [t.name for t in info.tables][-1] == "Umsätze"
    products = {c.name: c for c in next(t for t in info.tables if t.name == "Products").columns}
    assert products["UnitPrice"].access_type == "Currency" and products["Discontinued"].access_type == "Boolean"
    assert products["ProductName"].size == (40,) and not products["ProductName"].nullable
    assert isinstance(products["UnitPrice"].sa_type(), sa.Numeric)
    categories = {c.name: c for c in next(t for t in info.tables if t.name == "Categories").columns}
    assert isinstance(categories["Picture"].sa_type(), sa.LargeBinary)
    assert isinstance(categories["Description"].sa_type(), sa.Text)
