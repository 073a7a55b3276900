"""kill -9 of the real django-q2 worker process in the middle of an export, a restore and an upload check, and a
job past JOB_TIMEOUT_SECONDS: each ends failed with a Dutch message, leaves nothing behind, and the next job runs.

The worker is stopped at a known point by holding its job's row (see Latch in conftest): it waits at its next
progress report, the test sees how far it got, and only then is it killed. Nothing here races the machine's speed."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from administrations.models import Administration
from administrations.services import Target
from backups import bacpac
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import backup_create, upload_staging_folder, upload_start
from backups.tasks import reap_jobs
from tests.faults.conftest import (
    NOTHING_LEFT,
    JobRow,
    claims,
    file_sha256,
    kill_worker,
    leftovers,
    make_customer,
    own_backend_pid,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INTERRUPTED = "De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."


def reaped(job: Job) -> Job:
    """Run the reaper (what the scheduler does every minute) until it has given the job up."""

    def check() -> Job | None:
        reap_jobs()
        job.refresh_from_db()
        assert job.status != Job.Status.SUCCEEDED, job.log
        return job if job.status == Job.Status.FAILED else None

    return wait_for(check, timeout=30, what=f"the reaper to give up job {job.pk}", every=0.25)


def finished(job: Job, timeout: float = 90) -> Job:
    def check() -> Job | None:
        job.refresh_from_db()
        return job if job.is_finished else None

    return wait_for(check, timeout=timeout, what=f"job {job.pk} to finish", every=0.1)


def storage_files(settings) -> list[str]:
    root = Path(settings.STORAGES["backups"]["OPTIONS"]["location"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_kill_9_of_the_worker_mid_export(workers, large_sqlite, settings) -> None:
    workers.start()
    customer = make_customer()
    administration = customer.online_sqlite(large_sqlite, "Groot", settings)
    source = administration.database_location().name
    before = file_sha256(Path(source))

    job = backup_create(administration=administration, user=customer.user)
    with workers.hold(job) as latch:
        row = latch.step_until(lambda row: row.progress >= 10)
        assert row.status == Job.Status.RUNNING and row.phase.startswith("Tabel ") and row.phase.endswith(" opslaan")
        kill_worker(job)

    job = reaped(job)
    assert job.user_message == INTERRUPTED
    assert Backup.objects.get(pk=job.backup_id).status == Backup.Status.FAILED
    assert not Backup.objects.ready().exists()
    assert leftovers(settings) == NOTHING_LEFT and storage_files(settings) == []
    assert file_sha256(Path(source)) == before

    # The cluster replaced its worker: the next back-up of the same administration is made and ready.
    again = finished(backup_create(administration=administration, user=customer.user))
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert again.backup is not None and again.backup.is_ready and claims(again) == 1
    assert leftovers(settings) == NOTHING_LEFT


def test_kill_9_of_the_worker_mid_restore(workers, large_bacpac, settings) -> None:
    workers.start()
    customer = make_customer()
    backup = customer.ready_backup(large_bacpac, settings)
    stored = Path(settings.STORAGES["backups"]["OPTIONS"]["location"]) / backup.file_name
    online = Path(settings.ONLINE_ADMINISTRATIONS_DIR)

    job = restore_start(
        user=customer.user, account=customer.account, backup=backup, name="Teruggezet", target=Target("online")
    )
    made = online / job.params["database_name"]
    with workers.hold(job) as latch:
        row = latch.step_until(lambda row: row.progress >= 10)
        assert row.phase.startswith("Tabel ") and row.phase.endswith(" terugzetten"), row
        assert made.exists()  # the import is filling the new database
        kill_worker(job)

    job = reaped(job)
    assert job.user_message == INTERRUPTED
    assert not made.exists(), "the half-made database is dropped"
    assert not Administration.objects.filter(name="Teruggezet").exists()
    assert leftovers(settings) == NOTHING_LEFT
    assert file_sha256(stored) == backup.sha256

    again = finished(
        restore_start(
            user=customer.user, account=customer.account, backup=backup, name="Teruggezet", target=Target("online")
        )
    )
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert Administration.objects.filter(name="Teruggezet").count() == 1
    assert leftovers(settings) == NOTHING_LEFT


def test_kill_9_of_the_worker_mid_upload_check(workers, large_bacpac, settings) -> None:
    workers.start()
    customer = make_customer()
    uploaded = file_sha256(large_bacpac)
    # The worker is stopped once it reports the largest table: every table before it has been walked, and at least
    # one follows, so the check cannot have finished.
    contents = bacpac.verify(large_bacpac).tables
    largest = max(contents, key=lambda t: t.data_bytes).name
    assert [t.name for t in contents].index(largest) < len(contents) - 1

    def upload() -> Job:
        staged = upload_staging_folder() / f"{uuid.uuid4().hex}.bacpac"
        shutil.copyfile(large_bacpac, staged)
        return upload_start(account=customer.account, user=customer.user, staged=staged, file_name="groot.bacpac")

    job = upload()
    with workers.hold(job) as latch:
        row = latch.step_until(lambda row: row.phase == f"Tabel {largest} controleren")
        assert row.status == Job.Status.RUNNING and 10 < row.progress < 90, row
        kill_worker(job)

    job = reaped(job)
    assert job.user_message == INTERRUPTED
    assert not Backup.objects.exists(), "nothing of the upload is kept"
    assert leftovers(settings) == NOTHING_LEFT, "the staged upload is removed"
    assert storage_files(settings) == []
    assert file_sha256(large_bacpac) == uploaded

    again = finished(upload())
    assert again.status == Job.Status.SUCCEEDED, again.log
    backup = Backup.objects.get()
    assert backup.is_ready and backup.origin == Backup.Origin.UPLOAD and backup.sha256 == uploaded
    assert storage_files(settings) == [backup.file_name]
    assert leftovers(settings) == NOTHING_LEFT


def test_a_job_past_its_time_limit_is_stopped_and_cleaned_up(workers, large_sqlite, settings) -> None:
    # The limit is made to have passed by moving the running job's start back while the worker is held, not by
    # racing a short limit against the export's speed (which depends on how busy the machine is).
    settings.JOB_TIMEOUT_SECONDS = 600
    workers.start(JOB_TIMEOUT_SECONDS="600")
    customer = make_customer()
    administration = customer.online_sqlite(large_sqlite, "Groot", settings)
    before = file_sha256(Path(administration.database_location().name))

    job = backup_create(administration=administration, user=customer.user)
    with workers.hold(job) as latch:
        latch.step_until(lambda row: row.progress >= 10)
        latch.execute(
            f"UPDATE \"{Job._meta.db_table}\" SET started_at = started_at - interval '601 seconds' WHERE id = %s",  # noqa: S608
            (job.pk,),
        )
        row: JobRow = latch.step()  # committed; the worker waits at its next report again
        assert row.status == Job.Status.RUNNING
        # The reaper's update queues behind the latch, which then lets go: the worker cannot finish in between.
        latch.release_once_waiting(own_backend_pid())
        assert job.pk in reap_jobs()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.user_message.startswith("De verwerking duurde langer dan is toegestaan en is gestopt.")
    assert "JOB_TIMEOUT_SECONDS" in job.log
    assert Backup.objects.get(pk=job.backup_id).status == Backup.Status.FAILED
    # The worker stops at its next heartbeat, and what it left is removed.
    wait_for(lambda: leftovers(settings) == NOTHING_LEFT, timeout=30, what="the work file to be removed", every=0.1)
    assert file_sha256(Path(administration.database_location().name)) == before
    assert not Backup.objects.ready().exists()

    # The same cluster makes the next back-up.
    again = finished(backup_create(administration=administration, user=customer.user))
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert again.backup is not None and again.backup.is_ready
    assert not Backup.objects.filter(pk=job.backup_id, status=Backup.Status.READY).exists()
