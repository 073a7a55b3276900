from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from administrations.forms import RightForm
from administrations.models import Account, Administration, Right, account_of, firm_of
from administrations.permissions import Action, access_for, refuse
from administrations.services import firm_revoke_backup_applies, right_remove
from backups.models import Backup
from portal import audit
from portal.errors import PortalError
from portal.http import FORM_REFUSED, PortalRequest
from portal.models import AuditEvent


def schedules_by_administration(ids: list[int]) -> dict[int, Any]:
    """The switched-on automatic back-ups of these administrations, in one query."""
    from backups.models import BackupSchedule

    found = BackupSchedule.objects.filter(administration_id__in=ids, enabled=True).select_related("last_job")
    return {s.administration_id: s for s in found}


def get_administration_or_404(request: PortalRequest, pk: int) -> Administration:
    """The one way views find an administration: through the access rule; anything else is a 404."""
    queryset = Administration.objects.visible_to(request.user).select_related("account", "server")
    return get_object_or_404(queryset, pk=pk)


@login_required
@require_GET
def administration_list(request: PortalRequest) -> HttpResponse:
    administrations = (
        Administration.objects.visible_to(request.user)
        .select_related("account")
        .annotate(open_aftercare=Count("aftercare_items", filter=Q(aftercare_items__status="open")))
        .order_by("account__name", "name")
    )
    memberships = list(request.user.memberships.values_list("account_id", "role"))
    own_account_ids = {account_id for account_id, _ in memberships}
    account = account_of(request.user)
    rows = list(administrations)
    schedules = schedules_by_administration([a.pk for a in rows])
    for administration in rows:
        administration.schedule = schedules.get(administration.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "administrations/administration_list.html",
        {
            "administrations": rows,
            "own_account_ids": own_account_ids,
            "can_restore": access_for(request).allows(account, Action.BACKUP_RESTORE),
        },
    )


@login_required
@require_GET
def administration_detail(request: PortalRequest, pk: int) -> HttpResponse:
    administration = get_administration_or_404(request, pk)
    manages = access_for(request).allows(administration, Action.RIGHTS_MANAGE)
    context = {
        "schedule": schedules_by_administration([administration.pk]).get(administration.pk),
        "manages": manages,
        "resolves_aftercare": access_for(request).allows(administration, Action.AFTERCARE_RESOLVE),
        **card_context(administration, with_log=manages),
    }
    return render(request, "administrations/administration_detail.html", context)


def card_context(administration: Administration, *, with_log: bool) -> dict[str, object]:
    """What the Rechten, Koppelingen and Logboek cards of an administration's page show; the aftercare actions
    send the same cards along when they change them."""
    context: dict[str, object] = {
        "administration": administration,
        "rights": administration.rights.select_related("user", "firm"),
        "bank_connections": administration.bank_connections.all(),
        "api_connections": administration.api_connections.all(),
    }
    if with_log:
        context["events"] = AuditEvent.objects.filter(administration=administration)[:20]
    return context


def get_managed_administration_or_404(request: PortalRequest, pk: int) -> Administration | HttpResponse:
    """Rights are managed by whom the permission table says (the main user and administrators of the owning
    account); someone who sees the administration but may not manage its rights is told so (403)."""
    administration = get_administration_or_404(request, pk)
    decision = access_for(request).decide(administration, Action.RIGHTS_MANAGE)
    if not decision:
        return refuse(request, decision, back=reverse("administrations:detail", args=[administration.pk]))
    return administration


def _rights_page(
    request: PortalRequest, administration: Administration, form: RightForm, status: int = 200
) -> HttpResponse:
    rights = administration.rights.select_related("user", "firm").order_by("grantee_kind", "pk")
    template = "administrations/partials/_rights.html" if request.htmx else "administrations/right_list.html"
    return render(request, template, {"administration": administration, "rights": rights, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def right_list(request: PortalRequest, pk: int) -> HttpResponse:
    """Administratie → Rechten: list, add."""
    administration = get_managed_administration_or_404(request, pk)
    if isinstance(administration, HttpResponse):
        return administration
    form = RightForm(request.POST or None, administration=administration)
    if request.method == "POST":
        if not form.is_valid():
            return _rights_page(request, administration, form, status=FORM_REFUSED)
        grantee = form.cleaned_data["grantee"]
        right = Right.objects.create(
            administration=administration,
            grantee_kind=form.cleaned_data["grantee_kind"],
            role=form.cleaned_data["role"],
            granted_by=request.user,
            **grantee,
        )
        audit.record(request, AuditEvent.Action.RIGHT_GIVEN, administration=administration, target=str(right.grantee))
        messages.success(request, _("Het recht is toegevoegd."))
        form = RightForm(administration=administration)
    return _rights_page(request, administration, form)


@login_required
@require_POST
def right_change(request: PortalRequest, pk: int, right_pk: int, action: str) -> HttpResponse:
    """Block or unblock a right; it takes effect on access at once."""
    administration = get_managed_administration_or_404(request, pk)
    if isinstance(administration, HttpResponse):
        return administration
    right = get_object_or_404(Right, pk=right_pk, administration=administration)
    if action not in ("blokkeren", "deblokkeren"):
        raise Http404
    right.access_blocked = action == "blokkeren"
    right.save(update_fields=["access_blocked"])
    event = AuditEvent.Action.RIGHT_BLOCKED if right.access_blocked else AuditEvent.Action.RIGHT_UNBLOCKED
    audit.record(request, event, administration=administration, target=str(right.grantee))
    return _rights_page(request, administration, RightForm(administration=administration))


@login_required
@require_http_methods(["GET", "POST"])
def right_remove_view(request: PortalRequest, pk: int, right_pk: int) -> HttpResponse:
    """Remove a right after confirmation. For a firm, the page says first whether the firm gets an automatic
    back-up up to this moment (and the removal starts it)."""
    administration = get_managed_administration_or_404(request, pk)
    if isinstance(administration, HttpResponse):
        return administration
    right = get_object_or_404(Right.objects.select_related("firm", "user"), pk=right_pk, administration=administration)
    backs_up = firm_revoke_backup_applies(right)
    if request.method == "POST":
        try:
            right_remove(right=right, user=request.user)
        except PortalError as refused:
            messages.error(request, refused.user_message)
        else:
            audit.record(
                request, AuditEvent.Action.RIGHT_REMOVED, administration=administration, target=str(right.grantee)
            )
            if backs_up:
                messages.info(
                    request,
                    _("Het recht is verwijderd. %(firm)s krijgt een back-up tot nu in het eigen overzicht.")
                    % {"firm": right.grantee},
                )
            else:
                messages.success(request, _("Het recht is verwijderd."))
        return redirect("administrations:rights", pk=administration.pk)
    return render(
        request,
        "administrations/right_confirm_delete.html",
        {"administration": administration, "right": right, "backs_up": backs_up},
    )


def _client_administrations(firm: Account) -> QuerySet[Administration]:
    """The firm's client administrations it may see (unblocked rights), with the last back-up the firm made of
    each: one query whatever the number of clients."""
    latest = Backup.objects.filter(account=firm, administration=OuterRef("pk")).order_by("-created_at", "-pk")
    return (
        Administration.objects.filter(rights__firm=firm, rights__access_blocked=False)
        .exclude(account=firm)
        .select_related("account")
        .annotate(
            last_backup_at=Subquery(latest.values("created_at")[:1]),
            last_backup_status=Subquery(latest.values("status")[:1]),
        )
        .order_by("account__name", "name")
    )


@login_required
@require_GET
def firm_dashboard(request: PortalRequest) -> HttpResponse:
    """Kantoor: the firm's client administrations, grouped by client, with the last back-up the firm made of each.
    A constant number of queries whatever the number of clients."""
    firm = firm_of(request.user)
    if firm is None:
        raise Http404
    administrations = _client_administrations(firm)
    # Clients that blocked the firm are named, so a missing client is explained rather than silently absent.
    blocked = (
        Administration.objects.filter(rights__firm=firm, rights__access_blocked=True)
        .exclude(account=firm)
        .exclude(pk__in=administrations.values("pk"))
        .select_related("account")
        .order_by("account__name", "name")
    )
    return render(
        request,
        "administrations/firm_dashboard.html",
        {"firm": firm, "administrations": administrations, "blocked": blocked},
    )


@login_required
@require_GET
def firm_client_row(request: PortalRequest, pk: int) -> HttpResponse:
    """One row of Klanten, polled while the firm's back-up of it is being made (so the row turns to Klaar)."""
    firm = firm_of(request.user)
    if firm is None:
        raise Http404
    administration = get_object_or_404(_client_administrations(firm), pk=pk)
    return render(request, "administrations/partials/_client_row.html", {"administration": administration})
