"""Real parts for the fault tests: a portal database on the PostgreSQL server that the test and its worker
processes share, a Redis server of the test's own (so it can be restarted), `manage.py qcluster` as subprocesses,
and bookkeeping administrations large enough that a job runs for seconds."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import dj_database_url
import psycopg
import pytest
import redis
import sqlalchemy as sa
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django_q.conf import Conf
from django_q.models import Schedule

from administrations import bookkeeping
from administrations.databases import DatabaseLocation, database_connect, database_create
from administrations.models import Account, Administration, DatabaseEngine, Location, Membership, Package
from backups.engines import native
from backups.models import Backup, Job
from portal.texts import render_stored
from tests.conftest import require_service

REPOSITORY = Path(__file__).resolve().parents[2]
# Journal lines of the "large" administration: a back-up of it takes several seconds on this machine.
LARGE_LINES = int(os.environ.get("FAULT_TEST_LINES", "40000"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# The workers run with DEBUG off, so they need a key of their own; django-q2 signs the messages with it, and the
# test process (which enqueues) uses the same one for that.
WORKER_SECRET_KEY = secrets.token_urlsafe(50)


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------------ portal database


@pytest.fixture(scope="session")
def faults_portal_url(postgres_server: sa.URL) -> Iterator[str]:
    """A migrated portal database on the PostgreSQL server, made for these tests and dropped after them."""
    name = f"test_faults_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_server, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = f"postgres://{postgres_server.username or 'postgres'}@{postgres_server.host}:{postgres_server.port or 5432}/{name}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": WORKER_SECRET_KEY}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPOSITORY, env=env, check=True, timeout=300
    )
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def shared_db(faults_portal_url: str, django_db_blocker: Any) -> Iterator[str]:
    """The test process uses the shared portal database too (autocommit, like the workers), emptied after."""
    config = connections.configure_settings({DEFAULT_DB_ALIAS: dj_database_url.parse(faults_portal_url)})
    wrapper = load_backend(config[DEFAULT_DB_ALIAS]["ENGINE"]).DatabaseWrapper(config[DEFAULT_DB_ALIAS])
    previous = connections[DEFAULT_DB_ALIAS]
    with django_db_blocker.unblock():
        connections[DEFAULT_DB_ALIAS] = wrapper
        # The tests run the reaper themselves, when they mean to; the workers' scheduler does not.
        Schedule.objects.all().delete()
        try:
            yield faults_portal_url
        finally:
            try:
                call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
            finally:
                wrapper.close()
                connections[DEFAULT_DB_ALIAS] = previous


# ------------------------------------------------------------------------------------------------ Redis and workers


class OwnRedis:
    """A redis-server of this test alone, keeping nothing on disk, that the test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout=10, what="the test's own redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[OwnRedis]:
    require_service(Path(REDIS_SERVER).exists(), f"redis-server is not installed ({REDIS_SERVER})")
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(redis_server: OwnRedis, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[OwnRedis]:
    """The session's redis-server, empty, under a cluster name of this test's own; a test may stop and restart it
    (the next test gets it running again)."""
    if redis_server.process is None:
        redis_server.start()
    redis.Redis.from_url(redis_server.url).flushall()
    # What REDIS_URL does in settings, applied to django-q2's already-loaded configuration.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", redis_server.url)
    name = f"faults-{uuid.uuid4().hex[:8]}"
    # Q_CLUSTER_NAME in the workers' environment names both; the name is also the salt of the signed messages.
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    monkeypatch.setattr(Conf, "PREFIX", name)
    monkeypatch.setattr(Conf, "SECRET_KEY", WORKER_SECRET_KEY)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    yield redis_server
    if redis_server.process is None:
        redis_server.start()


@dataclass
class Cluster:
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """kill -9 of the whole cluster (its sentinel, pusher, monitor and workers): a worker machine lost. Also how
        a test ends its clusters: nothing is left to finish gracefully once the test has its answer."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Workers:
    """Starts `manage.py qcluster` processes on the shared portal database, the test's Redis and folders."""

    env: dict[str, str]
    folder: Path
    started: list[Cluster] = field(default_factory=list)

    def start(self, **overrides: str) -> Cluster:
        log = self.folder / f"qcluster-{len(self.started)}.log"
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPOSITORY,
            env={**self.env, **overrides},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        cluster = Cluster(process, log)
        self.started.append(cluster)
        return cluster

    @contextlib.contextmanager
    def hold(self, job: Job) -> Iterator[Latch]:
        """Hold the job's row, so that its worker stops at its next progress report (see Latch)."""
        latch = Latch(self.env["DATABASE_URL"], job.pk)
        try:
            yield latch
        finally:
            latch.close()


@pytest.fixture
def workers(shared_db: str, own_redis: OwnRedis, settings: Any, tmp_path: Path) -> Iterator[Workers]:
    settings.JOB_STALE_SECONDS = 3
    settings.JOB_QUEUED_STALE_SECONDS = 2
    env = {
        **os.environ,
        "DATABASE_URL": shared_db,
        "REDIS_URL": own_redis.url,
        "Q_CLUSTER_NAME": Conf.CLUSTER_NAME,
        "SECRET_KEY": WORKER_SECRET_KEY,
        "Q_WORKERS": "1",
        "Q_SYNC": "false",
        "JOB_STALE_SECONDS": str(settings.JOB_STALE_SECONDS),
        "JOB_QUEUED_STALE_SECONDS": str(settings.JOB_QUEUED_STALE_SECONDS),
        "PORTAL_DATA_DIR": str(settings.DATA_DIR),
        "BACKUP_DIR": settings.STORAGES["backups"]["OPTIONS"]["location"],
        "ONLINE_ADMINISTRATIONS_DIR": str(settings.ONLINE_ADMINISTRATIONS_DIR),
        "LOCAL_ADMINISTRATIONS_ROOT": str(settings.LOCAL_ADMINISTRATIONS_ROOT),
        "FILE_UPLOAD_TEMP_DIR": str(Path(settings.DATA_DIR) / "uploads"),
        "LOG_LEVEL": "INFO",
    }
    env.pop("BACKUP_S3_BUCKET", None)
    pool = Workers(env=env, folder=tmp_path)
    try:
        yield pool
    finally:
        for cluster in pool.started:
            cluster.kill()


class JobRow(NamedTuple):
    status: str
    progress: int
    phase: str


class Latch:
    """A pause point in a running job that does not depend on the machine's speed. Every progress report of a job
    (and its claim and its end) updates the job's row; the latch holds that row's lock (SELECT … FOR UPDATE), so the
    worker stops at its next report, exactly where a slow database would stop it. `step()` lets exactly one report
    through: the lock is handed to a second connection that queued behind the waiting worker, so the worker's
    following report waits again. `row` is what the worker last reported, so the test knows where it stands."""

    def __init__(self, url: str, job_id: int) -> None:
        self.job_id = job_id
        self.watch = psycopg.connect(url, autocommit=True)
        self.holder, self.spare = psycopg.connect(url), psycopg.connect(url)
        self.row = self._lock(self.holder)
        self.closing = threading.Event()
        self.releasers: list[threading.Thread] = []

    def _lock(self, conn: psycopg.Connection[Any]) -> JobRow:
        query = f'SELECT status, progress, phase, phase_params FROM "{Job._meta.db_table}" WHERE id = %s FOR UPDATE'  # noqa: S608
        found = conn.execute(query, (self.job_id,)).fetchone()
        assert found is not None, f"job {self.job_id} does not exist"
        status, progress, phase, params = found
        # The phase as the job page shows it: stored as source text and parameters.
        return JobRow(status, progress, render_stored(phase, params))

    def _blocked_by(self, conn: psycopg.Connection[Any]) -> list[int]:
        """The backends waiting for a lock `conn` holds."""
        query = "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
        return [pid for (pid,) in self.watch.execute(query, (conn.info.backend_pid,))]

    def _waits(self, pid: int) -> bool:
        found = self.watch.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,)).fetchone()
        return bool(found and found[0])

    def step(self) -> JobRow:
        """Wait until the worker stands at its next report, let that one report through, and hold the row again."""
        assert self.row.status in (Job.Status.QUEUED, Job.Status.RUNNING), f"job {self.job_id} has ended: {self.row}"
        holder, spare = self.holder, self.spare
        wait_for(lambda: self._blocked_by(holder), timeout=60, what="the worker to reach its next report", every=0.01)
        taken: list[JobRow] = []
        queued = threading.Thread(target=lambda: taken.append(self._lock(spare)), daemon=True)
        queued.start()
        wait_for(lambda: self._waits(spare.info.backend_pid), timeout=10, what="the latch to queue", every=0.005)
        holder.commit()  # the worker's report goes through, then the spare connection has the row
        queued.join(timeout=60)
        assert taken, "the latch did not get the job's row back"
        self.holder, self.spare, self.row = spare, holder, taken[0]
        return self.row

    def step_until(self, reached: Callable[[JobRow], bool]) -> JobRow:
        while not reached(self.row):
            self.step()
        return self.row

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run a statement in the holding transaction: it is committed with the next step."""
        self.holder.execute(sql, params)

    def release_once_waiting(self, pid: int) -> None:
        """Let go of the row (from another thread) as soon as backend `pid`, the test's own, waits for it too: the
        test's next statement on the job's row then goes through right behind the worker's pending report."""

        def release() -> None:
            deadline = time.monotonic() + 60
            while not self.closing.is_set() and time.monotonic() < deadline:
                if self._waits(pid):
                    self.holder.rollback()
                    return
                self.closing.wait(0.01)

        thread = threading.Thread(target=release, daemon=True)
        thread.start()
        self.releasers.append(thread)

    def close(self) -> None:
        self.closing.set()
        for thread in self.releasers:
            thread.join(timeout=10)
        for conn in (self.holder, self.spare, self.watch):
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            conn.close()


def own_backend_pid() -> int:
    """The PostgreSQL backend of the test process's own portal-database connection."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def kill_worker(job: Job) -> int:
    """kill -9 of the worker process that runs the job; returns once it is dead."""
    job.refresh_from_db()
    pid = worker_pid(job)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _alive(pid), timeout=10, what=f"worker {pid} to die", every=0.01)
    return pid


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie waits for its parent to collect it, but runs no more


def worker_pid(job: Job) -> int:
    """The pid of the worker process that claimed the job (the claim writes it into the job's log)."""
    for line in job.log.splitlines():
        if line.startswith("claimed by "):
            return int(line.rsplit(" ", 1)[1])
    raise AssertionError(f"job {job.pk} was not claimed: {job.log!r}")


def claims(job: Job) -> int:
    return sum(1 for line in job.log.splitlines() if line.startswith("claimed by "))


# ------------------------------------------------------------------------------------------------ data


@pytest.fixture(scope="session")
def large_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bookkeeping administration of LARGE_LINES journal lines, made once and copied into each test."""
    path = tmp_path_factory.mktemp("large") / "large.sqlite3"
    location = DatabaseLocation(engine=DatabaseEngine.SQLITE, name=str(path))
    database_create(location)
    engine = database_connect(location)
    try:
        bookkeeping.create_schema(engine)
        bookkeeping.fill(engine, lines=LARGE_LINES)
    finally:
        engine.dispose()
    return path


@pytest.fixture(scope="session")
def large_bacpac(large_sqlite: Path) -> Path:
    path = large_sqlite.with_suffix(".bacpac")
    native.export(
        location=DatabaseLocation(engine=DatabaseEngine.SQLITE, name=str(large_sqlite)),
        target=path,
        database_name="Groot",
    )
    return path


@dataclass
class Customer:
    account: Account
    user: Any

    def online_sqlite(self, source: Path, name: str, settings: Any) -> Administration:
        """An online administration whose SQLite file is a copy of `source`."""
        folder = Path(settings.ONLINE_ADMINISTRATIONS_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        file_name = f"adm_{uuid.uuid4().hex}.sqlite3"
        shutil.copyfile(source, folder / file_name)
        return Administration.objects.create(
            account=self.account, name=name, location=Location.ONLINE, engine="sqlite", database_name=file_name
        )

    def ready_backup(self, bacpac: Path, settings: Any) -> Backup:
        """A ready back-up in storage holding a copy of `bacpac`."""
        name = f"account-{self.account.pk}/{uuid.uuid4().hex}.bacpac"
        target = Path(settings.STORAGES["backups"]["OPTIONS"]["location"]) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bacpac, target)
        return Backup.objects.create(
            account=self.account,
            administration_name="Groot",
            origin=Backup.Origin.MANUAL,
            status=Backup.Status.READY,
            file_name=name,
            size=target.stat().st_size,
            sha256=file_sha256(target),
            created_by=self.user,
        )


def make_customer(name: str = "klant") -> Customer:
    # Not pytest-django's django_user_model: that one asks for its test database, and these tests share theirs.
    from django.contrib.auth.models import User

    user = User.objects.create_user(name, f"{name}@example.nl", "geheim-wachtwoord")
    account = Account.objects.create(name=f"Bedrijf {name}", package=Package.INZICHT)
    Membership.objects.create(user=user, account=account, role=Membership.Role.MAIN)
    return Customer(account=account, user=user)


def leftovers(settings: Any) -> dict[str, list[str]]:
    """Everything a job may leave behind in the folders: work files, temporary storage files, staged uploads."""
    data = Path(settings.DATA_DIR)
    storage_root = Path(settings.STORAGES["backups"]["OPTIONS"]["location"])

    def names(folder: Path) -> list[str]:
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    return {
        "work": names(data / "work"),
        "storage tmp": names(storage_root / "tmp"),
        "staged uploads": names(data / "uploads" / "staged"),
    }


NOTHING_LEFT: dict[str, list[str]] = {"work": [], "storage tmp": [], "staged uploads": []}
