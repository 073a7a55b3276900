"""Messages when something is wrong with back-ups: by e-mail to the administration's main users and administrators
(each can switch it off), and as warnings on the Administraties page.

- an automatic back-up failed, or a test-restore failed (sent when the job ends);
- no successful back-up for BACKUP_STALE_DAYS days beyond the schedule's own interval, although a schedule is on;
- aftercare still open AFTERCARE_REMINDER_DAYS days after the restore (both checked by a periodic task).

Each message is sent once per thing (SentMessage's unique key), so a check that runs again does not mail again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from administrations.models import Administration, Membership
from backups.models import Backup, BackupSchedule, Job, MessagePreference, SentMessage

logger = logging.getLogger(__name__)

INTERVAL_DAYS = {
    BackupSchedule.Frequency.DAILY: 1,
    BackupSchedule.Frequency.WEEKLY: 7,
    BackupSchedule.Frequency.MONTHLY: 31,
}


@dataclass
class Warning:
    administration: Administration
    kind: str
    key: str
    text: str


def _annotated(administrations: QuerySet[Administration], now: dt.datetime) -> QuerySet[Administration]:
    from aftercare.models import AftercareItem

    own = Backup.objects.filter(administration=OuterRef("pk"), account_id=OuterRef("account_id"))
    newest_ready = own.filter(status=Backup.Status.READY).order_by("-created_at", "-pk")
    newest_scheduled = own.filter(origin=Backup.Origin.SCHEDULED).exclude(status=Backup.Status.PENDING)
    newest_checked = own.filter(verification__in=[Backup.Verification.VERIFIED, Backup.Verification.FAILED])
    old_aftercare = AftercareItem.objects.filter(
        administration=OuterRef("pk"),
        status=AftercareItem.Status.OPEN,
        created_at__lt=now - dt.timedelta(days=settings.AFTERCARE_REMINDER_DAYS),
    )
    return administrations.annotate(
        schedule_on=F("backup_schedule__enabled"),
        schedule_frequency=F("backup_schedule__frequency"),
        schedule_changed=F("backup_schedule__updated_at"),
        newest_ready_pk=Subquery(newest_ready.values("pk")[:1]),
        newest_ready_at=Subquery(newest_ready.values("created_at")[:1]),
        last_scheduled_status=Subquery(newest_scheduled.order_by("-created_at", "-pk").values("status")[:1]),
        last_scheduled_pk=Subquery(newest_scheduled.order_by("-created_at", "-pk").values("pk")[:1]),
        last_check=Subquery(newest_checked.order_by("-verified_at", "-pk").values("verification")[:1]),
        last_check_pk=Subquery(newest_checked.order_by("-verified_at", "-pk").values("pk")[:1]),
        aftercare_overdue=Exists(old_aftercare),
    )


def warnings_for(administrations: QuerySet[Administration], now: dt.datetime | None = None) -> list[Warning]:
    """What is wrong with these administrations' back-ups, in one query."""
    now = now or timezone.now()
    found: list[Warning] = []
    for a in _annotated(administrations, now):
        values: Any = a
        if values.schedule_on and values.last_scheduled_status == Backup.Status.FAILED:
            found.append(
                Warning(
                    a,
                    SentMessage.Kind.BACKUP_FAILED,
                    f"backup-{values.last_scheduled_pk}",
                    _("De laatste automatische back-up van %(name)s is mislukt.") % {"name": a.name},
                )
            )
        if values.last_check == Backup.Verification.FAILED:
            found.append(
                Warning(
                    a,
                    SentMessage.Kind.VERIFICATION_FAILED,
                    f"backup-{values.last_check_pk}",
                    _("De controle door terugzetten van de laatste gecontroleerde back-up van %(name)s is mislukt.")
                    % {"name": a.name},
                )
            )
        if values.schedule_on:
            days = INTERVAL_DAYS.get(values.schedule_frequency, 1) + settings.BACKUP_STALE_DAYS
            since = values.newest_ready_at or values.schedule_changed
            if since is not None and now - since > dt.timedelta(days=days):
                found.append(
                    Warning(
                        a,
                        SentMessage.Kind.STALE,
                        f"since-{values.newest_ready_pk or 'none'}",
                        _(
                            "%(name)s heeft al %(days)s dagen geen geslaagde back-up, terwijl de automatische back-up aan staat."
                        )
                        % {"name": a.name, "days": (now - since).days},
                    )
                )
        if values.aftercare_overdue:
            found.append(
                Warning(
                    a,
                    SentMessage.Kind.AFTERCARE_OPEN,
                    "open",
                    _("De nazorg van %(name)s staat al meer dan %(days)s dagen open.")
                    % {"name": a.name, "days": settings.AFTERCARE_REMINDER_DAYS},
                )
            )
    return found


def recipients(administration: Administration) -> list[User]:
    """The owning account's main users and administrators with an e-mail address who did not switch it off."""
    managers = Membership.objects.filter(
        account_id=administration.account_id, role__in=[Membership.Role.MAIN, Membership.Role.ADMINISTRATOR]
    ).values("user_id")
    switched_off = MessagePreference.objects.filter(backup_mail=False).values("user_id")
    return list(
        User.objects.filter(pk__in=managers, is_active=True)
        .exclude(email="")
        .exclude(pk__in=switched_off)
        .select_related("message_preference")
        .order_by("pk")
    )


def _language(user: User) -> str:
    preference = getattr(user, "message_preference", None)
    return preference.language if preference is not None else settings.LANGUAGE_CODE


def send(warning: Warning) -> bool:
    """Mail this warning once to everyone who should get it; False when it was sent before."""
    try:
        with transaction.atomic():
            record = SentMessage.objects.create(
                kind=warning.kind, administration=warning.administration, key=warning.key
            )
    except IntegrityError:
        return False
    people = recipients(warning.administration)
    for user in people:
        with translation.override(_language(user)):
            context = {
                "user": user,
                "administration": warning.administration,
                "text": _warning_text(warning),
                "kind": warning.kind,
                "administration_url": settings.PORTAL_URL.rstrip("/")
                + reverse("administrations:detail", args=[warning.administration.pk]),
                "preferences_url": settings.PORTAL_URL.rstrip("/") + reverse("backups:messages"),
            }
            subject = _("Back-upportaal: %(subject)s") % {"subject": SentMessage.Kind(warning.kind).label}
            message = EmailMultiAlternatives(
                subject=str(subject),
                body=render_to_string("emails/backup_warning.txt", context),
                to=[user.email],
            )
            message.attach_alternative(render_to_string("emails/backup_warning.html", context), "text/html")
            message.send()
    SentMessage.objects.filter(pk=record.pk).update(recipients=[u.email for u in people])
    return True


def _warning_text(warning: Warning) -> str:
    """The warning's sentence again, now in the recipient's language (computed before in another)."""
    for found in warnings_for(Administration.objects.filter(pk=warning.administration.pk)):
        if found.kind == warning.kind:
            return found.text
    return warning.text


def job_finished(job: Job) -> None:
    """Sent when a job ends: a failed automatic back-up or test-restore."""
    if job.status != Job.Status.FAILED or job.administration is None:
        return
    backup = job.backup
    if job.kind == Job.Kind.EXPORT and backup is not None and backup.origin == Backup.Origin.SCHEDULED:
        kind = SentMessage.Kind.BACKUP_FAILED
    elif job.kind == Job.Kind.VERIFY_RESTORE and backup is not None:
        kind = SentMessage.Kind.VERIFICATION_FAILED
    else:
        return
    for warning in warnings_for(Administration.objects.filter(pk=job.administration.pk)):
        if warning.kind == kind:
            send(warning)


def check_and_send(now: dt.datetime | None = None, administrations: Iterable[int] | None = None) -> int:
    """The periodic check: every current warning is mailed once."""
    queryset = Administration.objects.filter(status=Administration.Status.ACTIVE)
    if administrations is not None:
        queryset = queryset.filter(pk__in=list(administrations))
    sent = 0
    for warning in warnings_for(queryset, now):
        try:
            sent += send(warning)
        except Exception:
            logger.exception("message %s for administration %s", warning.kind, warning.administration.pk)
    return sent
