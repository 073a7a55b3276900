"""Open, verify, inspect and read a .bacpac without extracting it."""

from __future__ import annotations

import hashlib
import io
import os
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import unquote

from .codec import TableCodec, compile_table, has_char_variant
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
)
from .model import NS, Model, Table, parse_model

_N = "{" + NS + "}"
CHUNK = 1 << 20
_WINDOW = 128 << 10
_PART_RE = re.compile(r"^Data/([^/]+)/TableData-(\d+)-(\d+)\.BCP$")
_JET_MAGIC = (b"Standard Jet DB", b"Standard ACE DB")

# Told how far a check has come: (data bytes walked, data bytes in all, the table being walked). Called when a table
# starts and after every chunk, so a long check can keep a job's heartbeat going.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Limits:
    """Caps checked against the ZIP central directory before anything is inflated (and again while reading)."""

    max_members: int = 100_000
    max_total_uncompressed: int = 200 * 1024**3  # 200 GiB: Azure's own import limit
    max_ratio: float = 500.0  # deflate cannot do much better than ~1030:1; real exports stay far below 100:1
    ratio_min_size: int = 16 * 1024**2  # ratios of small members say nothing
    max_metadata_bytes: int = 1024**3  # model.xml is parsed in memory
    max_small_xml_bytes: int = 16 * 1024**2  # Origin.xml, DacMetadata.xml


@dataclass(frozen=True)
class Origin:
    contains_exported_data: bool
    data_stream_version: str | None
    product_name: str | None
    product_version: str | None
    export_start: str | None  # as written (7 fractional digits and an offset)
    server_version: str | None
    total_row_count: int | None  # ExportStatistics/TableRowCountTotalTag, Windows SqlPackage only
    source_database_size_kb: int | None
    model_checksum: str | None
    model_schema_version: str | None
    object_counts: dict[str, int] = field(default_factory=dict)

    @property
    def export_started_at(self) -> datetime | None:
        """``export_start`` as a datetime, its 7th fractional digit dropped."""
        if not self.export_start:
            return None
        text = re.sub(r"(\.\d{6})\d+", r"\1", self.export_start)
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None


@dataclass(frozen=True)
class DataPart:
    name: str
    segment: int
    chunk: int
    size: int
    compressed_size: int


@dataclass
class TableSummary:
    schema: str
    name: str
    rows: int
    data_bytes: int
    compressed_bytes: int
    parts: int
    char_variant: bool = False


@dataclass
class Inspection:
    database_name: str
    origin: Origin
    model: Model
    tables: list[TableSummary]
    total_rows: int
    total_matches_origin: bool | None  # None when the file has no TableRowCountTotalTag

    def to_dict(self) -> dict[str, Any]:
        counts = {(t.schema, t.name): t for t in self.tables}
        tables = []
        for t in self.model.tables:
            d = asdict(t)
            summary = counts.get((t.schema, t.name))
            d["rows"] = summary.rows if summary else 0
            d["data_bytes"] = summary.data_bytes if summary else 0
            d["compressed_bytes"] = summary.compressed_bytes if summary else 0
            d["parts"] = summary.parts if summary else 0
            tables.append(d)
        return {
            "database_name": self.database_name,
            "origin": {
                **asdict(self.origin),
                "export_started_at": (
                    self.origin.export_started_at.isoformat() if self.origin.export_started_at else None
                ),
            },
            "dsp_name": self.model.dsp_name,
            "collation": self.model.collation,
            "tables": tables,
            "views": self.model.views,
            "procedures": self.model.procedures,
            "functions": self.model.functions,
            "other_objects": self.model.other_objects,
            "object_counts": dict(self.model.object_counts),
            "total_rows": self.total_rows,
            "total_matches_origin": self.total_matches_origin,
        }


# ------------------------------------------------------------------------------------------------ checks


def _sniff(head: bytes, name: str | None) -> None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return
    if head[4:19] in _JET_MAGIC:
        raise AccessDatabaseGiven(f"file starts with the Access/Jet signature {head[4:19]!r}")
    if name and name.lower().endswith(".ssb"):
        raise SsbFileGiven(f"file {os.path.basename(name)!r} is not a ZIP archive (first bytes {head[:8].hex()})")
    raise NotAZipFile(f"file does not start with a ZIP signature (first bytes {head[:8].hex()})")


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        name = info.orig_filename
        if "\\" in name or "\x00" in name:
            raise UnsafeArchive(f"member name {name!r} contains a backslash or NUL")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            raise UnsafeArchive(f"member name {name!r} is absolute")
        if ".." in PurePosixPath(name).parts:
            raise UnsafeArchive(f"member name {name!r} escapes the archive with '..'")
        key = name.lower()
        if key in seen:
            raise UnsafeArchive(f"member name {name!r} occurs twice")
        seen.add(key)


def _check_sizes(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(infos) > limits.max_members:
        raise ArchiveTooLarge(f"{len(infos)} members, more than the limit of {limits.max_members}")
    total = 0
    for info in infos:
        total += info.file_size
        if info.flag_bits & 0x1:
            raise NotABacpac(f"member {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise NotABacpac(f"member {info.filename!r} uses compression method {info.compress_type}")
        if info.file_size >= limits.ratio_min_size:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise ArchiveTooLarge(
                    f"member {info.filename!r} inflates {ratio:.0f}:1 ({info.compress_size} → {info.file_size} "
                    f"bytes), more than the limit of {limits.max_ratio:.0f}:1"
                )
    if total > limits.max_total_uncompressed:
        raise ArchiveTooLarge(f"{total} bytes uncompressed, more than the limit of {limits.max_total_uncompressed}")


def _text(el: ET.Element | None) -> str | None:
    return el.text if el is not None and el.text is not None else None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _parse_xml(data: bytes, part: str) -> ET.Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InvalidMetadata(f"{part} contains a DTD")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs are refused above; expat fetches no external entities
    except ET.ParseError as exc:
        raise InvalidMetadata(f"{part} is not well-formed XML: {exc}") from exc


def parse_origin(data: bytes) -> Origin:
    root = _parse_xml(data, "Origin.xml")
    props = root.find(f"{_N}PackageProperties")
    contains = _text(props.find(f"{_N}ContainsExportedData")) if props is not None else None
    data_version = None
    if props is not None:
        for v in props.iter(f"{_N}Version"):
            if v.get("StreamName") == "Data":
                data_version = _text(v)
    op = root.find(f"{_N}Operation")
    server = root.find(f"{_N}Server")
    stats = root.find(f"{_N}ExportStatistics")
    checksum = None
    for c in root.iter(f"{_N}Checksum"):
        if c.get("Uri") == "/model.xml":
            checksum = _text(c)
    counts: dict[str, int] = {}
    oc = server.find(f"{_N}ObjectCounts") if server is not None else None
    if oc is not None:
        for child in oc:
            counts[child.tag.removeprefix(_N)] = _int(child.text) or 0
    return Origin(
        contains_exported_data=(contains or "").strip().lower() == "true",
        data_stream_version=data_version.strip() if data_version else None,
        product_name=_text(op.find(f"{_N}ProductName")) if op is not None else None,
        product_version=_text(op.find(f"{_N}ProductVersion")) if op is not None else None,
        export_start=_text(op.find(f"{_N}Start")) if op is not None else None,
        server_version=_text(server.find(f"{_N}ServerVersion")) if server is not None else None,
        total_row_count=_int(_text(stats.find(f"{_N}TableRowCountTotalTag"))) if stats is not None else None,
        source_database_size_kb=_int(_text(stats.find(f"{_N}SourceDatabaseSize"))) if stats is not None else None,
        model_checksum=checksum.strip() if checksum else None,
        model_schema_version=_text(root.find(f"{_N}ModelSchemaVersion")),
        object_counts=counts,
    )


# ------------------------------------------------------------------------------------------------ reader


class BacpacReader:
    """A verified bacpac. Use :func:`open_bacpac`; close it (or use ``with``) when done."""

    def __init__(self, source: str | os.PathLike[str] | IO[bytes], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._own_file = False
        name: str | None = None
        if isinstance(source, str | os.PathLike):
            name = os.fspath(source)
            fileobj: IO[bytes] = open(name, "rb")  # noqa: SIM115 - closed in close()
            self._own_file = True
        else:
            fileobj = source
            name = getattr(source, "name", None) if isinstance(getattr(source, "name", None), str) else None
        self._file = fileobj
        self._inflated = 0
        self._codecs: dict[tuple[str, str], TableCodec] = {}
        try:
            self._open(fileobj, name)
        except BaseException:
            self.close()
            raise

    # -- opening and verification

    def _open(self, fileobj: IO[bytes], name: str | None) -> None:
        start = fileobj.tell() if fileobj.seekable() else 0
        head = fileobj.read(32)
        fileobj.seek(start)
        _sniff(head, name)
        try:
            self._zip = zipfile.ZipFile(fileobj)
        except zipfile.BadZipFile as exc:
            raise TruncatedFile(f"ZIP central directory missing or unreadable: {exc}") from exc
        except (EOFError, OSError, ValueError) as exc:
            raise TruncatedFile(f"cannot read the ZIP directory: {exc}") from exc
        infos = self._zip.infolist()
        _check_names(infos)
        _check_sizes(infos, self.limits)
        size = fileobj.seek(0, io.SEEK_END)
        for info in infos:
            if info.header_offset + info.compress_size > size:
                raise TruncatedFile(f"member {info.filename!r} extends beyond the end of the file")
        names = {i.filename: i for i in infos}
        missing = [p for p in ("model.xml", "Origin.xml") if p not in names]
        if missing:
            raise NotABacpac(f"ZIP archive without {', '.join(missing)}")

        origin_bytes = self._read_member(names["Origin.xml"], self.limits.max_small_xml_bytes)
        self.origin = parse_origin(origin_bytes)
        if not self.origin.contains_exported_data:
            raise DacpacGiven("Origin.xml says ContainsExportedData is not true: this is a .dacpac")
        version = self.origin.data_stream_version
        if not version or not version.startswith("2."):
            raise UnsupportedDataVersion(f"data stream version {version!r}; only 2.x (BCP) is supported")

        model_bytes = self._read_member(names["model.xml"], self.limits.max_metadata_bytes)
        digest = hashlib.sha256(model_bytes).hexdigest().upper()
        expected = (self.origin.model_checksum or "").upper()
        if digest != expected:
            raise ChecksumMismatch(f"SHA-256 of model.xml is {digest}, Origin.xml says {expected or 'nothing'}")
        self.model: Model = parse_model(model_bytes)

        self.database_name = ""
        if "DacMetadata.xml" in names:
            meta = _parse_xml(
                self._read_member(names["DacMetadata.xml"], self.limits.max_small_xml_bytes), "DacMetadata.xml"
            )
            self.database_name = _text(meta.find(f"{_N}Name")) or ""

        by_folder = {f"{t.schema}.{t.name}": t for t in self.model.tables}
        self._parts: dict[tuple[str, str], list[DataPart]] = {}
        for info in infos:
            m = _PART_RE.match(info.filename)
            if not m:
                continue
            table = by_folder.get(unquote(m.group(1)))
            if table is None:
                raise InvalidMetadata(f"data part {info.filename!r} belongs to no table in model.xml")
            self._parts.setdefault((table.schema, table.name), []).append(
                DataPart(info.filename, int(m.group(2)), int(m.group(3)), info.file_size, info.compress_size)
            )
        for parts in self._parts.values():
            # Name order; numerically, so that a 1000th segment still sorts after the 999th.
            parts.sort(key=lambda p: (p.segment, p.chunk))

    def _read_member(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        if info.file_size > cap:
            raise ArchiveTooLarge(f"{info.filename} is {info.file_size} bytes, more than the limit of {cap}")
        chunks = []
        total = 0
        try:
            with self._zip.open(info) as f:
                while chunk := f.read(CHUNK):
                    total += len(chunk)
                    self._count(info.filename, total, info.file_size)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
            raise TruncatedFile(f"cannot inflate {info.filename}: {exc}") from exc
        return b"".join(chunks)

    def _count(self, member: str, read_so_far: int, declared: int) -> None:
        # zipfile already stops at the declared size; this keeps the guarantee if that ever changes.
        if read_so_far > declared:
            raise ArchiveTooLarge(f"{member} inflates to more than the {declared} bytes its header declares")

    # -- public

    def close(self) -> None:
        z = getattr(self, "_zip", None)
        if z is not None:
            z.close()
        if self._own_file:
            self._file.close()

    def __enter__(self) -> BacpacReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def tables(self) -> list[Table]:
        return self.model.tables

    def table(self, name: str | Table) -> Table:
        return self.model.table(name)

    def parts(self, table: str | Table) -> list[DataPart]:
        t = self.table(table)
        return list(self._parts.get((t.schema, t.name), []))

    def rows(self, table: str | Table) -> Iterator[tuple[Any, ...]]:
        """The rows of ``table`` as tuples in stored-column order (computed columns are not in the data)."""
        t = self.table(table)
        codec = self.codec(t)
        for batch in self._scan(t, codec, self.parts(t), walk=False):
            assert isinstance(batch, list)
            yield from batch

    def count_rows(self, table: str | Table) -> int:
        t = self.table(table)
        return sum(n for n in self._scan(t, self.codec(t), self.parts(t), walk=True) if isinstance(n, int))

    def inspect(self, progress: Progress | None = None) -> Inspection:
        summaries = []
        total_bytes = sum(p.size for parts in self._parts.values() for p in parts)
        done = 0

        def walked(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total_bytes, table_name)

        for t in self.model.tables:
            parts = self.parts(t)
            table_name = t.name
            if progress is not None:
                progress(done, total_bytes, table_name)
            codec = self.codec(t) if parts else None
            rows = sum(n for n in self._scan(t, codec, parts, walk=True, walked=walked)) if codec else 0
            summaries.append(
                TableSummary(
                    schema=t.schema,
                    name=t.name,
                    rows=rows,
                    data_bytes=sum(p.size for p in parts),
                    compressed_bytes=sum(p.compressed_size for p in parts),
                    parts=len(parts),
                    char_variant=bool(codec and codec.char_variant),
                )
            )
        total = sum(s.rows for s in summaries)
        tag = self.origin.total_row_count
        return Inspection(
            database_name=self.database_name,
            origin=self.origin,
            model=self.model,
            tables=summaries,
            total_rows=total,
            total_matches_origin=None if tag is None else tag == total,
        )

    def codec(self, table: Table) -> TableCodec:
        """The compiled layout for ``table``, choosing the old ``char NOT NULL`` variant when the data needs it."""
        key = (table.schema, table.name)
        codec = self._codecs.get(key)
        if codec is None:
            codec = compile_table(table)
            parts = self.parts(table)
            if parts and has_char_variant(table) and not self._lands(table, codec, parts[:1]):
                variant = compile_table(table, char_variant=True)
                if self._lands(table, variant, parts[:1]):
                    codec = variant
            self._codecs[key] = codec
        return codec

    # -- data walking

    def _lands(self, table: Table, codec: TableCodec, parts: list[DataPart]) -> bool:
        try:
            for _ in self._scan(table, codec, parts, walk=True):
                pass
        except CorruptData:
            return False
        return True

    def _scan(
        self,
        table: Table,
        codec: TableCodec,
        parts: list[DataPart],
        *,
        walk: bool,
        walked: Callable[[int], None] | None = None,
    ) -> Iterator[Any]:
        """Yield lists of decoded rows (or row counts when ``walk``), streaming the parts in chunks; ``walked`` hears
        the size of every chunk read."""
        remaining = sum(p.size for p in parts)
        buf = b""
        p = 0
        rows_done = 0
        decode, walker = codec.decode, codec.walk
        for part in parts:
            read = 0
            want = CHUNK
            try:
                with self._zip.open(part.name) as f:
                    while True:
                        chunk = f.read(want)
                        if not chunk:
                            break
                        read += len(chunk)
                        self._count(part.name, read, part.size)
                        if walked is not None:
                            walked(len(chunk))
                        remaining -= len(chunk)
                        buf = buf[p:] + chunk if p < len(buf) else chunk
                        p = 0
                        end = len(buf)
                        if walk:
                            p, n = walker(buf, 0, end)
                            rows_done += n
                            yield n
                        else:
                            # Decode in windows so that only a few thousand row tuples exist at a time.
                            while p < end:
                                out: list[tuple[Any, ...]] = []
                                q = decode(buf, p, min(end, p + _WINDOW), out)
                                if q == p:  # a row longer than the window, or the incomplete last row
                                    q = decode(buf, p, end, out)
                                rows_done += len(out)
                                if out:
                                    yield out
                                if q == p:
                                    break
                                p = q
                        want = CHUNK
                        if p < end:
                            need = codec.row_end(buf, p, end)
                            if need <= end:
                                self._raise_undecodable(table, codec, part, buf, p, rows_done)
                            if need - end > remaining:
                                raise CorruptData(
                                    f"table {table.full_name}, part {part.name}: row {rows_done + 1} needs "
                                    f"{need - p} bytes but only {end - p + remaining} are left"
                                )
                            want = max(CHUNK, need - end)
            except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                raise CorruptData(f"table {table.full_name}, part {part.name}: cannot inflate: {exc}") from exc
            if read != part.size:
                raise TruncatedFile(f"part {part.name} gave {read} bytes, its header declares {part.size}")
        if p != len(buf):
            raise CorruptData(
                f"table {table.full_name}, part {parts[-1].name}: the data does not end on a row boundary "
                f"({len(buf) - p} bytes left over after {rows_done} rows)"
            )

    def _raise_undecodable(
        self, table: Table, codec: TableCodec, part: DataPart, buf: bytes, p: int, rows_done: int
    ) -> None:
        try:
            codec.decode_row(buf, p)
        except Exception as exc:
            raise CorruptData(
                f"table {table.full_name}, part {part.name}: row {rows_done + 1} cannot be decoded: {exc}"
            ) from exc
        raise CorruptData(f"table {table.full_name}, part {part.name}: row {rows_done + 1} cannot be decoded")


def open_bacpac(source: str | os.PathLike[str] | IO[bytes], limits: Limits | None = None) -> BacpacReader:
    """Open and verify a bacpac from a path or a seekable binary file; raises a :class:`BacpacError` subclass."""
    return BacpacReader(source, limits)


def verify(
    source: str | os.PathLike[str] | IO[bytes], limits: Limits | None = None, progress: Progress | None = None
) -> Inspection:
    """Open, verify and walk every table once (so that each part is known to decode to its end), and check that the
    rows add up to the total the exporter wrote in Origin.xml, when it wrote one: a part missing or cut short at a
    row boundary decodes cleanly, and only that total shows rows are gone. ``progress`` hears how far the walk is."""
    with open_bacpac(source, limits) as bp:
        inspection = bp.inspect(progress)
    if inspection.total_matches_origin is False:
        raise RowCountMismatch(
            f"the tables hold {inspection.total_rows} rows, Origin.xml says {inspection.origin.total_row_count}"
        )
    return inspection


__all__ = [
    "BacpacError",
    "BacpacReader",
    "DataPart",
    "Inspection",
    "Limits",
    "Origin",
    "Progress",
    "TableSummary",
    "open_bacpac",
    "parse_origin",
    "verify",
]
