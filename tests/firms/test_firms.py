"""Accountancy firms: the client dashboard, back-ups into the firm's own overview, and the back-up a firm keeps
when a client revokes its right."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from administrations import bookkeeping
from administrations.models import Account, Administration, Location, Membership, Package, Right
from administrations.services import Target, administration_create, firm_revoke_backup_applies
from backups.models import Backup, Job
from tests.helpers import element, main_text, text_of

pytestmark = pytest.mark.django_db


def online(account: Account, name: str) -> Administration:
    return administration_create(
        account=account, name=name, target=Target(Location.ONLINE), populate=lambda e: bookkeeping.fill(e, lines=20)
    )


@pytest.fixture
def clients(cast):
    """Three clients of the cast's firm: one with an unblocked right, one blocked, one without a right."""
    result = {}
    for name, blocked in [("Bloemist", False), ("Garage", True), ("Zonder recht", None)]:
        account = Account.objects.create(name=name, package=Package.INKAART)
        administration = online(account, f"{name} BV")
        if blocked is not None:
            Right.objects.create(
                administration=administration, grantee_kind=Right.Grantee.FIRM, firm=cast.firm, access_blocked=blocked
            )
        result[name] = administration
    return result


def test_a_firm_user_sees_exactly_the_clients_with_unblocked_rights(
    client, cast, clients, django_assert_max_num_queries
) -> None:
    client.force_login(cast.firm_staff)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("administrations:firm_dashboard"))
    names = [a.name for a in response.context["administrations"]]
    assert sorted(names) == ["Bakkerij Test", "Bloemist BV"]
    body = main_text(response)
    assert "Zonder recht" not in body
    # The blocked client is not among the clients to work on; it is named under "Toegang geblokkeerd".
    clients = " ".join(
        text_of(response, f"main #client-administration-{a.pk}") for a in response.context["administrations"]
    )
    assert "Garage" not in clients and "Garage BV" in text_of(response, "main #blocked-clients")
    assert "Klanten" in text_of(client.get(reverse("administrations:list")), "nav.mainnav")


def test_the_dashboard_is_for_firm_users_only(client, cast) -> None:
    client.force_login(cast.owner)
    assert client.get(reverse("administrations:firm_dashboard")).status_code == 404
    assert "Klanten" not in text_of(client.get(reverse("administrations:list")), "nav.mainnav")


def test_a_back_up_by_the_firm_lands_in_the_firms_overview_labelled_with_the_client(
    client, cast, clients, django_capture_on_commit_callbacks
) -> None:
    administration = clients["Bloemist"]
    client.force_login(cast.firm_staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("backups:create", args=[administration.pk]))
    backup = Backup.objects.get()
    assert backup.is_ready and backup.account == cast.firm and backup.client_account == administration.account
    firm_overview = main_text(client.get(reverse("backups:list")))
    assert "Bloemist BV" in firm_overview and "klant: Bloemist" in firm_overview
    dashboard = main_text(client.get(reverse("administrations:firm_dashboard")))
    assert "Klaar" in dashboard

    owner = Account.objects.get(name="Bloemist")
    user = (
        __import__("django.contrib.auth", fromlist=["get_user_model"])
        .get_user_model()
        .objects.create_user("bloem", password="x")
    )
    Membership.objects.create(user=user, account=owner, role=Membership.Role.MAIN)
    client.force_login(user)
    overview = client.get(reverse("backups:list"))
    assert list(overview.context["page"].object_list) == []
    body = main_text(overview)
    assert "Back-ups door je accountantskantoor" in body and "Kantoor Test" in body and "firmstaff" in body
    assert reverse("backups:download", args=[backup.pk]) not in body
    assert client.get(reverse("backups:download", args=[backup.pk])).status_code == 404


def test_a_firm_cannot_back_up_a_client_while_it_is_blocked(client, cast, clients) -> None:
    client.force_login(cast.firm_staff)
    assert client.post(reverse("backups:create", args=[clients["Garage"].pk])).status_code == 404


def test_a_second_request_by_someone_else_waits_instead_of_joining(cast, clients) -> None:
    from backups.services import BackupRefused, backup_create

    administration = clients["Bloemist"]
    backup_create(administration=administration, user=cast.firm_staff, account=cast.firm, enqueue=False)
    with pytest.raises(BackupRefused, match="al een back-up"):
        backup_create(administration=administration, user=None)


# --- revoking a firm's right ---


def age(right: Right, days: int) -> None:
    Right.objects.filter(pk=right.pk).update(granted_at=timezone.now() - timedelta(days=days))
    right.refresh_from_db()


def test_revoking_a_month_old_firm_right_backs_up_into_the_firms_overview(
    client, cast, django_capture_on_commit_callbacks
) -> None:
    administration = online(cast.account, "Maandklant")
    right = Right.objects.create(administration=administration, grantee_kind=Right.Grantee.FIRM, firm=cast.firm)
    age(right, 31)
    client.force_login(cast.owner)
    url = reverse("administrations:right_remove", args=[administration.pk, right.pk])
    confirm = main_text(client.get(url))
    assert "maken we eerst automatisch een back-up" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "krijgt een back-up tot nu" in main_text(response)
    backup = Backup.objects.get()
    assert backup.origin == Backup.Origin.AUTOMATIC_ON_REVOKE and backup.is_ready
    assert backup.account == cast.firm and backup.client_account == cast.account
    assert not Right.objects.filter(pk=right.pk).exists()
    assert not administration.is_visible_to(cast.firm_staff)


def test_revoking_a_younger_firm_right_makes_no_back_up(client, cast) -> None:
    administration = online(cast.account, "Nieuwe klant")
    right = Right.objects.create(administration=administration, grantee_kind=Right.Grantee.FIRM, firm=cast.firm)
    age(right, 29)
    client.force_login(cast.owner)
    url = reverse("administrations:right_remove", args=[administration.pk, right.pk])
    assert "automatisch een back-up" not in main_text(client.get(url))
    client.post(url)
    assert not Backup.objects.exists() and not Job.objects.exists()
    assert not Right.objects.filter(pk=right.pk).exists()


def test_the_month_is_a_setting_and_local_administrations_are_not_backed_up(cast, settings) -> None:
    right = Right.objects.get(administration=cast.administration, firm=cast.firm)
    age(right, 10)
    assert not firm_revoke_backup_applies(right)
    settings.FIRM_REVOKE_BACKUP_MIN_DAYS = 7
    assert firm_revoke_backup_applies(right)
    cast.administration.location = Location.LOCAL
    cast.administration.save()
    right.refresh_from_db()
    assert not firm_revoke_backup_applies(right)


def test_removing_a_users_right_never_backs_up(cast) -> None:
    right = Right.objects.get(administration=cast.administration, user=cast.external_user)
    age(right, 400)
    assert not firm_revoke_backup_applies(right)


def test_a_client_row_with_a_back_up_in_progress_follows_it_until_klaar(client, cast, clients) -> None:
    """After "Back-up maken" the firm lands on Klanten; the row of that client polls until the back-up is done,
    so "Wordt gemaakt…" turns into "Klaar" without a reload."""
    from backups.tasks import run_job

    administration = clients["Bloemist"]
    client.force_login(cast.firm_staff)
    client.post(reverse("backups:create", args=[administration.pk]))  # queued: nothing runs it yet
    row_id = f"#client-administration-{administration.pk}"
    dashboard = client.get(reverse("administrations:firm_dashboard"))
    row = element(dashboard, f"main {row_id}")
    assert "Wordt gemaakt…" in text_of(dashboard, row_id)
    assert row["hx-get"] == reverse("administrations:firm_client_row", args=[administration.pk])
    assert row["hx-trigger"] == "every 2s"

    run_job(Job.objects.get().pk)
    polled = client.get(row["hx-get"], headers={"HX-Request": "true"})
    assert polled.status_code == 200
    assert "Klaar" in text_of(polled, row_id) and "hx-get" not in str(element(polled, row_id))


@pytest.mark.parametrize("who", ["owner", "blocked", "none"])
def test_a_client_row_is_only_for_the_firm_that_may_see_it(client, cast, clients, who) -> None:
    """The row answers only a firm user, and only for a client whose right is not blocked."""
    administration = {"owner": clients["Bloemist"], "blocked": clients["Garage"], "none": clients["Zonder recht"]}[who]
    client.force_login(cast.owner if who == "owner" else cast.firm_staff)
    response = client.get(reverse("administrations:firm_client_row", args=[administration.pk]))
    assert response.status_code == 404
