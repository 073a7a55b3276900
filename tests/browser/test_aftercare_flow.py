"""Aftercare in the browser: restore an administration with a firm right, an API connection, ABN AMRO and ING
connections and a mailbox, then work off every to-do until the panel says all is done (R20–R24)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from administrations import bookkeeping
from administrations.models import ApiConnection, Bank, BankConnection, Location, Mailbox, Right
from administrations.services import Target, administration_create
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import backup_create
from backups.tasks import run_job
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def restored_with_everything(cast) -> Any:
    """An administration restored from one with a firm right, an API connection, two banks and a mailbox."""
    source = administration_create(
        account=cast.account,
        name="Bron",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=30),
    )
    Right.objects.create(administration=source, grantee_kind=Right.Grantee.FIRM, firm=cast.firm)
    ApiConnection.objects.create(administration=source, partner="Webwinkel BV")
    BankConnection.objects.create(administration=source, bank=Bank.ABN_AMRO, iban="NL91ABNA0417164300")
    BankConnection.objects.create(administration=source, bank=Bank.ING, iban="NL69INGB0123456789")
    Mailbox.objects.create(administration=source, address="inkoop@bron.nl")
    job = backup_create(administration=source, user=cast.owner, enqueue=False)
    run_job(job.pk)
    backup = Backup.objects.get(pk=job.backup_id)
    restore = restore_start(
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="Kopie",
        target=Target(Location.ONLINE),
        cost_confirmed=True,
        enqueue=False,
    )
    run_job(restore.pk)
    return Job.objects.get(pk=restore.pk).result_administration


def test_r20_r24_work_off_every_to_do_after_a_restore(page: Any, live_server: Any, cast) -> None:
    restored = restored_with_everything(cast)

    log_in(page, live_server, "owner")
    page.locator("a.badge", has_text="5 nazorgtaken").click()
    panel = page.locator("#aftercare-panel")
    panel.get_by_text("0 van 5 afgerond").wait_for()

    def todo(text: str) -> Any:
        return panel.locator("li.todo-item", has_text=text)

    todo("Kantoor Test").get_by_role("button", name="Toegang geven").click()
    panel.get_by_text("1 van 5 afgerond").wait_for()
    todo("Webwinkel BV").get_by_role("button", name="Genereer een nieuwe sleutel").click()
    key = panel.locator("code.key").inner_text()
    assert ApiConnection.hash_key(key) == restored.api_connections.get().key_hash
    todo("ABN AMRO").get_by_role("button", name="Koppel opnieuw").click()
    panel.get_by_text("3 van 5 afgerond").wait_for()
    todo("ING").get_by_role("button", name="Ik heb de koppeling aangevraagd").click()
    panel.get_by_text("4 van 5 afgerond").wait_for()
    todo("Mailbox").get_by_label("E-mailadres van de mailbox").fill("post@kopie.nl")
    todo("Mailbox").get_by_role("button", name="Mailbox instellen").click()
    panel.get_by_text("Alles afgerond").wait_for()

    assert restored.is_visible_to(cast.firm_staff)
    assert list(
        BankConnection.objects.filter(iban="NL91ABNA0417164300", status="active").values_list(
            "administration", flat=True
        )
    ) == [restored.pk]
    page.goto(f"{live_server.url}/administraties/")
    assert page.locator("a.badge", has_text="nazorgta").count() == 0


def test_on_the_administrations_page_the_cards_below_follow_the_panel(page: Any, live_server: Any, cast) -> None:
    """Giving the firm access from the panel on the administration's own page changes the Rechten card and adds
    the line to the Logboek below it, without a reload."""
    restored = restored_with_everything(cast)
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/administraties/{restored.pk}/")
    rights, log = page.locator("#rights-card"), page.locator("#log-card")
    expect(rights).to_contain_text("Geblokkeerd")
    expect(log).not_to_contain_text("Toegang gegeven")

    page.locator("#aftercare-panel li.todo-item", has_text="Kantoor Test").get_by_role(
        "button", name="Toegang geven"
    ).click()

    expect(rights).not_to_contain_text("Geblokkeerd")
    expect(log).to_contain_text("Toegang gegeven")
