from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from administrations.forms import RightForm
from administrations.models import Administration, Membership, Right, account_of


def get_administration_or_404(request: HttpRequest, pk: int) -> Administration:
    """The one way views find an administration: through the access rule; anything else is a 404."""
    queryset = Administration.objects.visible_to(request.user).select_related("account", "server")
    return get_object_or_404(queryset, pk=pk)


@login_required
@require_GET
def administration_list(request: HttpRequest) -> HttpResponse:
    administrations = (
        Administration.objects.visible_to(request.user)
        .select_related("account")
        .annotate(open_aftercare=Count("aftercare_items", filter=Q(aftercare_items__status="open")))
        .order_by("account__name", "name")
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
    manages = administration.is_managed_by(request.user)
    context = {
        "administration": administration,
        "manages": manages,
        "rights": administration.rights.select_related("user", "firm"),
        "bank_connections": administration.bank_connections.all(),
        "api_connections": administration.api_connections.all(),
    }
    if manages:
        from aftercare.views import panel_context

        context["aftercare"] = panel_context(administration)
    return render(request, "administrations/administration_detail.html", context)


def get_managed_administration_or_404(request: HttpRequest, pk: int) -> Administration:
    """Rights are managed by the main user and administrators of the owning account only."""
    administration = get_administration_or_404(request, pk)
    if not administration.is_managed_by(request.user):
        raise Http404
    return administration


def _rights_page(
    request: HttpRequest, administration: Administration, form: RightForm, status: int = 200
) -> HttpResponse:
    rights = administration.rights.select_related("user", "firm").order_by("grantee_kind", "pk")
    template = "administrations/partials/_rights.html" if request.htmx else "administrations/right_list.html"  # type: ignore[attr-defined]
    return render(request, template, {"administration": administration, "rights": rights, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def right_list(request: HttpRequest, pk: int) -> HttpResponse:
    """Administratie → Rechten: list, add."""
    administration = get_managed_administration_or_404(request, pk)
    form = RightForm(request.POST or None, administration=administration)
    if request.method == "POST":
        if not form.is_valid():
            return _rights_page(request, administration, form, status=400)
        grantee = form.cleaned_data["grantee"]
        Right.objects.create(
            administration=administration,
            grantee_kind=form.cleaned_data["grantee_kind"],
            role=form.cleaned_data["role"],
            granted_by=request.user,  # type: ignore[misc]
            **grantee,
        )
        messages.success(request, _("Het recht is toegevoegd."))
        form = RightForm(administration=administration)
    return _rights_page(request, administration, form)


@login_required
@require_POST
def right_change(request: HttpRequest, pk: int, right_pk: int, action: str) -> HttpResponse:
    """Block, unblock or remove a right; it takes effect on access at once."""
    administration = get_managed_administration_or_404(request, pk)
    right = get_object_or_404(Right, pk=right_pk, administration=administration)
    if action == "blokkeren":
        right.access_blocked = True
        right.save(update_fields=["access_blocked"])
    elif action == "deblokkeren":
        right.access_blocked = False
        right.save(update_fields=["access_blocked"])
    elif action == "verwijderen":
        right.delete()
    else:
        raise Http404
    return _rights_page(request, administration, RightForm(administration=administration))
