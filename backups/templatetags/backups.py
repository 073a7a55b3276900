"""`{% backup_warnings administrations %}`: what is wrong with the back-ups of these administrations (the warnings
the e-mail sends, backups.notifications), for the people the e-mail goes to; nothing at all when nothing is wrong.
A tag, so the Administraties page shows it without the administrations app reaching into back-ups."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.template.loader import render_to_string

from administrations.models import Administration, account_of
from administrations.permissions import Action, access_for
from backups.notifications import warnings_for

register = template.Library()


@register.simple_tag(takes_context=True)
def backup_warnings(context: template.Context, administrations: Iterable[Administration]) -> str:
    request = context["request"]
    access = access_for(request)
    # The e-mail goes to the owning account's main users and administrators: they see the same warnings here.
    ids = [a.pk for a in administrations if access.allows(a, Action.MESSAGES_MANAGE)]
    found = warnings_for(Administration.objects.filter(pk__in=ids)) if ids else []
    if not found:
        return ""
    context_for = {
        "warnings": found,
        "can_set_messages": access.allows(account_of(request.user), Action.MESSAGES_MANAGE),
    }
    return render_to_string("backups/partials/_warnings.html", context_for, request=request)
