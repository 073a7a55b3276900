"""The Automatische back-up screen, the line on the administration and in the list, the dry run of retention,
and Controleren door terugzetten in the overview — through Django's test client, reading what a user sees."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from administrations.models import Location, Package
from administrations.services import Target, administration_create
from backups.models import Backup, BackupSchedule, Job
from tests.schedules.html import main_text, texts

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")
HTMX = {"HX-Request": "true"}
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS)


@pytest.fixture(autouse=True)
def _fixed(settings):
    settings.SCHEDULE_SPREAD_SECONDS = 0
    with time_machine.travel(NOW, tick=False):
        yield


def form_data(**overrides) -> dict[str, str]:
    data = {
        "enabled": "on",
        "frequency": "daily",
        "time_of_day": "02:00",
        "weekday": "",
        "day_of_month": "",
        "keep_daily": "7",
        "keep_weekly": "4",
        "keep_monthly": "12",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def scheduled_backup(administration, when: dt.datetime, **kw) -> Backup:
    return Backup.objects.create(
        account=administration.account,
        administration=administration,
        administration_name=administration.name,
        origin=kw.pop("origin", Backup.Origin.SCHEDULED),
        status=Backup.Status.READY,
        file_name=f"b/{when:%Y%m%d%H%M}.bacpac",
        size=1000,
        sha256="0" * 64,
        created_at=when,
        **kw,
    )


def test_a_main_user_switches_on_a_daily_back_up_and_sees_it_on_the_administration_and_in_the_list(
    client, cast, online
) -> None:
    client.force_login(cast.owner)
    page = client.get(reverse("backups:schedule", args=[online.pk]))
    assert page.status_code == 200 and "Automatische back-up" in main_text(page.content)

    response = client.post(reverse("backups:schedule", args=[online.pk]), form_data())

    assert response.status_code == 302 and response.url == reverse("administrations:detail", args=[online.pk])
    schedule = BackupSchedule.objects.get(administration=online)
    assert schedule.next_run_at == dt.datetime(2026, 12, 2, 2, 0, tzinfo=AMS) and schedule.created_by == cast.owner
    detail = client.get(response.url)
    [line] = texts(detail.content, "p", "data-schedule")
    assert line == "Automatisch: dagelijks 02:00 · volgende: 02-12-2026 02:00"
    listing = client.get(reverse("administrations:list"))
    [row_line] = texts(listing.content, "span", "data-schedule")
    assert row_line == "Automatisch: dagelijks 02:00 · volgende: 02-12-2026 02:00"


def test_an_administrator_sets_weekly_and_monthly_and_switches_it_off_again(client, cast, online) -> None:
    client.force_login(cast.administrator)
    client.post(reverse("backups:schedule", args=[online.pk]), form_data(frequency="weekly", weekday="4"))
    assert BackupSchedule.objects.get().describe() == "wekelijks op vrijdag 02:00"
    client.post(
        reverse("backups:schedule", args=[online.pk]),
        form_data(frequency="monthly", day_of_month="31", time_of_day="23:45"),
    )
    schedule = BackupSchedule.objects.get()
    assert schedule.describe() == "maandelijks op dag 31 23:45" and schedule.weekday is None
    assert schedule.next_run_at == dt.datetime(2026, 12, 31, 23, 45, tzinfo=AMS)
    client.post(reverse("backups:schedule", args=[online.pk]), form_data(enabled=None))
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_run_at is None
    assert texts(client.get(reverse("administrations:list")).content, "span", "data-schedule") == []


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"frequency": "weekly"}, "Kies de dag van de week."),
        ({"frequency": "monthly", "day_of_month": "32"}, "Kies een dag van de maand van 1 tot en met 31."),
        ({"time_of_day": "25:99"}, "Vul een tijdstip in als uu:mm, bijvoorbeeld 02:00."),
        ({"keep_daily": "-1"}, "Vul een aantal in (0 of meer)."),
        ({"keep_monthly": "5000"}, "Hoogstens 999."),
    ],
)
def test_bad_input_gets_a_dutch_message_and_nothing_is_saved(client, cast, online, overrides, field_message) -> None:
    client.force_login(cast.owner)
    response = client.post(reverse("backups:schedule", args=[online.pk]), form_data(**overrides))
    assert response.status_code == 422  # refused forms answer 422, which htmx swaps in place
    assert field_message in texts(response.content, "p", "class", "error")
    assert not BackupSchedule.objects.exists()


def test_r1_only_main_users_and_administrators_may_switch_on_an_automatic_back_up(client, cast, online) -> None:
    for user in (cast.extra_user, cast.external_user, cast.firm_owner, cast.outsider):
        client.force_login(user)
        assert client.get(reverse("backups:schedule", args=[online.pk])).status_code == 404
        assert client.post(reverse("backups:schedule", args=[online.pk]), form_data()).status_code == 404
        assert client.post(reverse("backups:schedule_preview", args=[online.pk]), form_data()).status_code == 404
    assert not BackupSchedule.objects.exists()
    # An extra user with a right sees the administration, but no way to set its schedule.
    from administrations.models import Right

    Right.objects.create(administration=online, grantee_kind=Right.Grantee.EXTRA_USER, user=cast.extra_user)
    client.force_login(cast.extra_user)
    detail = client.get(reverse("administrations:detail", args=[online.pk]))
    assert detail.status_code == 200
    assert "Automatische back-up instellen" not in main_text(detail.content)


def test_r4_an_inorde_account_cannot_switch_on_an_automatic_back_up(client, cast, online) -> None:
    cast.account.package = Package.INORDE
    cast.account.save()
    client.force_login(cast.owner)
    response = client.post(reverse("backups:schedule", args=[online.pk]), form_data())
    assert response.status_code == 403
    assert "Met het pakket inOrde kun je geen back-ups maken of terugzetten" in main_text(response.content)
    assert not BackupSchedule.objects.exists()
    detail = client.get(reverse("administrations:detail", args=[online.pk]))
    assert "Automatische back-up" not in main_text(detail.content)


def test_the_form_says_a_local_administrations_scheduled_back_ups_are_kept_in_the_overview(client, cast) -> None:
    local = administration_create(
        account=cast.account, name="Lokaal", target=Target(Location.LOCAL, local_path="l.sqlite3")
    )
    client.force_login(cast.owner)
    page = client.get(reverse("backups:schedule", args=[local.pk]))
    [note] = texts(page.content, "p", "data-kept-note")
    assert "bewaard in het Overzicht Online Back-up" in note


def test_the_dry_run_shows_exactly_which_back_ups_the_next_round_removes(client, cast, online) -> None:
    # Ten daily scheduled back-ups, 22 Nov … 1 Dec at 02:00, and one manual one.
    daily = [scheduled_backup(online, dt.datetime(2026, 11, 22 + i, 2, 0, tzinfo=AMS)) for i in range(9)]
    daily.append(scheduled_backup(online, dt.datetime(2026, 12, 1, 2, 0, tzinfo=AMS)))
    manual = scheduled_backup(online, dt.datetime(2026, 11, 1, 9, 0, tzinfo=AMS), origin=Backup.Origin.MANUAL)
    client.force_login(cast.owner)

    preview = client.post(
        reverse("backups:schedule_preview", args=[online.pk]),
        form_data(keep_daily="3", keep_weekly="0", keep_monthly="0"),
        headers=HTMX,
    )

    # After the next one (2 Dec) the last three days are 2 Dec (new), 1 Dec and 30 Nov.
    removed = [int(pk) for pk in _removed_ids(preview.content)]
    assert removed == [b.pk for b in daily[:8]]
    assert manual.pk not in removed
    [text] = texts(preview.content, "div", "data-retention-preview")
    assert "Na de volgende automatische back-up (02-12-2026 02:00) worden deze 8 back-ups verwijderd:" in text
    assert "zondag 22-11-2026 02:00 · 1,0 kB" in text
    # Nothing was saved or removed by looking.
    assert not BackupSchedule.objects.exists() and Backup.objects.count() == 11

    # The same list without JavaScript: the second button shows it on the page itself.
    page = client.post(
        reverse("backups:schedule", args=[online.pk]),
        form_data(keep_daily="3", keep_weekly="0", keep_monthly="0", voorbeeld="1"),
    )
    assert page.status_code == 200 and [int(pk) for pk in _removed_ids(page.content)] == removed
    assert not BackupSchedule.objects.exists()


def _removed_ids(html: bytes) -> list[str]:
    import re

    return re.findall(r'data-removed="(\d+)"', html.decode())


def test_the_overview_shows_the_test_restore_and_offers_it_on_demand(
    client, cast, online, django_capture_on_commit_callbacks
) -> None:
    from backups.services import backup_create

    with django_capture_on_commit_callbacks(execute=True):
        job = backup_create(administration=online, user=cast.owner)
    backup = Backup.objects.get(pk=job.backup_id)
    client.force_login(cast.owner)
    listing = client.get(reverse("backups:list"))
    [row] = texts(listing.content, "tr", "id", f"backup-{backup.pk}")
    assert "Controleren door terugzetten" in row and "Gecontroleerd" not in row

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("backups:verify", args=[backup.pk]))
    verify = Job.objects.get(kind=Job.Kind.VERIFY_RESTORE)
    assert response.status_code == 302 and response.url == reverse("backups:job", args=[verify.pk])
    listing = client.get(reverse("backups:list"))
    [status] = texts(listing.content, "span", "data-verification")
    assert status == "Gecontroleerd op 01-12-2026 12:00 ✓"


def test_a_failed_test_restore_says_what_differed_in_the_overview(client, cast, online) -> None:
    backup = scheduled_backup(online, dt.datetime(2026, 12, 1, 2, 0, tzinfo=AMS))
    Backup.objects.filter(pk=backup.pk).update(
        verification=Backup.Verification.FAILED,
        verified_at=NOW,
        verification_report={"differences": ["Tabel dbo.facturen: 10 rijen verwacht, 9 teruggezet."]},
    )
    client.force_login(cast.owner)
    [status] = texts(client.get(reverse("backups:list")).content, "span", "data-verification")
    assert status == (
        "Controle door terugzetten mislukt op 01-12-2026 12:00: Tabel dbo.facturen: 10 rijen verwacht, 9 teruggezet."
    )


def test_others_cannot_start_a_test_restore(client, cast, online) -> None:
    backup = scheduled_backup(online, dt.datetime(2026, 12, 1, 2, 0, tzinfo=AMS))
    for user in (cast.extra_user, cast.outsider, cast.firm_staff):
        client.force_login(user)
        assert client.post(reverse("backups:verify", args=[backup.pk])).status_code == 404
        assert client.get(reverse("backups:verify", args=[backup.pk])).status_code in (404, 405)
    assert not Job.objects.exists()


def test_in_english_the_schedule_line_and_the_screen_are_english(client, cast, online, settings) -> None:
    client.force_login(cast.owner)
    client.post(reverse("backups:schedule", args=[online.pk]), form_data(frequency="weekly", weekday="0"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    [line] = texts(client.get(reverse("administrations:list")).content, "span", "data-schedule")
    assert line == "Automatic: weekly on Monday 02:00 · next: 07-12-2026 02:00"
    page = main_text(client.get(reverse("backups:schedule", args=[online.pk])).content)
    assert "Automatic back-up" in page and "First show what will be removed" in page
