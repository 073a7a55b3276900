from __future__ import annotations

from django.http import HttpRequest

from administrations.models import Membership, Package


def navigation(request: HttpRequest) -> dict[str, bool]:
    """Whether to show the firm's Klanten page in the top bar (one small query for logged-in users)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"works_at_firm": False}
    return {"works_at_firm": Membership.objects.filter(user_id=user.pk, account__package=Package.ACCOUNTANT).exists()}
