"""Writing the audit trail. Views call `record` with the request, so actor and address are the real ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from portal.models import AuditEvent

if TYPE_CHECKING:
    from administrations.models import Account, Administration


def client_address(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says unless a trusted proxy sets it.
    return request.META.get("REMOTE_ADDR") or None


def record(
    request: HttpRequest | None,
    action: str,
    *,
    actor: Any = None,
    administration: Administration | None = None,
    account: Account | None = None,
    administration_name: str = "",
    target: str = "",
    ip_address: str | None = None,
    **details: Any,
) -> AuditEvent:
    """One line of the trail. Work done later by a job passes no request: then `actor` and `ip_address` say who
    asked for it and from where."""
    user: Any = actor if actor is not None else (request.user if request is not None else None)
    if user is not None and not user.is_authenticated:
        user = None
    return AuditEvent.objects.create(
        action=action,
        actor=user,
        actor_name=(user.get_full_name() or user.username) if user is not None else "",
        ip_address=client_address(request) if request is not None else ip_address,
        account=account or (administration.account if administration is not None else None),
        administration=administration,
        administration_name=administration.name if administration is not None else administration_name,
        target=target[:300],
        details=details,
    )
