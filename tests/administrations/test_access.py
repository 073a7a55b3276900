"""The access rule, from every side: who sees an administration, and what blocking a right does."""

from __future__ import annotations

import pytest

from administrations.models import Administration, Right

pytestmark = pytest.mark.django_db


def visible(user) -> set[str]:
    return set(Administration.objects.visible_to(user).values_list("name", flat=True))


def test_the_main_user_and_administrators_see_their_accounts_administrations(cast) -> None:
    assert visible(cast.owner) == {"Bakkerij Test"}
    assert visible(cast.administrator) == {"Bakkerij Test"}


def test_an_extra_user_sees_it_through_their_right(cast) -> None:
    assert visible(cast.extra_user) == {"Bakkerij Test"}


def test_an_extra_user_without_a_right_does_not_see_the_accounts_administrations(cast) -> None:
    Right.objects.filter(user=cast.extra_user).delete()
    assert visible(cast.extra_user) == set()


def test_an_external_user_sees_it_through_their_right(cast) -> None:
    assert visible(cast.external_user) == {"Bakkerij Test"}


def test_every_firm_user_sees_it_through_the_firms_right(cast) -> None:
    assert visible(cast.firm_owner) == {"Bakkerij Test"}
    assert visible(cast.firm_staff) == {"Bakkerij Test"}


@pytest.mark.parametrize("grantee", ["extra_user", "external_user", "firm_staff"])
def test_a_blocked_right_removes_access_everywhere(cast, grantee: str) -> None:
    """R20: "toegang blokkeren" takes the administration away from the grantee."""
    user = getattr(cast, grantee)
    Right.objects.filter(administration=cast.administration).update(access_blocked=True)
    assert visible(user) == set()
    assert not cast.administration.is_visible_to(user)


def test_unblocking_gives_access_back_at_once(cast) -> None:
    right = Right.objects.get(firm=cast.firm)
    right.access_blocked = True
    right.save()
    assert not cast.administration.is_visible_to(cast.firm_staff)
    right.access_blocked = False
    right.save()
    assert cast.administration.is_visible_to(cast.firm_staff)


def test_blocking_the_firm_does_not_block_the_owner(cast) -> None:
    Right.objects.update(access_blocked=True)
    assert visible(cast.owner) == {"Bakkerij Test"}


def test_an_outsider_sees_only_their_own_administration(cast) -> None:
    assert visible(cast.outsider) == {"Ander"}


def test_support_staff_see_nothing_in_the_customer_portal(cast) -> None:
    """Support works through the Django admin; the customer screens stay the customers'."""
    assert visible(cast.support) == set()


def test_an_anonymous_or_inactive_user_sees_nothing(cast) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert visible(AnonymousUser()) == set()
    cast.owner.is_active = False
    cast.owner.save()
    assert visible(cast.owner) == set()


def test_only_main_users_and_administrators_manage_an_administration(cast) -> None:
    assert cast.administration.is_managed_by(cast.owner)
    assert cast.administration.is_managed_by(cast.administrator)
    for user in (cast.extra_user, cast.external_user, cast.firm_owner, cast.firm_staff, cast.outsider, cast.support):
        assert not cast.administration.is_managed_by(user)


def test_a_firm_right_seen_by_a_non_firm_account_member_gives_nothing(cast) -> None:
    """Only members of an account on the Accountant package act through a firm right."""
    cast.firm.package = "inzicht"
    cast.firm.save()
    assert visible(cast.firm_staff) == set()
