"""The access rule through the API, from every side: a token acts as its user and sees exactly what the screens show
them; anything else, another tenant's object included, answers 404 with a JSON error."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from administrations.models import Administration, Right
from backups.models import Backup, Job
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES

pytestmark = pytest.mark.django_db

CAST = ["owner", "administrator", "extra_user", "external_user", "firm_owner", "firm_staff", "outsider"]


def screen_ids(client, user, url: str, prefix: str) -> set[int]:
    client.force_login(user)
    page = client.get(url).content.decode()
    client.logout()
    main = page[page.index("<main") : page.index("</main>")]
    return {int(pk) for pk in re.findall(rf'id="{prefix}-(\d+)"', main)}


@pytest.fixture
def firm_backup(cast) -> Backup:
    """A back-up in the firm's overview, made of the client's administration."""
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup = backup_upload(account=cast.firm, user=cast.firm_staff, source=source, file_name="kantoor.bacpac")
    Backup.objects.filter(pk=backup.pk).update(administration=cast.administration, client_account=cast.account)
    return backup


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("firm_right_blocked", [False, True])
def test_every_user_sees_through_the_api_what_the_screens_show(
    who, firm_right_blocked, api, cast, client, make_token, uploaded, firm_backup
) -> None:
    Right.objects.filter(firm=cast.firm).update(access_blocked=firm_right_blocked)
    user = getattr(cast, who)
    token = make_token(user, ("read",))

    administrations = api("get", "/administrations/", token)
    assert administrations.status_code == 200
    api_ids = {a["id"] for a in administrations.json()}
    assert api_ids == screen_ids(client, user, reverse("administrations:list"), "administration")
    assert api_ids == set(Administration.objects.visible_to(user).values_list("pk", flat=True))

    backups = api("get", "/backups/", token)
    assert {b["id"] for b in backups.json()["items"]} == screen_ids(client, user, reverse("backups:list"), "backup")

    for pk in Administration.objects.values_list("pk", flat=True):
        expected = 200 if pk in api_ids else 404
        assert api("get", f"/administrations/{pk}", token).status_code == expected


def test_firm_staff_reach_the_client_with_an_unblocked_right_and_lose_it_when_blocked(api, cast, make_token) -> None:
    token = make_token(cast.firm_staff)
    url = f"/administrations/{cast.administration.pk}"
    assert api("get", url, token).json()["name"] == "Bakkerij Test"
    Right.objects.filter(firm=cast.firm).update(access_blocked=True)
    blocked = api("get", url, token)
    assert blocked.status_code == 404
    assert blocked.json()["code"] == "not_found"
    assert api("post", f"{url}/backups", token).status_code == 404


def test_an_outsider_gets_404_for_every_object_of_another_tenant(api, cast, make_token, uploaded) -> None:
    job = Job.objects.create(kind=Job.Kind.EXPORT, account=cast.account, requested_by=cast.owner)
    token = make_token(cast.outsider)
    calls = [
        ("get", f"/administrations/{cast.administration.pk}", None),
        ("post", f"/administrations/{cast.administration.pk}/backups", {}),
        ("get", f"/administrations/{cast.administration.pk}/aftercare", None),
        ("get", f"/backups/{uploaded.pk}", None),
        ("get", f"/backups/{uploaded.pk}/download", None),
        ("delete", f"/backups/{uploaded.pk}", None),
        ("post", f"/backups/{uploaded.pk}/restore", {"name": "Buit", "location": "local", "local_path": "buit"}),
        ("get", f"/jobs/{job.pk}", None),
    ]
    for method, path, body in calls:
        response = api(method, path, token, json_body=body)
        assert response.status_code == 404, (method, path, response.content)
        assert response.json() == {"code": "not_found", "message": "Niet gevonden, of je hebt er geen toegang toe."}
    assert Backup.objects.filter(pk=uploaded.pk).exists()
    assert not Administration.objects.filter(name="Buit").exists()
    assert api("get", "/backups/", token).json()["count"] == 0


def test_restoring_needs_a_managing_user_as_on_the_screen(api, cast, make_token, uploaded) -> None:
    # The extra user sees the back-up's administration but does not manage the account: refused with the screens'
    # reason, as the restore screen refuses them (403).
    Backup.objects.filter(pk=uploaded.pk).update(administration=cast.administration)
    token = make_token(cast.extra_user)
    assert api("get", f"/backups/{uploaded.pk}", token).status_code == 200
    refused = api(
        "post",
        f"/backups/{uploaded.pk}/restore",
        token,
        json_body={"name": "Kopie", "location": "local", "local_path": "k"},
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden" and refused.json()["message"]
    assert not Job.objects.filter(kind=Job.Kind.RESTORE).exists()


def test_aftercare_is_for_main_users_and_administrators_only(api, cast, make_token) -> None:
    from aftercare.models import AftercareItem

    item = AftercareItem.objects.create(administration=cast.administration, kind="mailbox", title="Mailbox instellen")
    # Users who see the administration but may not work off its to-dos are refused as on the screens (403).
    for who, expected in [("owner", 200), ("administrator", 200), ("extra_user", 403), ("firm_staff", 403)]:
        token = make_token(getattr(cast, who))
        response = api("get", f"/administrations/{cast.administration.pk}/aftercare", token)
        assert response.status_code == expected, who
        resolved = api("post", f"/aftercare-items/{item.pk}/resolve", token, json_body={"action": "dismiss"})
        assert resolved.status_code == (403 if expected == 403 else resolved.status_code), who
    item.refresh_from_db()
    assert item.status == "dismissed" and item.resolved_by == cast.owner


def test_the_api_asks_the_screens_permission_table(api, cast, make_token, uploaded) -> None:
    # A read-only external user sees the administration and its back-ups but may not make, download or delete one:
    # the screens hide those buttons and refuse the URLs, and the API refuses the calls with the same reason.
    from administrations.models import Right

    Right.objects.filter(user=cast.external_user).update(role="read")
    Backup.objects.filter(pk=uploaded.pk).update(administration=cast.administration)
    token = make_token(cast.external_user)
    assert api("get", f"/backups/{uploaded.pk}", token).status_code == 200
    for method, path in [
        ("post", f"/administrations/{cast.administration.pk}/backups"),
        ("get", f"/backups/{uploaded.pk}/download"),
        ("delete", f"/backups/{uploaded.pk}"),
    ]:
        response = api(method, path, token)
        assert response.status_code == 403, (method, path, response.content)
        assert response.json()["code"] == "forbidden"
    assert Backup.objects.filter(pk=uploaded.pk).exists()
    assert not Job.objects.filter(kind=Job.Kind.EXPORT).exists()
