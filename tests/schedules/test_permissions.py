"""Who may set an automatic back-up (and see the dry run of its retention), start a test-restore and set the e-mail
about back-ups: the permission table's answer for every kind of person, through the real views. What a person may
not do they are not offered inside <main>; typed by hand it answers 404 when they do not see the thing, and 403
with the reason when they see it but may not do this. Support staff of both lines work in the admin, where
schedules are read-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from administrations.models import Account, Administration, Location, Membership, Package, Right
from backups.models import Backup, BackupSchedule, Job, MessagePreference
from backups.services import backup_upload
from portal.apps import FIRST_LINE, SECOND_LINE
from tests.administrations.pages import links_in_main, main_text
from tests.bacpac.samples import SAMPLES

pytestmark = pytest.mark.django_db

SCHEDULE_FORM = {
    "enabled": "on",
    "frequency": "daily",
    "time_of_day": "02:00",
    "keep_daily": "7",
    "keep_weekly": "4",
    "keep_monthly": "12",
}
ROLES = [
    "owner",
    "administrator",
    "extra_user",
    "external_read_only",
    "firm_owner",
    "firm_staff",
    "firm_staff_blocked",
    "inorde",
    "outsider",
    "first_line_support",
    "second_line_support",
]


@dataclass(frozen=True)
class Expect:
    """HTTP status per request: the schedule form (GET and POST), its dry run, a test-restore, the e-mail page."""

    schedule: int
    preview: int
    verify: int
    messages: int

    @property
    def schedules(self) -> bool:
        return self.schedule == 200

    @property
    def verifies(self) -> bool:
        return self.verify == 302


MAY_ALL = Expect(200, 200, 302, 200)
EXPECTED = {
    "owner": MAY_ALL,
    "administrator": MAY_ALL,
    # Sees the administration and its back-ups, may set none of it.
    "extra_user": Expect(403, 403, 403, 403),
    "external_read_only": Expect(403, 403, 403, 403),
    # The firm's main user test-restores the firm's back-ups (they are in the firm's overview) and sets the firm's
    # own e-mail; the client's schedule is the client's.
    "firm_owner": Expect(403, 403, 302, 200),
    "firm_staff": Expect(403, 403, 403, 403),
    # Blocked: the administration is out of sight; the firm's back-up of it stays listed, greyed, and refuses.
    "firm_staff_blocked": Expect(404, 404, 403, 403),
    # On inOrde nothing about back-ups but looking at old ones: told why (R4).
    "inorde": Expect(403, 403, 302, 403),
    # Outsiders see nothing of the bakery; the e-mail page is about their own account.
    "outsider": Expect(404, 404, 404, 200),
    "first_line_support": Expect(404, 404, 404, 403),
    "second_line_support": Expect(404, 404, 404, 403),
}


@dataclass
class Scene:
    user: Any
    administration: Administration
    backup: Backup


def _uploaded(account: Account, user: Any, administration: Administration, **extra: Any) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup = backup_upload(account=account, user=user, source=source, file_name="pubs.bacpac")
    Backup.objects.filter(pk=backup.pk).update(
        administration=administration, administration_name=administration.name, origin=Backup.Origin.MANUAL, **extra
    )
    backup.refresh_from_db()
    return backup


def scene(cast: Any, role: str, django_user_model: Any) -> Scene:
    Right.objects.filter(user=cast.external_user).update(role=Right.Role.READ)
    owners = _uploaded(cast.account, cast.owner, cast.administration)
    firms = _uploaded(cast.firm, cast.firm_owner, cast.administration, client_account=cast.account)
    if role == "inorde":
        user = django_user_model.objects.create_user("petra", "petra@example.nl", "geheim-wachtwoord")
        salon = Account.objects.create(name="Kapsalon", package=Package.INZICHT)
        Membership.objects.create(user=user, account=salon, role=Membership.Role.MAIN)
        administration = Administration.objects.create(
            account=salon, name="Kapsalon", location=Location.ONLINE, engine="sqlite", database_name="k.sqlite3"
        )
        backup = _uploaded(salon, user, administration)  # made before the package changed: still theirs
        salon.package = Package.INORDE
        salon.save()
        return Scene(user, administration, backup)
    if role == "firm_staff_blocked":
        Right.objects.filter(firm=cast.firm).update(access_blocked=True)
    if role.endswith("_support"):
        cast.support.groups.add(Group.objects.get(name=FIRST_LINE if role.startswith("first") else SECOND_LINE))
    user = {
        "owner": cast.owner,
        "administrator": cast.administrator,
        "extra_user": cast.extra_user,
        "external_read_only": cast.external_user,
        "firm_owner": cast.firm_owner,
        "firm_staff": cast.firm_staff,
        "firm_staff_blocked": cast.firm_staff,
        "outsider": cast.outsider,
        "first_line_support": cast.support,
        "second_line_support": cast.support,
    }[role]
    return Scene(user, cast.administration, firms if role.startswith("firm_") else owners)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_set_an_automatic_back_up_test_restore_and_set_the_e_mail(
    client, cast, django_user_model, django_capture_on_commit_callbacks, role: str
) -> None:
    assert set(EXPECTED) == set(ROLES)
    expect = EXPECTED[role]
    s = scene(cast, role, django_user_model)
    client.force_login(s.user)
    schedule_url = reverse("backups:schedule", args=[s.administration.pk])
    verify_url = reverse("backups:verify", args=[s.backup.pk])

    # Offered exactly when allowed: the link on the administration, the button in the overview, the e-mail page.
    detail = client.get(reverse("administrations:detail", args=[s.administration.pk]))
    assert (detail.status_code == 200 and schedule_url in links_in_main(detail)) == expect.schedules
    overview = links_in_main(client.get(reverse("backups:list")))
    assert (verify_url in overview) == expect.verifies
    assert (reverse("backups:messages") in overview) == (expect.messages == 200)

    responses = {
        "schedule": client.get(schedule_url),
        "preview": client.post(reverse("backups:schedule_preview", args=[s.administration.pk]), SCHEDULE_FORM),
        "messages": client.get(reverse("backups:messages")),
    }
    with django_capture_on_commit_callbacks(execute=True):
        responses["verify"] = client.post(verify_url)
    for name, response in responses.items():
        assert response.status_code == getattr(expect, name), f"{role} {name}: {response.status_code}"
        if response.status_code == 403:
            assert "Dat kan niet" in main_text(response) and len(main_text(response)) > 60, name
    if expect.schedules:
        assert "Automatische back-up" in main_text(responses["schedule"])
        assert "Wat de volgende opruimronde verwijdert" in responses["preview"].content.decode()

    saved = client.post(schedule_url, SCHEDULE_FORM)
    assert BackupSchedule.objects.filter(administration=s.administration).exists() == expect.schedules
    if not expect.schedules:
        assert saved.status_code == expect.schedule
    s.backup.refresh_from_db()
    checked = Job.objects.filter(kind=Job.Kind.VERIFY_RESTORE, backup=s.backup).exists()
    assert checked == expect.verifies
    assert (s.backup.verification == Backup.Verification.VERIFIED) == expect.verifies

    switched_off = client.post(reverse("backups:messages"), {"language": "en"})
    off = MessagePreference.objects.filter(user=s.user, backup_mail=False).exists()
    assert off == (expect.messages == 200), switched_off.status_code


def test_the_refusals_say_why_in_dutch(client, cast, django_user_model) -> None:
    reader = scene(cast, "external_read_only", django_user_model)
    client.force_login(reader.user)
    refused = client.get(reverse("backups:schedule", args=[reader.administration.pk]))
    assert "Alleen inzien" in main_text(refused)

    client.force_login(cast.extra_user)
    refused = client.get(reverse("backups:schedule", args=[cast.administration.pk]))
    assert "Alleen de hoofdgebruiker en beheerders van het account zetten de automatische back-up aan" in main_text(
        refused
    )
    assert "E-mail over back-ups gaat naar de hoofdgebruiker en beheerders" in main_text(
        client.get(reverse("backups:messages"))
    )

    firm_backup = Backup.objects.get(client_account=cast.account)
    client.force_login(cast.firm_staff)
    refused = client.post(reverse("backups:verify", args=[firm_backup.pk]))
    assert "laten hem controleren door terugzetten" in main_text(refused)
    Right.objects.filter(firm=cast.firm).update(access_blocked=True)
    assert "Geblokkeerd door de klant" in main_text(client.post(reverse("backups:verify", args=[firm_backup.pk])))
