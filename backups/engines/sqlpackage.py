"""The SqlPackage engine: Microsoft's own exporter/importer for SQL Server administrations, used when the setting
SQLPACKAGE_PATH points at the SqlPackage executable.

This module is the thin seam to that program and nothing more: it builds the command line, runs it in its own process
group, turns its output into progress for the user, enforces the job's time limit on the whole process tree, and maps
failures to short Dutch messages. It has not been run against a real SqlPackage or SQL Server (neither can be installed
on this project's machines); the tests drive it through a stand-in that behaves like SqlPackage.

What SqlPackage does, from its documentation and published runs:
- `SqlPackage /Action:Export /SourceConnectionString:… /TargetFile:x.bacpac` and
  `SqlPackage /Action:Import /SourceFile:x.bacpac /TargetConnectionString:…`, properties as `/p:Name=Value`;
- output is one line per phase and `Processing Table '[schema].[table]'.` per table, no percentages; it ends with
  `Successfully exported database and saved it to file '…'.` or `Successfully imported database.`;
- errors start with `*** Error exporting database:` / `*** Error importing database:` followed by detail lines such as
  `Error SQL71659: …` (target not empty) or `Login failed for user '…'.`; the exit code is 0 only on success.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from administrations.databases import DatabaseLocation
from administrations.models import LoginMethod
from backups.engines.base import EngineError, Progress
from portal.texts import StoredText

logger = logging.getLogger(__name__)

COMPRESSION_OPTIONS = ("Normal", "Maximum", "Fast", "SuperFast", "NotCompressed")

# After SIGTERM, how long the process group gets to stop before SIGKILL. Module-level so tests can shorten it.
KILL_GRACE_SECONDS = 10.0
# How many output lines go into an exception's detail (the job's support log); the full output is logged.
DETAIL_TAIL_LINES = 60
REDACTED = "********"

# Progress bands. The caller reports 96–97 itself after the engine returns (verify, store), so we stop at 95.
TABLES_START = 15
TABLES_END = 92
DONE_PERCENT = 95
# Export does not know its table count in advance: progress approaches TABLES_END as n / (n + EXPORT_HALF_WAY),
# i.e. half of the band after this many tables. Bookkeeping administrations hold some tens to a few hundred tables.
EXPORT_HALF_WAY = 25

_TABLE_LINE = re.compile(r"^\s*Processing Table '(?P<name>.+)'\.\s*$")
_BRACKET_PART = re.compile(r"\[((?:[^\]]|\]\])*)\]")

# Phase lines SqlPackage prints (export and import), mapped to a percent and a Dutch phase text for the user.
_PHASES: list[tuple[str, int, str]] = [
    ("Connecting to database", 2, gettext_noop("Verbinden met de SQL-server")),
    ("Importing to database", 2, gettext_noop("Verbinden met de SQL-server")),
    ("Extracting schema", 5, gettext_noop("Databaseschema uitlezen")),
    ("Resolving references in schema model", 7, gettext_noop("Databaseschema uitlezen")),
    ("Validating schema", 10, gettext_noop("Databaseschema controleren")),
    ("Creating deployment plan", 4, gettext_noop("Terugzetten voorbereiden")),
    ("Initializing deployment", 5, gettext_noop("Terugzetten voorbereiden")),
    ("Verifying deployment plan", 6, gettext_noop("Terugzetten voorbereiden")),
    ("Analyzing deployment plan", 7, gettext_noop("Terugzetten voorbereiden")),
    ("Importing package schema and data into database", 8, gettext_noop("Tabellen aanmaken")),
    ("Updating database", 10, gettext_noop("Tabellen aanmaken")),
    ("Exporting data", TABLES_START, gettext_noop("Gegevens exporteren")),
    ("Importing data", TABLES_START, gettext_noop("Gegevens terugzetten")),
    ("Processing Export", TABLES_START, gettext_noop("Gegevens exporteren")),
    ("Processing Import", TABLES_START, gettext_noop("Gegevens terugzetten")),
    ("Enabling indexes", TABLES_END, gettext_noop("Indexen opbouwen")),
]


# ------------------------------------------------------------------------------------------------ availability


def configured_path() -> str:
    # Read lazily: the setting may be changed by tests or not exist on older settings modules.
    return str(getattr(settings, "SQLPACKAGE_PATH", "") or "")


def is_available() -> bool:
    """True when SQLPACKAGE_PATH is set and names an executable file (an absolute path or a name on PATH)."""
    path = configured_path()
    return bool(path) and shutil.which(path) is not None


# ------------------------------------------------------------------------------------------------ command line


def _quote_value(value: str) -> str:
    """Quote one connection-string value the way SqlClient (which SqlPackage uses) parses it.

    SqlClient follows the ADO.NET rules, not ODBC's: braces are *not* quotes there, so `{p;w}` would be cut at the
    `;`. Values with `;`, `=`, quotes, whitespace or control characters go in double quotes with `"` doubled, or in
    single quotes when they hold `"` but no `'` — what SqlConnectionStringBuilder writes. A password can therefore
    never end its value early and add keywords of its own (SqlClient lets the last duplicate keyword win)."""
    if "\x00" in value:
        raise EngineError(
            _("De aanmeldgegevens bevatten een ongeldig teken."), "NUL character in a connection-string value"
        )
    if all(not (ch in "\"';=" or ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in value):
        return value
    if '"' in value and "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', '""') + '"'


def _uses_sql_login(location: DatabaseLocation) -> bool:
    if location.login_method == LoginMethod.SQL:
        return True
    if location.login_method == LoginMethod.WINDOWS:
        return False
    # No method recorded: a user name means SQL authentication; nothing means the service's Windows account.
    return bool(location.user)


def connection_string(location: DatabaseLocation) -> str:
    """The SqlClient connection string for a SQL Server administration database.

    Windows authentication uses the account the worker runs under (Integrated Security) and carries no user or
    password; SQL authentication carries both. Encrypt with TrustServerCertificate, as the rest of the portal does
    (`DatabaseLocation.url`): office servers mostly have self-signed certificates, and SqlPackage 161+ encrypts by
    default and would otherwise refuse them."""
    server = location.host or "localhost"
    if location.port:
        server = f"{server},{location.port}"
    parts: list[tuple[str, str]] = [("Server", server), ("Database", location.name)]
    if _uses_sql_login(location):
        parts += [("User ID", location.user), ("Password", location.password)]
    else:
        parts.append(("Integrated Security", "True"))
    parts += [("Encrypt", "True"), ("TrustServerCertificate", "True"), ("Persist Security Info", "False")]
    return ";".join(f"{key}={_quote_value(value)}" for key, value in parts)


def _check_compression(compression: str) -> str:
    if compression not in COMPRESSION_OPTIONS:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSION_OPTIONS)}, not {compression!r}")
    return compression


# SqlPackage takes the SQL password only inside the connection string (or /SourcePassword:, equally on the command
# line): while it runs, the password is visible in the process's argument list to anyone on the worker who may read
# /proc/<pid>/cmdline (DacFx issue #182). Run workers under their own account on a machine not shared with users;
# we never log the command line unredacted.


def export_command(
    *,
    sqlpackage: str,
    location: DatabaseLocation,
    target_file: Path,
    diagnostics_file: Path,
    timeout_seconds: int,
    compression: str = "Fast",
) -> list[str]:
    return [
        sqlpackage,
        "/Action:Export",
        f"/SourceConnectionString:{connection_string(location)}",
        f"/TargetFile:{target_file}",
        f"/DiagnosticsFile:{diagnostics_file}",
        f"/p:CommandTimeout={int(timeout_seconds)}",
        f"/p:CompressionOption={_check_compression(compression)}",
    ]


def import_command(
    *,
    sqlpackage: str,
    source_file: Path,
    location: DatabaseLocation,
    diagnostics_file: Path,
    timeout_seconds: int,
) -> list[str]:
    return [
        sqlpackage,
        "/Action:Import",
        f"/SourceFile:{source_file}",
        f"/TargetConnectionString:{connection_string(location)}",
        f"/DiagnosticsFile:{diagnostics_file}",
        f"/p:CommandTimeout={int(timeout_seconds)}",
    ]


# ------------------------------------------------------------------------------------------------ secrets


def _secrets(location: DatabaseLocation) -> list[str]:
    """Every form in which the password could show up in output, longest first."""
    if not location.password:
        return []
    found = {location.password, connection_string(location)}
    with contextlib.suppress(EngineError):
        found.add(_quote_value(location.password))
    return sorted((s for s in found if s), key=len, reverse=True)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _printable_command(command: list[str], location: DatabaseLocation) -> str:
    """The command line for the log: the connection string with its password replaced, nothing else hidden."""
    shown = connection_string(replace(location, password=REDACTED)) if location.password else None
    real = connection_string(location)
    return " ".join(arg.replace(real, shown) if shown else arg for arg in command)


# ------------------------------------------------------------------------------------------------ running


class SqlPackageFailed(EngineError):
    """An EngineError that also carries SqlPackage's exit code (None after a time limit) and its whole output, both
    with the password removed."""

    def __init__(self, user_message: str, detail: str = "", *, exit_code: int | None = None, output: str = "") -> None:
        super().__init__(user_message, detail)
        self.exit_code = exit_code
        self.output = output


@dataclass
class _Run:
    exit_code: int | None
    lines: list[str]
    timed_out: bool


class _TableProgress:
    """Turns `Processing Table` lines into a percent that only rises and stays inside the table band."""

    def __init__(self, progress: Progress, expected_tables: int | None) -> None:
        self.progress = progress
        self.expected = expected_tables
        self.done = 0
        self.percent = 0

    def report(self, percent: int, phase: str) -> None:
        self.percent = max(self.percent, min(percent, DONE_PERCENT))
        self.progress(self.percent, phase)

    def table(self, name: str) -> None:
        self.done += 1
        if self.expected:
            # More lines than counted (a count that missed some tables) just holds at the end of the band.
            fraction = self.done / max(self.expected, self.done)
        else:
            fraction = self.done / (self.done + EXPORT_HALF_WAY)
        percent = TABLES_START + int((TABLES_END - TABLES_START) * fraction)
        self.report(percent, StoredText(gettext_noop("Tabel %(table)s verwerken"), table=name))

    def line(self, text: str) -> None:
        match = _TABLE_LINE.match(text)
        if match:
            self.table(_display_name(match.group("name")))
            return
        stripped = text.strip()
        for prefix, percent, phase in _PHASES:
            if stripped.startswith(prefix):
                self.report(percent, _(phase))
                return


def _display_name(quoted: str) -> str:
    """`[dbo].[Order Details]` → `dbo.Order Details` (with `]]` back to `]`); anything else as printed."""
    parts = [p.replace("]]", "]") for p in _BRACKET_PART.findall(quoted)]
    return ".".join(parts) if parts else quoted


def _leader_exited(process: subprocess.Popen[str], timeout: float) -> bool:
    """Wait up to `timeout` for the group leader to exit *without reaping it*: while it is an unreaped zombie its pid
    (= the group id) cannot be reused, so a later killpg can never hit an unrelated process group."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True  # already reaped elsewhere; nothing of ours left to wait for
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _end_group(process: subprocess.Popen[str], *, terminate: bool) -> None:
    """End SqlPackage's whole process group, its children included. `terminate`: SIGTERM first and SIGKILL after
    the grace period; otherwise the leader has exited and only what it left behind is killed."""
    pgid = process.pid  # start_new_session: the child leads a group with its own pid
    if terminate:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        _leader_exited(process, KILL_GRACE_SECONDS)
    # Also for children that ignore SIGTERM or outlive the leader.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()


def _run(command: list[str], *, timeout_seconds: int, on_line: _TableProgress) -> _Run:
    # Lines arrive through a thread so that the time limit holds even while SqlPackage prints nothing; progress is
    # reported from this (the job's) thread, which owns the database connection the reporter writes with.
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # errors go to stderr; one stream keeps them in order with the phases
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # its own process group, so the time limit can end its children too
    )
    lines: list[str] = []
    received: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        try:
            for raw in process.stdout:
                received.put(raw.rstrip("\r\n"))
        except (OSError, ValueError):
            pass  # the pipe went away under us; what was read is kept, and the end is signalled below
        finally:
            received.put(None)

    reader = threading.Thread(target=pump, name=f"sqlpackage-{process.pid}", daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_seconds
    timed_out = False
    exited = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:  # also when output never pauses long enough for the get() below to time out
                timed_out = True
                break
            try:
                item = received.get(timeout=remaining)
            except queue.Empty:
                timed_out = True
                break
            if item is None:
                break
            lines.append(item)
            on_line.line(item)
        if not timed_out:
            # Output closed; the exit itself follows at once (or never, if it hangs after closing its output).
            exited = _leader_exited(process, max(deadline - time.monotonic(), 0.05))
            timed_out = not exited
    finally:
        # Whatever ended the loop — time limit, an exception while reporting progress — nothing may keep running.
        _end_group(process, terminate=not exited)
        reader.join(timeout=5)
        if not reader.is_alive() and process.stdout is not None:
            process.stdout.close()
    return _Run(exit_code=None if timed_out else process.returncode, lines=lines, timed_out=timed_out)


def _failure_message(lines: list[str]) -> str:
    text = "\n".join(lines)
    lowered = text.lower()
    if (
        "sql71659" in lowered
        or "target database is not empty" in lowered
        or "contains one or more user objects" in lowered
    ):
        return _("De doeldatabase is niet leeg; kies een nieuwe database.")
    if "checksum" in lowered:
        return _("Het back-upbestand is beschadigd: de controlesom klopt niet.")
    if "login failed" in lowered:
        return _("Aanmelden bij de SQL-server is mislukt; controleer gebruikersnaam en wachtwoord.")
    return _("SqlPackage is mislukt; de klantenservice kan het logboek inzien.")


def _diagnostics_tail(path: Path, lines: int = 20) -> list[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return list(deque((line.rstrip("\r\n") for line in handle), maxlen=lines))
    except OSError:
        return []


def _execute(
    *,
    action: str,
    command: list[str],
    location: DatabaseLocation,
    diagnostics_file: Path,
    progress: Progress,
    timeout_seconds: int,
    expected_tables: int | None,
    timeout_message: str,
) -> None:
    secrets = _secrets(location)
    printable = _printable_command(command, location)
    logger.info("SqlPackage %s of %s: %s", action, location.describe(), printable)
    tracker = _TableProgress(progress, expected_tables)
    started = time.monotonic()
    try:
        run = _run(command, timeout_seconds=timeout_seconds, on_line=tracker)
    except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
        raise SqlPackageFailed(
            _("SqlPackage is niet gevonden of niet uitvoerbaar; de klantenservice is ingelicht."),
            _scrub(f"cannot start {command[0]!r}: {type(error).__name__}: {error.strerror}", secrets),
        ) from None
    output = _scrub("\n".join(run.lines), secrets)
    elapsed = time.monotonic() - started
    logger.info(
        "SqlPackage %s of %s ended after %.1f s (exit code %s%s); output:\n%s",
        action,
        location.describe(),
        elapsed,
        run.exit_code,
        ", time limit reached" if run.timed_out else "",
        output,
    )
    if run.exit_code == 0 and not run.timed_out:
        return
    tail = output.splitlines()[-DETAIL_TAIL_LINES:]
    diagnostics = [_scrub(line, secrets) for line in _diagnostics_tail(diagnostics_file)]
    if run.timed_out:
        user_message = timeout_message
        summary = f"SqlPackage {action} stopped at the time limit of {timeout_seconds} s"
    else:
        user_message = _failure_message(run.lines)
        summary = f"SqlPackage {action} failed with exit code {run.exit_code}"
    detail = "\n".join(
        [
            f"{summary} ({location.describe()}).",
            f"Command: {printable}",
            "Last output lines:",
            *tail,
            *(["Diagnostics file, last lines:", *diagnostics] if diagnostics else []),
        ]
    )
    raise SqlPackageFailed(user_message, _scrub(detail, secrets), exit_code=run.exit_code, output=output)


def _executable(sqlpackage: str | None) -> str:
    path = sqlpackage or configured_path()
    found = shutil.which(path) if path else None
    if not found:
        raise SqlPackageFailed(
            _("SqlPackage is niet gevonden of niet uitvoerbaar; de klantenservice is ingelicht."),
            f"SqlPackage executable not found or not executable: {path!r} (setting SQLPACKAGE_PATH)",
        )
    return found


def _tables_in(source_file: Path) -> int | None:
    """How many tables the import will report: the tables in the bacpac's model, read with our own library (empty
    tables included; whether SqlPackage prints a line for those is not known here, so the count is an estimate). A
    checksum mismatch fails here already, as SqlPackage would; other doubts are left to SqlPackage."""
    from backups.bacpac import BacpacError, ChecksumMismatch, open_bacpac

    try:
        with open_bacpac(source_file) as bacpac:
            return len(bacpac.tables)
    except ChecksumMismatch as error:
        raise SqlPackageFailed(
            _("Het back-upbestand is beschadigd: de controlesom klopt niet."), f"{source_file.name}: {error.detail}"
        ) from None
    except (BacpacError, OSError) as error:
        logger.info("could not count the tables of %s (%s); progress is estimated", source_file.name, error)
        return None


def export(
    *,
    location: DatabaseLocation,
    target_file: Path,
    progress: Progress,
    timeout_seconds: int,
    sqlpackage: str | None = None,
    compression: str = "Fast",
) -> None:
    """Export the SQL Server database at `location` into `target_file` (.bacpac) with SqlPackage."""
    executable = _executable(sqlpackage)
    with tempfile.TemporaryDirectory(prefix="sqlpackage-") as work:
        diagnostics = Path(work) / "diagnostics.log"
        command = export_command(
            sqlpackage=executable,
            location=location,
            target_file=Path(target_file),
            diagnostics_file=diagnostics,
            timeout_seconds=timeout_seconds,
            compression=compression,
        )
        progress(1, _("SqlPackage starten"))
        _execute(
            action="export",
            command=command,
            location=location,
            diagnostics_file=diagnostics,
            progress=progress,
            timeout_seconds=timeout_seconds,
            expected_tables=None,
            timeout_message=_("Het maken van de back-up duurde te lang en is afgebroken."),
        )
    progress(DONE_PERCENT, _("Back-up gemaakt met SqlPackage"))


def import_(
    *,
    source_file: Path,
    location: DatabaseLocation,
    progress: Progress,
    timeout_seconds: int,
    sqlpackage: str | None = None,
) -> None:
    """Import `source_file` (.bacpac) into the new, empty SQL Server database at `location` with SqlPackage."""
    executable = _executable(sqlpackage)
    expected = _tables_in(Path(source_file))
    with tempfile.TemporaryDirectory(prefix="sqlpackage-") as work:
        diagnostics = Path(work) / "diagnostics.log"
        command = import_command(
            sqlpackage=executable,
            source_file=Path(source_file),
            location=location,
            diagnostics_file=diagnostics,
            timeout_seconds=timeout_seconds,
        )
        progress(1, _("SqlPackage starten"))
        _execute(
            action="import",
            command=command,
            location=location,
            diagnostics_file=diagnostics,
            progress=progress,
            timeout_seconds=timeout_seconds,
            expected_tables=expected,
            timeout_message=_("Het terugzetten duurde te lang en is afgebroken."),
        )
    progress(DONE_PERCENT, _("Database teruggezet met SqlPackage"))


__all__ = [
    "COMPRESSION_OPTIONS",
    "SqlPackageFailed",
    "connection_string",
    "export",
    "export_command",
    "import_",
    "import_command",
    "is_available",
]
