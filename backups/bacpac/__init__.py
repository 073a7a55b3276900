"""Read, verify, inspect and write SQL Server ``.bacpac`` files in pure Python (no Django, stdlib only).

The format is described in ``docs/bacpac-format.md`` in the project; in short: a ZIP with model.xml (the schema),
Origin.xml (metadata and the SHA-256 of model.xml) and per table one or more BCP parts of length-prefixed rows.
"""

from __future__ import annotations

from .codec import compile_table
from .errors import (
    AccessDatabaseGiven,
    ArchiveTooLarge,
    BacpacError,
    ChecksumMismatch,
    CorruptData,
    DacpacGiven,
    InvalidMetadata,
    NotABacpac,
    NotAZipFile,
    RowCountMismatch,
    SsbFileGiven,
    TruncatedFile,
    UnsafeArchive,
    UnsupportedDataVersion,
    UnsupportedType,
)
from .model import Column, ForeignKey, Index, Model, PrimaryKey, Table, UniqueConstraint, model_to_xml, parse_model
from .reader import BacpacReader, DataPart, Inspection, Limits, Origin, Progress, TableSummary, open_bacpac, verify
from .values import PreciseDatetime, PreciseTime, SqlVariant
from .writer import BacpacWriter, write_bacpac

__all__ = [
    "AccessDatabaseGiven",
    "ArchiveTooLarge",
    "BacpacError",
    "BacpacReader",
    "BacpacWriter",
    "ChecksumMismatch",
    "Column",
    "CorruptData",
    "DacpacGiven",
    "DataPart",
    "ForeignKey",
    "Index",
    "Inspection",
    "InvalidMetadata",
    "Limits",
    "Model",
    "NotABacpac",
    "NotAZipFile",
    "Origin",
    "PreciseDatetime",
    "PreciseTime",
    "PrimaryKey",
    "Progress",
    "RowCountMismatch",
    "SqlVariant",
    "SsbFileGiven",
    "Table",
    "TableSummary",
    "TruncatedFile",
    "UniqueConstraint",
    "UnsafeArchive",
    "UnsupportedDataVersion",
    "UnsupportedType",
    "compile_table",
    "model_to_xml",
    "open_bacpac",
    "parse_model",
    "verify",
    "write_bacpac",
]
