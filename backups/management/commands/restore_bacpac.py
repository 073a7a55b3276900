"""Restore a .bacpac file as a NEW administration from the command line."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from administrations.databases import DatabaseError
from administrations.models import Account, DatabaseServer, Location, LoginMethod
from administrations.services import Target
from backups.bacpac import BacpacError
from backups.management.commands._progress import printer
from backups.models import Job
from backups.refusals import bacpac_message
from backups.restores import restore_start
from backups.services import BackupRefused, backup_upload
from backups.tasks import run_job

PASSWORD_VARIABLE = "RESTORE_SQL_PASSWORD"  # noqa: S105 - the name of the variable, not a password


class Command(BaseCommand):
    help = "Zet een .bacpac-bestand terug als nieuwe administratie (er wordt nooit iets overschreven)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--name", required=True, help="naam van de nieuwe administratie")
        parser.add_argument("--location", required=True, choices=[c.value for c in Location])
        parser.add_argument("--account", type=int, help="id van het account (verplicht als er meer dan één is)")
        parser.add_argument("--path", default="", help="lokaal: pad binnen de map voor lokale administraties")
        parser.add_argument("--server", default="", help="netwerk: naam van de geregistreerde SQL-server")
        parser.add_argument("--database", default="", help="netwerk: naam van de nieuwe database")
        parser.add_argument("--auth", choices=[c.value for c in LoginMethod], default=LoginMethod.WINDOWS.value)
        parser.add_argument(
            "--user", default="", help=f"gebruikersnaam; het wachtwoord komt uit {PASSWORD_VARIABLE} of een prompt"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = self._account(options["account"])
        server = None
        password = ""
        if options["location"] == Location.NETWORK:
            server = DatabaseServer.objects.filter(account=account, name=options["server"]).first()
            if server is None:
                raise CommandError(f"Geen geregistreerde SQL-server ‘{options['server']}’ bij {account}.")
            if options["auth"] == LoginMethod.SQL:
                password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass("Wachtwoord: ")
        target = Target(
            location=options["location"],
            local_path=options["path"],
            server=server,
            database_name=options["database"],
            login_method=options["auth"] if server else "",
            login_user=options["user"],
            password=password,
        )
        try:
            with open(options["file"], "rb") as source:
                backup = backup_upload(account=account, user=None, source=source, file_name=options["file"], kept=False)
            self.stdout.write(f"Back-up gecontroleerd: {backup.summary.get('total_rows', 0)} rijen.")
            # An operator on the command line has confirmed any extra cost by running the command.
            job = restore_start(
                user=None,
                account=account,
                backup=backup,
                name=options["name"],
                target=target,
                cost_confirmed=True,
                enqueue=False,
            )
        except OSError as error:
            raise CommandError(f"Het bestand kan niet worden gelezen: {error.strerror}") from None
        except BacpacError as refused:
            raise CommandError(bacpac_message(refused)) from None
        except (BackupRefused, DatabaseError) as refused:
            raise CommandError(refused.user_message) from None
        run_job(job.pk, echo=printer(self.stdout))
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED or job.result_administration is None:
            raise CommandError(job.message_text or f"Taak {job.pk} is niet gelukt.")
        administration = job.result_administration
        self.stdout.write(
            self.style.SUCCESS(f"Teruggezet als nieuwe administratie ‘{administration.name}’ (id {administration.pk}).")
        )

    def _account(self, account_id: int | None) -> Account:
        if account_id is not None:
            account = Account.objects.filter(pk=account_id).first()
            if account is None:
                raise CommandError(f"Account {account_id} bestaat niet.")
            return account
        accounts = list(Account.objects.all()[:2])
        if len(accounts) != 1:
            raise CommandError("Kies het account met --account ID.")
        return accounts[0]
