"""The to-do list after a restore (R20–R24): what must be redone before the new administration is ready."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from administrations.models import Administration, ApiConnection, BankConnection, Right


class AftercareItemQuerySet(models.QuerySet["AftercareItem"]):
    def open(self) -> AftercareItemQuerySet:
        return self.filter(status=AftercareItem.Status.OPEN)


class AftercareItem(models.Model):
    class Kind(models.TextChoices):
        RIGHT = "right", _("Rechten")
        API_CONNECTION = "api_connection", _("API-koppeling")
        BANK_RELINK = "bank_relink", _("Bankkoppeling opnieuw koppelen")
        BANK_REQUEST = "bank_request", _("Bankkoppeling opnieuw aanvragen")
        BANK_SUPPORT = "bank_support", _("SnelStart Bankieren")
        MAILBOX = "mailbox", _("Mailbox")

    class Status(models.TextChoices):
        OPEN = "open", _("Te doen")
        DONE = "done", _("Afgerond")
        DISMISSED = "dismissed", _("Niet nodig")

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="aftercare_items", verbose_name=_("administratie")
    )
    kind = models.CharField(_("soort"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(_("taak"), max_length=300)
    # What the item is about; the objects may be gone by the time someone looks (e.g. a removed right).
    right = models.ForeignKey(
        Right, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("recht")
    )
    api_connection = models.ForeignKey(
        ApiConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API-koppeling"),
    )
    bank_connection = models.ForeignKey(
        BankConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bankkoppeling"),
    )
    # The connection of the source administration that a re-link takes over (ABN AMRO, Knab).
    source_bank_connection = models.ForeignKey(
        BankConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("oorspronkelijke bankkoppeling"),
    )
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("volgorde"))
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("afgehandeld op"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("afgehandeld door"),
    )

    objects = AftercareItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("nazorgtaak")
        verbose_name_plural = _("nazorgtaken")
        ordering = ["administration", "position", "pk"]
        indexes = [models.Index(fields=["administration", "status"], name="aftercare_open")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN
