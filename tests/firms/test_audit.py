"""Every audited action writes exactly one event with the right actor and address."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from administrations import bookkeeping
from administrations.models import Location, Right
from administrations.services import Target, administration_create
from backups.models import Backup
from backups.services import backup_upload
from portal.models import AuditEvent
from tests.backups.helpers import SAMPLES
from tests.helpers import main_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, cast):
    client.force_login(cast.owner)
    return client


def only_event(action: str) -> AuditEvent:
    [event] = AuditEvent.objects.filter(action=action)
    return event


def uploaded(cast) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


def test_making_a_back_up(owner, cast, django_capture_on_commit_callbacks) -> None:
    administration = administration_create(
        account=cast.account,
        name="Gelogd",
        target=Target(Location.ONLINE),
        populate=lambda e: bookkeeping.fill(e, lines=10),
    )
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("backups:create", args=[administration.pk]))
    event = only_event("backup_made")
    assert event.actor == cast.owner and event.ip_address == "127.0.0.1" and event.administration == administration


def test_downloading_uploading_deleting_and_restoring(owner, cast, django_capture_on_commit_callbacks) -> None:
    backup = uploaded(cast)
    b"".join(owner.get(reverse("backups:download", args=[backup.pk])).streaming_content)
    assert only_event("backup_downloaded").actor == cast.owner
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(
            reverse("backups:upload"),
            {"file": SimpleUploadedFile("pubs.bacpac", (SAMPLES / "pubs.bacpac").read_bytes())},
        )
    assert only_event("backup_uploaded").target == "pubs.bacpac"
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(
            reverse("backups:restore", args=[backup.pk]), {"name": "Pubs", "location": "local", "local_path": "pubs"}
        )
    assert "Pubs" in only_event("backup_restored").target
    owner.post(reverse("backups:delete", args=[backup.pk]))
    assert only_event("backup_deleted").actor == cast.owner


def test_rights_given_blocked_unblocked_and_removed(owner, cast) -> None:
    url = reverse("administrations:rights", args=[cast.administration.pk])
    from administrations.models import Account, Package

    firm = Account.objects.create(name="Nog een kantoor", package=Package.ACCOUNTANT)
    owner.post(url, {"grantee_kind": "firm", "firm": firm.pk, "role": "read"})
    assert only_event("right_given").target == "Nog een kantoor"
    right = Right.objects.get(firm=firm)
    owner.post(reverse("administrations:right_change", args=[cast.administration.pk, right.pk, "blokkeren"]))
    owner.post(reverse("administrations:right_change", args=[cast.administration.pk, right.pk, "deblokkeren"]))
    owner.post(reverse("administrations:right_remove", args=[cast.administration.pk, right.pk]))
    for action in ("right_blocked", "right_unblocked", "right_removed"):
        assert only_event(action).actor == cast.owner


def test_generating_an_api_key_and_deleting_an_administration(owner, cast, django_capture_on_commit_callbacks) -> None:
    from administrations.models import ApiConnection
    from aftercare.models import AftercareItem

    connection = ApiConnection.objects.create(administration=cast.administration, partner="Kassa")
    item = AftercareItem.objects.create(
        administration=cast.administration, kind="api_connection", title="Sleutel", api_connection=connection
    )
    owner.post(reverse("aftercare:act", args=[item.pk, "sleutel"]))
    assert only_event("api_key_generated").actor == cast.owner
    local = administration_create(account=cast.account, name="Weg", target=Target(Location.LOCAL, local_path="weg"))
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("backups:delete_administration", args=[local.pk]), {"naam": "Weg"})
    event = only_event("administration_deleted")
    assert event.administration_name == "Weg" and event.actor == cast.owner


def test_owners_see_their_administrations_trail_and_others_do_not(client, cast) -> None:
    client.force_login(cast.owner)
    Right.objects.filter(user=cast.external_user).update(access_blocked=False)
    from portal import audit

    audit.record(None, "right_blocked", actor=cast.owner, administration=cast.administration, target="iemand")
    page = main_text(client.get(reverse("administrations:detail", args=[cast.administration.pk])))
    assert "Logboek" in page and "Toegang geblokkeerd" in page
    client.force_login(cast.external_user)
    assert "Logboek" not in main_text(client.get(reverse("administrations:detail", args=[cast.administration.pk])))
