"""The main pages under the Content-Security-Policy in a real browser: the browser reports no violation (it would
for an inline script, an inline event handler, a style attribute or htmx's own injected <style>), and the pieces
that used inline code still work: the language switch and an htmx swap with its request indicator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from administrations import bookkeeping
from administrations.models import Location
from administrations.services import Target, administration_create
from backups.models import Backup
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded by the page itself before any of its own scripts run.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
"""


def watch(page: Any) -> list[str]:
    console: list[str] = []
    page.add_init_script(LISTEN)
    page.on(
        "console",
        lambda message: console.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return console


def violations(page: Any) -> list[str]:
    return page.evaluate("window.__violations")


def test_no_policy_violation_on_the_main_pages(page: Any, live_server: Any, cast, tmp_path: Path) -> None:
    administration = administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=20),
    )
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup: Backup = backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")
    console = watch(page)
    page.goto(f"{live_server.url}/inloggen/")
    assert violations(page) == []
    page.goto(f"{live_server.url}/wachtwoord-vergeten/")
    assert violations(page) == []
    log_in(page, live_server, "owner")
    for path in [
        "/administraties/",
        f"/administraties/{administration.pk}/",
        f"/administraties/{administration.pk}/rechten/",
        "/administraties/bestaande-toevoegen/",
        "/back-ups/",
        f"/back-ups/{backup.pk}/",
        f"/back-ups/{backup.pk}/terugzetten/",
        "/back-ups/terugzetten/",
        "/back-ups/uploaden/",
    ]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        page.locator("main").wait_for()
        assert violations(page) == [], path

    # An htmx request (a refused upload swaps its form back in) runs with the indicator styles from portal.css.
    page.goto(f"{live_server.url}/back-ups/uploaden/")
    bogus = tmp_path / "nep.zip"
    bogus.write_bytes(b"PK" * 10)
    page.set_input_files("input[type=file]", str(bogus))
    page.get_by_role("button", name="Uploaden").click()
    page.locator("main .error", has_text="Kies een .bacpac-bestand.").wait_for()
    assert page.locator("head style").count() == 0
    assert violations(page) == []
    assert console == []


def test_the_language_switch_works_without_an_inline_handler(page: Any, live_server: Any, cast) -> None:
    console = watch(page)
    log_in(page, live_server, "owner")
    page.select_option("select[name=language]", "en")
    # Picking a language sends nothing yet (keyboard users move through the choices); the Kies button does.
    page.locator("form.langswitch").get_by_role("button", name="Kies").click()
    page.get_by_role("heading", name="Administrations").wait_for()
    assert violations(page) == [] and console == []
