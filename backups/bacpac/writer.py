"""Write a .bacpac from a schema (``Model``) and row iterators, streaming into the ZIP.

Order of the parts: model.xml first (it does not depend on the data, and its SHA-256 is needed for Origin.xml),
then the data parts table by table, and ``_rels/.rels`` and Origin.xml last, once the row total is known. A writer
that fails half-way never writes Origin.xml, so a broken export can never pass for a valid bacpac.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any, Literal
from xml.sax.saxutils import escape, quoteattr

from .codec import compile_table
from .model import NS, Model, Table, model_to_xml

CONTENT_TYPES = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
    b'2006/content-types"><Default Extension="xml" ContentType="text/xml" /><Default Extension="BCP" '
    b'ContentType="application/octet-stream" /><Default Extension="rels" ContentType="application/'
    b'vnd.openxmlformats-package.relationships+xml" /></Types>'
)
BOM = b"\xef\xbb\xbf"
# SqlPackage treats the package as one of its own, so we describe ourselves the way DacFx 16 does.
DEFAULT_PRODUCT_NAME = "Microsoft.SqlServer.Dac, Version=16.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a"
DEFAULT_PRODUCT_VERSION = "16.0.6403.0"
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
_BATCH_BYTES = 1 << 20
_LEVELS = {"fast": 1, "maximum": 9}


def _timestamp(dt: datetime) -> str:
    """ISO 8601 with 7 fractional digits, the way .NET writes DateTimeOffset."""
    text = dt.isoformat(timespec="microseconds")
    extra = str(getattr(dt, "extra_100ns", 0))
    return text[:26] + extra + text[26:]


class BacpacWriter:
    """Write one bacpac; call :meth:`write_table` once per table, then :meth:`close` (or use ``with``)."""

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[bytes],
        *,
        database_name: str,
        model: Model,
        server_version: str,
        compression: Literal["fast", "maximum"] = "fast",
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        export_start: datetime | None = None,
        product_name: str = DEFAULT_PRODUCT_NAME,
        product_version: str = DEFAULT_PRODUCT_VERSION,
    ) -> None:
        if compression not in _LEVELS:
            raise ValueError(f"compression must be 'fast' or 'maximum', not {compression!r}")
        if segment_bytes < 1:
            raise ValueError("segment_bytes must be positive")
        self.database_name = database_name
        self.model = model
        self.server_version = server_version
        self.segment_bytes = segment_bytes
        self.export_start = export_start or datetime.now(UTC).astimezone()
        self.product_name = product_name
        self.product_version = product_version
        self.total_rows = 0
        self.data_bytes = 0
        self.rows_per_table: dict[str, int] = {}
        self._parts: list[tuple[Table, str]] = []
        self._closed = False
        self._zip = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=_LEVELS[compression])
        model_xml = model_to_xml(model)
        self._model_checksum = hashlib.sha256(model_xml).hexdigest().upper()
        self._zip.writestr("model.xml", model_xml)
        self._zip.writestr("DacMetadata.xml", self._dac_metadata())
        self._zip.writestr("[Content_Types].xml", CONTENT_TYPES)

    # -- data

    def write_table(self, table: Table | str, rows: Iterable[Sequence[Any]]) -> int:
        """Encode ``rows`` (tuples in stored-column order) into the table's parts; returns the row count."""
        t = self.model.table(table)
        if t.full_name in self.rows_per_table:
            raise ValueError(f"table {t.full_name} was already written")
        codec = compile_table(t)
        encode = codec.encode
        iterator = iter(rows)
        count = 0
        segment = 0
        part = None
        part_size = 0
        try:
            while True:
                limit = max(1, min(_BATCH_BYTES, self.segment_bytes - part_size))
                try:
                    pieces, size, n = encode(iterator, limit)
                except (ValueError, TypeError, OverflowError, AttributeError, struct.error) as exc:
                    raise ValueError(f"table {t.full_name}, row {count + 1} or one of the next: {exc}") from exc
                if n:
                    if part is None:
                        name = f"Data/{t.data_folder}/TableData-{segment:03d}-00000.BCP"
                        part = self._zip.open(name, "w", force_zip64=True)
                        self._parts.append((t, name))
                    part.write(b"".join(pieces))
                    part_size += size
                    self.data_bytes += size
                    count += n
                if part is not None and part_size >= self.segment_bytes:
                    part.close()
                    part, part_size, segment = None, 0, segment + 1
                if size < limit:  # the iterator is exhausted (a full batch stops at or past the limit)
                    break
        finally:
            if part is not None:
                part.close()
        self.rows_per_table[t.full_name] = count
        self.total_rows += count
        return count

    # -- closing

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._zip.writestr(
                zipfile.ZipInfo("_rels/.rels", datetime.now().timetuple()[:6]), self._rels(), zipfile.ZIP_STORED
            )
            self._zip.writestr(
                zipfile.ZipInfo("Origin.xml", datetime.now().timetuple()[:6]), self._origin(), zipfile.ZIP_STORED
            )
        finally:
            self._zip.close()

    def abort(self) -> None:
        """Close the ZIP without Origin.xml: the result is recognisably not a bacpac."""
        if not self._closed:
            self._closed = True
            self._zip.close()

    def __enter__(self) -> BacpacWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- the small XML parts

    def _dac_metadata(self) -> bytes:
        return (
            BOM
            + (
                '<?xml version="1.0" encoding="utf-8"?>\r\n'
                f'<DacType xmlns="{NS}">\r\n'
                f"  <Name>{escape(self.database_name)}</Name>\r\n"
                "  <Version>0.0.0.0</Version>\r\n"
                "</DacType>"
            ).encode()
        )

    def _rels(self) -> bytes:
        out = [
            '<?xml version="1.0" encoding="utf-8"?><Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        ]
        for table, name in self._parts:
            target = quoteattr("/" + name)
            for kind in (f"table={table.name}", f"schema={table.schema}"):
                out.append(f'<Relationship Type={quoteattr(kind)} Target={target} Id="R{secrets.token_hex(8)}" />')
        out.append("</Relationships>")
        return BOM + "".join(out).encode("utf-8")

    def _object_counts(self) -> dict[str, int]:
        counts = {
            "PrimaryKeyConstraint": sum(1 for t in self.model.tables if t.primary_key),
            "ForeignKeyConstraint": sum(len(t.foreign_keys) for t in self.model.tables),
            "UniqueConstraint": sum(len(t.unique_constraints) for t in self.model.tables),
            "Index": sum(len(t.indexes) for t in self.model.tables),
            "DefaultConstraint": sum(1 for t in self.model.tables for c in t.columns if c.default is not None),
            "SimpleColumn": sum(len(t.stored_columns) for t in self.model.tables),
            "ComputedColumn": sum(1 for t in self.model.tables for c in t.columns if c.computed),
            "Table": len(self.model.tables),
        }
        return {k: v for k, v in sorted(counts.items()) if v}

    def _origin(self) -> bytes:
        counts = "".join(f"      <{k}>{v}</{k}>\r\n" for k, v in self._object_counts().items())
        text = (
            '<?xml version="1.0" encoding="utf-8"?>\r\n'
            f'<DacOrigin xmlns="{NS}">\r\n'
            "  <PackageProperties>\r\n"
            "    <Version>3.1.0.0</Version>\r\n"
            "    <ContainsExportedData>true</ContainsExportedData>\r\n"
            "    <StreamVersions>\r\n"
            '      <Version StreamName="Data">2.0.0.0</Version>\r\n'
            '      <Version StreamName="DeploymentContributors">1.0.0.0</Version>\r\n'
            "    </StreamVersions>\r\n"
            "  </PackageProperties>\r\n"
            "  <Operation>\r\n"
            f"    <Identity>{uuid.uuid4()}</Identity>\r\n"
            f"    <Start>{_timestamp(self.export_start)}</Start>\r\n"
            "    <End>0001-01-01T00:00:00.0000000</End>\r\n"
            f"    <ProductName>{escape(self.product_name)}</ProductName>\r\n"
            f"    <ProductVersion>{escape(self.product_version)}</ProductVersion>\r\n"
            f"    <ProductSchema>{NS}</ProductSchema>\r\n"
            "  </Operation>\r\n"
            "  <Server>\r\n"
            f"    <ServerVersion>{escape(self.server_version)}</ServerVersion>\r\n"
            f"    <ObjectCounts>\r\n{counts}    </ObjectCounts>\r\n"
            "  </Server>\r\n"
            "  <ExportStatistics>\r\n"
            f"    <SourceDatabaseSize>{(self.data_bytes + 1023) // 1024}</SourceDatabaseSize>\r\n"
            f"    <TableRowCountTotalTag>{self.total_rows}</TableRowCountTotalTag>\r\n"
            "  </ExportStatistics>\r\n"
            "  <Checksums>\r\n"
            f'    <Checksum Uri="/model.xml">{self._model_checksum}</Checksum>\r\n'
            "  </Checksums>\r\n"
            "  <ModelSchemaVersion>2.9</ModelSchemaVersion>\r\n"
            "</DacOrigin>"
        )
        return BOM + text.encode("utf-8")


def write_bacpac(
    target: str | os.PathLike[str] | IO[bytes],
    *,
    database_name: str,
    model: Model,
    data: Mapping[str, Iterable[Sequence[Any]]] | Iterable[tuple[Table | str, Iterable[Sequence[Any]]]],
    server_version: str,
    **options: Any,
) -> dict[str, int]:
    """Write a whole bacpac in one call; ``data`` maps table names (or yields (table, rows)). Returns row counts."""
    items = data.items() if isinstance(data, Mapping) else data
    with BacpacWriter(target, database_name=database_name, model=model, server_version=server_version, **options) as w:
        for table, rows in items:
            w.write_table(table, rows)
    return dict(w.rows_per_table)


__all__ = ["BacpacWriter", "write_bacpac"]
