"""Real Access files and hostile variants made from them, and what mdbtools itself says is inside."""

from __future__ import annotations

import csv
import io
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from backups.engines.mdbtools import _rc4
from backups.restores import mdb_staging_folder
from tests.conftest import require_service

MDB_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "mdb"
NWIND = MDB_SAMPLES / "nwind.mdb"
DATES = MDB_SAMPLES / "DateTestDatabase.mdb"


def require_mdbtools() -> None:
    require_service(shutil.which("mdb-export") is not None, "mdbtools is not installed (Debian package 'mdbtools')")


def expected_counts(path: Path) -> dict[str, int]:
    """Rows per table as mdb-export reports them (CSV records, not lines: memo fields hold line breaks)."""
    tables = subprocess.run(["mdb-tables", "-1", str(path)], capture_output=True, text=True, check=True).stdout
    counts = {}
    for table in filter(None, tables.splitlines()):
        out = subprocess.run(
            ["mdb-export", "-b", "hex", str(path), table], capture_output=True, text=True, check=True
        ).stdout
        counts[table] = sum(1 for _ in csv.reader(io.StringIO(out, newline=""))) - 1
    return counts


def stage(source: Path | bytes, name: str = "upload.mdb") -> Path:
    """Put a file where the upload view would have streamed it."""
    staged = mdb_staging_folder() / name
    staged.write_bytes(source if isinstance(source, bytes) else source.read_bytes())
    return staged


def with_password(source: Path, password: str) -> bytes:
    """The sample as Access writes it when a database password is set: the password in the RC4-scrambled header,
    for Jet 4 also XORed with the creation date (the layout mdbtools and Jackcess document)."""
    data = bytearray(source.read_bytes())
    jet4 = data[0x14] == 1
    length, size = (128, 40) if jet4 else (126, 20)
    key = bytes([0xC7, 0xDA, 0x39, 0x6B])
    plain = bytearray(data[:0x18] + _rc4(key, bytes(data[0x18 : 0x18 + length])))
    secret = password.encode("utf-16-le" if jet4 else "latin-1").ljust(size, b"\x00")
    if jet4:
        (created,) = struct.unpack("<d", plain[0x72:0x7A])
        mask = struct.pack("<i", int(created))
        secret = bytes(b ^ mask[i % 4] for i, b in enumerate(secret))
    plain[0x42 : 0x42 + size] = secret
    data[0x18 : 0x18 + length] = _rc4(key, bytes(plain[0x18 : 0x18 + length]))
    return bytes(data)


def without_tables(source: Path = DATES) -> bytes:
    """A valid Jet 4 file with no user table: the catalog entry of DateTestDatabase's only table (Id 18, parent
    0x0F000001, type 1 = table) retyped as a query (5), so mdbtools lists no tables."""
    data = bytearray(source.read_bytes())
    entry = bytes.fromhex("12000000" + "0100000f" + "0100")
    at = data.find(entry)
    assert at > 0 and data.count(entry) == 1
    data[at + 8] = 0x05
    return bytes(data)


def rows_of(engine: sa.Engine, table: str) -> list[tuple[Any, ...]]:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(sa.select(reflected))), key=repr)
