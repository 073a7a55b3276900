"""What the schedule, retention and test-restore tests share."""

from __future__ import annotations

import pytest

from administrations import bookkeeping
from administrations.models import Administration, Location
from administrations.services import Target, administration_create
from backups.models import Job


@pytest.fixture
def online(cast) -> Administration:
    return administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=200),
    )


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a call and every job it enqueues (django-q2 in sync mode, also jobs those jobs enqueue)."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = call(*args, **kwargs)
        if isinstance(result, Job):
            result.refresh_from_db()
        return result

    return run
