"""Support staff see, per administration, what is still open after a restore, to help a caller through it."""

from __future__ import annotations

from django.contrib import admin

from aftercare.models import AftercareItem


@admin.register(AftercareItem)
class AftercareItemAdmin(admin.ModelAdmin):
    list_display = ["title", "administration", "kind", "status", "resolved_by", "resolved_at", "created_at"]
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["title", "administration__name", "administration__account__name"]
    list_select_related = ["administration", "resolved_by"]
    # What an item is about is fixed when the restore drafts it: pointing it at another right or connection would
    # let its buttons act on someone else's.
    readonly_fields = [
        "administration",
        "right",
        "api_connection",
        "bank_connection",
        "source_bank_connection",
        "created_at",
        "resolved_at",
        "resolved_by",
    ]
