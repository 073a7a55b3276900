"""kill -9 of the real django-q2 worker process in the middle of an export and a restore, and a
job past JOB_TIMEOUT_SECONDS: each ends failed with a Dutch message, leaves nothing behind, and the next job runs."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F

from administrations.models import Administration
from administrations.services import Target
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import backup_create
from backups.tasks import reap_jobs
from tests.faults.conftest import (
    NOTHING_LEFT,
    claims,
    file_sha256,
    leftovers,
    make_customer,
    wait_for,
    worker_pid,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def running_past(job: Job, percent: int) -> Job:
    def check() -> Job | None:
        job.refresh_from_db()
        assert job.status in (Job.Status.QUEUED, Job.Status.RUNNING), (job.status, job.log)
        return job if job.status == Job.Status.RUNNING and job.progress >= percent else None

    return wait_for(check, timeout=60, what=f"job {job.pk} to run past {percent} %")


def reaped(job: Job) -> Job:
    """Run the reaper (what the scheduler does every minute) until it has given the job up."""

    def check() -> Job | None:
        reap_jobs()
        job.refresh_from_db()
        assert job.status != Job.Status.SUCCEEDED, "the job finished before the fault: make it larger"
        return job if job.status == Job.Status.FAILED else None

    return wait_for(check, timeout=30, what=f"the reaper to give up job {job.pk}", every=0.5)


def finished(job: Job, timeout: float = 90) -> Job:
    def check() -> Job | None:
        job.refresh_from_db()
        return job if job.is_finished else None

    return wait_for(check, timeout=timeout, what=f"job {job.pk} to finish")


def test_kill_9_of_the_worker_mid_export(workers, large_sqlite, settings) -> None:
    workers.start()
    customer = make_customer()
    administration = customer.online_sqlite(large_sqlite, "Groot", settings)
    source = administration.database_location().name
    before = file_sha256(Path(source))

    job = backup_create(administration=administration, user=customer.user)
    job = running_past(job, 10)
    os.kill(worker_pid(job), signal.SIGKILL)

    job = reaped(job)
    assert job.user_message == "De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."
    assert Backup.objects.get(pk=job.backup_id).status == Backup.Status.FAILED
    assert not Backup.objects.ready().exists()
    assert leftovers(settings) == NOTHING_LEFT
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
    job = running_past(job, 10)
    assert made.exists()  # the import is filling the new database
    os.kill(worker_pid(job), signal.SIGKILL)

    job = reaped(job)
    assert job.user_message == "De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."
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


def test_a_job_past_its_time_limit_is_stopped_and_cleaned_up(workers, large_sqlite, settings) -> None:
    # The limit is made to have passed by moving the running job's start back, not by racing a short limit
    # against the export's speed (which depends on how busy the machine is).
    settings.JOB_TIMEOUT_SECONDS = 600
    workers.start(JOB_TIMEOUT_SECONDS="600")
    customer = make_customer()
    administration = customer.online_sqlite(large_sqlite, "Groot", settings)
    before = file_sha256(Path(administration.database_location().name))

    job = backup_create(administration=administration, user=customer.user)
    job = running_past(job, 10)
    Job.objects.filter(pk=job.pk).update(started_at=F("started_at") - timedelta(seconds=601))

    job = reaped(job)
    assert job.user_message.startswith("De verwerking duurde langer dan is toegestaan en is gestopt.")
    assert "JOB_TIMEOUT_SECONDS" in job.log
    assert Backup.objects.get(pk=job.backup_id).status == Backup.Status.FAILED
    # The worker stops at its next heartbeat, and what it left is removed.
    wait_for(lambda: leftovers(settings) == NOTHING_LEFT, timeout=30, what="the work file to be removed")
    assert file_sha256(Path(administration.database_location().name)) == before
    assert not Backup.objects.ready().exists()

    # The same cluster makes the next back-up.
    again = finished(backup_create(administration=administration, user=customer.user))
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert again.backup is not None and again.backup.is_ready
    assert not Backup.objects.filter(pk=job.backup_id, status=Backup.Status.READY).exists()
