"""Benchmark the native engine against the reference tools, in one run, on this machine.

Builds an administration of N journal lines in PostgreSQL and in SQLite, then measures export and import wall time
and peak memory (max RSS of each process) of our engine against `pg_dump -Fc` / `pg_restore`, and against
`sqlite3 .backup` + gzip / gunzip, and prints the ratios (ours ÷ reference; below 1.0 means we are faster).
Every measured step runs in a process of its own, so peak memory is that step's alone; our steps also time the
engine call inside that process ("taak": what a job takes in a worker that is already running, without starting
Python and Django). ``--lines`` takes several sizes (one table each); ``--repeat`` runs every step several times
and reports the median (single runs move by 10–30 % on a shared machine); ``--profile`` runs our steps under
cProfile and prints where their time went (the profiler adds a little to our times: few Python calls are left on
the columnar path).
"""

from __future__ import annotations

import functools
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from django.core.management.base import BaseCommand, CommandError, CommandParser

from administrations import bookkeeping
from administrations.databases import DatabaseLocation, database_connect, database_create, database_drop


@dataclass
class Measurement:
    seconds: float
    peak_mb: float
    job_seconds: float | None = None  # our steps: the engine call alone, as a job in a running worker takes it


def median(runs: list[Measurement]) -> Measurement:
    """The run of median wall time (for an even count, the faster of the middle two), with the highest peak."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    return Measurement(middle.seconds, max(m.peak_mb for m in runs), middle.job_seconds)


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run a command to completion: wall time and its own peak resident memory. GNU time reports the peak;
    rusage of a child forked straight from this (large) process would count our own pages too. Our own steps
    also report how long the engine call itself took (``step_seconds=`` on stderr)."""
    if not Path("/usr/bin/time").exists():
        raise CommandError("GNU time ontbreekt (Debian-pakket 'time'); het meet het geheugengebruik per stap.")
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "maxrss_kb=%M", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.perf_counter() - started
    errors = result.stderr.decode(errors="replace")
    if result.returncode != 0:
        raise CommandError(f"{' '.join(command[:3])} failed: {errors[-2000:]}")
    peaks = [int(line.split("=", 1)[1]) for line in errors.splitlines() if line.startswith("maxrss_kb=")]
    steps = [float(line.split("=", 1)[1]) for line in errors.splitlines() if line.startswith("step_seconds=")]
    return Measurement(seconds, peaks[-1] / 1024 if peaks else float("nan"), steps[-1] if steps else None)


def _postgres_sql(location: DatabaseLocation, sql: str) -> None:
    """One statement outside a transaction (VACUUM and CHECKPOINT cannot run inside one)."""
    engine = database_connect(location).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def shell(command: str) -> list[str]:
    return ["/bin/sh", "-c", command]


class Command(BaseCommand):
    help = "Meet export en import van de native engine tegen pg_dump/pg_restore en sqlite3 .backup + gzip."
    # A measured step loads what the step needs, not the URL configuration and admin that the system checks load.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lines", type=int, nargs="+", default=[100_000])
        parser.add_argument("--profile", action="store_true", help="cProfile our steps and print the top entries")
        parser.add_argument(
            "--paths",
            nargs="+",
            choices=["columnar", "row"],
            default=["columnar"],
            help="which of our paths to measure: the columnar path (with its automatic choice) and/or the row path",
        )
        parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        parser.add_argument("--skip-sqlite", action="store_true")
        parser.add_argument("--skip-postgres", action="store_true")
        parser.add_argument(
            "--repeat", type=int, default=1, help="run every measured step this many times and report the median"
        )
        # Internal: one measured step of our own engine, run in a child process.
        parser.add_argument("--step", choices=["export", "import"], help="(internal)")
        parser.add_argument("--location", help="(internal)")
        parser.add_argument("--file", help="(internal)")
        parser.add_argument("--profile-out", help="(internal)")
        parser.add_argument("--row-path", action="store_true", help="(internal)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["step"]:
            self._step(
                options["step"], options["location"], options["file"], options["profile_out"], options["row_path"]
            )
            return
        self.profile = options["profile"]
        self.paths = options["paths"]
        if options["repeat"] < 1:
            raise CommandError("--repeat moet minstens 1 zijn.")
        self.repeat = options["repeat"]
        self.profiles: list[tuple[str, Path]] = []
        for lines in options["lines"]:
            load = os.getloadavg()[0]
            work = Path(tempfile.mkdtemp(prefix="bench-"))
            rows: list[tuple[str, Measurement, Measurement]] = []
            try:
                if not options["skip_postgres"]:
                    rows += self._postgres(sa.make_url(options["postgres"]), lines, work)
                if not options["skip_sqlite"]:
                    rows += self._sqlite(lines, work)
                self._print_profiles()
            finally:
                shutil.rmtree(work, ignore_errors=True)
            # Each size's table as soon as it is measured (a long run can be stopped after the first).
            runs = f", mediaan van {self.repeat} keer" if self.repeat > 1 else ""
            self.stdout.write(
                f"\n{lines:,} journaalregels (load average {load:.1f} → {os.getloadavg()[0]:.1f}{runs})\n"
            )
            # "taak": the engine call alone, timed inside our process: what a job takes in a worker that is already
            # running (our wall time also pays for starting Python, Django and the portal's apps, and for exiting).
            header = (
                f"{'stap':<44}{'ons (s)':>9}{'taak (s)':>10}{'ref (s)':>9}{'ratio':>7}{'taak':>7}"
                f"{'ons MB':>8}{'ref MB':>8}{'ratio':>7}"
            )
            self.stdout.write(header)
            for name, ours, reference in rows:
                job = ours.job_seconds if ours.job_seconds is not None else float("nan")
                self.stdout.write(
                    f"{name:<44}{ours.seconds:>9.3f}{job:>10.3f}{reference.seconds:>9.3f}"
                    f"{ours.seconds / reference.seconds:>7.2f}{job / reference.seconds:>7.2f}"
                    f"{ours.peak_mb:>8.0f}{reference.peak_mb:>8.0f}{ours.peak_mb / reference.peak_mb:>7.2f}"
                )

    def _alternated(
        self, ours: dict[str, Callable[[], Measurement]], reference: Callable[[], Measurement]
    ) -> tuple[dict[str, Measurement], Measurement]:
        """Our steps and the reference's, taken in turn ``repeat`` times (a machine that slows down or speeds up
        during the run then weighs on both alike), each as its median run."""
        runs: dict[str, list[Measurement]] = {name: [] for name in ours}
        references: list[Measurement] = []
        for _ in range(self.repeat):
            for name, run in ours.items():
                runs[name].append(run())
            references.append(reference())
        return {name: median(r) for name, r in runs.items()}, median(references)

    def _print_profiles(self) -> None:
        for name, path in self.profiles:
            if not path.exists():
                continue
            text = io.StringIO()
            pstats.Stats(str(path), stream=text).sort_stats("tottime").print_stats(12)
            self.stdout.write(f"\n== profiel: {name} (eigen tijd, top 12) ==\n{text.getvalue()}")
        self.profiles = []

    # -- the two databases

    def _postgres(self, server: sa.URL, lines: int, work: Path) -> list[tuple[str, Measurement, Measurement]]:
        def location(name: str) -> DatabaseLocation:
            return DatabaseLocation(
                engine="postgresql", name=name, host=server.host or "", port=server.port, user=server.username or ""
            )

        suffix = uuid.uuid4().hex[:8]
        source, ref_target = location(f"bench_src_{suffix}"), location(f"bench_ref_{suffix}")
        targets = {path: location(f"bench_{path}_{suffix}") for path in self.paths}
        pg_env = {**os.environ, "PGHOST": server.host or "", "PGPORT": str(server.port or 5432)}
        pg_env["PGUSER"] = server.username or "postgres"
        try:
            self.stdout.write(f"PostgreSQL-administratie met {lines:,} journaalregels vullen…")
            self._fill(source, lines)
            # Every step reads the same settled data and starts with nothing left to write: whichever step came
            # first would otherwise pay for setting the fresh rows' hint bits, and any step could meet a checkpoint
            # of the step before.
            _postgres_sql(source, "VACUUM (FREEZE, ANALYZE)")
            settle = functools.partial(_postgres_sql, source, "CHECKPOINT")
            ref_file = work / "pg.dump"

            def export(path: str) -> Measurement:
                settle()
                return self._ours("export", source, work / f"pg-{path}.bacpac", path)

            def dump() -> Measurement:
                settle()
                return measure(["pg_dump", "-Fc", "-f", str(ref_file), source.name], env=pg_env)

            def restore(target: DatabaseLocation, path: str | None) -> Measurement:
                database_drop(target)
                database_create(target)
                settle()
                if path is None:
                    return measure(["pg_restore", "-d", target.name, str(ref_file)], env=pg_env)
                return self._ours("import", target, work / f"pg-{path}.bacpac", path)

            exports, pg_dump = self._alternated({p: functools.partial(export, p) for p in self.paths}, dump)
            imports, pg_restore = self._alternated(
                {p: functools.partial(restore, t, p) for p, t in targets.items()},
                functools.partial(restore, ref_target, None),
            )
            sizes = ", ".join(f"{p} {(work / f'pg-{p}.bacpac').stat().st_size / 1e6:.1f} MB" for p in self.paths)
            self.stdout.write(f"  bestanden: .bacpac {sizes}; pg_dump {ref_file.stat().st_size / 1e6:.1f} MB")
            return [(f"PostgreSQL export vs pg_dump -Fc [{p}]", m, pg_dump) for p, m in exports.items()] + [
                (f"PostgreSQL import vs pg_restore [{p}]", m, pg_restore) for p, m in imports.items()
            ]
        finally:
            for loc in (source, ref_target, *targets.values()):
                database_drop(loc)

    def _sqlite(self, lines: int, work: Path) -> list[tuple[str, Measurement, Measurement]]:
        source = DatabaseLocation(engine="sqlite", name=str(work / "src.sqlite3"))
        self.stdout.write(f"SQLite-administratie met {lines:,} journaalregels vullen…")
        self._fill(source, lines)
        ref_file = work / "copy.sqlite3"

        def export(path: str) -> Measurement:
            (work / f"sqlite-{path}.bacpac").unlink(missing_ok=True)
            return self._ours("export", source, work / f"sqlite-{path}.bacpac", path)

        def backup() -> Measurement:
            ref_file.unlink(missing_ok=True)
            return measure(shell(f"sqlite3 '{source.name}' \".backup '{ref_file}'\" && gzip -f -6 '{ref_file}'"))

        def restore(path: str) -> Measurement:
            target = DatabaseLocation(engine="sqlite", name=str(work / f"{path}.sqlite3"))
            database_drop(target)
            database_create(target)
            return self._ours("import", target, work / f"sqlite-{path}.bacpac", path)

        exports, backup_run = self._alternated({p: functools.partial(export, p) for p in self.paths}, backup)
        imports, gunzip = self._alternated(
            {p: functools.partial(restore, p) for p in self.paths},
            lambda: measure(shell(f"gunzip -c '{ref_file}.gz' > '{work / 'ref.sqlite3'}'")),
        )
        return [(f"SQLite export vs .backup + gzip [{p}]", m, backup_run) for p, m in exports.items()] + [
            (f"SQLite import vs gunzip [{p}]", m, gunzip) for p, m in imports.items()
        ]

    def _fill(self, location: DatabaseLocation, lines: int) -> None:
        database_create(location)
        engine = database_connect(location)
        try:
            bookkeeping.create_schema(engine)
            bookkeeping.fill(engine, lines=lines)
        finally:
            engine.dispose()

    # -- our engine, one step per child process

    def _ours(self, step: str, location: DatabaseLocation, file: Path, path: str) -> Measurement:
        profile: list[str] = []
        if self.profile:
            out = file.with_name(f"{file.stem}-{step}.pstats")
            if (entry := (f"{location.engine} {step} [{path}]", out)) not in self.profiles:
                self.profiles.append(entry)  # (a repeated step's profile is its last run's)
            profile = ["--profile-out", str(out)]
        spec = f"{location.engine}|{location.name}|{location.host}|{location.port or ''}|{location.user}"
        manage = Path(__file__).resolve().parents[3] / "manage.py"
        command = [
            sys.executable,
            str(manage),
            "bench_engines",
            "--step",
            step,
            "--location",
            spec,
            "--file",
            str(file),
            *profile,
            *(["--row-path"] if path == "row" else []),
        ]
        return measure(command)

    def _step(self, step: str, spec: str, file: str, profile_out: str | None, row_path: bool) -> None:
        import cProfile

        from backups.engines import native

        engine, name, host, port, user = spec.split("|")
        location = DatabaseLocation(engine=engine, name=name, host=host, port=int(port) if port else None, user=user)
        profiler = cProfile.Profile() if profile_out else None
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        if step == "export":
            native.export(location=location, target=file, database_name="bench", columnar=not row_path)
        else:
            native.import_(source=file, location=location, columnar=not row_path)
        seconds = time.perf_counter() - started
        if profiler is not None and profile_out:
            profiler.disable()
            profiler.dump_stats(profile_out)
        sys.stderr.write(f"step_seconds={seconds:.6f}\n")
