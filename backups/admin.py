"""Support staff in the Django admin: find back-ups and jobs, read the full log, retry or cancel a job, inspect a
back-up and download it for investigation (audited). First-line support has view rights only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from administrations.admin import AccountAdmin
from administrations.models import Account
from backups import views as backup_views
from backups.jobs import job_enqueue, jobs_cancel, queue_state
from backups.models import Backup, BackupSchedule, Job, SentMessage
from backups.quota import usage
from backups.tasks import cleanup_stale
from backups.verification import verification_start
from portal import audit
from portal.models import AuditEvent
from portal.templatetags.portal import nlsize


class AccountStorageAdmin(AccountAdmin):
    """The account's page, with what its back-ups use beside the storage limit second-line support may set there
    (backups.quota)."""

    readonly_fields = [*AccountAdmin.readonly_fields, "backup_storage_used"]

    @admin.display(description=_("opslag in gebruik door back-ups"))
    def backup_storage_used(self, account: Account) -> str:
        return usage(account).text


# The administrations app registers the account's page; what back-ups use of it is this app's to add.
admin.site.unregister(Account)
admin.site.register(Account, AccountStorageAdmin)


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    # Short columns, so the list fits a 1366 px screen beside its filters; the status says how the test-restore
    # went.
    list_display = ["administration_name", "owner", "origin", "status_display", "size_display", "created_at"]
    list_filter = ["status", "origin", "verification", "kept", "created_at"]
    search_fields = [
        "administration_name",
        "account__name",
        "account__email",
        "client_account__name",
        "created_by__username",
        "created_by__email",
        "original_file_name",
        "sha256",
    ]
    list_select_related = ["account", "client_account"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "account",
        "client_account",
        "administration",
        "name_at_backup",
        "origin",
        "status",
        "kept",
        "file_name",
        "original_file_name",
        "size_display",
        "sha256",
        "created_by",
        "created_at",
        "ready_at",
        "verification",
        "verified_at",
        "verification_outcome",
        "contents",
        "download",
    ]
    exclude = ["summary", "snapshot", "size", "administration_name", "table_checks", "verification_report"]

    @admin.display(description=_("Uitkomst van de controle"))
    def verification_outcome(self, backup: Backup) -> str:
        return " ".join(backup.verification_differences) or "–"

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, backup: Backup) -> str:
        if backup.verification == Backup.Verification.VERIFIED:
            return f"{backup.get_status_display()} · {_('gecontroleerd')} ✓"
        if backup.verification:
            return f"{backup.get_status_display()} · {backup.get_verification_display()}"
        return backup.get_status_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Every field is read-only: the page is for looking, and shows no "Opslaan".
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        fields = list(self.readonly_fields)
        if not request.user.has_perm("backups.download_backup"):
            fields.remove("download")
        return fields

    @admin.display(description=_("eigenaar"), ordering="account__name")
    def owner(self, backup: Backup) -> str:
        if backup.client_account_id:
            return f"{backup.account} ({_('voor')} {backup.client_account})"
        return str(backup.account)

    @admin.display(description=_("naam bij de back-up"))
    def name_at_backup(self, backup: Backup) -> str:
        return backup.administration_name

    @admin.display(description=_("grootte"), ordering="size")
    def size_display(self, backup: Backup) -> str:
        return nlsize(backup.size)

    @admin.display(description=_("Inhoud"))
    def contents(self, backup: Backup) -> SafeString:
        summary = backup.summary or {}
        return render_to_string(
            "admin/backups/backup_contents.html", {"summary": summary, "tables": summary.get("tables", [])}
        )

    @admin.display(description=_("Onderzoek"))
    def download(self, backup: Backup) -> SafeString:
        if not backup.is_ready:
            return format_html("–")
        url = reverse("admin:backups_backup_download", args=[backup.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Downloaden voor onderzoek (wordt gelogd)"))

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:pk>/downloaden/",
                self.admin_site.admin_view(self.download_view),
                name="backups_backup_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        if not request.user.has_perm("backups.download_backup"):
            raise PermissionDenied
        backup = get_object_or_404(Backup, pk=pk, status=Backup.Status.READY)
        audit.record(
            request,
            AuditEvent.Action.BACKUP_DOWNLOADED,
            administration=backup.administration,
            account=backup.account,
            target=f"back-up {backup.pk} ({backup.administration_name})",
            by_support=True,
        )
        return backup_views.stream_backup(backup)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    # Short columns, so the list fits a 1366 px screen beside its filters; the page has the rest.
    list_display = ["pk", "kind", "status", "administration", "progress", "queued_at"]
    list_filter = ["status", "kind", "queued_at"]
    search_fields = ["account__name", "administration__name", "requested_by__username", "requested_by__email", "log"]
    list_select_related = ["account", "administration"]
    date_hierarchy = "queued_at"
    readonly_fields = [
        "kind",
        "status",
        "account",
        "administration",
        "backup",
        "result_administration",
        "requested_by",
        "params",
        "progress",
        "phase",
        "user_message",
        "log",
        "attempts",
        "queued_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    ]
    exclude = ["secret"]
    actions = ["retry", "cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A job is history: retry and cancel are actions on the list, the page itself only shows.
        return False

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path("wachtrij/", self.admin_site.admin_view(self.queue_view), name="backups_job_queue"),
            *super().get_urls(),
        ]

    def queue_view(self, request: HttpRequest) -> TemplateResponse:
        """Read-only: how many jobs wait and run, and since when the oldest waits (also in /gezondheid/)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Wachtrij"),
            "opts": self.model._meta,
            "state": queue_state(),
            "waiting": Job.objects.filter(status=Job.Status.QUEUED)
            .select_related("account")
            .order_by("queued_at")[:20],
        }
        return TemplateResponse(request, "admin/backups/job_queue.html", context)

    @admin.action(description=_("Mislukte taken opnieuw starten"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        retried = 0
        for job in queryset.filter(status=Job.Status.FAILED).exclude(kind=Job.Kind.VERIFY_UPLOAD):
            if job.kind == Job.Kind.RESTORE and job.params.get("login_method") == "sql":
                # The password was wiped when the job ended: the customer has to start it again.
                continue
            if job.kind == Job.Kind.VERIFY_RESTORE:
                # A fresh test-restore, into a scratch database of its own (never the failed one's name).
                if job.backup is not None and job.backup.is_ready:
                    verification_start(backup=job.backup, user=job.requested_by)
                    retried += 1
                continue
            params = {k: v for k, v in job.params.items() if k != "target_created"}
            copy = Job.objects.create(
                kind=job.kind,
                account=job.account,
                administration=job.administration,
                backup=job.backup if job.kind != Job.Kind.EXPORT else None,
                requested_by=job.requested_by,
                params=params,
            )
            if job.kind == Job.Kind.EXPORT and job.administration is not None:
                copy.backup = Backup.objects.create(
                    account=job.account,
                    client_account=job.backup.client_account if job.backup else None,
                    administration=job.administration,
                    administration_name=job.administration.name,
                    origin=job.backup.origin if job.backup else Backup.Origin.MANUAL,
                    kept=job.backup.kept if job.backup else True,
                    created_by=job.requested_by,
                )
                copy.save(update_fields=["backup"])
            job_enqueue(copy)
            retried += 1
        messages.info(request, _("%(count)d taak/taken opnieuw gestart.") % {"count": retried})

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("backups.retry_job")

    @admin.action(description=_("Vastgelopen taken afbreken"), permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled = jobs_cancel(queryset, cleanup=cleanup_stale)
        messages.info(request, _("%(count)d taak/taken afgebroken.") % {"count": len(cancelled)})

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("backups.cancel_job")


class StaleFilter(admin.SimpleListFilter):
    title = _("geslaagde back-up")
    parameter_name = "verouderd"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:  # type: ignore[type-arg]
        return [("ja", str(_("Te lang geen geslaagde back-up")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[BackupSchedule]) -> QuerySet[BackupSchedule]:
        if self.value() != "ja":
            return queryset
        from administrations.models import Administration
        from backups.notifications import warnings_for

        stale = [
            w.administration.pk
            for w in warnings_for(Administration.objects.filter(pk__in=queryset.values("administration_id")))
            if w.kind == SentMessage.Kind.STALE
        ]
        return queryset.filter(administration_id__in=stale)


@admin.register(BackupSchedule)
class BackupScheduleAdmin(admin.ModelAdmin):
    """Support sees every automatic back-up, its last run and whether it went stale; nobody changes them here
    (the customer's main users and administrators do, on the administration)."""

    list_display = ["administration", "account", "describe", "enabled", "next_run_at", "last_run_at", "last_outcome"]
    list_filter = ["enabled", "frequency", StaleFilter]
    search_fields = ["administration__name", "administration__account__name"]
    list_select_related = ["administration__account", "last_job"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in BackupSchedule._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("account"))
    def account(self, schedule: BackupSchedule) -> str:
        return schedule.administration.account.name

    @admin.display(description=_("wanneer"))
    def describe(self, schedule: BackupSchedule) -> str:
        return schedule.describe()

    @admin.display(description=_("laatste keer"))
    def last_outcome(self, schedule: BackupSchedule) -> str:
        job = schedule.last_job
        if job is None:
            return "–"
        return f"{job.get_status_display()}{': ' + job.user_message if job.user_message else ''}"


@admin.register(SentMessage)
class SentMessageAdmin(admin.ModelAdmin):
    list_display = ["kind", "administration", "sent_at"]
    list_filter = ["kind", "sent_at"]
    search_fields = ["administration__name", "administration__account__name"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in SentMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
