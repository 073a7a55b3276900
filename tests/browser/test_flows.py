"""The main flows of the article as a user walks them, in a real browser (R7, R8, R9, R11, R12, R14, R17).

Jobs run synchronously when their request's transaction commits (django-q2 sync mode), so a job page may already
show the result when it first loads; the polling itself is covered by the view tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from administrations import bookkeeping
from administrations.models import Administration, Location
from administrations.services import Target, administration_create
from backups.bacpac import verify
from backups.models import Backup
from tests.backups.helpers import SAMPLES, table_checksums
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def online(cast) -> Administration:
    return administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=200),
    )


def test_r7_r8_make_an_online_back_up_see_it_ready_and_download_a_file_that_verifies(
    page: Any, live_server: Any, cast, online, tmp_path: Path
) -> None:
    log_in(page, live_server, "owner")
    row = page.locator(f"#administration-{online.pk}")
    row.get_by_role("button", name="Back-up maken").click()
    page.wait_for_url(f"{live_server.url}/back-ups/")
    backup_row = page.locator("tbody tr", has_text="Bakkerij Online")
    backup_row.get_by_text("Klaar").wait_for()
    with page.expect_download() as download_info:
        backup_row.get_by_role("link", name="Downloaden").click()
    file = tmp_path / "download.bacpac"
    download_info.value.save_as(file)
    inspection = verify(file)
    assert {t.name: t.rows for t in inspection.tables}["journaalregels"] == 200
    assert download_info.value.suggested_filename.startswith("bakkerij-online-")


def test_r11_upload_a_sample_with_the_progress_bar_reaching_100(page: Any, live_server: Any, cast) -> None:
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/back-ups/uploaden/")
    percents: list[str] = []
    page.on("console", lambda message: percents.append(message.text) if message.text.startswith("upload:") else None)
    page.evaluate(
        """() => document.addEventListener("htmx:xhr:progress", (e) => {
            if (e.detail.lengthComputable) console.log("upload:" + Math.round(e.detail.loaded / e.detail.total * 100));
        })"""
    )
    page.set_input_files("input[type=file]", str(SAMPLES / "AdventureWorksLT.bacpac"))
    page.get_by_role("button", name="Uploaden").click()
    page.wait_for_url(f"{live_server.url}/back-ups/taken/**")
    page.get_by_text("Het bestand is gecontroleerd").wait_for()
    assert percents and percents[-1] == "upload:100"
    backup = Backup.objects.get()
    assert backup.origin == Backup.Origin.UPLOAD and backup.summary["total_rows"] == 4277
    page.get_by_role("link", name="Bekijken").click()
    page.get_by_role("cell", name="SalesLT.Customer", exact=True).wait_for()


def test_r14_an_ssb_file_is_refused_with_the_pointer(page: Any, live_server: Any, cast, tmp_path: Path) -> None:
    ssb = tmp_path / "Administratie 2010.ssb"
    ssb.write_bytes(b"SnelStart 11 backup" * 100)
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/back-ups/uploaden/")
    page.set_input_files("input[type=file]", str(ssb))
    page.get_by_role("button", name="Uploaden").click()
    page.get_by_role("alert").get_by_text("Toevoegen → Bestaande administratie").wait_for()
    assert not Backup.objects.exists()


def test_r12_r17_restore_as_a_new_online_administration_with_the_cost_confirmation(
    page: Any, live_server: Any, cast, online
) -> None:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        from backups.services import backup_upload

        backup = backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")
    log_in(page, live_server, "owner")
    page.get_by_role("link", name="Back-up terugzetten").click()
    page.locator("tr", has_text="pubs").get_by_role("link", name="Kiezen").click()
    page.fill("#id_name", "Pubs (kopie)")
    page.get_by_label("Online").check()
    page.get_by_text("+€3,00 per maand").wait_for()
    page.get_by_role("button", name="Terugzetten als nieuwe administratie").click()
    page.get_by_text("Bevestig de extra kosten om door te gaan.").wait_for()
    page.get_by_label("Ik ga akkoord met deze extra kosten").check()
    page.get_by_role("button", name="Terugzetten als nieuwe administratie").click()
    page.get_by_role("link", name="Naar de nieuwe administratie").click()
    page.get_by_role("heading", name="Pubs (kopie)").wait_for()
    restored = Administration.objects.get(name="Pubs (kopie)")
    assert restored.restored_from == backup
    assert table_checksums(restored.database_location())["titles"][0] == 18


def test_r9_delete_an_online_administration_and_find_its_automatic_back_up(
    page: Any, live_server: Any, cast, online
) -> None:
    log_in(page, live_server, "owner")
    page.locator(f"#administration-{online.pk}").get_by_role("link", name="Verwijderen").click()
    page.get_by_text("maken we automatisch een back-up").wait_for()
    page.fill("#id_naam", "Bakkerij Online")
    page.get_by_role("button", name="Verwijderen").click()
    page.get_by_role("link", name="Naar het overzicht").click()
    page.locator("tbody tr", has_text="Bakkerij Online").get_by_text("Automatisch bij verwijderen").wait_for()
    page.goto(f"{live_server.url}/administraties/")
    assert page.locator(f"#administration-{online.pk}").count() == 0
