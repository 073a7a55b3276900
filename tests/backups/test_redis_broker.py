"""Jobs travel through the real Redis server when REDIS_URL configures it as the django-q2 broker."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from administrations import bookkeeping
from administrations.models import Location
from administrations.services import Target, administration_create
from backups.models import Job
from backups.services import backup_create
from backups.tasks import run_job
from tests.conftest import require_service

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_broker(monkeypatch, settings):
    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        available = True
    except redis.RedisError:
        available = False
    require_service(available, f"Redis is not reachable at {REDIS_URL}")
    # What REDIS_URL does in settings, applied to django-q2's already-loaded configuration.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", f"test-{uuid.uuid4().hex[:8]}")
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    broker = get_broker()
    yield broker
    broker.delete_queue()


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
