"""Multi-step work on administrations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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


def administration_create(
    *,
    account: Account,
    name: str,
    target: Target,
    created_by: User | None = None,
    with_schema: bool = True,
    populate: Callable[[sa.Engine], object] | None = None,
    load: Callable[[DatabaseLocation], object] | None = None,
    database_made: Callable[[], object] | None = None,
    restored_from: Backup | None = None,
    row_made: Callable[[Administration], object] | None = None,
) -> Administration:
    """Create a new administration database and its row. Nothing existing is reused: a name that is taken, or a
    database that exists, is refused; a failure half-way removes the database made here.

    Hooks, in order: `database_made` right after the new empty database exists (jobs record that it is theirs to
    clean up); `populate` fills it through an engine, `load` through its location (the back-up engines open their
    own connections); `row_made` runs in the row's transaction, so its failure undoes everything."""
    if Administration.objects.filter(account=account, name=name).exists():
        raise DatabaseError(
            _("Er bestaat al een administratie met de naam ‘%(name)s’.") % {"name": name}, f"name taken: {name}"
        )
    db = target.database_location()
    database_create(db)
    try:
        if database_made:
            database_made()
        if with_schema or populate:
            engine = database_connect(db)
            try:
                if with_schema:
                    bookkeeping.create_schema(engine)
                if populate:
                    populate(engine)
            finally:
                engine.dispose()
        if load:
            load(db)
        with transaction.atomic():
            administration = Administration.objects.create(
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
            if row_made:
                row_made(administration)
            return administration
    except IntegrityError:
        # Taken by someone else while the database was being filled.
        database_drop(db)
        raise DatabaseError(
            _("Er bestaat inmiddels al een administratie met de naam ‘%(name)s’. Er is niets overschreven.")
            % {"name": name},
            f"name taken during creation: {name}",
        ) from None
    except BaseException:
        database_drop(db)
        raise


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


def right_remove(*, right: Right, user: User | None) -> object | None:
    """Remove a right; for a firm's long-standing right on an online administration, first start the automatic
    back-up into the firm's overview. Returns that back-up's job, if any."""
    from backups.models import Backup
    from backups.services import backup_create

    job = None
    with transaction.atomic():
        if firm_revoke_backup_applies(right):
            job = backup_create(
                administration=right.administration,
                user=user,
                origin=Backup.Origin.AUTOMATIC_ON_REVOKE,
                account=right.firm,
            )
        right.delete()
    return job
