from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from administrations.databases import DatabaseError
from administrations.models import Account, Administration, DatabaseServer, Location, LoginMethod
from administrations.services import Target, name_taken_message
from backups.models import Backup
from backups.uploads import MAX_FILE_NAME_LENGTH, NAME_TOO_LONG, too_large_message


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Back-upbestand (.bacpac)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".bacpac"}),
        max_length=MAX_FILE_NAME_LENGTH,
        error_messages={"max_length": NAME_TOO_LONG},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if name.endswith((".ssb", ".mdb")):
            message = _(
                "Een %(kind)s-bestand kan niet worden teruggezet. Voeg het oorspronkelijke .mdb-bestand toe via "
                "Toevoegen → Bestaande administratie."
            ) % {"kind": ".ssb" if name.endswith(".ssb") else ".mdb"}
            # R14: the message links straight to that screen (format_html escapes the text, keeps the link).
            raise forms.ValidationError(
                format_html(
                    '{} <a href="{}">{}</a>',
                    message,
                    reverse("administrations:mdb_import"),
                    _("Bestaande administratie toevoegen"),
                ),
                code="old_format",
            )
        if not name.endswith(".bacpac"):
            raise forms.ValidationError(_("Kies een .bacpac-bestand."), code="extension")
        if upload.size > settings.BACKUP_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(too_large_message(settings.BACKUP_UPLOAD_MAX_BYTES), code="too_large")
        if upload.size == 0:
            raise forms.ValidationError(_("Dit bestand is leeg."), code="empty")
        return upload


class NewAdministrationForm(forms.Form):
    """Where a NEW administration goes and its name (R12, R15–R19), with the extra cost confirmed (R17): the part
    restoring a back-up and adding an .mdb share."""

    name = forms.CharField(label=_("Naam van de nieuwe administratie"), max_length=200)
    location = forms.ChoiceField(
        label=_("Waar komt de administratie?"), choices=Location.choices, widget=forms.RadioSelect, initial="online"
    )
    local_path = forms.CharField(
        label=_("Locatie van het administratiebestand"),
        required=False,
        help_text=_(
            "Lokale administraties staan samen in één hoofdmap voor lokale administraties. Geef de map en de naam "
            "daarbinnen, bijvoorbeeld 2024/bakkerij; mappen die nog niet bestaan worden gemaakt."
        ),
    )
    server = forms.ModelChoiceField(label=_("SQL-server"), queryset=DatabaseServer.objects.none(), required=False)
    database_name = forms.CharField(label=_("Naam van de nieuwe database"), required=False, max_length=63)
    login_method = forms.ChoiceField(
        label=_("Aanmelden met"),
        choices=LoginMethod.choices,
        widget=forms.RadioSelect,
        initial=LoginMethod.WINDOWS,
        required=False,
    )
    login_user = forms.CharField(label=_("Gebruikersnaam"), required=False, max_length=128)
    password = forms.CharField(
        label=_("Wachtwoord"), required=False, widget=forms.PasswordInput(render_value=False), strip=False
    )
    confirm_cost = forms.BooleanField(required=False)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        server_field = self.fields["server"]
        assert isinstance(server_field, forms.ModelChoiceField)
        server_field.queryset = account.servers.all()
        self.extra_cost = account.extra_online_cost()
        server_field.label_from_instance = _server_label  # type: ignore[method-assign,assignment]
        servers = list(server_field.queryset[:2])
        if len(servers) == 1 and not self.is_bound:
            self.initial["server"] = servers[0].pk  # the only registered server needs no choosing
        self.target: Target | None = None

    def clean_local_path(self) -> str:
        """Accept what people type: backslashes become slashes; a full Windows path gets an explanation."""
        typed = (self.cleaned_data.get("local_path") or "").strip()
        path = typed.replace("\\", "/")
        if re.match(r"^[A-Za-z]:", path) or path.startswith("//"):
            raise forms.ValidationError(
                _(
                    "Geef het pad binnen de hoofdmap voor lokale administraties, zonder stationsletter of server: "
                    "bijvoorbeeld 2024/bakkerij in plaats van %(typed)s."
                ),
                params={"typed": typed},
                code="absolute_windows_path",
            )
        return path.strip("/")

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        taken = name_taken_message(self.account, name) if name else None
        if taken:
            raise forms.ValidationError(taken, code="taken")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        location = data.get("location")
        if location == Location.LOCAL and not data.get("local_path"):
            self.add_error("local_path", _("Kies waar het administratiebestand komt."))
        if location == Location.NETWORK:
            if not data.get("server"):
                self.add_error("server", _("Kies een SQL-server."))
            if not data.get("database_name"):
                self.add_error("database_name", _("Geef de nieuwe database een naam."))
            if data.get("login_method") == LoginMethod.SQL and not data.get("login_user"):
                self.add_error("login_user", _("Vul de gebruikersnaam in."))
        if location == Location.ONLINE and self.extra_cost is not None and not data.get("confirm_cost"):
            self.add_error("confirm_cost", _("Bevestig de extra kosten om door te gaan."))
        if self.errors or not location:
            return data
        network = location == Location.NETWORK
        target = Target(
            location=location,
            local_path=data.get("local_path") or "",
            server=data.get("server") if network else None,
            database_name=(data.get("database_name") or "") if network else "",
            login_method=(data.get("login_method") or "") if network else "",
            login_user=(data.get("login_user") or "") if network else "",
            password=(data.get("password") or "") if network else "",
        )
        try:
            target.database_location()
        except DatabaseError as error:
            # A local path's problem is shown at the path; anything else above the form.
            self.add_error("local_path" if location == Location.LOCAL else None, error.user_message)
            return data
        self.target = target
        return data


class RestoreForm(NewAdministrationForm):
    """Back-up terugzetten: a free name suggested from the back-up."""

    def __init__(self, *args: Any, account: Account, backup: Backup, **kwargs: Any) -> None:
        super().__init__(*args, account=account, **kwargs)
        self.backup = backup
        if not self.is_bound:
            self.initial["name"] = free_restore_name(account, backup)


class MdbImportForm(NewAdministrationForm):
    """Toevoegen → Bestaande administratie (R14): the .mdb file, then the target. The name may be left empty: then
    the file's name is used."""

    file = forms.FileField(
        label=_("Administratiebestand (.mdb)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".mdb"}),
        max_length=MAX_FILE_NAME_LENGTH,
        error_messages={"max_length": NAME_TOO_LONG},
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, account=account, **kwargs)
        self.fields["name"].required = False
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
        if not (self.cleaned_data.get("name") or "").strip():
            upload = self.files.get(self.add_prefix("file"))
            self.cleaned_data["name"] = Path(getattr(upload, "name", "") or "").stem.strip()[:200]
        return super().clean_name()


def _server_label(server: DatabaseServer) -> str:
    """The server as the article speaks of it: its name and its database engine."""
    return f"{server.name} ({server.get_engine_display()})"


def free_restore_name(account: Account, backup: Backup) -> str:
    """The suggested name of the new administration, free in the account (a second restore of the day gets a
    number)."""
    base = _("%(name)s (teruggezet %(date)s)") % {
        "name": backup.administration_name,
        "date": timezone.localdate().strftime("%d-%m-%Y"),
    }
    taken = set(
        Administration.objects.filter(account=account, name__startswith=base[:-1]).values_list("name", flat=True)
    )
    if base not in taken:
        return base
    number = 2
    while f"{base[:-1]}, {number})" in taken:
        number += 1
    return f"{base[:-1]}, {number})"


class RetryForm(forms.Form):
    """Opnieuw proberen: everything as before, only the SQL password again (it is never kept after a job)."""

    password = forms.CharField(
        label=_("Wachtwoord"), required=False, widget=forms.PasswordInput(render_value=False), strip=False
    )

    def __init__(self, *args: Any, needs_password: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.needs_password = needs_password
        if not needs_password:
            del self.fields["password"]
        else:
            self.fields["password"].required = True
            self.fields["password"].error_messages["required"] = _("Vul het wachtwoord van de SQL-gebruiker in.")
