"""A firm user's day in the browser: log in, see the clients, back up a client's administration, find it in the
firm's own overview."""

from __future__ import annotations

from typing import Any

import pytest

from administrations import bookkeeping
from administrations.models import Location
from administrations.services import Target, administration_create
from backups.models import Backup
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_firm_users_day(page: Any, live_server: Any, cast) -> None:
    client_administration = administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=50),
    )
    from administrations.models import Right

    Right.objects.create(administration=client_administration, grantee_kind=Right.Grantee.FIRM, firm=cast.firm)

    log_in(page, live_server, "firmstaff")
    page.get_by_role("link", name="Klanten").click()
    client_card = page.locator("section.client", has_text="Bakkerij Test")
    client_card.get_by_text("Nog geen").first.wait_for()
    row = page.locator(f"#client-administration-{client_administration.pk}")
    row.get_by_role("button", name="Back-up maken").click()
    # Back on Klanten, where the firm started, with word of where the back-up goes.
    page.wait_for_url(f"{live_server.url}/administraties/kantoor/")
    page.locator("main .messages").get_by_text("Hij komt in het overzicht van je kantoor").wait_for()
    page.locator(f"#client-administration-{client_administration.pk}").get_by_text("Klaar").wait_for()
    backup = Backup.objects.get()
    assert backup.account == cast.firm and backup.client_account == cast.account
    page.get_by_role("link", name="Overzicht Online Back-up").click()
    backup_row = page.locator("tbody tr", has_text="Bakkerij Online")
    backup_row.get_by_text("klant: Bakkerij Test").wait_for()
    backup_row.get_by_text("Klaar").wait_for()
