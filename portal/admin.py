from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.models import AuditEvent

admin.site.site_header = _("Back-upportaal – klantenservice")
admin.site.site_title = _("Back-upportaal beheer")
admin.site.index_title = _("Klanten, administraties en back-ups")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The whole trail, read-only: nobody edits history."""

    list_display = ["created_at", "action", "actor_name", "ip_address", "account", "administration_name", "target"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_name", "actor__email", "account__name", "administration_name", "target", "ip_address"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
