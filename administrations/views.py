from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from administrations.models import Administration


def get_administration_or_404(request: HttpRequest, pk: int) -> Administration:
    """The one way views find an administration: through the access rule; anything else is a 404."""
    queryset = Administration.objects.visible_to(request.user).select_related("account", "server")
    return get_object_or_404(queryset, pk=pk)


@login_required
@require_GET
def administration_list(request: HttpRequest) -> HttpResponse:
    administrations = (
        Administration.objects.visible_to(request.user).select_related("account").order_by("account__name", "name")
    )
    own_account_ids = set(request.user.memberships.values_list("account_id", flat=True))  # type: ignore[union-attr]
    return render(
        request,
        "administrations/administration_list.html",
        {"administrations": administrations, "own_account_ids": own_account_ids},
    )


@login_required
@require_GET
def administration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    administration = get_administration_or_404(request, pk)
    return render(
        request,
        "administrations/administration_detail.html",
        {
            "administration": administration,
            "manages": administration.is_managed_by(request.user),
            "rights": administration.rights.select_related("user", "firm"),
            "bank_connections": administration.bank_connections.all(),
            "api_connections": administration.api_connections.all(),
        },
    )
