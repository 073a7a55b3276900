"""Jobs travel through the real Redis server when REDIS_URL configures it as the django-q2 broker."""

from __future__ import annotations

import pytest
from django_q.signing import SignedPackage

from administrations import bookkeeping
from administrations.models import Location
from administrations.services import Target, administration_create
from backups.models import Job
from backups.services import backup_create
from backups.tasks import run_job


@pytest.mark.django_db
def test_a_back_up_job_goes_through_redis_carrying_only_its_id(
    cast, redis_broker, django_capture_on_commit_callbacks
) -> None:
    online = administration_create(
        account=cast.account,
        name="Via Redis",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=50),
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = backup_create(administration=online, user=cast.owner)

    assert redis_broker.queue_size() == 1
    [(_, payload)] = redis_broker.dequeue()
    task = SignedPackage.loads(payload)
    assert task["func"] == "backups.tasks.run_job"
    assert task["args"] == (job.pk,) and task["kwargs"] == {}

    run_job(*task["args"])  # what the worker does with it

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.backup is not None and job.backup.is_ready
