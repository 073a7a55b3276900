"""10,000 schedules due at once: enqueued in bounded time, with the same small number of queries per batch
whatever the total (the jobs travel through the real Redis server, so enqueueing itself costs no queries)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from administrations.models import Administration, Location
from backups.models import Backup, BackupSchedule, Job
from backups.schedules import start_due_batch

TOTAL = 10_000
BATCH = 500
MAX_QUERIES_PER_BATCH = 40  # SQLite splits each 500-row insert by its 999-parameter limit

pytestmark = pytest.mark.django_db

# Noon, far from the schedules' 02:00: at the real clock a run near 02:00 would make the just-started schedules due
# again before the last batch (their next run is minutes away), and the count of batches would depend on the hour.
NOON = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)


def test_ten_thousand_due_schedules_are_enqueued_in_bounded_time_with_constant_queries_per_batch(
    request, cast, redis_broker, django_capture_on_commit_callbacks, django_assert_max_num_queries, settings
) -> None:
    settings.SCHEDULE_SPREAD_SECONDS = 3600
    traveller = time_machine.travel(NOON, tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)
    administrations = Administration.objects.bulk_create(
        Administration(
            account=cast.account,
            name=f"Administratie {i:05d}",
            location=Location.ONLINE,
            engine="sqlite",
            database_name=f"s{i}.sqlite3",
        )
        for i in range(TOTAL)
    )
    due = timezone.now() - dt.timedelta(minutes=1)
    BackupSchedule.objects.bulk_create(
        BackupSchedule(administration=a, frequency="daily", time_of_day=dt.time(2, 0), next_run_at=due)
        for a in administrations
    )

    counts: list[int] = []
    began = time.monotonic()
    while True:
        with (
            django_assert_max_num_queries(MAX_QUERIES_PER_BATCH),
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            result = start_due_batch(batch_size=BATCH)
        if result.picked == 0:
            break
        counts.append(len(queries))
    seconds = time.monotonic() - began
    print(f"\n{TOTAL} schedules: {len(counts)} batches of {BATCH}, {seconds:.1f} s, queries per batch {set(counts)}")

    assert len(counts) == TOTAL // BATCH
    assert len(set(counts)) == 1  # the same for every batch: nothing per schedule
    assert Job.objects.filter(kind=Job.Kind.EXPORT, status=Job.Status.QUEUED).count() == TOTAL
    assert Backup.objects.filter(origin=Backup.Origin.SCHEDULED).count() == TOTAL
    assert redis_broker.queue_size() == TOTAL
    # Each hand-over noted, as for a single job: the reaper does not hand any of them over again.
    assert not Job.objects.filter(enqueued_at__isnull=True).exists()
    assert set(Job.objects.values_list("enqueue_count", flat=True)) == {1}
    assert not BackupSchedule.objects.filter(next_run_at__lte=timezone.now()).exists()
    assert seconds < 120
