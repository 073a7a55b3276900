from __future__ import annotations

import json
from pathlib import Path

import pytest

from backups.bacpac.cli import main


def test_inspect_prints_the_tables_and_their_row_counts(bacpactod: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(bacpactod)]) == 0
    out = capsys.readouterr().out
    assert "Database:        Test" in out
    assert "173 (matches Origin.xml)" in out
    assert "dbo.BitMixed" in out


def test_inspect_json_is_the_stored_summary(bacpactod: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(bacpactod), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total_rows"] == 173
    assert summary["total_matches_origin"] is True


def test_verify_says_ok(bacpactod: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(bacpactod), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "tables": 25, "rows": 173}


def test_rows_accepts_bracketed_names_and_a_limit(bacpactod: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rows", str(bacpactod), "[dbo].[DecimalFields2]", "--limit", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "ID": 1,
            "Field_decimal_18_0": "123456789012345678",
            "Field_decimal_18_18": "0.123456789012345678",
            "Field_decimal_38_0": "12345678901234567890123456789012345678",
            "Field_decimal_38_38": "0.12345678901234567890123456789012345678",
        }
    ]
    assert main(["rows", str(bacpactod), "dbo.TextFields2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ID\tField_varchar_4")
    assert len(lines) == 3


def test_a_refused_file_exits_non_zero_with_message_and_detail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "administratie.ssb"
    fake.write_bytes(b"SnelStart" + bytes(100))
    assert main(["verify", str(fake)]) == 2
    err = capsys.readouterr().err
    assert "This is an .ssb back-up from the desktop program, not a .bacpac." in err
    assert "ssb_given: " in err
    assert main(["inspect", str(fake), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"] == "ssb_given"


def test_bench_writes_and_reads_back(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rows", "2000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == 2000
    assert result["read_rows_per_second"] > 0
