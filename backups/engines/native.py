"""The native engine: an administration database (SQLite, PostgreSQL; SQL Server through SQLAlchemy) to a
`.bacpac` and back, in pure Python with the project's own `backups.bacpac` library.

Export reflects the schema, maps every column to a SQL Server type (TYPE_MAP below, also in README), and streams
rows with server-side cursors into the bacpac writer. Import creates a new database's tables from model.xml,
loads every row (PostgreSQL through COPY), then adds primary keys (on PostgreSQL; SQLite needs them in CREATE
TABLE), unique constraints, indexes and foreign keys after the data, and moves identity sequences past the loaded
ids. Memory stays flat: rows move in batches, never whole tables.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import functools
import hashlib
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.schema import AddConstraint, CreateIndex

from administrations.databases import DatabaseLocation, database_connect
from backups.bacpac import (
    BacpacWriter,
    Column,
    ForeignKey,
    Index,
    Model,
    PrimaryKey,
    SqlVariant,
    Table,
    UniqueConstraint,
    open_bacpac,
)
from backups.checksums import TableChecksum
from backups.engines.base import EngineError, Progress, no_progress
from portal.texts import StoredText

BATCH_ROWS = 10_000
DEFAULT_SCHEMA = "dbo"
SKIPPED_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast"}

Converter = Callable[[Any], Any] | None


# ------------------------------------------------------------------------------------------------ type map

# Export: the source column type → the SQL Server type in model.xml. Checked top to bottom; the first class
# that matches wins (so BigInteger before Integer, Float before Numeric, Text before String).
#   SQLAlchemy type            SQL Server type
TYPE_MAP: list[tuple[type[sa.types.TypeEngine[Any]], str]] = [
    (sa.BigInteger, "bigint"),
    (sa.SmallInteger, "smallint"),
    (sa.Integer, "int"),
    (sa.Boolean, "bit"),
    (sa.REAL, "real"),
    (sa.Float, "float"),
    (sa.Numeric, "decimal(p,s)"),  # numeric without precision → decimal(38,10)
    (sa.DateTime, "datetime2(7) / datetimeoffset(7) with time zone"),
    (sa.Date, "date"),
    (sa.Time, "time(7)"),
    (sa.Interval, "nvarchar(max) (ISO text)"),
    (sa.Uuid, "uniqueidentifier"),
    (sa.LargeBinary, "varbinary(max)"),
    (sa.JSON, "nvarchar(max) (JSON text)"),
    (sa.CHAR, "nchar(n)"),
    (sa.Text, "nvarchar(max)"),
    (sa.String, "nvarchar(n) (n ≤ 4000), else nvarchar(max)"),
]
UNBOUNDED_NUMERIC = (38, 10)


def _json_text(value: Any) -> Any:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _as_utc(value: Any) -> Any:
    # SQLite keeps no time zone: a naive value of a timezone column is UTC by our own convention.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _uuid(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def to_sqlserver(
    name: str, type_: sa.types.TypeEngine[Any], *, nullable: bool, identity: bool
) -> tuple[Column, Converter]:
    """The bacpac column for a source column, and a converter for its values (None when they pass as they are)."""

    def column(sql_type: str, **kw: Any) -> Column:
        return Column(name=name, sql_type=sql_type, nullable=nullable, identity=identity, **kw)

    if isinstance(type_, sa.BigInteger):
        return column("bigint"), None
    if isinstance(type_, sa.SmallInteger):
        return column("smallint"), None
    if isinstance(type_, sa.Integer):
        return column("int"), None
    if isinstance(type_, sa.Boolean):
        return column("bit"), _bool
    if isinstance(type_, sa.REAL) or (isinstance(type_, sa.Float) and (type_.precision or 53) <= 24):
        return column("real"), None
    if isinstance(type_, sa.Float):
        return column("float", precision=53), None
    if isinstance(type_, sa.Numeric):
        precision, scale = type_.precision, type_.scale
        if precision is None:
            precision, scale = UNBOUNDED_NUMERIC
        return column("decimal", precision=min(precision, 38), scale=scale or 0), None
    if isinstance(type_, sa.DateTime):
        if type_.timezone:
            return column("datetimeoffset", scale=7), _as_utc
        return column("datetime2", scale=7), None
    if isinstance(type_, sa.Date):
        return column("date"), None
    if isinstance(type_, sa.Time):
        return column("time", scale=7), None
    if isinstance(type_, sa.Uuid):
        return column("uniqueidentifier"), _uuid
    if isinstance(type_, sa.LargeBinary):
        return column("varbinary", is_max=True), bytes_or_none
    if isinstance(type_, sa.JSON):
        return column("nvarchar", is_max=True), _json_text
    if isinstance(type_, sa.CHAR) and type_.length and type_.length <= 4000:
        return column("nchar", length=type_.length), None
    if isinstance(type_, sa.String) and not isinstance(type_, sa.Text) and type_.length and type_.length <= 4000:
        return column("nvarchar", length=type_.length), None
    if isinstance(type_, sa.String):
        return column("nvarchar", is_max=True), None
    # Anything else (intervals, arrays, network types…) travels as its text form.
    return column("nvarchar", is_max=True), _text


def bytes_or_none(value: Any) -> Any:
    return None if value is None else bytes(value)


def from_sqlserver(column: Column) -> sa.types.TypeEngine[Any]:
    """Import: the SQL Server type of a bacpac column → the column type created in SQLite or PostgreSQL."""
    t = column.sql_type
    if t == "bigint":
        return sa.BigInteger()
    if t in ("int",):
        return sa.Integer()
    if t in ("smallint", "tinyint"):
        return sa.SmallInteger()
    if t == "bit":
        return sa.Boolean()
    if t in ("decimal", "numeric"):
        return sa.Numeric(column.precision or 18, column.scale)
    if t == "money":
        return sa.Numeric(19, 4)
    if t == "smallmoney":
        return sa.Numeric(10, 4)
    if t == "real":
        return sa.REAL()
    if t == "float":
        return sa.Float(precision=53) if column.precision in (0, 53) or column.precision > 24 else sa.REAL()
    if t == "date":
        return sa.Date()
    if t in ("datetime", "datetime2", "smalldatetime"):
        return sa.DateTime()
    if t == "datetimeoffset":
        return sa.DateTime(timezone=True)
    if t == "time":
        return sa.Time()
    if t == "uniqueidentifier":
        return sa.Uuid()
    if t in ("char", "nchar") and not column.is_max:
        return sa.CHAR(column.length)
    if t in ("varchar", "nvarchar", "sysname") and not column.is_max:
        return sa.String(column.length or 128)
    if t in ("varchar", "nvarchar", "char", "nchar", "text", "ntext", "xml"):
        return sa.Text()
    # binary, varbinary, image, rowversion/timestamp, sql_variant, geography, geometry, hierarchyid: raw bytes.
    return sa.LargeBinary()


# ------------------------------------------------------------------------------------------------ export


@dataclass
class ExportResult:
    database_name: str
    tables: int
    rows: int
    rows_per_table: dict[str, int] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # per table: ROW_PATH or COLUMNAR_PATH
    # Per table (bacpac full name): {"rows": n, "checksum": hex} of the rows as written, for a test-restore.
    table_checks: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _SourceTable:
    table: Table
    source_schema: str | None
    source_name: str
    converters: list[Converter]
    row_count: int
    types: list[sa.types.TypeEngine[Any]] = field(default_factory=list)


def _reflect(engine: sa.Engine) -> list[_SourceTable]:
    # Each kind of fact for all tables of a schema in one query (SQLAlchemy's get_multi_* calls; the per-table
    # calls run the same dialect code one table at a time, five queries a table).
    inspector = sa.inspect(engine)
    default_schema = inspector.default_schema_name
    schemas = [s for s in inspector.get_schema_names() if s not in SKIPPED_SCHEMAS and not s.startswith("pg_temp")]
    if engine.dialect.name == "sqlite":
        schemas = [default_schema or "main"]
    sources: list[_SourceTable] = []
    for schema in schemas:
        reflect_schema = None if schema == default_schema else schema
        target_schema = DEFAULT_SCHEMA if reflect_schema is None else schema
        names = sorted(n for n in inspector.get_table_names(schema=reflect_schema) if not n.startswith("sqlite_"))
        if not names:
            continue
        multi: dict[str, dict[tuple[str | None, str], Any]] = {
            "columns": inspector.get_multi_columns(schema=reflect_schema, filter_names=names),
            "pk": inspector.get_multi_pk_constraint(schema=reflect_schema, filter_names=names),
            "fks": inspector.get_multi_foreign_keys(schema=reflect_schema, filter_names=names),
            "uniques": inspector.get_multi_unique_constraints(schema=reflect_schema, filter_names=names),
            "indexes": inspector.get_multi_indexes(schema=reflect_schema, filter_names=names),
        }
        for name in names:
            key = (reflect_schema, name)
            pk = multi["pk"].get(key) or {}
            pk_columns = pk.get("constrained_columns") or []
            columns: list[Column] = []
            converters: list[Converter] = []
            types: list[sa.types.TypeEngine[Any]] = []
            for info in multi["columns"].get(key, []):
                types.append(info["type"])
                default = str(info.get("default") or "")
                identity = bool(info.get("identity")) or default.startswith("nextval(")
                if engine.dialect.name == "sqlite":
                    identity = pk_columns == [info["name"]] and isinstance(info["type"], sa.Integer)
                column, converter = to_sqlserver(
                    info["name"], info["type"], nullable=bool(info.get("nullable", True)), identity=identity
                )
                columns.append(column)
                converters.append(converter)
            table = Table(schema=target_schema, name=name, columns=columns)
            if pk_columns:
                table.primary_key = PrimaryKey(name=None, columns=list(pk_columns))
            for fk in multi["fks"].get(key, []):
                referred_schema = fk.get("referred_schema")
                table.foreign_keys.append(
                    ForeignKey(
                        name=fk.get("name"),
                        columns=list(fk["constrained_columns"]),
                        referenced_schema=DEFAULT_SCHEMA
                        if referred_schema in (None, default_schema)
                        else str(referred_schema),
                        referenced_table=fk["referred_table"],
                        referenced_columns=list(fk["referred_columns"]),
                        on_delete=str((fk.get("options") or {}).get("ondelete") or "NO ACTION").upper(),
                    )
                )
            for unique in multi["uniques"].get(key, []):
                table.unique_constraints.append(
                    UniqueConstraint(name=unique.get("name"), columns=list(unique["column_names"]))
                )
            for index in multi["indexes"].get(key, []):
                if index.get("duplicates_constraint") or not all(index["column_names"]):
                    continue  # backs a unique constraint, or an expression index we cannot describe
                table.indexes.append(
                    Index(
                        name=str(index["name"]),
                        columns=[str(c) for c in index["column_names"]],
                        unique=bool(index.get("unique")),
                    )
                )
            sources.append(_SourceTable(table, reflect_schema, name, converters, 0, types))
    return sources


def _quoted(engine: sa.Engine, schema: str | None, name: str) -> str:
    preparer = engine.dialect.identifier_preparer
    table = preparer.quote_identifier(name)
    return f"{preparer.quote_identifier(schema)}.{table}" if schema else table


def _converted(rows: Iterable[tuple[Any, ...]], converters: list[Converter]) -> Iterator[tuple[Any, ...]]:
    active = [(i, c) for i, c in enumerate(converters) if c is not None]
    if not active:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for i, convert in active:
            values[i] = convert(values[i])
        yield tuple(values)


def _stream_rows(
    conn: sa.Connection, source: _SourceTable, on_batch: Callable[[int], None]
) -> Iterator[tuple[Any, ...]]:
    engine = conn.engine
    columns = ", ".join(engine.dialect.identifier_preparer.quote_identifier(c.name) for c in source.table.columns)
    query = f"SELECT {columns} FROM {_quoted(engine, source.source_schema, source.source_name)}"  # noqa: S608
    if engine.dialect.name == "postgresql":
        # A named (server-side) cursor straight on psycopg: tuples come out of its C code, batch by batch.
        raw = conn.connection.driver_connection
        with raw.cursor(name=f"bacpac_export_{uuid.uuid4().hex[:8]}") as cursor:  # type: ignore[union-attr]
            cursor.itersize = BATCH_ROWS
            cursor.execute(query)
            while batch := cursor.fetchmany(BATCH_ROWS):
                yield from _converted(batch, source.converters)
                on_batch(len(batch))
        return
    # SQLite (and SQL Server): SQLAlchemy's type processing turns stored text into dates, decimals and booleans.
    reflected = sa.Table(
        source.source_name,
        sa.MetaData(),
        schema=source.source_schema,
        autoload_with=conn,
    )
    result = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(sa.select(reflected))
    for partition in result.partitions():
        yield from _converted((tuple(r) for r in partition), source.converters)
        on_batch(len(partition))


def _support_log(progress: Progress) -> Callable[[str], None]:
    """The job's support log when progress goes to a job (its Reporter), else nowhere."""
    log = getattr(progress, "log", None)
    return log if callable(log) else lambda text: None


def _database_errors() -> tuple[type[Exception], ...]:
    """Database failures, also those raised by psycopg's own cursors (the row path's COPY and server-side
    cursors) and, once it has been imported, by the columnar path (imported on first use: web processes never
    load numpy, Arrow or ADBC)."""
    module = sys.modules.get("backups.engines.fastpath")
    return (sa.exc.SQLAlchemyError, psycopg.Error, *(module.DATABASE_ERRORS if module is not None else ()))


ROW_PATH = "rijen"
COLUMNAR_PATH = "kolommen"


def export(
    *,
    location: DatabaseLocation,
    target: str | Path | IO[bytes],
    database_name: str,
    progress: Progress = no_progress,
    compression: str = "fast",
    columnar: bool = True,
) -> ExportResult:
    """Write the administration database at `location` as a bacpac to `target` (a path or binary file).

    Each table takes the columnar path (``fastpath``) when it can, else the row path; ``columnar=False`` forces
    the row path for every table. The job's log says which path each table took."""
    engine = database_connect(location)
    dialect = engine.dialect.name
    log = _support_log(progress)
    paths: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            if dialect == "postgresql":
                # One snapshot for the whole export, so tables agree with each other; timestamps with a time zone
                # are read in UTC whatever the server's or the connection's TimeZone says.
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                conn.exec_driver_sql("SET TIME ZONE 'UTC'")
            progress(1, "Structuur van de administratie lezen")
            sources = _reflect(engine)
            for source in sources:
                count_query = f"SELECT COUNT(*) FROM {_quoted(engine, source.source_schema, source.source_name)}"  # noqa: S608
                source.row_count = int(conn.exec_driver_sql(count_query).scalar_one())
            total = sum(s.row_count for s in sources) or 1
            model = Model(tables=[s.table for s in sources])
            server_version = f"{dialect} {'.'.join(map(str, engine.dialect.server_version_info or ()))}"
            done = 0
            checks: dict[str, TableChecksum] = {}
            if columnar and dialect in ("postgresql", "sqlite"):
                from backups.engines import fastpath
            fast = fastpath.ExportReader(conn, location) if columnar and dialect in ("postgresql", "sqlite") else None
            try:
                with BacpacWriter(
                    target,
                    database_name=database_name,
                    model=model,
                    server_version=server_version.strip(),
                    compression="maximum" if compression == "maximum" else "fast",
                ) as writer:
                    for source in sources:
                        phase = StoredText("Tabel %(table)s opslaan", table=source.table.name)

                        def on_batch(n: int, phase: str = phase) -> None:
                            nonlocal done
                            done += n
                            progress(2 + done * 96 // total, phase)

                        progress(2 + done * 96 // total, phase)
                        path, reason = ROW_PATH, "kolompad uit" if fast is None else ""
                        if fast is not None:
                            reason = fastpath.export_refusal(dialect, source.table.columns, source.types) or ""
                            if not reason:
                                taken = fastpath.export_table(
                                    writer,
                                    fast,
                                    source.table,
                                    source.source_schema,
                                    source.source_name,
                                    source.types,
                                    on_batch,
                                    isal=compression != "maximum",
                                )
                                path, reason = (COLUMNAR_PATH, "") if taken else (ROW_PATH, "eerste batch afwijkend")
                        if path == ROW_PATH:
                            # The row path counts and checksums each row as it passes (a test-restore proves
                            # against it); the columnar path has no rows in Python to do so.
                            check = checks[source.table.full_name] = TableChecksum(source.table.stored_columns)
                            writer.write_table(source.table, check.passing(_stream_rows(conn, source, on_batch)))
                        paths[source.table.full_name] = path
                        log(f"export {source.table.full_name}: {path}pad" + (f" ({reason})" if reason else ""))
            finally:
                if fast is not None:
                    fast.close()
            return ExportResult(
                database_name=database_name,
                tables=len(sources),
                rows=writer.total_rows,
                rows_per_table=dict(writer.rows_per_table),
                paths=paths,
                # Checksums only when every table has one: a test-restore then proves every table by them, else
                # it compares the row counts of all tables.
                table_checks=(
                    {name: check.to_dict() for name, check in checks.items()} if len(checks) == len(sources) else {}
                ),
            )
    except _database_errors() as error:
        raise EngineError(
            "De administratie kon niet worden gelezen. De klantenservice kan het logboek inzien.",
            f"export failed: {type(error).__name__}: {error}",
        ) from error
    finally:
        engine.dispose()


def checksum_tables(*, location: DatabaseLocation, model: Model, progress: Progress = no_progress) -> dict[str, Any]:
    """Read back a database made by `import_` from a bacpac with this `model`: per bacpac table its row count and
    checksum (as at export), or `{"missing": ...}` when the table or one of its columns is not there."""
    engine = database_connect(location)
    try:
        names = _target_names(model, engine.dialect.name)
        sources = {(s.source_schema, s.source_name): s for s in _reflect(engine)}
        result: dict[str, Any] = {}
        total = len(model.tables) or 1
        with engine.connect() as conn:
            for number, table in enumerate(model.tables):
                progress(number * 100 // total, f"Tabel {table.name} vergelijken")
                source = sources.get(names[(table.schema, table.name)])
                if source is None:
                    result[table.full_name] = {"missing": "table"}
                    continue
                restored = [c.name for c in source.table.columns]
                wanted = [c.name for c in table.stored_columns]
                absent = [name for name in wanted if name not in restored]
                if absent:
                    result[table.full_name] = {"missing": ", ".join(absent)}
                    continue
                picks = [restored.index(name) for name in wanted]
                check = TableChecksum(table.stored_columns)
                for row in _stream_rows(conn, source, lambda n: None):
                    check.add([row[i] for i in picks])
                result[table.full_name] = check.to_dict()
        return result
    except sa.exc.SQLAlchemyError as error:
        raise EngineError(
            "De teruggezette controledatabase kon niet worden gelezen.",
            f"checksum read-back failed: {type(error).__name__}: {str(error)[:2000]}",
        ) from error
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------------ import


@dataclass
class ImportResult:
    tables: int
    rows: int
    rows_per_table: dict[str, int] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)


def _sqlite_value(column: Column) -> Converter:
    """Values as SQLAlchemy's SQLite types store them, so that reading back through SQLAlchemy gives the same."""
    t = column.sql_type
    if t in ("decimal", "numeric", "money", "smallmoney"):
        return lambda v: None if v is None else str(v)
    if t in ("datetime", "datetime2", "smalldatetime", "datetimeoffset"):

        def stamp(v: Any) -> Any:
            if v is None:
                return None
            if v.tzinfo is not None:
                v = v.astimezone(dt.UTC).replace(tzinfo=None)
            return v.isoformat(" ", "microseconds")

        return stamp
    if t == "date":
        return lambda v: None if v is None else v.isoformat()
    if t == "time":
        return lambda v: None if v is None else v.replace(tzinfo=None).isoformat("microseconds")
    if t == "uniqueidentifier":
        return lambda v: None if v is None else v.hex
    if t == "bit":
        return lambda v: None if v is None else int(v)
    if t == "sql_variant":
        return _variant_bytes
    return None


def _postgres_value(column: Column) -> Converter:
    t = column.sql_type
    if t == "sql_variant":
        return _variant_bytes
    if t in ("char", "varchar", "nchar", "nvarchar", "text", "ntext", "xml"):
        # PostgreSQL text cannot hold NUL characters; SQL Server text can. Keep the rest of the value.
        return lambda v: v.replace("\x00", "") if isinstance(v, str) and "\x00" in v else v
    return None


def _variant_bytes(value: Any) -> Any:
    if value is None:
        return None
    return bytes(value.raw) if isinstance(value, SqlVariant) else bytes(value)


def _target_names(model: Model, dialect: str) -> dict[tuple[str, str], tuple[str | None, str]]:
    """Where each bacpac table goes: dbo tables keep their name; other schemas become PostgreSQL schemas, or a
    `schema.name` table name on SQLite (which has no schemas)."""
    names: dict[tuple[str, str], tuple[str | None, str]] = {}
    for table in model.tables:
        if table.schema.lower() == DEFAULT_SCHEMA:
            names[(table.schema, table.name)] = (None, table.name)
        elif dialect == "sqlite":
            names[(table.schema, table.name)] = (None, f"{table.schema}.{table.name}")
        else:
            names[(table.schema, table.name)] = (table.schema, table.name)
    return names


def _safe_index_name(name: str, table: str, used: set[str]) -> str:
    """Index names are unique per table in SQL Server, but share one namespace with tables (and each other) in
    PostgreSQL and SQLite: make them unique, case-insensitively, within 60 bytes."""
    candidate = name if name.lower() not in used else f"{table}_{name}"
    if len(candidate.encode()) > 60 or candidate.lower() in used:
        digest = hashlib.sha1(f"{table}.{name}".encode(), usedforsecurity=False).hexdigest()[:10]
        candidate = f"{candidate.encode()[:48].decode(errors='ignore')}_{digest}"
    used.add(candidate.lower())
    return candidate


def import_(
    *,
    source: str | Path | IO[bytes],
    location: DatabaseLocation,
    progress: Progress = no_progress,
    columnar: bool = True,
) -> ImportResult:
    """Load a bacpac into the new, empty database at `location` (made by the caller, dropped by it on failure).

    Each table takes the columnar path (``fastpath``) when the codec covers all its columns and the data holds
    nothing it leaves to the reference reader, else the row path; ``columnar=False`` forces the row path."""
    engine = database_connect(location)
    dialect = engine.dialect.name
    log = _support_log(progress)
    paths: dict[str, str] = {}
    try:
        with open_bacpac(source) as bacpac:
            model = bacpac.model
            names = _target_names(model, dialect)
            metadata = sa.MetaData()
            sa_tables: dict[tuple[str, str], sa.Table] = {}
            primary_keys: list[tuple[sa.Table, sa.PrimaryKeyConstraint]] = []
            for table in model.tables:
                schema, name = names[(table.schema, table.name)]
                pk = table.primary_key.columns if table.primary_key else []
                columns = []
                for column in table.stored_columns:
                    type_ = from_sqlserver(column)
                    kwargs: dict[str, Any] = {"nullable": column.nullable and column.name not in pk}
                    if column.identity and dialect == "postgresql" and isinstance(type_, sa.Integer):
                        columns.append(sa.Column(column.name, type_, sa.Identity(always=False), **kwargs))
                        continue
                    columns.append(sa.Column(column.name, type_, autoincrement=False, **kwargs))
                sa_table = sa.Table(name, metadata, *columns, schema=schema)
                stored = {c.name for c in table.stored_columns}
                if pk and set(pk) <= stored:
                    if dialect == "sqlite":
                        sa_table.append_constraint(sa.PrimaryKeyConstraint(*pk))  # SQLite cannot add one later
                    else:
                        # After the data, like the other keys: one sorted index build instead of an index
                        # insert per row.
                        primary_keys.append((sa_table, sa.PrimaryKeyConstraint(*pk)))
                sa_tables[(table.schema, table.name)] = sa_table

            # SQLite cannot add foreign keys later; it does not enforce them during the load either.
            foreign_keys = _foreign_keys(model, sa_tables)
            if dialect == "sqlite":
                for sa_table, constraint in foreign_keys:
                    sa_table.append_constraint(constraint)

            progress(2, "Tabellen aanmaken")
            with engine.begin() as conn:
                for schema in sorted({t.schema for t in sa_tables.values() if t.schema}):
                    conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
                metadata.create_all(conn)

            # Keys and indexes are named now, in the model's order, so that the order of loading does not change them.
            indexes = _target_indexes(model, sa_tables)
            total_bytes = sum(p.size for t in model.tables for p in bacpac.parts(t)) or 1
            done_bytes = 0
            rows_per_table: dict[str, int] = {}
            loader: Any = None
            with contextlib.ExitStack() as stack:
                keys = stack.enter_context(_KeyBuilder(engine)) if dialect == "postgresql" else None
                with contextlib.ExitStack() as loading, engine.begin() as conn:
                    loading.callback(lambda: loader is not None and loader.close())
                    if dialect == "sqlite":
                        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                    for table in model.tables:
                        sa_table = sa_tables[(table.schema, table.name)]
                        parts = bacpac.parts(table)
                        table_bytes = sum(p.size for p in parts)
                        phase = StoredText("Tabel %(table)s terugzetten", table=table.name)
                        percent = 3 + done_bytes * 87 // total_bytes
                        progress(percent, phase)
                        if parts:
                            path, reason = ROW_PATH, "kolompad uit"
                            decoder = None
                            if columnar and dialect in ("postgresql", "sqlite"):
                                from backups.engines import fastpath

                                try:
                                    decoder = fastpath.import_decoder(bacpac, table)
                                except fastpath.UnsupportedColumn as why:
                                    reason = str(why)
                            if decoder is not None:
                                step_bytes = 0

                                def beat(consumed: int, start: int = done_bytes, phase: str = phase) -> None:
                                    nonlocal step_bytes
                                    step_bytes += consumed
                                    progress(3 + (start + step_bytes) * 87 // total_bytes, phase)

                                try:
                                    if dialect == "postgresql":
                                        if loader is None:
                                            loader = fastpath.PostgresLoader(location)
                                        count = loader.load(bacpac, decoder, sa_table, beat)
                                        if keys is not None:  # committed: its keys need not wait for the rest
                                            keys.submit(_take_keys(sa_table, primary_keys, indexes))
                                    else:
                                        count = fastpath.import_sqlite(conn, bacpac, decoder, sa_table, beat)
                                    rows_per_table[table.full_name] = count
                                    path, reason = COLUMNAR_PATH, ""
                                except fastpath.UnsupportedColumn as why:
                                    reason = f"teruggevallen: {why}"
                            if path == ROW_PATH:
                                rows = bacpac.rows(table)
                                load = _copy_rows if dialect == "postgresql" else _insert_rows
                                row_beat = functools.partial(progress, percent, phase)  # keeps the heartbeat going
                                rows_per_table[table.full_name] = load(conn, sa_table, table, rows, row_beat)
                            paths[table.full_name] = path
                            log(f"import {table.full_name}: {path}pad" + (f" ({reason})" if reason else ""))
                        else:
                            rows_per_table[table.full_name] = 0
                        done_bytes += table_bytes

                progress(91, "Sleutels en indexen aanmaken")
                if keys is not None:
                    keys.wait()
                with engine.begin() as conn:
                    for sa_table, primary_key in primary_keys:
                        sa_table.append_constraint(primary_key)
                        conn.execute(AddConstraint(primary_key))
                    for _table, index in indexes:
                        conn.execute(CreateIndex(index))
                    if dialect == "postgresql":
                        progress(95, "Verwijzingen controleren")
                        for sa_table, constraint in foreign_keys:
                            sa_table.append_constraint(constraint)
                            conn.execute(AddConstraint(constraint))
                        _reset_sequences(conn, sa_tables.values())
            progress(99, "Afronden")
            return ImportResult(
                tables=len(model.tables),
                rows=sum(rows_per_table.values()),
                rows_per_table=rows_per_table,
                paths=paths,
            )
    except _database_errors() as error:
        raise EngineError(
            "De back-up kon niet in de nieuwe administratie worden gezet. De klantenservice kan het logboek inzien.",
            f"import failed: {type(error).__name__}: {str(error)[:2000]}",
        ) from error
    finally:
        engine.dispose()


def _target_indexes(model: Model, sa_tables: dict[tuple[str, str], sa.Table]) -> list[tuple[sa.Table, sa.Index]]:
    """The unique constraints and indexes to make after the data, as indexes named safely for the target."""
    used = {t.name.lower() for t in sa_tables.values()}
    out: list[tuple[sa.Table, sa.Index]] = []
    for table in model.tables:
        sa_table = sa_tables[(table.schema, table.name)]
        stored = {c.name for c in table.stored_columns}
        for unique in table.unique_constraints:
            if set(unique.columns) <= stored:
                name = _safe_index_name(unique.name or "uq", sa_table.name, used)
                out.append((sa_table, sa.Index(name, *[sa_table.c[c] for c in unique.columns], unique=True)))
        for index in table.indexes:
            if index.columns and set(index.columns) <= stored:
                name = _safe_index_name(index.name, sa_table.name, used)
                out.append((sa_table, sa.Index(name, *[sa_table.c[c] for c in index.columns], unique=index.unique)))
    return out


def _take_keys(
    sa_table: sa.Table,
    primary_keys: list[tuple[sa.Table, sa.PrimaryKeyConstraint]],
    indexes: list[tuple[sa.Table, sa.Index]],
) -> list[Any]:
    """The statements that make this table's primary key and indexes, taken off the lists of what is left."""
    statements: list[Any] = []
    for key in [k for k in primary_keys if k[0] is sa_table]:
        primary_keys.remove(key)
        sa_table.append_constraint(key[1])
        statements.append(AddConstraint(key[1]))
    for index in [i for i in indexes if i[0] is sa_table]:
        indexes.remove(index)
        statements.append(CreateIndex(index[1]))
    return statements


class _KeyBuilder:
    """PostgreSQL: the primary key and indexes of a table whose rows are committed, built on a connection of
    their own while the next table loads (the server sorts one table while it copies the next). One table at a
    time, in the order given; the first failure is raised by ``wait``. Leaving the block early (a failure or a
    cancel elsewhere) cancels the statement in progress and drops the rest."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="bacpac-keys")
        self._conn: sa.Connection | None = None
        self._pending: list[concurrent.futures.Future[None]] = []

    def __enter__(self) -> _KeyBuilder:
        self._conn = self._engine.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for future in self._pending:
            future.cancel()
        if self._conn is not None and any(f.running() for f in self._pending):
            with contextlib.suppress(psycopg.Error):
                self._conn.connection.driver_connection.cancel()  # type: ignore[union-attr]
        self._pool.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()

    def submit(self, statements: list[Any]) -> None:
        if statements:
            self._pending.append(self._pool.submit(self._run, statements))

    def _run(self, statements: list[Any]) -> None:
        assert self._conn is not None
        with self._conn.begin():
            for statement in statements:
                self._conn.execute(statement)

    def wait(self) -> None:
        while self._pending:
            self._pending[0].result()
            self._pending.pop(0)


def _foreign_keys(
    model: Model, sa_tables: dict[tuple[str, str], sa.Table]
) -> list[tuple[sa.Table, sa.ForeignKeyConstraint]]:
    found = []
    for table in model.tables:
        sa_table = sa_tables[(table.schema, table.name)]
        for fk in table.foreign_keys:
            referenced = sa_tables.get((fk.referenced_schema, fk.referenced_table))
            if referenced is None or not all(c in sa_table.c for c in fk.columns):
                continue
            if not all(c in referenced.c for c in fk.referenced_columns):
                continue
            on_delete = fk.on_delete if fk.on_delete in ("CASCADE", "SET NULL", "SET DEFAULT") else None
            constraint = sa.ForeignKeyConstraint(
                list(fk.columns),
                [referenced.c[c] for c in fk.referenced_columns],
                ondelete=on_delete,
            )
            found.append((sa_table, constraint))
    return found


def _copy_rows(
    conn: sa.Connection, sa_table: sa.Table, table: Table, rows: Iterator[tuple[Any, ...]], beat: Callable[[], None]
) -> int:
    converters = [_postgres_value(c) for c in table.stored_columns]
    raw = conn.connection.driver_connection
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote_identifier(c.name) for c in sa_table.columns)
    target = preparer.format_table(sa_table)
    count = 0
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in _converted(rows, converters):
            copy.write_row(row)
            count += 1
            if count % BATCH_ROWS == 0:
                beat()
    return count


def _insert_rows(
    conn: sa.Connection, sa_table: sa.Table, table: Table, rows: Iterator[tuple[Any, ...]], beat: Callable[[], None]
) -> int:
    converters = [_sqlite_value(c) for c in table.stored_columns]
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote_identifier(c.name) for c in sa_table.columns)
    marks = ", ".join("?" for _ in sa_table.columns)
    statement = f"INSERT INTO {preparer.format_table(sa_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    raw = conn.connection.driver_connection
    cursor = raw.cursor()  # type: ignore[union-attr]
    count = 0
    batch: list[tuple[Any, ...]] = []
    for row in _converted(rows, converters):
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            cursor.executemany(statement, batch)
            count += len(batch)
            batch = []
            beat()
    if batch:
        cursor.executemany(statement, batch)
        count += len(batch)
    cursor.close()
    return count


def _reset_sequences(conn: sa.Connection, tables: Iterable[sa.Table]) -> None:
    """Identity columns got their values from the back-up: start new ids after the highest one."""
    for sa_table in tables:
        for column in sa_table.columns:
            if column.identity is None:
                continue
            target = conn.dialect.identifier_preparer.format_table(sa_table)
            name = conn.dialect.identifier_preparer.quote_identifier(column.name)
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "  # noqa: S608
                    f"COALESCE((SELECT MAX({name}) FROM {target}), 0) + 1, false)"
                ),
                {"table": target, "column": column.name},
            )


__all__ = [
    "TYPE_MAP",
    "EngineError",
    "ExportResult",
    "ImportResult",
    "checksum_tables",
    "export",
    "from_sqlserver",
    "import_",
    "to_sqlserver",
]
