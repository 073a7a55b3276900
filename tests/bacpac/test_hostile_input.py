"""Broken and hostile files, each made from a real sample, are refused with their own error: a stable code, an
English description and the detail of the case (the portal words the code for its users: tests/backups/test_refusals.py)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from backups.bacpac import (
    AccessDatabaseGiven,
    ArchiveTooLarge,
    BacpacError,
    ChecksumMismatch,
    CorruptData,
    DacpacGiven,
    InvalidMetadata,
    Limits,
    NotABacpac,
    NotAZipFile,
    SsbFileGiven,
    TruncatedFile,
    UnsafeArchive,
    UnsupportedDataVersion,
    open_bacpac,
    verify,
)

from .samples import rebuild


def assert_refusal(error: BacpacError) -> None:
    assert re.fullmatch(r"[a-z_]+", error.code) and error.code != BacpacError.code, type(error)
    assert error.description != BacpacError.description and error.description.isascii()
    assert error.detail and error.detail != error.description


def refuse(data: bytes, kind: type[BacpacError], name: str | None = None, limits: Limits | None = None) -> BacpacError:
    source = io.BytesIO(data)
    if name:
        source.name = name  # type: ignore[misc]
    with pytest.raises(kind) as info:
        verify(source, limits)
    assert_refusal(info.value)
    return info.value


@pytest.fixture
def good(bacpactod: Path) -> bytes:
    return bacpactod.read_bytes()


def _with_origin(good: bytes, edit: dict[str, str]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        origin = z.read("Origin.xml").decode("utf-8-sig")
    for old, new in edit.items():
        assert old in origin
        origin = origin.replace(old, new)
    return rebuild(good, replace={"Origin.xml": b"\xef\xbb\xbf" + origin.encode()})


def test_it_accepts_the_untouched_sample(good: bytes) -> None:
    assert verify(io.BytesIO(good)).total_rows == 173


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_it_refuses_a_truncated_file(good: bytes, keep: float) -> None:
    refuse(good[: int(len(good) * keep)], TruncatedFile)


def test_it_refuses_a_tampered_model_xml(good: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        model = z.read("model.xml")
    tampered = model.replace(b"Field_decimal_18_0", b"Field_decimal_18_1", 1)
    error = refuse(rebuild(good, replace={"model.xml": tampered}), ChecksumMismatch)
    assert error.code == "checksum_mismatch"


def test_it_refuses_a_dacpac(good: bytes) -> None:
    refuse(_with_origin(good, {"<ContainsExportedData>true": "<ContainsExportedData>false"}), DacpacGiven)


def test_it_refuses_an_old_json_format_bacpac(good: bytes) -> None:
    refuse(_with_origin(good, {'"Data">2.0.0.0': '"Data">1.0.0.0'}), UnsupportedDataVersion)


@pytest.mark.parametrize("member", ["../x", "Data/../../x", "/abs", "C:/windows/x", "Data\\..\\x"])
def test_it_refuses_member_names_that_escape_the_archive(good: bytes, member: str) -> None:
    refuse(rebuild(good, add=[(member, b"x")]), UnsafeArchive)


def test_it_refuses_duplicate_member_names(good: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the very thing we are building
        data = rebuild(good, add=[("model.xml", b"<evil/>")])
    refuse(data, UnsafeArchive)


def test_it_refuses_a_small_zip_bomb_before_inflating_it(good: bytes) -> None:
    bomb = rebuild(good, add=[("Data/dbo.BitMixed/TableData-001-00000.BCP", b"\x00" * (20 * 1024 * 1024))])
    assert len(bomb) < len(good) + 100_000
    error = refuse(bomb, ArchiveTooLarge)
    assert "inflates" in error.detail


def test_it_refuses_an_archive_larger_than_the_configured_limits(good: bytes) -> None:
    refuse(good, ArchiveTooLarge, limits=Limits(max_total_uncompressed=100_000))
    refuse(good, ArchiveTooLarge, limits=Limits(max_members=10))


def test_it_notices_a_member_that_inflates_to_more_than_its_header_says(good: bytes) -> None:
    data = bytearray(good)
    # Halve the uncompressed size recorded in the central directory for one data part.
    name = b"Data/dbo.BitMixed/TableData-000-00000.BCP"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    declared = struct.unpack_from("<I", data, at + 24)[0]
    struct.pack_into("<I", data, at + 24, declared // 2)
    refuse(bytes(data), CorruptData)


def test_it_refuses_a_plain_zip(good: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    refuse(out.getvalue(), NotABacpac)
    refuse(rebuild(good, drop={"model.xml"}), NotABacpac)


def test_it_recognises_an_access_database_renamed_to_bacpac() -> None:
    mdb = b"\x00\x01\x00\x00Standard Jet DB\x00" + os.urandom(200)
    error = refuse(mdb, AccessDatabaseGiven, name="administratie.bacpac")
    assert error.code == "mdb_given"
    refuse(b"\x00\x01\x00\x00Standard ACE DB\x00" + os.urandom(200), AccessDatabaseGiven)


def test_it_points_an_ssb_file_to_the_existing_administration_flow() -> None:
    error = refuse(os.urandom(500), SsbFileGiven, name="backup.ssb")
    assert error.code == "ssb_given"


def test_it_refuses_random_bytes() -> None:
    error = refuse(os.urandom(1000).replace(b"PK", b"pk"), NotAZipFile)
    assert error.code == "not_a_zip"


def test_it_names_the_table_and_part_when_a_part_stops_mid_row(good: bytes) -> None:
    name = "Data/dbo.NumberFields1/TableData-000-00000.BCP"
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        part = z.read(name)
    error = refuse(rebuild(good, replace={name: part[:-3]}), CorruptData)
    assert "dbo.NumberFields1" in error.detail
    assert name in error.detail


def test_it_refuses_a_length_prefix_that_points_beyond_the_data(good: bytes) -> None:
    name = "Data/dbo.LargeTextFields1/TableData-000-00000.BCP"
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        part = bytearray(z.read(name))
    part[4:8] = b"\xff\xff\xff\x7f"  # the text column's 4-byte length of the first row
    error = refuse(rebuild(good, replace={name: bytes(part)}), CorruptData)
    assert "dbo.LargeTextFields1" in error.detail


def test_it_refuses_data_for_a_table_that_is_not_in_the_model(good: bytes) -> None:
    refuse(rebuild(good, add=[("Data/dbo.Ghost/TableData-000-00000.BCP", b"\x01")]), InvalidMetadata)


def test_it_refuses_a_model_with_a_dtd(good: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        model = z.read("model.xml")
    evil = model.replace(b"<DataSchemaModel", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><DataSchemaModel', 1)
    checksum = hashlib.sha256(evil).hexdigest().upper()
    data = rebuild(good, replace={"model.xml": evil})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        origin = z.read("Origin.xml")
    origin = re.sub(rb"[0-9A-F]{64}", checksum.encode(), origin)
    refuse(rebuild(data, replace={"Origin.xml": origin}), InvalidMetadata)


def test_every_refusal_reads_as_description_plus_detail(good: bytes) -> None:
    with pytest.raises(BacpacError) as info:
        open_bacpac(io.BytesIO(good[:100]))
    assert info.value.description in str(info.value)
    assert info.value.detail in str(info.value)
