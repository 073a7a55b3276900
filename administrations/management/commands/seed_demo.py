"""Demo data: customers, an accountancy firm, support staff, and administration databases filled with realistic
Dutch bookkeeping. Safe to run twice: what exists is kept, what is missing is added."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from administrations import bookkeeping
from administrations.models import (
    Account,
    Administration,
    ApiConnection,
    Bank,
    BankConnection,
    DatabaseEngine,
    DatabaseServer,
    Location,
    Mailbox,
    Membership,
    Package,
    Right,
)
from administrations.services import Target, administration_create
from portal.apps import FIRST_LINE, SECOND_LINE

DEMO_PASSWORD = "demo-wachtwoord"  # noqa: S105 - printed for the demo on purpose

USERS = [
    # username, first name, last name, e-mail
    ("jan", "Jan", "de Vries", "jan@goudenkorst.nl"),
    ("sanne", "Sanne", "de Vries", "sanne@goudenkorst.nl"),
    ("karel", "Karel", "Brouwer", "karel@brouwerboekhouding.nl"),
    ("petra", "Petra", "Smit", "petra@knipengo.nl"),
    ("eva", "Eva", "van Dijk", "eva@vandijkpartners.nl"),
    ("mark", "Mark", "Jansen", "mark@vandijkpartners.nl"),
    ("support", "Sam", "Support", "support@backupportaal.nl"),
    ("helpdesk", "Hanna", "Helpdesk", "helpdesk@backupportaal.nl"),
]


class Command(BaseCommand):
    help = "Vult de portal met demogegevens (veilig om vaker uit te voeren)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lines", type=int, default=2000, help="journaalregels per demo-administratie")

    def handle(self, *args: Any, lines: int, **options: Any) -> None:
        users = self._users()
        bakery = self._account("Bakkerij De Gouden Korst", Package.INZICHT, "info@goudenkorst.nl")
        salon = self._account("Kapsalon Knip & Go", Package.INORDE, "info@knipengo.nl")
        firm = self._account("Accountantskantoor Van Dijk & Partners", Package.ACCOUNTANT, "info@vandijkpartners.nl")
        for user, account, member_role in [
            (users["jan"], bakery, Membership.Role.MAIN),
            (users["sanne"], bakery, Membership.Role.STANDARD),
            (users["petra"], salon, Membership.Role.MAIN),
            (users["eva"], firm, Membership.Role.MAIN),
            (users["mark"], firm, Membership.Role.STANDARD),
        ]:
            Membership.objects.get_or_create(user=user, account=account, defaults={"role": member_role})
        DatabaseServer.objects.get_or_create(
            account=bakery,
            name="KANTOOR-SRV",
            defaults={"engine": DatabaseEngine.POSTGRESQL, "host": "127.0.0.1", "port": 5432},
        )

        online = self._administration(bakery, "Bakkerij De Gouden Korst", Location.ONLINE, lines, users["jan"])
        local = self._administration(
            bakery,
            "Bakkerij De Gouden Korst (archief 2023)",
            Location.LOCAL,
            lines // 4,
            users["jan"],
            local_path="archief/gouden-korst-2023.sqlite3",
        )
        salon_admin = self._administration(salon, "Kapsalon Knip & Go", Location.ONLINE, lines // 4, users["petra"])

        for administration, kind, grantee, role, blocked in [
            (online, Right.Grantee.FIRM, firm, Right.Role.FULL, False),
            (salon_admin, Right.Grantee.FIRM, firm, Right.Role.BOOKKEEPING, True),
            (online, Right.Grantee.EXTRA_USER, users["sanne"], Right.Role.BOOKKEEPING, False),
            (online, Right.Grantee.EXTERNAL_USER, users["karel"], Right.Role.READ, False),
        ]:
            key = {"firm": grantee} if kind == Right.Grantee.FIRM else {"user": grantee}
            Right.objects.get_or_create(
                administration=administration,
                **key,
                defaults={"grantee_kind": kind, "role": role, "access_blocked": blocked},
            )
        for administration, bank, iban in [
            (online, Bank.ABN_AMRO, "NL91ABNA0417164300"),
            (online, Bank.ING, "NL69INGB0123456789"),
            (online, Bank.RABOBANK, "NL44RABO0123456789"),
            (local, Bank.KNAB, "NL02KNAB0123456789"),
            (local, Bank.SNELSTART_BANKIEREN, "NL12SNSB0123456789"),
        ]:
            BankConnection.objects.get_or_create(administration=administration, iban=iban, defaults={"bank": bank})
        if not online.api_connections.exists():
            connection = ApiConnection(administration=online, partner="Webwinkel Shopkoppeling")
            connection.set_new_key()
            connection.save()
        Mailbox.objects.get_or_create(administration=online, defaults={"address": "inkoop@goudenkorst.nl"})

        self.stdout.write(self.style.SUCCESS("Demogegevens staan klaar. Inloggen met wachtwoord " + DEMO_PASSWORD))
        for username, text in [
            ("jan", "hoofdgebruiker van Bakkerij De Gouden Korst (inZicht)"),
            ("sanne", "extra gebruiker bij de bakkerij"),
            ("karel", "externe gebruiker (boekhouder) met inzage"),
            ("petra", "hoofdgebruiker van Kapsalon Knip & Go (inOrde: geen back-ups)"),
            ("eva", "accountantskantoor Van Dijk & Partners"),
            ("mark", "medewerker van het accountantskantoor"),
            (
                "support",
                "klantenservice tweede lijn (Django-beheer op /beheer/: opnieuw starten, afbreken, downloaden)",
            ),
            ("helpdesk", "klantenservice eerste lijn (alleen inzien)"),
        ]:
            self.stdout.write(f"  {username:<8} {text}")

    def _users(self) -> dict[str, Any]:
        User = get_user_model()
        users = {}
        for username, first, last, email in USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last, "email": email}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = username in ("support", "helpdesk")
                user.save()
                if user.is_staff:
                    group = SECOND_LINE if username == "support" else FIRST_LINE
                    user.groups.add(Group.objects.get(name=group))
            users[username] = user
        return users

    def _account(self, name: str, package: str, email: str) -> Account:
        account, _ = Account.objects.get_or_create(name=name, defaults={"package": package, "email": email})
        return account

    def _administration(
        self, account: Account, name: str, location: str, lines: int, user: Any, local_path: str = ""
    ) -> Administration:
        existing = Administration.objects.filter(account=account, name=name).first()
        if existing is not None:
            return existing
        administration = administration_create(
            account=account,
            name=name,
            target=Target(location=location, local_path=local_path),
            created_by=user,
            populate=lambda engine: bookkeeping.fill(engine, lines=max(lines, 10)),
        )
        self.stdout.write(f"Administratie ‘{name}’ aangemaakt met {max(lines, 10)} journaalregels.")
        return administration
