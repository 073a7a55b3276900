from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

FIRST_LINE = "Klantenservice eerste lijn"
SECOND_LINE = "Klantenservice tweede lijn"
SUPPORT_APPS = ("administrations", "backups", "aftercare", "portal", "django_q")


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401 - registers the portal's system checks

        # Not limited to this app's signal: permissions of apps migrated after this one must exist first, and the
        # last call sees them all. Setting the groups is idempotent.
        post_migrate.connect(ensure_support_groups, dispatch_uid="portal-support-groups")


def ensure_support_groups(**kwargs: Any) -> None:
    """Two support roles, kept in step with the permissions after every migrate: first line may only look;
    second line may also change, retry or cancel jobs and download back-ups for investigation."""
    from django.contrib.auth.models import Group, Permission

    ours = Permission.objects.filter(content_type__app_label__in=SUPPORT_APPS)
    first, _ = Group.objects.get_or_create(name=FIRST_LINE)
    first.permissions.set(ours.filter(codename__startswith="view_"))
    second, _ = Group.objects.get_or_create(name=SECOND_LINE)
    extra = ours.filter(codename__in=["retry_job", "cancel_job", "download_backup"])
    changes = ours.filter(codename__startswith="change_").exclude(content_type__model="auditevent")
    second.permissions.set(ours.filter(codename__startswith="view_") | extra | changes)
    # Users themselves (to find a customer by e-mail) are visible to both lines.
    auth_view = Permission.objects.filter(content_type__app_label="auth", codename="view_user")
    first.permissions.add(*auth_view)
    second.permissions.add(*auth_view)
