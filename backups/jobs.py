"""Job mechanics: create and enqueue, claim exactly once, report progress with a heartbeat, finish, reap.

A job row is created by a service inside the request's transaction; the django-q2 task is enqueued only when that
transaction commits, and it receives the job id and nothing else (no passwords in task arguments).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from backups.models import Job
from portal.texts import parts_of

logger = logging.getLogger(__name__)

# How often a running job writes its progress and heartbeat at most; the reaper allows many times this.
REPORT_INTERVAL_SECONDS = 1.0
GENERIC_FAILURE = gettext_noop("Er ging iets mis. De klantenservice kan in het logboek zien wat er gebeurde.")


def job_enqueue(job: Job) -> None:
    """Hand the job to a worker once the surrounding transaction has committed."""
    from django_q.tasks import async_task

    def send() -> None:
        # `sync` is read per call (not at import like django-q2's own setting) so tests can run jobs in-process.
        sync = bool(settings.Q_CLUSTER.get("sync", False))
        async_task("backups.tasks.run_job", job.pk, task_name=f"job-{job.pk}-{job.kind}", group=job.kind, sync=sync)

    transaction.on_commit(send)


def job_claim(job_id: int) -> Job | None:
    """Take a queued job. A conditional UPDATE makes sure only one worker ever runs it."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
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
            fields: dict[str, Any] = {
                "progress": percent,
                "phase": msgid,
                "phase_params": params,
                "heartbeat_at": timezone.now(),
            }
            if step:
                # Each new phase is a step in the support log, so a finished job shows what it did.
                self.job.log += f"{timezone.localtime():%H:%M:%S} {percent}% {phase}\n"
                fields["log"] = self.job.log
            Job.objects.filter(pk=self.job.pk).update(**fields)
            if self.echo:
                self.echo(percent, str(phase))

    def log(self, text: str) -> None:
        self.job.log += text.rstrip() + "\n"
        Job.objects.filter(pk=self.job.pk).update(log=self.job.log, heartbeat_at=timezone.now())


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
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(**values)
    for key, value in values.items():
        setattr(job, key, value)


def job_fail(job: Job, *, user_message: str, log: str = "") -> None:
    now = timezone.now()
    job.log = (job.log + log.rstrip() + "\n") if log else job.log
    msgid, params = parts_of(user_message)
    job.message_params = params
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.FAILED,
        user_message=msgid,
        message_params=params,
        log=job.log,
        finished_at=now,
        heartbeat_at=now,
        secret=None,
    )
    job.status, job.user_message, job.finished_at, job.secret = Job.Status.FAILED, msgid, now, None


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
        user_message = getattr(error, "user_message", None)
        if user_message:
            # An expected failure (unreachable server, refused file, …): the support log gets what happened in
            # one line, the customer the message; a traceback would only hide it.
            logger.warning("job %s (%s) failed: %s", job.pk, job.kind, error)
            # Stored as its Dutch source text (and parameters), put into words when shown.
            with translation.override(settings.LANGUAGE_CODE):
                job_fail(job, user_message=user_message, log=f"Mislukt: {error}")
            return
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        with translation.override(settings.LANGUAGE_CODE):
            job_fail(job, user_message=GENERIC_FAILURE, log=traceback.format_exc())
        return
    if job.status == Job.Status.RUNNING:
        job_succeed(job)


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
    return cancelled


def stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)


def jobs_reap(cleanup: Callable[[Job], None] | None = None) -> list[int]:
    """Fail running jobs whose worker stopped beating, and let `cleanup` remove what they left behind."""
    reaped = []
    for job in Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=stale_before()):
        if cleanup is not None:
            try:
                cleanup(job)
            except Exception:
                logger.exception("clean-up of stale job %s failed", job.pk)
        changed = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.FAILED,
            user_message=gettext_noop(
                "De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."
            ),
            log=Concat(F("log"), Value(f"reaped: no heartbeat since {job.heartbeat_at:%Y-%m-%d %H:%M:%S}\n")),
            finished_at=timezone.now(),
            secret=None,
        )
        if changed:
            reaped.append(job.pk)
    return reaped
