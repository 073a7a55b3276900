"""`{% decide thing "action" as name %}`: the permission table in a template. `name` is truthy when the user may do
it, and `name.reason` says why not. Answered from the request's Access, so a list page asks nothing per row."""

from __future__ import annotations

from typing import Any

from django import template

from administrations.permissions import Decision, access_for

register = template.Library()


@register.simple_tag(takes_context=True)
def decide(context: dict[str, Any], subject: Any, action: str) -> Decision:
    return access_for(context["request"]).decide(subject, action)
