"""A file whose rows do not add up to the total its exporter wrote in Origin.xml is missing rows: refused by verify,
on upload and before a restore, with a Dutch message, and nothing is kept or made."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from administrations.models import Administration, Location
from administrations.services import Target
from backups import bacpac, storage
from backups.models import Backup, Job
from backups.refusals import bacpac_message
from backups.restores import restore_start
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES
from tests.bacpac.samples import rebuild

pytestmark = pytest.mark.django_db

PUBS = SAMPLES / "pubs.bacpac"
MESSAGE = "Dit bestand is onvolledig: het bevat minder of meer rijen dan bij het maken van de back-up zijn geteld."


def with_origin_total(total: int) -> bytes:
    source = PUBS.read_bytes()
    with zipfile.ZipFile(PUBS) as archive:
        origin = archive.read("Origin.xml")
    changed, count = re.subn(rb"<TableRowCountTotalTag>\d+<", b"<TableRowCountTotalTag>%d<" % total, origin)
    assert count == 1
    return rebuild(source, replace={"Origin.xml": changed})


def without_a_table_part() -> bytes:
    with zipfile.ZipFile(PUBS) as archive:
        part = next(n for n in archive.namelist() if "titles" in n and n.endswith(".BCP"))
    return rebuild(PUBS.read_bytes(), drop={part})


@pytest.fixture(params=["total changed", "part missing"])
def short_file(request, tmp_path) -> Path:
    path = tmp_path / "kort.bacpac"
    path.write_bytes(with_origin_total(254) if request.param == "total changed" else without_a_table_part())
    return path


def test_the_unchanged_sample_verifies() -> None:
    assert bacpac.verify(PUBS).total_matches_origin is True


def test_verify_refuses_rows_that_do_not_add_up_to_the_origin_total(short_file: Path) -> None:
    with pytest.raises(bacpac.RowCountMismatch) as refused:
        bacpac.verify(short_file)
    assert bacpac_message(refused.value).startswith(MESSAGE)
    assert "Origin.xml says 255" in refused.value.detail or "says 254" in refused.value.detail


def test_the_command_line_verify_says_so_and_exits_non_zero(short_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backups.bacpac", "verify", "--json", str(short_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert json.loads(done.stdout) | {"detail": ""} == {
        "ok": False,
        "error": "row_count_mismatch",
        "description": bacpac.RowCountMismatch.description,
        "detail": "",
    }


def test_an_upload_with_rows_missing_is_refused_and_nothing_is_kept(cast, settings, short_file: Path) -> None:
    with short_file.open("rb") as source, pytest.raises(bacpac.RowCountMismatch):
        backup_upload(account=cast.account, user=cast.owner, source=source, file_name="kort.bacpac")
    assert not Backup.objects.exists()
    assert not any(Path(settings.STORAGES["backups"]["OPTIONS"]["location"]).rglob("*.bacpac"))


def test_a_stored_back_up_with_rows_missing_is_not_restored(
    cast, settings, short_file: Path, django_capture_on_commit_callbacks
) -> None:
    # Kept by an older portal that did not check the total: stored as it is, with a matching SHA-256.
    with short_file.open("rb") as source:
        stored = storage.store(source, name=storage.final_name(cast.account.pk))
    backup = Backup.objects.create(
        account=cast.account,
        administration_name="pubs",
        origin=Backup.Origin.UPLOAD,
        status=Backup.Status.READY,
        file_name=stored.name,
        size=stored.size,
        sha256=stored.sha256,
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name="Kort",
            target=Target(Location.LOCAL, local_path="kort.sqlite3"),
        )
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.message_text.startswith(MESSAGE)
    assert not Administration.objects.filter(name="Kort").exists()
    assert not (Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "kort.sqlite3").exists()
