"""Job mechanics: create and enqueue, claim exactly once, report progress with a heartbeat, finish, reap.

A job row is created by a service inside the request's transaction; the django-q2 task is enqueued only when that
transaction commits, and it receives the job id and nothing else (no passwords in task arguments).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backups.bacpac import BacpacError
from backups.models import Job
from backups.refusals import bacpac_message
from portal.errors import PortalError
from portal.texts import parts_of

logger = logging.getLogger(__name__)

# How often a running job writes its progress and heartbeat at most; the reaper allows many times this.
REPORT_INTERVAL_SECONDS = 1.0
GENERIC_FAILURE = gettext_noop("Er ging iets mis. De klantenservice kan in het logboek zien wat er gebeurde.")

# Sent once a job has succeeded or failed (also when reaped or cancelled), with `job`; webhooks listen to it.
job_finished = Signal()


def _announce(job_id: int) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    # A listener that fails must not change the job's outcome: log it and go on.
    for receiver, error in job_finished.send_robust(sender=Job, job=job):
        if isinstance(error, Exception):
            logger.error("job %s: listener %r failed", job_id, receiver, exc_info=error)


def job_enqueue(job: Job) -> None:
    """Hand the job to a worker once the surrounding transaction has committed."""
    transaction.on_commit(lambda: job_send(job.pk, job.kind))


def job_send(job_id: int, kind: str) -> bool:
    """Put the job's id on the broker and note when. A broker that cannot be reached does not fail the request
    that made the job: the job stays queued and the reaper hands it over again once the broker is back."""
    from django_q.tasks import async_task

    # `sync` is read per call (not at import like django-q2's own setting) so tests can run jobs in-process.
    sync = bool(settings.Q_CLUSTER.get("sync", False))
    try:
        async_task("backups.tasks.run_job", job_id, task_name=f"job-{job_id}-{kind}", group=kind, sync=sync)
    except Exception:
        if sync:
            raise
        logger.exception("job %s could not be handed to the broker; the reaper hands it over again", job_id)
        return False
    # Counted only when the broker took it (a worker may have claimed it already: then nothing changes).
    Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        enqueued_at=timezone.now(), enqueue_count=F("enqueue_count") + 1
    )
    return True


def jobs_enqueue(jobs: list[Job]) -> None:
    """Hand many jobs to the workers when the transaction commits, through one broker connection (the scheduler
    starts hundreds at a time; a connection per job would cost more than the jobs' rows), and note the hand-over
    in one UPDATE. As with `job_send`, a broker that cannot be reached leaves the rest queued for the reaper."""
    from django_q.brokers import get_broker
    from django_q.tasks import async_task

    def send() -> None:
        sync = bool(settings.Q_CLUSTER.get("sync", False))
        sent: list[int] = []
        try:
            broker = None if sync else get_broker()
            for job in jobs:
                extra = {"broker": broker} if broker is not None else {}
                async_task(
                    "backups.tasks.run_job",
                    job.pk,
                    task_name=f"job-{job.pk}-{job.kind}",
                    group=job.kind,
                    sync=sync,
                    **extra,
                )
                sent.append(job.pk)
        except Exception:
            if sync:
                raise
            logger.exception(
                "%s jobs could not be handed to the broker; the reaper hands them over again", len(jobs) - len(sent)
            )
        finally:
            Job.objects.filter(pk__in=sent, status=Job.Status.QUEUED).update(
                enqueued_at=timezone.now(), enqueue_count=F("enqueue_count") + 1
            )

    if jobs:
        transaction.on_commit(send)


def worker_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def job_claim(job_id: int) -> Job | None:
    """Take a queued job. A conditional UPDATE makes sure only one worker ever runs it."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        log=Concat(F("log"), Value(f"claimed by {worker_name()}\n")),
    )
    if claimed != 1:
        logger.info("job %s was not queued any more; not running it twice", job_id)
        return None
    return Job.objects.select_related("account", "administration", "backup", "requested_by").get(pk=job_id)


class Reporter:
    """Progress for a running job: monotonic percent, a Dutch phase text, and a heartbeat for the reaper.
    Writes at most once per REPORT_INTERVAL_SECONDS, except when the phase text changes."""

    def __init__(self, job: Job, echo: Callable[[int, str], None] | None = None) -> None:
        self.job = job
        self.echo = echo
        self._last_write = 0.0

    def __call__(self, percent: int, phase: str) -> None:
        percent = max(self.job.progress, min(int(percent), 99))
        msgid, params = parts_of(phase)
        msgid = msgid[:200]
        now = time.monotonic()
        step = (msgid, params) != (self.job.phase, self.job.phase_params)
        due = step or now - self._last_write >= REPORT_INTERVAL_SECONDS
        self.job.progress, self.job.phase, self.job.phase_params = percent, msgid, params
        if due:
            self._last_write = now
            fields: dict[str, Any] = {"progress": percent, "phase": msgid, "phase_params": params}
            if step:
                # Each new phase is a step in the support log, so a finished job shows what it did.
                self.job.log += f"{timezone.localtime():%H:%M:%S} {percent}% {phase}\n"
                fields["log"] = self.job.log
            self._beat(**fields)
            if self.echo:
                self.echo(percent, str(phase))

    def log(self, text: str) -> None:
        self.job.log += text.rstrip() + "\n"
        self._beat(log=Concat(F("log"), Value(text.rstrip() + "\n")))

    def _beat(self, **fields: Any) -> None:
        # Only while the job is still running: one the reaper or support gave up stops here, at its next beat.
        if not Job.objects.filter(pk=self.job.pk, status=Job.Status.RUNNING).update(
            heartbeat_at=timezone.now(), **fields
        ):
            raise JobStopped(
                _("De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."),
                f"job {self.job.pk} is not running any more; stopping",
            )


class JobStopped(PortalError):
    """The job was given up (reaped or cancelled) while its worker was still at it."""


def job_succeed(job: Job, *, phase: str = "", **fields: Any) -> None:
    now = timezone.now()
    final = phase or gettext_noop("Klaar")
    msgid, params = parts_of(final)
    job.log += f"{timezone.localtime(now):%H:%M:%S} 100% {final}\n"
    values = {
        "log": job.log,
        "status": Job.Status.SUCCEEDED,
        "progress": 100,
        "phase": msgid,
        "phase_params": params,
        "finished_at": now,
        "heartbeat_at": now,
        "secret": None,
        **fields,
    }
    changed = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(**values)
    for key, value in values.items():
        setattr(job, key, value)
    if changed:
        _announce(job.pk)


def job_fail(job: Job, *, user_message: str, log: str = "") -> None:
    now = timezone.now()
    job.log = (job.log + log.rstrip() + "\n") if log else job.log
    msgid, params = parts_of(user_message)
    job.message_params = params
    changed = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.FAILED,
        user_message=msgid,
        message_params=params,
        log=job.log,
        finished_at=now,
        heartbeat_at=now,
        secret=None,
    )
    job.status, job.user_message, job.finished_at, job.secret = Job.Status.FAILED, msgid, now, None
    if changed:
        _announce(job.pk)


def job_run(
    job: Job, handler: Callable[[Job, Reporter], object], echo: Callable[[int, str], None] | None = None
) -> None:
    """Run a claimed job's handler; any exception fails the job with the user message it carries (or a generic
    one) and the full traceback in the support log. Passwords are never in either: handlers keep them out of
    exception texts, and the secret is wiped whatever happens."""
    try:
        # Texts are stored in the source language (Dutch) and translated when shown: a job run in-process for an
        # English request must not store English.
        with translation.override(settings.LANGUAGE_CODE):
            handler(job, Reporter(job, echo))
    except Exception as error:
        # Stored as its Dutch source text (and parameters), put into words when shown.
        with translation.override(settings.LANGUAGE_CODE):
            user_message = user_message_for(error)
        if user_message and isinstance(error, PortalError | BacpacError):
            # An expected failure (unreachable server, refused file, …): the support log gets what happened in
            # one line, the customer the message; a traceback would only hide it.
            logger.warning("job %s (%s) failed: %s", job.pk, job.kind, error)
            job_fail(job, user_message=user_message, log=f"Mislukt: {error}")
            return
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        job_fail(job, user_message=user_message or GENERIC_FAILURE, log=traceback.format_exc())
        return
    if job.status == Job.Status.RUNNING:
        job_succeed(job)


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def user_message_for(error: BaseException) -> str:
    """What the customer reads when a job fails. A lost database connection says so, whatever layer noticed it
    first; a full disk says so unless the error carries a message of its own (storage does)."""
    import psycopg
    import sqlalchemy as sa

    causes = _causes(error)
    if isinstance(error, PortalError):
        own = error.user_message
    elif isinstance(error, BacpacError):
        own = bacpac_message(error)
    else:
        own = ""
    if not own and any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in causes):
        return _(
            "Er is geen schijfruimte meer om dit af te maken. Er is niets half opgeslagen; de klantenservice is "
            "gewaarschuwd. Probeer het later opnieuw."
        )
    lost = ("terminating connection", "connection is lost", "server closed the connection", "consuming input failed")
    # The columnar path's ADBC driver (loaded only by a job that used it; web processes never import it).
    adbc = sys.modules.get("adbc_driver_manager")
    operational: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
    if adbc is not None:
        operational += (adbc.OperationalError,)
    if any(
        (isinstance(e, operational) and any(text in str(e) for text in lost))
        or (isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated)
        for e in causes
    ):
        return _(
            "De verbinding met de database werd verbroken. Er is niets half opgeslagen en de oorspronkelijke "
            "administratie is niet gewijzigd; probeer het opnieuw."
        )
    return own


def jobs_cancel(jobs: Any, cleanup: Callable[[Job], None] | None = None) -> list[int]:
    """Support staff stop stuck jobs: failed with a message for the customer, and cleaned up like a reaped one."""
    cancelled = []
    for job in jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]):
        changed = Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=Job.Status.FAILED,
            user_message=gettext_noop("De klantenservice heeft deze taak afgebroken. Er is niets half opgeslagen."),
            log=Concat(F("log"), Value("cancelled by support\n")),
            finished_at=timezone.now(),
            secret=None,
        )
        if changed:
            if cleanup is not None:
                cleanup(job)
            cancelled.append(job.pk)
            _announce(job.pk)
    return cancelled


def stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)


def jobs_reap(cleanup: Callable[[Job], None] | None = None) -> list[int]:
    """Fail running jobs whose worker stopped beating, or that ran past JOB_TIMEOUT_SECONDS (the worker is
    stopped by django-q2 at that limit; a job that still beats then is stopped here), and let `cleanup` remove
    what they left behind. A worker that comes back after this finds its job failed and publishes nothing."""
    reaped = []
    overdue = timezone.now() - timedelta(seconds=settings.JOB_TIMEOUT_SECONDS)
    for job in Job.objects.filter(
        Q(heartbeat_at__lt=stale_before()) | Q(started_at__lt=overdue), status=Job.Status.RUNNING
    ):
        if job.started_at is not None and job.started_at < overdue:
            user_message = gettext_noop(
                "De verwerking duurde langer dan is toegestaan en is gestopt. Er is niets half opgeslagen; probeer "
                "het opnieuw of neem contact op met de klantenservice."
            )
            note = f"reaped: running longer than JOB_TIMEOUT_SECONDS={settings.JOB_TIMEOUT_SECONDS}"
        else:
            user_message = gettext_noop(
                "De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."
            )
            note = f"reaped: no heartbeat since {job.heartbeat_at:%Y-%m-%d %H:%M:%S}"
        changed = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.FAILED,
            user_message=user_message,
            log=Concat(F("log"), Value(note + "\n")),
            finished_at=timezone.now(),
            secret=None,
        )
        if not changed:
            continue  # it finished meanwhile: nothing to clean up
        reaped.append(job.pk)
        _announce(job.pk)
        if cleanup is not None:
            try:
                cleanup(job)
            except Exception:
                logger.exception("clean-up of stale job %s failed", job.pk)
    return reaped


def broker_job_ids() -> set[int] | None:
    """The ids of the jobs whose message waits on the broker, or None when the broker cannot be read."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.signing import SignedPackage

    try:
        broker = get_broker()
        if Conf.ORM:
            from django_q.models import OrmQ

            payloads = list(OrmQ.objects.using(Conf.ORM).filter(key=broker.list_key).values_list("payload", flat=True))
        else:
            payloads = broker.connection.lrange(broker.list_key, 0, -1)  # type: ignore[union-attr]
    except Exception:
        logger.exception("the broker's queue could not be read")
        return None
    ids = set()
    for payload in payloads:
        try:
            task = SignedPackage.loads(payload)
        except Exception:
            logger.warning("a message on the broker could not be read; skipped")
            continue
        if task.get("func") == "backups.tasks.run_job" and task.get("args"):
            ids.add(int(task["args"][0]))
    return ids


def jobs_requeue(cleanup: Callable[[Job], None] | None = None) -> tuple[list[int], list[int]]:
    """Queued jobs nobody claimed within JOB_QUEUED_STALE_SECONDS whose message is not on the broker any more
    (a broker restart, or a worker that died holding it) are handed over again; after JOB_QUEUED_MAX_ENQUEUES
    hand-overs they fail with a message and are cleaned up. A job handed over twice still runs once: only one
    worker wins the claim. Returns (requeued, failed)."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_QUEUED_STALE_SECONDS)
    waiting = Job.objects.filter(status=Job.Status.QUEUED).filter(
        Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, queued_at__lt=cutoff)
    )
    if not waiting.exists():
        return [], []
    on_broker = broker_job_ids()
    if on_broker is None:
        return [], []  # the broker is away: handing over now would fail too; the next round tries again
    requeued, failed = [], []
    for job in waiting.exclude(pk__in=on_broker):
        if job.enqueue_count >= settings.JOB_QUEUED_MAX_ENQUEUES:
            changed = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
                status=Job.Status.FAILED,
                user_message=gettext_noop(
                    "De taak kon niet worden gestart omdat de verwerking niet bereikbaar was. Er is niets "
                    "gewijzigd; probeer het later opnieuw."
                ),
                log=Concat(F("log"), Value(f"not claimed after {job.enqueue_count} hand-overs; failed\n")),
                finished_at=timezone.now(),
                secret=None,
            )
            if changed:
                failed.append(job.pk)
                _announce(job.pk)
                if cleanup is not None:
                    try:
                        cleanup(job)
                    except Exception:
                        logger.exception("clean-up of unclaimed job %s failed", job.pk)
            continue
        since = job.enqueued_at or job.queued_at
        changed = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED, enqueue_count=job.enqueue_count).update(
            log=Concat(
                F("log"),
                Value(f"not claimed since {since:%Y-%m-%d %H:%M:%S} and not on the broker: handed over again\n"),
            )
        )
        if changed and job_send(job.pk, job.kind):
            requeued.append(job.pk)
    return requeued, failed


def queue_state() -> dict[str, Any]:
    """For support and the health endpoint: how many jobs wait, how many run, and the oldest waiting one."""
    queued = Job.objects.filter(status=Job.Status.QUEUED)
    oldest = queued.order_by("queued_at", "pk").only("pk", "kind", "queued_at").first()
    return {
        "queued": queued.count(),
        "running": Job.objects.filter(status=Job.Status.RUNNING).count(),
        "oldest_queued": oldest,
        "oldest_queued_seconds": int((timezone.now() - oldest.queued_at).total_seconds()) if oldest else None,
    }
