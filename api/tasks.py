"""django-q2 tasks for webhook deliveries: one attempt per task, retries scheduled with exponential backoff."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from api.models import WebhookDelivery
from api.webhooks import send
from backups import credentials

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int) -> int:
    """Seconds before attempt `attempt + 1`: the base doubled after every failed attempt."""
    return int(settings.WEBHOOK_RETRY_BASE_SECONDS) * 2 ** (attempt - 1)


def deliver(delivery_id: int) -> str:
    """Send a delivery once; on failure schedule the next attempt, until WEBHOOK_MAX_ATTEMPTS is reached."""
    from django_q.models import Schedule

    delivery = (
        WebhookDelivery.objects.select_related("webhook")
        .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .first()
    )
    if delivery is None:
        return "not pending"
    webhook = delivery.webhook
    outcome = send(
        webhook.url,
        body=delivery.body.encode(),
        secret=credentials.decrypt(webhook.secret),
        event=delivery.event,
        delivery_id=str(delivery.event_id),
    )
    now = timezone.now()
    delivery.attempts += 1
    delivery.status_code = outcome.status_code
    delivery.response_ms = outcome.response_ms
    delivery.error = outcome.error
    delivery.last_attempt_at = now
    delivery.log = [
        *delivery.log,
        {"at": now.isoformat(), "status_code": outcome.status_code, "ms": outcome.response_ms, "error": outcome.error},
    ]
    if outcome.delivered:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
        Schedule.objects.create(
            name=f"webhook-{delivery.pk}-poging-{delivery.attempts + 1}",
            func="api.tasks.deliver",
            args=str(delivery.pk),
            schedule_type=Schedule.ONCE,
            repeats=-1,
            next_run=delivery.next_attempt_at,
        )
    delivery.save()
    if not outcome.delivered:
        logger.info("webhook delivery %s attempt %s: %s", delivery.pk, delivery.attempts, outcome.error)
    return delivery.status
