"""The SqlPackage engine, run for real as a subprocess — but against a stand-in.

SqlPackage and SQL Server are replaced by `fake_sqlpackage.py` because neither can be installed here. The stand-in
takes SqlPackage's arguments, parses connection strings with SqlClient's rules, prints SqlPackage's phase and
`Processing Table` lines, writes a real sample bacpac on export and fails, hangs or spawns children on demand. What
these tests prove is our side of the seam: command lines, quoting, progress, time limits, messages, secrecy.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from administrations.databases import DatabaseLocation
from administrations.models import DatabaseEngine, LoginMethod
from backups.bacpac import open_bacpac, verify
from backups.engines import sqlpackage
from backups.engines.base import EngineError
from tests.engines.fake_sqlpackage import DEFAULT_SAMPLE, parse_connection_string, tables_in

FAKE = Path(__file__).with_name("fake_sqlpackage.py")
PASSWORD = 'Ge;heim}=Wa"chtwoord;Integrated Security=True'


class Recorder:
    """A Progress that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def __call__(self, percent: int, phase: str) -> None:
        self.calls.append((percent, phase))

    @property
    def percents(self) -> list[int]:
        return [p for p, _ in self.calls]

    @property
    def phases(self) -> list[str]:
        return [phase for _, phase in self.calls]


def windows_location(**changes: Any) -> DatabaseLocation:
    values: dict[str, Any] = {
        "engine": DatabaseEngine.MSSQL,
        "name": "adm_bakkerij",
        "host": "KANTOOR-SRV",
        "port": 1433,
        "login_method": LoginMethod.WINDOWS,
    }
    return DatabaseLocation(**{**values, **changes})


def sql_location(password: str = PASSWORD, **changes: Any) -> DatabaseLocation:
    return windows_location(login_method=LoginMethod.SQL, user="boekhouder", password=password, **changes)


@pytest.fixture
def fake(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SQLPACKAGE_PATH pointing at the stand-in, through a tiny wrapper so that it runs with this interpreter
    whatever `python3` on PATH is and whatever the checkout did to file modes."""
    wrapper = tmp_path / "bin" / "sqlpackage"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    wrapper.chmod(0o755)
    settings.SQLPACKAGE_PATH = str(wrapper)
    monkeypatch.delenv("FAKE_SQLPACKAGE_MODE", raising=False)
    # Keep the SIGTERM → SIGKILL grace short: the tests are about that it happens, not how patiently.
    monkeypatch.setattr(sqlpackage, "KILL_GRACE_SECONDS", 0.5)
    return wrapper


def mode(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("FAKE_SQLPACKAGE_MODE", name)


def gone(pid: int, *, within: float = 3.0) -> bool:
    """True once the process no longer runs. A killed orphan can linger as a zombie until whatever reaps orphans
    gets to it (in a container that may be never); a zombie runs nothing, so it counts as gone."""
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------------ command lines


def test_windows_login_uses_integrated_security_and_carries_no_password() -> None:
    text = sqlpackage.connection_string(windows_location(user="ignored", password="ignored-too"))

    parsed = parse_connection_string(text)
    assert parsed == {
        "server": "KANTOOR-SRV,1433",
        "database": "adm_bakkerij",
        "integrated security": "True",
        "encrypt": "True",
        "trustservercertificate": "True",
        "persist security info": "False",
    }
    assert "ignored" not in text


def test_sql_login_carries_user_and_password() -> None:
    parsed = parse_connection_string(sqlpackage.connection_string(sql_location(password="eenvoudig")))

    assert parsed["user id"] == "boekhouder"
    assert parsed["password"] == "eenvoudig"
    assert "integrated security" not in parsed
    assert parsed["server"] == "KANTOOR-SRV,1433"


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "a;b}c{d",
        "}",
        "{x}",
        "it's",
        'say "hi"',
        "both ' and \"",
        " leading and trailing ",
        "x=y",
        "tab\there",
        "",
    ],
)
def test_a_password_with_semicolons_braces_or_quotes_cannot_inject_keywords(password: str) -> None:
    text = sqlpackage.connection_string(sql_location(password=password))

    parsed = parse_connection_string(text)
    assert parsed["password"] == password
    assert set(parsed) == {
        "server",
        "database",
        "user id",
        "password",
        "encrypt",
        "trustservercertificate",
        "persist security info",
    }


def test_a_password_with_semicolon_and_brace_is_double_quoted_not_braced() -> None:
    # SqlClient parses ADO.NET rules, where braces are plain characters: `{a;b}` would be cut at the `;`.
    text = sqlpackage.connection_string(sql_location(password="a;b}c"))

    assert 'Password="a;b}c";' in text


def test_a_nul_character_in_a_password_is_refused() -> None:
    with pytest.raises(EngineError) as caught:
        sqlpackage.connection_string(sql_location(password="a\x00b"))

    assert "a\x00b" not in str(caught.value)


def test_the_export_command_has_sqlpackage_s_arguments(tmp_path: Path) -> None:
    command = sqlpackage.export_command(
        sqlpackage="/opt/sqlpackage/sqlpackage",
        location=windows_location(),
        target_file=tmp_path / "uit.bacpac",
        diagnostics_file=tmp_path / "diag.log",
        timeout_seconds=3600,
        compression="Maximum",
    )

    assert command == [
        "/opt/sqlpackage/sqlpackage",
        "/Action:Export",
        f"/SourceConnectionString:{sqlpackage.connection_string(windows_location())}",
        f"/TargetFile:{tmp_path / 'uit.bacpac'}",
        f"/DiagnosticsFile:{tmp_path / 'diag.log'}",
        "/p:CommandTimeout=3600",
        "/p:CompressionOption=Maximum",
    ]


def test_the_import_command_has_sqlpackage_s_arguments(tmp_path: Path) -> None:
    location = sql_location()
    command = sqlpackage.import_command(
        sqlpackage="sqlpackage",
        source_file=tmp_path / "in.bacpac",
        location=location,
        diagnostics_file=tmp_path / "diag.log",
        timeout_seconds=60,
    )

    assert command == [
        "sqlpackage",
        "/Action:Import",
        f"/SourceFile:{tmp_path / 'in.bacpac'}",
        f"/TargetConnectionString:{sqlpackage.connection_string(location)}",
        f"/DiagnosticsFile:{tmp_path / 'diag.log'}",
        "/p:CommandTimeout=60",
    ]


def test_an_unknown_compression_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="compression"):
        sqlpackage.export_command(
            sqlpackage="sqlpackage",
            location=windows_location(),
            target_file=tmp_path / "x.bacpac",
            diagnostics_file=tmp_path / "d.log",
            timeout_seconds=60,
            compression="Zip",
        )


# ------------------------------------------------------------------------------------------------ availability


def test_it_is_available_only_when_the_setting_names_an_executable(settings: Any, fake: Path, tmp_path: Path) -> None:
    assert sqlpackage.is_available()

    settings.SQLPACKAGE_PATH = ""
    assert not sqlpackage.is_available()

    not_executable = tmp_path / "sqlpackage.txt"
    not_executable.write_text("")
    settings.SQLPACKAGE_PATH = str(not_executable)
    assert not sqlpackage.is_available()


def test_a_missing_executable_is_a_dutch_message(settings: Any, tmp_path: Path) -> None:
    settings.SQLPACKAGE_PATH = str(tmp_path / "nergens" / "sqlpackage")

    with pytest.raises(EngineError) as caught:
        sqlpackage.export(
            location=windows_location(), target_file=tmp_path / "x.bacpac", progress=Recorder(), timeout_seconds=60
        )

    assert (
        caught.value.user_message == "SqlPackage is niet gevonden of niet uitvoerbaar; de klantenservice is ingelicht."
    )
    assert "nergens" in caught.value.detail


# ------------------------------------------------------------------------------------------------ success


def test_a_successful_export_writes_a_real_bacpac_and_reports_rising_progress(fake: Path, tmp_path: Path) -> None:
    target = tmp_path / "back-up.bacpac"
    progress = Recorder()

    sqlpackage.export(location=sql_location(), target_file=target, progress=progress, timeout_seconds=60)

    assert zipfile.is_zipfile(target)
    with zipfile.ZipFile(target) as archive:
        assert "model.xml" in archive.namelist()
    inspection = verify(target)
    assert inspection.tables
    assert progress.percents == sorted(progress.percents)
    assert max(progress.percents[:-1]) <= 99
    assert progress.calls[-1] == (95, "Back-up gemaakt met SqlPackage")
    table_phases = [phase for phase in progress.phases if phase.startswith("Tabel ")]
    assert len(table_phases) == len(tables_in(DEFAULT_SAMPLE))
    assert "Tabel dbo.authors verwerken" in table_phases
    table_percents = [p for p, phase in progress.calls if phase.startswith("Tabel ")]
    assert table_percents[-1] > table_percents[0]


def test_a_successful_import_reports_a_progress_line_per_table(fake: Path, tmp_path: Path) -> None:
    progress = Recorder()

    sqlpackage.import_(source_file=DEFAULT_SAMPLE, location=windows_location(), progress=progress, timeout_seconds=60)

    with open_bacpac(DEFAULT_SAMPLE) as bacpac:
        expected = [f"Tabel {t.schema}.{t.name} verwerken" for t in bacpac.tables]
    assert [phase for phase in progress.phases if phase.startswith("Tabel ")] == expected
    assert progress.percents == sorted(progress.percents)
    table_percents = [p for p, phase in progress.calls if phase.startswith("Tabel ")]
    # With the count known, the band is filled evenly and ends at its top.
    assert table_percents[-1] == sqlpackage.TABLES_END
    assert len(set(table_percents)) > len(table_percents) // 2
    assert max(progress.percents[:-1]) <= 99
    assert progress.calls[-1] == (95, "Database teruggezet met SqlPackage")


def test_table_names_with_brackets_and_spaces_are_shown_plainly() -> None:
    progress = Recorder()
    tracker = sqlpackage._TableProgress(progress, expected_tables=2)

    tracker.line("Processing Table '[dbo].[Order Details]'.")
    tracker.line("Processing Table '[Verkoop].[Raar]]naam]'.")

    assert progress.phases == ["Tabel dbo.Order Details verwerken", "Tabel Verkoop.Raar]naam verwerken"]


def test_export_progress_keeps_rising_without_a_table_count_but_stays_in_its_band() -> None:
    progress = Recorder()
    tracker = sqlpackage._TableProgress(progress, expected_tables=None)

    for number in range(2000):
        tracker.line(f"Processing Table '[dbo].[T{number}]'.")

    assert progress.percents == sorted(progress.percents)
    assert progress.percents[-1] < sqlpackage.TABLES_END
    assert progress.percents[50] > progress.percents[0]


# ------------------------------------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("action", "fake_mode", "message"),
    [
        ("export", "fail", "SqlPackage is mislukt; de klantenservice kan het logboek inzien."),
        ("import", "fail", "SqlPackage is mislukt; de klantenservice kan het logboek inzien."),
        ("import", "not_empty", "De doeldatabase is niet leeg; kies een nieuwe database."),
        ("import", "checksum", "Het back-upbestand is beschadigd: de controlesom klopt niet."),
        ("export", "login_failed", "Aanmelden bij de SQL-server is mislukt; controleer gebruikersnaam en wachtwoord."),
        ("import", "login_failed", "Aanmelden bij de SQL-server is mislukt; controleer gebruikersnaam en wachtwoord."),
    ],
)
def test_each_failure_maps_to_its_dutch_message(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str, fake_mode: str, message: str
) -> None:
    mode(monkeypatch, fake_mode)

    with pytest.raises(EngineError) as caught:
        run(action, tmp_path, sql_location(), timeout_seconds=60)

    assert caught.value.user_message == message
    assert "exit code 1" in caught.value.detail
    assert "*** Error" in caught.value.detail  # the output tail is there for support


def run(action: str, tmp_path: Path, location: DatabaseLocation, *, timeout_seconds: int) -> Recorder:
    progress = Recorder()
    if action == "export":
        sqlpackage.export(
            location=location, target_file=tmp_path / "x.bacpac", progress=progress, timeout_seconds=timeout_seconds
        )
    else:
        sqlpackage.import_(
            source_file=DEFAULT_SAMPLE, location=location, progress=progress, timeout_seconds=timeout_seconds
        )
    return progress


def test_a_source_file_with_a_wrong_checksum_is_refused_before_sqlpackage_runs(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.bacpac"
    with zipfile.ZipFile(DEFAULT_SAMPLE) as source, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "model.xml":
                data = data.replace(b"</DataSchemaModel>", b"<!-- edited --></DataSchemaModel>")
            target.writestr(info.filename, data)
    mode(monkeypatch, "hang")  # would hang if it were started at all

    with pytest.raises(EngineError) as caught:
        sqlpackage.import_(source_file=broken, location=windows_location(), progress=Recorder(), timeout_seconds=60)

    assert caught.value.user_message == "Het back-upbestand is beschadigd: de controlesom klopt niet."


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("export", "Het maken van de back-up duurde te lang en is afgebroken."),
        ("import", "Het terugzetten duurde te lang en is afgebroken."),
    ],
)
def test_a_hang_is_killed_at_the_time_limit(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str, message: str
) -> None:
    mode(monkeypatch, "hang")
    started = time.monotonic()

    with pytest.raises(EngineError) as caught:
        run(action, tmp_path, windows_location(), timeout_seconds=2)

    elapsed = time.monotonic() - started
    # Not before the limit; the upper bound only tells "killed" from "hung" and is far above any machine's jitter.
    assert 2 <= elapsed < 60
    assert caught.value.user_message == message
    assert "time limit of 2 s" in caught.value.detail


def test_a_hang_s_grandchild_is_killed_too(fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "grandchild.pid"
    mode(monkeypatch, "spawn_child_and_hang")
    monkeypatch.setenv("FAKE_SQLPACKAGE_PID_FILE", str(pid_file))

    try:
        with pytest.raises(EngineError) as caught:
            run("import", tmp_path, windows_location(), timeout_seconds=2)

        assert caught.value.user_message == "Het terugzetten duurde te lang en is afgebroken."
        grandchild = int(pid_file.read_text())
        assert gone(grandchild)
    finally:
        # Never leave a sleeper behind, even when the assertion above fails.
        if pid_file.exists() and not gone(int(pid_file.read_text()), within=0):
            os.kill(int(pid_file.read_text()), 9)


# ------------------------------------------------------------------------------------------------ secrecy


@pytest.mark.parametrize("action", ["export", "import"])
def test_the_password_never_appears_in_errors_or_logs(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, action: str
) -> None:
    # The stand-in's `fail` mode prints the connection string and the password itself: worse than SqlPackage.
    mode(monkeypatch, "fail")
    location = sql_location()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(EngineError) as caught:
        run(action, tmp_path, location, timeout_seconds=60)

    error = caught.value
    assert isinstance(error, sqlpackage.SqlPackageFailed)
    assert "Connection used:" in error.output  # the line was there, and was scrubbed
    keeps = [str(error), error.user_message, error.detail, error.output, repr(error.args), caplog.text]
    for text in keeps:
        assert PASSWORD not in text
        assert sqlpackage.connection_string(location) not in text
    assert "Server=KANTOOR-SRV,1433" in caplog.text  # the command line is logged, with the password replaced
    assert sqlpackage.REDACTED in caplog.text


def test_the_password_is_kept_out_of_a_timeout_too(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    mode(monkeypatch, "hang")
    caplog.set_level(logging.DEBUG)

    with pytest.raises(EngineError) as caught:
        run("export", tmp_path, sql_location(), timeout_seconds=1)

    assert PASSWORD not in caught.value.detail
    assert PASSWORD not in caplog.text
