"""Idempotency-Key for requests that start a job: a retry with the same key gets the first answer, never a second
job. The key, the token, a hash of the request and the answer are stored; the answer is only stored when the
request succeeded, so a refused request may be retried with the same key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from api.errors import ApiError
from api.models import ApiToken, IdempotencyKey

Answer = tuple[int, dict[str, Any]]


def _fingerprint(operation: str, payload: Any) -> str:
    return hashlib.sha256(json.dumps([operation, payload], sort_keys=True, default=str).encode()).hexdigest()


def _replay(record: IdempotencyKey, request_hash: str) -> Answer:
    if record.request_hash != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            _("Deze Idempotency-Key is al gebruikt voor een ander verzoek. Kies een nieuwe sleutel."),
        )
    if record.status_code is None or record.response is None:
        raise ApiError(409, "idempotency_in_progress", _("Een verzoek met deze Idempotency-Key is nog bezig."))
    return record.status_code, record.response


def run_once(
    request: HttpRequest, key: str | None, operation: str, payload: Any, action: Callable[[], Answer]
) -> tuple[Answer, bool]:
    """Run `action` once per (token, key); returns its answer and whether it was replayed."""
    if key is None:
        return action(), False
    key = key.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise ApiError(400, "invalid_idempotency_key", _("Een Idempotency-Key is 1 tot 255 leesbare tekens lang."))
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    request_hash = _fingerprint(operation, payload)
    expired_before = timezone.now() - timedelta(seconds=settings.API_IDEMPOTENCY_SECONDS)
    with transaction.atomic():
        IdempotencyKey.objects.filter(token=token, key=key, created_at__lt=expired_before).delete()
        existing = IdempotencyKey.objects.filter(token=token, key=key).first()
        if existing is not None:
            return _replay(existing, request_hash), True
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    token=token, key=key, operation=operation[:300], request_hash=request_hash
                )
        except IntegrityError:
            # The same key arrived at the same time; that request has committed by now (the unique index waited).
            return _replay(IdempotencyKey.objects.get(token=token, key=key), request_hash), True
        status, body = action()
        record.status_code, record.response = status, body
        record.save(update_fields=["status_code", "response"])
    return (status, body), False
