"""Multi-step work on administrations: where a new one goes (Target), making its database and row, removing a right."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from administrations import bookkeeping
from administrations.databases import (
    DatabaseError,
    DatabaseLocation,
    database_connect,
    database_create,
    database_drop,
    local_location,
    network_location,
    online_location,
    stored_name,
)
from administrations.models import Account, Administration, DatabaseServer, Location, Right

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from backups.models import Backup


@dataclass(frozen=True)
class Target:
    """Where a new administration goes (R15–R18): online, a local path inside the root, or a registered server."""

    location: str
    local_path: str = ""
    # Network: the database name on the server. Online: empty for a fresh name, or the one chosen earlier.
    server: DatabaseServer | None = None
    database_name: str = ""
    login_method: str = ""
    login_user: str = ""
    password: str = field(default="", repr=False)

    def to_params(self) -> dict[str, object]:
        """What a job keeps of the target (never the password: that travels encrypted in the job's secret)."""
        return {
            "location": self.location,
            "local_path": self.local_path,
            "server_id": self.server.pk if self.server else None,
            "database_name": self.database_name,
            "login_method": self.login_method,
            "login_user": self.login_user,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any], *, account: Account, password: str = "") -> Target:
        """The target `to_params` wrote; a server only when it is still one of `account`'s."""
        server_id = params.get("server_id")
        return cls(
            location=params["location"],
            local_path=params.get("local_path", ""),
            server=DatabaseServer.objects.filter(pk=server_id, account=account).first() if server_id else None,
            database_name=params.get("database_name", ""),
            login_method=params.get("login_method", ""),
            login_user=params.get("login_user", ""),
            password=password,
        )

    def database_location(self) -> DatabaseLocation:
        if self.location == Location.ONLINE:
            return online_location(self.database_name or None)
        if self.location == Location.LOCAL:
            return local_location(self.local_path)
        if self.server is None:
            raise DatabaseError(_("Kies een geregistreerde SQL-server."), "network target without server")
        return network_location(
            self.server,
            self.database_name,
            login_method=self.login_method,
            user=self.login_user,
            password=self.password,
        )


NAME_TAKEN = gettext_noop(
    "Er bestaat al een administratie met de naam ‘%(name)s’. Terugzetten maakt altijd een nieuwe administratie: "
    "kies een andere naam. Er is niets overschreven."
)


def name_taken_message(account: Account, name: str) -> str | None:
    """Why `name` cannot be the name of a new administration in `account` (R12: never an existing one), or None."""
    if Administration.objects.filter(account=account, name=name).exists():
        return _(NAME_TAKEN) % {"name": name}
    return None


@contextlib.contextmanager
def new_database(target: Target) -> Iterator[DatabaseLocation]:
    """A new, empty database for `target` (an existing one is refused); dropped again if the block fails."""
    db = target.database_location()
    database_create(db)
    try:
        yield db
    except BaseException:
        database_drop(db)
        raise


def administration_row(
    *,
    account: Account,
    name: str,
    target: Target,
    db: DatabaseLocation,
    created_by: User | None = None,
    restored_from: Backup | None = None,
) -> Administration:
    """The row of a new administration whose database `db` is ready. A name taken meanwhile is refused (the
    database constraint decides), so a caller inside `new_database` loses nothing and leaves nothing."""
    try:
        with transaction.atomic():
            return Administration.objects.create(
                account=account,
                name=name,
                location=target.location,
                engine=db.engine,
                database_name=stored_name(db, target.location),
                server=target.server,
                login_method=target.login_method,
                login_user=target.login_user,
                created_by=created_by,
                restored_from=restored_from,
            )
    except IntegrityError:
        raise DatabaseError(_(NAME_TAKEN) % {"name": name}, f"name taken during creation: {name}") from None


def administration_create(
    *,
    account: Account,
    name: str,
    target: Target,
    created_by: User | None = None,
    with_schema: bool = True,
    populate: Callable[[sa.Engine], object] | None = None,
) -> Administration:
    """A new administration with the bookkeeping schema (and what `populate` puts in it), as the demo and the tests
    make them. Restores and imports use `new_database` and `administration_row` themselves."""
    refused = name_taken_message(account, name)
    if refused:
        raise DatabaseError(refused, f"name taken: {name}")
    with new_database(target) as db:
        if with_schema or populate:
            engine = database_connect(db)
            try:
                if with_schema:
                    bookkeeping.create_schema(engine)
                if populate:
                    populate(engine)
            finally:
                engine.dispose()
        return administration_row(account=account, name=name, target=target, db=db, created_by=created_by)


# Sent inside the removal's transaction, just before a right goes; whatever a receiver raises stops the removal.
# Back-ups listen: a firm keeps a back-up up to that moment (backups.services.firm_backup_on_revoke).
right_removing = Signal()


def firm_revoke_backup_applies(right: Right) -> bool:
    """When a client removes a firm's right, the firm keeps a back-up up to that moment (its duty of care), if the
    administration is online and the right existed long enough (FIRM_REVOKE_BACKUP_MIN_DAYS)."""
    minimum = timedelta(days=settings.FIRM_REVOKE_BACKUP_MIN_DAYS)
    return (
        right.grantee_kind == Right.Grantee.FIRM
        and right.firm is not None
        and right.administration.location == Location.ONLINE
        and right.granted_at <= timezone.now() - minimum
    )


def right_remove(*, right: Right, user: User | None) -> None:
    """Remove a right, from the Rechten page or from an aftercare to-do alike."""
    with transaction.atomic():
        right_removing.send(sender=Right, right=right, user=user)
        right.delete()
