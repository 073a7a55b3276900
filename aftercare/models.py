"""The to-do list after a restore (R20–R24): what must be redone before the new administration is ready."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from administrations.models import Administration, ApiConnection, Bank, BankConnection, Right


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
    # The Dutch heading as it was drafted (for support's search and the audit trail); pages show `heading`, put
    # into words from the kind and these parameters in the reader's language.
    title = models.CharField(_("taak"), max_length=300)
    title_params = models.JSONField(_("parameters van de taak"), default=dict, blank=True)
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

    @property
    def heading(self) -> str:
        """The heading in the active language. Choice values (kind of grantee, bank) become their label now."""
        params = dict(self.title_params or {})
        if not params:
            return self.title  # drafted before headings had parameters
        if "kind" in params:
            params["kind"] = Right.Grantee(params["kind"]).label if params["kind"] in Right.Grantee.values else ""
        if "bank" in params:
            params["bank"] = Bank(params["bank"]).label if params["bank"] in Bank.values else params["bank"]
        if "iban" in params:
            params["iban"] = iban_grouped(params["iban"])
        return str(HEADINGS[AftercareItem.Kind(self.kind)]) % params


def iban_grouped(value: str) -> str:
    text = "".join(str(value or "").split()).upper()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


HEADINGS = {
    AftercareItem.Kind.RIGHT: _("Rechten nalopen: %(grantee)s (%(kind)s)"),
    AftercareItem.Kind.API_CONNECTION: _("Nieuwe API-sleutel voor %(partner)s"),
    AftercareItem.Kind.BANK_SUPPORT: _("SnelStart Bankieren %(iban)s: neem contact op met de klantenservice"),
    AftercareItem.Kind.BANK_RELINK: _("%(bank)s %(iban)s opnieuw koppelen"),
    AftercareItem.Kind.BANK_REQUEST: _("%(bank)s %(iban)s opnieuw aanvragen via de website van de bank"),
    AftercareItem.Kind.MAILBOX: _("Mailbox %(address)s opnieuw instellen"),
}
