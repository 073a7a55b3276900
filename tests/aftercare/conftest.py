from __future__ import annotations

import pytest

from administrations import bookkeeping
from administrations.models import Administration, ApiConnection, Bank, BankConnection, Location, Mailbox, Right
from administrations.services import Target, administration_create
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import backup_create


@pytest.fixture
def source(cast) -> Administration:
    """An online administration with everything aftercare is about: a firm, an external and an extra user, an API
    connection, ABN AMRO, ING and SnelStart Bankieren connections and a mailbox."""
    administration = administration_create(
        account=cast.account,
        name="Bron",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=40),
    )
    Right.objects.create(administration=administration, grantee_kind=Right.Grantee.FIRM, firm=cast.firm)
    Right.objects.create(
        administration=administration, grantee_kind=Right.Grantee.EXTERNAL_USER, user=cast.external_user
    )
    Right.objects.create(administration=administration, grantee_kind=Right.Grantee.EXTRA_USER, user=cast.extra_user)
    connection = ApiConnection(administration=administration, partner="Webwinkel BV")
    connection.set_new_key()
    connection.save()
    BankConnection.objects.create(administration=administration, bank=Bank.ABN_AMRO, iban="NL91ABNA0417164300")
    BankConnection.objects.create(administration=administration, bank=Bank.ING, iban="NL69INGB0123456789")
    BankConnection.objects.create(
        administration=administration, bank=Bank.SNELSTART_BANKIEREN, iban="NL12SNSB0123456789"
    )
    Mailbox.objects.create(administration=administration, address="inkoop@bron.nl")
    return administration


@pytest.fixture
def restored(cast, source, django_capture_on_commit_callbacks) -> Administration:
    with django_capture_on_commit_callbacks(execute=True):
        made = backup_create(administration=source, user=cast.owner)
    backup = Backup.objects.get(pk=made.backup_id)
    with django_capture_on_commit_callbacks(execute=True):
        job = restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name="Kopie",
            target=Target(Location.ONLINE),
            cost_confirmed=True,
        )
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.log
    assert job.result_administration is not None
    return job.result_administration
