"""One way to show dates, sizes and IBANs on every page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def nldate(value: Any, with_time: bool = True) -> str:
    """01-12-2026 18:39 in the portal's time zone, in a <time> element that never wraps."""
    if not value:
        return "–"
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        shown = formats.date_format(local, "DATETIME_FORMAT" if with_time else "DATE_FORMAT")  # portal/formats/
        return format_html('<time class="nowrap" datetime="{}">{}</time>', local.isoformat(), shown)
    if isinstance(value, date):
        return format_html(
            '<time class="nowrap" datetime="{}">{}</time>', value.isoformat(), formats.date_format(value, "DATE_FORMAT")
        )
    return str(value)


@register.filter
def nlsize(value: Any) -> str:
    """66,5 kB: decimal units, one decimal, the reader's decimal sign."""
    if value is None or value == "":
        return "–"
    size = float(value)
    if size < 1000:
        return _("%(count)s bytes") % {"count": int(size)}
    for unit in ("kB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000 or unit == "TB":
            return f"{formats.number_format(round(size, 1), 1)}\u00a0{unit}"
    return str(value)  # pragma: no cover


@register.filter
def iban(value: Any) -> str:
    """NL91 ABNA 0417 1643 00: groups of four, as on a bank card."""
    text = "".join(str(value or "").split()).upper()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
