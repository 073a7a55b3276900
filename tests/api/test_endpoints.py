"""The API's calls over the real services: make a back-up and follow its job, download it with its checksum,
upload, delete, restore with a target as the restore form, aftercare, paging and filters, Idempotency-Key."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from administrations.models import Administration, Bank, BankConnection
from aftercare.models import AftercareItem
from backups.models import Backup, Job
from tests.backups.helpers import SAMPLES

pytestmark = pytest.mark.django_db


def test_making_a_back_up_and_following_its_job(
    api, cast, make_token, online, django_capture_on_commit_callbacks
) -> None:
    token = make_token(cast.owner)
    with django_capture_on_commit_callbacks(execute=True):
        started = api("post", f"/administrations/{online.pk}/backups", token)
    assert started.status_code == 202
    job = started.json()
    assert job["kind"] == "export" and started["Location"] == f"/api/v1/jobs/{job['id']}"
    followed = api("get", f"/jobs/{job['id']}", token).json()
    assert followed["status"] == "succeeded" and followed["progress"] == 100 and followed["backup_id"]
    backup = api("get", f"/backups/{followed['backup_id']}", token).json()
    assert backup["status"] == "ready" and backup["administration_id"] == online.pk
    assert {t["name"] for t in backup["tables"]} >= {"grootboekrekeningen", "journaalposten"}


def test_a_retried_create_with_the_same_idempotency_key_returns_the_same_job(api, cast, make_token, online) -> None:
    token = make_token(cast.owner)
    headers = {"Idempotency-Key": "nacht-2026-12-01-bakkerij"}
    first = api("post", f"/administrations/{online.pk}/backups", token, headers=headers)
    # The first job is still queued: a plain second request would join it, but after it finished it would start a
    # new one. Finish it, then retry: the key must give the same job back, not a second back-up.
    Job.objects.filter(pk=first.json()["id"]).update(status=Job.Status.SUCCEEDED)
    again = api("post", f"/administrations/{online.pk}/backups", token, headers=headers)
    assert again.status_code == 202 and again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Job.objects.filter(kind=Job.Kind.EXPORT).count() == 1
    assert Backup.objects.count() == 1
    # Without the key a new request does start a new back-up.
    assert api("post", f"/administrations/{online.pk}/backups", token).json()["id"] != first.json()["id"]


def test_an_idempotency_key_reused_for_another_request_is_refused(api, cast, make_token, online, uploaded) -> None:
    token = make_token(cast.owner)
    headers = {"Idempotency-Key": "dezelfde"}
    api("post", f"/administrations/{online.pk}/backups", token, headers=headers)
    other = api(
        "post",
        f"/backups/{uploaded.pk}/restore",
        token,
        headers=headers,
        json_body={"name": "Kopie", "location": "local", "local_path": "kopie"},
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert not Job.objects.filter(kind=Job.Kind.RESTORE).exists()


def test_keys_are_per_token(api, cast, make_token, online) -> None:
    first, second = make_token(cast.owner), make_token(cast.owner, name="tweede")
    headers = {"Idempotency-Key": "k1"}
    one = api("post", f"/administrations/{online.pk}/backups", first, headers=headers).json()
    Job.objects.filter(pk=one["id"]).update(status=Job.Status.SUCCEEDED)
    two = api("post", f"/administrations/{online.pk}/backups", second, headers=headers).json()
    assert one["id"] != two["id"]


def test_a_refused_request_is_not_remembered_under_its_key(api, cast, make_token, uploaded) -> None:
    token = make_token(cast.owner)
    headers = {"Idempotency-Key": "herstel-1"}
    body = {"name": "Bakkerij Test", "location": "local", "local_path": "kopie"}
    refused = api("post", f"/backups/{uploaded.pk}/restore", token, headers=headers, json_body=body)
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_restore"
    body["name"] = "Bakkerij Kopie"
    retried = api("post", f"/backups/{uploaded.pk}/restore", token, headers=headers, json_body=body)
    assert retried.status_code == 202, retried.content


def test_restoring_to_a_local_target_as_the_restore_form(
    api, cast, make_token, uploaded, settings, django_capture_on_commit_callbacks
) -> None:
    token = make_token(cast.owner)
    body = {"name": "Pubs Kopie", "location": "local", "local_path": "2026/pubs"}
    with django_capture_on_commit_callbacks(execute=True):
        started = api(
            "post", f"/backups/{uploaded.pk}/restore", token, json_body=body, headers={"Idempotency-Key": "r1"}
        )
    assert started.status_code == 202, started.content
    job = api("get", f"/jobs/{started.json()['id']}", token).json()
    assert job["status"] == "succeeded", job
    made = Administration.objects.get(pk=job["result_administration_id"])
    assert made.name == "Pubs Kopie" and made.location == "local"
    assert (settings.LOCAL_ADMINISTRATIONS_ROOT / "2026").is_dir()
    again = api("post", f"/backups/{uploaded.pk}/restore", token, json_body=body, headers={"Idempotency-Key": "r1"})
    assert again.json()["id"] == job["id"]
    assert Job.objects.filter(kind=Job.Kind.RESTORE).count() == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"name": "Bakkerij Test", "location": "local", "local_path": "x"},
            "name",
            "Er bestaat al een administratie met de naam ‘Bakkerij Test’.",
        ),
        ({"name": "Nieuw", "location": "local"}, "local_path", "Kies waar het administratiebestand komt."),
        ({"name": "Nieuw", "location": "local", "local_path": "../buiten"}, "local_path", "Kies een locatie binnen"),
        ({"name": "Nieuw", "location": "network", "database_name": "x"}, "server_id", "Kies een SQL-server."),
        ({"name": "Nieuw", "location": "online"}, "confirm_cost", "Bevestig de extra kosten om door te gaan."),
    ],
)
def test_a_restore_is_checked_by_the_restore_forms_rules(
    api, cast, make_token, uploaded, online, body, field, message
) -> None:
    token = make_token(cast.owner)
    refused = api("post", f"/backups/{uploaded.pk}/restore", token, json_body=body)
    assert refused.status_code == 422
    answer = refused.json()
    assert answer["code"] == "invalid_restore" and field in answer["errors"]
    assert answer["message"].startswith(message)
    assert not Job.objects.filter(kind=Job.Kind.RESTORE).exists()


def test_downloading_streams_the_file_with_its_checksum(api, cast, make_token, uploaded) -> None:
    token = make_token(cast.owner)
    response = api("get", f"/backups/{uploaded.pk}/download", token)
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == uploaded.sha256 == response["X-Checksum-SHA256"]
    assert data == (SAMPLES / "pubs.bacpac").read_bytes()


def test_a_damaged_file_breaks_the_download_off(api, cast, make_token, uploaded, settings) -> None:
    from backups import storage

    path = storage.backup_storage().path(uploaded.file_name)  # type: ignore[attr-defined]
    data = bytearray(open(path, "rb").read())  # noqa: SIM115
    data[100] ^= 0xFF
    open(path, "wb").write(bytes(data))  # noqa: SIM115
    response = api("get", f"/backups/{uploaded.pk}/download", make_token(cast.owner))
    with pytest.raises(OSError, match="SHA-256"):
        b"".join(response.streaming_content)


def test_a_truncated_file_is_not_handed_out(api, cast, make_token, uploaded) -> None:
    from backups import storage

    path = storage.backup_storage().path(uploaded.file_name)  # type: ignore[attr-defined]
    open(path, "r+b").truncate(100)  # noqa: SIM115
    response = api("get", f"/backups/{uploaded.pk}/download", make_token(cast.owner))
    assert response.status_code == 409 and response.json()["code"] == "file_incomplete"


def test_uploading_a_bacpac_and_refusing_an_ssb(api, cast, make_token, django_capture_on_commit_callbacks) -> None:
    token = make_token(cast.owner)
    upload = SimpleUploadedFile("pubs.bacpac", (SAMPLES / "pubs.bacpac").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        started = api("post", "/backups/upload", token, data={"file": upload})
    assert started.status_code == 202, started.content
    job = api("get", f"/jobs/{started.json()['id']}", token).json()
    assert job["status"] == "succeeded" and Backup.objects.get(pk=job["backup_id"]).original_file_name == "pubs.bacpac"
    refused = api("post", "/backups/upload", token, data={"file": SimpleUploadedFile("oud.ssb", b"x")})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_file"
    assert "Toevoegen → Bestaande administratie" in refused.json()["message"] and "<a" not in refused.json()["message"]


def test_deleting_a_back_up(api, cast, make_token, uploaded) -> None:
    token = make_token(cast.owner)
    assert api("delete", f"/backups/{uploaded.pk}", token).status_code == 204
    assert not Backup.objects.filter(pk=uploaded.pk).exists()
    assert api("get", f"/backups/{uploaded.pk}", token).status_code == 404


def test_listing_back_ups_in_pages_and_with_filters(api, cast, make_token, uploaded) -> None:
    for number in range(4):
        Backup.objects.create(
            account=cast.account,
            administration=cast.administration,
            administration_name=cast.administration.name,
            origin=Backup.Origin.MANUAL,
            status=Backup.Status.FAILED,
            created_at=timezone.now() - timedelta(days=number + 1),
        )
    token = make_token(cast.owner)
    page = api("get", "/backups/?page=2&page_size=2", token).json()
    assert page["count"] == 5 and page["page"] == 2 and len(page["items"]) == 2
    failed = api("get", f"/backups/?status=failed&administration_id={cast.administration.pk}", token).json()
    assert failed["count"] == 4
    since = (timezone.now() - timedelta(days=2, hours=12)).isoformat()
    recent = api("get", "/backups/", token, data={"created_after": since}).json()
    assert recent["count"] == 3
    assert api("get", "/backups/?origin=upload", token).json()["items"][0]["id"] == uploaded.pk
    bad = api("get", "/backups/?created_after=gisteren&page=0", token)
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"created_after", "page"}
    # Offsets PostgreSQL cannot store (beyond ±15:59) and moments at the edge of the years 1 to 9999.
    far_west = api("get", "/backups/", token, data={"created_before": "1814-02-18T03:41:10-19:16"}).json()
    assert far_west["count"] == 0
    assert api("get", "/backups/", token, data={"created_after": "0001-01-01T00:00:00+23:00"}).json()["count"] == 5
    assert api("get", "/backups/", token, data={"created_before": "9999-12-31T23:59:59-23:00"}).json()["count"] == 5


def test_a_banking_administration_warns_before_a_back_up(api, cast, make_token, online) -> None:
    BankConnection.objects.create(administration=online, bank=Bank.SNELSTART_BANKIEREN, iban="NL12SNSB0123456789")
    token = make_token(cast.owner)
    warned = api("post", f"/administrations/{online.pk}/backups", token)
    assert warned.status_code == 409 and warned.json()["code"] == "banking_warning"
    assert not Job.objects.exists()
    assert (
        api("post", f"/administrations/{online.pk}/backups?banking_warning_understood=true", token).status_code == 202
    )


def test_inorde_cannot_make_back_ups_through_the_api(api, cast, make_token, online) -> None:
    cast.account.package = "inorde"
    cast.account.save()
    refused = api("post", f"/administrations/{online.pk}/backups", make_token(cast.owner))
    # The screens' reason, from the same permission table.
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert "inOrde" in refused.json()["message"]
    assert not Backup.objects.exists()


def test_firm_staff_back_ups_go_into_the_firms_overview(api, cast, make_token, online) -> None:
    from administrations.models import Right

    Right.objects.create(administration=online, grantee_kind=Right.Grantee.FIRM, firm=cast.firm)
    started = api("post", f"/administrations/{online.pk}/backups", make_token(cast.firm_staff)).json()
    backup = Backup.objects.get(pk=started["backup_id"])
    assert backup.account == cast.firm and backup.client_account == cast.account


def test_aftercare_listed_and_resolved(api, cast, make_token) -> None:
    first = AftercareItem.objects.create(administration=cast.administration, kind="bank_support", title="Bel ons")
    AftercareItem.objects.create(administration=cast.administration, kind="mailbox", title="Mailbox")
    token = make_token(cast.owner)
    listed = api("get", f"/administrations/{cast.administration.pk}/aftercare", token).json()
    assert [i["title"] for i in listed] == ["Bel ons", "Mailbox"]
    done = api("post", f"/aftercare-items/{first.pk}/resolve", token, json_body={"action": "done"})
    assert done.status_code == 200 and done.json()["item"]["status"] == "done"
    twice = api("post", f"/aftercare-items/{first.pk}/resolve", token, json_body={"action": "done"})
    assert twice.status_code == 409 and twice.json()["message"] == "Deze taak is al afgehandeld."
    bad = api(
        "post", f"/aftercare-items/{first.pk + 1}/resolve", token, json_body={"action": "mailbox", "address": "geen"}
    )
    assert bad.status_code == 422 and "address" in bad.json()["errors"]


def test_a_jobs_stored_texts_reach_the_api_as_sentences_in_the_callers_language(api, cast, make_token, online) -> None:
    job = Job.objects.create(
        kind=Job.Kind.EXPORT,
        account=cast.account,
        administration=online,
        requested_by=cast.owner,
        status=Job.Status.RUNNING,
        phase="Tabel %(table)s opslaan",
        phase_params={"table": "journaalposten"},
    )
    token = make_token(cast.owner)
    shown = api("get", f"/jobs/{job.pk}", token).json()
    assert shown["phase"] == "Tabel journaalposten opslaan"  # never the stored "%(table)s"
    assert (
        api("get", f"/jobs/{job.pk}", token, headers={"Accept-Language": "en"}).json()["phase"]
        == "Saving table journaalposten"
    )
