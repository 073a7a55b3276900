"""Health for a load balancer or monitoring: is the web process up, and can it reach the database, the job broker
and back-up storage? JSON, 200 when all answer, 503 when one does not. What went wrong goes to the log, never
into the answer (the endpoint needs no login)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from backups.jobs import queue_state
from backups.storage import backup_storage

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    from django_q.brokers import get_broker

    if not get_broker().ping():
        raise ConnectionError("broker did not answer")


def check_storage() -> None:
    storage = backup_storage()
    if isinstance(storage, FileSystemStorage):
        location = storage.location
        os.makedirs(location, exist_ok=True)  # made on first use, as the storage itself does
        if not os.access(location, os.W_OK | os.X_OK):
            raise OSError(f"back-up folder {location} is missing or not writable")
        return
    # S3: one cheap request that needs the bucket and the credentials.
    bucket = storage.bucket  # type: ignore[attr-defined]
    bucket.meta.client.head_bucket(Bucket=bucket.name)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {"web": {"ok": True}}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
            ok = True
        except Exception:
            logger.exception("health check %s failed", name)
            ok = False
        checks[name] = {"ok": ok, "ms": round((time.monotonic() - started) * 1000, 1)}
    queue: dict[str, Any] = {}
    if checks["database"]["ok"]:
        state = queue_state()
        oldest = state["oldest_queued"]
        queue = {
            "queued": state["queued"],
            "running": state["running"],
            "oldest_queued_job": oldest.pk if oldest else None,
            "oldest_queued_at": oldest.queued_at.isoformat() if oldest else None,
            "oldest_queued_seconds": state["oldest_queued_seconds"],
        }
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "fout", "checks": checks, "queue": queue}
    return JsonResponse(body, status=200 if healthy else 503)
