"""Back-ups as services: make one (`backup_create`, in the worker `run_export`), upload one (`upload_start`,
`backup_upload`), delete one, and delete an administration after its automatic back-up (`run_delete`, R9). The views,
the API, the management commands and the tasks all come through here. A new administration from a file (restore,
.mdb import) is backups.restores; which function runs which job kind, and the clean-up after a dead worker, is
backups.tasks.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from administrations.databases import database_drop
from administrations.models import Account, Administration, DatabaseEngine, Location, Membership, Right, firm_of
from administrations.permissions import Action
from administrations.services import firm_revoke_backup_applies
from aftercare.services import bank_links_hand_back
from backups import bacpac, credentials, storage
from backups.engines import native
from backups.engines.base import EngineError
from backups.jobs import Reporter, job_enqueue, job_succeed, stale_before
from backups.models import Backup, Job
from portal import audit
from portal.errors import PortalError
from portal.models import AuditEvent
from portal.texts import StoredText

logger = logging.getLogger(__name__)


class BackupRefused(PortalError):
    """A request the rules do not allow."""


# ------------------------------------------------------------------------------------------------ helpers


@contextlib.contextmanager
def work_file(suffix: str = ".bacpac", *, owner: str = "") -> Iterator[Path]:
    """A temporary file in the data folder (not /tmp: back-ups can be larger than a RAM-backed /tmp). Its name
    starts with `owner` (e.g. "job-12-"), so the clean-up after a dead worker finds that job's file at once."""
    folder = work_folder()
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix=owner or "tmp", suffix=suffix, delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _snapshot(administration: Administration) -> dict[str, Any]:
    """What aftercare needs after a restore (R20–R23): who had rights, which banks, API connections, mailbox."""
    rights = [
        {
            "grantee_kind": r.grantee_kind,
            "user_id": r.user_id,
            "username": r.user.username if r.user else None,
            "firm_id": r.firm_id,
            "firm_name": r.firm.name if r.firm else None,
            "role": r.role,
            "access_blocked": r.access_blocked,
        }
        for r in administration.rights.select_related("user", "firm")
    ]
    banks = [
        {"id": b.pk, "bank": b.bank, "iban": b.iban, "status": b.status} for b in administration.bank_connections.all()
    ]
    apis = [{"id": a.pk, "partner": a.partner, "status": a.status} for a in administration.api_connections.all()]
    mailbox = getattr(administration, "mailbox", None)
    return {
        "administration_id": administration.pk,
        "location": administration.location,
        "rights": rights,
        "bank_connections": banks,
        "api_connections": apis,
        "mailbox": {"address": mailbox.address, "status": mailbox.status} if mailbox else None,
    }


def sqlpackage() -> Any:
    # Imported when needed: SqlPackage is only used for SQL Server administrations when SQLPACKAGE_PATH is set.
    from backups.engines import sqlpackage

    return sqlpackage


def engine_for(administration_engine: str) -> str:
    if administration_engine == DatabaseEngine.MSSQL and sqlpackage().is_available():
        return "sqlpackage"
    return "native"


def job_password(job: Job) -> str:
    return credentials.decrypt(job.secret) if job.secret else ""


def checking(report: Reporter | None, start: int, end: int) -> bacpac.Progress | None:
    """The check of a bacpac reported as a job's progress between `start` and `end` percent, one step per table;
    the reports in between keep the heartbeat going however long one table takes."""
    if report is None:
        return None

    def progress(done: int, total: int, table: str) -> None:
        report(
            start + (end - start) * done // max(total, 1),
            StoredText(gettext_noop("Tabel %(table)s controleren"), table=table),
        )

    return progress


# ------------------------------------------------------------------------------------------------ back-up


def backup_create(
    *,
    administration: Administration,
    user: User | None,
    origin: str = Backup.Origin.MANUAL,
    password: str = "",
    enqueue: bool = True,
    account: Account | None = None,
) -> Job:
    """Start a back-up of an administration (R7, R10). A second request while one runs joins the running job.

    `account` is whose overview the back-up goes to: the owner's by default, an accountancy firm's when the firm
    makes it (then labelled with the client)."""
    account = account or administration.account
    if not administration.capabilities.can_create_backups:
        raise BackupRefused(
            _("Met het pakket %(package)s kun je geen back-ups maken.")
            % {"package": administration.account.get_package_display()}
        )
    running = Job.objects.unfinished().filter(kind=Job.Kind.EXPORT, administration=administration).first()
    if running is None:
        from backups import quota

        freed = quota.retention_frees(administration) if origin == Backup.Origin.SCHEDULED else 0
        refused = quota.refusal(account, quota.estimate(administration), freed=freed)
        if refused:
            raise BackupRefused(refused)
    if running is not None:
        if running.account_id != account.pk:
            # Joining would hand one party the other's back-up: ask to wait instead.
            raise BackupRefused(_("Er wordt al een back-up van deze administratie gemaakt. Probeer het zo opnieuw."))
        return running
    with transaction.atomic():
        backup = Backup.objects.create(
            account=account,
            client_account=administration.account if account.pk != administration.account_id else None,
            administration=administration,
            administration_name=administration.name,
            origin=origin,
            kept=administration.location == Location.ONLINE or origin != Backup.Origin.MANUAL,
            created_by=user,
        )
        try:
            with transaction.atomic():
                job = Job.objects.create(
                    kind=Job.Kind.EXPORT,
                    account=account,
                    administration=administration,
                    backup=backup,
                    requested_by=user,
                    secret=credentials.encrypt(password) if password else None,
                )
        except IntegrityError:
            # Another request started one between our check and our insert: join that one instead.
            backup.delete()
            joined = Job.objects.unfinished().get(kind=Job.Kind.EXPORT, administration=administration)
            if joined.account_id != account.pk:
                raise BackupRefused(
                    _("Er wordt al een back-up van deze administratie gemaakt. Probeer het zo opnieuw.")
                ) from None
            return joined
        if enqueue:
            job_enqueue(job)
    return job


def run_export(job: Job, report: Reporter) -> Backup:
    backup, administration = job.backup, job.administration
    if backup is None or administration is None:
        raise EngineError(_("De administratie bestaat niet meer."), "export job without administration or backup")
    export_into(backup, administration, report, password=job_password(job))
    job_succeed(job, phase=_("Back-up is klaar"))
    if backup.origin == Backup.Origin.SCHEDULED:
        from backups.schedules import after_scheduled_backup

        try:
            after_scheduled_backup(backup)
        except Exception:
            logger.exception("after scheduled back-up %s", backup.pk)
    return backup


def export_into(backup: Backup, administration: Administration, report: Reporter, *, password: str = "") -> None:
    """Export the administration into `backup`: written to a work file, verified with the bacpac library,
    stored while hashing, and only then marked ready. On any failure the back-up is marked failed."""
    location = administration.database_location()
    if password:
        location = replace(location, password=password)
    table_checks: dict[str, Any] = {}
    try:
        with work_file(owner=f"backup-{backup.pk}-") as work:
            if engine_for(location.engine) == "sqlpackage":
                sqlpackage().export(
                    location=location, target_file=work, progress=report, timeout_seconds=settings.JOB_TIMEOUT_SECONDS
                )
            else:
                # A scheduled back-up is proved by a test-restore against checksums of every row, which the row
                # path takes as the rows pass; every other back-up takes the faster columnar path where it can.
                exported = native.export(
                    location=location,
                    target=work,
                    database_name=administration.name,
                    progress=report,
                    columnar=backup.origin != Backup.Origin.SCHEDULED,
                )
                table_checks = exported.table_checks
            report(96, _("Back-up controleren"))
            inspection = bacpac.verify(work, progress=checking(report, 96, 96))
            from backups import quota

            freed = quota.retention_frees(administration) if backup.origin == Backup.Origin.SCHEDULED else 0
            refused = quota.refusal(backup.account, work.stat().st_size, freed=freed)
            if refused:
                raise EngineError(refused, f"quota: back-up {backup.pk} of {work.stat().st_size} bytes refused")
            report(97, _("Back-up opslaan"))
            with work.open("rb") as handle:
                stored = storage.store(handle, name=storage.final_name(backup.account_id))
        # Only a back-up still being made becomes ready: if the reaper gave this job up meanwhile (too slow, too
        # long silent), the file is removed again and the failed back-up stays failed.
        published = Backup.objects.filter(pk=backup.pk, status=Backup.Status.PENDING).update(
            status=Backup.Status.READY,
            file_name=stored.name,
            size=stored.size,
            sha256=stored.sha256,
            summary=inspection.to_dict(),
            snapshot=_snapshot(administration),
            table_checks=table_checks,
            ready_at=timezone.now(),
        )
        if not published:
            storage.delete(stored.name)
            raise EngineError(
                _("De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw."),
                f"back-up {backup.pk} was given up while it was being made; its file is removed again",
            )
    except Exception:
        Backup.objects.filter(pk=backup.pk).update(status=Backup.Status.FAILED)
        raise
    finally:
        backup.refresh_from_db()


# ------------------------------------------------------------------------------------------------ upload


def backup_upload(
    *,
    account: Account,
    user: User | None,
    source: IO[bytes],
    file_name: str,
    kept: bool = True,
    report: Reporter | None = None,
) -> Backup:
    """Verify an uploaded file with the bacpac library and keep it as a ready back-up (R11). A refused file
    raises bacpac.BacpacError (backups.refusals words it for the user) and nothing is kept. A job passes its
    `report`."""
    if not account.capabilities.can_create_backups:
        raise BackupRefused(
            _("Met het pakket %(package)s kun je geen back-ups bewaren.") % {"package": account.get_package_display()}
        )
    lowered = file_name.lower()
    if lowered.endswith((".ssb", ".mdb")):
        raise BackupRefused(
            _(
                "Een %(kind)s-bestand kan niet worden teruggezet. Voeg het oorspronkelijke .mdb-bestand toe via "
                "Toevoegen → Bestaande administratie."
            )
            % {"kind": ".ssb" if lowered.endswith(".ssb") else ".mdb"}
        )
    inspection = bacpac.verify(source, progress=checking(report, 10, 90))
    from backups import quota

    size = source.seek(0, 2)
    refused = quota.refusal(account, size)
    if refused:
        raise BackupRefused(refused)
    source.seek(0)
    if report is not None:
        report(90, _("Back-up opslaan"))
    stored = storage.store(source, name=storage.final_name(account.pk))
    return Backup.objects.create(
        account=account,
        administration_name=inspection.database_name or Path(file_name).stem,
        origin=Backup.Origin.UPLOAD,
        status=Backup.Status.READY,
        kept=kept,
        original_file_name=Path(file_name).name[:255],
        file_name=stored.name,
        size=stored.size,
        sha256=stored.sha256,
        summary=inspection.to_dict(),
        created_by=user,
        ready_at=timezone.now(),
    )


def upload_staging_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads" / "staged"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_start(
    *, account: Account, user: User, staged: Path, file_name: str, kept: bool = True, ip_address: str | None = None
) -> Job:
    """Queue the verification of an uploaded file that was streamed to `staged` (R11, R19). The job verifies it
    with the bacpac library and only then keeps it as a back-up (and writes "geüpload" to the audit trail, with the
    uploader's address); a refused file is deleted and nothing is kept."""
    if not account.capabilities.can_create_backups:
        staged.unlink(missing_ok=True)
        raise BackupRefused(
            _("Met het pakket %(package)s kun je geen back-ups bewaren.") % {"package": account.get_package_display()}
        )
    job = Job.objects.create(
        kind=Job.Kind.VERIFY_UPLOAD,
        account=account,
        requested_by=user,
        params={"staged": staged.name, "file_name": Path(file_name).name[:255], "kept": kept, "ip_address": ip_address},
    )
    job_enqueue(job)
    return job


def run_verify_upload(job: Job, report: Reporter) -> Backup:
    staged = upload_staging_folder() / Path(job.params["staged"]).name
    try:
        report(10, _("Bestand controleren"))
        with staged.open("rb") as source:
            backup = backup_upload(
                account=job.account,
                user=job.requested_by,
                source=source,
                file_name=job.params["file_name"],
                kept=bool(job.params.get("kept", True)),
                report=report,
            )
    finally:
        staged.unlink(missing_ok=True)
    if not Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).exists():
        # Given up by the reaper meanwhile: the customer was told it failed, so it is not kept after all.
        backup_delete(backup=backup)
        return backup
    audit.record(
        None,
        AuditEvent.Action.BACKUP_UPLOADED,
        actor=job.requested_by,
        ip_address=job.params.get("ip_address"),
        account=job.account,
        target=job.params["file_name"],
    )
    # Only a back-up for the overview is kept; a file uploaded for one restore is not (R19).
    phase = _("Back-up gecontroleerd en bewaard") if backup.kept else _("Bestand gecontroleerd")
    job_succeed(job, phase=phase, backup=backup)
    return backup


def backup_delete(*, backup: Backup) -> None:
    """Delete a back-up and its file (R8)."""
    name = backup.file_name
    backup.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


# ------------------------------------------------------------------------------------------------ restore


# ------------------------------------------------------------------------------------------------ deleting (R9)


def administration_delete_start(*, administration: Administration, user: User) -> Job:
    """Delete an administration. An online one is first backed up automatically into the overview; if that
    back-up fails, the administration stays (R9)."""
    if not administration.allows(user, Action.ADMINISTRATION_DELETE):
        raise BackupRefused(_("Alleen de hoofdgebruiker of een beheerder kan een administratie verwijderen."))
    if administration.status == Administration.Status.DELETING:
        existing = Job.objects.unfinished().filter(kind=Job.Kind.DELETE_ADMINISTRATION, administration=administration)
        if existing.exists():
            return existing.get()
    with transaction.atomic():
        Administration.objects.filter(pk=administration.pk).update(status=Administration.Status.DELETING)
        job = Job.objects.create(
            kind=Job.Kind.DELETE_ADMINISTRATION,
            account=administration.account,
            administration=administration,
            requested_by=user,
        )
        job_enqueue(job)
    return job


def run_delete(job: Job, report: Reporter) -> None:
    administration = job.administration
    if administration is None:
        job_succeed(job)
        return
    try:
        if administration.location == Location.ONLINE:
            backup = Backup.objects.create(
                account=administration.account,
                administration=administration,
                administration_name=administration.name,
                origin=Backup.Origin.AUTOMATIC_ON_DELETE,
                created_by=job.requested_by,
            )
            Job.objects.filter(pk=job.pk).update(backup=backup)
            job.backup = backup
            try:
                export_into(backup, administration, report)
            except Exception as error:
                raise EngineError(
                    _("De automatische back-up is mislukt; de administratie is niet verwijderd."),
                    f"automatic back-up before delete failed: {error}",
                ) from error
            location = administration.database_location()
            report(99, _("Administratie verwijderen"))
            database_drop(location)
        with transaction.atomic():
            bank_links_hand_back(administration)
            administration.delete()
    except BaseException:
        Administration.objects.filter(pk=administration.pk).update(status=Administration.Status.ACTIVE)
        raise
    job_succeed(job, phase=_("Administratie verwijderd"))


def work_folder() -> Path:
    return Path(settings.DATA_DIR) / "work"


def sweep_leftovers() -> None:
    """Temporary storage files and work files nobody wrote to for longer than a job may stay silent: their writer
    died. Run by every reaper round, so what a dead worker left goes even when no job of its is found."""
    storage.delete_stale_temporary_files()
    delete_stale_work_files()


def delete_stale_work_files() -> None:
    folder = work_folder()
    if not folder.exists():
        return
    cutoff = stale_before().timestamp()
    for path in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def acting_account(user: User, administration: Administration) -> Account:
    """Whose overview a back-up goes to: the owner's, unless the user works at a firm that reaches this
    administration through the firm's right (then the firm's, labelled with the client)."""
    if Membership.objects.filter(user_id=user.pk or 0, account_id=administration.account_id).exists():
        return administration.account
    firm = firm_of(user)
    if (
        firm is not None
        and Right.objects.filter(administration=administration, firm=firm, access_blocked=False).exists()
    ):
        return firm
    return administration.account


def firm_backup_on_revoke(*, right: Right, user: User | None, **kwargs: Any) -> Job | None:
    """Connected to administrations.services.right_removing: a firm whose long-standing right on an online
    administration is removed keeps a back-up up to that moment in its own overview. A refusal stops the removal."""
    if not firm_revoke_backup_applies(right):
        return None
    return backup_create(
        administration=right.administration, user=user, origin=Backup.Origin.AUTOMATIC_ON_REVOKE, account=right.firm
    )


__all__ = [
    "BackupRefused",
    "acting_account",
    "administration_delete_start",
    "backup_create",
    "backup_delete",
    "backup_upload",
    "firm_backup_on_revoke",
]
