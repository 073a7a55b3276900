"""The broker (the test's own Redis) restarted while jobs wait and while one runs; two worker clusters on the same
Redis and PostgreSQL, every job handed over twice, one cluster killed mid-job: every job runs exactly once."""

from __future__ import annotations

import pytest
from django_q.brokers import get_broker

from backups.jobs import job_send
from backups.models import Backup, Job
from backups.services import backup_create
from backups.tasks import reap_jobs
from tests.faults.conftest import NOTHING_LEFT, claims, leftovers, make_customer, own_backend_pid, wait_for, worker_pid

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SMALL_LINES = 300


@pytest.fixture(scope="module")
def small_sqlite(tmp_path_factory):
    from administrations import bookkeeping
    from administrations.databases import DatabaseLocation, database_connect, database_create
    from administrations.models import DatabaseEngine

    path = tmp_path_factory.mktemp("small") / "small.sqlite3"
    location = DatabaseLocation(engine=DatabaseEngine.SQLITE, name=str(path))
    database_create(location)
    engine = database_connect(location)
    try:
        bookkeeping.create_schema(engine)
        bookkeeping.fill(engine, lines=SMALL_LINES)
    finally:
        engine.dispose()
    return path


def all_finished(jobs: list[Job], timeout: float = 90) -> list[Job]:
    def check() -> list[Job] | None:
        fresh = list(Job.objects.filter(pk__in=[j.pk for j in jobs]).order_by("pk"))
        return fresh if all(j.is_finished for j in fresh) else None

    return wait_for(check, timeout=timeout, what="every job to finish", every=0.1)


def reaping_until_finished(jobs: list[Job], timeout: float = 90) -> list[Job]:
    """Run the reaper (as the scheduler does every minute) until every job has finished."""

    def check() -> list[Job] | None:
        reap_jobs()
        fresh = list(Job.objects.filter(pk__in=[j.pk for j in jobs]).order_by("pk"))
        return fresh if all(j.is_finished for j in fresh) else None

    return wait_for(check, timeout=timeout, what="every job to finish with the reaper running", every=0.25)


def test_jobs_queued_when_the_broker_restarts_are_handed_over_again_and_run_once(
    workers, own_redis, small_sqlite, settings
) -> None:
    customer = make_customer()
    administrations = [customer.online_sqlite(small_sqlite, f"Klein {n}", settings) for n in range(3)]
    jobs = [backup_create(administration=a, user=customer.user) for a in administrations]
    assert get_broker().queue_size() == 3

    own_redis.restart()  # it keeps nothing on disk: the three messages are gone
    assert get_broker().queue_size() == 0
    workers.start()

    # A second "Back-up maken" joins the waiting job, as before; it must not wait for ever.
    assert backup_create(administration=administrations[0], user=customer.user).pk == jobs[0].pk

    done = reaping_until_finished(jobs, timeout=60)
    assert [j.status for j in done] == [Job.Status.SUCCEEDED] * 3, [j.log for j in done]
    assert all(claims(j) == 1 and j.attempts == 1 for j in done)
    assert all("handed over again" in j.log for j in done)
    assert Backup.objects.ready().count() == 3
    assert leftovers(settings) == NOTHING_LEFT


def test_back_up_maken_while_the_broker_is_down_starts_once_it_is_back(
    workers, own_redis, small_sqlite, settings
) -> None:
    workers.start()
    customer = make_customer()
    administration = customer.online_sqlite(small_sqlite, "Klein", settings)
    own_redis.stop()

    job = backup_create(administration=administration, user=customer.user)  # no error for the customer
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.enqueue_count == 0

    own_redis.start()
    [done] = reaping_until_finished([job], timeout=60)
    assert done.status == Job.Status.SUCCEEDED, done.log
    assert claims(done) == 1
    assert Backup.objects.ready().count() == 1


def test_the_broker_restarting_while_a_job_runs(workers, own_redis, large_sqlite, small_sqlite, settings) -> None:
    workers.start()
    customer = make_customer()
    large = customer.online_sqlite(large_sqlite, "Groot", settings)
    job = backup_create(administration=large, user=customer.user)
    with workers.hold(job) as latch:  # the worker waits at its next report while the broker restarts
        latch.step_until(lambda row: row.progress >= 5)
        own_redis.restart()
        # A reaper round while the job runs and the broker has lost everything, looking at once for jobs that are
        # not on it: the running job is the worker's and stays so. (Were the reaper to touch its row, the latch
        # lets go rather than wait for ever.)
        settings.JOB_QUEUED_STALE_SECONDS = 0
        settings.JOB_STALE_SECONDS = 60  # the held worker cannot beat; this round is about the queue
        latch.release_once_waiting(own_backend_pid())
        assert reap_jobs() == []

    [done] = reaping_until_finished([job], timeout=90)
    assert done.status == Job.Status.SUCCEEDED, done.log
    assert done.backup is not None and done.backup.is_ready and claims(done) == 1

    # The cluster took up the broker again: the next back-up goes through it.
    small = customer.online_sqlite(small_sqlite, "Klein", settings)
    [after] = all_finished([backup_create(administration=small, user=customer.user)], timeout=60)
    assert after.status == Job.Status.SUCCEEDED, after.log
    assert leftovers(settings) == NOTHING_LEFT
    # Whatever waited on the broker before it (the cluster has one worker) has been taken by now: the large job
    # still ran exactly once.
    job.refresh_from_db()
    assert claims(job) == 1 and job.attempts == 1, job.log


def test_two_clusters_run_every_job_once_and_losing_one_mid_job_loses_nothing(
    workers, own_redis, large_sqlite, small_sqlite, settings
) -> None:
    first, second = workers.start(), workers.start()
    customer = make_customer()
    large = customer.online_sqlite(large_sqlite, "Groot", settings)
    long_job = backup_create(administration=large, user=customer.user)
    with workers.hold(long_job) as latch:  # its worker waits at its next report until its cluster is lost
        latch.step_until(lambda row: row.progress >= 5)

        smalls = [customer.online_sqlite(small_sqlite, f"Klein {n}", settings) for n in range(6)]
        jobs = [backup_create(administration=a, user=customer.user) for a in smalls]
        for job in jobs:
            job_send(job.pk, job.kind)  # every job handed over twice: both clusters may pick it up

        # Lose the cluster that runs the long export (a worker machine gone), with whatever it had taken.
        long_job.refresh_from_db()
        pid = worker_pid(long_job)
        lost = next(c for c in (first, second) if _in_process_group(pid, c.process.pid))
        lost.kill()

    done = reaping_until_finished([*jobs, long_job], timeout=120)
    by_pk = {j.pk: j for j in done}
    assert [by_pk[j.pk].status for j in jobs] == [Job.Status.SUCCEEDED] * 6, [by_pk[j.pk].log for j in jobs]
    assert all(claims(by_pk[j.pk]) == 1 and by_pk[j.pk].attempts == 1 for j in jobs)
    reaped = by_pk[long_job.pk]
    assert reaped.status == Job.Status.FAILED
    assert reaped.user_message == "De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."
    assert Backup.objects.ready().count() == 6
    assert Backup.objects.get(pk=reaped.backup_id).status == Backup.Status.FAILED
    assert leftovers(settings) == NOTHING_LEFT

    # The remaining cluster makes the next back-up of the large administration.
    [again] = all_finished([backup_create(administration=large, user=customer.user)], timeout=90)
    assert again.status == Job.Status.SUCCEEDED, again.log


def _in_process_group(pid: int, group: int) -> bool:
    import os

    try:
        return os.getpgid(pid) == group
    except ProcessLookupError:
        return False
