from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success

from backups.tasks import TASKS
from portal.models import AuditEvent


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


class SuperusersOnly:
    """django-q2's rows name functions to run: only superusers see or touch them, whatever a group grants."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = [f.name for f in Schedule._meta.concrete_fields if f.editable and not f.primary_key]

    def clean_func(self) -> str:
        func = self.cleaned_data.get("func", "")
        if func not in TASKS:
            raise forms.ValidationError(
                _("Alleen de taken van het portaal kunnen worden ingepland: %(tasks)s.")
                % {"tasks": ", ".join(sorted(TASKS))}
            )
        return func

    def clean_hook(self) -> str | None:
        if self.cleaned_data.get("hook"):
            raise forms.ValidationError(_("Het portaal gebruikt geen hooks."))
        return None


class ScheduleAdmin(SuperusersOnly, q_admin.ScheduleAdmin):
    form = ScheduleForm


class SuccessAdmin(SuperusersOnly, q_admin.TaskAdmin):
    pass


class FailureAdmin(SuperusersOnly, q_admin.FailAdmin):
    pass


class QueueAdmin(SuperusersOnly, q_admin.QueueAdmin):
    pass


_Q_ADMINS: list[tuple[Any, Any]] = [(Schedule, ScheduleAdmin), (Success, SuccessAdmin), (Failure, FailureAdmin)]
_Q_ADMINS.append((OrmQ, QueueAdmin))
for _model, _model_admin in _Q_ADMINS:
    # django-q2 registers its admins first (it comes before this app); the queue only with the ORM broker.
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
        admin.site.register(_model, _model_admin)
