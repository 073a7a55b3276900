#!/usr/bin/env python3
"""A stand-in for Microsoft's SqlPackage, for tests only: SqlPackage and SQL Server cannot be installed here.

It reads the same arguments (`/Action:`, `/SourceConnectionString:`, `/TargetConnectionString:`, `/TargetFile:`,
`/SourceFile:`, `/DiagnosticsFile:`, `/p:Name=Value`), parses connection strings with SqlClient's rules, prints the
phase lines and one `Processing Table '[s].[t]'.` line per table as SqlPackage does, and exits 0 only on success.
Export writes a real sample bacpac; import lists the tables of the given file's model.xml.

FAKE_SQLPACKAGE_MODE picks what happens: ok (default), fail, hang, not_empty, login_failed, checksum,
spawn_child_and_hang (a grandchild that ignores SIGTERM, its pid written to FAKE_SQLPACKAGE_PID_FILE).
`fail` also prints the connection string it was given — worse than SqlPackage — so that tests can prove it is
scrubbed from everything the portal keeps.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "bacpac"
DEFAULT_SAMPLE = SAMPLES / "pubs.bacpac"
COMPRESSION_OPTIONS = {"Normal", "Maximum", "Fast", "SuperFast", "NotCompressed"}
_TABLE_RE = re.compile(r'<Element Type="SqlTable" Name="([^"]+)"')


class ConnectionStringError(ValueError):
    pass


def parse_connection_string(text: str) -> dict[str, str]:
    """Parse like SqlClient (ADO.NET rules, not ODBC): `key=value` pairs split by `;`; a value may be quoted with
    `"` or `'`, the quote doubled inside; `==` in a key is a literal `=`; braces are ordinary characters; keys are
    case-insensitive and the last duplicate wins."""
    result: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and (text[i] == ";" or text[i].isspace()):
            i += 1
        if i >= n:
            break
        key_chars: list[str] = []
        while True:
            if i >= n:
                raise ConnectionStringError(f"keyword without '=' at {i}")
            if text[i] == "=":
                if i + 1 < n and text[i + 1] == "=":
                    key_chars.append("=")
                    i += 2
                    continue
                i += 1
                break
            key_chars.append(text[i])
            i += 1
        key = "".join(key_chars).strip().lower()
        if not key:
            raise ConnectionStringError("empty keyword")
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] in "\"'":
            quote = text[i]
            i += 1
            value_chars: list[str] = []
            while True:
                if i >= n:
                    raise ConnectionStringError("unterminated quoted value")
                if text[i] == quote:
                    if i + 1 < n and text[i + 1] == quote:
                        value_chars.append(quote)
                        i += 2
                        continue
                    i += 1
                    break
                value_chars.append(text[i])
                i += 1
            value = "".join(value_chars)
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] != ";":
                raise ConnectionStringError(f"text after a quoted value at {i}")
        else:
            start = i
            while i < n and text[i] != ";":
                i += 1
            value = text[start:i].strip()
            if value and value[-1] in "\"'":
                raise ConnectionStringError("unquoted value ending in a quote")
        result[key] = value
        i += 1
    return result


def parse_arguments(argv: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """`/Name:value` parameters (names case-insensitive) and `/p:Name=Value` properties."""
    parameters: dict[str, str] = {}
    properties: dict[str, str] = {}
    for arg in argv:
        if not arg.startswith("/") or ":" not in arg:
            raise SystemExit(f"*** '{arg}' is not a valid argument.")
        name, _, value = arg[1:].partition(":")
        if name.lower() == "p":
            prop, _, prop_value = value.partition("=")
            properties[prop] = prop_value
        else:
            parameters[name.lower()] = value
    return parameters, properties


def tables_in(bacpac: Path) -> list[str]:
    with zipfile.ZipFile(bacpac) as archive:
        model = archive.read("model.xml").decode("utf-8")
    return [html.unescape(name) for name in _TABLE_RE.findall(model)]


def say(line: str, log: list[str], *, err: bool = False) -> None:
    log.append(line)
    print(line, file=sys.stderr if err else sys.stdout, flush=True)


def sleep_forever() -> None:
    while True:
        time.sleep(60)


def main(argv: list[str]) -> int:
    mode = os.environ.get("FAKE_SQLPACKAGE_MODE", "ok")
    parameters, properties = parse_arguments(argv)
    action = parameters.get("action", "").lower()
    log: list[str] = []
    if action not in ("export", "import"):
        say(f"*** '{parameters.get('action', '')}' is not a valid action.", log, err=True)
        return 1
    verb = "exporting" if action == "export" else "importing"
    connection_text = parameters.get("sourceconnectionstring" if action == "export" else "targetconnectionstring", "")
    try:
        connection = parse_connection_string(connection_text)
    except ConnectionStringError as error:
        say(f"*** Error {verb} database:Format of the initialization string does not conform ({error}).", log, err=True)
        return 1
    database = connection.get("database") or connection.get("initial catalog", "")
    server = connection.get("server") or connection.get("data source", "")
    compression = properties.get("CompressionOption", "Normal")
    if compression not in COMPRESSION_OPTIONS:
        say(f"*** '{compression}' is not a valid value for the 'CompressionOption' property.", log, err=True)
        return 1

    if action == "export":
        target = Path(parameters["targetfile"])
        say(f"Connecting to database '{database}' on server '{server}'.", log)
    else:
        source = Path(parameters["sourcefile"])
        say(f"Importing to database '{database}' on server '{server}'.", log)

    try:
        if mode == "login_failed":
            say(f"*** Error {verb} database:Could not connect to database server.", log, err=True)
            say(f"Login failed for user '{connection.get('user id', '')}'.", log, err=True)
            return 1
        if mode == "hang":
            sleep_forever()
        if mode == "spawn_child_and_hang":
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(60)",
                ]
            )
            Path(os.environ["FAKE_SQLPACKAGE_PID_FILE"]).write_text(str(child.pid))
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL ends us: the grace period is exercised
            sleep_forever()

        if action == "export":
            for phase in (
                "Extracting schema",
                "Extracting schema from database",
                "Resolving references in schema model",
                "Validating schema model",
                "Validating schema model for data package",
                "Validating schema",
                "Exporting data from database",
                "Exporting data",
                "Processing Export.",
            ):
                say(phase, log)
            if mode == "fail":
                say("*** Error exporting database:Could not extract package from specified database.", log, err=True)
                say(f"Connection used: {connection_text} (password {connection.get('password', '')})", log, err=True)
                return 1
            sample = Path(os.environ.get("FAKE_SQLPACKAGE_SAMPLE", DEFAULT_SAMPLE))
            for table in tables_in(sample):
                say(f"Processing Table '{table}'.", log)
            shutil.copyfile(sample, target)
            say(f"Successfully exported database and saved it to file '{target}'.", log)
            return 0

        if mode == "checksum":
            say(f"*** Error importing database:Could not load package from '{source}'.", log, err=True)
            say(
                "The calculated checksum for model.xml in the package does not match the saved checksum.", log, err=True
            )
            return 1
        for phase in ("Creating deployment plan", "Initializing deployment"):
            say(phase, log)
        if mode == "not_empty":
            text = (
                "Data cannot be imported into target because it contains one or more user objects. "
                "Import should be performed against a new, empty database."
            )
            say(f"*** Error importing database:{text}", log, err=True)
            say(f"Error SQL71659: {text}", log, err=True)
            return 1
        for phase in (
            "Verifying deployment plan",
            "Analyzing deployment plan",
            "Importing package schema and data into database",
            "Updating database",
            "Importing data",
            "Processing Import.",
            "Disabling indexes.",
        ):
            say(phase, log)
        if mode == "fail":
            say("*** Error importing database:Could not import package.", log, err=True)
            say("Error SQL72014: Core Microsoft SqlClient Data Provider: Msg 1750, Level 16, State 1", log, err=True)
            say(f"Connection used: {connection_text} (password {connection.get('password', '')})", log, err=True)
            return 1
        for table in tables_in(source):
            say(f"Processing Table '{table}'.", log)
        say("Enabling indexes.", log)
        say("Successfully imported database.", log)
        return 0
    finally:
        diagnostics = parameters.get("diagnosticsfile")
        if diagnostics:
            Path(diagnostics).write_text("\n".join(log) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
