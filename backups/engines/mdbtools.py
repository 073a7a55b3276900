"""The engine that reads old Microsoft Access / Jet administration files (.mdb) for Toevoegen → Bestaande
administratie (R14; started and run in backups.restores, beside the restore of a .bacpac).

The file is read with Debian's mdbtools (`mdb-ver`, `mdb-tables`, `mdb-schema`, `mdb-json`); nothing of Access runs
here. Rows come out of `mdb-json` one line per row and go into the new database in batches, so memory stays flat
whatever the table size. Before mdbtools sees a file, its Jet header is checked by us: mdbtools happily reads a
truncated file and returns fewer rows without failing, and it ignores database passwords.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from administrations.databases import DatabaseLocation
from portal.errors import PortalError
from portal.texts import StoredText

Progress = Callable[[int, str], None]

BATCH_ROWS = 1_000
# mdb-json writes dates with this format (ours, so that we can parse them back without guessing the century).
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# A process reading a damaged file could otherwise hang a worker for ever.
TOOL_TIMEOUT_SECONDS = 120
# What mdbtools writes to stderr when it reads past the end of a file or meets a page it does not understand.
_DAMAGE_RE = re.compile(r"beyond EOF|Unrecognized format|reading page .* failed|Couldn't open|unable to open", re.I)

JET_MAGIC = b"\x00\x01\x00\x00"
JET_SIGNATURES = (b"Standard Jet DB\x00", b"Standard ACE DB\x00")
# Version byte at 0x14: 0 = Jet 3 (Access 97), 1 = Jet 4 (Access 2000–2003), 2 and up = ACE (.accdb, Access 2007+).
JET3, JET4 = 0, 1
# The part of the header Access scrambles with RC4 under a fixed key (the same in every file; see mdbtools file.c
# and Jackcess's JetFormat): it holds the database password.
_HEADER_KEY = bytes([0xC7, 0xDA, 0x39, 0x6B])
_HEADER_START = 0x18
_PASSWORD_OFFSET = 0x42
_HEADER_DATE_OFFSET = 0x72


class MdbError(PortalError):
    """A file we refuse or could not read."""


def _not_access() -> MdbError:
    return MdbError(
        _("Dit is geen Access-administratiebestand (.mdb). Kies het oorspronkelijke .mdb-bestand van de administratie.")
    )


def _damaged(detail: str) -> MdbError:
    return MdbError(
        _(
            "Het .mdb-bestand is beschadigd of niet volledig (bijvoorbeeld afgebroken tijdens het kopiëren). "
            "Kopieer het opnieuw van de oorspronkelijke computer en probeer het nog eens."
        ),
        detail,
    )


# ------------------------------------------------------------------------------------------------ the Jet header


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) & 0xFF
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) & 0xFF
        j = (j + state[i]) & 0xFF
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) & 0xFF])
    return bytes(out)


def header_password_bytes(header: bytes) -> bytes:
    """The database password as stored in a Jet 3 / Jet 4 header, unscrambled (all zeros when there is none).
    Jet 4 additionally XORs it with the whole-day part of the creation date stored at 0x72."""
    jet4 = header[0x14] == JET4
    scrambled_length, password_length = (128, 40) if jet4 else (126, 20)
    plain = _rc4(_HEADER_KEY, header[_HEADER_START : _HEADER_START + scrambled_length])
    plain = header[:_HEADER_START] + plain
    password = plain[_PASSWORD_OFFSET : _PASSWORD_OFFSET + password_length]
    if jet4:
        (created,) = struct.unpack("<d", plain[_HEADER_DATE_OFFSET : _HEADER_DATE_OFFSET + 8])
        mask = struct.pack("<i", int(created))
        password = bytes(b ^ mask[i % 4] for i, b in enumerate(password))
    return password


def header_check(path: Path) -> int:
    """Refuse what is not a readable Jet 3/4 file before mdbtools sees it; returns the Jet version byte."""
    with path.open("rb") as handle:
        header = handle.read(4096)
    if len(header) < 0x80 or header[:4] != JET_MAGIC or header[4:20] not in JET_SIGNATURES:
        raise _not_access()
    version = header[0x14]
    if version > JET4 or header[4:20] == JET_SIGNATURES[1]:
        raise MdbError(
            _(
                "Dit is een .accdb-bestand (Access 2007 of nieuwer). Dat kan nog niet worden toegevoegd: sla het in "
                "Access op als .mdb (Access 2002-2003) en probeer het opnieuw."
            ),
            f"ACE database, version byte {version}",
        )
    page_size = 2048 if version == JET3 else 4096
    size = path.stat().st_size
    # Access always writes whole pages: anything else was cut off on the way (mdbtools would not notice).
    if size < 2 * page_size or size % page_size:
        raise _damaged(f"size {size} is not a whole number of {page_size}-byte pages")
    if any(header_password_bytes(header)):
        raise MdbError(
            _(
                "Dit .mdb-bestand is met een wachtwoord beveiligd. Verwijder het wachtwoord in Access "
                "(Databasewachtwoord opheffen) en voeg het bestand daarna opnieuw toe."
            ),
            "database password set in the Jet header",
        )
    return version


# ------------------------------------------------------------------------------------------------ mdbtools


def tools_available() -> bool:
    return all(shutil.which(tool) for tool in ("mdb-ver", "mdb-tables", "mdb-schema", "mdb-json"))


def _run(*args: str) -> str:
    """Run one mdbtools command to completion (small outputs only: version, table list, schema)."""
    if not tools_available():
        raise MdbError(
            _(
                "Het inlezen van .mdb-bestanden is op deze server niet beschikbaar. Neem contact op met de klantenservice."
            ),
            "mdbtools is not installed",
        )
    try:
        done = subprocess.run(  # fixed program, no shell: arguments are a path and table names
            args, capture_output=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise _damaged(f"{args[0]} timed out") from None
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0 or _DAMAGE_RE.search(stderr):
        raise _damaged(f"{args[0]} exit {done.returncode}: {stderr[:500]}")
    return done.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class MdbColumn:
    name: str
    access_type: str
    size: tuple[int, ...] = ()
    nullable: bool = True

    def sa_type(self) -> sa.types.TypeEngine[Any]:
        """Access types → our database types, the way the engines map SQL Server's (backups.engines.native)."""
        t = self.access_type.lower()
        if t == "boolean":
            return sa.Boolean()
        if t in ("byte", "integer"):
            return sa.SmallInteger()
        if t == "long integer":
            return sa.Integer()
        if t == "currency":
            return sa.Numeric(19, 4)  # as SQL Server's money
        if t == "numeric":
            precision = self.size[0] if self.size else 18
            scale = self.size[1] if len(self.size) > 1 else 0
            return sa.Numeric(precision, scale)
        if t == "single":
            return sa.REAL()
        if t == "double":
            return sa.Float(precision=53)
        if t == "datetime":
            return sa.DateTime()
        if t == "text":
            return sa.String(self.size[0] if self.size else 255)
        if t in ("binary", "ole"):
            return sa.LargeBinary()
        # Memo/Hyperlink, and anything mdbtools names but we do not know (Replication ID, …): kept as text.
        return sa.Text()


@dataclass
class MdbTable:
    name: str
    columns: list[MdbColumn] = field(default_factory=list)


@dataclass
class MdbInfo:
    version: str
    tables: list[MdbTable]


_TABLE_RE = re.compile(r"^CREATE TABLE \[(?P<name>[^\]]+)\]\s*\((?P<body>.*?)\n\);", re.M | re.S)
_COLUMN_RE = re.compile(
    r"^\s*\[(?P<name>[^\]]+)\]\s+(?P<type>[A-Za-z/ ]+?|Unknown 0x[0-9a-f]+)\s*(?:\((?P<size>[\d, ]+)\))?"
    r"(?P<notnull>\s+NOT NULL)?\s*,?\s*$"
)


def _parse_schema(text: str) -> dict[str, list[MdbColumn]]:
    """mdb-schema's own (Access) dialect: `[name] Type (size) NOT NULL,`. Access names cannot contain brackets."""
    tables: dict[str, list[MdbColumn]] = {}
    for match in _TABLE_RE.finditer(text):
        columns = []
        for line in match.group("body").splitlines():
            if not line.strip():
                continue
            column = _COLUMN_RE.match(line)
            if column is None:
                raise _damaged(f"unreadable column definition {line!r}")
            size = tuple(int(s) for s in (column.group("size") or "").replace(" ", "").split(",") if s)
            columns.append(
                MdbColumn(
                    name=column.group("name"),
                    access_type=column.group("type").strip(),
                    size=size,
                    nullable=not column.group("notnull"),
                )
            )
        tables[match.group("name")] = columns
    return tables


def mdb_inspect(path: Path) -> MdbInfo:
    """What is in the file: its Jet version and the user tables with their columns. Refuses what we cannot read."""
    header_check(path)
    version = _run("mdb-ver", str(path)).strip()
    names = [n for n in _run("mdb-tables", "-1", str(path)).splitlines() if n.strip()]
    if not names:
        raise MdbError(
            _("Dit .mdb-bestand bevat geen tabellen met gegevens. Kies het bestand van de administratie zelf."),
            "no user tables",
        )
    schema = _parse_schema(_run("mdb-schema", "--no-indexes", "--no-relations", str(path), "access"))
    tables = []
    for name in names:
        if name not in schema or not schema[name]:
            raise _damaged(f"table {name!r} listed but without a schema")
        tables.append(MdbTable(name=name, columns=schema[name]))
    return MdbInfo(version=version, tables=tables)


@dataclass
class _Counter:
    unreadable_dates: int = 0


def _converter(column: MdbColumn, counter: _Counter) -> Callable[[Any], Any]:
    t = column.access_type.lower()
    if t == "datetime":

        def date(value: Any) -> Any:
            try:
                return dt.datetime.strptime(value, DATETIME_FORMAT)
            except (TypeError, ValueError):
                # mdbtools 1.0 prints dates before 30-12-1899 and after ~4600 as "1900-01-00": unreadable to it.
                counter.unreadable_dates += 1
                return None

        return date
    if t == "boolean":
        return lambda v: bool(int(v)) if not isinstance(v, bool) else v
    if t in ("binary", "ole"):
        return lambda v: base64.b64decode(v["$binary"]) if isinstance(v, dict) else str(v).encode()
    if t in ("currency", "numeric"):
        return lambda v: v if isinstance(v, Decimal) else Decimal(str(v))
    if t == "single":
        # mdb-json prints a Single with 8 digits (0.15000001): back to the 4-byte value Access stored, so that it
        # survives a back-up as SQL Server `real` unchanged.
        return lambda v: struct.unpack("<f", struct.pack("<f", float(v)))[0]
    if t == "double":
        return float
    if t in ("byte", "integer", "long integer"):
        return int
    return lambda v: v if isinstance(v, str) else str(v)


def mdb_rows(path: Path, table: MdbTable, counter: _Counter | None = None) -> Iterator[tuple[Any, ...]]:
    """The rows of one table, streamed from `mdb-json` one line at a time (a missing key is a NULL)."""
    counter = counter or _Counter()
    converters = [(c.name, _converter(c, counter)) for c in table.columns]
    args = ["mdb-json", "-D", DATETIME_FORMAT, "-T", DATETIME_FORMAT, "--", str(path), table.name]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors)
        assert process.stdout is not None
        try:
            stream: IO[bytes] = process.stdout
            for line in stream:
                if not line.strip():
                    continue
                record = json.loads(line, parse_float=Decimal)
                yield tuple(
                    None if (value := record.get(name)) is None else convert(value) for name, convert in converters
                )
            returncode = process.wait(timeout=TOOL_TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        errors.seek(0)
        stderr = errors.read(4000).decode("utf-8", "replace")
    if returncode != 0 or _DAMAGE_RE.search(stderr):
        raise _damaged(f"mdb-json {table.name!r} exit {returncode}: {stderr[:500]}")


# ------------------------------------------------------------------------------------------------ the import


@dataclass
class ImportResult:
    rows_per_table: dict[str, int]
    unreadable_dates: int = 0


def _cleaned(value: Any, postgres: bool) -> Any:
    # PostgreSQL text cannot hold NUL characters; Access text can. Keep the rest of the value (as the engines do).
    if postgres and isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "")
    return value


def mdb_import(path: Path, location: DatabaseLocation, progress: Progress) -> ImportResult:
    """Create every table of the .mdb in the new, empty database at `location` and copy every row into it.
    The caller made the database and drops it on failure."""
    info = mdb_inspect(path)
    from administrations.databases import database_connect

    engine = database_connect(location)
    postgres = engine.dialect.name == "postgresql"
    counter = _Counter()
    rows_per_table: dict[str, int] = {}
    try:
        metadata = sa.MetaData()
        sa_tables = [
            sa.Table(
                table.name,
                metadata,
                *[sa.Column(c.name, c.sa_type(), nullable=c.nullable, autoincrement=False) for c in table.columns],
            )
            for table in info.tables
        ]
        progress(5, _("Tabellen aanmaken"))
        with engine.begin() as conn:
            metadata.create_all(conn)
        with engine.begin() as conn:
            for number, (table, sa_table) in enumerate(zip(info.tables, sa_tables, strict=True)):
                percent = 5 + number * 90 // len(info.tables)
                phase = StoredText(gettext_noop("Tabel %(table)s overnemen"), table=table.name)
                progress(percent, phase)
                # Positional binds by column key: names with spaces or non-ASCII letters need no escaping here.
                keys = [c.key for c in sa_table.columns]
                count = 0
                batch: list[dict[str, Any]] = []
                for row in mdb_rows(path, table, counter):
                    batch.append({k: _cleaned(v, postgres) for k, v in zip(keys, row, strict=True)})
                    if len(batch) >= BATCH_ROWS:
                        conn.execute(sa_table.insert(), batch)
                        count += len(batch)
                        batch = []
                        progress(percent, phase)  # keeps the heartbeat going on a long table
                if batch:
                    conn.execute(sa_table.insert(), batch)
                    count += len(batch)
                rows_per_table[table.name] = count
        progress(99, _("Afronden"))
    except sa.exc.SQLAlchemyError as error:
        raise MdbError(
            _("De gegevens uit het .mdb-bestand konden niet in de nieuwe administratie worden gezet."),
            f"mdb import failed: {type(error).__name__}: {str(error)[:2000]}",
        ) from error
    finally:
        engine.dispose()
    return ImportResult(rows_per_table=rows_per_table, unreadable_dates=counter.unreadable_dates)
