"""Guessing passwords is throttled (django-axes), and a forgotten password is reset by e-mail through a real SMTP
server on localhost (aiosmtpd), the link in the message followed as the user would."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import reverse

from tests.pages import errors, main_text

pytestmark = pytest.mark.django_db
LOGIN = "/inloggen/"
LOCKED = (
    "Er is te vaak een verkeerd wachtwoord ingevuld. Inloggen met deze gebruikersnaam vanaf dit adres is daarom "
    "15 minuten geblokkeerd."
)


def sign_in(client: Client, username: str, password: str, address: str = "192.0.2.10") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return client.get(reverse("administrations:list")).status_code == 200


# --- throttling ---------------------------------------------------------------------------------------------------


def test_after_30_wrong_passwords_the_right_one_is_still_refused_with_the_dutch_lock_out_page(
    client: Client, cast: Any
) -> None:
    for _ in range(30):
        sign_in(client, "owner", "fout-wachtwoord")
    response = sign_in(client, "owner", "geheim-wachtwoord")
    assert response.status_code == 429
    assert errors(response.content.decode()) == [LOCKED]
    assert "Wachtwoord vergeten?" in main_text(response.content.decode())
    assert not signed_in(client)


def test_four_wrong_passwords_do_not_lock_and_a_success_starts_the_count_again(client: Client, cast: Any) -> None:
    for _ in range(4):
        assert sign_in(client, "owner", "fout").status_code == 200
    assert sign_in(client, "owner", "geheim-wachtwoord").status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        sign_in(client, "owner", "fout")
    assert sign_in(client, "owner", "geheim-wachtwoord").status_code == 302


def test_the_fifth_wrong_password_locks_that_name_from_that_address_only(client: Client, cast: Any) -> None:
    for _ in range(5):
        sign_in(client, "owner", "fout", address="192.0.2.66")
    assert sign_in(client, "owner", "geheim-wachtwoord", address="192.0.2.66").status_code == 429
    # Someone guessing elsewhere cannot lock the real user out, nor another user on the same address.
    assert sign_in(Client(), "admin", "geheim-wachtwoord", address="192.0.2.66").status_code == 302
    other = Client()
    assert sign_in(other, "owner", "geheim-wachtwoord", address="198.51.100.5").status_code == 302
    assert signed_in(other)


def test_the_support_desk_sign_in_is_throttled_too(client: Client, cast: Any) -> None:
    for _ in range(6):
        client.post("/beheer/login/", {"username": "support", "password": "fout"}, REMOTE_ADDR="192.0.2.20")
    response = client.post(
        "/beheer/login/", {"username": "support", "password": "geheim-wachtwoord"}, REMOTE_ADDR="192.0.2.20"
    )
    assert response.status_code == 429


# --- password reset by e-mail ----------------------------------------------------------------------------------------


class Mailbox:
    """Keeps what the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server on localhost, and the portal's e-mail settings pointing at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield mailbox
    finally:
        controller.stop()


def test_the_login_page_links_to_password_reset(client: Client) -> None:
    page = client.get(LOGIN).content.decode()
    assert f'href="{reverse("password_reset")}"' in page and "Wachtwoord vergeten?" in main_text(page)


def test_a_forgotten_password_is_reset_through_the_link_in_the_e_mail(
    client: Client, cast: Any, smtp_server: Mailbox
) -> None:
    response = client.post(reverse("password_reset"), {"email": "owner@example.nl"}, follow=True)
    assert "Kijk in je mailbox" in main_text(response.content.decode())

    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    assert recipients == ["owner@example.nl"]
    assert message["Subject"] == "Nieuw wachtwoord voor het Back-upportaal"
    assert message.get_content_type() == "text/plain"
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "‘owner’" in body
    link = re.search(r"http://testserver(/wachtwoord-herstellen/\S+/)", body)
    assert link is not None

    form = client.get(link.group(1), follow=True)
    assert "Nieuw wachtwoord kiezen" in main_text(form.content.decode())
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Nieuw-Sterk-Wachtwoord-42", "new_password2": "Nieuw-Sterk-Wachtwoord-42"},
        follow=True,
    )
    assert "Je nieuwe wachtwoord is opgeslagen" in main_text(done.content.decode())

    assert sign_in(client, "owner", "geheim-wachtwoord").status_code == 200  # the old one no longer works
    assert sign_in(client, "owner", "Nieuw-Sterk-Wachtwoord-42").status_code == 302
    assert signed_in(client)
    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert "Deze link werkt niet (meer)" in main_text(again.content.decode())


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(client: Client, cast: Any, smtp_server: Mailbox) -> None:
    response = client.post(reverse("password_reset"), {"email": "niemand@example.nl"}, follow=True)
    assert "Kijk in je mailbox" in main_text(response.content.decode())
    assert smtp_server.messages == []


def test_a_new_password_from_the_e_mail_lifts_the_lock_out(client: Client, cast: Any, smtp_server: Mailbox) -> None:
    for _ in range(5):
        sign_in(client, "owner", "fout", address="127.0.0.1")
    assert sign_in(client, "owner", "geheim-wachtwoord", address="127.0.0.1").status_code == 429
    client.post(reverse("password_reset"), {"email": "owner@example.nl"})
    body = smtp_server.messages[0][1].get_payload(decode=True).decode()  # type: ignore[union-attr]
    link = re.search(r"http://testserver(/wachtwoord-herstellen/\S+/)", body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    client.post(
        form.redirect_chain[-1][0], {"new_password1": "Weer-Binnen-2026!", "new_password2": "Weer-Binnen-2026!"}
    )
    assert sign_in(client, "owner", "Weer-Binnen-2026!", address="127.0.0.1").status_code == 302
