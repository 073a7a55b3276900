"""`{% aftercare_panel administration %}`: the aftercare to-do panel wherever an administration is shown (the
administration's page, the aftercare page), with nothing at all when there is nothing to do."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string

from administrations.models import Administration
from aftercare.views import panel_context

register = template.Library()


@register.simple_tag(takes_context=True)
def aftercare_panel(context: template.Context, administration: Administration) -> str:
    data = panel_context(administration)
    if not data["total"]:
        return ""
    reader: dict[str, Any] = {"request": context.get("request"), "csrf_token": context.get("csrf_token")}
    return render_to_string("aftercare/partials/_panel.html", {**reader, **data}, request=context.get("request"))
