"""A NEW administration from a file, the two ways the help article knows: restoring a .bacpac back-up (R12,
R15–R19) and adding an old .mdb through Toevoegen → Bestaande administratie (R14). Both are refused for the same
reasons, start a job with the same target, and in the worker read top to bottom: make a new database, fill it, then
make the row; anything failing drops the database again, and nothing existing is ever overwritten.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from administrations.databases import DatabaseError, DatabaseLocation, database_drop
from administrations.models import Account, Administration, DatabaseEngine, Location
from administrations.services import Target, administration_row, name_taken_message, new_database
from aftercare.services import aftercare_draft
from backups import bacpac, credentials, storage
from backups.engines import mdbtools, native
from backups.engines.base import EngineError
from backups.jobs import Reporter, job_enqueue, job_succeed
from backups.models import Backup, Job
from backups.services import BackupRefused, checking, engine_for, job_password, sqlpackage, work_file
from portal import audit
from portal.models import AuditEvent

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------ starting


def new_administration_refusal(
    *, account: Account, name: str, target: Target, cost_confirmed: bool, package_refusal: str
) -> str | None:
    """Why a new administration named `name` cannot be made at `target` now, or None. The same for a restore and
    an .mdb import: the package allows it, a free name (R12), the extra cost confirmed (R17), the account's own
    server (R18)."""
    if not account.capabilities.can_restore_backups:
        return package_refusal % {"package": account.get_package_display()}
    if not name:
        return _("Geef de nieuwe administratie een naam.")
    taken = name_taken_message(account, name)
    if taken:
        return taken
    cost = account.extra_online_cost()
    if target.location == Location.ONLINE and cost is not None and not cost_confirmed:
        return _("Bevestig eerst de extra kosten van %(price)s per maand voor deze online administratie.") % {
            "price": f"€ {cost:.2f}".replace(".", ",")
        }
    if target.server is not None and target.server.account_id != account.pk:
        return _("Kies een SQL-server die bij je account is geregistreerd.")
    return None


def _start(
    *,
    kind: str,
    account: Account,
    user: User | None,
    target: Target,
    params: dict[str, object],
    backup: Backup | None = None,
    enqueue: bool = True,
) -> Job:
    # Validates the local path, server, login method and database name now; an online target gets its fresh
    # name here so that a clean-up after a dead worker can find it.
    location = target.database_location()
    if target.location == Location.ONLINE:
        fresh = Path(location.name).name if location.engine == DatabaseEngine.SQLITE else location.name
        target = replace(target, database_name=fresh)
    job = Job.objects.create(
        kind=kind,
        account=account,
        backup=backup,
        requested_by=user,
        params={**params, **target.to_params()},
        secret=credentials.encrypt(target.password) if target.password else None,
    )
    if enqueue:
        job_enqueue(job)
    return job


def restore_start(
    *,
    user: User | None,
    account: Account,
    backup: Backup,
    name: str,
    target: Target,
    cost_confirmed: bool = False,
    enqueue: bool = True,
) -> Job:
    """Start restoring a back-up as a NEW administration. Checks what can be checked now; the database itself is
    made by the job, which refuses any that already exists."""
    name = name.strip()
    refused = new_administration_refusal(
        account=account,
        name=name,
        target=target,
        cost_confirmed=cost_confirmed,
        package_refusal=_("Met het pakket %(package)s kun je geen back-ups terugzetten."),
    )
    if not refused and not backup.is_ready:
        refused = _("Deze back-up is nog niet klaar of is mislukt.")
    if refused:
        raise BackupRefused(refused)
    return _start(
        kind=Job.Kind.RESTORE,
        account=account,
        user=user,
        target=target,
        params={"name": name},
        backup=backup,
        enqueue=enqueue,
    )


def mdb_staging_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads" / "mdb"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def mdb_import_start(
    *,
    account: Account,
    user: User | None,
    staged: Path,
    file_name: str,
    name: str,
    target: Target,
    cost_confirmed: bool = False,
) -> Job:
    """Queue the import of an uploaded .mdb that was streamed to `staged`. Anything refused here deletes the
    staged file: nothing is left behind."""
    name = name.strip()
    try:
        refused = new_administration_refusal(
            account=account,
            name=name,
            target=target,
            cost_confirmed=cost_confirmed,
            package_refusal=_("Met het pakket %(package)s kun je geen bestaande administratie toevoegen."),
        )
        if refused:
            raise BackupRefused(refused)
        # Before a worker spends time on it: is this an Access file we can read, with tables in it? (The header
        # and the catalog only: cheap, whatever the file size.)
        mdbtools.mdb_inspect(staged)
        return _start(
            kind=Job.Kind.IMPORT_MDB,
            account=account,
            user=user,
            target=target,
            params={"staged": staged.name, "file_name": Path(file_name).name[:255], "name": name},
        )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------------ in the worker


def job_target(job: Job, *, with_password: bool = True) -> Target:
    """The target a restore or import job was started with (its password decrypted only when asked)."""
    return Target.from_params(job.params, account=job.account, password=job_password(job) if with_password else "")


def mark_target_created(job: Job) -> None:
    """From here on the job's target database is its own: only now may a clean-up after a dead worker drop it."""
    job.params = {**job.params, "target_created": True}
    Job.objects.filter(pk=job.pk).update(params=job.params)


def download_verified(backup: Backup, work: Path) -> None:
    """Copy the stored file to `work`, checking its size and SHA-256 against what was recorded at creation."""
    digest = hashlib.sha256()
    size = 0
    with work.open("wb") as out:
        for chunk in storage.iter_chunks(backup.file_name):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size != backup.size or digest.hexdigest() != backup.sha256:
        raise EngineError(
            _("Het back-upbestand is beschadigd: het komt niet overeen met de controlesom van toen het werd gemaakt."),
            f"stored file {backup.file_name}: size {size} sha256 {digest.hexdigest()} != {backup.size} {backup.sha256}",
        )


def _load_bacpac(work: Path, db: DatabaseLocation, report: Reporter) -> None:
    if engine_for(db.engine) == "sqlpackage":
        sqlpackage().import_(
            source_file=work, location=db, progress=report, timeout_seconds=settings.JOB_TIMEOUT_SECONDS
        )
    else:
        native.import_(source=work, location=db, progress=report)


def _refuse_taken_name(job: Job) -> None:
    taken = name_taken_message(job.account, job.params["name"])
    if taken:
        raise DatabaseError(taken, f"name taken: {job.params['name']}")


def run_restore(job: Job, report: Reporter) -> Administration:
    backup = job.backup
    if backup is None:
        raise EngineError(_("De back-up bestaat niet meer."), "restore job without backup")
    target = job_target(job)
    try:
        with work_file(owner=f"job-{job.pk}-") as work:
            report(1, _("Back-up ophalen en controleren"))
            download_verified(backup, work)
            # Stored files were verified when they were kept, but by an older portal perhaps: check again before
            # anything is made, so a file with rows missing never becomes an administration.
            bacpac.verify(work, progress=checking(report, 1, 3))
            report(3, _("Nieuwe database aanmaken"))
            _refuse_taken_name(job)
            with new_database(target) as db:
                mark_target_created(job)
                _load_bacpac(work, db, report)
                with transaction.atomic():
                    administration = administration_row(
                        account=job.account,
                        name=job.params["name"],
                        target=target,
                        db=db,
                        created_by=job.requested_by,
                        restored_from=backup,
                    )
                    aftercare_draft(administration=administration, backup=backup)  # R20–R24
    except Exception:
        # The audit trail says what happened: a failed restore is never written down as restored.
        audit.record(
            None,
            AuditEvent.Action.RESTORE_FAILED,
            actor=job.requested_by,
            administration=backup.administration,
            account=job.account,
            administration_name=backup.administration_name,
            target=f"back-up {backup.pk} → {job.params['name']}",
        )
        raise
    audit.record(
        None,
        AuditEvent.Action.BACKUP_RESTORED,
        actor=job.requested_by,
        administration=backup.administration,
        account=job.account,
        administration_name=backup.administration_name,
        target=f"back-up {backup.pk} → {administration.name}",
    )
    job_succeed(job, phase=_("Teruggezet als nieuwe administratie"), result_administration=administration)
    return administration


def run_import_mdb(job: Job, report: Reporter) -> Administration:
    """Make the new database, fill it from the .mdb, and only then create the administration. On any failure the
    half-made database is dropped; the staged file is always removed."""
    params = job.params
    staged = mdb_staging_folder() / Path(params["staged"]).name
    target = job_target(job)
    try:
        report(1, _("Bestand controleren"))
        mdbtools.mdb_inspect(staged)
        report(3, _("Nieuwe database aanmaken"))
        _refuse_taken_name(job)
        with new_database(target) as db:
            mark_target_created(job)
            result = mdbtools.mdb_import(staged, db, report)
            administration = administration_row(
                account=job.account, name=params["name"], target=target, db=db, created_by=job.requested_by
            )
    finally:
        staged.unlink(missing_ok=True)
    counts = ", ".join(f"{table}: {rows}" for table, rows in result.rows_per_table.items())
    report.log(f"imported {params['file_name']}: {counts}")
    phase = _("Toegevoegd als nieuwe administratie")
    if result.unreadable_dates:
        report.log(f"{result.unreadable_dates} date values outside what mdbtools can read were left empty")
        phase = _(
            "Toegevoegd als nieuwe administratie; %(count)s datums van vóór 1900 of ver in de toekomst konden niet "
            "worden gelezen en zijn leeg gelaten"
        ) % {"count": result.unreadable_dates}
    job_succeed(job, phase=phase[:200], result_administration=administration)
    return administration


def drop_half_made_target(job: Job) -> None:
    """After a dead worker: drop the database a restore or import made, unless it became the new administration."""
    params = job.params
    if not params.get("target_created"):
        return  # the worker stopped before it made the database: whatever is there is not ours
    if Administration.objects.filter(account=job.account, name=params.get("name")).exists():
        return  # the job finished its work; the database is the new administration's
    try:
        database_drop(job_target(job, with_password=False).database_location())
    except (DatabaseError, KeyError):
        logger.warning("could not drop the half-made target of job %s", job.pk)
