"""Webhook deliveries: which addresses may be called, how a body is signed, and one attempt at sending it.

A delivery resolves the host itself, refuses it when any address is loopback, private, link-local or otherwise not
public (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set for a demo or tests), and then connects to exactly the address
it checked, so a second DNS answer cannot point the request elsewhere. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from portal.errors import PortalError

SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
EVENT_HEADER = "X-Portal-Event"
DELIVERY_HEADER = "X-Portal-Delivery"
USER_AGENT = "Back-upportaal-Webhook/1"


class WebhookRefused(PortalError):
    """A webhook address we will not send to."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "timestamp.body", hex; the receiver recomputes it and compares in constant time."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300) -> bool:
    """What a receiver does (also used by the tests): the signature matches and the timestamp is recent."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


def check_url(url: str) -> None:
    """The form of a webhook URL: https (http only when WEBHOOK_ALLOW_HTTP is set), a host, no credentials."""
    parts = urlsplit(url)
    allowed = {"https", "http"} if settings.WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed:
        raise WebhookRefused(_("Een webhook-URL moet met https:// beginnen."))
    if not parts.hostname:
        raise WebhookRefused(_("Vul een volledige URL in, bijvoorbeeld https://voorbeeld.nl/webhook."))
    if parts.username or parts.password:
        raise WebhookRefused(
            _("Zet geen gebruikersnaam of wachtwoord in de URL; gebruik het geheim om te controleren.")
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise WebhookRefused(_("Deze poort bestaat niet.")) from None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve_allowed(host: str, port: int) -> str:
    """Resolve the host and return the address to connect to; every address it resolves to must be public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise WebhookRefused(_("De naam %(host)s bestaat niet.") % {"host": host}) from error
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise WebhookRefused(_("De naam %(host)s bestaat niet.") % {"host": host})
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not _is_public(address):
                raise WebhookRefused(
                    _("%(host)s wijst naar een intern adres (%(address)s); daar worden geen webhooks heen gestuurd.")
                    % {"host": host, "address": address}
                )
    return str(addresses[0])


class _PinnedConnection(http.client.HTTPSConnection):
    """An HTTP(S) connection to an address checked beforehand, with Host and TLS name from the URL."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float, tls: bool) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address
        self._tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host) if self._tls else sock  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    response_ms: int
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(url: str, *, body: bytes, secret: str, event: str, delivery_id: str) -> Outcome:
    """One attempt. Never raises: the outcome says what happened, for the delivery log."""
    started = time.monotonic()

    def outcome(status_code: int | None, error: str = "") -> Outcome:
        return Outcome(status_code, int((time.monotonic() - started) * 1000), error[:500])

    try:
        check_url(url)
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        host = parts.hostname or ""
        address = resolve_allowed(host, port)
    except WebhookRefused as refused:
        return outcome(None, refused.user_message)
    timestamp = int(time.time())
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }
    connection = _PinnedConnection(
        host, port, address=address, timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS), tls=tls
    )
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        return outcome(response.status, "" if 200 <= response.status < 300 else f"HTTP {response.status}")
    except TimeoutError:
        return outcome(
            None, _("Geen antwoord binnen %(seconds)s seconden.") % {"seconds": settings.WEBHOOK_TIMEOUT_SECONDS}
        )
    except (OSError, http.client.HTTPException) as error:
        return outcome(None, f"{type(error).__name__}: {error}")
    finally:
        connection.close()
