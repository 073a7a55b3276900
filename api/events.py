"""Webhook events: what the back-up jobs and aftercare tell, turned into deliveries for the account's webhooks.

Listens to `backups.jobs.job_finished` (back-up ready/failed, restore finished/failed) and
`aftercare.services.aftercare_completed`. Each matching webhook gets a delivery row; the django-q2 task that sends it
is queued when the surrounding transaction commits.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from administrations.models import Account
from api.models import Event, Webhook, WebhookDelivery
from backups.models import Backup, Job


def connect() -> None:
    from aftercare.services import aftercare_completed
    from backups.jobs import job_finished

    job_finished.connect(_job_finished, dispatch_uid="api-webhooks-job-finished")
    aftercare_completed.connect(_aftercare_completed, dispatch_uid="api-webhooks-aftercare-completed")


def enqueue_delivery(delivery_id: int) -> None:
    from django_q.tasks import async_task

    def send() -> None:
        sync = bool(settings.Q_CLUSTER.get("sync", False))
        async_task("api.tasks.deliver", delivery_id, task_name=f"webhook-{delivery_id}", group="webhook", sync=sync)

    transaction.on_commit(send)


def emit(account: Account | int, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue `event` for every active webhook of the account that chose it."""
    account_id = account.pk if isinstance(account, Account) else account
    deliveries = []
    for webhook in Webhook.objects.filter(account_id=account_id, active=True):
        if event not in webhook.events:
            continue
        event_id = uuid.uuid4()
        body = json.dumps(
            {"id": str(event_id), "event": event, "created_at": timezone.now().isoformat(), "data": data},
            sort_keys=True,
        )
        delivery = WebhookDelivery.objects.create(webhook=webhook, event=event, event_id=event_id, body=body)
        enqueue_delivery(delivery.pk)
        deliveries.append(delivery)
    return deliveries


def backup_data(backup: Backup, job: Job | None) -> dict[str, Any]:
    return {
        "backup_id": backup.pk,
        "administration_id": backup.administration_id,
        "administration_name": backup.administration_name,
        "status": backup.status,
        "size": backup.size,
        "sha256": backup.sha256 or None,
        "job_id": job.pk if job else None,
        "message": job.message_text if job else "",
    }


def _job_finished(sender: Any, *, job: Job, **kwargs: Any) -> None:
    job = Job.objects.select_related("backup", "result_administration").get(pk=job.pk)
    succeeded = job.status == Job.Status.SUCCEEDED
    if job.kind in (Job.Kind.EXPORT, Job.Kind.VERIFY_UPLOAD):
        backup = job.backup
        if backup is None:
            if succeeded:
                return
            emit(
                job.account_id, Event.BACKUP_FAILED, {"backup_id": None, "job_id": job.pk, "message": job.message_text}
            )
            return
        emit(backup.account_id, Event.BACKUP_READY if succeeded else Event.BACKUP_FAILED, backup_data(backup, job))
    elif job.kind == Job.Kind.RESTORE:
        result = job.result_administration
        emit(
            job.account_id,
            Event.RESTORE_FINISHED if succeeded else Event.RESTORE_FAILED,
            {
                "job_id": job.pk,
                "backup_id": job.backup_id,
                "administration_id": result.pk if result else None,
                "administration_name": job.params.get("name", ""),
                "message": job.message_text,
            },
        )


def _aftercare_completed(sender: Any, *, administration: Any, **kwargs: Any) -> None:
    emit(
        administration.account_id,
        Event.AFTERCARE_COMPLETED,
        {"administration_id": administration.pk, "administration_name": administration.name},
    )
