"""One Dutch format everywhere: dates as 01-12-2026 18:39 in Europe/Amsterdam that never wrap, sizes as 66,5 kB,
IBANs in groups of four; and the administration's Logboek is on the page, not in its <title>."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from portal import audit
from portal.models import AuditEvent
from tests.helpers import element, text_of

pytestmark = pytest.mark.django_db


def render(source: str, **context: object) -> str:
    return Template("{% load portal %}" + source).render(Context(context))


def test_a_date_is_one_short_dutch_format_in_amsterdam_time_that_never_wraps() -> None:
    html = render("{{ when|nldate }}", when=datetime(2026, 12, 1, 17, 39, tzinfo=UTC))
    time = element(html, "time")
    assert time.get_text() == "01-12-2026 18:39" and "nowrap" in time["class"]


@pytest.mark.parametrize(
    ("size", "dutch", "english"),
    [
        (66_500, "66,5\u00a0kB", "66.5\u00a0kB"),
        (812, "812 bytes", "812 bytes"),
        (3_400_000_000, "3,4\u00a0GB", "3.4\u00a0GB"),
    ],
)
def test_sizes_read_66_5_kb_with_the_readers_decimal_sign(size: int, dutch: str, english: str) -> None:
    with translation.override("nl"):
        assert render("{{ size|nlsize }}", size=size) == dutch
    with translation.override("en"):
        assert render("{{ size|nlsize }}", size=size) == english


def test_an_iban_is_grouped_by_four() -> None:
    assert render("{{ iban|iban }}", iban="nl91abna0417164300") == "NL91 ABNA 0417 1643 00"


def test_the_logboek_is_inside_main_and_not_in_the_title(client, cast) -> None:
    audit.record(
        None, AuditEvent.Action.RIGHT_GIVEN, actor=cast.owner, administration=cast.administration, target="Piet"
    )
    client.force_login(cast.owner)
    page = client.get(reverse("administrations:detail", args=[cast.administration.pk]))
    assert "Logboek" not in text_of(page, "title")
    main = text_of(page, "main")
    assert "Logboek" in main and "Recht gegeven" in main and "Piet" in main
