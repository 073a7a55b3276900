"""The aftercare panel of a restored administration and its one-click actions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from administrations.models import Administration
from administrations.permissions import Action, access_for, refuse
from administrations.views import card_context, get_administration_or_404
from aftercare import services
from aftercare.forms import MailboxForm
from aftercare.models import AftercareItem
from portal import audit
from portal.http import FORM_REFUSED, PortalRequest
from portal.models import AuditEvent


def panel_context(administration: Administration, **extra: object) -> dict[str, object]:
    items = list(
        AftercareItem.objects.filter(administration=administration).select_related(
            "right__user", "right__firm", "api_connection", "bank_connection"
        )
    )
    done = sum(1 for item in items if not item.is_open)
    return {"administration": administration, "items": items, "done": done, "total": len(items), **extra}


@login_required
@require_GET
def aftercare_panel(request: PortalRequest, pk: int) -> HttpResponse:
    administration = get_administration_or_404(request, pk)
    decision = access_for(request).decide(administration, Action.AFTERCARE_RESOLVE)
    if not decision:
        return refuse(request, decision, back=reverse("administrations:detail", args=[administration.pk]))
    context = panel_context(administration)
    template = "aftercare/partials/_panel.html" if request.htmx else "aftercare/aftercare_list.html"
    return render(request, template, context)


AUDITED = {
    "toegang-geven": AuditEvent.Action.RIGHT_UNBLOCKED,
    "recht-verwijderen": AuditEvent.Action.RIGHT_REMOVED,
    "sleutel": AuditEvent.Action.API_KEY_GENERATED,
}

ACTIONS = {
    "toegang-geven": services.right_grant,
    "recht-verwijderen": services.right_remove,
    "opnieuw-koppelen": services.bank_relink,
    "aangevraagd": services.bank_requested,
    "afgerond": services.item_done,
    "niet-nodig": services.item_dismiss,
}


@login_required
@require_POST
def aftercare_action(request: PortalRequest, pk: int, action: str) -> HttpResponse:
    item = get_object_or_404(AftercareItem.objects.select_related("administration"), pk=pk)
    administration = get_administration_or_404(request, item.administration_id)
    decision = access_for(request).decide(administration, Action.AFTERCARE_RESOLVE)
    if not decision:
        return refuse(request, decision, back=reverse("administrations:detail", args=[administration.pk]))
    user = request.user
    extra: dict[str, object] = {}
    target = item.title
    try:
        if action == "sleutel":
            extra["new_key"] = services.api_key_generate(item=item, user=user)
            extra["new_key_item"] = item.pk
        elif action == "mailbox":
            form = MailboxForm(request.POST)
            if not form.is_valid():
                extra["mailbox_error"] = form.errors["address"][0]
            else:
                services.mailbox_setup(item=item, user=user, address=form.cleaned_data["address"])
        elif action in ACTIONS:
            ACTIONS[action](item=item, user=user)
        else:
            raise Http404
    except services.AftercareError as error:
        extra["error"] = error.user_message
    else:
        event = AUDITED.get(action)
        if event and "mailbox_error" not in extra:
            audit.record(request, event, administration=administration, target=target)
    status = FORM_REFUSED if "error" in extra or "mailbox_error" in extra else 200
    if request.htmx:
        # The key is shown once, in this answer only. On the administration's page the Rechten, Koppelingen and
        # Logboek cards change with the action: they come along as out-of-band swaps, so the page never
        # contradicts itself.
        html = render_to_string("aftercare/partials/_panel.html", panel_context(administration, **extra), request)
        if request.htmx.current_url_abs_path == reverse("administrations:detail", args=[administration.pk]):
            fresh = Administration.objects.select_related("mailbox").get(pk=administration.pk)
            cards = {**card_context(fresh, with_log=True), "oob": True}
            for card in ("_rights_card", "_connections_card", "_log_card"):
                html += render_to_string(f"administrations/partials/{card}.html", cards, request)
        return HttpResponse(html, status=status)
    if extra:
        # A plain form post shows the key (or the refusal) on the page it renders.
        return render(request, "aftercare/aftercare_list.html", panel_context(administration, **extra), status=status)
    return redirect("aftercare:panel", pk=administration.pk)
