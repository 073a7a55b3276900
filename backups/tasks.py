"""django-q2 tasks: each takes an id, loads the row, calls a service.

The worker runs only the functions listed in TASKS. django-q2 stores the function to run as text in its rows
(schedules, queued and failed tasks); whatever such a row names, `guard_task_queue` swaps any other function for
`refused` before the task is queued, so a hand-edited row (say `os.system`) is logged and never run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from administrations.models import Administration
from backups import restores, services, verification
from backups.jobs import Reporter, job_claim, job_fail, job_run, jobs_reap, jobs_requeue
from backups.models import Backup, Job

logger = logging.getLogger(__name__)

# The portal's own task functions (back-up jobs, the reaper, the scheduler of automatic back-ups, the messages
# about back-ups that went wrong, webhook deliveries): the only ones a worker may run, from a schedule or from the
# queue.
TASKS = frozenset(
    {
        "backups.tasks.run_job",
        "backups.tasks.reap_jobs",
        "backups.tasks.start_scheduled_backups",
        "backups.tasks.send_backup_messages",
        "api.tasks.deliver",
    }
)
REFUSED = "backups.tasks.refused"

# What runs each kind of job in the worker.
HANDLERS: dict[str, Callable[[Job, Reporter], object]] = {
    Job.Kind.EXPORT: services.run_export,
    Job.Kind.VERIFY_UPLOAD: services.run_verify_upload,
    Job.Kind.DELETE_ADMINISTRATION: services.run_delete,
    Job.Kind.RESTORE: restores.run_restore,
    Job.Kind.IMPORT_MDB: restores.run_import_mdb,
    Job.Kind.VERIFY_RESTORE: verification.run_verify_restore,
}


def cleanup_stale(job: Job) -> None:
    """What a job whose worker died leaves behind: a pending back-up (failed now), a half-made database and
    temporary files."""
    if job.backup_id and job.kind in (Job.Kind.EXPORT, Job.Kind.DELETE_ADMINISTRATION):
        Backup.objects.filter(pk=job.backup_id, status=Backup.Status.PENDING).update(status=Backup.Status.FAILED)
    if job.kind == Job.Kind.DELETE_ADMINISTRATION and job.administration_id:
        Administration.objects.filter(pk=job.administration_id).update(status=Administration.Status.ACTIVE)
    if job.kind in (Job.Kind.RESTORE, Job.Kind.IMPORT_MDB):
        restores.drop_half_made_target(job)
    if job.kind == Job.Kind.VERIFY_RESTORE:
        verification.cleanup_stale_verification(job)
    staged = Path(job.params.get("staged", "missing")).name
    if job.kind == Job.Kind.VERIFY_UPLOAD:
        (services.upload_staging_folder() / staged).unlink(missing_ok=True)
    if job.kind == Job.Kind.IMPORT_MDB:
        (restores.mdb_staging_folder() / staged).unlink(missing_ok=True)
    owners = [f"job-{job.pk}-"] + ([f"backup-{job.backup_id}-"] if job.backup_id else [])
    for path in services.work_folder().glob("*"):
        if path.name.startswith(tuple(owners)):
            path.unlink(missing_ok=True)
    services.sweep_leftovers()


def run_job(job_id: int, echo: Callable[[int, str], None] | None = None) -> None:
    job = job_claim(job_id)
    if job is None:
        return
    handler = HANDLERS.get(job.kind)
    if handler is None:
        job_fail(job, user_message="Onbekende taak.", log=f"no handler for kind {job.kind!r}")
        return
    job_run(job, handler, echo)
    try:
        from backups.notifications import job_finished

        job_finished(job)
    except Exception:
        logger.exception("messages after job %s", job.pk)


def reap_jobs() -> list[int]:
    """Scheduled every minute: fail jobs whose worker stopped beating or that ran too long and clean up what they
    left; hand over again queued jobs whose message the broker lost."""
    reaped = jobs_reap(cleanup=cleanup_stale)
    if reaped:
        logger.warning("reaped stale jobs %s", reaped)
    requeued, failed = jobs_requeue(cleanup=cleanup_stale)
    if requeued:
        logger.warning("handed unclaimed jobs over again %s", requeued)
    if failed:
        logger.warning("failed jobs nobody claimed %s", failed)
    services.sweep_leftovers()
    return reaped + failed


def start_scheduled_backups() -> dict[str, float]:
    """Scheduled every minute: start the automatic back-ups that are due (backups.schedules)."""
    from backups.schedules import start_due_backups

    return start_due_backups()


def send_backup_messages() -> int:
    """Scheduled every hour: mail what is wrong (stale back-ups, aftercare left open), each thing once."""
    from backups.notifications import check_and_send

    return check_and_send()


def refused(func_name: str, hook: str = "") -> None:
    """Run instead of a function that is not one of the portal's tasks: the task fails, with the name in its
    result and in the log, and nothing else happens."""
    logger.error("refused to run %r (hook %r): not one of the portal's tasks", func_name, hook)
    raise PermissionError(f"refused to run {func_name!r}: not one of the portal's tasks")


def task_name_of(func: Any) -> str:
    if callable(func):
        return f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', repr(func))}"
    return str(func)


def is_allowed(func: Any) -> bool:
    return task_name_of(func) in TASKS


def _refuse_unknown_tasks(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    func, hook = task.get("func"), task.get("hook")
    if is_allowed(func) and not hook:
        return
    # Hooks run in the cluster after a task; the portal uses none, so any hook is refused with its task.
    logger.error("refused to queue %r (hook %r): not one of the portal's tasks", task_name_of(func), hook)
    task.update(func=REFUSED, args=(task_name_of(func), task_name_of(hook) if hook else ""), kwargs={})
    task.pop("hook", None)


def guard_task_queue() -> None:
    """Connect the allow-list to django-q2's pre_enqueue signal, which every task passes before it is queued:
    tasks made from schedules by the cluster's scheduler, `async_task` calls and the admin's resubmit."""
    from django_q.signals import pre_enqueue

    pre_enqueue.connect(_refuse_unknown_tasks, dispatch_uid="portal-task-allow-list")
