"""Multi-step work on administrations."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from django.db import IntegrityError, transaction
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
from administrations.models import Account, Administration, DatabaseServer, Location


def target_location(
    *,
    location: str,
    local_path: str = "",
    server: DatabaseServer | None = None,
    database_name: str = "",
    login_method: str = "",
    login_user: str = "",
    password: str = "",
) -> DatabaseLocation:
    """Where a new administration's database will be made (R15–R18)."""
    if location == Location.ONLINE:
        return online_location()
    if location == Location.LOCAL:
        return local_location(local_path)
    if server is None:
        raise DatabaseError(_("Kies een geregistreerde SQL-server."), "network target without server")
    return network_location(server, database_name, login_method=login_method, user=login_user, password=password)


def administration_create(
    *,
    account: Account,
    name: str,
    location: str,
    created_by=None,
    with_schema: bool = True,
    populate: Callable[[sa.Engine], object] | None = None,
    **target: object,
) -> Administration:
    """Create a new, empty administration database and its row. Nothing existing is reused: a name that is
    taken, or a database that exists, is refused; a failure half-way removes the database made here.
    `populate` fills the new database before the administration becomes visible."""
    if Administration.objects.filter(account=account, name=name).exists():
        raise DatabaseError(
            _("Er bestaat al een administratie met de naam ‘%(name)s’.") % {"name": name}, f"name taken: {name}"
        )
    db = target_location(location=location, **target)  # type: ignore[arg-type]
    database_create(db)
    try:
        if with_schema or populate:
            engine = database_connect(db)
            try:
                if with_schema:
                    bookkeeping.create_schema(engine)
                if populate:
                    populate(engine)
            finally:
                engine.dispose()
        with transaction.atomic():
            return Administration.objects.create(
                account=account,
                name=name,
                location=location,
                engine=db.engine,
                database_name=stored_name(db, location),
                server=target.get("server"),
                login_method=str(target.get("login_method") or ""),
                login_user=str(target.get("login_user") or ""),
                created_by=created_by,
            )
    except IntegrityError:
        database_drop(db)
        raise DatabaseError(
            _("Er bestaat al een administratie met de naam ‘%(name)s’.") % {"name": name}, f"name taken: {name}"
        ) from None
    except BaseException:
        database_drop(db)
        raise
