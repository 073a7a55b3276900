"""The administration-database layer: where an administration's own database lives, and creating, opening and
dropping it.

- online: a SQLite file in ONLINE_ADMINISTRATIONS_DIR, or a database on the ONLINE_DATABASE_URL server;
- local: a SQLite file the user places inside LOCAL_ADMINISTRATIONS_ROOT (never outside it);
- network: a database on a server registered for the account (PostgreSQL here; SQL Server in production).

Creating never reuses anything: an existing file or database with the same name is refused, so a restore can
never overwrite an administration.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

import sqlalchemy as sa
from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.errors import PortalError

if TYPE_CHECKING:
    from administrations.models import Administration, DatabaseServer


# Where an administration lives and how its database is reached: the choices of Administration's fields, defined
# here because this layer acts on them (administrations.models uses them, not the other way round).
class Location(models.TextChoices):
    ONLINE = "online", gettext_lazy("Online")
    LOCAL = "local", gettext_lazy("Lokaal")
    NETWORK = "network", gettext_lazy("Netwerk")


class DatabaseEngine(models.TextChoices):
    SQLITE = "sqlite", "SQLite"
    POSTGRESQL = "postgresql", "PostgreSQL"
    MSSQL = "mssql", "SQL Server"


class LoginMethod(models.TextChoices):
    WINDOWS = "windows", gettext_lazy("Windows-authenticatie")
    SQL = "sql", gettext_lazy("SQL-authenticatie")


class DatabaseError(PortalError):
    """A database that cannot be made, reached, read or dropped."""


class DatabaseExists(DatabaseError):
    pass


class UnsafeLocalPath(DatabaseError):
    pass


# Names we create ourselves; user-chosen names on network servers must match this too (letters, digits, _ and -).
DATABASE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,62}$")
SQLITE_SUFFIX = ".sqlite3"
# Local paths: each folder or file name well within the filesystems' 255 bytes (the suffix is added), the whole
# within Administration.database_name.
MAX_LOCAL_PART_LENGTH = 200
MAX_LOCAL_PATH_LENGTH = 400


@dataclass(frozen=True)
class DatabaseLocation:
    engine: str
    # SQLite: absolute path of the file. PostgreSQL / SQL Server: database name.
    name: str
    host: str = ""
    port: int | None = None
    user: str = ""
    password: str = field(default="", repr=False)
    login_method: str = ""

    @property
    def path(self) -> Path:
        assert self.engine == DatabaseEngine.SQLITE
        return Path(self.name)

    def url(self, database: str | None = None) -> sa.URL:
        database = database or self.name
        if self.engine == DatabaseEngine.SQLITE:
            return sa.URL.create("sqlite", database=database)
        if self.engine == DatabaseEngine.POSTGRESQL:
            return sa.URL.create(
                "postgresql+psycopg",
                username=self.user or None,
                password=self.password or None,
                host=self.host or None,
                port=self.port,
                database=database,
            )
        if self.engine == DatabaseEngine.MSSQL:
            # Not run here: SQL Server is not installable on this project's machines (see README).
            query = {"Encrypt": "yes", "TrustServerCertificate": "yes"}
            if self.login_method == LoginMethod.WINDOWS:
                query["Trusted_Connection"] = "yes"
            sql_login = self.login_method == LoginMethod.SQL
            return sa.URL.create(
                "mssql+mssqlpython",
                username=(self.user or None) if sql_login else None,
                password=(self.password or None) if sql_login else None,
                host=self.host or None,
                port=self.port,
                database=database,
                query=query,
            )
        raise ValueError(f"unknown engine {self.engine!r}")

    def describe(self) -> str:
        if self.engine == DatabaseEngine.SQLITE:
            return self.name
        return f"{self.engine}://{self.host}:{self.port}/{self.name}"


def fresh_database_name() -> str:
    """A name no administration has had: the configured prefix (always starting `adm_`) and a random part."""
    return f"{settings.ONLINE_DATABASE_PREFIX}{uuid.uuid4().hex}"


def online_location(database_name: str | None = None) -> DatabaseLocation:
    """A place for a new online administration: a fresh name, never an existing one."""
    if settings.ONLINE_DATABASE_URL:
        url = sa.make_url(settings.ONLINE_DATABASE_URL)
        return DatabaseLocation(
            engine=DatabaseEngine.POSTGRESQL,
            name=database_name or fresh_database_name(),
            host=url.host or "",
            port=url.port,
            user=url.username or "",
            password=url.password or "",
        )
    file_name = database_name or f"{fresh_database_name()}{SQLITE_SUFFIX}"
    return DatabaseLocation(
        engine=DatabaseEngine.SQLITE, name=str(Path(settings.ONLINE_ADMINISTRATIONS_DIR) / file_name)
    )


def resolve_local_path(relative: str, *, root: Path | None = None) -> Path:
    """The absolute path of a local administration file, refusing anything that would end up outside the root:
    absolute paths, drive letters, `..`, and symbolic links that point out."""
    root = Path(root or settings.LOCAL_ADMINISTRATIONS_ROOT).resolve()
    text = (relative or "").strip()
    refuse = UnsafeLocalPath(
        _("Kies een locatie binnen de map voor lokale administraties, zonder '..' of een volledig pad."),
        f"unsafe local path {relative!r}",
    )
    if not text or "\x00" in text:
        raise refuse
    windows = PureWindowsPath(text)
    posix = PurePosixPath(text.replace("\\", "/"))
    if posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts:
        raise refuse
    if not posix.parts:
        # ".", "./." and the like name the root itself, not a file in it.
        raise UnsafeLocalPath(
            _("Geef een bestandsnaam op, bijvoorbeeld 2024/bakkerij."), f"local path without a name {relative!r}"
        )
    if len(text) > MAX_LOCAL_PATH_LENGTH or any(len(part.encode()) > MAX_LOCAL_PART_LENGTH for part in posix.parts):
        raise UnsafeLocalPath(
            _(
                "Deze locatie is te lang: hoogstens %(part)s tekens per map- of bestandsnaam en %(total)s tekens in "
                "totaal."
            )
            % {"part": MAX_LOCAL_PART_LENGTH, "total": MAX_LOCAL_PATH_LENGTH},
            f"local path too long ({len(text)} characters)",
        )
    if not text.lower().endswith(SQLITE_SUFFIX):
        posix = posix.with_name(posix.name + SQLITE_SUFFIX)
    candidate = root.joinpath(*posix.parts)
    try:
        # Resolve links in the existing part of the path: a folder inside the root may be a link to elsewhere.
        resolved = candidate.resolve()
        if not resolved.is_relative_to(root) or resolved == root:
            raise refuse
        if candidate.is_symlink():
            raise refuse
    except OSError:
        # A name the filesystem will not take (too long for it, a loop of links): never a 500.
        raise refuse from None
    return resolved


def local_location(relative: str) -> DatabaseLocation:
    return DatabaseLocation(engine=DatabaseEngine.SQLITE, name=str(resolve_local_path(relative)))


def network_location(
    server: DatabaseServer, database_name: str, *, login_method: str, user: str = "", password: str = ""
) -> DatabaseLocation:
    if not DATABASE_NAME_RE.match(database_name):
        raise DatabaseError(
            _("Een databasenaam bestaat uit letters, cijfers, '_' en '-', en begint met een letter."),
            f"invalid database name {database_name!r}",
        )
    if login_method not in server.login_methods:
        raise DatabaseError(
            _("Deze inlogmethode is voor server %(server)s niet toegestaan.") % {"server": server.name},
            f"login method {login_method!r} not allowed on server {server.pk}",
        )
    if login_method == LoginMethod.SQL and not user:
        raise DatabaseError(_("Vul de gebruikersnaam voor SQL-verificatie in."), "missing SQL user")
    return DatabaseLocation(
        engine=server.engine,
        name=database_name,
        host=server.host,
        port=server.port,
        # Windows (integrated) authentication carries no password; on PostgreSQL it maps to trusted local auth.
        user=user if login_method == LoginMethod.SQL else (user or ""),
        password=password if login_method == LoginMethod.SQL else "",
        login_method=login_method,
    )


class UnsafeDatabaseName(DatabaseError):
    pass


# Online administrations on the PostgreSQL server are always named by us (online_location): never anything else on
# that server, such as the portal's own database.
ONLINE_DATABASE_NAME_RE = re.compile(r"^adm_[A-Za-z0-9_]{1,59}$")


def _unsafe_name(administration: Administration) -> UnsafeDatabaseName:
    return UnsafeDatabaseName(
        _(
            "De plek van deze administratie is ongeldig, dus er wordt niets mee gedaan. "
            "Neem contact op met de klantenservice."
        ),
        f"administration {administration.pk}: database name {administration.database_name!r} leaves its folder",
    )


def online_file(file_name: str, *, folder: Path | None = None) -> Path:
    """The SQLite file of an online administration: a plain file name directly inside the online folder. An
    absolute path, a drive, a separator, `..` or a link that points out is refused, whatever the row says."""
    folder = Path(folder or settings.ONLINE_ADMINISTRATIONS_DIR)
    text = file_name or ""
    refuse = UnsafeDatabaseName(
        _("Ongeldige bestandsnaam voor een online administratie."), f"unsafe online file name {file_name!r}"
    )
    if not text or text.startswith(".") or any(c in text for c in "/\\:\x00"):
        raise refuse
    path = folder / text
    if path.is_symlink() or path.resolve().parent != folder.resolve():
        raise refuse
    return path


def location_of(administration: Administration, *, password: str = "") -> DatabaseLocation:
    """Where an administration's database is, from its row; the layer's own check, so a row pointing outside the
    online folder or the local root (hand-edited, or from an old bug) is refused for open, back-up, restore and
    delete alike."""
    name = administration.database_name
    try:
        if administration.engine == DatabaseEngine.SQLITE:
            if administration.location == Location.LOCAL:
                return DatabaseLocation(engine=DatabaseEngine.SQLITE, name=str(resolve_local_path(name)))
            if administration.location == Location.ONLINE:
                return DatabaseLocation(engine=DatabaseEngine.SQLITE, name=str(online_file(name)))
            raise _unsafe_name(administration)
    except DatabaseError:
        raise _unsafe_name(administration) from None
    if administration.location == Location.NETWORK:
        server = administration.server
        assert server is not None
        if not DATABASE_NAME_RE.match(name):
            raise _unsafe_name(administration)
        return DatabaseLocation(
            engine=server.engine,
            name=name,
            host=server.host,
            port=server.port,
            user=administration.login_user,
            password=password,
            login_method=administration.login_method,
        )
    if not ONLINE_DATABASE_NAME_RE.match(name):
        raise _unsafe_name(administration)
    return online_location(name)


def stored_name(location: DatabaseLocation, administration_location: str) -> str:
    """What goes into Administration.database_name: SQLite paths relative to their folder, else the name."""
    if location.engine != DatabaseEngine.SQLITE:
        return location.name
    folder = (
        settings.LOCAL_ADMINISTRATIONS_ROOT
        if administration_location == Location.LOCAL
        else settings.ONLINE_ADMINISTRATIONS_DIR
    )
    return str(Path(location.name).resolve().relative_to(Path(folder).resolve()))


def _server_engine(location: DatabaseLocation) -> sa.Engine:
    # Names end up in CREATE/DROP DATABASE statements, which take no bind parameters: check them here.
    if not DATABASE_NAME_RE.match(location.name):
        raise DatabaseError(_("Ongeldige databasenaam."), f"invalid database name {location.name!r}")
    maintenance = "postgres" if location.engine == DatabaseEngine.POSTGRESQL else "master"
    return sa.create_engine(location.url(maintenance), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


# What the drivers say when the server answered but refused the login (PostgreSQL, SQL Server via ODBC).
_LOGIN_REFUSED = ("authentication failed", "login failed", "no password supplied", "password", 'role "')


def connection_failure_message(driver_text: str) -> str:
    """Tell an unreachable server apart from a refused login: the user fixes them in different places."""
    text = driver_text.lower()
    if any(marker in text for marker in _LOGIN_REFUSED):
        return _(
            "De databaseserver weigert de aanmelding. Controleer de gebruikersnaam en het wachtwoord, of de "
            "Windows-gebruiker van de server."
        )
    return _("De databaseserver is niet bereikbaar. Controleer of de server aan staat en of de naam en poort kloppen.")


@contextlib.contextmanager
def _maintenance_connection(location: DatabaseLocation) -> Iterator[sa.Connection]:
    """An autocommit connection to the server's maintenance database; an unreachable server or a refused login
    becomes a DatabaseError with a message for the user (the URL with its password is never in it)."""
    engine = _server_engine(location)
    try:
        with engine.connect() as conn:
            yield conn
    except sa.exc.OperationalError as error:
        first_line = str(error.orig).splitlines()[0] if error.orig else ""
        raise DatabaseError(
            connection_failure_message(str(error.orig or error)),
            f"{type(error).__name__} on {location.describe()}: {first_line}",
        ) from None
    finally:
        engine.dispose()


def database_exists(location: DatabaseLocation) -> bool:
    if location.engine == DatabaseEngine.SQLITE:
        return os.path.lexists(location.name)
    with _maintenance_connection(location) as conn:
        if location.engine == DatabaseEngine.POSTGRESQL:
            query = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
        else:
            query = sa.text("SELECT 1 WHERE DB_ID(:name) IS NOT NULL")
        return conn.execute(query, {"name": location.name}).first() is not None


def database_create(location: DatabaseLocation) -> None:
    """Create a new, empty database; refuse with DatabaseExists if anything is already there."""
    exists = DatabaseExists(
        _(
            "Er bestaat al een database op deze plek; kies een andere naam. Bestaande gegevens worden nooit overschreven."
        ),
        f"database already exists: {location.describe()}",
    )
    if location.engine == DatabaseEngine.SQLITE:
        path = location.path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # O_EXCL: fails on any existing entry, dangling links included, without a check-then-create race.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise exists from None
        os.close(fd)
        return
    if database_exists(location):
        raise exists
    with _maintenance_connection(location) as conn:
        name = conn.dialect.identifier_preparer.quote_identifier(location.name)
        try:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        except sa.exc.ProgrammingError as error:
            # Made by someone else between our check and our CREATE: still never reuse it.
            if "already exists" in str(error):
                raise exists from None
            raise


def database_connect(location: DatabaseLocation) -> sa.Engine:
    """An SQLAlchemy engine on the administration database. The caller disposes it."""
    if location.engine == DatabaseEngine.SQLITE and not location.path.exists():
        raise DatabaseError(_("Het administratiebestand is niet gevonden."), f"missing sqlite file {location.name}")
    return sa.create_engine(location.url(), poolclass=sa.NullPool)


def database_drop(location: DatabaseLocation) -> None:
    """Remove a database made by us (e.g. the half-made target of a failed restore). Missing is fine."""
    if location.engine == DatabaseEngine.SQLITE:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(location.name + suffix)
        return
    with _maintenance_connection(location) as conn:
        name = conn.dialect.identifier_preparer.quote_identifier(location.name)
        if location.engine == DatabaseEngine.POSTGRESQL:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            conn.execute(sa.text(f"IF DB_ID(N'{location.name}') IS NOT NULL DROP DATABASE {name}"))
