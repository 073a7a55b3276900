"""The audit trail: who did what that matters, when, from which address, on what."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        BACKUP_MADE = "backup_made", _("Back-up gemaakt")
        BACKUP_DOWNLOADED = "backup_downloaded", _("Back-up gedownload")
        BACKUP_UPLOADED = "backup_uploaded", _("Back-up geüpload")
        BACKUP_DELETED = "backup_deleted", _("Back-up verwijderd")
        RESTORE_STARTED = "restore_started", _("Terugzetten gestart")
        BACKUP_RESTORED = "backup_restored", _("Back-up teruggezet")
        RESTORE_FAILED = "restore_failed", _("Terugzetten mislukt")
        RIGHT_GIVEN = "right_given", _("Recht gegeven")
        RIGHT_BLOCKED = "right_blocked", _("Toegang geblokkeerd")
        RIGHT_UNBLOCKED = "right_unblocked", _("Toegang gegeven")
        RIGHT_REMOVED = "right_removed", _("Recht verwijderd")
        API_KEY_GENERATED = "api_key_generated", _("API-sleutel gegenereerd")
        ADMINISTRATION_DELETED = "administration_deleted", _("Administratie verwijderd")
        AFTERCARE_RESOLVED = "aftercare_resolved", _("Nazorgtaak afgehandeld")
        API_READ = "api_read", _("Opgevraagd via de API")
        API_TOKEN_CREATED = "api_token_created", _("Persoonlijke API-sleutel gemaakt")
        API_TOKEN_REVOKED = "api_token_revoked", _("Persoonlijke API-sleutel ingetrokken")
        WEBHOOK_CREATED = "webhook_created", _("Webhook toegevoegd")
        WEBHOOK_DELETED = "webhook_deleted", _("Webhook verwijderd")
        BACKUP_QUOTA_CHANGED = "backup_quota_changed", _("Opslaglimiet gewijzigd")

    action = models.CharField(_("actie"), max_length=40, choices=Action.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gebruiker"),
    )
    # Kept as text too: the user may be deleted, the trail may not lose who it was.
    actor_name = models.CharField(_("door"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP-adres"), null=True, blank=True)
    account = models.ForeignKey(
        "administrations.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("account"),
    )
    administration = models.ForeignKey(
        "administrations.Administration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("administratie"),
    )
    administration_name = models.CharField(_("administratie"), max_length=200, blank=True)
    target = models.CharField(_("waarop"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("tijdstip"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("logboekregel")
        verbose_name_plural = _("logboek")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.actor_name} — {self.target}"
