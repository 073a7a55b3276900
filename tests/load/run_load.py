"""A bounded load test of the portal as it runs in production: gunicorn and a django-q2 cluster with 2 workers, on
PostgreSQL (a database made for the run), a Redis server of its own and the filesystem or S3 for back-ups.

    .venv/bin/python tests/load/run_load.py [--users 50] [--rounds 1] [--max-seconds 240]

Each simulated user logs in, opens the overview, makes a back-up and waits until it is ready, downloads it and
uploads it again, then waits until the upload is kept. Afterwards every requested back-up must have ended exactly
once (one claim, one attempt, ready) and no request may have failed. Prints requests per second and the p50/p95
latency of the overview and of "Back-up maken". Only 127.0.0.1 is contacted; everything made is removed.
Not part of `make test`: it loads the machine on purpose.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
PASSWORD = "last-test-wachtwoord"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Stack:
    """PostgreSQL database, redis-server, gunicorn and qcluster for one run; stop() removes everything."""

    def __init__(self, folder: Path, *, web_workers: int, q_workers: int, postgres: str) -> None:
        self.folder = folder
        self.database = f"load_{uuid.uuid4().hex[:10]}"
        self.postgres = postgres.rstrip("/")
        self.redis_port, self.web_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.env = {
            **os.environ,
            "DATABASE_URL": f"{self.postgres}/{self.database}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "Q_CLUSTER_NAME": f"load-{uuid.uuid4().hex[:6]}",
            "Q_WORKERS": str(q_workers),
            "PORTAL_DATA_DIR": str(folder / "data"),
            "WEB_BIND": f"127.0.0.1:{self.web_port}",
            "WEB_WORKERS": str(web_workers),
            "LOG_LEVEL": "WARNING",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
        }

    def run(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPOSITORY, env=self.env, check=True)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            argv, cwd=REPOSITORY, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def up(self) -> None:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", self.database], check=True)
        self.start(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        self.run("migrate", "--noinput", "-v0")
        self.run("collectstatic", "--noinput", "-v0")
        self.web = self.start(
            "gunicorn", [str(Path(sys.executable).parent / "gunicorn"), "-c", "portal/gunicorn.conf.py", "portal.wsgi"]
        )
        self.start("qcluster", [sys.executable, "manage.py", "qcluster"])
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/gezondheid/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit("the portal did not become healthy in 60 s; see " + str(self.folder))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", self.database], check=False
        )


def seed(stack: Stack, users: int, lines: int) -> list[tuple[str, int]]:
    """One customer per simulated user, each with an online administration of `lines` journal lines."""
    code = f"""
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
hashed = make_password({PASSWORD!r})  # hashed once: logging in still checks it the real way
from administrations import bookkeeping
from administrations.models import Account, Membership, Package, Location
from administrations.services import Target, administration_create
for n in range({users}):
    user = User.objects.create(username=f"last{{n}}", email=f"last{{n}}@example.nl", password=hashed)
    account = Account.objects.create(name=f"Lastbedrijf {{n}}", package=Package.INZICHT)
    Membership.objects.create(user=user, account=account, role=Membership.Role.MAIN)
    adm = administration_create(account=account, name=f"Administratie {{n}}", target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines={lines}))
    print("SEEDED", user.username, adm.pk)
"""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPOSITORY,
        env=stack.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    seeded = [line.split()[1:] for line in out.splitlines() if line.startswith("SEEDED ")]
    return [(name, int(pk)) for name, pk in seeded]


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.failures: list[str] = []
        self.requests = 0

    def request(self, client, name: str, method: str, url: str, **kwargs):  # type: ignore[no-untyped-def]
        started = time.monotonic()
        try:
            response = client.request(method, url, **kwargs)
        except Exception as error:
            with self.lock:
                self.requests += 1
                self.failures.append(f"{name} {url}: {type(error).__name__}: {error}")
            raise
        elapsed = time.monotonic() - started
        with self.lock:
            self.requests += 1
            self.latencies[name].append(elapsed)
            if response.status_code >= 400:
                self.failures.append(f"{name} {url}: HTTP {response.status_code}")
        return response


def csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def ready_downloads(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/back-ups/(\d+)/downloaden/"', html)}


def simulated_user(
    base: str, username: str, administration: int, rounds: int, recorder: Recorder, deadline: float
) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=120, follow_redirects=False) as client:
        page = recorder.request(client, "inloggen (GET)", "GET", "/inloggen/")
        response = recorder.request(
            client,
            "inloggen (POST)",
            "POST",
            "/inloggen/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf(page.text)},
            headers={"Referer": f"{base}/inloggen/"},
        )
        assert response.status_code == 302, f"{username} could not log in"
        for _ in range(rounds):
            overview = recorder.request(client, "overzicht", "GET", "/back-ups/")
            known = ready_downloads(overview.text)
            administrations = recorder.request(client, "administraties", "GET", "/administraties/")
            recorder.request(
                client,
                "back-up maken",
                "POST",
                f"/back-ups/administratie/{administration}/maken/",
                data={"csrfmiddlewaretoken": csrf(administrations.text)},
                headers={"Referer": f"{base}/administraties/"},
            )
            new: set[int] = set()
            while not new:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{username}: back-up not ready before the deadline")
                time.sleep(1.0)
                new = ready_downloads(recorder.request(client, "overzicht", "GET", "/back-ups/").text) - known
            [pk] = new
            with client.stream("GET", f"/back-ups/{pk}/downloaden/") as download:
                started = time.monotonic()
                body = b"".join(download.iter_bytes())
                with recorder.lock:
                    recorder.requests += 1
                    recorder.latencies["downloaden"].append(time.monotonic() - started)
                    if download.status_code != 200:
                        recorder.failures.append(f"downloaden {pk}: HTTP {download.status_code}")
            form = recorder.request(client, "uploaden (GET)", "GET", "/back-ups/uploaden/")
            known = ready_downloads(recorder.request(client, "overzicht", "GET", "/back-ups/").text)
            recorder.request(
                client,
                "uploaden (POST)",
                "POST",
                "/back-ups/uploaden/",
                data={"csrfmiddlewaretoken": csrf(form.text)},
                files={"file": (f"{username}.bacpac", body, "application/octet-stream")},
                headers={"Referer": f"{base}/back-ups/uploaden/"},
            )
            kept: set[int] = set()
            while not kept:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{username}: upload not kept before the deadline")
                time.sleep(1.0)
                kept = ready_downloads(recorder.request(client, "overzicht", "GET", "/back-ups/").text) - known


def check_jobs(stack: Stack) -> str:
    code = """
from backups.models import Job, Backup
jobs = list(Job.objects.all())
bad = [j.pk for j in jobs if j.status != "succeeded" or j.attempts != 1 or j.log.count("claimed by ") != 1]
print("JOBS", len([j for j in jobs if j.kind == "export"]), len([j for j in jobs if j.kind == "verify_upload"]),
      Backup.objects.filter(status="ready").count(), Backup.objects.exclude(status="ready").count(), bad)
"""
    return (
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPOSITORY,
            env=stack.env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.split("JOBS ", 1)[1]
        .strip()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--lines", type=int, default=200, help="journal lines per administration")
    parser.add_argument("--max-seconds", type=int, default=240, help="the whole run stops after this")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--q-workers", type=int, default=2)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    if not 1 <= args.users <= 200 or not 1 <= args.rounds <= 5:
        raise SystemExit("--users must be 1..200 and --rounds 1..5: this is a bounded test")

    # A stop (Ctrl+C, SIGTERM) still removes everything the run made.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    stack = Stack(folder, web_workers=args.web_workers, q_workers=args.q_workers, postgres=args.postgres)
    print(f"uptime before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    try:
        stack.up()
        users = seed(stack, args.users, args.lines)
        recorder = Recorder()
        deadline = time.monotonic() + args.max_seconds
        errors: list[str] = []

        def run(name: str, pk: int) -> None:
            try:
                simulated_user(stack.url, name, pk, args.rounds, recorder, deadline)
            except Exception as error:
                errors.append(f"{name}: {type(error).__name__}: {error}")

        threads = [threading.Thread(target=run, args=user) for user in users]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic() + 5))
        elapsed = time.monotonic() - started
        print(f"uptime after:  {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        print(
            f"{args.users} users x {args.rounds} round(s), {args.web_workers} gunicorn workers, "
            f"{args.q_workers} job workers: {recorder.requests} requests in {elapsed:.1f} s = "
            f"{recorder.requests / elapsed:.1f} requests/s"
        )
        for name in (
            "overzicht",
            "back-up maken",
            "administraties",
            "downloaden",
            "uploaden (POST)",
            "inloggen (POST)",
        ):
            values = recorder.latencies.get(name, [])
            if values:
                print(
                    f"  {name:16} n={len(values):4}  p50={statistics.median(values) * 1000:7.0f} ms  "
                    f"p95={percentile(values, 95) * 1000:7.0f} ms"
                )
        exports, uploads, ready, not_ready, bad = check_jobs(stack).split(" ", 4)
        print(f"jobs: {exports} exports, {uploads} upload checks; back-ups ready {ready}, not ready {not_ready}")
        print(f"jobs not ended exactly once: {bad}")
        print(f"failed requests: {len(recorder.failures)}; users who did not finish: {len(errors)}")
        for line in (recorder.failures + errors)[:20]:
            print("  " + line)
        ok = (
            not recorder.failures
            and not errors
            and bad == "[]"
            and int(exports) == args.users * args.rounds
            and int(uploads) == args.users * args.rounds
            and int(not_ready) == 0
        )
        print("RESULT:", "ok" if ok else "NOT OK")
        if not ok:
            raise SystemExit(1)
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
