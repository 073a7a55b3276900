"""Settings read from the environment refuse what they do not understand instead of guessing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.settings import env_bool


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), ("YES", True), ("off", False), ("0", False), ("", False)]
)
def test_a_yes_no_setting_reads_the_usual_words(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("PORTAL_TEST_FLAG", value)
    assert env_bool("PORTAL_TEST_FLAG") is expected


def test_a_misspelt_yes_no_setting_stops_the_start_and_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_REQUIRE_2FA", "ture")
    with pytest.raises(ImproperlyConfigured, match="ADMIN_REQUIRE_2FA='ture'"):
        env_bool("ADMIN_REQUIRE_2FA", True)


def test_a_misspelt_setting_stops_the_portal_itself_from_starting() -> None:
    env = {**os.environ, "DEBUG": "ture"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "DEBUG='ture' is geen ja/nee-waarde" in done.stderr
