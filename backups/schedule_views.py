"""Automatische back-up: the schedule screen of an administration, with a dry run of what the next retention round
would remove; "Controleren door terugzetten" on a back-up; the e-mail preferences. Who may do each is the
permission table's (Action.SCHEDULE_MANAGE, BACKUP_VERIFY, MESSAGES_MANAGE): 404 for what the user does not see,
403 with the reason for what they see but may not do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from administrations.models import Administration, Location, account_of
from administrations.permissions import Action, Decision, access_for, refuse
from administrations.views import get_administration_or_404
from backups import retention
from backups.models import BackupSchedule, MessagePreference
from backups.schedules import next_run_after, schedule_save
from backups.services import BackupRefused
from backups.verification import verification_start
from backups.views import get_backup_or_404
from portal.http import FORM_REFUSED, PortalRequest, htmx_redirect

KEEP_MAX = 999


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = BackupSchedule
        fields = [
            "enabled",
            "frequency",
            "time_of_day",
            "weekday",
            "day_of_month",
            "keep_daily",
            "keep_weekly",
            "keep_monthly",
        ]
        widgets = {
            "frequency": forms.RadioSelect,
            "time_of_day": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "day_of_month": forms.NumberInput(attrs={"min": 1, "max": 31}),
            "keep_daily": forms.NumberInput(attrs={"min": 0, "max": KEEP_MAX}),
            "keep_weekly": forms.NumberInput(attrs={"min": 0, "max": KEEP_MAX}),
            "keep_monthly": forms.NumberInput(attrs={"min": 0, "max": KEEP_MAX}),
        }
        labels = {
            "keep_daily": _("Dagelijkse back-ups"),
            "keep_weekly": _("Wekelijkse back-ups"),
            "keep_monthly": _("Maandelijkse back-ups"),
        }
        help_texts = {
            "day_of_month": _("1 tot en met 31; in een kortere maand de laatste dag van die maand."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_of_day"].input_formats = ["%H:%M", "%H:%M:%S"]  # type: ignore[attr-defined]
        self.fields["time_of_day"].error_messages["invalid"] = _("Vul een tijdstip in als uu:mm, bijvoorbeeld 02:00.")
        self.fields["weekday"].required = False
        for name in ("keep_daily", "keep_weekly", "keep_monthly"):
            field = self.fields[name]
            field.error_messages["required"] = _("Vul een aantal in (0 of meer).")
            field.error_messages["min_value"] = _("Vul een aantal in (0 of meer).")
            field.error_messages["invalid"] = _("Vul een aantal in (0 of meer).")

    def clean_keep_daily(self) -> int:
        return self._keep("keep_daily")

    def clean_keep_weekly(self) -> int:
        return self._keep("keep_weekly")

    def clean_keep_monthly(self) -> int:
        return self._keep("keep_monthly")

    def _keep(self, name: str) -> int:
        value = self.cleaned_data.get(name)
        if value is None or value < 0:
            raise forms.ValidationError(gettext("Vul een aantal in (0 of meer)."))
        if value > KEEP_MAX:
            raise forms.ValidationError(gettext("Hoogstens %(limit)s.") % {"limit": KEEP_MAX})
        return int(value)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        frequency = data.get("frequency")
        if frequency == BackupSchedule.Frequency.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", gettext("Kies de dag van de week."))
        if frequency == BackupSchedule.Frequency.MONTHLY:
            day = data.get("day_of_month")
            if day is None or not 1 <= day <= 31:
                self.add_error("day_of_month", gettext("Kies een dag van de maand van 1 tot en met 31."))
        return data


def get_schedulable_administration(request: PortalRequest, pk: int) -> tuple[Administration, Decision]:
    """The administration (404 when the user does not see it) and whether the permission table lets the user set
    its automatic back-up."""
    administration = get_administration_or_404(request, pk)
    return administration, access_for(request).decide(administration, Action.SCHEDULE_MANAGE)


def _preview(administration: Administration, form: ScheduleForm) -> dict[str, Any]:
    """The dry run: which back-ups the next retention round (right after the next scheduled back-up) removes."""
    if not form.is_valid():
        return {"valid": False}
    candidate: BackupSchedule = form.save(commit=False)
    if not candidate.enabled:
        return {"valid": True, "enabled": False}
    upcoming = next_run_after(candidate, timezone.now())
    rules = retention.Rules(candidate.keep_daily, candidate.keep_weekly, candidate.keep_monthly)
    return {
        "valid": True,
        "enabled": True,
        "upcoming": upcoming,
        "removed": retention.plan(administration, rules, upcoming=upcoming),
        "scheduled_count": len(retention.candidates(administration)),
    }


@login_required
@require_http_methods(["GET", "POST"])
def schedule_edit(request: PortalRequest, pk: int) -> HttpResponse:
    administration, decision = get_schedulable_administration(request, pk)
    if not decision:
        return refuse(request, decision, back=reverse("administrations:detail", args=[administration.pk]))
    schedule = BackupSchedule.objects.filter(administration=administration).first() or BackupSchedule(
        administration=administration
    )
    form = ScheduleForm(request.POST or None, instance=schedule)
    status = 200
    if request.method == "POST":
        if form.is_valid() and "voorbeeld" not in request.POST:
            saved: BackupSchedule = form.save(commit=False)
            if saved.created_by_id is None:
                saved.created_by = request.user
            schedule_save(saved)
            if saved.enabled:
                messages.success(
                    request,
                    gettext("Automatische back-up staat aan: %(when)s.") % {"when": saved.describe()},
                )
            else:
                messages.success(request, gettext("Automatische back-up staat uit."))
            return htmx_redirect(request, reverse("administrations:detail", args=[administration.pk]))
        if form.errors:
            status = FORM_REFUSED
    return render(
        request,
        "backups/schedule_form.html",
        {
            "administration": administration,
            "form": form,
            "schedule": schedule if schedule.pk else None,
            "preview": _preview(administration, form) if request.method == "POST" or schedule.pk else None,
            "kept_note": administration.location != Location.ONLINE,
        },
        status=status,
    )


@login_required
@require_POST
def schedule_preview(request: PortalRequest, pk: int) -> HttpResponse:
    """The dry run as a fragment, for htmx while the form is being filled in."""
    administration, decision = get_schedulable_administration(request, pk)
    if not decision:
        return refuse(request, decision, back=reverse("administrations:detail", args=[administration.pk]))
    schedule = BackupSchedule.objects.filter(administration=administration).first() or BackupSchedule(
        administration=administration
    )
    form = ScheduleForm(request.POST, instance=schedule)
    return render(request, "backups/partials/_retention_preview.html", {"preview": _preview(administration, form)})


@login_required
@require_POST
def verify_view(request: PortalRequest, pk: int) -> HttpResponse:
    """Controleren door terugzetten: for the main users and administrators of the account the back-up is in."""
    backup = get_backup_or_404(request, pk)
    decision = access_for(request).decide(backup, Action.BACKUP_VERIFY)
    if not decision:
        return refuse(request, decision, back=reverse("backups:list"))
    try:
        job = verification_start(backup=backup, user=request.user)
    except BackupRefused as refused:
        messages.error(request, refused.user_message)
        return htmx_redirect(request, reverse("backups:list"))
    return htmx_redirect(request, reverse("backups:job", args=[job.pk]))


class MessagePreferenceForm(forms.ModelForm):
    class Meta:
        model = MessagePreference
        fields = ["backup_mail", "language"]


@login_required
@require_http_methods(["GET", "POST"])
def message_preferences(request: PortalRequest) -> HttpResponse:
    """Each main user and administrator switches the e-mail about back-ups on or off for themselves."""
    decision = access_for(request).decide(account_of(request.user), Action.MESSAGES_MANAGE)
    if not decision:
        return refuse(request, decision, back=reverse("administrations:list"))
    preference, _created = MessagePreference.objects.get_or_create(user=request.user)
    form = MessagePreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, gettext("Je voorkeur voor meldingen is opgeslagen."))
        return htmx_redirect(request, reverse("backups:messages"))
    return render(
        request, "backups/message_preferences.html", {"form": form}, status=FORM_REFUSED if form.errors else 200
    )
