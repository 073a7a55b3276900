"""``python -m backups.bacpac inspect|verify|rows|bench``: a support engineer's look inside a bacpac."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from .errors import BacpacError
from .model import Column, Model, PrimaryKey, Table
from .reader import open_bacpac, verify
from .values import SqlVariant
from .writer import BacpacWriter


def _peak_rss_bytes() -> int:
    """This process's own peak resident memory. Linux's VmHWM belongs to the current program image; ru_maxrss
    also counts the parent's pages copied in by fork before exec, which made a child of a big process look big."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return "0x" + value.hex().upper()
    if isinstance(value, SqlVariant):
        return _jsonable(value.value)
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    return str(value)  # Decimal (exact, as text), UUID


def _human(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        text = "0x" + value.hex().upper()
        return text if len(text) <= 66 else text[:64] + f"…({len(value)} bytes)"
    return str(_jsonable(value))


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def cmd_inspect(args: argparse.Namespace) -> int:
    with open_bacpac(args.file) as bp:
        summary = bp.inspect()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return 0
    o = summary.origin
    print(f"Database:        {summary.database_name}")
    print(f"Source server:   {(o.server_version or '?').splitlines()[0].strip()}")
    print(f"DacFx version:   {o.product_version or '?'}")
    print(f"Export started:  {o.export_start or '?'}")
    print(f"Schema provider: {summary.model.dsp_name}")
    check = {True: "matches Origin.xml", False: "DOES NOT match Origin.xml", None: "no total in Origin.xml"}
    print(f"Rows:            {summary.total_rows} ({check[summary.total_matches_origin]})")
    m = summary.model
    print(
        f"Objects:         {len(m.tables)} tables, {m.views} views, {m.procedures} procedures, "
        f"{m.functions} functions, {m.other_objects} other"
    )
    print()
    width = max((len(f"{t.schema}.{t.name}") for t in summary.tables), default=5)
    print(f"{'table':<{width}}  {'rows':>10}  {'data':>10}  {'columns':>7}  keys")
    tables = {(t.schema, t.name): t for t in m.tables}
    for s in summary.tables:
        t = tables[(s.schema, s.name)]
        keys = []
        if t.primary_key:
            keys.append("PK(" + ",".join(t.primary_key.columns) + ")")
        if t.foreign_keys:
            keys.append(f"{len(t.foreign_keys)} FK")
        if t.indexes:
            keys.append(f"{len(t.indexes)} IX")
        print(
            f"{s.schema + '.' + s.name:<{width}}  {s.rows:>10}  {_size(s.data_bytes):>10}  {len(t.columns):>7}  "
            + " ".join(keys)
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    summary = verify(args.file)
    if args.json:
        print(json.dumps({"ok": True, "tables": len(summary.tables), "rows": summary.total_rows}))
    else:
        print(f"OK: {summary.database_name}, {len(summary.tables)} tables, {summary.total_rows} rows")
    return 0


def cmd_rows(args: argparse.Namespace) -> int:
    with open_bacpac(args.file) as bp:
        try:
            table = bp.table(args.table)
        except KeyError:
            print(f"No table {args.table!r}; tables: {', '.join(t.full_name for t in bp.tables)}", file=sys.stderr)
            return 2
        names = [c.name for c in table.stored_columns]
        rows = bp.rows(table)
        if args.json:
            out = []
            for i, row in enumerate(rows):
                if args.limit is not None and i >= args.limit:
                    break
                out.append({n: _jsonable(v) for n, v in zip(names, row, strict=True)})
            print(json.dumps(out, indent=2, ensure_ascii=False))
            return 0
        print("\t".join(names))
        for i, row in enumerate(rows):
            if args.limit is not None and i >= args.limit:
                break
            print("\t".join(_human(v) for v in row))
    return 0


BENCH_TABLE = Table(
    "dbo",
    "JournalLine",
    [
        Column("id", "int", nullable=False),
        Column("entry_id", "int", nullable=False),
        Column("description", "nvarchar", length=100, nullable=False),
        Column("amount", "decimal", precision=18, scale=2, nullable=False),
        Column("booking_date", "date", nullable=False),
        Column("created_at", "datetime2", scale=7, nullable=False),
        Column("reconciled", "bit", nullable=False),
        Column("note", "nvarchar", length=200),
    ],
    PrimaryKey("PK_JournalLine", ["id"]),
)


def bench_rows(n: int) -> Iterator[Sequence[Any]]:
    start = datetime(2024, 1, 1, 8, 30)
    day0 = date(2024, 1, 1)
    for i in range(n):
        yield (
            i + 1,
            i // 4 + 1,
            f"Factuur {i // 4 + 1} regel {i % 4 + 1} omzet hoog tarief",
            Decimal(f"{(i * 7919) % 1_000_000 - 500_000}E-2"),
            day0 + timedelta(days=i % 366),
            start + timedelta(seconds=i, microseconds=i % 1_000_000),
            i % 3 == 0,
            None if i % 5 else f"Notitie {i}",
        )


def cmd_bench(args: argparse.Namespace) -> int:
    n = args.rows
    if args.trace_memory:
        tracemalloc.start()
    model = Model([BENCH_TABLE])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.bacpac")
        t0 = time.perf_counter()
        with BacpacWriter(
            path, database_name="Bench", model=model, server_version="bench", compression=args.compression
        ) as w:
            w.write_table(BENCH_TABLE, bench_rows(n))
        t1 = time.perf_counter()
        size = os.path.getsize(path)
        count = 0
        with open_bacpac(path) as bp:
            for _ in bp.rows(BENCH_TABLE):
                count += 1
        t2 = time.perf_counter()
        with open_bacpac(path) as bp:
            walked = bp.count_rows(BENCH_TABLE)
        t3 = time.perf_counter()
    if count != n or walked != n:
        print(f"read back {count} rows (walked {walked}), wrote {n}", file=sys.stderr)
        return 1
    traced_peak = tracemalloc.get_traced_memory()[1] if args.trace_memory else None
    if args.trace_memory:
        tracemalloc.stop()
    result = {
        "rows": n,
        "file_bytes": size,
        "write_seconds": round(t1 - t0, 3),
        "write_rows_per_second": round(n / (t1 - t0)),
        "read_seconds": round(t2 - t1, 3),
        "read_rows_per_second": round(n / (t2 - t1)),
        "count_seconds": round(t3 - t2, 3),
        "count_rows_per_second": round(n / (t3 - t2)),
        "peak_rss_bytes": _peak_rss_bytes(),
        "peak_traced_bytes": traced_peak,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"rows:   {n} ({_size(size)} file, compression {args.compression})")
        print(f"write:  {result['write_rows_per_second']:>10,} rows/s ({result['write_seconds']} s)")
        print(f"read:   {result['read_rows_per_second']:>10,} rows/s ({result['read_seconds']} s, values built)")
        print(f"count:  {result['count_rows_per_second']:>10,} rows/s ({result['count_seconds']} s, walk only)")
        print(f"memory: peak RSS {_size(result['peak_rss_bytes'])}", end="")
        print(f", peak traced {_size(traced_peak)}" if traced_peak is not None else " (--trace-memory for traced)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backups.bacpac", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("inspect", "schema, origin and row counts"), ("verify", "check a file completely")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("file")
        p.add_argument("--json", action="store_true")
    p = sub.add_parser("rows", help="print the rows of one table")
    p.add_argument("file")
    p.add_argument("table", help="dbo.Customer or [dbo].[Customer]")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("bench", help="write and read back a journal-line table")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--compression", choices=["fast", "maximum"], default="fast")
    p.add_argument("--trace-memory", action="store_true", help="tracemalloc peak (slows the run down)")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"inspect": cmd_inspect, "verify": cmd_verify, "rows": cmd_rows, "bench": cmd_bench}[args.command]
    try:
        return handler(args)
    except BacpacError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "error": exc.code, "description": exc.description, "detail": exc.detail}))
        else:
            print(exc.description, file=sys.stderr)
            print(f"{exc.code}: {exc.detail}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"File not found: {exc.filename}", file=sys.stderr)
        return 2
