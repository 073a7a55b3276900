"""Personal access tokens, idempotency keys, webhooks and their deliveries."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from administrations.models import Account

TOKEN_PREFIX = "bup_"  # noqa: S105 - a recognisable prefix, not a secret


class Scope(models.TextChoices):
    READ = "read", _("Inzien")
    BACKUP = "backup", _("Back-ups maken, uploaden en verwijderen")
    RESTORE = "restore", _("Terugzetten en nazorg afhandelen")


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now(), user__is_active=True)


class ApiToken(models.Model):
    """A personal access token: acts as its user, limited to its scopes. Only the SHA-256 of the secret is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("naam"), max_length=100)
    # The first characters, to recognise a token in the list and in logs; never enough to use it.
    prefix = models.CharField(_("begint met"), max_length=16)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("rechten"), default=list)
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    expires_at = models.DateTimeField(_("verloopt op"))
    last_used_at = models.DateTimeField(_("laatst gebruikt"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("laatst gebruikt vanaf"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("ingetrokken op"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API-sleutel")
        verbose_name_plural = _("API-sleutels")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        # 256 random bits: a plain SHA-256 is enough, there is nothing to brute-force.
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def scope_labels(self) -> list[str]:
        return [str(Scope(s).label) for s in self.scopes if s in Scope.values]


class IdempotencyKey(models.Model):
    """A retried create request with the same key returns the first answer instead of starting a second job."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="one_idempotency_key_per_token")]

    def __str__(self) -> str:
        return f"{self.operation} ({self.key})"


class Event(models.TextChoices):
    BACKUP_READY = "backup.ready", _("Back-up is klaar")
    BACKUP_FAILED = "backup.failed", _("Back-up is mislukt")
    RESTORE_FINISHED = "restore.finished", _("Terugzetten is klaar")
    RESTORE_FAILED = "restore.failed", _("Terugzetten is mislukt")
    AFTERCARE_COMPLETED = "aftercare.completed", _("Nazorg is afgerond")


class Webhook(models.Model):
    """Where an account wants to hear about its events. The secret signs every delivery (HMAC-SHA256)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    # Encrypted with CREDENTIALS_KEY: it must be read back to sign, so it cannot be hashed.
    secret = models.BinaryField(editable=False)
    events = models.JSONField(_("gebeurtenissen"), default=list)
    active = models.BooleanField(_("actief"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["account", "pk"]

    def __str__(self) -> str:
        return self.url

    def event_labels(self) -> list[str]:
        return [str(Event(e).label) for e in self.events if e in Event.values]


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with every attempt's outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Wordt verstuurd")
        DELIVERED = "delivered", _("Afgeleverd")
        FAILED = "failed", _("Mislukt")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("gebeurtenis"), max_length=40, choices=Event.choices)
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    body = models.TextField(_("inhoud"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("pogingen"), default=0)
    # The last attempt; `log` keeps all of them.
    status_code = models.PositiveSmallIntegerField(_("HTTP-status"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("antwoordtijd (ms)"), null=True, blank=True)
    error = models.CharField(_("fout"), max_length=500, blank=True)
    log = models.JSONField(_("pogingen"), default=list, blank=True)
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now, db_index=True)
    last_attempt_at = models.DateTimeField(_("laatste poging"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("volgende poging"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhookaflevering")
        verbose_name_plural = _("webhookafleveringen")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook.url} ({self.get_status_display()})"
