"""Back-up, upload, restore and delete as services, with jobs run in-process on commit, on real databases."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from django.core.files.storage import storages
from django_q.models import OrmQ, Schedule, Task

from administrations import bookkeeping
from administrations.databases import database_connect
from administrations.models import Administration, Location, LoginMethod, Package
from administrations.services import Target, administration_create
from backups import storage
from backups.bacpac import ChecksumMismatch
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import BackupRefused, administration_delete_start, backup_create, backup_delete, backup_upload
from backups.tasks import reap_jobs
from tests.backups.helpers import SAMPLES, table_checksums

pytestmark = pytest.mark.django_db


@pytest.fixture
def online(cast) -> Administration:
    return administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=300),
    )


def storage_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["backups"]["OPTIONS"]["location"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- making back-ups ---


def test_r7_an_online_back_up_becomes_ready_in_the_overview_with_a_verified_file(cast, online, run_on_commit) -> None:
    job = run_on_commit(backup_create, administration=online, user=cast.owner)

    assert job.status == Job.Status.SUCCEEDED and job.progress == 100
    backup = Backup.objects.get(pk=job.backup_id)
    assert backup.is_ready and backup.kept and backup.origin == Backup.Origin.MANUAL
    assert Backup.objects.visible_to(cast.owner).in_overview().get() == backup
    content = b"".join(storage.iter_chunks(backup.file_name))
    assert len(content) == backup.size and hashlib.sha256(content).hexdigest() == backup.sha256
    tables = {t["name"]: t["rows"] for t in backup.summary["tables"]}
    assert tables["journaalregels"] == 300
    assert backup.summary["database_name"] == "Bakkerij Online"
    assert job.started_at and job.finished_at and job.queued_at <= job.started_at <= job.finished_at


def test_the_snapshot_keeps_rights_banks_api_connections_and_mailbox(cast, online, run_on_commit) -> None:
    from administrations.models import ApiConnection, BankConnection, Mailbox, Right

    Right.objects.create(administration=online, grantee_kind=Right.Grantee.FIRM, firm=cast.firm)
    BankConnection.objects.create(administration=online, bank="ing", iban="NL69INGB0123456789")
    ApiConnection.objects.create(administration=online, partner="Webwinkel")
    Mailbox.objects.create(administration=online, address="inkoop@example.nl")
    job = run_on_commit(backup_create, administration=online, user=cast.owner)
    snapshot = Backup.objects.get(pk=job.backup_id).snapshot
    assert snapshot["rights"][0]["firm_name"] == "Kantoor Test"
    assert snapshot["bank_connections"][0]["bank"] == "ing"
    assert snapshot["api_connections"][0]["partner"] == "Webwinkel"
    assert snapshot["mailbox"]["address"] == "inkoop@example.nl"


def test_r4_an_inorde_account_cannot_make_a_back_up(cast, online) -> None:
    cast.account.package = Package.INORDE
    cast.account.save()
    with pytest.raises(BackupRefused) as refused:
        backup_create(administration=online, user=cast.owner)
    assert "inOrde" in refused.value.user_message
    assert not Backup.objects.exists() and not Job.objects.exists()


def test_r10_a_local_administrations_back_up_is_made_but_not_kept_in_the_overview(cast, run_on_commit) -> None:
    local = administration_create(
        account=cast.account, name="Lokaal", target=Target(Location.LOCAL, local_path="lokaal.sqlite3")
    )
    job = run_on_commit(backup_create, administration=local, user=cast.owner)
    assert job.status == Job.Status.SUCCEEDED
    assert Backup.objects.get(pk=job.backup_id).is_ready
    assert not Backup.objects.visible_to(cast.owner).in_overview().exists()


def test_a_second_request_joins_the_running_export(cast, online) -> None:
    first = backup_create(administration=online, user=cast.owner, enqueue=False)
    second = backup_create(administration=online, user=cast.administrator)
    assert second.pk == first.pk
    assert Backup.objects.count() == 1


def test_r1_nothing_is_backed_up_unless_asked(cast, online) -> None:
    from backups.models import BackupSchedule
    from backups.tasks import start_scheduled_backups

    assert not Backup.objects.exists()
    # One periodic scheduler for the automatic back-ups people switch on (none is on by itself), one for messages.
    assert sorted(Schedule.objects.values_list("func", flat=True)) == [
        "backups.tasks.reap_jobs",
        "backups.tasks.send_backup_messages",
        "backups.tasks.start_scheduled_backups",
    ]
    assert not BackupSchedule.objects.exists()
    assert start_scheduled_backups()["started"] == 0
    assert not Backup.objects.exists()


def test_a_storage_error_while_writing_loses_nothing_and_shows_a_failed_job(
    cast, online, run_on_commit, settings
) -> None:
    before = table_checksums(online.database_location())
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "tests.backups.failing_storage.FailingStorage",
            "OPTIONS": settings.STORAGES["backups"]["OPTIONS"],
        },
    }
    job = run_on_commit(backup_create, administration=online, user=cast.owner)

    assert job.status == Job.Status.FAILED
    assert "kon niet worden opgeslagen" in job.user_message
    assert "No space left on device" in job.log
    assert Backup.objects.get(pk=job.backup_id).status == Backup.Status.FAILED
    assert storage_files(settings) == []
    assert table_checksums(online.database_location()) == before


def test_a_worker_that_stopped_is_reaped_and_leaves_no_ready_back_up_or_orphan_file(cast, online, settings) -> None:
    job = backup_create(administration=online, user=cast.owner, enqueue=False)
    from backups.jobs import job_claim

    job_claim(job.pk)
    # What a worker killed half-way leaves: a temporary file in storage and a work file, no heartbeat since.
    backup_storage = storages["backups"]
    temp_name = backup_storage.save("tmp/dead.part", __import__("io").BytesIO(b"PK half a bacpac"))
    work = Path(settings.DATA_DIR) / "work" / "dead.bacpac"
    work.parent.mkdir(parents=True)
    work.write_bytes(b"PK half")
    long_ago = 1_000_000_000
    os.utime(backup_storage.path(temp_name), (long_ago, long_ago))
    os.utime(work, (long_ago, long_ago))
    Job.objects.filter(pk=job.pk).update(heartbeat_at=Job.objects.get(pk=job.pk).queued_at.replace(year=2001))

    assert reap_jobs() == [job.pk]

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "onderbroken" in job.user_message
    assert job.backup is not None and job.backup.status == Backup.Status.FAILED
    assert not Backup.objects.ready().exists()
    assert storage_files(settings) == [] and not work.exists()
    assert reap_jobs() == []


def test_a_running_job_with_a_recent_heartbeat_is_left_alone(cast, online) -> None:
    job = backup_create(administration=online, user=cast.owner, enqueue=False)
    from backups.jobs import job_claim

    job_claim(job.pk)
    assert reap_jobs() == []
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


def test_a_job_is_claimed_only_once(cast, online) -> None:
    from backups.jobs import job_claim

    job = backup_create(administration=online, user=cast.owner, enqueue=False)
    assert job_claim(job.pk) is not None
    assert job_claim(job.pk) is None


# --- uploading (R11) and deleting (R8) ---


def test_r11_an_uploaded_sample_is_verified_and_kept(cast, settings) -> None:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup = backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")
    assert backup.is_ready and backup.origin == Backup.Origin.UPLOAD
    assert backup.sha256 == hashlib.sha256((SAMPLES / "pubs.bacpac").read_bytes()).hexdigest()
    assert backup.summary["total_rows"] > 0
    assert len(storage_files(settings)) == 1


def test_a_tampered_upload_is_refused_and_nothing_is_kept(cast, settings, tmp_path) -> None:
    import zipfile

    tampered = tmp_path / "x.bacpac"
    with zipfile.ZipFile(SAMPLES / "pubs.bacpac") as zin, zipfile.ZipFile(tampered, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data.replace(b"authors", b"auteurs") if info.filename == "model.xml" else data)
    with tampered.open("rb") as source, pytest.raises(ChecksumMismatch) as refused:
        backup_upload(account=cast.account, user=cast.owner, source=source, file_name="x.bacpac")
    assert refused.value.code == "checksum_mismatch"
    assert not Backup.objects.exists() and storage_files(settings) == []


@pytest.mark.parametrize("name", ["oud.ssb", "administratie.mdb"])
def test_r14_an_ssb_or_mdb_upload_points_to_adding_an_existing_administration(cast, name: str, tmp_path) -> None:
    file = tmp_path / name
    file.write_bytes(b"\x00\x01\x00\x00Standard Jet DB" + b"\x00" * 100)
    with file.open("rb") as source, pytest.raises(BackupRefused) as refused:
        backup_upload(account=cast.account, user=cast.owner, source=source, file_name=name)
    assert "Toevoegen → Bestaande administratie" in refused.value.user_message


def test_r8_deleting_a_back_up_deletes_its_file(cast, settings, django_capture_on_commit_callbacks) -> None:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup = backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")
    with django_capture_on_commit_callbacks(execute=True):
        backup_delete(backup=backup)
    assert not Backup.objects.exists() and storage_files(settings) == []


# --- restoring ---


def uploaded(cast, sample: str = "pubs.bacpac") -> Backup:
    with (SAMPLES / sample).open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name=sample)


def test_r12_r15_a_restore_makes_a_new_online_administration_with_every_row(cast, online, run_on_commit) -> None:
    made = run_on_commit(backup_create, administration=online, user=cast.owner)
    backup = Backup.objects.get(pk=made.backup_id)

    job = run_on_commit(
        restore_start,
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="Bakkerij (teruggezet)",
        target=Target(Location.ONLINE),
        cost_confirmed=True,
    )

    assert job.status == Job.Status.SUCCEEDED, job.log
    restored = job.result_administration
    assert restored.name == "Bakkerij (teruggezet)" and restored.restored_from == backup
    assert restored.pk != online.pk
    assert table_checksums(restored.database_location()) == table_checksums(online.database_location())
    assert Administration.objects.visible_to(cast.owner).filter(pk=restored.pk).exists()


def test_r17_an_extra_online_administration_needs_its_cost_confirmed(cast, online) -> None:
    backup = uploaded(cast)
    with pytest.raises(BackupRefused) as refused:
        restore_start(
            user=cast.owner, account=cast.account, backup=backup, name="Nieuw", target=Target(Location.ONLINE)
        )
    assert "€ 3,00 per maand" in refused.value.user_message
    assert not Job.objects.filter(kind=Job.Kind.RESTORE).exists()


def test_r13_inorde_cannot_restore(cast) -> None:
    backup = uploaded(cast)
    cast.account.package = Package.INORDE
    cast.account.save()
    with pytest.raises(BackupRefused) as refused:
        restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name="X",
            target=Target(Location.LOCAL, local_path="x"),
        )
    assert "terugzetten" in refused.value.user_message


def test_r12_a_name_that_exists_is_refused(cast) -> None:
    backup = uploaded(cast)
    with pytest.raises(BackupRefused) as refused:
        restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name="Bakkerij Test",
            target=Target(Location.LOCAL, local_path="x"),
        )
    assert "altijd een nieuwe administratie" in refused.value.user_message


def test_r12_r16_an_existing_local_file_is_never_touched(cast, settings, run_on_commit) -> None:
    existing = Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "bestaand.sqlite3"
    existing.write_bytes(b"gegevens van iemand anders")
    backup = uploaded(cast)
    job = run_on_commit(
        restore_start,
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="Nieuw lokaal",
        target=Target(Location.LOCAL, local_path="bestaand.sqlite3"),
    )
    assert job.status == Job.Status.FAILED
    assert "nooit overschreven" in job.user_message
    assert existing.read_bytes() == b"gegevens van iemand anders"
    assert not Administration.objects.filter(name="Nieuw lokaal").exists()


def test_r16_a_local_target_outside_the_root_is_refused_before_anything_starts(cast) -> None:
    from administrations.databases import UnsafeLocalPath

    with pytest.raises(UnsafeLocalPath):
        restore_start(
            user=cast.owner,
            account=cast.account,
            backup=uploaded(cast),
            name="X",
            target=Target(Location.LOCAL, local_path="../../etc/x"),
        )


def test_a_restore_that_fails_half_way_leaves_no_database_behind(cast, settings, run_on_commit, tmp_path) -> None:
    import zipfile

    broken = tmp_path / "broken.bacpac"
    with zipfile.ZipFile(SAMPLES / "pubs.bacpac") as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data[:-5] if "titles" in info.filename and info.filename.endswith(".BCP") else data)
    with broken.open("rb") as source:
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
    job = run_on_commit(
        restore_start,
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="Half",
        target=Target(Location.LOCAL, local_path="half.sqlite3"),
    )
    assert job.status == Job.Status.FAILED and job.user_message
    assert "titles" in job.log
    assert not (Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "half.sqlite3").exists()
    assert not Administration.objects.filter(name="Half").exists()


def test_a_restore_refuses_a_stored_file_that_changed_since_it_was_made(cast, run_on_commit) -> None:
    backup = uploaded(cast)
    path = Path(storages["backups"].path(backup.file_name))
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    job = run_on_commit(
        restore_start,
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="X",
        target=Target(Location.LOCAL, local_path="x.sqlite3"),
    )
    assert job.status == Job.Status.FAILED
    assert "beschadigd" in job.user_message


@pytest.mark.postgres
def test_r18_a_network_restore_with_sql_login_keeps_the_password_out_of_tasks_logs_and_errors(
    cast, postgres_server, postgres_database_name, run_on_commit, caplog
) -> None:
    password = "Zeer-Geheim-Wachtwoord-42"
    cast.server.host, cast.server.port = postgres_server.host, postgres_server.port
    cast.server.save()
    backup = uploaded(cast)
    caplog.set_level(logging.DEBUG)
    job = run_on_commit(
        restore_start,
        user=cast.owner,
        account=cast.account,
        backup=backup,
        name="Op de server",
        target=Target(
            Location.NETWORK,
            server=cast.server,
            database_name=postgres_database_name,
            login_method=LoginMethod.SQL,
            login_user=postgres_server.username,
            password=password,
        ),
    )
    assert job.status == Job.Status.SUCCEEDED, job.log
    assert job.secret is None
    engine = database_connect(job.result_administration.database_location())
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM authors")).scalar_one() > 0
    engine.dispose()
    everywhere = [job.log, job.user_message, str(job.params), caplog.text]
    everywhere += [str(t.args) + str(t.kwargs) + str(t.result) for t in Task.objects.all()]
    everywhere += [str(q.task) for q in OrmQ.objects.all()]
    assert not any(password in text for text in everywhere)


@pytest.mark.postgres
def test_r18_a_failed_network_restore_does_not_leak_the_password(
    cast, postgres_database_name, run_on_commit, caplog
) -> None:
    password = "Nog-Geheimer-Wachtwoord-7"
    cast.server.host, cast.server.port = "127.0.0.1", 1  # nothing listens there
    cast.server.save()
    caplog.set_level(logging.DEBUG)
    job = run_on_commit(
        restore_start,
        user=cast.owner,
        account=cast.account,
        backup=uploaded(cast),
        name="Mislukt",
        target=Target(
            Location.NETWORK,
            server=cast.server,
            database_name=postgres_database_name,
            login_method=LoginMethod.SQL,
            login_user="sa",
            password=password,
        ),
    )
    assert job.status == Job.Status.FAILED
    assert "niet bereikbaar" in job.user_message
    assert password not in job.log + job.user_message + caplog.text
    assert job.secret is None


# --- deleting an online administration (R9) ---


def test_r9_deleting_an_online_administration_first_makes_an_automatic_back_up(cast, online, run_on_commit) -> None:
    location = online.database_location()
    job = run_on_commit(administration_delete_start, administration=online, user=cast.owner)
    assert job.status == Job.Status.SUCCEEDED, job.log
    assert not Administration.objects.filter(pk=online.pk).exists()
    assert not Path(location.name).exists()
    backup = Backup.objects.get(origin=Backup.Origin.AUTOMATIC_ON_DELETE)
    assert backup.is_ready and backup.kept and backup.administration_name == "Bakkerij Online"
    assert {t["name"]: t["rows"] for t in backup.summary["tables"]}["journaalregels"] == 300


def test_r9_if_the_automatic_back_up_fails_the_administration_is_not_deleted(
    cast, online, run_on_commit, settings
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "tests.backups.failing_storage.FailingStorage",
            "OPTIONS": settings.STORAGES["backups"]["OPTIONS"],
        },
    }
    job = run_on_commit(administration_delete_start, administration=online, user=cast.owner)
    assert job.status == Job.Status.FAILED
    assert "niet verwijderd" in job.user_message
    online.refresh_from_db()
    assert online.status == Administration.Status.ACTIVE
    assert Path(online.database_location().name).exists()


def test_only_managers_may_delete_an_administration(cast, online) -> None:
    with pytest.raises(BackupRefused):
        administration_delete_start(administration=online, user=cast.extra_user)


def test_the_reaper_drops_a_half_made_restore_target_but_never_a_database_it_did_not_make(
    cast, settings, run_on_commit
) -> None:
    from backups.jobs import job_claim

    existing = Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "van-iemand.sqlite3"
    existing.write_bytes(b"niet van ons")
    half = Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "half.sqlite3"
    half.write_bytes(b"half teruggezet")
    backup = uploaded(cast)
    jobs = []
    for name, path, created in [("A", "van-iemand.sqlite3", False), ("B", "half.sqlite3", True)]:
        job = restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name=name,
            target=Target(Location.LOCAL, local_path=path),
            enqueue=False,
        )
        job_claim(job.pk)
        Job.objects.filter(pk=job.pk).update(
            heartbeat_at=job.queued_at.replace(year=2001), params={**job.params, "target_created": created}
        )
        jobs.append(job.pk)

    assert sorted(reap_jobs()) == sorted(jobs)
    assert existing.read_bytes() == b"niet van ons"
    assert not half.exists()


@pytest.mark.postgres
def test_r2_back_ups_can_be_made_of_online_local_and_network_administrations(
    cast, postgres_server, postgres_database_name, run_on_commit
) -> None:
    cast.server.host, cast.server.port = postgres_server.host, postgres_server.port
    cast.server.save()
    targets = {
        "online": Target(Location.ONLINE),
        "local": Target(Location.LOCAL, local_path="r2/lokaal"),
        "network": Target(
            Location.NETWORK,
            server=cast.server,
            database_name=postgres_database_name,
            login_method=LoginMethod.WINDOWS,
            login_user=postgres_server.username,
        ),
    }
    for name, target in targets.items():
        administration = administration_create(
            account=cast.account,
            name=f"R2 {name}",
            target=target,
            populate=lambda engine: bookkeeping.fill(engine, lines=30),
        )
        job = run_on_commit(backup_create, administration=administration, user=cast.owner)
        assert job.status == Job.Status.SUCCEEDED, (name, job.log)
        backup = Backup.objects.get(pk=job.backup_id)
        assert {t["name"]: t["rows"] for t in backup.summary["tables"]}["journaalregels"] == 30
        assert backup.kept == (name == "online")  # R10: local and network back-ups go to the browser


def test_the_reaper_removes_the_upload_of_a_dead_mdb_import(cast) -> None:
    from datetime import UTC, datetime

    from backups.restores import mdb_staging_folder

    staged = mdb_staging_folder() / "dood.mdb"
    staged.write_bytes(b"\x00\x01\x00\x00Standard Jet DB")
    job = Job.objects.create(
        kind=Job.Kind.IMPORT_MDB,
        account=cast.account,
        requested_by=cast.owner,
        status=Job.Status.RUNNING,
        heartbeat_at=datetime(2001, 1, 1, tzinfo=UTC),
        params={"staged": "dood.mdb", "file_name": "oud.mdb", "name": "Oud", "location": "online"},
    )
    assert reap_jobs() == [job.pk]
    assert not staged.exists()
