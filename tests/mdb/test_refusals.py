"""Hostile and broken files for Toevoegen → Bestaande administratie: each is refused with a clear Dutch message,
and nothing stays behind (no staged file, no database, no administration, no job)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from administrations.models import Account, Administration, Location, Membership, Package
from administrations.services import Target
from backups.engines.mdbtools import MdbError
from backups.models import Job
from backups.restores import mdb_import_start, mdb_staging_folder
from backups.services import BackupRefused
from tests.mdb.helpers import DATES, NWIND, require_mdbtools, stage, with_password, without_tables

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mdbtools() -> None:
    require_mdbtools()


def start(cast, staged: Path, *, name: str = "Oud", account: Account | None = None, confirmed: bool = True) -> Job:
    return mdb_import_start(
        account=account or cast.account,
        user=cast.owner,
        staged=staged,
        file_name=staged.name,
        name=name,
        target=Target(Location.ONLINE),
        cost_confirmed=confirmed,
    )


def assert_nothing_left(cast) -> None:
    assert list(mdb_staging_folder().iterdir()) == []
    assert not Job.objects.exists()
    assert list(Administration.objects.values_list("name", flat=True).order_by("name")) == ["Ander", "Bakkerij Test"]
    online = Path(settings.ONLINE_ADMINISTRATIONS_DIR)
    assert not online.exists() or os.listdir(online) == []


def refused_with(cast, content: bytes, name: str = "upload.mdb") -> str:
    with pytest.raises(MdbError) as refused:
        start(cast, stage(content, name))
    assert_nothing_left(cast)
    return refused.value.user_message


def test_a_pdf_renamed_to_mdb_is_not_an_access_file(cast) -> None:
    message = refused_with(cast, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 200)
    assert message.startswith("Dit is geen Access-administratiebestand (.mdb).")


def test_random_bytes_are_not_an_access_file(cast) -> None:
    message = refused_with(cast, os.urandom(64 * 1024))
    assert "geen Access-administratiebestand" in message


def test_a_file_that_only_has_the_jet_signature_is_refused_as_damaged(cast) -> None:
    message = refused_with(cast, NWIND.read_bytes()[:0x80])
    assert "beschadigd of niet volledig" in message


def test_a_truncated_file_is_refused_as_damaged(cast) -> None:
    message = refused_with(cast, NWIND.read_bytes()[:1_000_000])
    assert "beschadigd of niet volledig" in message


def test_a_file_cut_at_a_page_boundary_is_refused_too_because_mdbtools_reads_past_its_end(cast) -> None:
    # Whole pages, so the size check passes; mdbtools then reports reading beyond the end of the file. (Cut after
    # page 850 of 1466 nothing any table needs is missing any more, and mdbtools reads every row: see the report.)
    message = refused_with(cast, NWIND.read_bytes()[: 800 * 2048])
    assert "beschadigd of niet volledig" in message


@pytest.mark.parametrize("sample", [NWIND, DATES], ids=["jet3", "jet4"])
def test_a_password_protected_database_is_refused_with_how_to_remove_the_password(cast, sample: Path) -> None:
    message = refused_with(cast, with_password(sample, "geheim"))
    assert "met een wachtwoord beveiligd" in message and "Databasewachtwoord opheffen" in message


def test_an_accdb_is_refused_with_how_to_save_it_as_mdb(cast) -> None:
    data = bytearray(DATES.read_bytes())
    data[4:20] = b"Standard ACE DB\x00"
    data[0x14] = 2  # ACE 12: Access 2007
    message = refused_with(cast, bytes(data), "nieuw.mdb")
    assert ".accdb-bestand (Access 2007 of nieuwer)" in message and "opslaan als .mdb" not in message
    assert "sla het in Access op als .mdb" in message


def test_a_database_without_tables_is_refused(cast) -> None:
    message = refused_with(cast, without_tables())
    assert "bevat geen tabellen" in message


def test_an_existing_name_is_refused_and_the_upload_removed(cast) -> None:
    with pytest.raises(BackupRefused) as refused:
        start(cast, stage(NWIND), name="Bakkerij Test")
    assert "Er bestaat al een administratie met de naam ‘Bakkerij Test’" in refused.value.user_message
    assert_nothing_left(cast)


def test_r17_an_extra_online_administration_needs_its_cost_confirmed(cast) -> None:
    with pytest.raises(BackupRefused) as refused:
        start(cast, stage(NWIND), confirmed=False)
    assert "€ 3,00 per maand" in refused.value.user_message
    assert_nothing_left(cast)


def test_r13_the_inorde_package_cannot_add_an_existing_administration(cast) -> None:
    inorde = Account.objects.create(name="Web", package=Package.INORDE)
    Membership.objects.create(user=cast.owner, account=inorde, role=Membership.Role.MAIN)
    with pytest.raises(BackupRefused) as refused:
        start(cast, stage(NWIND), account=inorde)
    assert "inOrde" in refused.value.user_message or "pakket" in refused.value.user_message
    assert_nothing_left(cast)


def test_a_local_path_outside_the_root_is_refused(cast) -> None:
    from administrations.databases import UnsafeLocalPath

    with pytest.raises(UnsafeLocalPath):
        mdb_import_start(
            account=cast.account,
            user=cast.owner,
            staged=stage(NWIND),
            file_name="nwind.mdb",
            name="Buiten",
            target=Target(Location.LOCAL, local_path="../buiten"),
        )
    assert_nothing_left(cast)


def test_a_failure_in_the_job_drops_the_database_it_made(cast, django_capture_on_commit_callbacks, monkeypatch) -> None:
    from backups.engines import mdbtools as mdb

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start(cast, stage(NWIND))
    real_import = mdb.mdb_import

    def import_while_someone_takes_the_name(*args, **kwargs):
        # Someone takes the name while the worker fills its new database; then it cannot register it.
        result = real_import(*args, **kwargs)
        Administration.objects.create(
            account=cast.account, name="Oud", location=Location.ONLINE, engine="sqlite", database_name="ander.sqlite3"
        )
        return result

    monkeypatch.setattr(mdb, "mdb_import", import_while_someone_takes_the_name)
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "Er is niets overschreven" in job.user_message
    assert job.params["target_created"] is True
    assert list(mdb_staging_folder().iterdir()) == []
    assert os.listdir(settings.ONLINE_ADMINISTRATIONS_DIR) == []
