"""The aftercare panel and the administration's page agree after every action (R20–R24): the Rechten and
Koppelingen and Logboek cards come along with the panel; a requested bank link is not active; headings follow the reader's
language; deleting an administration that took over a bank link hands it back."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from administrations.models import BankConnection, Right
from aftercare.models import AftercareItem
from aftercare.services import bank_relink
from backups.models import Job
from backups.services import administration_delete_start
from portal.models import AuditEvent
from tests.helpers import element, main_text, text_of

pytestmark = pytest.mark.django_db


def on_detail_page(administration) -> dict[str, str]:
    url = reverse("administrations:detail", args=[administration.pk])
    return {"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}


def test_giving_access_updates_the_rights_card_in_the_same_answer(client, cast, restored) -> None:
    client.force_login(cast.owner)
    page = client.get(reverse("administrations:detail", args=[restored.pk]))
    assert "Geblokkeerd" in text_of(page, "#rights-card")
    for item in AftercareItem.objects.filter(administration=restored, kind=AftercareItem.Kind.RIGHT):
        answer = client.post(
            reverse("aftercare:act", args=[item.pk, "toegang-geven"]), headers=on_detail_page(restored)
        )
    card = element(answer, "#rights-card")
    assert card["hx-swap-oob"] == "true"
    assert "Geblokkeerd" not in text_of(answer, "#rights-card") and "Toegestaan" in text_of(answer, "#rights-card")
    # The Logboek card below comes along too, with the access just given in it.
    assert str(AuditEvent.Action.RIGHT_UNBLOCKED.label) not in text_of(page, "#log-card")
    log = element(answer, "#log-card")
    assert log["hx-swap-oob"] == "true"
    assert str(AuditEvent.Action.RIGHT_UNBLOCKED.label) in text_of(answer, "#log-card tbody")


def test_koppel_opnieuw_updates_the_connections_card(client, cast, restored) -> None:
    client.force_login(cast.owner)
    item = AftercareItem.objects.get(administration=restored, kind=AftercareItem.Kind.BANK_RELINK)
    answer = client.post(reverse("aftercare:act", args=[item.pk, "opnieuw-koppelen"]), headers=on_detail_page(restored))
    connections = text_of(answer, "#connections-card")
    assert "ABN AMRO · NL91 ABNA 0417 1643 00 · Actief" in connections


def test_the_panel_on_its_own_page_gets_no_cards_it_has_no_place_for(client, cast, restored) -> None:
    client.force_login(cast.owner)
    item = AftercareItem.objects.get(administration=restored, kind=AftercareItem.Kind.BANK_RELINK)
    url = reverse("aftercare:panel", args=[restored.pk])
    answer = client.post(
        reverse("aftercare:act", args=[item.pk, "opnieuw-koppelen"]),
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"},
    )
    assert not element(answer, "section").select("[hx-swap-oob]") and "#connections-card" not in answer.content.decode()


def test_ik_heb_de_koppeling_aangevraagd_shows_aangevraagd_not_actief(client, cast, restored) -> None:
    client.force_login(cast.owner)
    item = AftercareItem.objects.get(administration=restored, kind=AftercareItem.Kind.BANK_REQUEST)
    answer = client.post(reverse("aftercare:act", args=[item.pk, "aangevraagd"]), headers=on_detail_page(restored))
    assert "ING · NL69 INGB 0123 4567 89 · Aangevraagd" in text_of(answer, "#connections-card")
    assert BankConnection.objects.get(pk=item.bank_connection_id).status == BankConnection.Status.REQUESTED


def test_headings_are_put_into_words_in_the_readers_language(client, cast, restored) -> None:
    client.force_login(cast.owner)
    dutch = main_text(client.get(reverse("aftercare:panel", args=[restored.pk])))
    assert "ABN AMRO NL91 ABNA 0417 1643 00 opnieuw koppelen" in dutch
    assert "Mailbox inkoop@bron.nl opnieuw instellen" in dutch
    client.cookies["django_language"] = "en"
    english = main_text(client.get(reverse("aftercare:panel", args=[restored.pk]), headers={"Accept-Language": "en"}))
    assert "Reconnect ABN AMRO NL91 ABNA 0417 1643 00" in english
    assert "Set up mailbox inkoop@bron.nl again" in english
    assert "Check rights: Kantoor Test (Accountancy firm)" in english
    assert "opnieuw" not in english
    with translation.override("nl"):
        assert AftercareItem.objects.get(administration=restored, kind="mailbox").title.startswith("Mailbox inkoop")


def test_deleting_a_restored_administration_warns_and_hands_the_bank_link_back(
    client, cast, source, restored, django_capture_on_commit_callbacks
) -> None:
    item = AftercareItem.objects.get(administration=restored, kind=AftercareItem.Kind.BANK_RELINK)
    bank_relink(item=item, user=cast.owner)
    old = BankConnection.objects.get(administration=source, iban="NL91ABNA0417164300")
    assert old.status == BankConnection.Status.INACTIVE
    client.force_login(cast.owner)
    confirm = client.get(reverse("backups:delete_administration", args=[restored.pk]))
    assert "na het verwijderen gaat de koppeling terug naar Bron" in main_text(confirm)
    with django_capture_on_commit_callbacks(execute=True):
        job = administration_delete_start(administration=restored, user=cast.owner)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.log
    old.refresh_from_db()
    assert old.status == BankConnection.Status.ACTIVE
    assert not Right.objects.filter(administration_id=restored.pk).exists()
