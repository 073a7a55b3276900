"""The back-up screens: make, follow, keep (Overzicht Online Back-up), download, upload, inspect, restore, delete."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBase,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from administrations.databases import DatabaseError
from administrations.models import (
    Account,
    Administration,
    Bank,
    Location,
    LoginMethod,
    account_of,
)
from administrations.permissions import Action, access_for, refuse, web_only_reason
from administrations.views import get_administration_or_404
from backups.downloads import stored_file_complete, stream_backup
from backups.engines.mdbtools import MdbError
from backups.forms import MdbImportForm, RestoreForm, RetryForm, UploadForm
from backups.models import Backup, Job
from backups.restores import job_target, mdb_import_start, mdb_staging_folder, restore_start
from backups.services import (
    BackupRefused,
    acting_account,
    administration_delete_start,
    backup_create,
    backup_delete,
    upload_staging_folder,
    upload_start,
)
from backups.uploads import limited_upload, refused_form, stage_upload, upload_refusal
from portal import audit
from portal.http import FORM_REFUSED, PortalRequest, htmx_redirect
from portal.models import AuditEvent

PAGE_SIZE = 25


def get_backup_or_404(request: PortalRequest, pk: int) -> Backup:
    queryset = Backup.objects.visible_to(request.user).select_related("account", "administration", "created_by")
    return get_object_or_404(queryset, pk=pk)


def get_job_or_404(request: PortalRequest, pk: int) -> Job:
    queryset = Job.objects.visible_to(request.user).select_related(
        "backup", "administration", "result_administration", "account"
    )
    return get_object_or_404(queryset, pk=pk)


# ------------------------------------------------------------------------------------------------ overview


@login_required
@require_GET
def backup_list(request: PortalRequest) -> HttpResponse:
    """Overzicht Online Back-up (R7, R8): a constant number of queries whatever the page size."""
    backups = (
        Backup.objects.visible_to(request.user)
        .in_overview()
        .select_related("account", "administration", "created_by")
        .order_by("-created_at", "-pk")
    )
    backups = backups.select_related("client_account").prefetch_related(
        Prefetch("jobs", queryset=Job.objects.unfinished().order_by("-pk"), to_attr="unfinished_jobs")
    )
    page = Paginator(backups, PAGE_SIZE).get_page(request.GET.get("pagina"))
    account = account_of(request.user)
    access = access_for(request)
    by_firms = (
        Backup.objects.made_by_firms_for(request.user)
        .select_related("account", "created_by")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "backups/backup_list.html",
        {
            "page": page,
            "account": account,
            "can_upload": access.allows(account, Action.BACKUP_UPLOAD),
            "can_set_messages": access.allows(account, Action.MESSAGES_MANAGE),
            # The empty overview only suggests what the user can really do (and says why not for inOrde).
            "can_make": not page.object_list and access.makes_any_backup(),
            "web_only_reason": web_only_reason(account.get_package_display())
            if account and account.capabilities.web_only
            else "",
            "by_firms": by_firms,
            "storage_usage": _storage_usage(request, account),
        },
    )


def _storage_usage(request: PortalRequest, account: Account | None) -> object:
    """What the account's back-ups use of its quota, for those who see all of them (main users, administrators)."""
    if account is None:
        return None
    from backups.quota import usage_for_manager

    return usage_for_manager(account, access_for(request))


@login_required
@require_GET
def backup_row(request: PortalRequest, pk: int) -> HttpResponse:
    """One row of the overview; a back-up that is still being made polls this until it is ready."""
    return render(request, "backups/partials/_backup_row.html", {"backup": get_backup_or_404(request, pk)})


@login_required
@require_GET
def backup_detail(request: PortalRequest, pk: int) -> HttpResponse:
    """Bekijken: what is inside, from the inspection stored when the back-up was verified."""
    backup = get_backup_or_404(request, pk)
    decision = access_for(request).decide(backup, Action.BACKUP_INSPECT)
    if not decision:
        return refuse(request, decision, back=reverse("backups:list"))
    summary = backup.summary or {}
    tables = sorted(summary.get("tables", []), key=lambda t: (t.get("schema", ""), t.get("name", "")))
    exported = (summary.get("origin") or {}).get("export_started_at")
    context = {
        "backup": backup,
        "summary": summary,
        "tables": tables,
        "export_started_at": datetime.fromisoformat(exported) if exported else None,
    }
    return render(request, "backups/backup_detail.html", context)


@login_required
@require_GET
def backup_download(request: PortalRequest, pk: int) -> HttpResponseBase:
    backup = get_backup_or_404(request, pk)
    if not backup.is_ready:
        raise Http404
    decision = access_for(request).decide(backup, Action.BACKUP_DOWNLOAD)
    if not decision:
        return refuse(request, decision, back=reverse("backups:list"))
    if not stored_file_complete(backup):
        messages.error(
            request, _("Het back-upbestand is niet compleet in de opslag. Neem contact op met de klantenservice.")
        )
        return redirect("backups:list")
    Backup.objects.filter(pk=backup.pk, downloaded_at__isnull=True).update(downloaded_at=timezone.now())
    audit.record(
        request,
        AuditEvent.Action.BACKUP_DOWNLOADED,
        administration=backup.administration,
        account=backup.account,
        target=f"back-up {backup.pk} ({backup.administration_name})",
    )
    return stream_backup(backup)


@login_required
@require_http_methods(["GET", "POST"])
def backup_delete_view(request: PortalRequest, pk: int) -> HttpResponse:
    """R8: deleting asks for confirmation first."""
    backup = get_backup_or_404(request, pk)
    decision = access_for(request).decide(backup, Action.BACKUP_DELETE)
    if not decision:
        return refuse(request, decision, back=reverse("backups:list"))
    if request.method == "POST":
        audit.record(
            request,
            AuditEvent.Action.BACKUP_DELETED,
            administration=backup.administration,
            account=backup.account,
            target=f"back-up {backup.pk} ({backup.administration_name})",
        )
        backup_delete(backup=backup)
        messages.success(request, _("De back-up van ‘%(name)s’ is verwijderd.") % {"name": backup.administration_name})
        return htmx_redirect(request, reverse("backups:list"))
    return render(request, "backups/backup_confirm_delete.html", {"backup": backup})


# ------------------------------------------------------------------------------------------------ making one


@login_required
@require_POST
def backup_create_view(request: PortalRequest, pk: int) -> HttpResponse:
    """Back-up maken (R7, R10). An administration with a SnelStart Bankieren account first shows R6's warning."""
    administration = get_administration_or_404(request, pk)
    decision = access_for(request).decide(administration, Action.BACKUP_MAKE)
    if not decision:
        return refuse(request, decision)
    banking = administration.bank_connections.filter(bank=Bank.SNELSTART_BANKIEREN).exists()
    if banking and request.POST.get("bankieren_begrepen") != "ja":
        return render(request, "backups/backup_bank_warning.html", {"administration": administration})
    try:
        job = backup_create(
            administration=administration,
            user=request.user,
            account=acting_account(request.user, administration),
        )
    except BackupRefused as refused:
        messages.error(request, refused.user_message)
        return htmx_redirect(request, reverse("administrations:list"))
    audit.record(
        request,
        AuditEvent.Action.BACKUP_MADE,
        administration=administration,
        account=job.account,
        target=f"back-up {job.backup_id}",
    )
    if administration.location == Location.ONLINE:
        if job.account_id != administration.account_id:
            # A firm's back-up of a client: back to Klanten, where the firm started.
            messages.info(
                request,
                _("De back-up van %(name)s wordt gemaakt. Hij komt in het overzicht van je kantoor.")
                % {"name": administration.name},
            )
            return htmx_redirect(request, reverse("administrations:firm_dashboard"))
        messages.info(request, _("De back-up wordt gemaakt. Hij staat hieronder zodra hij klaar is."))
        return htmx_redirect(request, reverse("backups:list"))
    return htmx_redirect(request, reverse("backups:job", args=[job.pk]))


# ------------------------------------------------------------------------------------------------ jobs


@login_required
@require_GET
def job_detail(request: PortalRequest, pk: int) -> HttpResponse:
    """A job's progress. HTMX polls the fragment until the job is finished; without JavaScript the page refreshes."""
    job = get_job_or_404(request, pk)
    context = {"job": job, "auto_download": _hands_over_file(job)}
    if request.htmx:
        return render(request, "backups/partials/_job.html", context)
    return render(request, "backups/job_detail.html", context)


def _hands_over_file(job: Job) -> bool:
    """R10: a finished local or network back-up goes to the browser by itself, once. The page shows it finished
    with a link; portal.js follows the link when the finished fragment arrives. Once the file was downloaded, the
    link stays but nothing downloads again (no loop of downloads while a page polls or is reloaded)."""
    backup = job.backup
    return (
        job.kind == Job.Kind.EXPORT
        and job.status == Job.Status.SUCCEEDED
        and backup is not None
        and backup.is_ready
        and not backup.kept
        and backup.downloaded_at is None
    )


# ------------------------------------------------------------------------------------------------ upload


@login_required
@require_http_methods(["GET", "POST"])
@limited_upload(lambda: settings.BACKUP_UPLOAD_MAX_BYTES)
def backup_upload_view(request: PortalRequest) -> HttpResponse:
    """Uploaden (R11), or a local file for one restore (R19, `?voor=terugzetten`): streamed to disk within the size
    limit, checked for the obvious, then verified in a job."""
    account = account_of(request.user)
    for_restore = request.GET.get("voor") == "terugzetten"
    decision = access_for(request).decide(account, Action.BACKUP_RESTORE if for_restore else Action.BACKUP_UPLOAD)
    if account is None or not decision:
        return refuse(request, decision, back=reverse("backups:list"))
    refusal = upload_refusal(request)
    if refusal is not None:
        form = refused_form(UploadForm, request, refusal)
    else:
        form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and refusal is None and form.is_valid():
        upload = form.cleaned_data["file"]
        staged = upload_staging_folder() / f"{uuid.uuid4().hex}.bacpac"
        stage_upload(upload, staged)
        try:
            job = upload_start(
                account=account,
                user=request.user,
                staged=staged,
                file_name=upload.name,
                kept=not for_restore,
                ip_address=audit.client_address(request),
            )
        except BackupRefused as refused:
            form.add_error("file", refused.user_message)
        else:
            # The audit trail says "geüpload" when the job has verified and kept the file, not before.
            url = reverse("backups:job", args=[job.pk])
            return htmx_redirect(request, url + ("?voor=terugzetten" if for_restore else ""))
    template = "backups/partials/_upload_form.html" if request.htmx else "backups/backup_upload.html"
    return render(
        request, template, {"form": form, "for_restore": for_restore}, status=FORM_REFUSED if form.errors else 200
    )


# ------------------------------------------------------------------------------------------------ restore


@login_required
@require_GET
def restore_choose(request: PortalRequest) -> HttpResponse:
    """Step one of Back-up terugzetten: an online back-up from the overview (R15) or a local file (R19)."""
    account = account_of(request.user)
    access = access_for(request)
    decision = access.decide(account, Action.BACKUP_RESTORE)
    if account is None or not decision:
        return refuse(request, decision)
    candidates = (
        Backup.objects.visible_to(request.user)
        .in_overview()
        .ready()
        .filter(account=account)
        .select_related("account")
        .order_by("-created_at")[:50]
    )
    backups = [backup for backup in candidates if access.allows(backup, Action.BACKUP_RESTORE)]
    return render(request, "backups/restore_choose.html", {"backups": backups})


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def restore_view(request: PortalRequest, pk: int) -> HttpResponse:
    """Back-up terugzetten (R12, R13, R15–R19): always as a NEW administration."""
    backup = get_backup_or_404(request, pk)
    account = backup.account
    decision = access_for(request).decide(backup, Action.BACKUP_RESTORE)
    if not decision:
        return refuse(request, decision, back=reverse("backups:list"))
    if not backup.is_ready:
        messages.error(request, _("Deze back-up is nog niet klaar of is mislukt."))
        return htmx_redirect(request, reverse("backups:list"))
    form = RestoreForm(request.POST or None, account=account, backup=backup)
    if request.method == "POST" and form.is_valid() and form.target is not None:
        try:
            job = restore_start(
                user=request.user,
                account=account,
                backup=backup,
                name=form.cleaned_data["name"],
                target=form.target,
                cost_confirmed=form.cleaned_data["confirm_cost"],
            )
        except (BackupRefused, DatabaseError) as refused:
            form.add_error(None, refused.user_message)
        else:
            audit.record(
                request,
                AuditEvent.Action.RESTORE_STARTED,
                administration=backup.administration,
                account=account,
                target=f"back-up {backup.pk} → {form.cleaned_data['name']}",
            )
            return htmx_redirect(request, reverse("backups:job", args=[job.pk]))
    online_count = account.online_administration_count()
    return render(
        request,
        "backups/restore_form.html",
        {
            "form": form,
            "backup": backup,
            "account": account,
            "extra_cost": form.extra_cost,
            "next_online_number": online_count + 1,
        },
        status=FORM_REFUSED if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def job_retry(request: PortalRequest, pk: int) -> HttpResponse:
    """Opnieuw proberen after a failed restore: the same back-up, name and target; only an SQL password is asked
    again (it was wiped when the job ended)."""
    failed = get_job_or_404(request, pk)
    backup = failed.backup
    if failed.kind != Job.Kind.RESTORE or failed.status != Job.Status.FAILED or backup is None:
        raise Http404
    decision = access_for(request).decide(backup, Action.BACKUP_RESTORE)
    if not decision:
        return refuse(request, decision, back=reverse("backups:job", args=[failed.pk]))
    target = job_target(failed, with_password=False)
    if target.location == Location.ONLINE:
        target = replace(target, database_name="")  # a fresh online database, not the one the failure dropped
    form = RetryForm(
        request.POST if request.method == "POST" else None, needs_password=target.login_method == LoginMethod.SQL
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            job = restore_start(
                user=request.user,
                account=failed.account,
                backup=backup,
                name=failed.params["name"],
                target=replace(target, password=form.cleaned_data.get("password", "")),
                # The cost was confirmed for the first try and is shown again on this page.
                cost_confirmed=True,
            )
        except (BackupRefused, DatabaseError) as refused:
            error = refused.user_message
        else:
            audit.record(
                request,
                AuditEvent.Action.RESTORE_STARTED,
                administration=backup.administration,
                account=failed.account,
                target=f"back-up {backup.pk} → {failed.params['name']}",
            )
            return htmx_redirect(request, reverse("backups:job", args=[job.pk]))
    context = {
        "job": failed,
        "backup": backup,
        "target": target,
        "form": form,
        "error": error,
        "extra_cost": failed.account.extra_online_cost() if target.location == Location.ONLINE else None,
    }
    return render(request, "backups/job_retry.html", context, status=FORM_REFUSED if error or form.errors else 200)


# ------------------------------------------------------------------------------------------------ deleting


@login_required
@require_http_methods(["GET", "POST"])
def administration_delete_view(request: PortalRequest, pk: int) -> HttpResponse:
    """Verwijderen (R9): an online administration is backed up automatically first."""
    administration: Administration = get_administration_or_404(request, pk)
    decision = access_for(request).decide(administration, Action.ADMINISTRATION_DELETE)
    if not decision:
        return refuse(request, decision)
    if request.method == "POST":
        if request.POST.get("naam") != administration.name:
            messages.error(request, _("Typ de naam van de administratie precies over om te bevestigen."))
            from aftercare.services import bank_links_taken_over

            return render(
                request,
                "administrations/administration_confirm_delete.html",
                {"administration": administration, "bank_links": bank_links_taken_over(administration)},
                status=FORM_REFUSED,
            )
        try:
            job = administration_delete_start(administration=administration, user=request.user)
        except BackupRefused as refused:
            messages.error(request, refused.user_message)
            return htmx_redirect(request, reverse("administrations:list"))
        # The job may already have removed the administration (synchronous workers): keep its name, not a link.
        audit.record(
            request,
            AuditEvent.Action.ADMINISTRATION_DELETED,
            account=administration.account,
            administration_name=administration.name,
            target=administration.name,
        )
        return htmx_redirect(request, reverse("backups:job", args=[job.pk]))
    from aftercare.services import bank_links_taken_over

    context = {"administration": administration, "bank_links": bank_links_taken_over(administration)}
    return render(request, "administrations/administration_confirm_delete.html", context)


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
@limited_upload(lambda: settings.MDB_UPLOAD_MAX_BYTES)
def mdb_import_view(request: PortalRequest) -> HttpResponse:
    """Toevoegen → Bestaande administratie: the .mdb streams to disk with a progress bar, the import runs as a job."""
    account = account_of(request.user)
    # Adding an existing administration is a restore in the article's words ("terugzetten via Toevoegen →
    # Bestaande administratie"): the permission table's restore, in the user's own account.
    decision = access_for(request).decide(account, Action.BACKUP_RESTORE)
    if account is None or not decision:
        return refuse(request, decision)
    refusal = upload_refusal(request)
    if refusal is not None:
        form = refused_form(MdbImportForm, request, refusal, account=account)
    else:
        form = MdbImportForm(request.POST or None, request.FILES or None, account=account)
    if request.method == "POST" and refusal is None and form.is_valid() and form.target is not None:
        upload = form.cleaned_data["file"]
        staged = mdb_staging_folder() / f"{uuid.uuid4().hex}.mdb"
        stage_upload(upload, staged)
        try:
            job = mdb_import_start(
                account=account,
                user=request.user,
                staged=staged,
                file_name=upload.name,
                name=form.cleaned_data["name"],
                target=form.target,
                cost_confirmed=form.cleaned_data["confirm_cost"],
            )
        except MdbError as refused:
            form.add_error("file", refused.user_message)
        except (BackupRefused, DatabaseError) as refused:
            form.add_error(None, refused.user_message)
        else:
            return htmx_redirect(request, reverse("backups:job", args=[job.pk]))
    context = {
        "form": form,
        "extra_cost": form.extra_cost,
        "next_online_number": account.online_administration_count() + 1,
    }
    template = "administrations/mdb_form_fields.html" if request.htmx else "administrations/mdb_form.html"
    return render(request, template, context, status=FORM_REFUSED if form.errors else 200)
