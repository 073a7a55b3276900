"""/gezondheid/ for a load balancer: web, database, broker and storage, 200 or 503, with the queue depth and the
oldest queued job; the same queue figures on a read-only page for support in the admin."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_q.conf import Conf

from backups.models import Job
from tests.faults.conftest import free_port

pytestmark = pytest.mark.django_db


def queued_jobs(cast) -> list[Job]:
    now = timezone.now()
    return [
        Job.objects.create(kind=Job.Kind.RESTORE, account=cast.account, queued_at=now - timedelta(seconds=age))
        for age in (5, 90, 30)
    ]


def test_all_parts_answer_and_the_queue_is_shown(client, cast) -> None:
    jobs = queued_jobs(cast)
    Job.objects.create(kind=Job.Kind.RESTORE, account=cast.account, status=Job.Status.RUNNING)

    response = client.get("/gezondheid/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "web": True,
        "database": True,
        "broker": True,
        "storage": True,
    }
    assert body["queue"]["queued"] == 3 and body["queue"]["running"] == 1
    assert body["queue"]["oldest_queued_job"] == jobs[1].pk
    assert 90 <= body["queue"]["oldest_queued_seconds"] < 120
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_real_redis_broker_answers(client, redis_broker) -> None:
    response = client.get("/gezondheid/")
    assert response.status_code == 200 and response.json()["checks"]["broker"]["ok"] is True


def test_a_broker_that_does_not_answer_makes_it_503(client, monkeypatch) -> None:
    # A port nobody listens on: the broker is down.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/gezondheid/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fout"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True and body["checks"]["storage"]["ok"] is True
    assert "Error" not in response.content.decode(), "no error details for an anonymous caller"


def test_storage_that_cannot_be_written_makes_it_503(client, settings, tmp_path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the back-up folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocked)}},
    }
    response = client.get("/gezondheid/")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False


def test_support_sees_the_queue_read_only_in_the_admin(client, cast, staff_login) -> None:
    jobs = queued_jobs(cast)
    cast.support.user_permissions.add(Permission.objects.get(codename="view_job"))
    staff_login(cast.support)

    changelist = client.get("/beheer/backups/job/").content.decode()
    tools = element(changelist, "ul", 'class="object-tools"')
    [(href, label)] = re.findall(r'<a href="([^"]+/wachtrij/)">([^<]+)</a>', tools)
    assert label.strip() == "Wachtrij"

    page = client.get(href).content.decode()
    summary = element(page, "table", 'id="wachtrij"')
    rows = {text(th): text(td) for th, td in re.findall(r"<th[^>]*>(.*?)</th>\s*<td>(.*?)</td>", summary, flags=re.S)}
    assert rows["In de wachtrij"] == "3" and rows["Bezig"] == "0"
    assert re.fullmatch(rf"#{jobs[1].pk}, wacht (9\d|1\d\d) s", rows["Oudste taak in de wachtrij"])
    waiting = element(page, "table", 'id="wachtende-taken"')
    assert len(re.findall(r"<tr>", element(waiting, "tbody", ""))) == 3
    assert "<form" not in element(page, "div", 'id="content-main"'), "read-only: nothing to submit"


def element(html: str, tag: str, attribute: str) -> str:
    """The inside of the first <tag ...attribute...> element (no nesting of the same tag in what we look at)."""
    match = re.search(rf"<{tag}[^>]*{re.escape(attribute)}[^>]*>(.*?)</{tag}>", html, flags=re.S)
    assert match, f"no <{tag} {attribute}> on the page"
    return match.group(1)


def text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split()).replace(" ,", ",")


def test_the_queue_page_needs_the_view_right(client, cast, django_user_model, staff_login) -> None:
    staff = django_user_model.objects.create_user(f"staf-{uuid.uuid4().hex[:6]}", password="x", is_staff=True)
    staff_login(staff)
    assert client.get("/beheer/backups/job/wachtrij/").status_code == 403
