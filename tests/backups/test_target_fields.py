"""The restore and .mdb forms render only the chosen target's fields as visible, so a refused form swapped in by
htmx (or shown without JavaScript) is right before any script runs."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.mdb.helpers import NWIND

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def hidden_targets(html: str) -> dict[str, bool]:
    return {name: bool(hidden) for name, hidden in re.findall(r'<div data-target-fields="(\w+)"( hidden)?>', html)}


def test_a_fresh_mdb_form_shows_only_the_online_target(client, cast) -> None:
    client.force_login(cast.owner)
    html = client.get("/administraties/bestaande-toevoegen/").content.decode()
    assert hidden_targets(html) == {"online": False, "local": True, "network": True}
    assert re.search(r"<div data-sql-login hidden>", html)


@pytest.mark.parametrize("location", ["online", "local", "network"])
def test_a_refused_mdb_form_shows_only_the_target_that_was_chosen(client, cast, location: str) -> None:
    client.force_login(cast.owner)
    broken = SimpleUploadedFile("kapot.mdb", NWIND.read_bytes()[:100_000], content_type="application/x-msaccess")
    response = client.post(
        "/administraties/bestaande-toevoegen/",
        {"file": broken, "location": location, "login_method": "sql"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert 'class="error"' in html  # refused: the fragment comes back with its messages
    assert hidden_targets(html) == {name: name != location for name in ("online", "local", "network")}
    assert ("<div data-sql-login hidden>" in html) is False
