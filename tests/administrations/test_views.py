"""The administrations screens: what each user sees, 404 for others, Dutch by default."""

from __future__ import annotations

import pytest
from django.urls import reverse

from administrations.models import Package, Right
from tests.helpers import element, main_text

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_owners_administrations_in_dutch(client, cast) -> None:
    client.force_login(cast.owner)
    response = client.get(reverse("administrations:list"))
    assert response.status_code == 200
    body = main_text(response)
    assert "Bakkerij Test" in body
    assert "Ander" not in body
    assert "Administraties" in body and "Online" in body
    assert element(response, "html")["lang"] == "nl"


def test_the_list_is_available_in_english(client, cast) -> None:
    client.force_login(cast.owner)
    client.post(reverse("set_language"), {"language": "en"})
    response = client.get(reverse("administrations:list"))
    body = main_text(response)
    assert element(response, "html")["lang"] == "en"
    assert "Administrations" in body


def test_the_list_needs_a_login(client) -> None:
    response = client.get(reverse("administrations:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_list_refuses_a_post(client, cast) -> None:
    client.force_login(cast.owner)
    assert client.post(reverse("administrations:list")).status_code == 405


def test_r4_an_inorde_customer_is_told_back_ups_are_not_possible(client, cast) -> None:
    cast.account.package = Package.INORDE
    cast.account.save()
    client.force_login(cast.owner)
    text = main_text(client.get(reverse("administrations:list")))
    assert "Met het pakket inOrde kun je geen back-ups maken of terugzetten" in text
    assert "geen toegang tot SnelStart 12" in text  # the article's reason
    assert "Back-up maken" not in text


def test_firm_staff_see_the_client_by_name(client, cast) -> None:
    client.force_login(cast.firm_staff)
    body = main_text(client.get(reverse("administrations:list")))
    assert "Bakkerij Test" in body


def test_the_list_answers_an_htmx_request_too(client, cast) -> None:
    client.force_login(cast.owner)
    response = client.get(reverse("administrations:list"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Bakkerij Test" in main_text(response)


def test_the_detail_page_shows_rights_to_the_owner(client, cast) -> None:
    client.force_login(cast.owner)
    body = main_text(client.get(reverse("administrations:detail", args=[cast.administration.pk])))
    assert "Rechten" in body and "Kantoor Test" in body


def test_the_detail_page_hides_rights_from_a_grantee(client, cast) -> None:
    client.force_login(cast.external_user)
    response = client.get(reverse("administrations:detail", args=[cast.administration.pk]))
    assert response.status_code == 200
    assert "Rechten" not in main_text(response)


@pytest.mark.parametrize("who", ["outsider", "support"])
def test_another_tenants_administration_answers_404(client, cast, who: str) -> None:
    client.force_login(getattr(cast, who))
    assert client.get(reverse("administrations:detail", args=[cast.administration.pk])).status_code == 404


def test_a_blocked_firm_gets_404_and_sees_it_again_after_unblocking(client, cast) -> None:
    client.force_login(cast.firm_staff)
    url = reverse("administrations:detail", args=[cast.administration.pk])
    Right.objects.filter(firm=cast.firm).update(access_blocked=True)
    assert client.get(url).status_code == 404
    Right.objects.filter(firm=cast.firm).update(access_blocked=False)
    assert client.get(url).status_code == 200
