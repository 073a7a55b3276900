"""What the back-up tests share: comparing databases table by table, and the real sample files."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from administrations import bookkeeping
from administrations.databases import DatabaseLocation, database_connect, database_create
from tests.bacpac.samples import SAMPLES


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.bacpac"))


def normalised(value: Any) -> Any:
    """One comparable form per value whatever the database: SQLite keeps no time zones and stores UUIDs as hex."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value):
        return value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def table_checksums(location: DatabaseLocation) -> dict[str, tuple[int, str]]:
    """Per table: the row count and a SHA-256 over all rows in primary-key order, values normalised."""
    engine = database_connect(location)
    try:
        inspector = sa.inspect(engine)
        result: dict[str, tuple[int, str]] = {}
        with engine.connect() as conn:
            for name in sorted(inspector.get_table_names()):
                table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                order = list(table.primary_key.columns) or list(table.columns)
                digest = hashlib.sha256()
                count = 0
                for row in conn.execute(sa.select(table).order_by(*order)):
                    digest.update(repr(tuple(normalised(v) for v in row)).encode())
                    count += 1
                result[name] = (count, digest.hexdigest())
        return result
    finally:
        engine.dispose()


def bookkeeping_database(location: DatabaseLocation, *, lines: int) -> DatabaseLocation:
    database_create(location)
    engine = database_connect(location)
    try:
        bookkeeping.create_schema(engine)
        bookkeeping.fill(engine, lines=lines)
    finally:
        engine.dispose()
    return location
