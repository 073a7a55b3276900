"""Proof by test-restore ("Controleren door terugzetten").

A job fetches the stored file while checking its SHA-256, restores it into a scratch database that belongs to no
administration (so no user ever sees it), reads every table back and compares its row count and checksum with
what the engine recorded while writing the back-up, drops the scratch database whatever happened, and records the
outcome on the back-up: verified, or failed with what differed.

The scratch database lives where new online administrations live: on the ONLINE_DATABASE_URL server (PostgreSQL),
else as a SQLite file in the data folder.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from administrations.databases import (
    SQLITE_SUFFIX,
    DatabaseError,
    DatabaseLocation,
    database_create,
    database_drop,
    online_location,
)
from administrations.models import DatabaseEngine
from backups.bacpac import open_bacpac
from backups.engines import native
from backups.engines.base import EngineError
from backups.jobs import Reporter, job_enqueue, job_succeed, user_message_for
from backups.models import Backup, Job
from portal.texts import StoredText, parts_of

logger = logging.getLogger(__name__)


class VerificationFailed(Exception):
    def __init__(self, user_message: str, differences: Sequence[str]) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.differences = differences


def scratch_folder() -> Path:
    return Path(settings.DATA_DIR) / "verify"


def scratch_location(name: str) -> DatabaseLocation:
    if settings.ONLINE_DATABASE_URL:
        return online_location(name)
    return DatabaseLocation(engine=DatabaseEngine.SQLITE, name=str(scratch_folder() / f"{name}{SQLITE_SUFFIX}"))


def verification_start(*, backup: Backup, user: User | None, enqueue: bool = True) -> Job:
    """Queue a test-restore of a ready back-up; a second request while one runs joins it."""
    if not backup.is_ready:
        from backups.services import BackupRefused

        raise BackupRefused(_("Deze back-up is nog niet klaar of is mislukt."))
    running = Job.objects.unfinished().filter(kind=Job.Kind.VERIFY_RESTORE, backup=backup).first()
    if running is not None:
        return running
    job = Job.objects.create(
        kind=Job.Kind.VERIFY_RESTORE,
        account=backup.account,
        administration=backup.administration,
        backup=backup,
        requested_by=user,
        # Named like the portal's own online databases (the configured prefix), so the name passes the databases
        # layer's check and a clean-up that looks for the prefix finds a scratch database that was left behind.
        params={"scratch": f"{settings.ONLINE_DATABASE_PREFIX}check_{uuid.uuid4().hex[:20]}"},
    )
    Backup.objects.filter(pk=backup.pk).update(verification=Backup.Verification.RUNNING)
    if enqueue:
        job_enqueue(job)
    return job


def _record(backup: Backup, verification: str, report: dict[str, Any]) -> None:
    now = timezone.now()
    Backup.objects.filter(pk=backup.pk).update(verification=verification, verified_at=now, verification_report=report)
    backup.verification, backup.verified_at, backup.verification_report = verification, now, report


def expected_tables(backup: Backup) -> tuple[dict[str, dict[str, Any]], bool]:
    """Per table what the restore must give back, and whether checksums are known. Back-ups the portal made
    itself carry checksums; uploaded files and SqlPackage exports carry the row counts of their own inspection."""
    if backup.table_checks:
        return dict(backup.table_checks), True
    tables = (backup.summary or {}).get("tables", [])
    return {f"{t.get('schema', 'dbo')}.{t['name']}": {"rows": int(t.get("rows", 0))} for t in tables}, False


def compare(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[StoredText]:
    """What differs, one sentence per table: kept as source text and parameters (portal.texts), so each reader
    gets it in their own language."""
    differences = []
    for name in sorted(expected):
        want, got = expected[name], actual.get(name)
        if got is None or "missing" in got:
            missing = (got or {}).get("missing", "table")
            if missing == "table":
                differences.append(
                    StoredText(gettext_noop("Tabel %(table)s ontbreekt na het terugzetten."), table=name)
                )
            else:
                differences.append(
                    StoredText(
                        gettext_noop("Tabel %(table)s: kolom %(columns)s ontbreekt na het terugzetten."),
                        table=name,
                        columns=missing,
                    )
                )
            continue
        if int(got["rows"]) != int(want["rows"]):
            differences.append(
                StoredText(
                    gettext_noop("Tabel %(table)s: %(expected)s rijen verwacht, %(found)s teruggezet."),
                    table=name,
                    expected=want["rows"],
                    found=got["rows"],
                )
            )
        elif "checksum" in want and got.get("checksum") != want["checksum"]:
            differences.append(
                StoredText(
                    gettext_noop(
                        "Tabel %(table)s: evenveel rijen, maar de inhoud verschilt van toen de back-up werd gemaakt."
                    ),
                    table=name,
                )
            )
    for name in sorted(set(actual) - set(expected)):
        differences.append(
            StoredText(gettext_noop("Tabel %(table)s zat niet in de back-up toen die werd gemaakt."), table=name)
        )
    return differences


def stored(texts: Sequence[str]) -> list[dict[str, Any]]:
    """Texts as the back-up's report keeps them: each its source text and parameters."""
    return [dict(zip(("msgid", "params"), parts_of(text), strict=True)) for text in texts]


def run_verify_restore(job: Job, report: Reporter) -> Backup:
    from backups.restores import download_verified
    from backups.services import work_file

    backup = job.backup
    if backup is None:
        raise EngineError(_("De back-up bestaat niet meer."), "verify job without backup")
    scratch = scratch_location(job.params["scratch"])
    expected, with_checksums = expected_tables(backup)
    try:
        with work_file(owner=f"job-{job.pk}-") as work:
            report(1, _("Back-up ophalen en controleren"))
            try:
                download_verified(backup, work)
            except EngineError as error:
                raise VerificationFailed(error.user_message, [error.user_message]) from error
            report(5, _("Terugzetten in een controledatabase"))
            try:
                with open_bacpac(work) as opened:
                    model = opened.model
                database_create(scratch)
                job.params = {**job.params, "scratch_created": True}
                Job.objects.filter(pk=job.pk).update(params=job.params)
                native.import_(
                    source=work, location=scratch, progress=lambda p, phase: report(5 + p * 70 // 100, phase)
                )
                report(76, _("Tabellen vergelijken"))
                actual = native.checksum_tables(
                    location=scratch, model=model, progress=lambda p, phase: report(76 + p * 22 // 100, phase)
                )
            except Exception as error:
                message = user_message_for(error) or gettext_noop("De back-up kon niet worden teruggezet.")
                raise VerificationFailed(message, [message]) from error
        differences = compare(expected, actual)
        if differences:
            raise VerificationFailed(
                _("Het terugzetten gaf niet dezelfde gegevens terug als toen de back-up werd gemaakt."), differences
            )
    except VerificationFailed as failed:
        _record(backup, Backup.Verification.FAILED, {"differences": stored(failed.differences)})
        # The job says that it failed; what differed, table by table, is on the back-up (and in the support log).
        raise EngineError(
            failed.user_message,
            f"test-restore of back-up {backup.pk}: " + "; ".join(str(d) for d in failed.differences[:20]),
        ) from failed
    finally:
        _drop_scratch(job, scratch)
    _record(
        backup,
        Backup.Verification.VERIFIED,
        {
            "differences": [],
            "tables": len(expected),
            "rows": sum(int(t.get("rows", 0)) for t in expected.values()),
            "checksums": with_checksums,
        },
    )
    job_succeed(job, phase=_("Gecontroleerd door terugzetten"))
    return backup


def _drop_scratch(job: Job, scratch: DatabaseLocation) -> None:
    if not job.params.get("scratch_created"):
        return
    try:
        database_drop(scratch)
    except DatabaseError:
        logger.exception("could not drop scratch database of job %s", job.pk)


def cleanup_stale_verification(job: Job) -> None:
    """A test-restore whose worker died: its scratch database goes, and the back-up is no longer 'being checked'."""
    if job.backup_id:
        Backup.objects.filter(pk=job.backup_id, verification=Backup.Verification.RUNNING).update(
            verification=Backup.Verification.NONE
        )
    if job.params.get("scratch_created"):
        _drop_scratch(job, scratch_location(job.params["scratch"]))
