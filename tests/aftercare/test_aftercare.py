"""Aftercare after a restore (R20–R24): drafting the to-do list and working off every kind of item."""

from __future__ import annotations

import pytest
from django.urls import reverse

from administrations.models import ApiConnection, Bank, BankConnection, Mailbox, Right
from aftercare.models import AftercareItem
from aftercare.services import (
    AftercareError,
    aftercare_draft,
    api_key_generate,
    bank_relink,
    bank_requested,
    item_dismiss,
    item_done,
    mailbox_setup,
    right_grant,
    right_remove,
)
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES
from tests.helpers import element, main_text

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def item(administration, kind: str, **filters) -> AftercareItem:
    return administration.aftercare_items.get(kind=kind, **filters)


def test_r24_a_restore_drafts_one_to_do_per_right_connection_bank_and_mailbox(restored) -> None:
    kinds = sorted(restored.aftercare_items.values_list("kind", flat=True))
    assert kinds == sorted(
        ["right", "right", "right", "api_connection", "bank_relink", "bank_request", "bank_support", "mailbox"]
    )
    assert all(i.status == "open" for i in restored.aftercare_items.all())


def test_r20_every_grantee_comes_back_blocked(cast, restored) -> None:
    rights = Right.objects.filter(administration=restored)
    assert {(r.grantee_kind, r.access_blocked) for r in rights} == {
        ("firm", True),
        ("external_user", True),
        ("extra_user", True),
    }
    for user in (cast.firm_staff, cast.external_user, cast.extra_user):
        assert not restored.is_visible_to(user)
    assert restored.is_visible_to(cast.owner)


def test_r20_giving_access_lets_the_firm_in_at_once(client, cast, restored) -> None:
    client.force_login(cast.firm_staff)
    url = reverse("administrations:detail", args=[restored.pk])
    assert client.get(url).status_code == 404
    right_grant(item=item(restored, "right", right__firm=cast.firm), user=cast.owner)
    assert client.get(url).status_code == 200


def test_r20_removing_the_right_keeps_the_grantee_out(cast, restored) -> None:
    todo = item(restored, "right", right__user=cast.external_user)
    right_remove(item=todo, user=cast.owner)
    assert not Right.objects.filter(administration=restored, user=cast.external_user).exists()
    todo.refresh_from_db()
    assert todo.status == "done" and todo.resolved_by == cast.owner and todo.resolved_at is not None


def test_r21_a_new_key_is_shown_once_and_only_its_hash_is_stored(cast, source, restored) -> None:
    todo = item(restored, "api_connection")
    connection = todo.api_connection
    assert connection.status == ApiConnection.Status.KEY_NEEDED and connection.partner == "Webwinkel BV"
    key = api_key_generate(item=todo, user=cast.owner)
    connection.refresh_from_db()
    assert len(key) >= 40
    assert connection.key_hash == ApiConnection.hash_key(key) and key not in connection.key_hash
    assert connection.key_hint == key[-4:] and connection.status == ApiConnection.Status.ACTIVE
    assert connection.key_hash != source.api_connections.get().key_hash
    with pytest.raises(AftercareError):
        api_key_generate(item=todo, user=cast.owner)


def test_r22_abn_amro_is_relinked_leaving_exactly_one_active_link(cast, source, restored) -> None:
    todo = item(restored, "bank_relink")
    assert todo.bank_connection.bank == Bank.ABN_AMRO
    bank_relink(item=todo, user=cast.owner)
    active = BankConnection.objects.filter(iban="NL91ABNA0417164300", status=BankConnection.Status.ACTIVE)
    assert list(active.values_list("administration_id", flat=True)) == [restored.pk]
    assert source.bank_connections.get(bank=Bank.ABN_AMRO).status == BankConnection.Status.INACTIVE


def test_r22_knab_is_relinked_too_and_ing_is_requested_again(cast, source, django_capture_on_commit_callbacks) -> None:
    BankConnection.objects.create(administration=source, bank=Bank.KNAB, iban="NL02KNAB0123456789")
    from backups.services import backup_create

    with django_capture_on_commit_callbacks(execute=True):
        job = backup_create(administration=source, user=cast.owner)
    job.refresh_from_db()
    restored = cast.account.administrations.create(
        name="Zonder data", location="online", engine="sqlite", database_name="z"
    )
    aftercare_draft(administration=restored, backup=job.backup)
    relinks = {i.bank_connection.bank for i in restored.aftercare_items.filter(kind="bank_relink")}
    requests = {i.bank_connection.bank for i in restored.aftercare_items.filter(kind="bank_request")}
    assert relinks == {Bank.ABN_AMRO, Bank.KNAB}
    assert requests == {Bank.ING}


@pytest.mark.parametrize("bank", [Bank.ING, Bank.TRIODOS, Bank.RABOBANK])
def test_r22_ing_triodos_and_rabobank_must_be_requested_at_the_bank(cast, bank: str) -> None:
    from backups.models import Backup

    backup = Backup(
        snapshot={"bank_connections": [{"id": 0, "bank": bank, "iban": "NL00BANK0000000001", "status": "active"}]}
    )
    restored = cast.account.administrations.create(name="R", location="online", engine="sqlite", database_name="r")
    [todo] = aftercare_draft(administration=restored, backup=backup)
    assert todo.kind == "bank_request" and "website van de bank" in todo.title
    assert todo.bank_connection.status == BankConnection.Status.REQUEST_NEEDED
    bank_requested(item=todo, user=cast.owner)
    todo.bank_connection.refresh_from_db()
    # Requested by the user is not active: the bank has not done anything yet.
    assert todo.bank_connection.status == BankConnection.Status.REQUESTED
    assert todo.bank_connection.get_status_display() == "Aangevraagd"


def test_r6_r22_snelstart_bankieren_asks_to_contact_support_and_links_nothing(cast, restored) -> None:
    todo = item(restored, "bank_support")
    assert "klantenservice" in todo.title
    assert not restored.bank_connections.filter(bank=Bank.SNELSTART_BANKIEREN).exists()
    item_done(item=todo, user=cast.owner)
    todo.refresh_from_db()
    assert todo.status == "done"


def test_r23_the_mailbox_lapses_and_is_set_up_again(cast, restored) -> None:
    assert restored.mailbox.status == Mailbox.Status.SETUP_NEEDED
    mailbox_setup(item=item(restored, "mailbox"), user=cast.owner, address="post@kopie.nl")
    restored.mailbox.refresh_from_db()
    assert restored.mailbox.address == "post@kopie.nl" and restored.mailbox.status == Mailbox.Status.ACTIVE


def test_an_uploaded_file_without_snapshot_drafts_rights_from_the_account(
    cast, django_capture_on_commit_callbacks
) -> None:
    with (SAMPLES / "pubs.bacpac").open("rb") as source_file:
        backup = backup_upload(account=cast.account, user=cast.owner, source=source_file, file_name="pubs.bacpac")
    assert backup.snapshot == {}
    restored = cast.account.administrations.create(name="Pubs", location="online", engine="sqlite", database_name="p")
    items = aftercare_draft(administration=restored, backup=backup)
    # The cast's account has a firm, an external and an extra user on its other administration.
    assert sorted(i.kind for i in items) == ["right", "right", "right"]
    assert Right.objects.filter(administration=restored, access_blocked=False).count() == 0


def test_an_item_is_dismissed_once(cast, restored) -> None:
    todo = item(restored, "mailbox")
    item_dismiss(item=todo, user=cast.owner)
    with pytest.raises(AftercareError):
        item_dismiss(item=todo, user=cast.owner)


# --- the panel and its actions through the browser's way in ---


def test_the_panel_counts_done_items_and_says_when_all_is_done(client, cast, restored) -> None:
    client.force_login(cast.owner)
    body = main_text(client.get(reverse("administrations:detail", args=[restored.pk])))
    assert "0 van 8 afgerond" in body
    for todo in restored.aftercare_items.all():
        item_dismiss(item=todo, user=cast.owner)
    body = main_text(client.get(reverse("aftercare:panel", args=[restored.pk])))
    assert "Alles afgerond" in body


def test_the_administrations_list_shows_a_badge_until_everything_is_done(client, cast, restored) -> None:
    client.force_login(cast.owner)
    assert "8 nazorgtaken" in main_text(client.get(reverse("administrations:list")))
    for todo in restored.aftercare_items.all():
        item_dismiss(item=todo, user=cast.owner)
    assert "nazorgtaak" not in main_text(client.get(reverse("administrations:list")))


def test_an_action_answers_htmx_with_the_panel_and_a_plain_post_with_a_redirect(client, cast, restored) -> None:
    client.force_login(cast.owner)
    first = item(restored, "right", right__firm=cast.firm)
    response = client.post(reverse("aftercare:act", args=[first.pk, "toegang-geven"]), headers=HTMX)
    assert response.status_code == 200 and element(response, "#aftercare-panel") is not None
    second = item(restored, "right", right__user=cast.external_user)
    response = client.post(reverse("aftercare:act", args=[second.pk, "recht-verwijderen"]))
    assert response.status_code == 302
    assert client.get(reverse("aftercare:act", args=[second.pk, "toegang-geven"])).status_code == 405


def test_the_key_action_shows_the_key_in_its_answer_only(client, cast, restored) -> None:
    client.force_login(cast.owner)
    todo = item(restored, "api_connection")
    body = main_text(client.post(reverse("aftercare:act", args=[todo.pk, "sleutel"]), headers=HTMX))
    todo.api_connection.refresh_from_db()
    hint = todo.api_connection.key_hint
    assert "maar één keer getoond" in body and hint in body
    again = main_text(client.get(reverse("aftercare:panel", args=[restored.pk])))
    assert "maar één keer getoond" not in again


def test_a_bad_mailbox_address_is_refused_with_a_message(client, cast, restored) -> None:
    client.force_login(cast.owner)
    todo = item(restored, "mailbox")
    response = client.post(reverse("aftercare:act", args=[todo.pk, "mailbox"]), {"address": "geen-adres"}, headers=HTMX)
    assert response.status_code == 422 and "e-mailadres" in main_text(response).lower()
    todo.refresh_from_db()
    assert todo.is_open


@pytest.mark.parametrize("who", ["extra_user", "firm_staff", "outsider"])
def test_only_managers_work_off_aftercare(client, cast, restored, who: str) -> None:
    Right.objects.filter(administration=restored).update(access_blocked=False)
    client.force_login(getattr(cast, who))
    todo = item(restored, "mailbox")
    # Who sees the administration is told why not (403); who does not see it gets 404.
    expected = 404 if who == "outsider" else 403
    assert client.get(reverse("aftercare:panel", args=[restored.pk])).status_code == expected
    assert client.post(reverse("aftercare:act", args=[todo.pk, "niet-nodig"])).status_code == expected
    todo.refresh_from_db()
    assert todo.is_open


def test_an_unknown_action_is_404(client, cast, restored) -> None:
    client.force_login(cast.owner)
    todo = item(restored, "mailbox")
    assert client.post(reverse("aftercare:act", args=[todo.pk, "alles-wissen"])).status_code == 404
