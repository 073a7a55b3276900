from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

FIRST_LINE = "Klantenservice eerste lijn"
SECOND_LINE = "Klantenservice tweede lijn"
# The apps support staff look into. django-q2's own models (schedules, queued/failed tasks: rows that name a
# function to run) are deliberately not among them: only superusers see or touch those.
SUPPORT_APPS = ("administrations", "backups", "aftercare", "portal", "api")
# What second-line support may change, model by model; fields that name a place (files, databases, servers) are
# read-only in the admin whatever this says. Nothing may be added or deleted by either line.
SECOND_LINE_CHANGES = {
    "administrations": [
        "account",
        "membership",
        "administration",
        "right",
        "bankconnection",
        "apiconnection",
        "mailbox",
    ],
    "aftercare": ["aftercareitem"],
}
SECOND_LINE_EXTRAS = {"backups": ["retry_job", "cancel_job", "download_backup"]}


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401 - registers the portal's system checks

        # Not limited to this app's signal: permissions of apps migrated after this one must exist first, and the
        # last call sees them all. Setting the groups is idempotent.
        post_migrate.connect(ensure_support_groups, dispatch_uid="portal-support-groups")
        from backups import tasks

        tasks.guard_task_queue()
        from django.contrib.auth.signals import user_logged_out

        user_logged_out.connect(say_logged_out, dispatch_uid="portal-logged-out")


def say_logged_out(request: Any = None, **kwargs: Any) -> None:
    """The login page after logging out says so (messages live in a cookie first, so they outlast the session)."""
    from django.contrib import messages
    from django.utils.translation import gettext

    if request is not None and hasattr(request, "_messages"):
        messages.info(request, gettext("Je bent uitgelogd."))


class PortalAdminConfig(admin_apps.AdminConfig):
    """The Django admin on the portal's own site, which asks staff for a second factor (portal.admin_site)."""

    default = False
    default_site = "portal.admin_site.PortalAdminSite"


class TOTPConfig(AppConfig):
    """django-otp's authenticator-app devices, with a Dutch section name in the admin (superusers only)."""

    default = False
    name = "django_otp.plugins.otp_totp"
    label = "otp_totp"
    verbose_name = _("Tweestapsverificatie: apps")
    default_auto_field = "django.db.models.AutoField"


class StaticConfig(AppConfig):
    """django-otp's recovery codes, with a Dutch section name in the admin (superusers only)."""

    default = False
    name = "django_otp.plugins.otp_static"
    label = "otp_static"
    verbose_name = _("Tweestapsverificatie: herstelcodes")
    default_auto_field = "django.db.models.AutoField"


def ensure_support_groups(**kwargs: Any) -> None:
    """Two support roles, kept in step with the permissions after every migrate: first line may only look;
    second line may also change a customer's own settings, retry or cancel jobs and download back-ups for
    investigation. Each group gets exactly this list: anything granted by hand before is taken away again."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    first_line = Q(content_type__app_label__in=SUPPORT_APPS, codename__startswith="view_")
    first_line |= Q(content_type__app_label="auth", codename="view_user")
    second_line = first_line
    for app_label, models in SECOND_LINE_CHANGES.items():
        codenames = [f"change_{model}" for model in models]
        second_line |= Q(content_type__app_label=app_label, codename__in=codenames)
    for app_label, codenames in SECOND_LINE_EXTRAS.items():
        second_line |= Q(content_type__app_label=app_label, codename__in=codenames)
    _set_group(FIRST_LINE, Permission.objects.filter(first_line))
    _set_group(SECOND_LINE, Permission.objects.filter(second_line))


def _set_group(name: str, permissions: Any) -> None:
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.set(permissions)
