"""Make a back-up of one administration from the command line, with progress, as a script or an operator would."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from administrations.models import Administration
from backups import storage
from backups.management.commands._progress import printer
from backups.models import Job
from backups.services import BackupRefused, backup_create
from backups.tasks import run_job


class Command(BaseCommand):
    help = "Maakt een back-up (.bacpac) van een administratie en toont de voortgang."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("administration_id", type=int)
        parser.add_argument("--out", help="schrijf het .bacpac-bestand ook naar dit pad (mag nog niet bestaan)")

    def handle(self, *args: Any, administration_id: int, out: str | None, **options: Any) -> None:
        administration = Administration.objects.select_related("account").filter(pk=administration_id).first()
        if administration is None:
            raise CommandError(f"Administratie {administration_id} bestaat niet.")
        target = Path(out).resolve() if out else None
        if target is not None and (target.exists() or not target.parent.is_dir()):
            raise CommandError(f"{target} bestaat al of de map ontbreekt; er wordt nooit iets overschreven.")
        try:
            job = backup_create(administration=administration, user=None, enqueue=False)
        except BackupRefused as refused:
            raise CommandError(refused.user_message) from None
        run_job(job.pk, echo=printer(self.stdout))
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED or job.backup is None:
            raise CommandError(job.message_text or f"Taak {job.pk} is niet gelukt ({job.get_status_display()}).")
        backup = job.backup
        self.stdout.write(
            self.style.SUCCESS(
                f"Back-up {backup.pk} van ‘{backup.administration_name}’ is klaar: "
                f"{backup.size} bytes, SHA-256 {backup.sha256}."
            )
        )
        if target is not None:
            # O_EXCL: refuse to overwrite even if the file appeared since the check above.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                for chunk in storage.iter_chunks(backup.file_name):
                    handle.write(chunk)
            self.stdout.write(f"Opgeslagen als {target}")
