"""The restore form as people fill it in (R15–R18): a free suggested name, the local folder explained, a typed
Windows path explained instead of refused bare, the server with its engine, the login choices by their names."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from administrations.models import Administration, Location
from backups.models import Backup
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES
from tests.helpers import element, main_text, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_backup(cast) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


@pytest.fixture
def owner(client, cast):
    client.force_login(cast.owner)
    return client


def suggested_name(owner, backup) -> str:
    page = owner.get(reverse("backups:restore", args=[backup.pk]))
    return element(page, "#id_name")["value"]


def test_the_suggested_name_is_free_on_the_second_restore_of_the_day(owner, cast, ready_backup) -> None:
    today = timezone.localdate().strftime("%d-%m-%Y")
    first = suggested_name(owner, ready_backup)
    assert first == f"pubs (teruggezet {today})"
    Administration.objects.create(account=cast.account, name=first, location=Location.LOCAL, engine="sqlite")
    second = suggested_name(owner, ready_backup)
    assert second == f"pubs (teruggezet {today}, 2)"
    Administration.objects.create(account=cast.account, name=second, location=Location.LOCAL, engine="sqlite")
    assert suggested_name(owner, ready_backup) == f"pubs (teruggezet {today}, 3)"


def test_the_local_folder_is_explained_with_an_example(owner, ready_backup) -> None:
    text = main_text(owner.get(reverse("backups:restore", args=[ready_backup.pk])))
    assert "hoofdmap voor lokale administraties" in text and "bijvoorbeeld 2024/bakkerij" in text
    assert "{#" not in text and "R15" not in text  # no template comment shown to the user


def test_a_typed_windows_path_gets_an_explanation_and_backslashes_are_accepted(owner, ready_backup) -> None:
    url = reverse("backups:restore", args=[ready_backup.pk])
    refused = owner.post(url, {"name": "Pubs", "location": "local", "local_path": "C:\\SnelStart\\2024\\pubs"})
    assert refused.status_code == 422
    assert "zonder stationsletter of server: bijvoorbeeld 2024/bakkerij in plaats van C:\\SnelStart\\2024\\pubs" in (
        main_text(refused)
    )
    accepted = owner.post(url, {"name": "Pubs", "location": "local", "local_path": "2024\\pubs"})
    assert accepted.status_code == 302


def test_the_server_list_shows_name_and_engine_and_the_login_choices_read_authenticatie(owner, ready_backup) -> None:
    page = owner.get(reverse("backups:restore", args=[ready_backup.pk]))
    assert "KANTOOR-SRV (PostgreSQL)" in text_of(page, "#id_server")
    choices = text_of(page, "[data-target-fields=network]")
    assert "Windows-authenticatie" in choices and "SQL-authenticatie" in choices


def test_a_file_for_one_restore_is_not_said_to_be_kept(owner) -> None:
    text = main_text(owner.get(reverse("backups:upload") + "?voor=terugzetten"))
    assert "bewaard" not in text and "komt niet in je Overzicht Online Back-up" in text


def test_the_only_registered_server_is_chosen_already(owner, cast, ready_backup) -> None:
    assert cast.account.servers.count() == 1
    page = owner.get(reverse("backups:restore", args=[ready_backup.pk]))
    assert element(page, "#id_server option[selected]")["value"] == str(cast.server.pk)


def test_with_two_servers_the_user_chooses(owner, cast, ready_backup) -> None:
    cast.account.servers.create(name="Tweede", engine=cast.server.engine, host="127.0.0.1", port=5432)
    page = owner.get(reverse("backups:restore", args=[ready_backup.pk]))
    assert (
        element(page, "#id_server").select("option[selected]") == []
        or element(page, "#id_server option[selected]")["value"] == ""
    )
