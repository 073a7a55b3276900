"""Support staff see tokens (never their hash), webhooks (never their secret) and every delivery, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from api.models import ApiToken, Webhook, WebhookDelivery


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "prefix", "user__username", "user__email"]
    list_select_related = ["user"]
    fields = [
        "name",
        "user",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
    ]
    readonly_fields = fields  # type: ignore[assignment]


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ["created_at", "event", "status", "attempts", "status_code", "response_ms", "error"]
    readonly_fields = fields  # type: ignore[assignment]
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ["-created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["url", "account", "events", "active", "created_at"]
    search_fields = ["url", "account__name", "account__email"]
    list_select_related = ["account"]
    fields = ["account", "url", "events", "active", "created_by", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]
    inlines = [DeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event", "webhook", "status", "attempts", "status_code", "response_ms", "error"]
    list_filter = ["status", "event", "created_at"]
    search_fields = ["webhook__url", "webhook__account__name", "event_id"]
    list_select_related = ["webhook"]
    date_hierarchy = "created_at"
    fields = [
        "webhook",
        "event",
        "event_id",
        "status",
        "attempts",
        "status_code",
        "response_ms",
        "error",
        "log",
        "body",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
    ]
    readonly_fields = fields  # type: ignore[assignment]
