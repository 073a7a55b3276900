"""Accounts, their users and administrations, and the one access rule that says who may see which administration."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from administrations.databases import DatabaseEngine, Location, LoginMethod, location_of
from administrations.permissions import Access, Action, Decision, roles_allowing

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from administrations.databases import DatabaseLocation


class Package(models.TextChoices):
    INORDE = "inorde", "inOrde"
    INSTAP = "instap", "inStap"
    INKAART = "inkaart", "inKaart"
    INBALANS = "inbalans", "inBalans"
    INZICHT = "inzicht", "inZicht"
    INCONTROLE = "incontrole", "inControle"
    ACCOUNTANT = "accountant", "Accountant"


@dataclass(frozen=True)
class Capabilities:
    """What a package allows. inOrde is the web-only package: no back-ups, no restores (R4, R13)."""

    web_only: bool
    can_create_backups: bool
    can_restore_backups: bool
    is_firm: bool


PACKAGE_CAPABILITIES: dict[str, Capabilities] = {
    Package.INORDE: Capabilities(web_only=True, can_create_backups=False, can_restore_backups=False, is_firm=False),
    **{
        package: Capabilities(web_only=False, can_create_backups=True, can_restore_backups=True, is_firm=False)
        for package in (Package.INSTAP, Package.INKAART, Package.INBALANS, Package.INZICHT, Package.INCONTROLE)
    },
    Package.ACCOUNTANT: Capabilities(web_only=False, can_create_backups=True, can_restore_backups=True, is_firm=True),
}


class Account(models.Model):
    """A customer's subscription. An account on the Accountant package is an accountancy firm."""

    name = models.CharField(_("naam"), max_length=200)
    package = models.CharField(_("pakket"), max_length=20, choices=Package.choices, default=Package.INZICHT)
    email = models.EmailField(_("e-mailadres"), blank=True)
    kvk_number = models.CharField(_("KvK-nummer"), max_length=8, blank=True)
    # The account's own storage quota for its back-ups (backups.quota); empty: BACKUP_QUOTA_GB, the same for all.
    backup_quota_gb = models.DecimalField(
        _("opslaglimiet back-ups (GB)"),
        max_digits=10,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("Leeg: de limiet die voor elk account geldt."),
    )
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def capabilities(self) -> Capabilities:
        return PACKAGE_CAPABILITIES[self.package]

    @property
    def is_firm(self) -> bool:
        return self.capabilities.is_firm

    def online_administration_count(self) -> int:
        return self.administrations.filter(location=Location.ONLINE).count()

    def extra_online_cost(self) -> Decimal | None:
        """The monthly price one more online administration adds, or None when it is still included (R17)."""
        if self.online_administration_count() >= settings.INCLUDED_ONLINE_ADMINISTRATIONS:
            return Decimal(settings.EXTRA_ONLINE_ADMINISTRATION_PRICE)
        return None


class Membership(models.Model):
    class Role(models.TextChoices):
        MAIN = "main", _("Hoofdgebruiker")
        ADMINISTRATOR = "administrator", _("Beheerder")
        STANDARD = "standard", _("Standaardgebruiker")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("gebruiker")
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("account")
    )
    role = models.CharField(_("rol"), max_length=20, choices=Role.choices, default=Role.STANDARD)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("aangemaakt op"))

    class Meta:
        verbose_name = _("lidmaatschap")
        verbose_name_plural = _("lidmaatschappen")
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_user_and_account"),
            models.UniqueConstraint(fields=["account"], condition=Q(role="main"), name="one_main_user_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.account} ({self.get_role_display()})"


ROLE_ORDER = {"main": 0, "administrator": 1, "standard": 2}


def account_of(user: AbstractBaseUser | AnonymousUser) -> Account | None:
    """The account a user acts for in the portal: where they are main user, else administrator, else member."""
    if not user.is_authenticated:
        return None
    memberships = sorted(
        Membership.objects.filter(user_id=user.pk).select_related("account"), key=lambda m: ROLE_ORDER[m.role]
    )
    return memberships[0].account if memberships else None


def firm_of(user: AbstractBaseUser | AnonymousUser) -> Account | None:
    """The accountancy firm a user works at, if any."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user_id=user.pk, account__package=Package.ACCOUNTANT)
        .select_related("account")
        .order_by("pk")
        .first()
    )
    return membership.account if membership else None


def manages_account(user: AbstractBaseUser | AnonymousUser, account: Account | int) -> bool:
    """Whether the user is main user or administrator of the account (given as object or id)."""
    account_id = account.pk if isinstance(account, Account) else account
    return bool(
        user.is_authenticated
        and Membership.objects.filter(
            user_id=user.pk, account_id=account_id, role__in=[Membership.Role.MAIN, Membership.Role.ADMINISTRATOR]
        ).exists()
    )


class DatabaseServer(models.Model):
    """A database server registered by an account; only registered servers can hold network administrations."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="servers", verbose_name=_("account"))
    name = models.CharField(_("SQL-servernaam"), max_length=200, help_text=_("Zoals gebruikers hem kennen."))
    engine = models.CharField(_("soort"), max_length=20, choices=DatabaseEngine.choices[1:])
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("poort"))
    allow_windows_auth = models.BooleanField(_("Windows-verificatie toegestaan"), default=True)
    allow_sql_auth = models.BooleanField(_("SQL-verificatie toegestaan"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("aangemaakt op"))

    class Meta:
        verbose_name = _("databaseserver")
        verbose_name_plural = _("databaseservers")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="server_name_unique_per_account")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_engine_display()})"

    @property
    def login_methods(self) -> list[str]:
        methods = []
        if self.allow_windows_auth:
            methods.append(LoginMethod.WINDOWS.value)
        if self.allow_sql_auth:
            methods.append(LoginMethod.SQL.value)
        return methods


class AdministrationQuerySet(models.QuerySet["Administration"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> AdministrationQuerySet:
        """The access rule, in one place. A user sees an administration when:

        - they are the main user or an administrator of the owning account; or
        - they hold a right on it (extra or external user) that is not blocked; or
        - they work at an accountancy firm that holds a right on it that is not blocked.

        Standard members of the owning account (extra users) need a right like anyone else, so blocking it
        (R20) really removes their access. Support staff work through the Django admin, not here. Which roles
        let a right holder see comes from the permission table (`administrations.permissions`).
        """
        return self.allowing(user, Action.SEE)

    def allowing(self, user: AbstractBaseUser | AnonymousUser, action: Action) -> AdministrationQuerySet:
        """The administrations on which the permission table lets the user do `action` (before the package)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        managed_accounts = Membership.objects.filter(
            user_id=user.pk, role__in=[Membership.Role.MAIN, Membership.Role.ADMINISTRATOR]
        ).values("account_id")
        firms = Membership.objects.filter(user_id=user.pk, account__package=Package.ACCOUNTANT).values("account_id")
        by_user = Q(user_id=user.pk) & (
            Q(grantee_kind=Right.Grantee.EXTRA_USER, role__in=roles_allowing(action, Right.Grantee.EXTRA_USER))
            | Q(grantee_kind=Right.Grantee.EXTERNAL_USER, role__in=roles_allowing(action, Right.Grantee.EXTERNAL_USER))
        )
        by_firm = Q(firm_id__in=firms, role__in=roles_allowing(action, Right.Grantee.FIRM))
        granted = Right.objects.filter(access_blocked=False).filter(by_user | by_firm)
        return self.filter(Q(account_id__in=managed_accounts) | Q(pk__in=granted.values("administration_id")))


class Administration(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("In gebruik")
        DELETING = "deleting", _("Wordt verwijderd")

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="administrations", verbose_name=_("account")
    )
    name = models.CharField(_("naam"), max_length=200)
    location = models.CharField(_("locatie"), max_length=20, choices=Location.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # Where the database lives. SQLite: the file path (relative to the online folder or the local root);
    # PostgreSQL / SQL Server: the database name on the online server or on `server`.
    engine = models.CharField(_("database"), max_length=20, choices=DatabaseEngine.choices)
    database_name = models.CharField(_("databasenaam of bestand"), max_length=500)
    server = models.ForeignKey(
        DatabaseServer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrations",
        verbose_name=_("server"),
    )
    login_method = models.CharField(_("inlogmethode"), max_length=20, choices=LoginMethod.choices, blank=True)
    login_user = models.CharField(_("gebruikersnaam"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gemaakt door"),
    )
    restored_from = models.ForeignKey(
        "backups.Backup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="restored_administrations",
        verbose_name=_("teruggezet uit"),
    )

    objects = AdministrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("administratie")
        verbose_name_plural = _("administraties")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="administration_name_unique_per_account"),
            models.CheckConstraint(
                condition=~Q(location="network") | Q(server__isnull=False), name="network_administration_has_server"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_visible_to(self, user: AbstractBaseUser | AnonymousUser) -> bool:
        return Administration.objects.visible_to(user).filter(pk=self.pk).exists()

    def is_managed_by(self, user: AbstractBaseUser | AnonymousUser) -> bool:
        """Main users and administrators of the owning account manage rights and delete administrations."""
        return manages_account(user, self.account_id)

    def decide(self, user: AbstractBaseUser | AnonymousUser, action: Action) -> Decision:
        """May the user do `action` on this administration (the permission table), and if not, why."""
        return Access(user).decide(self, action)

    def allows(self, user: AbstractBaseUser | AnonymousUser, action: Action) -> bool:
        return self.decide(user, action).allowed

    @property
    def capabilities(self) -> Capabilities:
        return self.account.capabilities

    def database_location(self) -> DatabaseLocation:
        return location_of(self)


class Right(models.Model):
    """A right on an administration for someone outside its managing users (R20)."""

    class Grantee(models.TextChoices):
        EXTRA_USER = "extra_user", _("Extra gebruiker")
        EXTERNAL_USER = "external_user", _("Externe gebruiker")
        FIRM = "firm", _("Accountantskantoor")

    class Role(models.TextChoices):
        FULL = "full", _("Volledige toegang")
        BOOKKEEPING = "bookkeeping", _("Boekhouden")
        READ = "read", _("Alleen inzien")

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="rights", verbose_name=_("administratie")
    )
    grantee_kind = models.CharField(_("soort"), max_length=20, choices=Grantee.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rights",
        verbose_name=_("gebruiker"),
    )
    firm = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="client_rights",
        limit_choices_to={"package": Package.ACCOUNTANT},
        verbose_name=_("accountantskantoor"),
    )
    role = models.CharField(_("rol"), max_length=20, choices=Role.choices, default=Role.BOOKKEEPING)
    access_blocked = models.BooleanField(_("toegang blokkeren"), default=False)
    granted_at = models.DateTimeField(_("toegekend op"), auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("toegekend door"),
    )

    class Meta:
        verbose_name = _("recht")
        verbose_name_plural = _("rechten")
        constraints = [
            models.CheckConstraint(
                condition=(Q(grantee_kind="firm") & Q(firm__isnull=False) & Q(user__isnull=True))
                | (~Q(grantee_kind="firm") & Q(user__isnull=False) & Q(firm__isnull=True)),
                name="right_has_exactly_its_grantee",
            ),
            models.UniqueConstraint(fields=["administration", "user"], name="one_right_per_user"),
            models.UniqueConstraint(fields=["administration", "firm"], name="one_right_per_firm"),
        ]

    def __str__(self) -> str:
        return f"{self.grantee} → {self.administration}"

    @property
    def grantee(self) -> object:
        return self.firm if self.grantee_kind == self.Grantee.FIRM else self.user


class Bank(models.TextChoices):
    ABN_AMRO = "abn_amro", "ABN AMRO"
    KNAB = "knab", "Knab"
    ING = "ing", "ING"
    TRIODOS = "triodos", "Triodos"
    RABOBANK = "rabobank", "Rabobank"
    SNELSTART_BANKIEREN = "snelstart_bankieren", "SnelStart Bankieren"
    OTHER = "other", _("Andere bank")


class BankConnection(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Actief")
        RELINK_NEEDED = "relink_needed", _("Opnieuw koppelen")
        REQUEST_NEEDED = "request_needed", _("Opnieuw aanvragen bij de bank")
        REQUESTED = "requested", _("Aangevraagd")
        INACTIVE = "inactive", _("Niet actief")

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="bank_connections", verbose_name=_("administratie")
    )
    bank = models.CharField(_("bank"), max_length=30, choices=Bank.choices)
    iban = models.CharField(_("IBAN"), max_length=34)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("aangemaakt op"))

    class Meta:
        verbose_name = _("bankkoppeling")
        verbose_name_plural = _("bankkoppelingen")
        ordering = ["bank", "iban"]

    def __str__(self) -> str:
        return f"{self.get_bank_display()} {self.iban}"


class ApiConnection(models.Model):
    """A connection (koppeling) with a software partner. Only the hash of the key is kept."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Actief")
        KEY_NEEDED = "key_needed", _("Nieuwe sleutel nodig")
        REVOKED = "revoked", _("Ingetrokken")

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="api_connections", verbose_name=_("administratie")
    )
    partner = models.CharField(_("softwarepartner"), max_length=200)
    key_hash = models.CharField(_("sleutel (hash)"), max_length=64, blank=True)
    key_hint = models.CharField(_("laatste tekens"), max_length=8, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("aangemaakt op"))

    class Meta:
        verbose_name = _("API-koppeling")
        verbose_name_plural = _("API-koppelingen")
        ordering = ["partner"]

    def __str__(self) -> str:
        return f"{self.partner} ({self.administration})"

    @staticmethod
    def hash_key(key: str) -> str:
        # Keys are 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force.
        return hashlib.sha256(key.encode()).hexdigest()

    def set_new_key(self) -> str:
        """Give the connection a new key; returns it once, only its hash is stored."""
        key = secrets.token_urlsafe(32)
        self.key_hash = self.hash_key(key)
        self.key_hint = key[-4:]
        self.status = self.Status.ACTIVE
        return key


class Mailbox(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Actief")
        SETUP_NEEDED = "setup_needed", _("Opnieuw instellen")

    administration = models.OneToOneField(
        Administration, on_delete=models.CASCADE, related_name="mailbox", verbose_name=_("administratie")
    )
    address = models.EmailField(_("adres"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("aangemaakt op"))

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxen")

    def __str__(self) -> str:
        return self.address
