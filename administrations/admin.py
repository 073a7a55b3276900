"""Django admin for support staff: find a customer by name, e-mail, administration; see what they have.

Fields that name a place (a database file or name, a server's host and port, the account an administration or
membership belongs to, who a right is for) are read-only here for everyone: changing them would point the portal
at another file or hand someone else's books over. What support may change (a right's role or block, a status, an
account's storage limit for back-ups) is written to the audit trail like the customer's own changes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from administrations.models import (
    Account,
    Administration,
    ApiConnection,
    BankConnection,
    DatabaseServer,
    Mailbox,
    Membership,
    Right,
)
from aftercare.models import AftercareItem
from portal import audit
from portal.models import AuditEvent


def record_support_change(request: HttpRequest, obj: Model, changed: list[str]) -> None:
    """A right, a membership or an account's storage limit changed by support: into the audit trail, with the
    support user as actor."""
    if isinstance(obj, Right):
        if "access_blocked" in changed:
            action = AuditEvent.Action.RIGHT_BLOCKED if obj.access_blocked else AuditEvent.Action.RIGHT_UNBLOCKED
            audit.record(request, action, administration=obj.administration, target=str(obj.grantee), by_support=True)
        if "role" in changed:
            audit.record(
                request,
                AuditEvent.Action.RIGHT_GIVEN,
                administration=obj.administration,
                target=str(obj.grantee),
                role=obj.role,
                by_support=True,
            )
    elif isinstance(obj, Account) and "backup_quota_gb" in changed:
        audit.record(
            request,
            AuditEvent.Action.BACKUP_QUOTA_CHANGED,
            account=obj,
            target=str(obj),
            gigabytes=str(obj.backup_quota_gb) if obj.backup_quota_gb is not None else None,
            by_support=True,
        )
    elif isinstance(obj, Membership) and "role" in changed:
        audit.record(
            request,
            AuditEvent.Action.RIGHT_GIVEN,
            account=obj.account,
            target=str(obj.user),
            membership_role=obj.role,
            by_support=True,
        )


class AuditedInlinesMixin:
    """Changes to rights and memberships made in an inline are audited one row at a time."""

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for obj, changed in formset.changed_objects:
            record_support_change(request, obj, list(changed))


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "created_at"]


class AdministrationInline(admin.TabularInline):
    model = Administration
    extra = 0
    fields = ("name", "location", "engine", "status", "created_at")
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Account)
class AccountAdmin(AuditedInlinesMixin, admin.ModelAdmin):
    list_display = ["name", "package", "email", "kvk_number", "created_at"]
    list_filter = ["package"]
    search_fields = ["name", "email", "kvk_number", "memberships__user__username", "memberships__user__email"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline, AdministrationInline]

    def save_model(self, request: HttpRequest, obj: Account, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            record_support_change(request, obj, form.changed_data)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account__package"]
    search_fields = ["user__username", "user__email", "account__name"]
    list_select_related = ["user", "account"]
    readonly_fields = ["user", "account", "created_at"]

    def save_model(self, request: HttpRequest, obj: Membership, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            record_support_change(request, obj, form.changed_data)


class RightInline(admin.TabularInline):
    model = Right
    fk_name = "administration"
    extra = 0
    fields = ["grantee_kind", "user", "firm", "role", "access_blocked", "granted_at", "granted_by"]
    readonly_fields = ["grantee_kind", "user", "firm", "granted_at", "granted_by"]


class BankConnectionInline(admin.TabularInline):
    model = BankConnection
    extra = 0
    fields = ["bank", "iban", "status", "created_at"]
    readonly_fields = ["bank", "iban", "created_at"]


class ApiConnectionInline(admin.TabularInline):
    model = ApiConnection
    extra = 0
    fields = ["partner", "status", "key_hint", "created_at"]
    readonly_fields = ["partner", "key_hint", "created_at"]


class MailboxInline(admin.StackedInline):
    model = Mailbox
    extra = 0
    readonly_fields = ["created_at"]


class AftercareInline(admin.TabularInline):
    model = AftercareItem
    extra = 0
    fields = ("title", "kind", "status", "resolved_by", "resolved_at")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "Nazorg na terugzetten"


# Where an administration's database is, and whose it is: never editable (administrations/databases.py also
# refuses a row that leaves its folder).
ADMINISTRATION_PLACE_FIELDS = [
    "account",
    "location",
    "engine",
    "database_name",
    "server",
    "login_method",
    "login_user",
    "restored_from",
    "created_by",
    "created_at",
]


@admin.register(Administration)
class AdministrationAdmin(AuditedInlinesMixin, admin.ModelAdmin):
    list_display = ["name", "account", "location", "engine", "status", "created_at"]
    list_filter = ["location", "engine", "status", "account__package"]
    search_fields = ["name", "account__name", "account__email", "database_name"]
    list_select_related = ["account"]
    readonly_fields = ADMINISTRATION_PLACE_FIELDS
    date_hierarchy = "created_at"
    inlines = [RightInline, BankConnectionInline, ApiConnectionInline, MailboxInline, AftercareInline]


@admin.register(Right)
class RightAdmin(admin.ModelAdmin):
    list_display = ["administration", "grantee_kind", "user", "firm", "role", "access_blocked", "granted_at"]
    list_filter = ["grantee_kind", "role", "access_blocked"]
    search_fields = ["administration__name", "user__username", "user__email", "firm__name"]
    list_select_related = ["administration", "user", "firm"]
    readonly_fields = ["administration", "grantee_kind", "user", "firm", "granted_at", "granted_by"]

    def save_model(self, request: HttpRequest, obj: Right, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            record_support_change(request, obj, form.changed_data)


@admin.register(DatabaseServer)
class DatabaseServerAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "engine", "host", "port", "allow_windows_auth", "allow_sql_auth"]
    list_filter = ["engine"]
    search_fields = ["name", "host", "account__name"]
    list_select_related = ["account"]
    readonly_fields = ["account", "engine", "host", "port", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A new server (superusers only) needs its place once; after that it never moves.
        return ["created_at"] if obj is None else list(self.readonly_fields)


@admin.register(BankConnection)
class BankConnectionAdmin(admin.ModelAdmin):
    list_display = ["iban", "bank", "administration", "status", "created_at"]
    list_filter = ["bank", "status"]
    search_fields = ["iban", "administration__name", "administration__account__name"]
    list_select_related = ["administration"]
    readonly_fields = ["administration", "bank", "iban", "created_at"]


@admin.register(ApiConnection)
class ApiConnectionAdmin(admin.ModelAdmin):
    list_display = ["partner", "administration", "status", "key_hint", "created_at"]
    list_filter = ["status"]
    search_fields = ["partner", "administration__name", "administration__account__name"]
    list_select_related = ["administration"]
    # The hash is useless to support staff and only invites copying; the hint identifies a key.
    exclude = ["key_hash"]
    readonly_fields = ["administration", "partner", "key_hint", "created_at"]


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["address", "administration", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["address", "administration__name"]
    list_select_related = ["administration"]
    readonly_fields = ["administration", "created_at"]
