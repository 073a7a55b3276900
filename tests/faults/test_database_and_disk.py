"""The administration's PostgreSQL connection terminated (pg_terminate_backend) mid-export and mid-import, and the
disk (a real tmpfs the test mounts) filling up during an export and during an upload check."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from administrations import bookkeeping
from administrations.models import Administration, Location
from administrations.services import Target, administration_create
from backups.jobs import Reporter
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import backup_create, upload_staging_folder, upload_start
from tests.backups.helpers import table_checksums
from tests.conftest import require_service
from tests.faults.conftest import LARGE_LINES, NOTHING_LEFT, leftovers

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.slow]

CUT_MESSAGE = (
    "De verbinding met de database werd verbroken. Er is niets half opgeslagen en de oorspronkelijke "
    "administratie is niet gewijzigd; probeer het opnieuw."
)
DISK_FULL_MESSAGE = (
    "Er is geen schijfruimte meer om dit af te maken. Er is niets half opgeslagen; de klantenservice is "
    "gewaarschuwd. Probeer het later opnieuw."
)


DISK_BYTES = 1024 * 1024


class Terminator:
    """pg_terminate_backend()s the connections to `database` (only the test's own database, never anyone else's)
    once the job reports progress inside the table `phase` names for the second time: the job is then certainly
    half-way through that table's data, however fast the machine is, so nothing races a clock."""

    def __init__(self, server: sa.URL, database: str, *, phase: str, query_like: str = "%") -> None:
        self.engine = sa.create_engine(server, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
        self.database, self.phase, self.query_like = database, phase, query_like
        self.terminated: list[int] = []
        self._seen = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        report = Reporter.__call__

        def reporting(reporter: Reporter, percent: int, phase: str) -> None:
            report(reporter, percent, phase)
            if phase == self.phase and not self.terminated:
                self._seen += 1
                if self._seen >= 2:
                    self.cut()

        monkeypatch.setattr(Reporter, "__call__", reporting)

    def cut(self) -> None:
        find = sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid() AND query ILIKE :q"
        )
        with self.engine.connect() as conn:
            for pid in conn.execute(find, {"db": self.database, "q": self.query_like}).scalars():
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
                self.terminated.append(pid)
        self.engine.dispose()


def run_with_commit(django_capture_on_commit_callbacks, start) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        job = start()
    job.refresh_from_db()
    return job


@pytest.fixture
def pg_administration(cast, postgres_online) -> Administration:
    return administration_create(
        account=cast.account,
        name="Groot op PostgreSQL",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=LARGE_LINES),
    )


def test_the_export_connection_terminated_mid_export(
    cast, pg_administration, postgres_server, django_capture_on_commit_callbacks, settings, monkeypatch
) -> None:
    location = pg_administration.database_location()
    before = table_checksums(location)
    cutter = Terminator(postgres_server, location.name, phase="Tabel journaalregels opslaan")
    cutter.install(monkeypatch)

    job = run_with_commit(
        django_capture_on_commit_callbacks,
        lambda: backup_create(administration=pg_administration, user=cast.owner),
    )

    assert cutter.terminated, "the export's connection was terminated while it ran"
    assert job.status == Job.Status.FAILED
    assert job.user_message == CUT_MESSAGE
    assert Backup.objects.get(pk=job.backup_id).status == Backup.Status.FAILED
    assert not Backup.objects.ready().exists()
    assert leftovers(settings) == NOTHING_LEFT
    assert table_checksums(location) == before

    again = run_with_commit(
        django_capture_on_commit_callbacks,
        lambda: backup_create(administration=pg_administration, user=cast.owner),
    )
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert again.backup is not None and again.backup.is_ready


def test_the_target_connection_terminated_mid_import(
    cast, pg_administration, postgres_server, django_capture_on_commit_callbacks, settings, monkeypatch
) -> None:
    made = run_with_commit(
        django_capture_on_commit_callbacks,
        lambda: backup_create(administration=pg_administration, user=cast.owner),
    )
    backup = Backup.objects.get(pk=made.backup_id)
    assert backup.is_ready

    def restore() -> Job:
        return restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name="Teruggezet",
            target=Target(Location.ONLINE),
            cost_confirmed=True,
        )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = restore()
    target_name = job.params["database_name"]
    # Both paths load a table with COPY: the row path's text COPY, the columnar path's binary COPY per window.
    cutter = Terminator(postgres_server, target_name, phase="Tabel journaalregels terugzetten", query_like="%COPY%")
    cutter.install(monkeypatch)
    for callback in callbacks:
        callback()
    monkeypatch.undo()
    job.refresh_from_db()

    assert cutter.terminated, "the import's connection was terminated while it ran"
    assert job.status == Job.Status.FAILED
    assert job.user_message == CUT_MESSAGE
    assert not Administration.objects.filter(name="Teruggezet").exists()
    engine = sa.create_engine(postgres_server, poolclass=sa.NullPool)
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target_name}).first()
    engine.dispose()
    assert exists is None, "the half-made database is dropped"
    assert leftovers(settings) == NOTHING_LEFT

    again = run_with_commit(django_capture_on_commit_callbacks, restore)
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert Administration.objects.filter(name="Teruggezet").count() == 1


# ------------------------------------------------------------------------------------------------ disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MB tmpfs, mounted for the test and unmounted after it."""
    folder = tmp_path / "disk"
    folder.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if result.returncode != 0:
        require_service(False, f"mounting a tmpfs is not permitted here: {result.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def disk_settings(settings, disk: Path) -> None:
    settings.DATA_DIR = disk / "data"
    settings.DATA_DIR.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(disk / "backups")},
        },
    }


def test_the_disk_filling_during_an_export(
    cast, small_disk, large_sqlite, django_capture_on_commit_callbacks, settings
) -> None:
    Path(settings.ONLINE_ADMINISTRATIONS_DIR).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(large_sqlite, Path(settings.ONLINE_ADMINISTRATIONS_DIR) / "groot.sqlite3")
    administration = Administration.objects.create(
        account=cast.account, name="Groot", location=Location.ONLINE, engine="sqlite", database_name="groot.sqlite3"
    )
    source = Path(administration.database_location().name)
    before = table_checksums(administration.database_location())
    disk_settings(settings, small_disk)  # the work folder and back-up storage on the small disk

    job = run_with_commit(
        django_capture_on_commit_callbacks, lambda: backup_create(administration=administration, user=cast.owner)
    )
    assert job.status == Job.Status.FAILED, job.log
    assert job.user_message == DISK_FULL_MESSAGE
    assert Backup.objects.get(pk=job.backup_id).status == Backup.Status.FAILED
    assert leftovers(settings) == NOTHING_LEFT
    assert shutil.disk_usage(small_disk).used < 64 * 1024, "the full disk is empty again"
    assert table_checksums(administration.database_location()) == before and source.exists()

    # Room again (storage moved to a bigger disk): the next back-up is made.
    disk_settings(settings, Path(settings.LOCAL_ADMINISTRATIONS_ROOT))
    again = run_with_commit(
        django_capture_on_commit_callbacks, lambda: backup_create(administration=administration, user=cast.owner)
    )
    assert again.status == Job.Status.SUCCEEDED, again.log


def test_the_disk_filling_during_an_upload(
    cast, small_disk, large_bacpac, django_capture_on_commit_callbacks, settings
) -> None:
    bacpac = large_bacpac
    assert bacpac.stat().st_size > DISK_BYTES
    disk_settings(settings, small_disk)
    staged_folder = Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "staged"
    staged_folder.mkdir()
    settings.DATA_DIR = staged_folder.parent / "data-big"  # the staged upload itself fits; storage is full
    settings.DATA_DIR.mkdir()

    def start() -> Job:
        staged = upload_staging_folder() / f"{uuid.uuid4().hex}.bacpac"
        shutil.copyfile(bacpac, staged)
        return upload_start(account=cast.account, user=cast.owner, staged=staged, file_name="groot.bacpac")

    job = run_with_commit(django_capture_on_commit_callbacks, start)
    assert job.status == Job.Status.FAILED, job.log
    assert job.user_message == (
        "Het back-upbestand kon niet worden opgeslagen. Er is niets verloren gegaan; probeer het later opnieuw."
    )
    assert "No space left on device" in job.log
    assert not Backup.objects.exists()
    assert leftovers(settings) == NOTHING_LEFT
    assert os.listdir(small_disk / "backups" / "tmp") == []

    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(staged_folder.parent / "backups-big")},
        },
    }
    again = run_with_commit(django_capture_on_commit_callbacks, start)
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert Backup.objects.ready().count() == 1
