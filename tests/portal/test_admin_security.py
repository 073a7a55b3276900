"""The support desk (`/beheer/`) under attack, through the real admin views and the real support groups:
second-line support trying to run a shell command through django-q2's schedules, pointing an administration at
another file, signing in without a second factor; and the worker refusing a hand-edited schedule while it runs the
portal's own periodic tasks and the jobs they start."""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_q.models import Failure, Schedule

from administrations import bookkeeping
from administrations.databases import UnsafeDatabaseName, location_of
from administrations.models import Administration, Location, Right
from administrations.services import Target, administration_create
from backups import storage
from backups.models import Backup, Job
from backups.services import administration_delete_start, backup_create, backup_upload
from portal.apps import FIRST_LINE, SECOND_LINE
from portal.models import AuditEvent
from tests.backups.helpers import SAMPLES

pytestmark = pytest.mark.django_db
PASSWORD = "geheim-wachtwoord"
ROOT = Path(__file__).resolve().parents[2]


def element(html: str, element_id: str) -> str:
    """The HTML of the element with this id (what the user looks at), or '' when it is not on the page."""
    start = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"', html)
    if start is None:
        return ""
    tag, depth, position = start.group(1), 0, start.start()
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", html[position:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return html[position : position + match.end()]
    return html[position:]


def main(response: Any) -> str:
    return element(response.content.decode(), "content-main")


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def form_data(response: Any) -> dict[str, Any]:
    """What the browser would post back from an admin change page, unchanged: the form and its inlines."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if callable(value):
                value = value()
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
                continue
            data[form.add_prefix(name)] = "" if value is None else getattr(value, "pk", value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management.initial.get(name, 0)
        for form in formset.forms:
            add(form)
    return data


@pytest.fixture
def helpdesk(staff_login, cast):
    cast.support.groups.add(Group.objects.get(name=FIRST_LINE))
    return staff_login(cast.support)


@pytest.fixture
def support(staff_login, cast):
    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    return staff_login(cast.support)


@pytest.fixture
def backup(cast) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


def reaper_schedule() -> Schedule:
    schedule, _ = Schedule.objects.get_or_create(
        name="Vastgelopen taken opruimen",
        defaults={"func": "backups.tasks.reap_jobs", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )
    return schedule


# ------------------------------------------------------------------ 1. no shell commands through django-q2's rows


def test_second_line_support_cannot_make_a_schedule_run_a_shell_command(support, cast) -> None:
    schedule = reaper_schedule()
    url = f"/beheer/django_q/schedule/{schedule.pk}/change/"
    assert support.get(url).status_code == 403
    posted = {"name": schedule.name, "func": "os.system", "args": "'id > /tmp/pwned'", "schedule_type": "I"}
    response = support.post(url, {**posted, "minutes": 1, "repeats": -1, "next_run_0": "2026-01-01"})
    assert response.status_code == 403
    assert "U mag dit niet" in text(main(response))
    schedule.refresh_from_db()
    assert schedule.func == "backups.tasks.reap_jobs"
    before = Schedule.objects.count()
    assert support.post("/beheer/django_q/schedule/add/", {**posted, "minutes": 1}).status_code == 403
    assert Schedule.objects.count() == before
    for failed in ("/beheer/django_q/failure/", "/beheer/django_q/success/"):
        assert support.get(failed).status_code == 403


def test_support_groups_get_only_what_they_need(cast) -> None:
    for name in (FIRST_LINE, SECOND_LINE):
        permissions = Permission.objects.filter(group__name=name)
        assert not permissions.filter(content_type__app_label="django_q").exists()
        assert not permissions.filter(codename__regex=r"^(add|delete)_").exists()
    second = Permission.objects.filter(group__name=SECOND_LINE)
    assert not second.filter(codename__in=["change_databaseserver", "change_backup", "change_job"]).exists()
    assert second.filter(codename="change_right").exists()


def test_even_a_superuser_cannot_schedule_a_function_outside_the_portal(staff_login, cast) -> None:
    cast.support.is_superuser = True
    cast.support.save()
    client = staff_login(cast.support)
    before = Schedule.objects.count()
    response = client.post(
        "/beheer/django_q/schedule/add/",
        {"name": "x", "func": "os.system", "args": "'id'", "schedule_type": "O", "repeats": -1},
    )
    assert response.status_code == 200
    assert "Alleen de taken van het portaal" in text(main(response))
    assert Schedule.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_the_worker_refuses_a_hand_edited_schedule(tmp_path, caplog) -> None:
    from django_q.brokers import get_broker
    from django_q.monitor import save_task
    from django_q.scheduler import scheduler
    from django_q.signing import SignedPackage
    from django_q.worker import worker

    marker = tmp_path / "pwned"
    past = timezone.now() - timedelta(minutes=5)
    Schedule.objects.update(next_run=timezone.now() + timedelta(days=1))
    schedule = Schedule.objects.create(
        name="rapport", func="backups.tasks.reap_jobs", schedule_type="I", minutes=1, repeats=-1, next_run=past
    )
    # Edited straight in the database, past every form and model method.
    Schedule.objects.filter(pk=schedule.pk).update(func="os.system", args=repr(f"touch {marker}"))

    broker = get_broker()
    scheduler(broker=broker)  # what the cluster's scheduler runs every 30 seconds
    packages = broker.dequeue() or []
    tasks = [SignedPackage.loads(package) for _ack, package in packages]
    assert [task["group"] for task in tasks] == ["rapport"]
    task_queue: queue.Queue[Any] = queue.Queue()
    result_queue: queue.Queue[Any] = queue.Queue()
    task_queue.put(tasks[0])
    task_queue.put("STOP")
    worker(task_queue, result_queue, multiprocessing.Value("f", -1), timeout=60)  # the worker process's loop

    result = result_queue.get_nowait()
    assert not marker.exists()
    assert result["success"] is False and "refused to run 'os.system'" in result["result"]
    save_task(result, broker)
    assert Failure.objects.get().func == "backups.tasks.refused"
    assert "refused to queue 'os.system'" in caplog.text


# The periodic tasks the portal's migrations make, by name: each must name a function on the worker's allow-list.
PERIODIC_TASKS = {
    "Vastgelopen taken opruimen": "backups.tasks.reap_jobs",
    "Automatische back-ups starten": "backups.tasks.start_scheduled_backups",
    "Meldingen over back-ups versturen": "backups.tasks.send_backup_messages",
}


def test_every_periodic_task_the_portal_makes_is_on_the_allow_list_and_exists() -> None:
    from importlib import import_module

    from backups.tasks import TASKS

    assert dict(Schedule.objects.values_list("name", "func")) == PERIODIC_TASKS
    assert set(PERIODIC_TASKS.values()) <= TASKS
    for name in TASKS:
        module, _, function = name.rpartition(".")
        assert callable(getattr(import_module(module), function)), name


def _through_the_worker(broker: Any) -> list[dict[str, Any]]:
    """Take every task waiting on the broker and run it in the worker process's loop, as the cluster does."""
    from django_q.signing import SignedPackage
    from django_q.worker import worker

    results = []
    while broker.queue_size():
        for ack_id, package in broker.dequeue() or []:
            task_queue: queue.Queue[Any] = queue.Queue()
            result_queue: queue.Queue[Any] = queue.Queue()
            task_queue.put(SignedPackage.loads(package))
            task_queue.put("STOP")
            worker(task_queue, result_queue, multiprocessing.Value("f", -1), timeout=120)
            results.append(result_queue.get_nowait())
            broker.acknowledge(ack_id)
    return results


@pytest.mark.django_db(transaction=True)
def test_the_portals_periodic_tasks_and_the_jobs_they_start_pass_the_allow_list_in_the_worker(cast, settings) -> None:
    """Through the cluster's scheduler and the worker, with nothing run in-process: the three periodic tasks run
    for real (none is swapped for `refused`), and the automatic back-up the scheduler starts and the test-restore
    after it reach the worker as `run_job` and succeed."""
    from django_q.brokers import get_broker
    from django_q.scheduler import scheduler

    from backups.models import BackupSchedule
    from backups.schedules import schedule_save
    from backups.tasks import REFUSED

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    settings.SCHEDULE_SPREAD_SECONDS = 0
    administration = administration_create(
        account=cast.account,
        name="Automatisch",
        target=Target(Location.ONLINE),
        populate=lambda e: bookkeeping.fill(e, lines=5),
    )
    schedule_save(BackupSchedule(administration=administration))
    past = timezone.now() - timedelta(minutes=5)
    BackupSchedule.objects.update(next_run_at=past)
    for name, func in PERIODIC_TASKS.items():  # as the migrations made them (a transactional test flushed them)
        Schedule.objects.get_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": 1, "repeats": -1}
        )
    Schedule.objects.update(next_run=past)

    broker = get_broker()
    scheduler(broker=broker)  # what the cluster's scheduler runs every 30 seconds
    # The worker takes the periodic tasks, then the back-up the scheduler started, then the test-restore after it.
    results = _through_the_worker(broker)
    assert sorted(r["func"] for r in results) == sorted([*PERIODIC_TASKS.values(), *["backups.tasks.run_job"] * 2])
    assert [r["name"] for r in results if r["func"] == "backups.tasks.run_job"] == [
        f"job-{job.pk}-{job.kind}" for job in Job.objects.order_by("pk")
    ]
    assert all(r["success"] for r in results), [r["result"] for r in results if not r["success"]]
    assert REFUSED not in {r["func"] for r in results}
    backup = Backup.objects.get(administration=administration)
    assert backup.origin == Backup.Origin.SCHEDULED and backup.is_ready
    assert backup.verification == Backup.Verification.VERIFIED


# ------------------------------------------------------------------ 2. nothing in the admin names another place


def test_support_cannot_point_an_administration_at_another_file(support, cast) -> None:
    url = f"/beheer/administrations/administration/{cast.administration.pk}/change/"
    data = form_data(support.get(url))
    data.update(name="Bakkerij Test (gecontroleerd)", database_name="/srv/portal/data/portal.sqlite3")
    data.update(location="local", account=cast.outsider_account.pk)
    response = support.post(url, data)
    assert response.status_code == 302, text(main(response))
    administration = Administration.objects.get(pk=cast.administration.pk)
    assert administration.name == "Bakkerij Test (gecontroleerd)"
    assert (administration.database_name, administration.location) == ("a.sqlite3", "online")
    assert administration.account == cast.account


def test_not_even_a_superuser_moves_a_database_server(staff_login, cast) -> None:
    cast.support.is_superuser = True
    cast.support.save()
    client = staff_login(cast.support)
    url = f"/beheer/administrations/databaseserver/{cast.server.pk}/change/"
    data = form_data(client.get(url))
    data.update(host="10.0.0.66", port=1433)
    assert client.post(url, data).status_code == 302
    cast.server.refresh_from_db()
    assert (cast.server.host, cast.server.port) == ("127.0.0.1", 5432)


def test_support_unblocking_a_firm_in_the_admin_is_in_the_audit_trail(support, cast) -> None:
    right = Right.objects.get(firm=cast.firm)
    Right.objects.filter(pk=right.pk).update(access_blocked=True)
    url = f"/beheer/administrations/right/{right.pk}/change/"
    data = form_data(support.get(url))
    data.pop("access_blocked", None)
    assert support.post(url, data).status_code == 302
    right.refresh_from_db()
    assert right.access_blocked is False
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor, event.administration) == ("right_unblocked", cast.support, cast.administration)
    assert event.target == "Kantoor Test" and event.details == {"by_support": True}


def test_support_blocking_a_right_in_the_administration_page_is_in_the_audit_trail(support, cast) -> None:
    url = f"/beheer/administrations/administration/{cast.administration.pk}/change/"
    response = support.get(url)
    data = form_data(response)
    rights = next(i.formset for i in response.context["inline_admin_formsets"] if i.formset.model is Right)
    firm_form = next(form for form in rights.forms if form.instance.firm_id == cast.firm.pk)
    data[firm_form.add_prefix("access_blocked")] = "on"
    assert support.post(url, data).status_code == 302
    assert Right.objects.get(firm=cast.firm).access_blocked
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor) == ("right_blocked", cast.support)


@pytest.mark.parametrize("where", ["absolute", "parent"])
def test_a_row_pointing_outside_its_folder_is_neither_backed_up_nor_deleted(
    cast, tmp_path, where, django_capture_on_commit_callbacks
) -> None:
    outside = tmp_path / "portal.sqlite3"  # beside the online folder, like the portal's own database
    with sqlite3.connect(outside) as db:
        db.execute("CREATE TABLE auth_user (password TEXT)")
        db.execute("INSERT INTO auth_user VALUES ('pbkdf2_sha256$geheim')")
    db.close()
    before = outside.read_bytes()
    name = str(outside) if where == "absolute" else "../portal.sqlite3"
    administration = Administration.objects.create(
        account=cast.account, name="Omgeleid", location=Location.ONLINE, engine="sqlite", database_name=name
    )
    with pytest.raises(UnsafeDatabaseName):
        location_of(administration)

    with django_capture_on_commit_callbacks(execute=True):
        job = backup_create(administration=administration, user=cast.owner)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "ongeldig" in job.user_message
    assert not Backup.objects.filter(status=Backup.Status.READY).exists()

    with django_capture_on_commit_callbacks(execute=True):
        job = administration_delete_start(administration=administration, user=cast.owner)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert Administration.objects.filter(pk=administration.pk, status="active").exists()
    assert outside.read_bytes() == before


def test_a_local_row_pointing_outside_the_local_root_is_refused(cast) -> None:
    for name in ("../../etc/passwd", "/etc/passwd", "C:\\Windows\\win.ini", "a/../../x.sqlite3"):
        administration = Administration(
            account=cast.account, name="L", location=Location.LOCAL, engine="sqlite", database_name=name
        )
        with pytest.raises(UnsafeDatabaseName):
            location_of(administration)


# ------------------------------------------------------------------ 9. private files


def test_the_data_folder_and_the_portal_database_are_created_private(tmp_path) -> None:
    data = tmp_path / "nieuw" / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FILE_UPLOAD_TEMP_DIR")}
    env.update(PORTAL_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="portal.settings")
    script = "import django; django.setup(); from django.db import connection; connection.cursor().execute('CREATE TABLE t (x)')"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, preexec_fn=lambda: os.umask(0o022))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "uploads").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "portal.sqlite3").stat().st_mode) == 0o600


def test_back_up_files_are_stored_for_the_portal_only(cast, backup) -> None:
    path = Path(storage.backup_storage().path(backup.file_name))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS == 0o700


# ------------------------------------------------------------------ 10. a second factor for staff


def password_login(client: Any) -> Any:
    return client.post("/beheer/login/", {"username": "support", "password": PASSWORD, "next": "/beheer/"}, follow=True)


def code_for(device: TOTPDevice) -> str:
    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(device.digits)


def test_a_correct_password_alone_does_not_open_the_admin(client, cast) -> None:
    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    landed = password_login(client)
    assert landed.redirect_chain[-1][0].startswith("/beheer/tweestapsverificatie/instellen/")
    for url in ("/beheer/", "/beheer/administrations/account/", f"/beheer/backups/job/?q={cast.owner.email}"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/beheer/login/"), url


def test_staff_set_up_an_app_and_sign_in_with_its_code(client, cast) -> None:
    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    setup = password_login(client)
    page = main(setup)
    assert "<svg" in page and "otpauth://totp/" in page
    secret = text(element(setup.content.decode(), "otp-secret")).replace(" ", "")
    device = TOTPDevice.objects.get(user=cast.support, confirmed=False)
    assert secret == __import__("base64").b32encode(device.bin_key).decode()

    assert "klopt niet" in text(main(client.post(setup.request["PATH_INFO"], {"code": "000000"})))
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code makes the next try wait a second (django-otp's throttling)
    done = client.post(setup.request["PATH_INFO"], {"code": code_for(device)})
    codes = re.findall(r"<code>(\w+)</code>", element(done.content.decode(), "recovery-codes"))
    assert len(codes) == 10
    assert client.get("/beheer/").status_code == 200


def test_a_code_from_the_app_signs_in_and_a_recovery_code_works_once(client, cast) -> None:
    from django_otp.plugins.otp_static.models import StaticDevice

    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    app = TOTPDevice.objects.create(user=cast.support, name="app", confirmed=True)
    recovery = StaticDevice.objects.create(user=cast.support, name="herstel", confirmed=True)
    recovery.token_set.create(token="herstel12")

    verify = password_login(client)
    assert verify.redirect_chain[-1][0].startswith("/beheer/tweestapsverificatie/")
    assert client.get("/beheer/").status_code == 302
    assert client.post("/beheer/tweestapsverificatie/", {"code": code_for(app)}).status_code == 302
    assert client.get("/beheer/").status_code == 200

    for attempt in (1, 2):
        client.post("/uitloggen/")
        password_login(client)
        response = client.post("/beheer/tweestapsverificatie/", {"code": "herstel12"})
        if attempt == 1:
            assert response.status_code == 302 and client.get("/beheer/").status_code == 200
        else:
            assert response.status_code == 200 and "klopt niet" in text(main(response))
            assert client.get("/beheer/").status_code == 302


def test_a_password_alone_cannot_replace_the_app(client, cast) -> None:
    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    TOTPDevice.objects.create(user=cast.support, name="app", confirmed=True)
    password_login(client)
    response = client.get("/beheer/tweestapsverificatie/instellen/")
    assert response.status_code == 302 and response.url.startswith("/beheer/tweestapsverificatie/")
    assert TOTPDevice.objects.filter(user=cast.support).count() == 1


def test_the_demo_setting_lets_staff_in_on_their_password(client, cast, settings) -> None:
    settings.ADMIN_REQUIRE_2FA = False
    cast.support.groups.add(Group.objects.get(name=FIRST_LINE))
    password_login(client)
    assert client.get("/beheer/").status_code == 200


# ------------------------------------------------------------------ 13.10 and 13.4: the support desk itself


def test_helpdesk_sees_no_download_and_a_refusal_is_a_dutch_page(helpdesk, backup) -> None:
    page = main(helpdesk.get(f"/beheer/backups/backup/{backup.pk}/change/"))
    assert "dbo.authors" in page and "Downloaden voor onderzoek" not in page
    refused = helpdesk.get(f"/beheer/backups/backup/{backup.pk}/downloaden/")
    assert refused.status_code == 403
    assert "U mag dit niet doen of bekijken" in text(main(refused))


def test_read_only_pages_have_no_save_button(staff_login, cast, backup) -> None:
    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    client = staff_login(cast.support)
    job = Job.objects.create(kind=Job.Kind.EXPORT, account=cast.account, status=Job.Status.SUCCEEDED)
    for url in (f"/beheer/backups/backup/{backup.pk}/change/", f"/beheer/backups/job/{job.pk}/change/"):
        page = main(client.get(url))
        assert page and 'name="_save"' not in page, url
    assert 'name="_save"' in main(client.get(f"/beheer/administrations/right/{Right.objects.first().pk}/change/"))


def test_the_index_has_one_taken_section(support, cast) -> None:
    page = main(support.get("/beheer/"))
    assert "app-django_q" not in page and "Taakwachtrij" not in page
    assert "django_q" not in page
    assert re.findall(r">\s*Taken\s*<", page) == [">Taken<"]


def test_the_back_up_list_is_short_enough_for_a_laptop(helpdesk, backup) -> None:
    page = main(helpdesk.get("/beheer/backups/backup/"))
    headers = re.findall(r'<th scope="col"', page)
    assert len(headers) <= 7  # the checkbox column included
    assert re.search(r"\b\d+(,\d)? [kK]B\b", text(page)) and "Bakkerij Test" in text(page)


def test_the_job_log_shows_steps_and_an_expected_failure_in_one_line(
    support, cast, django_capture_on_commit_callbacks
) -> None:
    administration = administration_create(
        account=cast.account,
        name="Stappen",
        target=Target(Location.ONLINE),
        populate=lambda e: bookkeeping.fill(e, lines=5),
    )
    with django_capture_on_commit_callbacks(execute=True):
        done = backup_create(administration=administration, user=cast.owner)
    page = text(main(support.get(f"/beheer/backups/job/{done.pk}/change/")))
    assert "Back-up controleren" in page and "Back-up opslaan" in page

    # The administration's file is gone: an expected failure, with the customer's message and one log line.
    with django_capture_on_commit_callbacks(execute=True):
        failed = backup_create(administration=cast.administration, user=cast.owner)
    failed.refresh_from_db()
    assert failed.status == Job.Status.FAILED
    page = text(main(support.get(f"/beheer/backups/job/{failed.pk}/change/")))
    assert "Mislukt: missing sqlite file" in page and "Traceback" not in page


def test_the_dutch_admin_reads_dutch(staff_login, cast, backup) -> None:
    cast.support.is_superuser = True
    cast.support.save()
    client = staff_login(cast.support)
    index = text(main(client.get("/beheer/")))
    assert "Mislukte taken" in index and "Failed tasks" not in index
    page = text(main(client.get(f"/beheer/backups/backup/{backup.pk}/change/")))
    assert "Gemaakt door" in page and "Created by" not in page
    failures = text(main(client.get("/beheer/django_q/failure/")))
    assert "Mislukte taken" in failures or "Mislukte taak" in failures
