"""The screen "Bestaande administratie toevoegen" (R14): upload an old .mdb, choose target and name, follow the job."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from administrations.databases import DatabaseError
from administrations.mdb import MdbError, mdb_import_start, mdb_staging_folder
from administrations.models import Administration, account_of
from administrations.permissions import Action, access_for, refuse
from backups.forms import RestoreForm
from backups.models import Backup
from backups.services import BackupRefused
from backups.uploads import (
    MAX_FILE_NAME_LENGTH,
    NAME_TOO_LONG,
    limited_upload,
    refused_form,
    too_large_message,
    upload_refusal,
)
from backups.views import htmx_redirect, stage_upload
from portal.http import FORM_REFUSED


class MdbImportForm(RestoreForm):
    """The restore wizard's target choice (R15–R18, cost confirmation R17) plus the .mdb file. The name may be left
    empty: then the file's name is used."""

    file = forms.FileField(
        label=_("Administratiebestand (.mdb)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".mdb"}),
        max_length=MAX_FILE_NAME_LENGTH,
        error_messages={"max_length": NAME_TOO_LONG},
    )

    def __init__(self, *args: Any, account: Any, **kwargs: Any) -> None:
        # RestoreForm suggests a name from a back-up; here there is none yet (the file's name is used instead).
        super().__init__(*args, account=account, backup=Backup(administration_name=""), **kwargs)
        self.fields["name"].required = False
        self.initial["name"] = ""
        self.order_fields(["file", "name"])

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if name.endswith(".accdb"):
            raise forms.ValidationError(
                _(
                    "Dit is een .accdb-bestand (Access 2007 of nieuwer). Dat kan nog niet worden toegevoegd: sla het "
                    "in Access op als .mdb (Access 2002-2003) en probeer het opnieuw."
                ),
                code="accdb",
            )
        if name.endswith(".ssb"):
            raise forms.ValidationError(
                _(
                    "Een .ssb-bestand is een back-up van SnelStart 11 of ouder en kan niet worden toegevoegd. Kies het "
                    "oorspronkelijke .mdb-bestand van de administratie."
                ),
                code="old_format",
            )
        if not name.endswith(".mdb"):
            raise forms.ValidationError(_("Kies een .mdb-bestand."), code="extension")
        if upload.size > settings.MDB_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(too_large_message(settings.MDB_UPLOAD_MAX_BYTES), code="too_large")
        if upload.size == 0:
            raise forms.ValidationError(_("Dit bestand is leeg."), code="empty")
        return upload

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        upload = self.files.get(self.add_prefix("file"))
        if not name and upload is not None:
            name = Path(upload.name or "").stem.strip()[:200]
        if name and Administration.objects.filter(account=self.account, name=name).exists():
            raise forms.ValidationError(
                _("Er bestaat al een administratie met de naam ‘%(name)s’. Kies een andere naam."),
                params={"name": name},
            )
        return name


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
@limited_upload(lambda: settings.MDB_UPLOAD_MAX_BYTES)
def mdb_import_view(request: HttpRequest) -> HttpResponse:
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
                user=request.user,  # type: ignore[arg-type]
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
    template = "administrations/mdb_form_fields.html" if request.htmx else "administrations/mdb_form.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=FORM_REFUSED if form.errors else 200)
