from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from administrations.models import Administration, Membership, account_of


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
    memberships = list(request.user.memberships.values_list("account_id", "role"))  # type: ignore[union-attr]
    own_account_ids = {account_id for account_id, _ in memberships}
    managed_account_ids = {
        a for a, role in memberships if role in (Membership.Role.MAIN, Membership.Role.ADMINISTRATOR)
    }
    account = account_of(request.user)
    return render(
        request,
        "administrations/administration_list.html",
        {
            "administrations": administrations,
            "own_account_ids": own_account_ids,
            "managed_account_ids": managed_account_ids,
            "can_restore": bool(
                account and account.capabilities.can_restore_backups and account.pk in managed_account_ids
            ),
        },
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
