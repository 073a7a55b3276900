"""django-q2 tasks: each takes an id, loads the row, calls a service."""

from __future__ import annotations

import logging
from collections.abc import Callable

from backups import services
from backups.jobs import job_claim, job_fail, job_run, jobs_reap

logger = logging.getLogger(__name__)


def run_job(job_id: int, echo: Callable[[int, str], None] | None = None) -> None:
    job = job_claim(job_id)
    if job is None:
        return
    handler = services.HANDLERS.get(job.kind)  # type: ignore[call-overload]
    if handler is None:
        job_fail(job, user_message="Onbekende taak.", log=f"no handler for kind {job.kind!r}")
        return
    job_run(job, handler, echo)


def reap_jobs() -> list[int]:
    """Scheduled every minute: fail jobs whose worker stopped beating and clean up what they left."""
    reaped = jobs_reap(cleanup=services.cleanup_stale)
    if reaped:
        logger.warning("reaped stale jobs %s", reaped)
    return reaped
