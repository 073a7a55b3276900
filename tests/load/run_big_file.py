"""Upload and download of a large back-up (1 GB by default) through the real server: gunicorn with one worker
process beside a django-q2 cluster, on PostgreSQL and a Redis server of its own, only on 127.0.0.1.

    .venv/bin/python tests/load/run_big_file.py [--megabytes 1024]

Makes a real administration with incompressible attachments, exports it with the native engine into a .bacpac of
about that size, uploads it through the portal (the upload check then verifies and keeps it), downloads the kept
back-up again and compares the bytes. Reports the peak memory (VmHWM) of the gunicorn worker that served it and
the throughput, next to a plain file copy of the same file in the same run. Everything made is removed after.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.load.run_load import PASSWORD, Stack, csrf


def make_bacpac(folder: Path, megabytes: int, env: dict[str, str]) -> Path:
    """A SQLite administration with one table of 1 MB random attachments, exported as a real .bacpac."""
    code = f"""
import os, sqlalchemy as sa
from administrations.databases import DatabaseLocation, database_create, database_connect
from administrations.models import DatabaseEngine
from backups.engines import native
location = DatabaseLocation(engine=DatabaseEngine.SQLITE, name={str(folder / "groot.sqlite3")!r})
database_create(location)
engine = database_connect(location)
meta = sa.MetaData()
table = sa.Table("bijlagen", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("inhoud", sa.LargeBinary))
meta.create_all(engine)
with engine.begin() as conn:
    for start in range(0, {megabytes}, 16):
        conn.execute(table.insert(), [{{"id": n, "inhoud": os.urandom(1024 * 1024)}} for n in range(start, min(start + 16, {megabytes}))])
engine.dispose()
native.export(location=location, target={str(folder / "groot.bacpac")!r}, database_name="Groot")
os.unlink(location.name)
"""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=Path(__file__).resolve().parents[2], env=env, check=True
    )
    return folder / "groot.bacpac"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def gunicorn_worker(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, f"expected one gunicorn worker, found {children}"
    return int(children[0])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    if not 1 <= args.megabytes <= 4096:
        raise SystemExit("--megabytes must be 1..4096")
    import httpx

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="portal-big-"))
    stack = Stack(folder, web_workers=1, q_workers=1, postgres=args.postgres)
    stack.env["BACKUP_UPLOAD_MAX_BYTES"] = str(8 * 1024**3)
    print(f"uptime before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    try:
        stack.up()
        bacpac = make_bacpac(folder, args.megabytes, stack.env)
        size = bacpac.stat().st_size
        expected = sha256(bacpac)
        started = time.monotonic()
        shutil.copyfile(bacpac, folder / "copy.bacpac")
        os.sync()
        copy_seconds = time.monotonic() - started
        (folder / "copy.bacpac").unlink()

        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from django.contrib.auth.models import User\n"
                "from administrations.models import Account, Membership, Package\n"
                f"u = User.objects.create_user('groot', 'groot@example.nl', {PASSWORD!r})\n"
                "a = Account.objects.create(name='Groot bedrijf', package=Package.INZICHT)\n"
                "Membership.objects.create(user=u, account=a, role=Membership.Role.MAIN)\n",
            ],
            cwd=Path(__file__).resolve().parents[2],
            env=stack.env,
            check=True,
        )
        worker = gunicorn_worker(stack.web.pid)
        base_rss = peak_rss_mb(worker)
        with httpx.Client(base_url=stack.url, timeout=600) as client:
            page = client.get("/inloggen/")
            client.post(
                "/inloggen/",
                data={"username": "groot", "password": PASSWORD, "csrfmiddlewaretoken": csrf(page.text)},
                headers={"Referer": f"{stack.url}/inloggen/"},
            )
            form = client.get("/back-ups/uploaden/")
            started = time.monotonic()
            with bacpac.open("rb") as handle:
                response = client.post(
                    "/back-ups/uploaden/",
                    data={"csrfmiddlewaretoken": csrf(form.text)},
                    files={"file": ("groot.bacpac", handle, "application/octet-stream")},
                    headers={"Referer": f"{stack.url}/back-ups/uploaden/"},
                )
            upload_seconds = time.monotonic() - started
            assert response.status_code == 302, f"upload answered {response.status_code}"
            after_upload = peak_rss_mb(worker)
            deadline = time.monotonic() + 900
            pk = None
            while pk is None:
                if time.monotonic() > deadline:
                    raise SystemExit("the upload was not kept within 15 minutes")
                time.sleep(2)
                found = re.findall(r'href="/back-ups/(\d+)/downloaden/"', client.get("/back-ups/").text)
                pk = int(found[0]) if found else None
            check_seconds = time.monotonic() - started - upload_seconds
            target = folder / "downloaded.bacpac"
            started = time.monotonic()
            with client.stream("GET", f"/back-ups/{pk}/downloaden/") as download, target.open("wb") as out:
                assert download.status_code == 200, f"download answered {download.status_code}"
                for chunk in download.iter_bytes(1024 * 1024):
                    out.write(chunk)
            download_seconds = time.monotonic() - started
        after_download = peak_rss_mb(worker)
        same = sha256(target) == expected
        mb = size / 1024**2
        print(f"uptime after:  {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        print(f"back-up: {mb:.0f} MB (a real .bacpac, verified and kept by the upload check: {check_seconds:.0f} s)")
        print(f"plain file copy:  {copy_seconds:6.1f} s  {mb / copy_seconds:7.1f} MB/s")
        print(f"upload via HTTP:  {upload_seconds:6.1f} s  {mb / upload_seconds:7.1f} MB/s")
        print(f"download via HTTP:{download_seconds:6.1f} s  {mb / download_seconds:7.1f} MB/s  same bytes: {same}")
        print(
            f"gunicorn worker peak memory (VmHWM): {base_rss:.0f} MB at start, {after_upload:.0f} MB after the "
            f"upload, {after_download:.0f} MB after the download"
        )
        ok = same and after_download < 150
        print("RESULT:", "ok" if ok else "NOT OK")
        if not ok:
            raise SystemExit(1)
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
