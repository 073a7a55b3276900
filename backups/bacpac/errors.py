"""Every reason to refuse a file is its own exception type.

Each carries a stable ``code`` (what a program matches on: the portal maps it to a message in its users' language
and terms), an English ``description`` of the reason for the command line, and the ``detail`` of this case
(technical, for logs). The library itself says nothing about any application's menus or language.
"""

from __future__ import annotations


class BacpacError(Exception):
    code = "invalid"
    description = "This file is not a valid back-up."

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.description} ({self.detail})"


class NotAZipFile(BacpacError):
    code = "not_a_zip"
    description = "This file is not a .bacpac (ZIP) archive."


class SsbFileGiven(NotAZipFile):
    code = "ssb_given"
    description = "This is an .ssb back-up from the desktop program, not a .bacpac."


class AccessDatabaseGiven(NotAZipFile):
    code = "mdb_given"
    description = "This is a Microsoft Access database (.mdb), not a .bacpac."


class TruncatedFile(BacpacError):
    code = "truncated"
    description = "This file is incomplete: the upload or copy was probably cut off."


class UnsafeArchive(BacpacError):
    code = "unsafe_archive"
    description = "This archive holds unsafe member names."


class ArchiveTooLarge(BacpacError):
    code = "archive_too_large"
    description = "This archive unpacks too large or is suspiciously highly compressed."


class NotABacpac(BacpacError):
    code = "not_a_bacpac"
    description = "This ZIP archive lacks the parts of a .bacpac."


class DacpacGiven(BacpacError):
    code = "dacpac_given"
    description = "This is a .dacpac: it holds the database's structure but no data."


class UnsupportedDataVersion(BacpacError):
    code = "unsupported_data_version"
    description = "This back-up was made by an export tool too old to be read."


class ChecksumMismatch(BacpacError):
    code = "checksum_mismatch"
    description = "The contents do not match the archive's checksums."


class RowCountMismatch(BacpacError):
    code = "row_count_mismatch"
    description = "The archive holds more or fewer rows than were counted when it was made."


class InvalidMetadata(BacpacError):
    code = "invalid_metadata"
    description = "The description of the database (model.xml) cannot be read."


class CorruptData(BacpacError):
    code = "corrupt_data"
    description = "The data of a table cannot be read."


class UnsupportedType(BacpacError):
    code = "unsupported_type"
    description = "The back-up holds a column type this library cannot read."
