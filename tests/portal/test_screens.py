"""What people saw when they walked the portal: the administration page offers what its row in the list offers, the
firm's Klanten page names clients that blocked the firm, stacked rows on a phone keep their column names, the new
API key can be copied, every date in the one Dutch style, and the admin's sizes and titles as the portal shows them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from administrations.models import Right
from api.models import Webhook, WebhookDelivery
from backups import credentials
from backups.models import Backup
from tests.helpers import element, main_text, text_of

pytestmark = pytest.mark.django_db

ONE_DUTCH_DATE = re.compile(r"^\d{2}-\d{2}-\d{4} \d{2}:\d{2}$")


def test_the_administration_page_offers_making_a_back_up_and_deleting_to_the_owner(client, cast) -> None:
    client.force_login(cast.owner)
    page = client.get(reverse("administrations:detail", args=[cast.administration.pk]))
    actions = element(page, "main #administration-actions")
    make = actions.select_one(f"form[action='{reverse('backups:create', args=[cast.administration.pk])}'] button")
    assert make is not None and make.get_text(strip=True) == "Back-up maken"
    delete = actions.select_one(f"a[href='{reverse('backups:delete_administration', args=[cast.administration.pk])}']")
    assert delete is not None and delete.get_text(strip=True) == "Administratie verwijderen"


def test_a_read_only_user_is_told_why_instead_of_offered_a_button(client, cast) -> None:
    Right.objects.filter(user=cast.external_user).update(role=Right.Role.READ)
    client.force_login(cast.external_user)
    page = client.get(reverse("administrations:detail", args=[cast.administration.pk]))
    actions = element(page, "main #administration-actions")
    assert actions.select("button") == [] and actions.select("a") == []
    assert "Alleen inzien" in text_of(page, "main #administration-actions")


def test_the_klanten_page_names_a_client_that_blocked_the_firm(client, cast) -> None:
    Right.objects.filter(firm=cast.firm).update(access_blocked=True)
    client.force_login(cast.firm_staff)
    page = client.get(reverse("administrations:firm_dashboard"))
    blocked = text_of(page, "main #blocked-clients")
    assert "Toegang geblokkeerd" in blocked and "Bakkerij Test" in blocked
    assert "Nog geen klanten" not in main_text(page)


def test_in_english_the_blocked_clients_are_explained_in_english(client, cast) -> None:
    Right.objects.filter(firm=cast.firm).update(access_blocked=True)
    client.force_login(cast.firm_staff)
    client.post(reverse("set_language"), {"language": "en"})
    blocked = text_of(client.get(reverse("administrations:firm_dashboard")), "main #blocked-clients")
    assert "Access blocked" in blocked and "Your firm's access to these client administrations is blocked" in blocked


def test_a_back_up_page_offers_the_download_and_labels_its_table_rows(client, cast) -> None:
    backup = Backup.objects.create(
        account=cast.account,
        administration=cast.administration,
        administration_name="Bakkerij Test",
        status=Backup.Status.READY,
        size=68_000,
        file_name="a.bacpac",
        sha256="0" * 64,
        summary={"tables": [{"schema": "dbo", "name": "relaties", "rows": 100, "columns": [], "data_bytes": 1200}]},
    )
    client.force_login(cast.owner)
    page = client.get(reverse("backups:detail", args=[backup.pk]))
    head = element(page, "main .pagehead")
    assert head.select_one(f"a[href='{reverse('backups:download', args=[backup.pk])}']").get_text() == "Downloaden"
    cells = element(page, "main table.list tbody tr").select("td")
    assert [cell.get("data-label") for cell in cells] == ["Tabel", "Rijen", "Kolommen", "Gegevens"]


def test_the_klanten_rows_keep_their_column_names_when_stacked_on_a_phone(client, cast) -> None:
    client.force_login(cast.firm_staff)
    page = client.get(reverse("administrations:firm_dashboard"))
    row = element(page, f"main #client-administration-{cast.administration.pk}")
    labels = [cell.get("data-label") for cell in row.select("td")]
    assert labels == ["Administratie", "Locatie", "Laatste back-up door het kantoor", "Acties"]


def test_a_new_api_key_has_a_copy_button_and_the_list_uses_the_one_date_style(client, cast) -> None:
    client.force_login(cast.owner)
    page = client.post(reverse("api:tokens"), {"name": "Nachtelijk", "scopes": ["read"], "expires_in_days": "90"})
    card = element(page, "main #new-token")
    secret = card.select_one("code.key")
    button = card.select_one("button[data-copy]")
    assert secret is not None and button is not None and button.get_text(strip=True) == "Kopiëren"
    assert card.select_one(button["data-copy"]) is secret
    row = element(page, "main #tokens tbody tr")
    assert ONE_DUTCH_DATE.match(row.select_one("td[data-label='Verloopt op'] time").get_text())
    assert {cell.get("data-label") for cell in row.select("td")} >= {"Naam", "Rechten", "Verloopt op", "Status"}


def test_webhook_pages_show_dates_in_the_one_dutch_style_with_labelled_cells(client, cast) -> None:
    webhook = Webhook.objects.create(
        account=cast.account, url="https://example.nl/haak", secret=credentials.encrypt("s"), events=["backup.ready"]
    )
    WebhookDelivery.objects.create(
        webhook=webhook,
        event="backup.ready",
        body="{}",
        created_at=datetime(2026, 12, 1, 17, 39, 5, tzinfo=UTC),
        next_attempt_at=datetime(2026, 12, 1, 17, 40, 5, tzinfo=UTC),
    )
    client.force_login(cast.owner)
    listing = client.get(reverse("api:webhooks"))
    assert ONE_DUTCH_DATE.match(element(listing, f"main #webhook-{webhook.pk} time").get_text())
    detail = client.get(reverse("api:webhook", args=[webhook.pk]))
    times = [time.get_text() for time in element(detail, "main #deliveries").select("time")]
    assert times == ["01-12-2026 18:39", "01-12-2026 18:40"]
    assert "Dec" not in main_text(detail)
    cells = element(detail, "main #deliveries tbody tr").select("td")
    assert all(cell.get("data-label") for cell in cells)


def test_the_admin_shows_sizes_and_titles_as_the_portal_does(client, cast, staff_login) -> None:
    from django.contrib.auth.models import Group

    backup = Backup.objects.create(
        account=cast.account,
        administration=cast.administration,
        administration_name="Bakkerij Test",
        status=Backup.Status.READY,
        size=68_000,
        file_name="a.bacpac",
        sha256="0" * 64,
        created_at=timezone.make_aware(datetime(2026, 12, 1, 18, 39)),
    )
    cast.support.groups.add(Group.objects.get(name="Klantenservice eerste lijn"))
    staff_login(cast.support)
    listing = client.get(reverse("admin:backups_backup_changelist"))
    assert "68,0 kB" in text_of(listing, "#result_list")
    change = client.get(reverse("admin:backups_backup_change", args=[backup.pk]))
    assert "Bakkerij Test (01-12-2026 18:39)" in text_of(change, "#content")
