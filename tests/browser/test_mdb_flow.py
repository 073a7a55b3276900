"""R14 in a real browser: Administraties → Bestaande administratie toevoegen → upload an old .mdb with the progress
bar → follow the job → land on the new administration. Jobs run synchronously when the request commits."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from administrations.models import Administration, Location
from tests.browser.conftest import log_in
from tests.mdb.helpers import NWIND, require_mdbtools

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_r14_add_an_old_mdb_as_a_new_local_administration_and_land_on_it(page: Any, live_server: Any, cast) -> None:
    require_mdbtools()
    log_in(page, live_server, "owner")
    page.get_by_role("link", name="Bestaande administratie toevoegen").click()
    page.wait_for_url(f"{live_server.url}/administraties/bestaande-toevoegen/")
    percents: list[str] = []
    page.on("console", lambda message: percents.append(message.text) if message.text.startswith("upload:") else None)
    page.evaluate(
        """() => document.addEventListener("htmx:xhr:progress", (e) => {
            if (e.detail.lengthComputable) console.log("upload:" + Math.round(e.detail.loaded / e.detail.total * 100));
        })"""
    )
    page.set_input_files("input[type=file]", str(NWIND))
    page.fill("input[name=name]", "Northwind Umsätze")
    # Only the chosen target's fields are shown.
    expect(page.locator("input[name=local_path]")).to_be_hidden()
    page.get_by_label("Lokaal").check()
    expect(page.locator("input[name=local_path]")).to_be_visible()
    page.fill("input[name=local_path]", "archief/northwind")
    page.get_by_role("button", name="Toevoegen als nieuwe administratie").click()
    page.wait_for_url(f"{live_server.url}/back-ups/taken/**")
    page.get_by_text("Het .mdb-bestand is toegevoegd als nieuwe administratie").wait_for()
    assert percents and percents[-1] == "upload:100"
    page.get_by_role("link", name="Naar de nieuwe administratie").click()
    administration = Administration.objects.get(name="Northwind Umsätze")
    page.wait_for_url(f"{live_server.url}/administraties/{administration.pk}/")
    assert administration.location == Location.LOCAL
    page.get_by_role("heading", name="Northwind Umsätze").wait_for()


def test_r14_a_broken_file_is_refused_on_the_same_screen(page: Any, live_server: Any, cast, tmp_path) -> None:
    require_mdbtools()
    broken = tmp_path / "kapot.mdb"
    broken.write_bytes(NWIND.read_bytes()[:100_000])
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/administraties/bestaande-toevoegen/")
    page.set_input_files("input[type=file]", str(broken))
    page.get_by_label("Ik ga akkoord met deze extra kosten").check()
    page.get_by_role("button", name="Toevoegen als nieuwe administratie").click()
    page.get_by_text("Het .mdb-bestand is beschadigd of niet volledig").wait_for()
    # After the swap the form still shows only the chosen target's fields.
    expect(page.locator("input[name=local_path]")).to_be_hidden()
    expect(page.get_by_text("Ik ga akkoord met deze extra kosten")).to_be_visible()
    assert not Administration.objects.filter(name="kapot").exists()
