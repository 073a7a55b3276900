"""Webhooks: the screen, deliveries to a real HTTP server on localhost that verifies the signature, retries with
exponential backoff for a receiver that answers 500, a time-out for one that hangs, and the address rules."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from api import tasks, webhooks
from api.models import Webhook, WebhookDelivery
from backups import credentials
from backups.models import Backup

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-geheim-0123456789"


class Receiver:
    """A real HTTP server in a thread. It checks each request's signature with the shared secret, as a customer's
    receiver would, and answers with the next status of `answers` (the last one repeats)."""

    def __init__(self, answers: list[int], hang: threading.Event | None = None) -> None:
        self.answers = answers
        self.hang = hang
        self.secret = SECRET
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = webhooks.verify(
                    receiver.secret, self.headers["X-Portal-Timestamp"], body, self.headers["X-Portal-Signature"]
                )
                receiver.received.append({"headers": dict(self.headers), "body": body, "valid": valid})
                if receiver.hang is not None:
                    receiver.hang.wait(10)
                status = receiver.answers[min(len(receiver.received), len(receiver.answers)) - 1]
                self.send_response(status if valid else 401)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/haak?bron=portaal"
        # shutdown() waits for serve_forever to look at its flag: every 0.5 s by default, half a second per test.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.hang is not None:
            self.hang.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_webhooks(settings) -> None:
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30


def webhook_for(cast, url: str, events: list[str]) -> Webhook:
    return Webhook.objects.create(account=cast.account, url=url, secret=credentials.encrypt(SECRET), events=events)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([204]) as running:
        yield running


def test_a_ready_back_up_is_delivered_signed_to_the_receiver(
    cast, online, receiver, local_webhooks, django_capture_on_commit_callbacks, api, make_token
) -> None:
    webhook_for(cast, receiver.url, ["backup.ready", "backup.failed"])
    with django_capture_on_commit_callbacks(execute=True):
        started = api("post", f"/administrations/{online.pk}/backups", make_token(cast.owner)).json()
    [request] = receiver.received
    assert request["valid"]
    payload = json.loads(request["body"])
    assert payload["event"] == "backup.ready"
    backup = Backup.objects.get(pk=started["backup_id"])
    assert payload["data"]["backup_id"] == backup.pk and payload["data"]["sha256"] == backup.sha256
    assert request["headers"]["X-Portal-Event"] == "backup.ready"
    assert request["headers"]["X-Portal-Delivery"] == payload["id"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.status_code == 204 and delivery.attempts == 1
    assert delivery.response_ms is not None and delivery.response_ms < 1000


def test_a_tampered_body_fails_the_receivers_check() -> None:
    stamp = str(int(timezone.now().timestamp()))
    signature = webhooks.sign(SECRET, int(stamp), b'{"event": "backup.ready"}')
    assert webhooks.verify(SECRET, stamp, b'{"event": "backup.ready"}', signature)
    assert not webhooks.verify(SECRET, stamp, b'{"event": "backup.failed"}', signature)
    assert not webhooks.verify("ander-geheim", stamp, b'{"event": "backup.ready"}', signature)
    old = str(int(stamp) - 3600)
    assert not webhooks.verify(SECRET, old, b"{}", webhooks.sign(SECRET, int(old), b"{}"))


def test_a_failed_back_up_and_a_restore_are_delivered(
    cast, online, receiver, local_webhooks, django_capture_on_commit_callbacks, uploaded
) -> None:
    from administrations.models import Location
    from administrations.services import Target
    from backups.restores import restore_start
    from backups.services import backup_create

    webhook_for(cast, receiver.url, ["backup.failed", "restore.finished", "restore.failed"])
    online.database_name = "bestaat-niet.sqlite3"
    online.save()
    with django_capture_on_commit_callbacks(execute=True):
        backup_create(administration=online, user=cast.owner)
    with django_capture_on_commit_callbacks(execute=True):
        restore_start(
            user=cast.owner,
            account=cast.account,
            backup=uploaded,
            name="Pubs",
            target=Target(Location.LOCAL, local_path="pubs"),
        )
    with django_capture_on_commit_callbacks(execute=True):
        restore_start(
            user=cast.owner,
            account=cast.account,
            backup=uploaded,
            name="Pubs 2",
            target=Target(Location.LOCAL, local_path="pubs"),
        )
    events = [json.loads(r["body"])["event"] for r in receiver.received]
    assert events == ["backup.failed", "restore.finished", "restore.failed"]
    finished = json.loads(receiver.received[1]["body"])["data"]
    assert finished["administration_name"] == "Pubs" and finished["administration_id"]
    assert json.loads(receiver.received[2]["body"])["data"]["message"]


def test_aftercare_completed_is_delivered_when_the_last_item_is_resolved(
    cast, receiver, local_webhooks, django_capture_on_commit_callbacks
) -> None:
    from aftercare import services
    from aftercare.models import AftercareItem

    webhook_for(cast, receiver.url, ["aftercare.completed"])
    first = AftercareItem.objects.create(administration=cast.administration, kind="bank_support", title="Bel")
    second = AftercareItem.objects.create(administration=cast.administration, kind="mailbox", title="Mail")
    with django_capture_on_commit_callbacks(execute=True):
        services.item_done(item=first, user=cast.owner)
    assert receiver.received == []
    with django_capture_on_commit_callbacks(execute=True):
        services.item_dismiss(item=second, user=cast.owner)
    [request] = receiver.received
    assert json.loads(request["body"])["data"]["administration_id"] == cast.administration.pk


def test_only_chosen_events_of_the_own_account_are_sent(
    cast, receiver, local_webhooks, django_capture_on_commit_callbacks
) -> None:
    from api import events

    webhook_for(cast, receiver.url, ["restore.finished"])
    Webhook.objects.create(
        account=cast.outsider_account, url=receiver.url, secret=credentials.encrypt("x"), events=["backup.ready"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(cast.account, "backup.ready", {})
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def test_a_receiver_answering_500_gets_retries_with_growing_waits(
    cast, local_webhooks, django_capture_on_commit_callbacks, settings
) -> None:
    from api import events

    settings.WEBHOOK_MAX_ATTEMPTS = 4
    with Receiver([500, 500, 200]) as failing:
        webhook_for(cast, failing.url, ["backup.ready"])
        with django_capture_on_commit_callbacks(execute=True):
            events.emit(cast.account, "backup.ready", {"backup_id": 1})
        delivery = WebhookDelivery.objects.get()
        waits = []
        while delivery.status == "pending":
            assert delivery.status_code == 500 and delivery.error == "HTTP 500"
            [retry] = Schedule.objects.filter(func="api.tasks.deliver")
            waits.append(round((retry.next_run - delivery.last_attempt_at).total_seconds()))
            # What the django-q2 scheduler does when the time has come:
            retry.delete()
            tasks.deliver(int(retry.args))
            delivery.refresh_from_db()
        assert len(failing.received) == 3 and all(r["valid"] for r in failing.received)
        # The same event id every time, so a receiver can drop duplicates.
        assert len({json.loads(r["body"])["id"] for r in failing.received}) == 1
    assert waits == [30, 60]
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert [entry["status_code"] for entry in delivery.log] == [500, 500, 200]


def test_retries_stop_after_the_last_attempt(
    cast, local_webhooks, django_capture_on_commit_callbacks, settings
) -> None:
    from api import events

    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with Receiver([500]) as failing:
        webhook_for(cast, failing.url, ["backup.ready"])
        with django_capture_on_commit_callbacks(execute=True):
            events.emit(cast.account, "backup.ready", {})
        retry = Schedule.objects.get(func="api.tasks.deliver")
        retry.delete()
        tasks.deliver(int(retry.args))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 2
    assert not Schedule.objects.filter(func="api.tasks.deliver").exists()


def test_a_receiver_that_hangs_is_timed_out(cast, local_webhooks, django_capture_on_commit_callbacks) -> None:
    from api import events

    with Receiver([200], hang=threading.Event()) as hanging:
        webhook_for(cast, hanging.url, ["backup.ready"])
        started = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            events.emit(cast.account, "backup.ready", {})
        took = timezone.now() - started
    delivery = WebhookDelivery.objects.get()
    assert took < timedelta(seconds=5)
    assert delivery.status == "pending" and delivery.status_code is None
    assert delivery.error == "Geen antwoord binnen 1 seconden."
    assert delivery.response_ms is not None and 1000 <= delivery.response_ms < 3000
    assert Schedule.objects.filter(func="api.tasks.deliver").count() == 1


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "192.168.1.10",
        "172.16.0.5",
        "169.254.169.254",
        "[::1]",
        "[fe80::1]",
        "0.0.0.0",  # noqa: S104 - the address under test, nothing binds to it
        "[::ffff:127.0.0.1]",
    ],
)
def test_loopback_private_and_link_local_addresses_are_never_called(cast, settings, host) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with Receiver([200]) as local:
        port = local.server.server_address[1]
        outcome = webhooks.send(
            f"https://{host}:{port}/x", body=b"{}", secret=SECRET, event="backup.ready", delivery_id="1"
        )
        assert local.received == []
    assert outcome.status_code is None and "intern adres" in outcome.error


def test_every_address_of_a_name_is_checked(settings, monkeypatch) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(webhooks.WebhookRefused, match=r"127\.0\.0\.1"):
        webhooks.resolve_allowed("dubbel.voorbeeld.nl", 443)


def test_http_is_refused_outside_the_demo(settings) -> None:
    settings.WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(webhooks.WebhookRefused, match="https://"):
        webhooks.check_url("http://voorbeeld.nl/haak")
    webhooks.check_url("https://voorbeeld.nl/haak")


def main_of(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def test_the_webhook_screen_adds_shows_the_secret_once_and_lists_deliveries(
    client, cast, receiver, local_webhooks, django_capture_on_commit_callbacks
) -> None:
    from api import events

    client.force_login(cast.owner)
    made = client.post(reverse("api:webhooks"), {"url": receiver.url, "events": ["backup.ready", "restore.failed"]})
    secret = re.search(r'<code class="key">(whsec_[A-Za-z0-9_-]+)</code>', main_of(made)).group(1)
    webhook = Webhook.objects.get()
    assert credentials.decrypt(webhook.secret) == secret and secret.encode() not in bytes(webhook.secret)
    assert secret not in main_of(client.get(reverse("api:webhooks")))
    receiver.secret = secret
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(cast.account, "backup.ready", {})
    assert receiver.received[0]["valid"]
    detail = main_of(client.get(reverse("api:webhook", args=[webhook.pk])))
    row = re.search(r'<tr id="delivery-\d+">.*?</tr>', detail, re.S).group(0)
    assert "backup.ready" in row and "Afgeleverd" in row and "204" in row and " ms" in row


def test_webhooks_are_managed_by_main_users_and_administrators_only(client, cast, local_webhooks) -> None:
    webhook = webhook_for(cast, "https://voorbeeld.nl/haak", ["backup.ready"])
    for who in ("extra_user", "external_user", "firm_staff", "outsider"):
        client.force_login(getattr(cast, who))
        assert client.get(reverse("api:webhook", args=[webhook.pk])).status_code == 404, who
        assert client.post(reverse("api:webhook_delete", args=[webhook.pk])).status_code == 404, who
    client.force_login(cast.outsider)
    assert client.get(reverse("api:webhooks")).status_code == 200
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_a_webhook_url_that_is_not_https_is_refused_in_dutch(client, cast, settings) -> None:
    settings.WEBHOOK_ALLOW_HTTP = False
    client.force_login(cast.owner)
    refused = client.post(reverse("api:webhooks"), {"url": "http://voorbeeld.nl/haak", "events": ["backup.ready"]})
    assert refused.status_code == 400
    assert "Een webhook-URL moet met https:// beginnen." in main_of(refused)
    assert 'value="http://voorbeeld.nl/haak"' in main_of(refused)
    assert not Webhook.objects.exists()


def test_support_sees_deliveries_read_only_in_the_admin(staff_login, cast) -> None:
    from django.contrib.auth.models import Group

    from portal.apps import FIRST_LINE, ensure_support_groups

    webhook = webhook_for(cast, "https://voorbeeld.nl/haak", ["backup.ready"])
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="backup.ready", body="{}", status="failed", status_code=500, error="HTTP 500"
    )
    ensure_support_groups()
    cast.support.groups.add(Group.objects.get(name=FIRST_LINE))
    client = staff_login(cast.support)
    listing = client.get(reverse("admin:api_webhookdelivery_changelist")).content.decode()
    assert "HTTP 500" in listing[listing.index('id="result_list"') :]
    page = client.get(reverse("admin:api_webhookdelivery_change", args=[delivery.pk])).content.decode()
    assert 'name="_save"' not in page
    assert (
        client.post(reverse("admin:api_webhookdelivery_delete", args=[delivery.pk]), {"post": "yes"}).status_code == 403
    )
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()
