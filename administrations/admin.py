"""Django admin for support staff: find a customer by name, e-mail, administration; see what they have."""

from __future__ import annotations

from django.contrib import admin

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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class AdministrationInline(admin.TabularInline):
    model = Administration
    extra = 0
    fields = ("name", "location", "engine", "status", "created_at")
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "package", "email", "kvk_number", "created_at"]
    list_filter = ["package"]
    search_fields = ["name", "email", "kvk_number", "memberships__user__username", "memberships__user__email"]
    inlines = [MembershipInline, AdministrationInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account__package"]
    search_fields = ["user__username", "user__email", "account__name"]
    autocomplete_fields = ["user", "account"]
    list_select_related = ["user", "account"]


class RightInline(admin.TabularInline):
    model = Right
    fk_name = "administration"
    extra = 0
    autocomplete_fields = ["user", "firm"]


class BankConnectionInline(admin.TabularInline):
    model = BankConnection
    extra = 0


class ApiConnectionInline(admin.TabularInline):
    model = ApiConnection
    extra = 0
    fields = ["partner", "status", "key_hint", "created_at"]
    readonly_fields = ["key_hint", "created_at"]


class MailboxInline(admin.StackedInline):
    model = Mailbox
    extra = 0


class AftercareInline(admin.TabularInline):
    model = AftercareItem
    extra = 0
    fields = ("title", "kind", "status", "resolved_by", "resolved_at")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "Nazorg na terugzetten"


@admin.register(Administration)
class AdministrationAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "location", "engine", "status", "created_at"]
    list_filter = ["location", "engine", "status", "account__package"]
    search_fields = ["name", "account__name", "account__email", "database_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account", "server", "created_by"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"
    inlines = [RightInline, BankConnectionInline, ApiConnectionInline, MailboxInline, AftercareInline]


@admin.register(Right)
class RightAdmin(admin.ModelAdmin):
    list_display = ["administration", "grantee_kind", "user", "firm", "role", "access_blocked", "granted_at"]
    list_filter = ["grantee_kind", "role", "access_blocked"]
    search_fields = ["administration__name", "user__username", "user__email", "firm__name"]
    list_select_related = ["administration", "user", "firm"]
    autocomplete_fields = ["administration", "user", "firm", "granted_by"]


@admin.register(DatabaseServer)
class DatabaseServerAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "engine", "host", "port", "allow_windows_auth", "allow_sql_auth"]
    list_filter = ["engine"]
    search_fields = ["name", "host", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(BankConnection)
class BankConnectionAdmin(admin.ModelAdmin):
    list_display = ["iban", "bank", "administration", "status", "created_at"]
    list_filter = ["bank", "status"]
    search_fields = ["iban", "administration__name", "administration__account__name"]
    list_select_related = ["administration"]
    autocomplete_fields = ["administration"]


@admin.register(ApiConnection)
class ApiConnectionAdmin(admin.ModelAdmin):
    list_display = ["partner", "administration", "status", "key_hint", "created_at"]
    list_filter = ["status"]
    search_fields = ["partner", "administration__name", "administration__account__name"]
    list_select_related = ["administration"]
    autocomplete_fields = ["administration"]
    # The hash is useless to support staff and only invites copying; the hint identifies a key.
    exclude = ["key_hash"]
    readonly_fields = ["key_hint"]


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["address", "administration", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["address", "administration__name"]
    list_select_related = ["administration"]
    autocomplete_fields = ["administration"]
