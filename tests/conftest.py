"""Shared test set-up: a small cast of users built once per test, the real PostgreSQL server, and every folder the
portal writes to moved into the test's own temporary directory."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from django.conf import settings as django_settings

from administrations.databases import DatabaseLocation, database_drop
from administrations.models import (
    Account,
    Administration,
    DatabaseEngine,
    DatabaseServer,
    Location,
    Membership,
    Package,
    Right,
)

pytest_plugins = ["tests.repo_guard"]

IN_CI = os.environ.get("CI", "").lower() == "true"
# Administration databases this test run makes carry a prefix of their own (worker subprocesses get it through the
# environment), so cleaning up after a test never touches another run's databases on the same server.
RUN_DATABASE_PREFIX = f"adm_t{uuid.uuid4().hex[:8]}_"
django_settings.ONLINE_DATABASE_PREFIX = RUN_DATABASE_PREFIX
os.environ["ONLINE_DATABASE_PREFIX"] = RUN_DATABASE_PREFIX
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    """SQLite administration databases made by the tests do not wait for the disk (PRAGMA synchronous=OFF): every
    CREATE TABLE and COMMIT would otherwise be an fsync, which was a third of the suite's time. Nothing a test checks
    depends on it: a test never survives a power cut, and a process killed mid-write loses nothing the operating
    system already has. Worker processes started by the fault tests keep SQLite's default."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def require_service(available: bool, reason: str) -> None:
    """Skip when a service is missing on a developer's machine; in CI a missing service is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service fails the run)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_folders(settings: Any, tmp_path: Path) -> None:
    # Real password hashing costs half a second per user; tests are not about hashing strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ONLINE_ADMINISTRATIONS_DIR = tmp_path / "online"
    settings.LOCAL_ADMINISTRATIONS_ROOT = tmp_path / "local"
    settings.LOCAL_ADMINISTRATIONS_ROOT.mkdir()
    settings.ONLINE_DATABASE_URL = ""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    # Jobs run in-process when their transaction commits (tests use django_capture_on_commit_callbacks).
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "backups")},
        },
    }


@pytest.fixture(scope="session")
def postgres_server() -> sa.URL:
    url = sa.make_url(POSTGRES_URL)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        available = True
    except sa.exc.OperationalError:
        available = False
    finally:
        engine.dispose()
    require_service(available, f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)}")
    return url


@pytest.fixture
def postgres_online(settings: Any, postgres_server: sa.URL) -> Iterator[sa.URL]:
    """Online administrations on the real PostgreSQL server; every database made by the test is dropped after."""
    settings.ONLINE_DATABASE_URL = postgres_server.set(database="").render_as_string(hide_password=False)
    before = _administration_databases(postgres_server)
    yield postgres_server
    # Only what this test made: other administrations on the same server are never touched.
    for name in _administration_databases(postgres_server) - before:
        database_drop(_pg_location(postgres_server, name))


@pytest.fixture
def postgres_database_name(postgres_server: sa.URL) -> Iterator[str]:
    """A fresh database name on the real server, dropped after the test whatever happened."""
    name = f"test_adm_{uuid.uuid4().hex[:12]}"
    yield name
    database_drop(_pg_location(postgres_server, name))


@pytest.fixture
def new_postgres_location(postgres_server: sa.URL) -> Iterator[Callable[[], DatabaseLocation]]:
    """Make locations for fresh databases on the real server; all of them are dropped after the test."""
    made: list[DatabaseLocation] = []

    def make() -> DatabaseLocation:
        location = _pg_location(postgres_server, f"test_adm_{uuid.uuid4().hex[:12]}")
        made.append(location)
        return location

    yield make
    for location in made:
        database_drop(location)


def _pg_location(url: sa.URL, name: str) -> DatabaseLocation:
    return DatabaseLocation(
        engine=DatabaseEngine.POSTGRESQL, name=name, host=url.host or "", port=url.port, user=url.username or ""
    )


def _administration_databases(url: sa.URL) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            pattern = RUN_DATABASE_PREFIX.replace("_", "\\_") + "%"
            query = sa.text("SELECT datname FROM pg_database WHERE datname LIKE :pattern")
            return set(conn.execute(query, {"pattern": pattern}).scalars())
    finally:
        engine.dispose()


@dataclass
class Cast:
    """Who is who in most tests: a customer with an extra user, an external user, an accountancy firm with a
    main user and a staff member, an outsider with an account of their own, and support staff."""

    owner: Any
    administrator: Any
    extra_user: Any
    external_user: Any
    firm_owner: Any
    firm_staff: Any
    outsider: Any
    support: Any
    account: Account
    firm: Account
    outsider_account: Account
    administration: Administration
    other_administration: Administration
    server: DatabaseServer


@pytest.fixture
def cast(django_user_model: Any) -> Cast:
    def user(name: str, **extra: Any) -> Any:
        return django_user_model.objects.create_user(name, f"{name}@example.nl", "geheim-wachtwoord", **extra)

    owner, administrator, extra_user, external_user = user("owner"), user("admin"), user("extra"), user("external")
    firm_owner, firm_staff, outsider = user("firmowner"), user("firmstaff"), user("outsider")
    support = user("support", is_staff=True)
    account = Account.objects.create(name="Bakkerij Test", package=Package.INZICHT)
    firm = Account.objects.create(name="Kantoor Test", package=Package.ACCOUNTANT)
    outsider_account = Account.objects.create(name="Ander Bedrijf", package=Package.INBALANS)
    Membership.objects.create(user=owner, account=account, role=Membership.Role.MAIN)
    Membership.objects.create(user=administrator, account=account, role=Membership.Role.ADMINISTRATOR)
    Membership.objects.create(user=extra_user, account=account, role=Membership.Role.STANDARD)
    Membership.objects.create(user=firm_owner, account=firm, role=Membership.Role.MAIN)
    Membership.objects.create(user=firm_staff, account=firm, role=Membership.Role.STANDARD)
    Membership.objects.create(user=outsider, account=outsider_account, role=Membership.Role.MAIN)
    administration = Administration.objects.create(
        account=account, name="Bakkerij Test", location=Location.ONLINE, engine="sqlite", database_name="a.sqlite3"
    )
    other = Administration.objects.create(
        account=outsider_account, name="Ander", location=Location.ONLINE, engine="sqlite", database_name="b.sqlite3"
    )
    Right.objects.create(administration=administration, grantee_kind=Right.Grantee.EXTRA_USER, user=extra_user)
    Right.objects.create(administration=administration, grantee_kind=Right.Grantee.EXTERNAL_USER, user=external_user)
    Right.objects.create(administration=administration, grantee_kind=Right.Grantee.FIRM, firm=firm)
    server = DatabaseServer.objects.create(
        account=account, name="KANTOOR-SRV", engine=DatabaseEngine.POSTGRESQL, host="127.0.0.1", port=5432
    )
    return Cast(
        owner=owner,
        administrator=administrator,
        extra_user=extra_user,
        external_user=external_user,
        firm_owner=firm_owner,
        firm_staff=firm_staff,
        outsider=outsider,
        support=support,
        account=account,
        firm=firm,
        outsider_account=outsider_account,
        administration=administration,
        other_administration=other,
        server=server,
    )


@pytest.fixture
def staff_login(client: Any) -> Callable[[Any], Any]:
    """Sign a staff user in to the admin as after password and second factor: a confirmed TOTP device, and the
    session marked as verified by it (what django-otp's login does after a correct code)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def login(user: Any) -> Any:
        device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return login


# The fixtures through which a test reaches the portal database (pytest-django's, directly or through others).
_PORTAL_DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
)


def uses_portal_database(item: pytest.Item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(
        _PORTAL_DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With TEST_PORTAL_DATABASE_ONLY=1 (the Makefile's second pass, with the portal database on PostgreSQL) only the
    tests that use the portal database run: the others (codec, engines on their own, settings) would run exactly as
    in the first pass."""
    if os.environ.get("TEST_PORTAL_DATABASE_ONLY") != "1":
        return
    kept = [item for item in items if uses_portal_database(item)]
    dropped = [item for item in items if not uses_portal_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a service call and every job it enqueues (django-q2 in sync mode, also jobs those jobs enqueue), then
    reload the job it returned."""
    from backups.models import Job

    def run(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            result = call(*args, **kwargs)
        if isinstance(result, Job):
            result.refresh_from_db()
        return result

    return run


@pytest.fixture
def redis_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    """django-q2 on the real Redis server (TEST_REDIS_URL), a queue of the test's own, emptied after."""
    import redis
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        available = True
    except redis.RedisError:
        available = False
    require_service(available, f"Redis is not reachable at {REDIS_URL}")
    # What REDIS_URL does in settings, applied to django-q2's already-loaded configuration.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", f"test-{uuid.uuid4().hex[:8]}")
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    broker = get_broker()
    yield broker
    broker.delete_queue()
