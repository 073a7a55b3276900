"""Administratie → Rechten: add, block, unblock and remove; the effect on access is immediate."""

from __future__ import annotations

import pytest
from django.urls import reverse

from administrations.models import Right
from tests.helpers import main_text

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def owner(client, cast):
    client.force_login(cast.owner)
    return client


def rights_url(cast) -> str:
    return reverse("administrations:rights", args=[cast.administration.pk])


def test_the_rights_screen_lists_every_grantee(owner, cast) -> None:
    body = main_text(owner.get(rights_url(cast)))
    assert "Kantoor Test" in body and "external@example.nl" in body and "Recht toevoegen" in body


def test_an_external_user_is_added_by_e_mail(owner, cast, django_user_model) -> None:
    newcomer = django_user_model.objects.create_user("nieuw", "nieuw@example.nl", "x")
    response = owner.post(
        rights_url(cast), {"grantee_kind": "external_user", "email": "NIEUW@example.nl", "role": "read"}
    )
    assert response.status_code == 200
    assert cast.administration.is_visible_to(newcomer)


def test_an_unknown_e_mail_is_refused(owner, cast) -> None:
    response = owner.post(
        rights_url(cast), {"grantee_kind": "external_user", "email": "niemand@example.nl", "role": "read"}
    )
    assert response.status_code == 422 and "geen gebruiker met dit e-mailadres" in main_text(response)


def test_a_firm_is_added_from_the_list_and_a_duplicate_is_refused(owner, cast) -> None:
    from administrations.models import Account, Package

    other_firm = Account.objects.create(name="Tweede Kantoor", package=Package.ACCOUNTANT)
    assert (
        owner.post(rights_url(cast), {"grantee_kind": "firm", "firm": other_firm.pk, "role": "full"}).status_code == 200
    )
    again = owner.post(rights_url(cast), {"grantee_kind": "firm", "firm": other_firm.pk, "role": "full"})
    assert again.status_code == 422 and "heeft al een recht" in main_text(again)


def test_an_extra_user_is_chosen_among_the_accounts_standard_users(owner, cast) -> None:
    Right.objects.filter(user=cast.extra_user).delete()
    membership = cast.extra_user.memberships.get()
    response = owner.post(rights_url(cast), {"grantee_kind": "extra_user", "extra_user": membership.pk, "role": "read"})
    assert response.status_code == 200
    assert cast.administration.is_visible_to(cast.extra_user)


def test_blocking_and_unblocking_take_effect_at_once(owner, client, cast) -> None:
    right = Right.objects.get(firm=cast.firm)
    owner.post(
        reverse("administrations:right_change", args=[cast.administration.pk, right.pk, "blokkeren"]), headers=HTMX
    )
    assert not cast.administration.is_visible_to(cast.firm_staff)
    owner.post(reverse("administrations:right_change", args=[cast.administration.pk, right.pk, "deblokkeren"]))
    assert cast.administration.is_visible_to(cast.firm_staff)


def test_removing_a_right_removes_access(owner, cast) -> None:
    right = Right.objects.get(user=cast.external_user)
    owner.post(reverse("administrations:right_remove", args=[cast.administration.pk, right.pk]))
    assert not cast.administration.is_visible_to(cast.external_user)


@pytest.mark.parametrize("who", ["extra_user", "external_user", "firm_staff", "outsider"])
def test_only_managers_reach_the_rights_screen(client, cast, who: str) -> None:
    client.force_login(getattr(cast, who))
    # Who sees the administration is told why not (403); who does not see it gets 404.
    expected = 404 if who == "outsider" else 403
    page = client.get(rights_url(cast))
    assert page.status_code == expected
    if expected == 403:
        assert "Alleen de hoofdgebruiker en beheerders van het account beheren de rechten" in main_text(page)
    right = Right.objects.get(firm=cast.firm)
    url = reverse("administrations:right_change", args=[cast.administration.pk, right.pk, "blokkeren"])
    assert client.post(url).status_code == expected
    right.refresh_from_db()
    assert not right.access_blocked


def test_changing_a_right_takes_a_post_and_a_known_action(owner, cast) -> None:
    right = Right.objects.get(firm=cast.firm)
    assert (
        owner.get(
            reverse("administrations:right_change", args=[cast.administration.pk, right.pk, "blokkeren"])
        ).status_code
        == 405
    )
    assert (
        owner.post(
            reverse("administrations:right_change", args=[cast.administration.pk, right.pk, "wissen"])
        ).status_code
        == 404
    )
