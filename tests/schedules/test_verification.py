"""Proof by test-restore: a back-up is restored into a scratch database nobody sees, every table's row count and
checksum are compared with what the engine recorded while writing it, and the scratch database is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from django.utils import translation

from administrations.databases import database_connect
from administrations.models import Administration
from backups import storage
from backups.models import Backup, Job
from backups.services import backup_create
from backups.verification import verification_start
from tests.conftest import RUN_DATABASE_PREFIX, _administration_databases

pytestmark = pytest.mark.django_db


def stored_path(settings, backup: Backup) -> Path:
    return Path(settings.STORAGES["backups"]["OPTIONS"]["location"]) / backup.file_name


def make_backup(run_on_commit, cast, administration, origin: str = Backup.Origin.SCHEDULED) -> Backup:
    """An automatic back-up by default: it takes the row path, which records the checksums a test-restore proves
    against (other back-ups take the columnar path and are proved on row counts)."""
    job = run_on_commit(backup_create, administration=administration, user=cast.owner, origin=origin)
    assert job.status == Job.Status.SUCCEEDED, job.user_message
    return Backup.objects.get(pk=job.backup_id)


def scratch_files(settings) -> list[Path]:
    folder = Path(settings.DATA_DIR) / "verify"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_the_engine_records_every_tables_row_count_and_checksum(cast, online, run_on_commit) -> None:
    backup = make_backup(run_on_commit, cast, online)
    counts = {name: check["rows"] for name, check in backup.table_checks.items()}
    assert counts["dbo.journaalregels"] == 200
    assert counts == {f"dbo.{t['name']}": t["rows"] for t in backup.summary["tables"]}
    assert all(len(check["checksum"]) == 32 for check in backup.table_checks.values())


def test_a_hand_made_back_up_on_the_columnar_path_is_verified_on_row_counts(cast, online, run_on_commit) -> None:
    backup = make_backup(run_on_commit, cast, online, origin=Backup.Origin.MANUAL)
    assert backup.table_checks == {}
    job = run_on_commit(verification_start, backup=backup, user=cast.owner)
    backup.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.user_message
    assert backup.verification == Backup.Verification.VERIFIED
    assert backup.verification_report["checksums"] is False and backup.verification_report["differences"] == []


def test_a_good_back_up_is_verified_on_sqlite_and_nothing_is_left(cast, online, run_on_commit, settings) -> None:
    backup = make_backup(run_on_commit, cast, online)
    administrations_before = Administration.objects.count()

    job = run_on_commit(verification_start, backup=backup, user=cast.owner)

    backup.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.user_message
    assert backup.verification == Backup.Verification.VERIFIED and backup.verified_at is not None
    assert backup.verification_report["differences"] == []
    assert backup.verification_report["checksums"] is True
    assert Administration.objects.count() == administrations_before
    assert scratch_files(settings) == []


def test_a_byte_changed_in_storage_is_reported_as_failed(cast, online, run_on_commit, settings) -> None:
    backup = make_backup(run_on_commit, cast, online)
    path = stored_path(settings, backup)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    job = run_on_commit(verification_start, backup=backup, user=cast.owner)

    backup.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "beschadigd" in job.user_message
    assert backup.verification == Backup.Verification.FAILED
    assert "beschadigd" in backup.verification_differences[0]
    assert scratch_files(settings) == []


def test_a_file_whose_rows_differ_from_what_was_recorded_is_reported_per_table(
    cast, online, run_on_commit, settings
) -> None:
    """The stored file is intact (its SHA-256 matches) but holds other rows than the engine wrote at the time:
    e.g. a later back-up's file under this back-up's record. Only the restore and comparison can tell."""
    first = make_backup(run_on_commit, cast, online)
    engine = database_connect(online.database_location())
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE journaalregels SET omschrijving = 'gewijzigd' WHERE id = 1"))
        conn.execute(sa.text("DELETE FROM bankmutaties WHERE id = (SELECT MIN(id) FROM bankmutaties)"))
    engine.dispose()
    second = make_backup(run_on_commit, cast, online)
    Backup.objects.filter(pk=first.pk).update(file_name=second.file_name, size=second.size, sha256=second.sha256)
    first.refresh_from_db()

    job = run_on_commit(verification_start, backup=first, user=cast.owner)

    first.refresh_from_db()
    assert job.status == Job.Status.FAILED
    differences = first.verification_differences
    assert any("dbo.journaalregels" in d and "inhoud verschilt" in d for d in differences), differences
    assert any("dbo.bankmutaties" in d and "rijen verwacht" in d for d in differences), differences
    assert not any("dbo.artikelen" in d for d in differences)
    assert first.verification == Backup.Verification.FAILED
    # Kept as source text and parameters: an English reader reads it in English.
    with translation.override("en"):
        english = first.verification_differences
    assert any("dbo.bankmutaties" in d and "rows expected" in d for d in english), english
    assert scratch_files(settings) == []


@pytest.mark.postgres
def test_a_good_back_up_is_verified_on_postgresql_and_the_scratch_database_dropped(
    cast, postgres_online, run_on_commit
) -> None:
    from administrations import bookkeeping
    from administrations.models import Location
    from administrations.services import Target, administration_create

    administration = administration_create(
        account=cast.account,
        name="Bakkerij PostgreSQL",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=200),
    )
    backup = make_backup(run_on_commit, cast, administration)

    job = run_on_commit(verification_start, backup=backup, user=cast.owner)

    backup.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.user_message
    assert backup.verification == Backup.Verification.VERIFIED
    # The scratch database was made on the server, under this test run's prefix, and is gone again.
    assert job.params["scratch_created"] is True
    assert job.params["scratch"].startswith(RUN_DATABASE_PREFIX)
    assert job.params["scratch"] not in _administration_databases(postgres_online)
    assert Administration.objects.filter(account=cast.account).count() == 2  # cast's and this one


@pytest.mark.postgres
def test_a_byte_changed_in_storage_is_reported_as_failed_on_postgresql(
    cast, postgres_online, run_on_commit, settings
) -> None:
    from administrations import bookkeeping
    from administrations.models import Location
    from administrations.services import Target, administration_create

    administration = administration_create(
        account=cast.account,
        name="Bakkerij PostgreSQL",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=100),
    )
    backup = make_backup(run_on_commit, cast, administration)
    path = stored_path(settings, backup)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x40
    path.write_bytes(bytes(data))

    job = run_on_commit(verification_start, backup=backup, user=cast.owner)

    backup.refresh_from_db()
    assert job.status == Job.Status.FAILED and backup.verification == Backup.Verification.FAILED
    assert job.params["scratch"] not in _administration_databases(postgres_online)


def test_an_uploaded_sample_without_checksums_is_verified_by_row_counts(cast, run_on_commit) -> None:
    from backups.services import backup_upload
    from tests.backups.helpers import SAMPLES

    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup = backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")

    job = run_on_commit(verification_start, backup=backup, user=cast.owner)

    backup.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.user_message
    assert backup.verification == Backup.Verification.VERIFIED
    assert backup.verification_report["checksums"] is False
    assert storage.size_of(backup.file_name) == backup.size
