from __future__ import annotations

from django.http import HttpRequest

from administrations.permissions import access_for


def navigation(request: HttpRequest) -> dict[str, bool]:
    """Whether to show the firm's Klanten page in the top bar. Read from the request's permission table, which
    loads the user's memberships once (a page that asks the table anyway pays nothing extra)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"works_at_firm": False}
    return {"works_at_firm": access_for(request).works_at_firm()}
