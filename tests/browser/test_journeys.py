"""Journeys as a person walks them, with DEBUG on (as `make demo` serves the portal) and off, at laptop and phone
width: the local back-up that finishes and downloads once, a refused upload that stays on its styled page, and
every main page fitting a 390 px screen. With SCREENSHOTS=1, screenshots of each screen go to
test-output/screens/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from administrations import bookkeeping
from administrations.models import Administration, ApiConnection, Bank, BankConnection, Location, Mailbox
from administrations.services import Target, administration_create
from api.models import Webhook, WebhookDelivery
from backups import credentials
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import backup_create
from backups.tasks import run_job
from portal.models import AuditEvent
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[2] / "test-output" / "screens"
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture(params=[("debug", "phone"), ("debug", "desktop"), ("production", "phone"), ("production", "desktop")])
def mode(request: pytest.FixtureRequest, settings: Any, page: Any) -> str:
    debug, width = request.param
    settings.DEBUG = debug == "debug"
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    return f"{debug}-{width}"


def shoot(page: Any, name: str) -> None:
    """A full-page screenshot to look at, when asked for (SCREENSHOTS=1): they cost time on every run."""
    if not os.environ.get("SCREENSHOTS"):
        return
    SCREENS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)


def fits(page: Any) -> bool:
    width = page.viewport_size["width"]
    return bool(page.evaluate(f"document.documentElement.scrollWidth <= {width}"))


# What a person notices on a wide screen too: a table sticking out of the page's column, or a short word cut in two
# ("Klaa r", "Onlin e") because a table squeezed its column to nothing.
SQUEEZED = """() => {
  const main = document.querySelector("main");
  const style = getComputedStyle(main);
  const right = main.getBoundingClientRect().right - parseFloat(style.paddingRight) + 1;
  const found = [];
  for (const table of main.querySelectorAll("table")) {
    if (table.getBoundingClientRect().right > right) found.push("table " + table.getBoundingClientRect().right);
  }
  for (const badge of main.querySelectorAll(".badge, time")) {
    const lines = badge.getClientRects().length;
    const height = badge.getBoundingClientRect().height;
    if (lines > 1 || height > 2.2 * parseFloat(getComputedStyle(badge).fontSize)) found.push(badge.innerText);
  }
  return found;
}"""


def test_r10_a_local_back_up_finishes_shows_klaar_and_downloads_exactly_once(
    page: Any, live_server: Any, cast, settings, mode
) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}  # a real queue: the page must follow the job
    local = administration_create(
        account=cast.account,
        name="Bakkerij Lokaal",
        target=Target(Location.LOCAL, local_path="bakkerij"),
        populate=lambda engine: bookkeeping.fill(engine, lines=50),
    )
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    log_in(page, live_server, "owner")
    page.locator(f"#administration-{local.pk}").get_by_role("button", name="Back-up maken").click()
    page.wait_for_url(f"{live_server.url}/back-ups/taken/**")
    job = page.locator("section.job")
    job.get_by_text("In de wachtrij sinds").wait_for()
    shoot(page, f"job-queued-{mode}")
    run_job(Job.objects.get(kind=Job.Kind.EXPORT).pk)  # the worker picks it up
    job.get_by_text("Klaar").wait_for()
    page.wait_for_function("document.querySelectorAll('[hx-trigger]').length === 0")  # polling stopped
    assert job.get_by_role("link", name="Back-up downloaden").is_visible()
    # The one download arrives; a reload afterwards says it was downloaded and hands nothing over again.
    if not downloads:
        page.wait_for_event("download")
    assert len(downloads) == 1 and downloads[0].suggested_filename.startswith("bakkerij-lokaal-")
    downloads[0].path()  # finished
    shoot(page, f"job-done-{mode}")
    page.reload()
    page.locator("section.job").get_by_role("link", name="Opnieuw downloaden").wait_for()
    assert len(downloads) == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_DOWNLOADED).count() == 1
    assert fits(page)


def test_r14_a_refused_ssb_stays_on_its_styled_page_with_the_pointer(
    page: Any, live_server: Any, cast, tmp_path: Path, mode
) -> None:
    ssb = tmp_path / "Administratie 2010.ssb"
    ssb.write_bytes(b"SnelStart 11 backup" * 100)
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/back-ups/uploaden/")
    page.set_input_files("input[type=file]", str(ssb))
    page.get_by_role("button", name="Uploaden").click()
    alert = page.locator("main").get_by_role("alert")
    alert.get_by_text("Toevoegen → Bestaande administratie").wait_for()
    # Still the portal's page around it: the top bar, the heading and the stylesheet (django-htmx's debug handler
    # used to replace the whole document with the bare fragment).
    assert page.locator("header.topbar").is_visible()
    assert page.get_by_role("heading", name="Back-up uploaden").is_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(245, 247, 250)"
    alert.get_by_role("link", name="Bestaande administratie toevoegen").wait_for()
    assert not Backup.objects.exists()
    assert fits(page)
    shoot(page, f"upload-refused-{mode}")


@pytest.fixture
def portal_with_everything(cast) -> dict[str, Any]:
    """An online and a local administration, a ready back-up, a restored administration with open aftercare, a
    finished and a failed job: every main screen has something to show."""
    online = administration_create(
        account=cast.account,
        name="Bakkerij De Gouden Korst met een lange naam",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=30),
    )
    administration_create(account=cast.account, name="Bakkerij Lokaal", target=Target(Location.LOCAL, local_path="l"))
    BankConnection.objects.create(administration=online, bank=Bank.ABN_AMRO, iban="NL91ABNA0417164300")
    BankConnection.objects.create(administration=online, bank=Bank.ING, iban="NL69INGB0123456789")
    ApiConnection.objects.create(administration=online, partner="Webwinkel BV")
    Mailbox.objects.create(administration=online, address="inkoop@goudenkorst.nl")
    export = backup_create(administration=online, user=cast.owner, enqueue=False)
    run_job(export.pk)
    backup = Backup.objects.get(pk=export.backup_id)
    restore = restore_start(
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="Gouden Korst (kopie)",
        target=Target(Location.LOCAL, local_path="kopie"),
        enqueue=False,
    )
    run_job(restore.pk)
    failed = restore_start(
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="Gouden Korst (netwerk)",
        target=Target(
            Location.NETWORK,
            server=cast.server,
            database_name="adm_nooit",
            login_method="sql",
            login_user="sa",
            password="fout",
        ),
        enqueue=False,
    )
    cast.server.port = 1  # nothing listens there: "niet bereikbaar"
    cast.server.save()
    run_job(failed.pk)
    restored = Administration.objects.get(name="Gouden Korst (kopie)")
    webhook = Webhook.objects.create(
        account=cast.account,
        url="https://hooks.example.nl/portaal/back-ups/een-lang-pad-zonder-spaties-1234567890",
        secret=credentials.encrypt("geheim"),
        events=["backup.ready", "backup.failed"],
    )
    WebhookDelivery.objects.create(
        webhook=webhook,
        event="backup.ready",
        body="{}",
        attempts=2,
        status_code=503,
        response_ms=120,
        error="HTTP 503",
        next_attempt_at=timezone.now(),
    )
    return {
        "online": online,
        "backup": backup,
        "restored": restored,
        "export": export,
        "failed": failed,
        "webhook": webhook,
    }


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_every_main_page_fits_the_screen_without_sideways_scrolling(
    page: Any, live_server: Any, cast, settings, portal_with_everything, width
) -> None:
    settings.DEBUG = True
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    things = portal_with_everything
    pages = {
        "administraties": "/administraties/",
        "administratie": f"/administraties/{things['online'].pk}/",
        "teruggezet": f"/administraties/{things['restored'].pk}/",
        "rechten": f"/administraties/{things['online'].pk}/rechten/",
        "nazorg": f"/nazorg/administratie/{things['restored'].pk}/",
        "bestaande-toevoegen": "/administraties/bestaande-toevoegen/",
        "overzicht": "/back-ups/",
        "bekijken": f"/back-ups/{things['backup'].pk}/",
        "uploaden": "/back-ups/uploaden/",
        "terugzetten-kiezen": "/back-ups/terugzetten/",
        "terugzetten": f"/back-ups/{things['backup'].pk}/terugzetten/",
        "back-up-verwijderen": f"/back-ups/{things['backup'].pk}/verwijderen/",
        "taak-klaar": f"/back-ups/taken/{things['export'].pk}/",
        "taak-mislukt": f"/back-ups/taken/{things['failed'].pk}/",
        "opnieuw-proberen": f"/back-ups/taken/{things['failed'].pk}/opnieuw/",
        "administratie-verwijderen": f"/back-ups/administratie/{things['online'].pk}/verwijderen/",
        "api-sleutels": "/api-sleutels/",
        "webhooks": "/api-sleutels/webhooks/",
        "webhook": f"/api-sleutels/webhooks/{things['webhook'].pk}/",
    }
    page.goto(f"{live_server.url}/inloggen/")
    assert fits(page)
    shoot(page, "inloggen")
    log_in(page, live_server, "owner")
    too_wide = {}
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, name
        page.locator("main h1").first.wait_for()
        shoot(page, name)
        if not fits(page):
            too_wide[name] = page.evaluate("document.documentElement.scrollWidth")
        if page.evaluate(SQUEEZED):
            too_wide[name] = page.evaluate(SQUEEZED)
    assert too_wide == {}
    # The main actions are on screen, not pushed off to the right.
    page.goto(f"{live_server.url}/back-ups/")
    row = page.locator(f"#backup-{things['backup'].pk}")
    for action in ("Downloaden", "Terugzetten", "Verwijderen"):
        box = row.get_by_role("link", name=action).bounding_box()
        assert box and box["x"] + box["width"] <= page.viewport_size["width"], action
    logout = page.get_by_role("button", name="Uitloggen").bounding_box()
    assert logout and logout["x"] + logout["width"] <= page.viewport_size["width"]
    page.goto(f"{live_server.url}/administraties/kantoor/")  # owner is no firm user: 404 is fine, skip
    page.context.clear_cookies()
    log_in(page, live_server, "firmowner")
    page.goto(f"{live_server.url}/administraties/kantoor/")
    page.locator("main h1").first.wait_for()
    shoot(page, "klanten")
    assert fits(page)


def test_in_english_the_local_back_up_and_its_job_page_speak_english_and_logging_out_says_so(
    page: Any, live_server: Any, cast, settings
) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    local = administration_create(
        account=cast.account, name="Bakkerij Lokaal", target=Target(Location.LOCAL, local_path="bakkerij")
    )
    log_in(page, live_server, "owner")
    # The language switch is passed with the keyboard: choosing a value changes nothing until "Kies" is pressed.
    page.get_by_label("Taal").select_option("en")
    assert page.get_by_role("heading", name="Administraties").is_visible()
    page.get_by_role("button", name="Kies").press("Enter")
    page.get_by_role("heading", name="Administrations").wait_for()
    page.locator(f"#administration-{local.pk}").get_by_role("button", name="Create back-up").click()
    page.wait_for_url(f"{live_server.url}/back-ups/taken/**")
    with page.expect_download() as download:
        run_job(Job.objects.get(kind=Job.Kind.EXPORT).pk)
        page.locator("section.job").get_by_text("Ready").wait_for()
    assert download.value.suggested_filename.endswith(".bacpac")
    text = page.locator("main").inner_text()
    assert "Back-up is ready" in text or "Ready" in text
    assert "Klaar" not in text and "gedownload" not in text
    shoot(page, "job-done-english")
    page.get_by_role("button", name="Log out").click()
    page.locator("main .messages").get_by_text("You have been logged out.").wait_for()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_new_api_key_fits_the_screen_and_can_be_copied(page: Any, live_server: Any, cast, width) -> None:
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server, "owner")
    page.goto(f"{live_server.url}/api-sleutels/")
    page.get_by_label("Naam").fill("Nachtelijke back-up")
    page.get_by_label("Inzien").check()
    page.get_by_role("button", name="Sleutel maken").click()
    card = page.locator("#new-token")
    secret = card.locator("code.key").inner_text()
    card.get_by_role("button", name="Kopiëren").click()
    card.get_by_role("button", name="Gekopieerd").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shoot(page, f"api-sleutel-{width}")
    assert fits(page) and page.evaluate(SQUEEZED) == []
