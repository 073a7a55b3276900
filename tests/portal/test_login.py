from __future__ import annotations

import pytest
from django.urls import reverse

from tests.helpers import element, main_text

pytestmark = pytest.mark.django_db


def test_home_sends_a_visitor_to_the_login_page(client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response.url == reverse("login")


def test_a_user_logs_in_and_lands_on_their_administrations(client, cast) -> None:
    response = client.post(reverse("login"), {"username": "owner", "password": "geheim-wachtwoord"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("administrations:list")
    assert "Bakkerij Test" in main_text(response)


def test_a_wrong_password_gets_a_dutch_message(client, cast) -> None:
    response = client.post(reverse("login"), {"username": "owner", "password": "fout"})
    assert response.status_code == 200
    assert "Gebruikersnaam of wachtwoord klopt niet" in main_text(response)


def test_logging_out_takes_a_post(client, cast) -> None:
    client.force_login(cast.owner)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("administrations:list")).status_code == 302


def test_the_admin_is_the_support_desk(staff_login, cast) -> None:
    cast.support.is_superuser = True
    cast.support.save()
    client = staff_login(cast.support)
    for url in [
        "/beheer/",
        "/beheer/administrations/account/?q=Bakkerij",
        "/beheer/administrations/administration/?q=Test",
        "/beheer/administrations/right/?access_blocked__exact=1",
        "/beheer/administrations/bankconnection/",
        "/beheer/administrations/apiconnection/",
        "/beheer/administrations/mailbox/",
        "/beheer/administrations/databaseserver/",
        "/beheer/administrations/membership/",
        f"/beheer/administrations/administration/{cast.administration.pk}/change/",
        f"/beheer/administrations/account/{cast.account.pk}/change/",
    ]:
        assert client.get(url).status_code == 200, url


def test_the_admin_finds_a_customer_by_e_mail(staff_login, cast) -> None:
    cast.support.is_superuser = True
    cast.support.save()
    client = staff_login(cast.support)
    body = main_text(client.get("/beheer/administrations/account/?q=owner@example.nl"))
    assert "Bakkerij Test" in body and "Ander Bedrijf" not in body


def test_customers_cannot_enter_the_admin(client, cast) -> None:
    client.force_login(cast.owner)
    response = client.get("/beheer/")
    assert response.status_code == 302 and "/beheer/login/" in response.url


def test_the_portal_is_dutch_even_when_the_browser_asks_for_english(client, cast) -> None:
    client.force_login(cast.owner)
    response = client.get("/administraties/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert element(response, "html")["lang"] == "nl" and "Administraties" in main_text(response)


def test_a_users_language_does_not_leak_into_work_after_the_request(client, cast) -> None:
    from django.utils.translation import gettext

    client.force_login(cast.owner)
    client.post(reverse("set_language"), {"language": "en"})
    assert "Administrations" in main_text(client.get(reverse("administrations:list")))
    assert gettext("Administraties") == "Administraties"
