"""Messages when something is wrong: e-mail through a real SMTP server on localhost (aiosmtpd) to the main users
and administrators who did not switch it off, in their language, plain text and HTML; the same warnings on the
Administraties page; and what support sees in the admin."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email.message import Message
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from aftercare.models import AftercareItem
from backups.models import Backup, BackupSchedule, Job, MessagePreference, SentMessage
from backups.notifications import check_and_send
from backups.schedules import schedule_save, start_due_backups
from backups.verification import verification_start
from portal.apps import FIRST_LINE, SECOND_LINE
from tests.schedules.html import texts

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SCHEDULE_SPREAD_SECONDS = 0
    yield inbox
    controller.stop()


def parts(message: Message) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_type()] = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return found


def test_a_failed_automatic_back_up_mails_the_main_user_and_administrators_once(
    cast, online, smtp, run_on_commit, settings
) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        schedule_save(BackupSchedule(administration=online, frequency="daily"))
        Path(online.database_location().name).unlink()  # the database is gone: the export fails
        traveller.move_to(dt.datetime(2026, 12, 2, 2, 1, tzinfo=AMS))
        run_on_commit(start_due_backups)
        assert Job.objects.get().status == Job.Status.FAILED
        assert check_and_send() == 0  # the periodic check does not send it again

    assert sorted(m["To"] for m in smtp.messages) == ["admin@example.nl", "owner@example.nl"]
    [message] = smtp.to("owner@example.nl")
    assert message["Subject"] == "Back-upportaal: Automatische back-up mislukt"
    body = parts(message)
    assert "De laatste automatische back-up van Bakkerij Online is mislukt." in body["text/plain"]
    assert "Beste owner," in body["text/plain"]
    assert f"/administraties/{online.pk}/" in body["text/plain"]
    assert "<strong>De laatste automatische back-up van Bakkerij Online is mislukt.</strong>" in body["text/html"]
    assert SentMessage.objects.get().recipients == ["owner@example.nl", "admin@example.nl"]


def test_a_refused_preference_is_answered_with_its_message_and_nothing_is_kept(client, cast) -> None:
    client.force_login(cast.owner)
    response = client.post(reverse("backups:messages"), {"backup_mail": "on", "language": "xx"})
    assert response.status_code == 422  # refused forms answer 422, which htmx swaps in place
    [error] = texts(response.content, "p", "class", "error")
    assert "xx" in error
    assert not MessagePreference.objects.filter(user=cast.owner, language="xx").exists()


def test_who_switched_it_off_gets_nothing_and_english_is_english(
    cast, online, smtp, run_on_commit, client, settings
) -> None:
    client.force_login(cast.administrator)
    response = client.post(reverse("backups:messages"), {"language": "nl"})  # box not ticked: off
    assert response.status_code == 302
    MessagePreference.objects.create(user=cast.owner, backup_mail=True, language="en")
    from backups.services import backup_create

    backup = Backup.objects.get(pk=run_on_commit(backup_create, administration=online, user=cast.owner).backup_id)
    stored = Path(settings.STORAGES["backups"]["OPTIONS"]["location"]) / backup.file_name
    data = bytearray(stored.read_bytes())
    data[100] ^= 0xFF
    stored.write_bytes(bytes(data))

    run_on_commit(verification_start, backup=backup, user=cast.owner)

    assert [m["To"] for m in smtp.messages] == ["owner@example.nl"]
    [message] = smtp.messages
    assert message["Subject"] == "Back-up portal: Check by test restore failed"
    text = parts(message)["text/plain"]
    assert "The check by test restore of the last checked back-up of Bakkerij Online failed." in text
    assert "Dear owner," in text


def test_no_successful_back_up_for_days_although_a_schedule_is_on_warns_on_the_page_and_by_mail_once(
    cast, online, smtp, client
) -> None:
    start = dt.datetime(2026, 12, 1, 3, 0, tzinfo=AMS)
    with time_machine.travel(start, tick=False) as traveller:
        schedule_save(BackupSchedule(administration=online, frequency="daily"))
        Backup.objects.create(
            account=cast.account,
            administration=online,
            administration_name=online.name,
            origin=Backup.Origin.SCHEDULED,
            status=Backup.Status.READY,
            file_name="x.bacpac",
            size=1,
            sha256="0" * 64,
            created_at=start,
        )
        client.force_login(cast.owner)
        # The worker is down; three days (one day's interval + BACKUP_STALE_DAYS 2) are not yet too long.
        traveller.move_to(start + dt.timedelta(days=2, hours=23))
        assert check_and_send() == 0
        assert texts(client.get(reverse("administrations:list")).content, "section", "data-warnings") == []
        traveller.move_to(start + dt.timedelta(days=3, hours=1))
        assert check_and_send() == 1
        [warnings] = texts(client.get(reverse("administrations:list")).content, "section", "data-warnings")
        assert (
            "Bakkerij Online heeft al 3 dagen geen geslaagde back-up, terwijl de automatische back-up aan staat."
            in warnings
        )
        traveller.move_to(start + dt.timedelta(days=3, hours=2))
        assert check_and_send() == 0
    assert len(smtp.to("owner@example.nl")) == 1
    assert smtp.to("owner@example.nl")[0]["Subject"] == "Back-upportaal: Geen geslaagde back-up"
    # Staff of the account and outsiders never see the warning.
    client.force_login(cast.extra_user)
    assert texts(client.get(reverse("administrations:list")).content, "section", "data-warnings") == []


def test_aftercare_still_open_after_a_week_is_mailed_and_shown(cast, online, smtp, client) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        AftercareItem.objects.create(administration=online, kind=AftercareItem.Kind.MAILBOX, title="Mailbox")
        traveller.move_to(dt.datetime(2026, 12, 7, 12, 0, tzinfo=AMS))
        assert check_and_send() == 0
        traveller.move_to(dt.datetime(2026, 12, 8, 12, 1, tzinfo=AMS))
        assert check_and_send() == 1
        client.force_login(cast.administrator)
        [warnings] = texts(client.get(reverse("administrations:list")).content, "section", "data-warnings")
    assert "De nazorg van Bakkerij Online staat al meer dan 7 dagen open." in warnings
    assert smtp.to("admin@example.nl")[0]["Subject"] == "Back-upportaal: Nazorg staat nog open"


@pytest.mark.parametrize("group", [FIRST_LINE, SECOND_LINE])
def test_support_sees_schedules_last_run_and_stale_ones_but_changes_nothing(cast, online, staff_login, group) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False):
        schedule = schedule_save(BackupSchedule(administration=online, frequency="daily"))
    BackupSchedule.objects.update(updated_at=timezone.now() - dt.timedelta(days=10))
    cast.support.groups.add(Group.objects.get(name=group))
    client = staff_login(cast.support)  # password and second factor
    listing = client.get(reverse("admin:backups_backupschedule_changelist"))
    assert listing.status_code == 200
    [table] = texts(listing.content, "table", "id", "result_list")
    assert "Bakkerij Online" in table and "dagelijks 02:00" in table
    # Switched on ten days ago and nothing ever succeeded: stale.
    stale = client.get(reverse("admin:backups_backupschedule_changelist") + "?verouderd=ja")
    assert "Bakkerij Online" in texts(stale.content, "table", "id", "result_list")[0]
    page = client.get(reverse("admin:backups_backupschedule_change", args=[schedule.pk]))
    assert page.status_code == 200 and 'name="frequency"' not in page.content.decode()
    changed = client.post(reverse("admin:backups_backupschedule_change", args=[schedule.pk]), {"frequency": "weekly"})
    assert changed.status_code == 403
    assert BackupSchedule.objects.get().frequency == "daily"
