"""Back-ups and the jobs that make, verify and restore them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from administrations.models import Account, Administration, Membership, Package, Right
from administrations.permissions import Action, roles_allowing
from portal.texts import render_stored

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class BackupQuerySet(models.QuerySet["Backup"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> BackupQuerySet:
        """Back-ups in the overviews the user looks at (Overzicht Online Back-up). A back-up belongs to the
        account that made it: a customer's own, or for a firm's back-up of a client the firm's. Main users and
        administrators see all of their account's; every firm member sees the firm's back-ups of clients (while
        the client blocks the firm they stay listed, greyed, and nothing can be done with them); someone with a
        right on an administration sees its back-ups in the owner's overview. What each may do with them is the
        permission table's (`administrations.permissions.Access.decide`)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        memberships = Membership.objects.filter(user_id=user.pk)
        managed = memberships.filter(role__in=[Membership.Role.MAIN, Membership.Role.ADMINISTRATOR])
        firms = memberships.filter(account__package=Package.ACCOUNTANT)
        granted = Right.objects.filter(access_blocked=False, user_id=user.pk).filter(
            Q(grantee_kind=Right.Grantee.EXTRA_USER, role__in=roles_allowing(Action.SEE, Right.Grantee.EXTRA_USER))
            | Q(
                grantee_kind=Right.Grantee.EXTERNAL_USER,
                role__in=roles_allowing(Action.SEE, Right.Grantee.EXTERNAL_USER),
            )
        )
        return self.filter(
            Q(account_id__in=managed.values("account_id"))
            | Q(account_id__in=firms.values("account_id"), client_account__isnull=False)
            | Q(
                client_account__isnull=True,
                administration_id__in=granted.values("administration_id"),
                administration__account_id=F("account_id"),
            )
        )

    def made_by_firms_for(self, user: AbstractBaseUser | AnonymousUser) -> BackupQuerySet:
        """What accountancy firms backed up of the user's own administrations: shown, never handed out."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        managed = Membership.objects.filter(
            user_id=user.pk, role__in=[Membership.Role.MAIN, Membership.Role.ADMINISTRATOR]
        ).values("account_id")
        return self.filter(client_account_id__in=managed)

    def ready(self) -> BackupQuerySet:
        return self.filter(status=Backup.Status.READY)

    def in_overview(self) -> BackupQuerySet:
        return self.filter(kept=True)


class Backup(models.Model):
    class Origin(models.TextChoices):
        MANUAL = "manual", _("Handmatig")
        UPLOAD = "upload", _("Geüpload")
        AUTOMATIC_ON_DELETE = "automatic_on_delete", _("Automatisch bij verwijderen")
        AUTOMATIC_ON_REVOKE = "automatic_on_revoke", _("Automatisch bij intrekken rechten")
        SCHEDULED = "scheduled", _("Gepland")

    class Status(models.TextChoices):
        PENDING = "pending", _("Wordt gemaakt")
        READY = "ready", _("Klaar")
        FAILED = "failed", _("Mislukt")

    class Verification(models.TextChoices):
        NONE = "", _("Niet gecontroleerd")
        RUNNING = "running", _("Wordt gecontroleerd")
        VERIFIED = "verified", _("Gecontroleerd")
        FAILED = "failed", _("Controle mislukt")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="backups", verbose_name=_("account"))
    administration = models.ForeignKey(
        Administration,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backups",
        verbose_name=_("administratie"),
    )
    # The name at back-up time: the administration may be renamed or deleted later (R9).
    administration_name = models.CharField(_("administratie"), max_length=200)
    origin = models.CharField(_("herkomst"), max_length=30, choices=Origin.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    # In the Overzicht Online Back-up (R7, R11). Back-ups of local and network administrations are only handed
    # to the browser (R10), and files uploaded for one restore only (R19) are not kept either.
    kept = models.BooleanField(_("in het overzicht"), default=True)
    file_name = models.CharField(_("bestand"), max_length=500, blank=True)
    original_file_name = models.CharField(_("oorspronkelijke bestandsnaam"), max_length=255, blank=True)
    size = models.BigIntegerField(_("grootte (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    # What is inside: database name, export date, source server, tables with row counts (from the bacpac library).
    summary = models.JSONField(_("inhoud"), default=dict, blank=True)
    # The source administration's rights, bank connections, API connections and mailbox at back-up time, so that
    # aftercare can draft its to-do list after a restore (R20–R24).
    snapshot = models.JSONField(_("momentopname"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gemaakt door"),
    )
    # A back-up an accountancy firm made of a client's administration lives in the firm's overview (`account`) and
    # is labelled with the client; the client sees that it was made, not the file.
    client_account = models.ForeignKey(
        Account,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backups_by_firms",
        verbose_name=_("klant"),
    )
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now, db_index=True)
    ready_at = models.DateTimeField(_("klaar op"), null=True, blank=True)
    # When the file first went to a browser: a local or network back-up is handed over once by itself (R10), after
    # that only when asked for again.
    downloaded_at = models.DateTimeField(_("eerst gedownload op"), null=True, blank=True)
    # Per table its row count and a checksum of its rows, recorded by the native engine while writing the file
    # ({"dbo.x": {"rows": n, "checksum": hex}}); a test-restore compares the restored rows with these.
    table_checks = models.JSONField(_("controlegetallen per tabel"), default=dict, blank=True)
    verification = models.CharField(
        _("controle door terugzetten"), max_length=20, choices=Verification.choices, default="", blank=True
    )
    verified_at = models.DateTimeField(_("gecontroleerd op"), null=True, blank=True)
    # What the last test-restore found: {"differences": [...], "tables": n, "rows": n, "checksums": bool}.
    verification_report = models.JSONField(_("uitkomst van de controle"), default=dict, blank=True)

    objects = BackupQuerySet.as_manager()

    class Meta:
        verbose_name = _("back-up")
        verbose_name_plural = _("back-ups")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["account", "-created_at"], name="backup_overview")]
        permissions = [("download_backup", _("Mag back-ups downloaden voor onderzoek"))]
        constraints = [
            # Ready means complete and verified: a file, its size and its hash are all known.
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(file_name="") & Q(size__isnull=False) & ~Q(sha256="")),
                name="ready_backup_has_verified_file",
            ),
        ]

    def __str__(self) -> str:
        # In the portal's time zone and date style, as on every screen (the admin's object titles use this).
        return f"{self.administration_name} ({timezone.localtime(self.created_at):%d-%m-%Y %H:%M})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def verification_differences(self) -> list[str]:
        """What the last test-restore found different, in the reader's language (stored as source text and
        parameters; an entry kept as plain text reads as it was kept)."""
        found = (self.verification_report or {}).get("differences", [])
        return [render_stored(d.get("msgid", ""), d.get("params")) if isinstance(d, dict) else str(d) for d in found]

    def making_job(self) -> Job | None:
        """The job still making this back-up, for its progress in the overview's row."""
        if self.status != self.Status.PENDING:
            return None
        prefetched = getattr(self, "unfinished_jobs", None)  # the overview prefetches them for all rows at once
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.jobs.unfinished().order_by("-pk").first()


class JobQuerySet(models.QuerySet["Job"]):
    def unfinished(self) -> JobQuerySet:
        return self.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])

    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> JobQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(requested_by_id=user.pk)


class Job(models.Model):
    """One long piece of work with a status the user can follow. django-q2 runs it; this table is its history."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Back-up maken")
        RESTORE = "restore", _("Back-up terugzetten")
        VERIFY_UPLOAD = "verify_upload", _("Upload controleren")
        DELETE_ADMINISTRATION = "delete_administration", _("Administratie verwijderen")
        IMPORT_MDB = "import_mdb", _("Bestaande administratie toevoegen")
        VERIFY_RESTORE = "verify_restore", _("Controleren door terugzetten")

    class Status(models.TextChoices):
        QUEUED = "queued", _("In de wachtrij")
        RUNNING = "running", _("Bezig")
        SUCCEEDED = "succeeded", _("Klaar")
        FAILED = "failed", _("Mislukt")

    kind = models.CharField(_("soort"), max_length=30, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("account"))
    administration = models.ForeignKey(
        Administration,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("administratie"),
    )
    backup = models.ForeignKey(
        Backup, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs", verbose_name=_("back-up")
    )
    result_administration = models.ForeignKey(
        Administration,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("nieuwe administratie"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("aangevraagd door"),
    )
    # Non-secret parameters (target location, name). Secrets never go here nor into task arguments.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # An SQL password for a network restore, encrypted with CREDENTIALS_KEY; wiped when the job ends.
    secret = models.BinaryField(null=True, blank=True, editable=False)
    progress = models.PositiveSmallIntegerField(_("voortgang (%)"), default=0)
    # Both texts are stored as their Dutch source text with parameters and put into words when shown, in the
    # reader's language (portal.texts).
    phase = models.CharField(_("fase"), max_length=200, blank=True)
    phase_params = models.JSONField(_("parameters van de fase"), default=dict, blank=True)
    user_message = models.TextField(_("melding voor de gebruiker"), blank=True)
    message_params = models.JSONField(_("parameters van de melding"), default=dict, blank=True)
    log = models.TextField(_("logboek"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("pogingen"), default=0)
    # When and how often the job was handed to the broker; the reaper hands over again a job nobody claimed.
    enqueued_at = models.DateTimeField(_("aan de wachtrij gegeven op"), null=True, blank=True)
    enqueue_count = models.PositiveSmallIntegerField(_("keer aan de wachtrij gegeven"), default=0)
    queued_at = models.DateTimeField(_("in de wachtrij sinds"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("gestart op"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("laatste teken van leven"), null=True, blank=True)
    finished_at = models.DateTimeField(_("klaar op"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("taak")
        verbose_name_plural = _("taken")
        ordering = ["-queued_at", "-pk"]
        permissions = [
            ("retry_job", _("Mag mislukte taken opnieuw starten")),
            ("cancel_job", _("Mag vastgelopen taken afbreken")),
        ]
        constraints = [
            # One running export per administration at a time.
            models.UniqueConstraint(
                fields=["administration"],
                condition=Q(kind="export", status__in=["queued", "running"]),
                name="one_unfinished_export_per_administration",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def phase_text(self) -> str:
        return render_stored(self.phase, self.phase_params)

    @property
    def message_text(self) -> str:
        return render_stored(self.user_message, self.message_params)

    @property
    def subject(self) -> str:
        """What the job is about, for its page: the new administration a restore or import makes, else the
        administration (or, once that is gone, the back-up's record of its name)."""
        if self.kind in (self.Kind.RESTORE, self.Kind.IMPORT_MDB) and self.params.get("name"):
            return str(self.params["name"])
        if self.administration is not None:
            return self.administration.name
        return self.backup.administration_name if self.backup is not None else ""


class BackupSchedule(models.Model):
    """An automatic back-up of one administration, switched on by its main user or an administrator (opt-in: R1).
    One periodic task picks the schedules whose `next_run_at` has passed (backups.schedules)."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("dagelijks")
        WEEKLY = "weekly", _("wekelijks")
        MONTHLY = "monthly", _("maandelijks")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("maandag")
        TUESDAY = 1, _("dinsdag")
        WEDNESDAY = 2, _("woensdag")
        THURSDAY = 3, _("donderdag")
        FRIDAY = 4, _("vrijdag")
        SATURDAY = 5, _("zaterdag")
        SUNDAY = 6, _("zondag")

    administration = models.OneToOneField(
        Administration, on_delete=models.CASCADE, related_name="backup_schedule", verbose_name=_("administratie")
    )
    enabled = models.BooleanField(_("automatische back-up aan"), default=True)
    frequency = models.CharField(_("hoe vaak"), max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    # Local time (TIME_ZONE, Europe/Amsterdam): 02:00 stays 02:00 across the daylight-saving changes.
    time_of_day = models.TimeField(_("tijdstip"), default=dt.time(2, 0))
    weekday = models.PositiveSmallIntegerField(_("dag van de week"), choices=Weekday.choices, null=True, blank=True)
    # 1–31; in a shorter month the last day of that month.
    day_of_month = models.PositiveSmallIntegerField(_("dag van de maand"), null=True, blank=True)
    keep_daily = models.PositiveSmallIntegerField(_("dagelijkse bewaren"), default=7)
    keep_weekly = models.PositiveSmallIntegerField(_("wekelijkse bewaren"), default=4)
    keep_monthly = models.PositiveSmallIntegerField(_("maandelijkse bewaren"), default=12)
    # When the scheduler starts the next back-up (the chosen time plus this administration's place in the spread
    # window); empty while switched off.
    next_run_at = models.DateTimeField(_("volgende keer"), null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(_("laatst gestart"), null=True, blank=True)
    last_job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("laatste taak")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ingesteld door"),
    )
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)

    class Meta:
        verbose_name = _("automatische back-up")
        verbose_name_plural = _("automatische back-ups")
        constraints = [
            models.CheckConstraint(
                condition=~Q(frequency="weekly") | Q(weekday__isnull=False), name="weekly_schedule_has_weekday"
            ),
            models.CheckConstraint(
                condition=~Q(frequency="monthly") | Q(day_of_month__gte=1, day_of_month__lte=31),
                name="monthly_schedule_has_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.administration} — {self.describe()}"

    def describe(self) -> str:
        """For people: dagelijks 02:00, wekelijks op maandag 02:00, maandelijks op dag 15 02:00."""
        from django.utils.translation import gettext

        at = f"{self.time_of_day:%H:%M}"
        if self.frequency == self.Frequency.WEEKLY and self.weekday is not None:
            return gettext("wekelijks op %(day)s %(time)s") % {
                "day": self.Weekday(self.weekday).label,
                "time": at,
            }
        if self.frequency == self.Frequency.MONTHLY:
            return gettext("maandelijks op dag %(day)s %(time)s") % {"day": self.day_of_month, "time": at}
        return gettext("dagelijks %(time)s") % {"time": at}


class MessagePreference(models.Model):
    """Whether a user gets e-mail about back-ups that went wrong (on by default), and in which language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="message_preference",
        verbose_name=_("gebruiker"),
    )
    backup_mail = models.BooleanField(_("e-mail als er iets mis is met back-ups"), default=True)
    language = models.CharField(_("taal"), max_length=10, choices=settings.LANGUAGES, default="nl")

    class Meta:
        verbose_name = _("meldingsvoorkeur")
        verbose_name_plural = _("meldingsvoorkeuren")

    def __str__(self) -> str:
        return f"{self.user} ({'aan' if self.backup_mail else 'uit'})"


class SentMessage(models.Model):
    """One message about one thing, sent once: the unique key keeps a retried check from mailing twice."""

    class Kind(models.TextChoices):
        BACKUP_FAILED = "backup_failed", _("Automatische back-up mislukt")
        VERIFICATION_FAILED = "verification_failed", _("Controle door terugzetten mislukt")
        STALE = "stale", _("Geen geslaagde back-up")
        AFTERCARE_OPEN = "aftercare_open", _("Nazorg staat nog open")

    kind = models.CharField(_("soort"), max_length=30, choices=Kind.choices)
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="sent_messages", verbose_name=_("administratie")
    )
    key = models.CharField(_("waarover"), max_length=100)
    recipients = models.JSONField(_("aan"), default=list, blank=True)
    sent_at = models.DateTimeField(_("verstuurd op"), default=timezone.now)

    class Meta:
        verbose_name = _("verstuurde melding")
        verbose_name_plural = _("verstuurde meldingen")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "administration", "key"], name="one_message_per_thing"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.administration}"
